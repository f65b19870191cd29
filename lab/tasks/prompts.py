"""Every word a model is sent lives here: pure functions from (setting, mode, examples, query) to messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lab.tasks.modes import MODES, Framing, Mode, parse_framing
from lab.tasks.oracle import Budget
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

PAPER_CODE_FORMAT = (
    "Write it as a Python function `{signature}` in one ```python code block. You may import only "
    "math, string, re, itertools, functools, collections and operator. Do not compute any answer "
    "yourself; give only the function."
)
PAPER_CODE_QUESTION = "Q: What is the function to map the input to the output?"

RULE_REQUEST = (
    "State the rule in words, precisely enough that someone could apply it to any new input. Do not "
    'give any output yet and do not write code; give the rule in one paragraph starting with "Rule:".'
)
ORACLE_PROTOCOL = (
    "Find the rule and write it as a Python function `def solver(x: str) -> str` that takes one input "
    "string and returns the output string, both written exactly as in the examples above. You may "
    "import only math, string, re, itertools, functools, collections and operator.\n\n"
    "You may ask for the outputs of inputs you choose: reply with one ```query block, one input a line. "
    "You have {queries} queries in all; an input the rule cannot take is refused and still counts. "
    "When ready, submit your function in one ```python block; if it is wrong, you get one input "
    "where it differs from the rule. You have {submissions} submissions; your last one is scored. "
    "Give one action a reply: a ```query block or a ```python block, not both."
)
APPLY_OWN_RULE = "Apply the rule you stated to this input."
CODE_FROM_OWN_RULE = "implements the rule you stated"


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
    *,
    cot: bool = False,
    framing: Framing | str = Framing.BLIND,
    budget: Budget | None = None,
) -> list[Message]:
    """The exact chat messages for one model call.

    Direct modes need `query`; code modes ask for `solver` and take no query. `framing` words the
    modes that show examples (see `Framing`); the others have one wording, as has the oracle mode,
    whose opening states its `budget` of queries and submissions.
    """
    spec = MODES[mode]
    family = get_family(setting.family)
    if spec.shows_examples and not examples:
        raise ValueError(f"mode {mode} shows examples; none given")
    if not spec.returns_code and query is None:
        raise ValueError(f"mode {mode} answers one input; no query given")
    if spec.question is not None:
        return _user(spec.question(family, setting, query or "", cot))
    if spec.verbal:
        return _user(_rule_request(family, examples))
    if spec.interactive:
        return _user(_oracle_opening(family, examples, budget or Budget()))
    if mode == "deductive" and family.deductive_question is not None:
        return _user(family.deductive_question(setting, query or "", cot))
    if spec.shows_examples and parse_framing(framing) is Framing.PAPER:
        return _user(_paper_prompt(family, setting, spec, examples, query))
    return _user(_blind_prompt(family, setting, spec, examples, query, cot))


def _user(content: str) -> list[Message]:
    return [{"role": "user", "content": content}]


def _paper_prompt(
    family: ProbeFamily, setting: Setting, spec: Mode, examples: Sequence[Case], query: str | None
) -> str:
    """Cheng et al.'s few-shot prompt: a question-and-answer pair per example, then the test question
    (or the request for the function)."""
    paper = family.paper_framing()
    ask = paper.rule_question if spec.states_rule else paper.question
    pairs = [
        f"Q: {ask(setting, case.input)}\nA: {paper.answer(setting, case.input, case.output)}"
        for case in examples
    ]
    if spec.returns_code:
        pairs.append(f"{PAPER_CODE_QUESTION} {PAPER_CODE_FORMAT.format(signature=paper.signature)}\nA:")
    else:
        pairs.append(f"Q: {ask(setting, query or '')}\nA:")
    return "\n\n".join(pairs)


def _blind_prompt(
    family: ProbeFamily,
    setting: Setting,
    spec: Mode,
    examples: Sequence[Case],
    query: str | None,
    cot: bool,
) -> str:
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
    return "\n\n".join(parts)


def _rule_request(family: ProbeFamily, examples: Sequence[Case]) -> str:
    """The first turn of a verbal mode: the examples, and the rule asked for in words (the same for
    every held-out case of an instance)."""
    lead = "The rule is unknown; here are examples of the mapping from input to output:"
    return f"{family.task}\n\n{lead}\n\n{_examples_block(family, examples)}\n\n{RULE_REQUEST}"


def _oracle_opening(family: ProbeFamily, examples: Sequence[Case], budget: Budget) -> str:
    """The oracle mode's first turn: the task, the examples, and the protocol with its budget."""
    lead = "The rule is unknown; here are examples of the mapping from input to output:"
    protocol = ORACLE_PROTOCOL.format(queries=budget.queries, submissions=budget.submissions)
    return f"{family.task}\n\n{lead}\n\n{_examples_block(family, examples)}\n\n{protocol}"


def followup_messages(
    setting: Setting,
    mode: str,
    opening: Sequence[Message],
    stated_rule: str,
    query: str | None = None,
    *,
    cot: bool = False,
) -> list[Message]:
    """The second turn of a verbal mode: after the model stated its rule, apply it to `query`
    (`verbal_apply`) or write `solver` from it (`verbal_code`)."""
    spec = MODES[mode]
    if not spec.verbal:
        raise ValueError(f"mode {mode} has no second turn; only the verbal modes state a rule first")
    family = get_family(setting.family)
    if spec.returns_code:
        ask = CODE_FORMAT.format(purpose=CODE_FROM_OWN_RULE, form="exactly as in the examples above")
    elif query is None:
        raise ValueError(f"mode {mode} applies the stated rule to one input; no query given")
    else:
        ask = f"{APPLY_OWN_RULE}\n\n{_direct_query(family, query, cot)}"
    return [*opening, {"role": "assistant", "content": stated_rule}, {"role": "user", "content": ask}]


def solver_source(setting: Setting, mode: str, code: str, framing: Framing | str) -> str:
    """The source the sandbox runs for a solver the model wrote in answer to `build_messages(...)`:
    under the paper framing a solver with several arguments gets a one-argument entry point."""
    if _paper_framed(mode, framing):
        return get_family(setting.family).paper_framing().wrap_solver(code)
    return code


def _paper_framed(mode: str, framing: Framing | str) -> bool:
    """Whether the mode's prompt used the paper wording: modes with examples, except the verbal
    ones, whose turns keep the one-string wording under either framing."""
    spec = MODES[mode]
    one_wording = spec.verbal or spec.interactive
    return spec.shows_examples and not one_wording and parse_framing(framing) is Framing.PAPER


def solver_signature(setting: Setting, mode: str, framing: Framing | str) -> str:
    if _paper_framed(mode, framing):
        return get_family(setting.family).paper_framing().signature
    return "def solver(x: str) -> str"


@dataclass(frozen=True)
class Mismatch:
    """A shown example the function got wrong: what it returned, or the error it raised."""

    input: str
    expected: str
    got: str


def refinement_messages(
    setting: Setting,
    messages: Sequence[Message],
    reply: str,
    mismatches: Sequence[Mismatch],
    signature: str = "def solver(x: str) -> str",
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
        f"Write a corrected `{signature}` that fits every example, in one ```python code "
        "block. Do not compute any answer yourself."
    )
    return [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": feedback}]
