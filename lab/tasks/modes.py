"""The reasoning modes: what each states, shows and asks for, which cases it is drawn on, how it is scored.

A mode declares with keywords what it needs; a mode with its own mechanics (the comprehension
check) carries them as hooks, so the prompts, the plan and the runner ask the mode instead of
testing its name. Adding a mode that reuses existing mechanics is one entry in `MODES` (plus its
place in `GAP_PAIRS` or a chart, if it should have one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from lab.tasks.oracle_mappings import has_oracle
from lab.tasks.scoring import (
    UNPARSED,
    DirectScore,
    ambiguous_score,
    distinct_answers,
    read_answers,
    read_check_answers,
)
from probes import Case, ProbeFamily, Setting


class ModeError(ValueError):
    pass


class Framing(Enum):
    """How the few-shot modes (those that show examples) word their prompt.

    - `paper`: Cheng et al. 2024's wording (their Fig. 1): the task stated, the rule withheld, and a
      solver whose arguments fit the task (`solver(n1, n2)` for an addition);
    - `blind`: the task's inputs and outputs described, the outputs called "the result of a hidden
      rule", and `solver(x)`: the model must also find what the task is (harder).
    """

    PAPER = "paper"
    BLIND = "blind"


def parse_framing(text: str | Framing) -> Framing:
    if isinstance(text, Framing):
        return text
    try:
        return Framing(text.strip().lower())
    except ValueError:
        valid = ", ".join(framing.value for framing in Framing)
        raise ModeError(f"no framing {text!r}; valid: {valid}") from None


class Draws(Enum):
    """The cases a mode is asked about."""

    HELD_OUT = "held_out"  # the setting's held-out cases, the same for every such mode
    CHECKS = "checks"  # the family's comprehension-check cases


class Role(Enum):
    """What a mode measures, for the statistics and the charts."""

    INDUCTIVE = "inductive"
    DEDUCTIVE = "deductive"
    CHECK = "comprehension check"


@dataclass(frozen=True)
class Reply:
    """One reply to score against one case, with what the prompt asked."""

    family: ProbeFamily
    setting: Setting
    case: Case
    text: str
    framing: Framing = Framing.BLIND


def read_direct(reply: Reply, shows_examples: bool) -> list[str]:
    """The final answers in a direct reply: the paper framing's answer line, then the family's own
    format, then the boxed or labelled answers (several different ones are a hedge)."""
    if shows_examples and reply.framing is Framing.PAPER:
        framed = reply.family.paper_framing().read_answer(reply.setting, reply.case.input, reply.text)
        if framed is not None:
            return [framed]
    if reply.family.extract is not None:
        found = reply.family.extract(reply.setting, reply.text)
        if found is not None:
            return [found]
    return read_answers(reply.text, reply.family.normalise)


def read_check(reply: Reply, shows_examples: bool) -> list[str]:
    """The answers to a comprehension check, read at the answer position by the check's reader."""
    return read_check_answers(reply.family, reply.setting, reply.text)


def judge_answer(reply: Reply, answer: str) -> bool:
    return reply.family.is_correct(reply.setting, reply.case, answer)


def judge_check(reply: Reply, answer: str) -> bool:
    check = reply.family.comprehension
    if check is not None and check.grade is not None:
        return check.grade(reply.setting, reply.case, answer)
    return judge_answer(reply, answer)


def check_question(family: ProbeFamily, setting: Setting, query: str, cot: bool) -> str:
    check = family.comprehension
    if check is None:
        raise ModeError(f"family {family.name} has no comprehension check; the ccc mode does not apply")
    return check.question(setting, query, cot)


def has_check(family: ProbeFamily) -> bool:
    return family.comprehension is not None


