"""Strict scoring: pull the answer or the code out of a reply, then compare exactly.

Where the answer is read (the rules; `tests/test_scoring.py` has one test per rule):

1. **The box.** Prompts ask for the result in `\\boxed{...}`, at the end of the reply. The answer is
   read from the *final statement*: the line that holds the last closed box. Boxes on earlier
   lines are working (intermediate sums, a first attempt) and are superseded by it.
2. **One answer only.** Every box of the final statement must give the same answer (the same one
   boxed twice is fine). Two different ones (`\\boxed{105} or \\boxed{106}`) are a hedge: error
   `ambiguous`, never correct. Answers are compared after the family's normalisation, so
   `\\boxed{1c9}` and `\\boxed{1C9}` are one answer.
3. **A restatement in base 10 is not a second answer.** A box labelled as written in base 10 (a
   subscript `_{10}` inside or after it, `in decimal` / `(in base-10)` right after it, or `which in
   decimal is` right before it) beside a box that is not so labelled restates the answer for the
   reader (`\\boxed{106}` in base 8, which is `\\boxed{70}` in decimal): it is set aside,
   whichever comes first. A base-10 answer labelled as such still counts when it stands alone.
4. **A hedge can still be settled.** When the final statement's boxes disagree, a last line after
   them that states one answer (`Therefore, 90+37=127.`, `Answer: 127`) decides; this is also the
   reading of a reply that boxes single digits of a written-out column sum.
5. **Layout is not content.** A box is LaTeX: `$`, `\\text{}`-like wrappers and a trailing base
   subscript (`165_{8}`) are dropped. LaTeX spacing (`\\ `, `\\,`, `\\;`, `~`, `\\quad`,
   `\\phantom{..}`, `\\text{ }`) between two digits (0-9, A-Z) joins them (`\\boxed{16\\ 5}` is
   165; digits spaced out to line up a column sum); elsewhere it is one space. Plain spaces are
   kept: whether they matter is the family's normalisation.
6. **A computation gives its result.** A box holding `expression = value` (an arithmetic
   expression, then `=`) gives the value after the last `=` (`\\boxed{B2+E5=197}` is 197); so does
   an equation written across boxes (`\\boxed{55} + \\boxed{26} = \\boxed{63}`,
   `\\boxed{10 tens} = \\boxed{100}`): the boxes before its last `=` are its terms.
7. **The instruction's placeholder.** `\\boxed{result}` copied literally with the answer after it on
   the same line (`\\boxed{result} = 90`), or inside it (`\\boxed{result: 62}`), gives that answer.
   An empty box holds no answer.
8. **No box.** A reply with no closed box is read from its last line when that line is labelled
   (`Final answer: 106.`, `The answer is 106`) or is the whole reply; one full stop ending it is
   sentence punctuation. A box that was opened and never closed means the reply was cut off:
   nothing is read.
9. **Comprehension checks** whose question asks for no box (a family with its own extractor) are
   read at the answer position only: the last sentence the family's extractor can read anything
   in, once bracketed asides, a trailing restatement or explanation (`, i.e. 31`, `, since ...`,
   `, which is 256 in base-10`; a plain `, which is 680` is the answer and stays), abbreviations
   and base qualifiers (`in base-8`, `decimal`) are removed, so neither the `10` of `base-10` nor
   the `e` of `i.e.` is ever read as the answer. A boxed answer is read by the rules above.

On all 44,000 of Wu et al.'s recorded arithmetic replies these rules give the same verdict as their
own scorer on every item (`tests/test_wu_agreement.py`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from probes import ProbeFamily, Setting

UNPARSED = "unparsed"
NO_CODE = "no_code"
AMBIGUOUS = "ambiguous"

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BRACE = re.compile(r"[{}]")
_WRAPPER = re.compile(r"\\(?:text|mathrm|textbf|mathbf|texttt|mathtt|operatorname|mbox|boxed|fbox)\s*\{")
_SPACING = (
    r"(?:\\[ ,:;!]|~|\\q?quad(?![A-Za-z])|\\(?:en|thin|med|thick)space(?![A-Za-z])"
    r"|\\[hv]?phantom\s*\{[^{}]*\}|\\hspace\*?\s*\{[^{}]*\}|\\(?:text|mbox|mathrm)\s*\{\s*\})"
)
_SPACING_BETWEEN_DIGITS = re.compile(rf"(?<=[0-9A-Z])(?:\s*{_SPACING})+\s*(?=[0-9A-Z])")
_SPACING_ANYWHERE = re.compile(rf"(?:\s*{_SPACING})+\s*")
_BASE_SUBSCRIPT = re.compile(
    r"_\s*(?:\{\s*\(?\s*(?:\\text\s*\{)?\s*(\d{1,2})\s*\}?\s*\)?\s*\}|\(\s*(\d{1,2})\s*\)|(\d{1,2}))\s*$"
)
_OPERATION = re.compile(r"[0-9A-Za-z)}\]]\s*[-+*/×÷^]")
_MATH_ONLY = re.compile(r"[\s$+\-*/×÷=_{}()0-9A-Z^]*")
_PLACEHOLDER = re.compile(r"\s*result\s*(?:[:=]\s*(.*?))?\s*", re.IGNORECASE | re.DOTALL)
# A base named right after a box: `in decimal`, ` (in base-10)`, `_{10}`, `$ base 8`.
_LABEL_AFTER_BOX = re.compile(
    r"[\s$]*(?:_\s*\{?\s*\(?(\d{1,2})\b"
    r"|\(\s*(?:in\s+)?(?:base[- ]?(\d{1,2})|(decimal))\s*\)"
    r"|(?:written\s+)?in\s+(?:the\s+)?(?:base[- ]?(\d{1,2})\b|(decimal)\b))",
    re.IGNORECASE,
)
# ... or right before it: `which in decimal is \boxed{70}`, `(base 10: \boxed{70})`.
_LABEL_BEFORE_BOX = re.compile(
    r"(?:base[- ]?(\d{1,2})|(decimal))(?:\s+(?:form|notation|system))?\s*(?:[:,=]|is|would be)?[\s$(]*$",
    re.IGNORECASE,
)
_LABEL_REACH = 40  # how far before a box its label may start
_ANSWER_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:final answer|answer|output|result|the answer is|the output is|the result is)"
    r"(?:\*\*)?\s*(?::|is|=)?\s*(?:\*\*)?\s*(.+?)\s*(?:\*\*)?\s*$",
    re.IGNORECASE,
)
_STATED_RESULT = re.compile(r"[-+*/×]\s*[0-9A-Za-z]+\s*=\s*([0-9A-Za-z]+)\s*$")
_ANY_SUBSCRIPT = re.compile(r"_\s*(?:\{\s*\(?\s*\d{1,2}\s*\)?\s*\}|\(\s*\d{1,2}\s*\)|\d{1,2})")
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_CLOSING_FENCE = re.compile(r"\s*```\s*$")
_DEFINES_SOLVER = re.compile(r"^\s*def\s+solver\s*\(", re.MULTILINE)
_MAX_BARE_ANSWER = 80
_SHOWN_ANSWERS = 5  # an ambiguous item's `predicted` lists this many of its answers
# The answer position of a check reply: sentences end at `.!?` and a space (abbreviations protected).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Set aside at the end of a check sentence: a restatement (`, i.e. 31`), an explanation
# (`, since 8 is ...`), and a `, which ...` or `, or ...` clause that names a base (`, which is 256
# in base-10`); a plain `, which is 680` is where the answer stands and stays.
_TRAILING_CLAUSE = re.compile(
    r"(?:,|;|\s-+)\s*(?:that is|i\.\s?e\.|e\.\s?g\.|since|because|in other words)(?![A-Za-z]).*$",
    re.IGNORECASE | re.DOTALL,
)
_TRAILING_BASE_CLAUSE = re.compile(
    r"(?:,|;|\s-+)\s*(?:which|or)(?![A-Za-z])[^,;]*?\b(?:base[- ]?\d+|decimal)\b.*$",
    re.IGNORECASE | re.DOTALL,
)
_BASE_QUALIFIER = re.compile(
    r"\b(?:(?:in|of)\s+)?(?:the\s+)?(?:base[- ]?\d+|decimal)(?:\s+(?:system|notation|numbers?))?\b",
    re.IGNORECASE,
)
_ABBREVIATION = re.compile(r"\b(?:i\.\s?e|e\.\s?g|etc|vs)\.", re.IGNORECASE)


@dataclass(frozen=True)
class DirectScore:
    predicted: str | None
    correct: bool
    error: str | None


@dataclass(frozen=True)
class Box:
    """One closed `\\boxed{...}`: its raw content and where it stands in the reply."""

    content: str
    start: int
    end: int  # just after the closing brace


def find_boxes(text: str) -> list[Box]:
    """Every closed box, in order, with nested braces balanced; a box never closed is left out, and
    a box inside another closed box is part of its content. One pass over the braces."""
    opens = {match.end() - 1: match.start() for match in _BOXED.finditer(text)}
    open_boxes: list[tuple[int, int, int]] = []  # (box start, content start, brace depth inside)
    closed: list[Box] = []
    depth = 0
    for brace in _BRACE.finditer(text):
        pos = brace.start()
        if brace.group() == "{":
            depth += 1
            if pos in opens:
                open_boxes.append((opens[pos], pos + 1, depth))
            continue
        if open_boxes and open_boxes[-1][2] == depth:
            start, content_start, _ = open_boxes.pop()
            closed.append(Box(text[content_start:pos], start, pos + 1))
        depth -= 1
    outermost: list[Box] = []
    for box in sorted(closed, key=lambda box: box.start):
        if not outermost or box.start >= outermost[-1].end:
            outermost.append(box)
    return outermost


def last_boxed(text: str) -> str | None:
    """Content of the last closed \\boxed{...}, with nested braces balanced; None if there is none."""
    boxes = find_boxes(text)
    return boxes[-1].content if boxes else None


def clean_latex(answer: str) -> str:
    """The answer a LaTeX fragment shows: math delimiters, spacing, wrappers and a base subscript gone."""
    text = answer.replace("\\$", "").replace("$", "")
    text = _SPACING_BETWEEN_DIGITS.sub("", text)
    text = _SPACING_ANYWHERE.sub(" ", text).strip()
    text = _unwrapped(text)
    text = _BASE_SUBSCRIPT.sub("", text)
    return text.strip()


def _unwrapped(text: str) -> str:
    """`text` with `\\text{...}`-like wrappers (nested or not) replaced by their content, in one pass."""
    opens = {match.end() - 1: match.start() for match in _WRAPPER.finditer(text)}
    if not opens:
        return text
    groups: list[int] = []  # per open brace: its position, negative for a plain brace
    dropped: list[tuple[int, int]] = []
    for brace in _BRACE.finditer(text):
        pos = brace.start()
        if brace.group() == "{":
            groups.append(pos if pos in opens else -1)
        elif groups and (opened := groups.pop()) >= 0:
            dropped += [(opens[opened], opened + 1), (pos, pos + 1)]
    kept, cursor = [], 0
    for start, end in sorted(dropped):
        kept.append(text[cursor:start])
        cursor = end
    kept.append(text[cursor:])
    return "".join(kept)


def _box_answer(content: str) -> str | None:
    """What a box's content answers (rules 5 and 6); None for an empty box."""
    text = clean_latex(content)
    expression, equals, value = text.rpartition("=")
    if equals and value.strip() and _OPERATION.search(expression):
        text = clean_latex(value)
    return text or None


