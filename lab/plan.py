"""A run is a plan: models x probe settings x modes, expanded into model calls (work units)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from lab.modes import MODES, parse_modes
from lab.prompts import build_messages
from probes import Case, Setting, get_family, parse_spec

DEFAULT_MODEL = "local/qwen2.5-coder-1.5b"


class RunError(Exception):
    """A run that cannot start or go on; the message says why and what to do."""


QUICK_MODES = ("deductive", "solverlearner")


@dataclass(frozen=True)
class ModelSpec:
    """What to call. `key_env` names the environment variable holding the key for an `api_base`."""

    name: str
    api_base: str | None = None
    key_env: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a model needs a name, e.g. openai/gpt-4o-mini")
        if self.api_base:
            parts = urlsplit(self.api_base)
            if parts.username or parts.password or "key=" in parts.query.lower():
                # The spec is stored with the run; a secret must come from the environment instead.
                raise ValueError(
                    "the api_base URL must not carry credentials: put the key in an environment "
                    "variable and name it (--api-key-env on the command line, the key field in the app)"
                )

    @property
    def label(self) -> str:
        return self.name if not self.api_base else f"{self.name} @ {self.api_base}"

    def as_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "api_base": self.api_base, "key_env": self.key_env}


@dataclass(frozen=True)
class RunPlan:
    models: tuple[ModelSpec, ...]
    probes: tuple[str, ...]
    modes: tuple[str, ...]
    shots: int = 8
    n: int = 20
    instances: int = 3
    seed: int = 0
    temperature: float = 0.0
    max_tokens: int = 1024
    cot: bool = False
    concurrency: int = 8
    max_failures: int = 20

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("a plan needs at least one model")
        if not self.probes:
            raise ValueError("a plan needs at least one probe")
        object.__setattr__(self, "modes", tuple(parse_modes(list(self.modes))))
        for name, value, low in (
            ("shots", self.shots, 1),
            ("n", self.n, 1),
            ("instances", self.instances, 1),
            ("max_tokens", self.max_tokens, 1),
            ("concurrency", self.concurrency, 1),
        ):
            if value < low:
                raise ValueError(f"{name} must be at least {low}, got {value}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be between 0 and 2, got {self.temperature}")
        self.settings()  # validates every probe spec now, with the probe's own message

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
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> RunPlan:
        values = dict(data)
        values["models"] = tuple(ModelSpec(**m) for m in values["models"])  # type: ignore[arg-type, union-attr]
        values["probes"] = tuple(values["probes"])  # type: ignore[arg-type]
        values["modes"] = tuple(values["modes"])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    def identity_hash(self) -> str:
        """What decides the items; concurrency and the failure budget may change on resume."""
        data = self.to_dict()
        data.pop("concurrency")
        data.pop("max_failures")
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

    def item_keys(self) -> list[tuple[str, str, str, str, int, int]]:
        return [
            (self.model.label, self.setting.family, self.setting.label, self.mode, self.instance, i)
            for i, _ in self.cases
        ]


def setting_cases(plan: RunPlan, setting: Setting) -> tuple[list[Case], list[list[Case]]]:
    """Held-out cases (shared by every mode) and one disjoint example set per instance."""
    family = get_family(setting.family)
    pool = family.cases(setting, plan.n + plan.shots * plan.instances, plan.seed)
    held_out = pool[: plan.n]
    example_sets = [
        pool[plan.n + i * plan.shots : plan.n + (i + 1) * plan.shots] for i in range(plan.instances)
    ]
    return held_out, example_sets


def instances_for(plan: RunPlan, mode: str) -> int:
    # Without examples every instance would get the identical prompt, so one is run.
    return plan.instances if MODES[mode].shows_examples else 1


def work_units(plan: RunPlan) -> Iterator[WorkUnit]:
    for setting in plan.settings():
        held_out, example_sets = setting_cases(plan, setting)
        indexed = tuple(enumerate(held_out))
        for model in plan.models:
            for mode in plan.modes:
                spec = MODES[mode]
                for instance in range(instances_for(plan, mode)):
                    examples = tuple(example_sets[instance]) if spec.shows_examples else ()
                    if spec.returns_code:
                        yield WorkUnit(
                            model,
                            setting,
                            mode,
                            instance,
                            examples,
                            indexed,
                            build_messages(setting, mode, examples, cot=plan.cot),
                        )
                        continue
                    for index, case in indexed:
                        yield WorkUnit(
                            model,
                            setting,
                            mode,
                            instance,
                            examples,
                            ((index, case),),
                            build_messages(setting, mode, examples, case.input, cot=plan.cot),
                        )


def total_items(plan: RunPlan) -> int:
    per_setting = sum(instances_for(plan, mode) for mode in plan.modes) * plan.n
    return per_setting * len(plan.settings()) * len(plan.models)


def estimated_calls(plan: RunPlan) -> int:
    calls = 0
    for mode in plan.modes:
        per_instance = 1 if MODES[mode].returns_code else plan.n
        calls += per_instance * instances_for(plan, mode)
    return calls * len(plan.settings()) * len(plan.models)
