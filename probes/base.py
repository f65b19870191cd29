"""The contract every probe family keeps: settings, cases, rules, normalisation."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

ParamValue = int | str


class ProbeError(ValueError):
    """A probe spec or setting that does not exist; the message names the valid choices."""


@dataclass(frozen=True)
class Case:
    input: str
    output: str


@dataclass(frozen=True)
class Parameter:
    """One knob of a family: its allowed values and the value of the familiar world."""

    name: str
    kind: type  # int or str
    choices: tuple[ParamValue, ...]
    default: ParamValue
    description: str = ""
    # Former names of values, read as the value they name now (e.g. a world renamed after a paper).
    aliases: Mapping[str, ParamValue] = field(default_factory=dict)

    def describe_choices(self) -> str:
        return _describe_choices(self.choices)

    def parse(self, raw: str | ParamValue) -> ParamValue:
        if isinstance(raw, str) and raw.strip().lower() in self.aliases:
            return self.aliases[raw.strip().lower()]
        if self.kind is int:
            try:
                value: ParamValue = int(raw)
            except (TypeError, ValueError):
                raise ProbeError(
                    f"parameter {self.name!r} takes a whole number, got {raw!r}; "
                    f"valid: {_describe_choices(self.choices)}"
                ) from None
        else:
            value = str(raw).strip().lower()
        if value not in self.choices:
            raise ProbeError(
                f"parameter {self.name!r} has no value {raw!r}; valid: {_describe_choices(self.choices)}"
            )
        return value


def _describe_choices(choices: tuple[ParamValue, ...]) -> str:
    if len(choices) > 8 and all(isinstance(c, int) for c in choices):
        ints = sorted(int(c) for c in choices)
        if ints == list(range(ints[0], ints[-1] + 1)):
            return f"{ints[0]}..{ints[-1]}"
    return ", ".join(str(c) for c in choices)


@dataclass(frozen=True)
class Setting:
    """One world of a family: a full assignment of its parameters.

    `params` is ordered as the family declares its parameters, so `label` is canonical.
    """

    family: str
    params: tuple[tuple[str, ParamValue], ...]
    default_world: bool

    @property
    def label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.params)

    @property
    def spec(self) -> str:
        return f"{self.family}:{self.label}"

    def __getitem__(self, name: str) -> ParamValue:
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(name)

    def as_dict(self) -> dict[str, ParamValue]:
        return dict(self.params)


@dataclass(frozen=True)
class ComprehensionCheck:
    """Wu et al.'s comprehension check: a question only a model that grasped the world's rule answers.

    - `draw(setting, rng)`: one check input (duplicates are filtered);
    - `solve(setting, input)`: its expected answer;
    - `question(setting, input, cot)`: the whole question sent to the model, answer format included
      (`cot`: the chain-of-thought wording, where the family has one);
    - `extract(setting, text)`: optional; the answer in a reply, when the question does not ask
      for a boxed answer (None: the usual boxed-or-labelled extraction). With `reads_sentences`,
      `text` is one sentence at a time from the end of the reply, asides and "base-N" qualifiers
      removed (the answer position); otherwise the whole reply;
    - `grade(setting, case, answer)`: optional; whether the answer is right, when the check is
      scored otherwise than the family's task (None: the family's `is_correct`).
    """

    draw: Callable[[Setting, random.Random], str]
    solve: Callable[[Setting, str], str]
    question: Callable[[Setting, str, bool], str]
    extract: Callable[[Setting, str], str | None] | None = None
    grade: Callable[[Setting, Case, str], bool] | None = None
    reads_sentences: bool = False


@dataclass(frozen=True, kw_only=True)
class PaperFraming:
    """Cheng et al. 2024's few-shot wording for a family (their Fig. 1): the task stated, the rule withheld.

    - `question(setting, input)`: the question with the rule withheld, e.g. "You are asked to add two
      numbers, the base of which is unknown, what is 57+27?";
    - `rule_question(setting, input)`: the same question with the rule stated (few-shot IO with
      mapping function), e.g. 'Assuming that all numbers are in base-8 where the digits are
      "01234567", what is 57+27?';
    - `answer(setting, input, output)`: a demonstration's answer line, e.g. "The result for 57+27 is
      106." A reply is read back with the same line (see `read_answer`);
    - `arguments`: the parameter names of the solver the model writes, e.g. ("n1", "n2");
    - `split_source`: with more than one argument, Python source defining
      `split_input(x: str) -> list[str]`, which cuts one input string into those arguments. The
      sandbox runs solvers on one input string, so `wrap_solver` appends it and a one-argument
      `solver(x)` that calls the model's function with the split arguments.
    """

    question: Callable[[Setting, str], str]
    rule_question: Callable[[Setting, str], str]
    answer: Callable[[Setting, str, str], str]
    arguments: tuple[str, ...] = ("x",)
    split_source: str = ""

    def __post_init__(self) -> None:
        if len(self.arguments) > 1 and "def split_input(" not in self.split_source:
            raise ValueError(
                f"a solver with arguments {', '.join(self.arguments)} needs split_source defining "
                "split_input(x) to cut one input into them"
            )

    @property
    def signature(self) -> str:
        return f"def solver({', '.join(f'{name}: str' for name in self.arguments)}) -> str"

    def wrap_solver(self, code: str) -> str:
        """The model's solver made callable with one input string, as the sandbox calls it."""
        if len(self.arguments) == 1:
            return code
        return (
            f"{code}\n\n{self.split_source.strip()}\n\n\nsolver_with_arguments = solver\n\n\n"
            "def solver(x: str) -> str:\n    return solver_with_arguments(*split_input(x))\n"
        )

    def read_answer(self, setting: Setting, query: str, reply: str) -> str | None:
        """What follows the last answer line's lead-in in the reply ("The result for 57+27 is "), up to
        the line's ending ("."); None when the reply has no such line."""
        marker = "\x00"
        lead, _, ending = self.answer(setting, query, marker).partition(marker)
        start = reply.rfind(lead)
        if start < 0:
            return None
        line = reply[start + len(lead) :].split("\n", 1)[0].strip()
        ending = ending.strip()
        if ending and line.endswith(ending):
            line = line[: -len(ending)].strip()
        return line or None


