"""A run is a plan: models x probe settings x modes, expanded into model calls (work units)."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

from lab.models.spec import DEFAULT_MODEL, ModelSpec
from lab.run.sweep import (
    NO_EXAMPLES,
    ExampleSet,
    SweepError,
    SweepPoint,
    example_sets,
    identifiable_sets,
    sweep_points,
)
from lab.tasks.modes import MODES, Draws, Framing, parse_framing, parse_modes
from lab.tasks.oracle import DEFAULT_QUERIES, DEFAULT_SUBMISSIONS, Budget
from lab.tasks.prompts import build_messages
from probes import Case, Setting, get_family, parse_spec

_T = TypeVar("_T")


class RunError(Exception):
    """A run that cannot start or go on; the message says why and what to do."""


QUICK_MODES = ("deductive", "solverlearner")
MAX_SAMPLES = 20
MAX_ROUNDS = 10
MAX_QUERIES = 100
MAX_SUBMISSIONS = 10
OPTIONAL_DEFAULTS: dict[str, object] = {
    "samples": 1,
    "rounds": 0,
    "cases_file": None,
    "check_file": None,
    "check_n": None,
    "framing": Framing.BLIND.value,  # plans stored before framings existed used the blind wording
    "noise": 0.0,
    "identifiable": False,
    "queries": DEFAULT_QUERIES,
    "submissions": DEFAULT_SUBMISSIONS,
}


def parse_shots(text: str) -> int | tuple[int, ...]:
    """`8` -> 8; `1,2,4,8` -> (1, 2, 4, 8): a sweep over numbers of shown examples."""
    values = _parse_list(text, int, "shots", "whole numbers, e.g. 8 or 1,2,4,8")
    return values[0] if len(values) == 1 and "," not in text else values


def parse_noise(text: str) -> float | tuple[float, ...]:
    """`0.1` -> 0.1; `0,0.1,0.25` -> (0.0, 0.1, 0.25): fractions of shown examples made wrong."""
    values = _parse_list(text, float, "noise", "fractions from 0 up to 1, e.g. 0.1 or 0,0.1,0.25")
    return values[0] if len(values) == 1 and "," not in text else values


def _parse_list(text: str, kind: Callable[[str], _T], name: str, hint: str) -> tuple[_T, ...]:
    try:
        values = tuple(kind(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"--{name} takes {hint}; got {text!r}") from None
    if not values:
        raise ValueError(f"--{name} takes {hint}; got {text!r}")
    return values


def default_temperature(samples: int) -> float:
    """Greedy decoding for one sample; several identical samples would measure nothing."""
    return 0.7 if samples > 1 else 0.0


@dataclass(frozen=True)
class RunPlan:
    models: tuple[ModelSpec, ...]
    probes: tuple[str, ...]
    modes: tuple[str, ...]
    shots: int | tuple[int, ...] = 8  # a tuple sweeps: every number is a point on the same cases
    n: int = 20
    instances: int = 3
    seed: int = 0
    temperature: float = 0.0
    max_tokens: int = 1024
    cot: bool = False
    concurrency: int = 8
    max_failures: int = 20
    samples: int = 1
    rounds: int = 0
    cases_file: str | None = None  # held-out inputs, one a line (or `file.csv#column`); `{param}` filled in
    check_file: str | None = None  # the same for the comprehension check's inputs (mode ccc)
    check_n: int | None = None  # comprehension-check items per setting; None: n
    framing: Framing = Framing.PAPER  # how the modes that show examples word their prompt
    noise: float | tuple[float, ...] = 0.0  # fraction of shown examples given a wrong output
    identifiable: bool = False  # draw example sets that only the setting's own world fits
    queries: int = DEFAULT_QUERIES  # the oracle mode: inputs the model may ask the hidden rule about
    submissions: int = DEFAULT_SUBMISSIONS  # the oracle mode: functions it may submit for a counterexample

    @property
    def checks(self) -> int:
        """How many comprehension-check items each setting gets."""
        return self.n if self.check_n is None else self.check_n

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("a plan needs at least one model")
        if not self.probes:
            raise ValueError("a plan needs at least one probe")
        object.__setattr__(self, "modes", tuple(parse_modes(list(self.modes))))
        object.__setattr__(self, "framing", parse_framing(self.framing))
        self._check_sweep()
        for name, value, low in (
            ("n", self.n, 1),
            ("instances", self.instances, 1),
            ("max_tokens", self.max_tokens, 1),
            ("concurrency", self.concurrency, 1),
            ("samples", self.samples, 1),
            ("rounds", self.rounds, 0),
        ):
            if value < low:
                raise ValueError(f"{name} must be at least {low}, got {value}")
        if self.check_n is not None and self.check_n < 1:
            raise ValueError(f"check_n must be at least 1 (or left out to use n), got {self.check_n}")
        if self.samples > MAX_SAMPLES or self.rounds > MAX_ROUNDS:
            raise ValueError(f"samples go up to {MAX_SAMPLES} and rounds up to {MAX_ROUNDS}")
        self._check_oracle()
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be between 0 and 2, got {self.temperature}")
        self.settings()  # validates every probe spec now, with the probe's own message
        for name, template in (("cases_file", self.cases_file), ("check_file", self.check_file)):
            if template is None:
                continue
            if not template.strip():
                raise ValueError(f"{name} is empty: give a file of inputs, one a line, or leave it out")
            for setting in self.settings():
                _cases_path(template, setting)

    def _check_oracle(self) -> None:
        if not 0 <= self.queries <= MAX_QUERIES or not 1 <= self.submissions <= MAX_SUBMISSIONS:
            raise ValueError(
                f"queries go from 0 to {MAX_QUERIES} and submissions from 1 to {MAX_SUBMISSIONS}; "
                f"got queries={self.queries}, submissions={self.submissions}"
            )
        interactive = [mode for mode in self.modes if MODES[mode].interactive]
        if interactive and (self.samples > 1 or self.rounds > 0):
            raise ValueError(
                f"mode {interactive[0]} has its own feedback loop (queries and counterexamples, up to "
                f"--submissions) and takes no --samples or --rounds (got samples={self.samples}, "
                f"rounds={self.rounds}); run it in a plan of its own, or leave them at 1 and 0"
            )

    @property
    def budget(self) -> Budget:
        """The oracle mode's budget of queries and submissions."""
        return Budget(self.queries, self.submissions)

    def _check_sweep(self) -> None:
        for name in ("shots", "noise"):
            value = getattr(self, name)
            if isinstance(value, list | tuple):
                if not value:
                    raise ValueError(f"{name} is an empty list; give at least one value")
                object.__setattr__(self, name, tuple(dict.fromkeys(value)))
        for shots in self.shot_points:
            if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
                raise ValueError(f"shots must be whole numbers of at least 1, got {shots!r}")
        for noise in self.noise_points:
            if not 0.0 <= noise < 1.0:
                raise ValueError(f"noise must be a fraction from 0 up to (not including) 1, got {noise!r}")

    @property
    def shot_points(self) -> tuple[int, ...]:
        return self.shots if isinstance(self.shots, tuple) else (self.shots,)

    @property
    def noise_points(self) -> tuple[float, ...]:
        return self.noise if isinstance(self.noise, tuple) else (self.noise,)

    @property
    def points(self) -> tuple[SweepPoint, ...]:
        """The sweep: every (shots, noise) pair, shots major; one point for scalar shots and noise."""
        return sweep_points(self.shot_points, self.noise_points)

    def settings(self) -> list[Setting]:
        out: list[Setting] = []
        for spec in self.probes:
            for setting in parse_spec(spec):
                if setting not in out:
                    out.append(setting)
        return out

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["models"] = [m.as_dict() for m in self.models]
        data["probes"] = list(self.probes)
        data["modes"] = list(self.modes)
        data["framing"] = self.framing.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> RunPlan:
        values = dict(data)
        values["models"] = tuple(ModelSpec(**m) for m in values["models"])  # type: ignore[arg-type, union-attr]
        values["probes"] = tuple(values["probes"])  # type: ignore[arg-type]
        values["modes"] = tuple(values["modes"])  # type: ignore[arg-type]
        values.setdefault("framing", OPTIONAL_DEFAULTS["framing"])  # stored before framings: blind
        for name in ("shots", "noise"):
            if isinstance(values.get(name), list):
                values[name] = tuple(values[name])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    def identity_hash(self) -> str:
        """What decides the items; concurrency and the failure budget may change on resume."""
        data = self.to_dict()
        data["models"] = [m.identity() for m in self.models]  # replicas and limits may change too
        data.pop("concurrency")
        data.pop("max_failures")
        for name, default in OPTIONAL_DEFAULTS.items():
            # Fields added after runs were stored: at their default they leave old hashes unchanged.
            if data.get(name) == default:
                data.pop(name)
        if not any(MODES[mode].shows_examples for mode in self.modes):
            data.pop("framing", None)  # it words only the modes that show examples
        if not any(MODES[mode].interactive for mode in self.modes):
            data.pop("queries", None)  # the budget matters only to the oracle mode
            data.pop("submissions", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def quick_plan() -> RunPlan:
    """The default study: the embedded model, each family's familiar world and one counterfactual one."""
    probes = []
    for name in ("arithmetic", "syntax", "cipher"):
        settings = get_family(name).standard_settings()
        default = next(s for s in settings if s.default_world)
        counterfactual = next(s for s in settings if not s.default_world)
        probes += [default.spec, counterfactual.spec]
    return RunPlan(
        models=(ModelSpec(DEFAULT_MODEL),),
        probes=tuple(probes),
        modes=QUICK_MODES,
        shots=8,
        n=4,
        instances=1,
        max_tokens=384,
    )


@dataclass(frozen=True)
class WorkUnit:
    """One model call. Direct modes: one held-out case; code modes: all of them, run by the executor."""

    model: ModelSpec
    setting: Setting
    mode: str
    instance: int
    examples: tuple[Case, ...]
    cases: tuple[tuple[int, Case], ...]  # (case_index, case) scored from this call
    messages: list[dict[str, str]] = field(hash=False)
    shots: int | None = None  # the sweep point of the examples shown; None: no examples
    noise: float | None = None
    consistent_worlds: int | None = None  # candidate worlds that fit every shown example

    def item_keys(self) -> list[tuple[str, str, str, str, int, int]]:
        return [
            (self.model.label, self.setting.family, self.setting.label, self.mode, self.instance, i)
            for i, _ in self.cases
        ]


def setting_cases(plan: RunPlan, setting: Setting) -> tuple[list[Case], list[list[Case]]]:
    """Held-out cases (shared by every mode) and one disjoint example set per instance.

    With a cases file the held-out cases are its first n lines, as written (duplicates included);
    the examples are still drawn from the family's generator, leaving out the held-out inputs.
    """
    family = get_family(setting.family)
    shots = max(plan.shot_points)
    examples_needed = shots * plan.instances
    if plan.cases_file is None:
        pool = family.cases(setting, plan.n + examples_needed, plan.seed)
        held_out, pool = pool[: plan.n], pool[plan.n :]
    else:
        family_solve = get_family(setting.family).solve
        held_out = _file_cases(_cases_path(plan.cases_file, setting), setting, plan.n, family_solve)
        taken = {case.input for case in held_out}
        fresh = (case for case in family.iter_cases(setting, plan.seed) if case.input not in taken)
        pool = list(itertools.islice(fresh, examples_needed))
        if len(pool) < examples_needed:
            raise RunError(
                f"{setting.spec} has only {len(pool)} cases beside the cases file's; "
                f"{shots} shots x {plan.instances} instances need {examples_needed}"
            )
    example_sets = [pool[i * shots : (i + 1) * shots] for i in range(plan.instances)]
    return held_out, example_sets


def shown_sets(plan: RunPlan, setting: Setting) -> tuple[list[Case], list[ExampleSet]]:
    """The held-out cases and the example set of every instance at every point of the sweep."""
    family = get_family(setting.family)
    held_out, pools = setting_cases(plan, setting)
    if not plan.identifiable:
        return held_out, example_sets(family, setting, pools, plan.points, plan.seed)
    taken = {case.input for case in held_out}

    def stream() -> Iterator[Case]:
        return (case for case in family.iter_cases(setting, plan.seed) if case.input not in taken)

    try:
        return held_out, identifiable_sets(family, setting, stream, plan.points, plan.instances, plan.seed)
    except SweepError as exc:
        raise RunError(str(exc)) from None


@dataclass(frozen=True)
class CasesSource:
    """Where a setting's inputs are read: one input a line, or one column of a CSV file with a header."""

    path: Path
    column: str | None = None  # `file.csv#column`

    def __str__(self) -> str:
        return f"{self.path}#{self.column}" if self.column else str(self.path)


def _cases_path(template: str, setting: Setting) -> CasesSource:
    try:
        filled = template.format(**setting.as_dict())
    except (KeyError, IndexError, ValueError) as exc:
        names = ", ".join("{" + name + "}" for name, _ in setting.params)
        raise ValueError(
            f"cannot fill the cases file {template!r} for {setting.spec} ({type(exc).__name__}: {exc}); "
            f"its placeholders can be {names}. The file serves every chosen setting: leave out the "
            "settings it does not fit, or run them separately"
        ) from None
    path, hash_sign, column = filled.rpartition("#") if "#" in filled else (filled, "", "")
    if hash_sign and not column.strip():
        raise ValueError(f"the cases file {template!r} ends in '#' without a column: write file.csv#COLUMN")
    return CasesSource(Path(path).expanduser(), column.strip() or None)


def check_cases(plan: RunPlan, setting: Setting) -> list[Case]:
    """The comprehension check's cases: generated, or the first `plan.checks` lines of the check file."""
    family = get_family(setting.family)
    check = family.comprehension
    if check is None:
        raise RunError(f"{setting.spec} has no comprehension check")
    if plan.check_file is None:
        return family.check_cases(setting, plan.checks, plan.seed)
    size = "n" if plan.check_n is None else "check_n"
    return _file_cases(_cases_path(plan.check_file, setting), setting, plan.checks, check.solve, size)


def _read_inputs(source: CasesSource, setting: Setting) -> list[str]:
    """The file's inputs: its lines, or its column's cells (one row a case, after the header)."""
    try:
        text = source.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"cannot read the cases file {source} for {setting.spec}: {exc}") from None
    if source.column is None:
        return text.splitlines()
    reader = csv.DictReader(io.StringIO(text))
    if source.column not in (reader.fieldnames or ()):
        raise RunError(
            f"the cases file {source.path} has no column {source.column!r}; "
            f"its header names {', '.join(reader.fieldnames or ()) or 'nothing'}"
        )
    return [row[source.column] or "" for row in reader]


