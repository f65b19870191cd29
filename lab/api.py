"""The lab's one door for the command line and the app: plans, runs, results, exports, probes, models.

`lab.cli` and the app's `ui/` package import this module and nothing else of the project, so a change
inside `lab/run`, `lab/results` or `lab/models` is absorbed here. Modules that load pandas, plotly or
litellm are imported inside the functions that need them: `python -m lab cases` and `prompt` start
without them. `ItemDetail`, `Progress`, `CompareBy` and `PairedResult` are named here for annotations
only. Names imported `X as X` are re-exported as they are.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab import custom
from lab.models import DEFAULT_MODEL, ModelSpec, provider_for
from lab.models import model_spec as _model_spec
from lab.models.replay import RecordedModel as RecordedModel
from lab.models.replay import recorded_models as recorded_models
from lab.presets import Preset as Preset
from lab.presets import PresetError as PresetError
from lab.presets import list_presets as list_presets
from lab.presets import load_preset
from lab.run.plan import MAX_ROUNDS as MAX_ROUNDS
from lab.run.plan import MAX_SAMPLES as MAX_SAMPLES
from lab.run.plan import QUICK_MODES as QUICK_MODES
from lab.run.plan import (
    RunError,
    RunPlan,
    WorkUnit,
    instances_for,
    setting_cases,
    work_units,
)
from lab.run.plan import default_temperature as default_temperature
from lab.run.plan import estimated_calls as estimated_calls
from lab.run.plan import quick_plan as quick_plan
from lab.run.plan import total_items as total_items
from lab.run.store import RunRecord, Store
from lab.run.store import default_db_path as default_db_path
from lab.tasks.modes import MODE_ORDER, MODES, Role
from lab.tasks.modes import Framing as Framing
from lab.tasks.modes import ModeError as ModeError
from probes import BUILT_IN, REGISTRY, Case, ProbeFamily, Setting, get_family
from probes import ProbeError as ProbeError
from probes import parse_spec as parse_spec

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from lab.results.compare import CompareBy, PairedResult
    from lab.results.detail import ItemDetail
    from lab.run.runner import Progress


# ---------------------------------------------------------------------------------------------
# Probes: the registry (built-in families and installed custom probes), cases and prompts

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


# ---------------------------------------------------------------------------------------------
# Models: what a model spec means for a user (where it is called, where its key comes from)

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


# ---------------------------------------------------------------------------------------------
# Modes as a user reads them


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


# ---------------------------------------------------------------------------------------------
# Presets: a published set-up as data, one plan per run of the preset


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


# ---------------------------------------------------------------------------------------------
# Runs: create, execute (here or in a process of their own), follow, stop, delete


def get_run(store: Store, run_id: str) -> RunRecord:
    from lab.run import study

    return study.get_run(store, run_id)


def effective_status(record: RunRecord) -> str:
    """The stored status, except `interrupted` for a `running` run whose process is gone."""
    from lab.run import study

    return study.effective_status(record)


def runs_frame(store: Store) -> pd.DataFrame:
    """One row per run: status, items scored/planned, accuracy, calls, tokens, cost, models, modes."""
    from lab.run import study

    return study.runs_frame(store)


def run_progress(store: Store, run_id: str) -> Progress:
    from lab.run import study

    return study.run_progress(store, run_id)


def check_models(plan: RunPlan) -> None:
    """One cheap call to each of the plan's models; RunError naming the first that cannot answer.

    Called before `prepare_run`, so a command refused for its model stores no run.
    """
    from lab.models.calls import ModelUnavailableError, check_model

    for model in plan.models:
        try:
            check_model(model)
        except ModelUnavailableError as exc:
            raise RunError(str(exc)) from None


def prepare_run(store: Store, plan: RunPlan, run_id: str | None = None) -> str:
    """Create the run, or accept an existing one with the same plan (which is then resumed)."""
    from lab.run import study

    return study.prepare_run(store, plan, run_id)


def execute_run(
    store: Store,
    run_id: str,
    *,
    progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    max_cost: float | None = None,
) -> RunRecord:
    """Score the run's items that are left, in this process; `max_cost` (USD) caps the run's cost."""
    from lab.run import study

    return study.execute_run(store, run_id, progress=progress, stop=stop, max_cost=max_cost)


def cost_estimate(plan: RunPlan) -> str:
    """Calls, tokens and cost per model before a run, as a table for a terminal."""
    from lab.run import cost

    return cost.format_estimate(cost.estimate(plan))


def start_background_run(store: Store, run_id: str, env: Mapping[str, str] | None = None) -> int:
    """Start or resume the run in its own process (`env`: variables for it only); returns its pid."""
    from lab.run import study

    return study.start_background_run(store, run_id, env=env)


def stop_run(store: Store, run_id: str) -> None:
    from lab.run import study

    study.stop_run(store, run_id)


def delete_run(store: Store, run_id: str) -> None:
    from lab.run import study

    study.delete_run(store, run_id)


# ---------------------------------------------------------------------------------------------
# Results: frames, tables, figures, downloads


@dataclass(frozen=True)
class ResultTables:
    """The Results page's tables for a run selection."""

    summary: pd.DataFrame  # accuracy per model, setting and mode, with its interval
    gaps: pd.DataFrame  # inductive minus deductive
    drops: pd.DataFrame  # counterfactual drop (empty when it cannot be computed)
    drop_problem: str | None  # why there is no drop, e.g. two default worlds in one family
    sampled: pd.DataFrame  # first sample, best fit and pass@k (code modes)
    refined: pd.DataFrame  # accuracy by refinement round (code modes)


