"""Every word a model is sent lives here: pure functions from (setting, mode, examples, query) to messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lab.tasks.modes import MODES
from probes import Case, ProbeFamily, Setting, get_family

Message = dict[str, str]

ANSWER_FORMAT = 'End the response with the result in "\\boxed{result}".'
ANSWER_FORMAT_COT = 'Let\'s think step by step, and end the response with the result in "\\boxed{result}".'

CODE_FORMAT = (
    "Write a Python function `def solver(x: str) -> str` that {purpose}: it takes one input string "
    "and returns the output string, both written {form}. You may import only math, string, re, "
    "itertools, functools, collections and operator. Do not compute any answer yourself; give only "
    "the function, in one ```python code block."
)

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _wu_arithmetic_question(setting: Setting, query: str, cot: bool) -> str:
    # Wu et al.'s exact zero-shot wording, so results compare with their tables and recordings.
    base = int(setting["base"])
    ending = ANSWER_FORMAT_COT if cot else ANSWER_FORMAT
    return (
        f"You are a mathematician. Assuming that all numbers are in base-{base} where the digits are "
        f'"{DIGITS[:base]}", what is {query}? {ending}'
    )


def _examples_block(family: ProbeFamily, examples: Sequence[Case]) -> str:
    return "\n\n".join(
        f"{family.input_label}: {case.input}\n{family.output_label}: {case.output}" for case in examples
    )


def _direct_query(family: ProbeFamily, query: str, cot: bool) -> str:
    ending = ANSWER_FORMAT_COT if cot else ANSWER_FORMAT
    return f"{family.input_label}: {query}\n{ending}"


def build_messages(
    setting: Setting,
    mode: str,
    examples: Sequence[Case] = (),
    query: str | None = None,
    cot: bool = False,
) -> list[Message]:
    """The exact chat messages for one model call.

    Direct modes need `query`; code modes ask for `solver` and take no query.
    """
    spec = MODES[mode]
    family = get_family(setting.family)
    if spec.shows_examples and not examples:
        raise ValueError(f"mode {mode} shows examples; none given")
    if not spec.returns_code and query is None:
        raise ValueError(f"mode {mode} answers one input; no query given")

    if spec.checks_comprehension:
        check = family.comprehension
        if check is None:
            raise ValueError(f"family {family.name} has no comprehension check")
        return [{"role": "user", "content": check.question(setting, query or "")}]

    if mode == "deductive" and setting.family == "arithmetic":
        return [{"role": "user", "content": _wu_arithmetic_question(setting, query or "", cot)}]

    parts = [family.task]
    if spec.states_rule:
        parts.append(f"The rule: {family.rule(setting)}")
    if spec.shows_examples:
        lead = (
            "Here are examples of the mapping:"
            if spec.states_rule
            else "The rule is unknown; here are examples of the mapping from input to output:"
        )
        parts.append(f"{lead}\n\n{_examples_block(family, examples)}")
    if spec.returns_code:
        purpose = "applies the rule" if spec.states_rule else "implements the rule behind these examples"
        form = "exactly as in the examples above" if spec.shows_examples else "in the format described above"
        parts.append(CODE_FORMAT.format(purpose=purpose, form=form))
    else:
        verb = "Apply the rule to this input." if spec.states_rule else "Give the output for this input."
        parts.append(f"{verb}\n\n{_direct_query(family, query or '', cot)}")
    return [{"role": "user", "content": "\n\n".join(parts)}]


@dataclass(frozen=True)
class Mismatch:
    """A shown example the function got wrong: what it returned, or the error it raised."""

    input: str
    expected: str
    got: str


def refinement_messages(
    setting: Setting, messages: Sequence[Message], reply: str, mismatches: Sequence[Mismatch]
) -> list[Message]:
    """The conversation so far, then the examples the last function fails, asking for a corrected one."""
    family = get_family(setting.family)
    shown = "\n\n".join(
        f"{family.input_label}: {m.input}\nExpected {family.output_label.lower()}: {m.expected}\n"
        f"Your function gave: {m.got}"
        for m in mismatches
    )
    problem = (
        f"Your function does not fit the examples. It gets these wrong:\n\n{shown}"
        if mismatches
        else "Your reply holds no ```python block defining `solver`."
    )
    feedback = (
        f"{problem}\n\n"
        "Write a corrected `def solver(x: str) -> str` that fits every example, in one ```python code "
        "block. Do not compute any answer yourself."
    )
    return [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": feedback}]


def render(messages: Sequence[Message]) -> str:
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)
