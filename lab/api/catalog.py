"""Probes, models, modes and presets as a user reads them: the registry, cases and prompts, where a
model is called and where its key comes from, what each mode means, published set-ups."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lab import custom
from lab.models import DEFAULT_MODEL, ModelSpec, provider_for
from lab.models import model_spec as _model_spec
from lab.presets import load_preset
from lab.run.plan import (
    RunError,
    RunPlan,
    WorkUnit,
    instances_for,
    setting_cases,
    work_units,
)
from lab.run.store import RunRecord, Store
from lab.tasks.modes import MODE_ORDER, MODES, Role
from probes import BUILT_IN, REGISTRY, Case, ProbeFamily, Setting, get_family

if TYPE_CHECKING:
    pass


CompiledProbe = custom.CompiledProbe
CustomProbe = custom.CustomProbe
CustomProbeError = custom.CustomProbeError
PythonInputs = custom.PythonInputs
WORLDS = custom.WORLDS  # a custom probe's world: familiar or counterfactual
GENERATOR_KINDS = custom.GENERATOR_KINDS  # how a custom probe's inputs are drawn
MAPPING_TEMPLATE = custom.MAPPING_TEMPLATE
GENERATOR_TEMPLATE = custom.GENERATOR_TEMPLATE


def probe_families(*, built_in_only: bool = False) -> list[ProbeFamily]:
    """Every family in the registry, in registry order; custom probes count once installed."""
    return [f for f in REGISTRY.values() if not built_in_only or f.name in BUILT_IN]


def held_out_cases(setting: Setting, *, n: int, seed: int, cases_file: str | None = None) -> list[Case]:
    """The held-out cases a run of this setting scores: generated, or the first `n` lines of `cases_file`."""
    if not cases_file:
        return get_family(setting.family).cases(setting, n, seed)
    plan = RunPlan(
        models=(ModelSpec(DEFAULT_MODEL),),
        probes=(setting.spec,),
        modes=("deductive",),
        n=n,
        seed=seed,
        cases_file=cases_file,
    )
    return setting_cases(plan, setting)[0]


def prompt_units(plan: RunPlan, *, instance: int, case: int) -> list[WorkUnit]:
    """The work units asking about one held-out case (direct modes) of one instance (its examples).

    A code mode's unit covers every case; an instance past a mode's last one means its last one.
    """
    if not 0 <= case < plan.n:
        raise RunError(f"case {case} is not a held-out case of this plan: choose one from 0 to {plan.n - 1}")
    return [
        unit
        for unit in work_units(plan)
        if unit.instance == min(instance, instances_for(plan, unit.mode) - 1)
        and (MODES[unit.mode].returns_code or unit.cases[0][0] == case)
    ]


def try_probe(fields: Mapping[str, Any]) -> CompiledProbe:
    """Check a custom probe's fields (named as in its JSON file) and draw its inputs in the sandbox."""
    return custom.compile_probe(custom.probe_from_dict({custom.FORMAT_KEY: custom.FORMAT_VERSION, **fields}))


def save_probe(store: Store, compiled: CompiledProbe) -> bool:
    return custom.save(store, compiled)


def saved_probes(store: Store) -> list[CompiledProbe]:
    return custom.saved(store)


def delete_probe(store: Store, name: str) -> None:
    custom.delete(store, name)


def import_probe(store: Store, text: str | bytes) -> CompiledProbe:
    return custom.import_json(store, text)


def export_probe(store: Store, name: str) -> str:
    return custom.export_json(store, name)


def probe_json(probe: CustomProbe) -> str:
    return custom.to_json(probe)


def install_saved_probes(store: Store) -> list[str]:
    """Make the saved custom probes families of the registry; returns the problems with any of them."""
    return custom.install_saved(store)


# A key typed into the app lives in the session's memory; the run's process gets it in a variable so named.
TYPED_KEY_PREFIX = "SOLVERLAB_SESSION_KEY_"


def typed_key_env(number: int) -> str:
    return f"{TYPED_KEY_PREFIX}{number}"


def is_typed_key(key_env: str | None) -> bool:
    """The variable holds a key typed into the app (see `typed_key_env`)."""
    return bool(key_env) and key_env.startswith(TYPED_KEY_PREFIX)