def _file_cases(
    source: CasesSource, setting: Setting, n: int, solve: Callable[[Setting, str], str], size: str = "n"
) -> list[Case]:
    lines = _read_inputs(source, setting)
    what = "row(s)" if source.column else "line(s)"
    if len(lines) < n:
        raise RunError(f"the cases file {source} has {len(lines)} {what}; {setting.spec} needs {size} = {n}")
    cases = []
    for number, line in enumerate(lines[:n], 1):
        text = line.strip()
        try:
            if not text:
                raise ValueError("the line is empty")
            cases.append(Case(text, solve(setting, text)))
        except (ValueError, KeyError, IndexError) as exc:
            raise RunError(f"{source}:{number}: not a case of {setting.spec}: {text!r} ({exc})") from None
    return cases


def instances_for(plan: RunPlan, mode: str) -> int:
    return MODES[mode].instances(plan.instances * len(plan.points))


def mode_applies(setting: Setting, mode: str) -> bool:
    """Whether the mode applies to the setting's family (the comprehension check needs one)."""
    return MODES[mode].supports(get_family(setting.family))


def work_units(plan: RunPlan) -> Iterator[WorkUnit]:
    for setting in plan.settings():
        held_out, swept = shown_sets(plan, setting)
        modes = _modes_of(plan, setting)
        checked = any(MODES[mode].draws is Draws.CHECKS for mode in modes)
        checks = tuple(enumerate(check_cases(plan, setting))) if checked else ()
        for model in plan.models:
            for mode in modes:
                yield from _mode_units(plan, model, setting, mode, held_out, swept, checks)