def _stated_bases(reply: str, boxes: list[Box]) -> list[int | None]:
    """The base each box is labelled with: a subscript inside it, a label right after it, or a label
    right before it (after the previous box and its own label); None when unlabelled."""
    bases: list[int | None] = []
    free_from = 0  # text before this is the previous box or its label
    for box in boxes:
        subscript = _BASE_SUBSCRIPT.search(box.content.replace("$", "").strip())
        after = _LABEL_AFTER_BOX.match(reply, box.end)
        before = _LABEL_BEFORE_BOX.search(reply, max(free_from, box.start - _LABEL_REACH), box.start)
        if subscript is not None:
            base = next(group for group in subscript.groups() if group)
        elif after is not None:
            base = next((group for group in after.groups() if group and group.isdigit()), "10")
        elif before is not None:
            base = before.group(1) or "10"
        else:
            base = None
        bases.append(int(base) if base is not None else None)
        free_from = after.end() if after is not None else box.end
    return bases


def _equation_results(reply: str, boxes: list[Box]) -> list[Box]:
    """Rule 6 across boxes: in one equation (`\\boxed{55} + \\boxed{26} = \\boxed{63}`,
    `\\boxed{10 tens} = \\boxed{100}`) the boxes before the last `=` are its terms, not answers."""
    kept: list[Box] = []
    term = False  # whether the box after this one is a term of an equation that goes on
    following: Box | None = None
    for box in reversed(boxes):
        if following is not None:
            between = reply[box.end : following.start]
            term = bool(_MATH_ONLY.fullmatch(between)) and ("=" in between or term)
        if not term:
            kept.append(box)
        following = box
    return kept[::-1]


