"""Strict scoring: pull the answer or the code out of a reply, then compare exactly."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass

from probes import Case, ProbeFamily

UNPARSED = "unparsed"
NO_CODE = "no_code"

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_LATEX_WRAPPERS = re.compile(r"\\(?:text|mathrm|textbf|mathbf|texttt|mathtt|operatorname)\s*\{([^{}]*)\}")
_BASE_SUBSCRIPT = re.compile(
    r"_\s*(?:\{\s*\(?\s*(?:\\text\s*\{)?\s*\d{1,2}\s*\}?\s*\)?\s*\}|\(\s*\d{1,2}\s*\)|\d{1,2})\s*$"
)
_ANSWER_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:final answer|answer|output|result|the answer is|the output is|the result is)"
    r"(?:\*\*)?\s*(?::|is|=)?\s*(?:\*\*)?\s*(.+?)\s*(?:\*\*)?\s*$",
    re.IGNORECASE,
)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_DEFINES_SOLVER = re.compile(r"^\s*def\s+solver\s*\(", re.MULTILINE)
_MAX_BARE_ANSWER = 80


@dataclass(frozen=True)
class DirectScore:
    predicted: str | None
    correct: bool
    error: str | None


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...}, with nested braces balanced; None if absent or unclosed."""
    matches = list(_BOXED.finditer(text))
    for match in reversed(matches):
        depth, start = 1, match.end()
        for pos in range(start, len(text)):
            char = text[pos]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return text[start:pos]
    return None


def clean_latex(answer: str) -> str:
    text = answer.replace("\\$", "").replace("$", "").replace("\\,", "").replace("\\ ", " ").strip()
    previous = None
    while previous != text:
        previous = text
        text = _LATEX_WRAPPERS.sub(r"\1", text)
    text = _BASE_SUBSCRIPT.sub("", text)
    return text.strip()


def _bare_answer(reply: str) -> str | None:
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return None
    last = lines[-1]
    labelled = _ANSWER_LABEL.match(last)
    if labelled:
        candidate = labelled.group(1)
    elif len(lines) == 1:
        candidate = last
    else:
        return None
    candidate = candidate.strip().strip("`*").strip()
    return candidate if 0 < len(candidate) <= _MAX_BARE_ANSWER else None


def extract_answer(reply: str) -> str | None:
    boxed = last_boxed(reply)
    if boxed is not None:
        return clean_latex(boxed)
    if _BOXED.search(reply):
        return None  # a box was opened and never closed: the reply was cut off
    bare = _bare_answer(reply)
    return clean_latex(bare) if bare is not None else None


def score_direct(family: ProbeFamily, reply: str, expected: str) -> DirectScore:
    answer = extract_answer(reply)
    if answer is None:
        return DirectScore(None, False, UNPARSED)
    predicted = family.normalise(answer)
    return DirectScore(predicted, predicted == family.normalise(expected), None)


def extract_code(reply: str) -> str | None:
    """The last fenced block that defines `solver`, else the whole reply when it is bare code."""
    for _lang, body in reversed(_FENCE.findall(reply)):
        if _DEFINES_SOLVER.search(body):
            return body.strip("\n")
    if "```" not in reply and _DEFINES_SOLVER.search(reply):
        try:
            ast.parse(reply)
        except SyntaxError:
            return None
        return reply.strip("\n")
    return None


def string_literals(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def memorised_outputs(code: str, examples: Sequence[Case]) -> int:
    """How many shown outputs stand in the code as string literals."""
    literals = string_literals(code)
    return sum(1 for case in examples if case.output in literals)


def looks_memorised(code: str, examples: Sequence[Case]) -> bool:
    """A lookup table rather than a rule: at least half the shown outputs (and two) are literals."""
    hits = memorised_outputs(code, examples)
    return hits >= 2 and 2 * hits >= len(examples)