@dataclass(frozen=True)
class ProbeFamily:
    """A hidden mapping in a familiar world and in counterfactual ones.

    A family module builds one of these from pure functions:
    - `solve(setting, input)`: the reference mapping, input -> expected output;
    - `draw(setting, rng)`: one random input of that world (duplicates are filtered here);
    - `rule(setting)`: the rule in plain English, for the deductive prompts;
    - `normalise(answer)`: what an answer becomes before exact comparison;
    - `is_default_world(params)`: whether a parameter assignment is the familiar world;
    - `task`: a short neutral description of the inputs and outputs, naming no rule
      (used by the inductive prompts, e.g. "Each input is an addition X+Y ...");
    - `canonical(params)`: optional; the assignment without the parameters that have no effect
      in it (a cipher's shift under atbash), so each world has one label. Naming such a
      parameter explicitly is an error.
    - `comprehension`: optional; the family's comprehension check (the `ccc` mode).
    - `deductive_question(setting, input, cot)`: optional; the whole `deductive` prompt, when the
      family poses it in a paper's exact wording (Wu et al.'s arithmetic), replacing the template.
    - `extract(setting, reply)`: optional; the answer in a direct reply, when the family's prompts
      ask for it in their own format (None: the usual boxed-or-labelled extraction).
    - `grade(setting, case, answer)`: optional; whether an extracted answer (or a solver's output)
      is right, when that is more than exact comparison after `normalise` (Wu et al.'s spatial
      layouts are judged object by object).
    - `paper`: Cheng et al.'s wording for the few-shot modes (`framing="paper"`); a family without
      one gets `generic_paper_framing(family)`.
    - `worlds`: the parameters whose every choice is a candidate world (the others kept), e.g.
      ("base",) for arithmetic: the candidates an example set may or may not single out. Empty: the
      family has no candidate set.
    """

    name: str
    description: str
    parameters: tuple[Parameter, ...]
    standard: tuple[Mapping[str, ParamValue], ...]  # the settings run when only the family is named
    task: str
    solve: Callable[[Setting, str], str]
    draw: Callable[[Setting, random.Random], str]
    rule: Callable[[Setting], str]
    normalise: Callable[[str], str]
    is_default_world: Callable[[Mapping[str, ParamValue]], bool]
    accept: Callable[[Setting, str], bool] = field(default=lambda setting, text: True)
    input_label: str = "Input"
    output_label: str = "Output"
    canonical: Callable[[Mapping[str, ParamValue]], Mapping[str, ParamValue]] = field(
        default=lambda params: params
    )
    comprehension: ComprehensionCheck | None = None
    deductive_question: Callable[[Setting, str, bool], str] | None = None
    extract: Callable[[Setting, str], str | None] | None = None
    grade: Callable[[Setting, Case, str], bool] | None = None
    paper: PaperFraming | None = None
    worlds: tuple[str, ...] = ()

    def is_correct(self, setting: Setting, case: Case, answer: str) -> bool:
        """Whether `answer` (extracted from a reply, or a solver's output) answers `case`."""
        if self.grade is not None:
            return self.grade(setting, case, answer)
        return self.normalise(answer) == self.normalise(case.output)

    def paper_framing(self) -> PaperFraming:
        return self.paper if self.paper is not None else generic_paper_framing(self)

    def setting(self, **raw: str | ParamValue) -> Setting:
        known = {p.name for p in self.parameters}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ProbeError(
                f"family {self.name!r} has no parameter {unknown[0]!r}; valid: {', '.join(sorted(known))}"
            )
        values = {p.name: p.parse(raw[p.name]) if p.name in raw else p.default for p in self.parameters}
        values = dict(self.canonical(values))
        params = tuple((p.name, values[p.name]) for p in self.parameters if p.name in values)
        moot = sorted(set(raw) - set(values))
        if moot:
            label = ",".join(f"{k}={v}" for k, v in params)
            raise ProbeError(f"parameter {moot[0]!r} does not apply to {self.name}:{label}")
        return Setting(self.name, params, self.is_default_world(values))

    def standard_settings(self) -> list[Setting]:
        return [self.setting(**s) for s in self.standard]

    def default_setting(self) -> Setting:
        return self.setting()

    def iter_cases(self, setting: Setting, seed: int) -> Iterator[Case]:
        """Distinct cases in a fixed order: any prefix of this stream is `cases(setting, n, seed)`."""
        return _distinct_cases(setting, f"{setting.spec}|{seed}", self.draw, self.solve, self.accept)

    def cases(self, setting: Setting, n: int, seed: int) -> list[Case]:
        return _take(self.iter_cases(setting, seed), n, setting.spec)

    def check_cases(self, setting: Setting, n: int, seed: int) -> list[Case]:
        """`n` distinct comprehension-check cases; the family must have a check."""
        check = self.comprehension
        if check is None:
            raise ProbeError(f"family {self.name!r} has no comprehension check")
        stream = _distinct_cases(
            setting, f"{setting.spec}|check|{seed}", check.draw, check.solve, lambda setting, text: True
        )
        return _take(stream, n, f"the comprehension check of {setting.spec}")