def _without_restatements(reply: str, boxes: list[Box]) -> list[Box]:
    """Rule 3: base-10-labelled boxes are set aside when a box not so labelled stands beside them."""
    restated = [base == 10 for base in _stated_bases(reply, boxes)]
    kept = [box for box, is_restated in zip(boxes, restated, strict=True) if not is_restated]
    return kept if kept and any(restated) else boxes


def _after_placeholder(tail: str) -> str | None:
    """The answer written after an echoed `\\boxed{result}`: `= 90`, `: 90`, `**90**`, `= 7*9 + 82 = 145`."""
    line = _CLOSING_FENCE.sub("", tail).strip()
    if not line or "\n" in line:
        return None
    line = line.strip("*$` ").lstrip("=:").strip("*$` ")
    line = line.rsplit("=", 1)[-1].strip("*$` ")
    return line or None


def _boxed_answers(reply: str, boxes: list[Box]) -> list[str]:
    """The answers of the final statement's boxes (rules 1, 3, 5-7), in order, repeats kept."""
    line_start = reply.rfind("\n", 0, boxes[-1].start) + 1
    final = _without_restatements(reply, [box for box in boxes if box.end > line_start])
    final = _equation_results(reply, final)
    answers = []
    for box in final:
        placeholder = _PLACEHOLDER.fullmatch(box.content)
        if placeholder is None:
            answer = _box_answer(box.content)
        elif placeholder.group(1):
            answer = clean_latex(placeholder.group(1))
        else:
            answer = _after_placeholder(reply[box.end :]) if box is final[-1] else None
            answer = clean_latex(answer) if answer else None
        if answer:
            answers.append(answer)
    return answers