def key_is_unset(model: ModelSpec, environ: Mapping[str, str] = os.environ) -> bool:
    """The model names a variable for its key (not a typed key) that is not set in `environ`."""
    return bool(model.key_env) and not is_typed_key(model.key_env) and not environ.get(model.key_env)


def describe_model(
    model: ModelSpec, *, typed_keys: Collection[str], environ: Mapping[str, str] = os.environ
) -> str:
    """Where the model is called and where its key comes from, in one line of Markdown.

    `typed_keys` are the variables of the keys typed in this session.
    """
    key_env = model.key_env
    if not is_typed_key(key_env):
        return provider_for(model).describe(environ)
    where = f"at `{model.api_base}`" if model.api_base else "through the provider's own endpoint"
    if key_env in typed_keys:
        return f"{where}; key typed for this session (memory only)"
    return f"{where}; key typed in an earlier session: type it again"


def model_spec(name: str, *, api_base: str | None = None, key_env: str | None = None) -> ModelSpec:
    """A model to call; a backend that calls no server (replay, embedded) keeps no api_base or key."""
    return _model_spec(name, api_base, key_env)


def model_label(name: str) -> str:
    """A short name for a model: recordings by the model they recorded, any other model as it is."""
    return provider_for(ModelSpec(name)).label()


@dataclass(frozen=True)
class ModeLegend:
    name: str
    label: str  # as chart legends show it, e.g. `io_rule (rule + examples)`
    kind: str  # inductive, deductive, or beside deductive (the comprehension check)
    colour: str  # the mode's colour in every chart
    description: str


LEGEND_KINDS = {Role.INDUCTIVE: "inductive", Role.DEDUCTIVE: "deductive", Role.CHECK: "beside deductive"}


def mode_label(mode: str) -> str:
    from lab.results import charts

    return charts.mode_label(mode)


def mode_legend() -> list[ModeLegend]:
    from lab.results import charts

    legend = []
    for name in MODE_ORDER:
        mode = MODES[name]
        kind = {Role.INDUCTIVE: "inductive", Role.DEDUCTIVE: "deductive", Role.CHECK: "beside deductive"}[
            mode.role
        ]
        legend.append(
            ModeLegend(
                name=name,
                label=charts.mode_label(name),
                kind=kind,
                colour=charts.MODE_COLOURS[name],
                description=mode.description,
            )
        )
    return legend


@dataclass(frozen=True)
class PresetPlan:
    label: str  # the preset run's label, e.g. "zero-shot CoT"
    plan: RunPlan


def preset_plans(
    name: str,
    *,
    models: Sequence[ModelSpec] = (),
    seed: int = 0,
    max_tokens: int = 1024,
    concurrency: int = 8,
    max_failures: int = 20,
) -> list[PresetPlan]:
    """The preset's runs as plans. A run that names its models (recordings) keeps them; the others run
    on `models`, else the default model. Raises PresetError when the preset needs data not found here."""
    preset = load_preset(name).resolved()
    fallback = tuple(models) or (ModelSpec(DEFAULT_MODEL),)
    return [
        PresetPlan(
            label=run.label,
            plan=RunPlan(
                models=tuple(model_spec(model) for model in run.models) or fallback,
                probes=run.probes,
                modes=run.modes,
                shots=run.shots,
                n=run.n,
                instances=run.instances,
                seed=seed,
                max_tokens=max_tokens,
                cot=run.cot,
                concurrency=concurrency,
                max_failures=max_failures,
                framing=run.framing,
                cases_file=run.cases_file,
                check_file=run.check_file,
            ),
        )
        for run in preset.runs
    ]


def run_succeeded(record: RunRecord) -> bool:
    """Finished with every item answered: a finished run keeps a reason only when most of its items
    have no reply (`not_recorded`), and then it is no result."""
    return record.status == "finished" and not record.reason


def terminal_text(text: object) -> str:
    """Text safe to print in a terminal: control and format characters (which a solver's error or a
    custom probe's description may hold) written as visible escapes."""
    from executor import escape_controls

    return escape_controls(str(text))