def generic_paper_framing(family: ProbeFamily) -> PaperFraming:
    """Cheng et al.'s question-and-answer lines for a family that declares none (a custom probe):
    the family's neutral description states the task."""
    return PaperFraming(
        question=lambda setting, text: f"{family.task} What is the output for {text}?",
        rule_question=lambda setting, text: f"{family.rule(setting)} What is the output for {text}?",
        answer=lambda setting, text, output: f"The output for {text} is {output}.",
    )


def _distinct_cases(
    setting: Setting,
    stream_seed: str,
    draw: Callable[[Setting, random.Random], str],
    solve: Callable[[Setting, str], str],
    accept: Callable[[Setting, str], bool],
) -> Iterator[Case]:
    rng = random.Random(stream_seed)
    seen: set[str] = set()
    misses = 0
    while misses < 10_000:
        text = draw(setting, rng)
        if text in seen or not accept(setting, text):
            misses += 1
            continue
        misses = 0
        seen.add(text)
        yield Case(text, solve(setting, text))


def _take(stream: Iterator[Case], n: int, what: str) -> list[Case]:
    if n < 0:
        raise ProbeError("n must be zero or more")
    out: list[Case] = []
    for case in stream:
        if len(out) == n:
            break
        out.append(case)
    if len(out) < n:
        raise ProbeError(f"{what} has only {len(out)} distinct cases; asked for {n}")
    return out