def _bare_answer(reply: str) -> str | None:
    """Rule 8: the labelled last line (or the whole one-line reply), one closing full stop dropped."""
    lines = [line.strip() for line in _CLOSING_FENCE.sub("", reply).strip().splitlines() if line.strip()]
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
    if candidate.endswith(".") and not candidate.endswith(".."):
        candidate = candidate[:-1].rstrip()
    return clean_latex(candidate) if 0 < len(candidate) <= _MAX_BARE_ANSWER else None


def _settling_line(tail: str) -> str | None:
    """Rule 4: a last line after the boxes that states one answer (labelled, or `... + b = c`)."""
    lines = [line.strip() for line in _CLOSING_FENCE.sub("", tail).splitlines() if line.strip()]
    if not lines or _BOXED.search(lines[-1]):
        return None
    labelled = _ANSWER_LABEL.match(lines[-1])
    if labelled:
        return _bare_answer(lines[-1])
    statement = _BASE_QUALIFIER.sub(" ", _ANY_SUBSCRIPT.sub("", clean_latex(lines[-1])))
    stated = _STATED_RESULT.search(statement.rstrip(". "))
    return stated.group(1) if stated else None


def read_answers(reply: str, normalise: Callable[[str], str] = str.strip) -> list[str]:
    """The final answers a reply gives (see the module docstring), in order, repeats kept.

    Empty: nothing readable. More than one distinct answer (after `normalise`, the family's):
    a hedge, scored `ambiguous`.
    """
    boxes = find_boxes(reply)
    if not boxes:
        if _BOXED.search(reply):
            return []  # a box was opened and never closed: the reply was cut off
        bare = _bare_answer(reply)
        return [bare] if bare else []
    answers = _boxed_answers(reply, boxes)
    if len({normalise(answer) for answer in answers}) > 1:
        settled = _settling_line(reply[boxes[-1].end :])
        return [settled] if settled else answers
    return answers