def change_marker(store: Store, run_ids: Sequence[str]) -> tuple[int, ...]:
    """Cheap to read, different whenever the runs' items change."""
    from lab.results import browse

    return browse.change_marker(store, run_ids)


def browse_items(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """The runs' items with their ids; a model in several runs is named `model [run_id]`."""
    from lab.results import read

    return read.with_model_labels(read.items_frame(store, run_ids, links=True))


def functions_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """Every function of the code modes (all samples and rounds), models labelled as in `browse_items`."""
    from lab.results import read

    return read.with_model_labels(read.functions_frame(store, run_ids))


UNRECORDED_CELL_NOTE = "cells made mostly of them are left out of the charts and tables"


def unrecorded_cells(items: pd.DataFrame) -> pd.Series:
    """Per item, whether its cell (model, setting, mode) is mostly `not_recorded`: replayed prompts the
    recordings do not hold, whose score says nothing about the recorded model."""
    from lab.models.replay import NOT_RECORDED

    unrecorded = items["error"] == NOT_RECORDED
    cells = unrecorded.groupby([items["model"], items["probe"], items["setting"], items["mode"]])
    return cells.transform("mean") > 0.5


def result_tables(items: pd.DataFrame, functions: pd.DataFrame) -> ResultTables:
    """Raises ValueError for items the statistics refuse (one setting both default and counterfactual).

    Cells made mostly of unrecorded replays are left out (`unrecorded_cells`; `unrecorded_summary` says so).
    """
    from lab.results import sampling, stats

    if not items.empty:
        items = items[~unrecorded_cells(items)]

    try:
        drops, drop_problem = stats.counterfactual_drop(items), None
    except ValueError as exc:  # e.g. two default-world settings of one family
        drops, drop_problem = stats.counterfactual_drop(items.iloc[0:0]), str(exc)
    return ResultTables(
        summary=stats.summary(items),
        gaps=stats.gaps(items),
        drops=drops,
        drop_problem=drop_problem,
        sampled=sampling.sampling(functions),
        refined=sampling.rounds(functions),
    )


def result_figures(tables: ResultTables) -> dict[str, go.Figure]:
    """Every chart of the Results page, by title."""
    from lab.results import charts, curves

    return {
        "Accuracy per setting": charts.accuracy_by_setting(tables.summary),
        "Accuracy against the counterfactual parameter": charts.accuracy_by_parameter(tables.summary),
        "Accuracy heatmap": charts.accuracy_heatmap(tables.summary),
        "Inductive minus deductive": charts.gap_chart(tables.gaps),
        "Counterfactual drop": charts.drop_chart(tables.drops),
        "Deductive vs comprehension check": charts.comprehension_chart(tables.summary),
        "pass@k": curves.pass_at_k_chart(tables.sampled),
        "Accuracy by refinement round": curves.rounds_chart(tables.refined),
    }


def chart_config(file_name: str) -> dict[str, object]:
    """Plotly's toolbar config: its camera button saves the chart as `file_name`.png."""
    from lab.results import charts

    return charts.chart_config(file_name)


def charts_html(figures: Mapping[str, go.Figure], title: str) -> str:
    """One self-contained HTML page holding the figures; it opens offline."""
    from lab.results import charts

    return charts.figures_html(figures, title)


def unrecorded_summary(items: pd.DataFrame) -> str | None:
    """Which replayed prompts had no recording (scored wrong), per mode; None when there are none."""
    from lab.results import browse

    summary = browse.unrecorded_summary(items)
    if summary is None or not unrecorded_cells(items).any():
        return summary
    return f"{summary}; {UNRECORDED_CELL_NOTE}"


def summary_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    from lab.results import read

    return read.summary_frame(store, run_ids)


def format_summary(summary: pd.DataFrame) -> str:
    """The summary as a plain-text table for a terminal."""
    from lab.results import export

    return export.summary_text(summary)


def items_csv(store: Store, run_ids: Sequence[str]) -> bytes:
    """The items CSV: one row per item with its call's messages and reply, replayable."""
    from lab.results import export, read

    return export.items_csv(read.export_frame(store, run_ids))


def summary_csv(summary: pd.DataFrame) -> bytes:
    from lab.results import export

    return export.summary_csv(summary)


def export_items(store: Store, run_ids: Sequence[str], path: str | Path) -> None:
    from lab.results import read

    read.export_items(store, run_ids, path)


def export_summary(store: Store, run_ids: Sequence[str], path: str | Path) -> None:
    from lab.results import read

    read.export_summary(store, run_ids, path)


# ---------------------------------------------------------------------------------------------
# Items: narrowing a selection down to one item and everything behind it


def setting_choices(items: pd.DataFrame) -> list[str]:
    """The `probe:setting` specs present, sorted."""
    from lab.results import browse

    return sorted(browse.setting_specs(items).unique())


def error_categories(items: pd.DataFrame) -> list[str]:
    """The error categories present (`unparsed`, `no_code`, ...), `no error` first when some have none."""
    from lab.results import browse

    return browse.error_categories(items)


def outcome_choices() -> tuple[str, ...]:
    """What `filter_items` takes as `outcome`: all, correct, wrong."""
    from lab.results import browse

    return browse.OUTCOMES


def filter_items(
    items: pd.DataFrame,
    *,
    models: Collection[str] = (),
    probes: Collection[str] = (),
    settings: Collection[str] = (),
    modes: Collection[str] = (),
    outcome: str = "all",
    errors: Collection[str] = (),
) -> pd.DataFrame:
    """Rows matching every filter given (an empty collection filters nothing)."""
    from lab.results import browse

    return browse.filter_items(
        items, models=models, probes=probes, settings=settings, modes=modes, outcome=outcome, errors=errors
    )


def page_count(rows: int, size: int) -> int:
    from lab.results import browse

    return browse.page_count(rows, size)


def page(items: pd.DataFrame, number: int, size: int) -> pd.DataFrame:
    """Rows of page `number` (1-based, clamped to the pages there are)."""
    from lab.results import browse

    return browse.page(items, number, size)


def item_detail(store: Store, row: pd.Series) -> ItemDetail:
    """Everything behind one row of `browse_items`: the exact prompt, the raw reply, the function's cases."""
    from lab.results import browse, detail

    return detail.item_detail(store, browse.item_record(row))


def candidate_table(detail: ItemDetail) -> pd.DataFrame:
    """One row per sample and refinement round of the item's unit (code modes)."""
    from lab.results.detail import candidate_table as table

    return table(detail)


# ---------------------------------------------------------------------------------------------
# Comparing two sides item by item, and the self-contained report


def compare_choices(items: pd.DataFrame, kind: str) -> list[str]:
    """The values side A or B can take for `kind` (run ids, models or modes present in `items`)."""
    from lab.results import compare

    return compare.side_choices(items, _compare_by(kind))


def compare_items(items: pd.DataFrame, *, kind: str, a: str, b: str) -> PairedResult:
    """Side A against side B matched case by case; raises ValueError naming a bad kind or side."""
    from lab.results import compare

    return compare.compare(items, compare.Comparison(_compare_by(kind), a, b))


def _compare_by(kind: str) -> CompareBy:
    from lab.results import compare

    try:
        return compare.CompareBy[kind.upper()]
    except KeyError:
        kinds = ", ".join(by.name.lower() for by in compare.CompareBy)
        raise ValueError(f"cannot compare {kind!r}: choose one of {kinds}") from None


def pair_label(row: pd.Series) -> str:
    """One row of `compare_items(...).pairs` in a line: outcome, setting, mode, instance, case, input."""
    from lab.results import compare

    return compare.pair_label(row)


def pair_id(row: pd.Series, kind: str) -> str:
    """One pair's key as text, the same after a reload (for a link)."""
    from lab.results import compare

    return compare.pair_id(row, _compare_by(kind))


def report_html(store: Store, run_ids: Sequence[str], *, title: str | None = None) -> str:
    """One self-contained HTML page: summary matrix, charts and every item with its reply and code."""
    from lab.results import report

    items = browse_items(store, run_ids)
    tables = result_tables(items, functions_frame(store, run_ids))
    replies = {
        call_id: reply for call_id, (_, reply) in store.call_texts(run_ids).items() if reply is not None
    }
    functions = (store.function(int(i)) for i in items["function_id"].dropna().unique())
    codes = {f["id"]: f["code"] for f in functions if f and f["code"]}
    return report.report_html(
        report.ReportInput(
            title=title or f"SolverLab report: {', '.join(run_ids)}",
            summary=tables.summary,
            figures=result_figures(tables),
            items=items,
            replies=replies,
            codes=codes,
        )
    )
