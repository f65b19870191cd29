"""Strict scoring: pull the answer or the code out of a reply, then compare exactly."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass

from probes import Case, ProbeFamily, Setting

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
_PLACEHOLDER = re.compile(r"\s*result\s*(?::\s*(.*?))?\s*", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class DirectScore:
    predicted: str | None
    correct: bool
    error: str | None


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...}, with nested braces balanced; None if absent or unclosed."""
    found = _last_box(text)
    return found[0] if found is not None else None


def _last_box(text: str) -> tuple[str, int] | None:
    """The last closed box's content and the position just after its closing brace."""
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
                    return text[start:pos], pos + 1
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


def _after_placeholder(tail: str) -> str | None:
    """The answer written after an echoed `\\boxed{result}`: `= 90`, `: 90`, `**90**`, `= 7*9 + 82 = 145`."""
    line = tail.strip()
    if not line or "\n" in line:
        return None
    line = line.strip("*$` ").lstrip("=:").strip("*$` ")
    line = line.rsplit("=", 1)[-1].strip("*$` ")
    return line or None


def extract_answer(reply: str) -> str | None:
    box = _last_box(reply)
    if box is not None:
        boxed, end = box
        # Some models copy the instruction's `\boxed{result}` literally and write the answer after
        # it, or inside it as `\boxed{result: 62}` (Wu et al.'s scorer reads both).
        placeholder = _PLACEHOLDER.fullmatch(boxed)
        if placeholder is None:
            return clean_latex(boxed)
        answer = placeholder.group(1) or _after_placeholder(reply[end:])
        return clean_latex(answer) if answer else None
    if _BOXED.search(reply):
        return None  # a box was opened and never closed: the reply was cut off
    bare = _bare_answer(reply)
    return clean_latex(bare) if bare is not None else None


def score_direct(family: ProbeFamily, reply: str, expected: str) -> DirectScore:
    return _score(family, extract_answer(reply), expected)


def score_check(family: ProbeFamily, setting: Setting, reply: str, expected: str) -> DirectScore:
    """A comprehension-check reply, read with the family's own extractor when it has one."""
    check = family.comprehension
    extract = check.extract if check is not None else None
    answer = extract(setting, reply) if extract is not None else extract_answer(reply)
    return _score(family, answer, expected)


def _score(family: ProbeFamily, answer: str | None, expected: str) -> DirectScore:
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