def extract_answer(reply: str) -> str | None:
    """The reply's one final answer; None when it gives none or several different ones."""
    answers = set(read_answers(reply))
    return answers.pop() if len(answers) == 1 else None


def score_direct(family: ProbeFamily, reply: str, expected: str) -> DirectScore:
    return _score(family, read_answers(reply, family.normalise), expected)


def score_check(family: ProbeFamily, setting: Setting, reply: str, expected: str) -> DirectScore:
    """A comprehension-check reply: boxed answers as usual, else the family's reader (rule 9)."""
    return _score(family, read_check_answers(family, setting, reply), expected)


def read_check_answers(family: ProbeFamily, setting: Setting, reply: str) -> list[str]:
    """The answers a comprehension-check reply gives: boxed ones as for any reply, else the one the
    family's reader finds at the answer position (rule 9); empty when there is none."""
    check = family.comprehension
    extract = check.extract if check is not None else None
    if extract is None or find_boxes(reply):
        return read_answers(reply, family.normalise)
    if check is not None and check.reads_sentences:
        answer = _read_at_answer_position(reply, lambda text: extract(setting, text))
    else:
        answer = extract(setting, reply)
    return [answer] if answer is not None else []


def distinct_answers(family: ProbeFamily, answers: Sequence[str]) -> list[str]:
    """The different answers, normalised by the family, in order: one is an answer, more a hedge."""
    return list(dict.fromkeys(family.normalise(answer) for answer in answers))


def ambiguous_score(distinct: Sequence[str]) -> DirectScore:
    """Several different final answers: wrong, labelled `ambiguous`, the first few shown."""
    shown = list(distinct[:_SHOWN_ANSWERS]) + (["..."] if len(distinct) > _SHOWN_ANSWERS else [])
    return DirectScore(" | ".join(shown), False, AMBIGUOUS)


def _answer_sentences(reply: str) -> list[str]:
    """The reply's sentences from the last back, each with asides, trailing clauses and base
    qualifiers removed (rule 9): the text an answer may be read from, nearest the end first."""
    protected = _ABBREVIATION.sub(lambda match: match.group(0).replace(".", "\0"), reply)
    sentences = []
    for line in reversed(protected.splitlines()):
        for sentence in reversed(_SENTENCE_END.split(line.strip())):
            text = sentence.replace("\0", ".")
            text = _without_asides(text)
            text = _TRAILING_BASE_CLAUSE.sub("", _TRAILING_CLAUSE.sub("", text))
            text = _BASE_QUALIFIER.sub(" ", _ABBREVIATION.sub(" ", text))
            text = " ".join(text.split()).rstrip(" .:;,!")
            if text:
                sentences.append(text)
    return sentences


def _without_asides(text: str) -> str:
    """`text` without its bracketed asides, `(...)` and `[...]`, nested or not; an aside never
    closed runs to the end."""
    kept = []
    depth = 0
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]" and depth:
            depth -= 1
            if not depth:
                kept.append(" ")
        elif not depth:
            kept.append(char)
    return "".join(kept)


def _read_at_answer_position(reply: str, read: Callable[[str], str | None]) -> str | None:
    """What `read` finds in the last sentence where it finds anything (rule 9)."""
    for sentence in _answer_sentences(reply):
        answer = read(sentence)
        if answer is not None:
            return answer
    return None


def _score(family: ProbeFamily, answers: Sequence[str], expected: str) -> DirectScore:
    distinct = distinct_answers(family, answers)
    if not distinct:
        return DirectScore(None, False, UNPARSED)
    if len(distinct) > 1:
        return ambiguous_score(distinct)
    return DirectScore(distinct[0], distinct[0] == family.normalise(expected), None)


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
