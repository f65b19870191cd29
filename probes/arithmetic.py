"""Addition of two numbers in base B: base 10 is the familiar world, other bases counterfactual ones."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping

from probes.base import ComprehensionCheck, PaperFraming, Parameter, ParamValue, ProbeFamily, Setting

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DEFAULT_BASE = 10
ANSWER_FORMAT = 'End the response with the result in "\\boxed{result}".'
ANSWER_FORMAT_COT = 'Let\'s think step by step, and end the response with the result in "\\boxed{result}".'

_SUBSCRIPT = re.compile(r"_\s*(?:\{\s*\(?\s*\d+\s*\)?\s*\}|\(\s*\d+\s*\)|\d+)$")
_TEXT_WRAPPER = re.compile(r"^\\(?:text|mathrm)\s*\{(.*)\}$")


def to_base(number: int, base: int) -> str:
    """`number` (>= 0) written in `base`, upper case, no leading zeros."""
    if number == 0:
        return "0"
    out = []
    while number:
        number, digit = divmod(number, base)
        out.append(DIGITS[digit])
    return "".join(reversed(out))


def operands(setting: Setting, text: str) -> tuple[str, str]:
    """The two operands of `X+Y` (case-insensitive, spaces allowed), upper case, checked against the base."""
    base = int(setting["base"])
    parts = [part.strip().upper() for part in text.split("+")]
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"expected an addition X+Y, got {text!r}")
    allowed = DIGITS[:base]
    for part in parts:
        bad = sorted({char for char in part if char not in allowed})
        if bad:
            raise ValueError(
                f"{part!r} is not a base-{base} number (digits {allowed!r}); bad: {''.join(bad)}"
            )
    return parts[0], parts[1]


def solve(setting: Setting, text: str) -> str:
    base = int(setting["base"])
    left, right = operands(setting, text)
    return to_base(int(left, base) + int(right, base), base)


def draw(setting: Setting, rng: random.Random) -> str:
    base, digits = int(setting["base"]), int(setting["digits"])

    def operand() -> str:
        first = DIGITS[rng.randrange(1, base)]
        return first + "".join(DIGITS[rng.randrange(base)] for _ in range(digits - 1))

    left = operand()
    right = operand()
    return f"{left}+{right}"


def distinguishes(setting: Setting, text: str) -> bool:
    """Whether an answer that ignores the base is wrong here (Wu et al.'s filter).

    True when an operand has a digit of A or above, or when the base-B sum differs from the
    sum of the same digit strings read as decimal numbers.
    """
    left, right = operands(setting, text)
    if not (left.isdecimal() and right.isdecimal()):
        return True
    return solve(setting, text) != str(int(left) + int(right))


def accept(setting: Setting, text: str) -> bool:
    return int(setting["base"]) == DEFAULT_BASE or distinguishes(setting, text)


def rule(setting: Setting) -> str:
    base = int(setting["base"])
    return (
        f'All numbers are written in base-{base} where the digits are "{DIGITS[:base]}". '
        f"The output is the sum of the two numbers, written in base-{base}."
    )


def normalise(answer: str) -> str:
    """Strip `$`, a surrounding `\\text{}` and a base subscript (`_8`, `_{16}`, `_(16)`); upper-case.

    Deliberately conservative, like Wu et al.'s exact comparison: leading zeros, inner spaces,
    thousands separators and prefixes such as `0x` are kept, so such answers do not match.
    """
    text = answer.strip()
    previous = None
    while previous != text:
        previous = text
        text = text.strip().strip("$").strip()
        text = _SUBSCRIPT.sub("", text)
        text = _TEXT_WRAPPER.sub(r"\1", text)
    return text.upper()


def is_default_world(params: Mapping[str, ParamValue]) -> bool:
    return params["base"] == DEFAULT_BASE


def draw_check(setting: Setting, rng: random.Random) -> str:
    """A number whose successor shows the base: small ones, and ones ending in the top digit."""
    base = int(setting["base"])
    if rng.random() < 0.5:
        return to_base(rng.randrange(base * base), base)
    return to_base(rng.randrange(1, base) * base + base - 1, base)


def solve_check(setting: Setting, text: str) -> str:
    base = int(setting["base"])
    number = text.strip().upper()
    if not number or any(char not in DIGITS[:base] for char in number):
        raise ValueError(f"{text!r} is not a base-{base} number (digits {DIGITS[:base]!r})")
    return to_base(int(number, base) + 1, base)


def _base_clause(setting: Setting) -> str:
    base = int(setting["base"])
    return f'Assuming that all numbers are in base-{base} where the digits are "{DIGITS[:base]}"'


def deductive_question(setting: Setting, text: str, cot: bool) -> str:
    # Wu et al.'s exact zero-shot wording, so results compare with their tables and recordings.
    ending = ANSWER_FORMAT_COT if cot else ANSWER_FORMAT
    return f"You are a mathematician. {_base_clause(setting)}, what is {text}? {ending}"


def paper_question(setting: Setting, text: str) -> str:
    return f"You are asked to add two numbers, the base of which is unknown, what is {text}?"


def paper_rule_question(setting: Setting, text: str) -> str:
    return f"{_base_clause(setting)}, what is {text}?"


def paper_answer(setting: Setting, text: str, output: str) -> str:
    return f"The result for {text} is {output}."


# Runs in the sandbox, in front of the model's solver(n1, n2): one input "X+Y" -> ["X", "Y"].
SPLIT_OPERANDS = """
def split_input(x: str) -> list:
    return [part.strip() for part in x.split("+")]
"""


def check_question(setting: Setting, text: str, cot: bool) -> str:
    # Wu et al.'s exact comprehension-check wording, so their recorded replies can be replayed.
    # They have no chain-of-thought variant of it: `cot` changes nothing.
    return (
        f"You are a mathematician. {_base_clause(setting)}, what is the next number after {text}? Do this "
        "by counting the few preceding numbers and completing the sequence. End the response with the result."
    )


def _is_numeral(token: str, base: int) -> bool:
    """Digits of the base, with at least one decimal digit unless it is a single letter digit (`A`)."""
    if any(char not in DIGITS[:base] for char in token.upper()):
        return False
    return any(char.isdigit() for char in token) or len(token) == 1


def extract_check(setting: Setting, reply: str) -> str | None:
    """The last base-B numeral in the reply (the question asks for no box), or a boxed answer."""
    base = int(setting["base"])
    boxed = re.findall(r"\\boxed\{([^{}]*)\}", reply)
    if boxed:
        return boxed[-1]
    numerals = [token for token in re.findall(r"\b[0-9A-Za-z]+\b", reply) if _is_numeral(token, base)]
    return numerals[-1] if numerals else None


FAMILY = ProbeFamily(
    name="arithmetic",
    description="Addition of two numbers in base B (base 10 familiar; 8, 9, 11, 16, ... counterfactual).",
    parameters=(
        Parameter("base", int, tuple(range(2, 37)), DEFAULT_BASE, "the base the numbers are written in"),
        Parameter("digits", int, (2, 3, 4), 2, "how many digits each operand has"),
    ),
    standard=({"base": 10}, {"base": 8}, {"base": 9}, {"base": 11}, {"base": 16}),
    task=(
        "Each input is an expression of two numbers joined by '+'; "
        "the output is a number, the result of a hidden rule."
    ),
    solve=solve,
    draw=draw,
    rule=rule,
    normalise=normalise,
    is_default_world=is_default_world,
    accept=accept,
    input_label="Input",
    output_label="Output",
    comprehension=ComprehensionCheck(
        draw=draw_check,
        solve=solve_check,
        question=check_question,
        extract=extract_check,
        reads_sentences=True,
    ),
    deductive_question=deductive_question,
    paper=PaperFraming(
        question=paper_question,
        rule_question=paper_rule_question,
        answer=paper_answer,
        arguments=("n1", "n2"),
        split_source=SPLIT_OPERANDS,
    ),
    worlds=("base",),
)