def _mode_units(
    plan: RunPlan,
    model: ModelSpec,
    setting: Setting,
    mode: str,
    held_out: list[Case],
    swept: list[ExampleSet],
    checks: tuple[tuple[int, Case], ...],
) -> Iterator[WorkUnit]:
    """A mode's units of one setting: one per instance and sweep point (code modes), else one per case."""
    spec = MODES[mode]
    indexed = checks if spec.draws is Draws.CHECKS else tuple(enumerate(held_out))
    for shown in swept if spec.shows_examples else [NO_EXAMPLES]:
        instance, examples = shown.instance, shown.examples
        sweep = {"shots": shown.shots, "noise": shown.noise, "consistent_worlds": shown.consistent_worlds}
        if spec.returns_code:
            messages = build_messages(
                setting, mode, examples, cot=plan.cot, framing=plan.framing, budget=plan.budget
            )
            yield WorkUnit(model, setting, mode, instance, examples, indexed, messages, **sweep)
            continue
        for index, case in indexed:
            messages = build_messages(setting, mode, examples, case.input, cot=plan.cot, framing=plan.framing)
            yield WorkUnit(model, setting, mode, instance, examples, ((index, case),), messages, **sweep)


def _modes_of(plan: RunPlan, setting: Setting) -> list[str]:
    return [mode for mode in plan.modes if mode_applies(setting, mode)]


def cases_for(plan: RunPlan, mode: str) -> int:
    """Items per instance: the comprehension check has its own count."""
    return plan.checks if MODES[mode].draws is Draws.CHECKS else plan.n


def total_items(plan: RunPlan) -> int:
    per_model = sum(
        instances_for(plan, mode) * cases_for(plan, mode)
        for setting in plan.settings()
        for mode in _modes_of(plan, setting)
    )
    return per_model * len(plan.models)


def estimated_calls(plan: RunPlan) -> int:
    """Calls if every refinement round is needed; cached replies are counted too."""
    calls = 0
    for setting in plan.settings():
        for mode in _modes_of(plan, setting):
            per_instance = plan.samples + plan.rounds if MODES[mode].returns_code else cases_for(plan, mode)
            if MODES[mode].interactive:
                per_instance = plan.budget.max_turns
            calls += (per_instance + int(MODES[mode].verbal)) * instances_for(plan, mode)
    return calls * len(plan.models)
