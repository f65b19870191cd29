"""Runs: create, execute (here or in a process of their own), follow, stop, delete."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from lab.run.batch import NO_BATCH, BatchOptions
from lab.run.plan import (
    RunError,
    RunPlan,
)
from lab.run.store import RunRecord, Store

if TYPE_CHECKING:
    import pandas as pd

    from lab.run.runner import Progress


def get_run(store: Store, run_id: str) -> RunRecord:
    from lab.run import study

    return study.get_run(store, run_id)


def effective_status(record: RunRecord) -> str:
    """The stored status, except `interrupted` for a `running` run whose process is gone."""
    from lab.run import study

    return study.effective_status(record)


def runs_frame(store: Store) -> pd.DataFrame:
    """One row per run: status, items scored/planned, accuracy, calls, tokens, cost, models, modes; its
    `name` ("" when unnamed) and `label` (the name, else "models - date - short id"; distinct)."""
    from lab.run import labels, study

    frame = study.runs_frame(store)
    if frame.empty:
        return frame
    records = store.list_runs()  # a run stored since `runs_frame` read them is labelled by its id
    names = {record.id: record.name or "" for record in records}
    run_labels = labels.run_labels([labels.run_facts(record) for record in records])
    frame.insert(1, "label", [run_labels.get(run_id, run_id) for run_id in frame["run_id"]])
    frame.insert(2, "name", [names.get(run_id, "") for run_id in frame["run_id"]])
    return frame


def mode_accuracy(store: Store) -> pd.DataFrame:
    """Accuracy per run (rows, by run id) and mode (columns, in `MODE_ORDER`, only modes some run has);
    NaN where a run has no item of that mode."""
    import pandas as pd

    from lab.tasks.modes import MODE_ORDER

    rows = store.mode_totals()
    table = pd.DataFrame(rows, columns=["run_id", "mode", "items", "correct"])
    table["accuracy"] = table["correct"] / table["items"]
    wide = table.pivot(index="run_id", columns="mode", values="accuracy")
    return wide[[mode for mode in MODE_ORDER if mode in wide.columns]].rename_axis(columns=None)


def rename_run(store: Store, run_id: str, name: str) -> str | None:
    """Name the run (`""` clears the name); returns the name as stored. RunError for an unknown run or
    a name that cannot be one (control characters, longer than 80 characters)."""
    from lab.run import labels

    cleaned = labels.clean_name(name)
    if not store.set_name(run_id, cleaned):
        raise RunError(f"no run {run_id!r} in {store.path}: `python -m lab list` shows the runs")
    return cleaned


def run_progress(store: Store, run_id: str) -> Progress:
    from lab.run import study

    return study.run_progress(store, run_id)


def check_models(plan: RunPlan) -> None:
    """One cheap call to each of the plan's models; RunError naming the first that cannot answer.

    Called before `prepare_run`, so a command refused for its model stores no run.
    """
    from lab.models import ModelUnavailableError, provider_for

    for model in plan.models:
        try:
            provider_for(model).check()
        except ModelUnavailableError as exc:
            raise RunError(str(exc)) from None


def prepare_run(store: Store, plan: RunPlan, run_id: str | None = None, *, name: str | None = None) -> str:
    """Create the run, or accept an existing one with the same plan (which is then resumed); `name`
    names it (as `rename_run`), checked before anything is stored."""
    from lab.run import labels, study

    cleaned = labels.clean_name(name) if name is not None else None
    prepared = study.prepare_run(store, plan, run_id)
    if cleaned is not None:
        store.set_name(prepared, cleaned)
    return prepared


def execute_run(
    store: Store,
    run_id: str,
    *,
    progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    max_cost: float | None = None,
    batch: BatchOptions = NO_BATCH,
) -> RunRecord:
    """Score the run's items that are left, in this process; `max_cost` (USD) caps the run's cost;
    `batch` sends the first calls through the provider's batch API (open batches are waited for anyway)."""
    from lab.run import study

    return study.execute_run(store, run_id, progress=progress, stop=stop, max_cost=max_cost, batch=batch)


def check_cost_cap(plan: RunPlan, max_cost: float | None) -> None:
    """ValueError, before the run is stored, for a cap it could not keep: below 0 USD, or with a model
    whose price litellm does not know."""
    from lab.run.cost import check_cost_cap as check

    check(max_cost, plan.models)


def cost_estimate(plan: RunPlan) -> str:
    """Calls, tokens and cost per model before a run, as a table for a terminal."""
    from lab.run import cost

    return cost.format_estimate(cost.estimate(plan))


def start_background_run(
    store: Store, run_id: str, env: Mapping[str, str] | None = None, *, max_cost: float | None = None
) -> int:
    """Start or resume the run in its own process (`env`: variables for it only; `max_cost`: USD at
    which it stops cleanly, resumable); returns its pid."""
    from lab.run import study

    return study.start_background_run(store, run_id, env=env, max_cost=max_cost)


def cost_rows(plan: RunPlan) -> pd.DataFrame:
    """Per model: calls, prompt tokens, reply tokens at the cap and their cost (None: price unknown)."""
    import pandas as pd

    from lab.run import cost

    return pd.DataFrame([vars(row) for row in cost.estimate(plan)])


def precision_warnings(plan: RunPlan) -> list[str]:
    """One warning per mode whose cells are expected wider than +/-15 points at the chosen sizes."""
    from lab.results import precision

    return precision.precision_warnings(plan)


def stop_run(store: Store, run_id: str) -> None:
    from lab.run import study

    study.stop_run(store, run_id)


def delete_run(store: Store, run_id: str) -> None:
    from lab.run import study

    study.delete_run(store, run_id)