@dataclass(frozen=True, kw_only=True)
class Mode:
    """One way of asking. Hooks:

    - `question(family, setting, query, cot)`: the whole prompt, when the mode does not use the
      shared template (None: `prompts.build_messages` builds it from the flags);
    - `read(reply, shows_examples)`: the final answers in a direct reply (one, or a hedge);
    - `judge(reply, answer)`: whether that answer is right;
    - `supports(family)`: whether the mode applies to a family (the plan skips it where not).

    `verbal`: the model first states the rule in words from the examples (`build_messages` asks for
    it); a second turn of the same conversation (`prompts.followup_messages`) asks it to apply that
    rule to a case or to write `solver` from it (after Qiu et al. 2024 and Wang et al. 2024).

    `interactive`: after the opening, the model may query the hidden rule and submit `solver` several
    times in one conversation (`lab.run.oracle`, protocol in `lab.tasks.oracle`).
    """

    name: str
    description: str
    states_rule: bool
    shows_examples: bool = False
    returns_code: bool = False
    verbal: bool = False
    interactive: bool = False
    draws: Draws = Draws.HELD_OUT
    question: Callable[[ProbeFamily, Setting, str, bool], str] | None = None
    read: Callable[[Reply, bool], list[str]] = read_direct
    judge: Callable[[Reply, str], bool] = judge_answer
    supports: Callable[[ProbeFamily], bool] = lambda family: True

    @property
    def inductive(self) -> bool:
        return not self.states_rule

    @property
    def checks_comprehension(self) -> bool:
        return self.draws is Draws.CHECKS

    @property
    def role(self) -> Role:
        if self.draws is Draws.CHECKS:
            return Role.CHECK
        return Role.INDUCTIVE if self.inductive else Role.DEDUCTIVE

    def instances(self, planned: int) -> int:
        """Instances run: without examples every instance would get the identical prompt, so one."""
        return planned if self.shows_examples else 1

    def score(self, reply: Reply) -> DirectScore:
        """A direct reply scored against its case: read, normalised for display, judged. No answer is
        `unparsed`; several different ones are `ambiguous` and never right."""
        answers = self.read(reply, self.shows_examples)
        distinct = distinct_answers(reply.family, answers)
        if not distinct:
            return DirectScore(None, False, UNPARSED)
        if len(distinct) > 1:
            return ambiguous_score(distinct)
        return DirectScore(distinct[0], self.judge(reply, answers[-1]), None)


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode(
            name="deductive",
            description="rule stated, no examples; the model answers",
            states_rule=True,
        ),
        Mode(
            name="io_rule",
            description="rule stated with k examples; the model answers",
            states_rule=True,
            shows_examples=True,
        ),
        Mode(
            name="io",
            description="rule unknown, k examples; the model answers",
            states_rule=False,
            shows_examples=True,
        ),
        Mode(
            name="solverlearner",
            description="rule unknown, k examples; the model writes solver(), we run it",
            states_rule=False,
            shows_examples=True,
            returns_code=True,
        ),
        Mode(
            name="deductive_code",
            description="rule stated, no examples; the model writes solver(), we run it",
            states_rule=True,
            returns_code=True,
        ),
        Mode(
            name="ccc",
            description="comprehension check: rule stated, a question about the rule itself (Wu et al.)",
            states_rule=True,
            draws=Draws.CHECKS,
            question=check_question,
            read=read_check,
            judge=judge_check,
            supports=has_check,
        ),
        Mode(
            name="verbal_apply",
            description="rule unknown, k examples; the model states the rule in words, then applies it",
            states_rule=False,
            shows_examples=True,
            verbal=True,
        ),
        Mode(
            name="verbal_code",
            description="rule unknown, k examples; the model states the rule in words, then writes solver()",
            states_rule=False,
            shows_examples=True,
            returns_code=True,
            verbal=True,
        ),
        Mode(
            name="oracle",
            description="rule unknown, k examples; queries the rule, submits solver(), sees counterexamples",
            states_rule=False,
            shows_examples=True,
            returns_code=True,
            interactive=True,
            supports=has_oracle,
        ),
    )
}
MODE_ORDER: tuple[str, ...] = tuple(MODES)

# Inductive minus deductive comparisons reported by the statistics.
GAP_PAIRS: tuple[tuple[str, str], ...] = (("solverlearner", "deductive"), ("io", "io_rule"))


def parse_modes(text: str | list[str]) -> list[str]:
    names = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in MODES:
            raise ModeError(f"no mode {raw!r}; valid: {', '.join(MODE_ORDER)}")
        if name not in out:
            out.append(name)
    if not out:
        raise ModeError(f"no mode given; valid: {', '.join(MODE_ORDER)}")
    return out
