"""The tables of settled runs computed from their items and functions once, and kept in the store.

A run that no longer runs (finished, stopped, failed, incomplete) gets no new items or functions, and every
row of the summary, the gaps, the counterfactual drops, pass@k (`sampled`) and the refinement rounds
(`refined`) belongs to one run (each key holds the run's `model_label`, distinct across runs). So those
tables of a selection are its runs' rows put together and sorted, with what spans runs done again on the
whole: Holm's adjustment over every gap (`p_holm`), the check that no setting is both default world and
counterfactual, the drop problem (one family with two default worlds leaves every drop out) and the last
refinement round (every group's curve runs to the last round of the selection, `sampling.rounds`).

Kept per run: its rows of those tables, `model_label` replaced by `run_id` (a renamed run is labelled
anew on reading), as Arrow IPC stream bytes (the runs' rows are joined as Arrow tables and turned into
pandas once per table: a few milliseconds for 16 runs, where a frame per run and table took 0.2 s), valid
under
- `statistics_version()`: a digest of the source of the modules that compute the tables and of the
  numeric libraries' versions (a change to either makes them be computed anew), and
- the run's marker (`RunMark`): its status, finish time and item and function counts; a running or pending
  run has none and is never kept.

Who computes them: the first read of a selection holding runs without valid kept tables computes the
tables of those runs together, as before (one draw of the seeded bootstrap weights per shape), and keeps
each settled run's rows when its marker did not change meanwhile. Usually that read is the summary a run
prints when it ends (`api.summary_frame` in `python -m lab run`, which the app's background runs are; lab.run
may not import lab.results), else the first Results visit (`api.result_set`), e.g. after a change to the
statistics code. Nothing is kept when the computed runs have a drop problem. A selection with unrecorded
replays (whose cells are filtered across runs) is not read from here at all (`RunMark.unrecorded`).
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy
import statsmodels

from lab.models.replay import NOT_RECORDED
from lab.results import bootstrap, intervals, read, sampling, stats
from lab.results.browse import reading
from lab.run.records import RunStatus
from lab.run.store import KeptStatistics, Store
from lab.tasks import modes

SUMMARY, GAPS, DROPS, SAMPLED, REFINED = "summary", "gaps", "drops", "sampled", "refined"
TABLES = (SUMMARY, GAPS, DROPS, SAMPLED, REFINED)
_STATS_COLUMNS: dict[str, tuple[str, ...]] = {
    SUMMARY: stats.SUMMARY_COLUMNS,
    GAPS: stats.GAP_COLUMNS,
    DROPS: stats.DROP_COLUMNS,
}
_STATS_ORDERS: dict[str, tuple[str, ...]] = {
    SUMMARY: stats.SUMMARY_ORDER,
    GAPS: stats.GAP_ORDER,
    DROPS: stats.DROP_ORDER,
}
# `sampling` orders its rows by group (then round), in plain order, as its group-bys do.
_SAMPLING_ORDERS: dict[str, list[str]] = {SAMPLED: list(sampling.GROUP), REFINED: [*sampling.GROUP, "round"]}
# Statuses after which a run's items no longer change (a resumed run is `running` again, finish time reset).
SETTLED = frozenset({RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.FAILED, RunStatus.INCOMPLETE})
RUN_ID = "run_id"
Parts = dict[str, pa.Table]  # one run's rows of each table, `run_id` in place of `model_label`


@dataclass(frozen=True)
class RunMark:
    """What says whether a run's kept tables still hold, and whether the run has unrecorded replays."""

    marker: str | None  # a settled run's status, finish time, items and functions; None while it may change
    unrecorded: int  # items scored `not_recorded`


@dataclass(frozen=True)
class CoreTables:
    """The tables of a selection computed from its items (`stats`) and functions (`sampling`), and why
    there are no drops."""

    summary: pd.DataFrame
    gaps: pd.DataFrame
    drops: pd.DataFrame
    sampled: pd.DataFrame
    refined: pd.DataFrame
    drop_problem: str | None  # e.g. two default worlds in one family: then `drops` is empty


def core_tables(items: pd.DataFrame, functions: pd.DataFrame) -> CoreTables:
    """The tables of an item frame and a function frame. Raises ValueError for items the statistics refuse."""
    summary = stats.summary(items)
    try:
        drops, drop_problem = stats.counterfactual_drop(items), None
    except ValueError as exc:  # e.g. two default-world settings of one family
        drops, drop_problem = stats.counterfactual_drop(items.iloc[0:0]), str(exc)
    return CoreTables(
        summary=summary,
        gaps=stats.gaps(items),
        drops=drops,
        sampled=sampling.sampling(functions),
        refined=sampling.rounds(functions),
        drop_problem=drop_problem,
    )


@functools.cache
def statistics_version() -> str:
    """A digest of what the kept tables depend on besides the items: the code that computes them and the
    numeric libraries' versions."""
    digest = hashlib.sha256()
    for module in (stats, sampling, bootstrap, intervals, read, modes, sys.modules[__name__]):
        digest.update(Path(str(module.__file__)).read_bytes())
    for library in (np, pd, pa, scipy, statsmodels):
        digest.update(f"{library.__name__}={library.__version__};".encode())
    return digest.hexdigest()[:20]


def run_marks(store: Store, run_ids: Sequence[str]) -> dict[str, RunMark]:
    """Each run's `RunMark`, in two queries; a run the store does not list has no marker."""
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    with reading(store) as db:
        counts = {
            run_id: (items, unrecorded)
            for run_id, items, unrecorded in db.execute(
                f"SELECT run_id, COUNT(*), COALESCE(SUM(error = ?), 0) FROM items WHERE run_id IN ({marks}) "
                "GROUP BY run_id",
                [NOT_RECORDED, *ids],
            )
        }
        functions = dict(
            db.execute(
                f"SELECT run_id, COUNT(*) FROM functions WHERE run_id IN ({marks}) GROUP BY run_id", ids
            ).fetchall()
        )
        runs = {
            run_id: (status, finished)
            for run_id, status, finished in db.execute(
                f"SELECT id, status, finished FROM runs WHERE id IN ({marks})", ids
            )
        }
    out = {}
    for run_id in ids:
        items, unrecorded = counts.get(run_id, (0, 0))
        status, finished = runs.get(run_id, (None, None))
        settled = status in SETTLED and finished is not None
        marker = f"{status}|{finished!r}|{items}|{functions.get(run_id, 0)}"
        out[run_id] = RunMark(marker if settled else None, int(unrecorded))
    return out


def selection_tables(store: Store, run_ids: Sequence[str], marks: Mapping[str, RunMark]) -> CoreTables:
    """The tables of the runs (none with unrecorded replays): from the kept tables of the runs that have
    valid ones, computed (and kept, for settled runs) for the others. Raises ValueError for items the
    statistics refuse."""
    ids = sorted(set(run_ids))  # the store's order of items, which the computed tables start from
    version = statistics_version()
    kept = store.kept_statistics(ids, version)
    parts: dict[str, Parts] = {
        run_id: {name: pa.ipc.open_stream(payload).read_all() for name, payload in entry.tables.items()}
        for run_id, entry in kept.items()
        if marks[run_id].marker is not None and entry.marker == marks[run_id].marker
    }
    missing = [run_id for run_id in ids if run_id not in parts]
    drop_problem = None
    if missing:
        computed, drop_problem = _computed(store, missing)
        parts |= computed
        if drop_problem is None:
            _keep(store, computed, marks, version)
    return _assembled(store, [parts[run_id] for run_id in ids], drop_problem)


def _computed(store: Store, run_ids: list[str]) -> tuple[dict[str, Parts], str | None]:
    """The runs' tables computed together from their items and functions, split by run; and the drop
    problem."""
    items = read.with_model_labels(read.stats_items(store, run_ids), store)
    functions = read.with_model_labels(read.functions_frame(store, run_ids), store)
    core = core_tables(items, functions)
    pairs = pd.concat([frame[[stats.MODEL_LABEL, RUN_ID]] for frame in (items, functions)]).drop_duplicates()
    run_of = dict(zip(pairs[stats.MODEL_LABEL], pairs[RUN_ID], strict=True))
    parts: dict[str, Parts] = {run_id: {} for run_id in run_ids}
    for name in TABLES:
        table = getattr(core, name)
        by_run = table.rename(columns={stats.MODEL_LABEL: RUN_ID})
        by_run[RUN_ID] = table[stats.MODEL_LABEL].map(run_of).astype(table[stats.MODEL_LABEL].dtype)
        arrow = pa.Table.from_pandas(by_run, preserve_index=False)  # once, then each run's rows taken
        rows = by_run.groupby(RUN_ID, sort=False).indices if not by_run.empty else {}
        for run_id in run_ids:
            parts[run_id][name] = arrow.take(rows.get(run_id, np.empty(0, dtype=np.intp)))
    return parts, core.drop_problem


def _keep(store: Store, computed: Mapping[str, Parts], marks: Mapping[str, RunMark], version: str) -> None:
    """Keep the tables of the computed runs that are settled and whose marker did not change meanwhile."""
    now = run_marks(store, list(computed))
    kept = [
        KeptStatistics(run_id, version, str(marks[run_id].marker), _encoded(parts))
        for run_id, parts in computed.items()
        if marks[run_id].marker is not None and now[run_id] == marks[run_id]
    ]
    if kept:
        store.keep_statistics(kept)


def _assembled(store: Store, parts: list[Parts], drop_problem: str | None) -> CoreTables:
    """The runs' rows (in the store's order of runs) as the tables of all of them."""
    joined = {}
    for name in TABLES:
        rows = [part[name] for part in parts if part[name].num_rows]
        joined[name] = pa.concat_tables(rows, promote_options="permissive").to_pandas() if rows else None
    if joined[SUMMARY] is not None:  # in the order of the items, as the check on them names the first
        stats.check_worlds(joined[SUMMARY].sort_values([RUN_ID, "model", "probe", "setting"], kind="stable"))
    tables = {name: _labelled(store, table, name) for name, table in joined.items()}
    tables[GAPS]["p_holm"] = intervals.holm(tables[GAPS]["p_value"].tolist())
    if drop_problem:
        tables[DROPS] = _empty(DROPS)
    tables[REFINED] = _to_last_round(tables[REFINED])
    sorted_tables = {
        name: stats.sorted_rows(table, _STATS_ORDERS[name])
        if name in _STATS_ORDERS
        else table.sort_values(_SAMPLING_ORDERS[name], kind="stable").reset_index(drop=True)
        for name, table in tables.items()
    }
    return CoreTables(**sorted_tables, drop_problem=drop_problem)


def _to_last_round(refined: pd.DataFrame) -> pd.DataFrame:
    """Every group's rows up to the last round any unit of the selection reached (`sampling.rounds`: the
    last round with a refined unit): rows past it dropped; a group whose rows stop before it continued by
    its last row, as no unit of it was refined further (the same functions, `refined` 0)."""
    if refined.empty:
        return refined
    last = int(refined.loc[refined["refined"] > 0, "round"].max())
    kept = refined[refined["round"] <= last]
    ends = kept.groupby(list(sampling.GROUP), sort=False).tail(1)
    extra = [ends[ends["round"] < r].assign(round=r, refined=0) for r in range(1, last + 1)]
    return pd.concat([kept, *(frame for frame in extra if not frame.empty)], ignore_index=True)


def _labelled(store: Store, table: pd.DataFrame | None, name: str) -> pd.DataFrame:
    """The joined rows with each run's current `model_label` in place of its id (no rows: the empty table)."""
    if table is None:
        return _empty(name)
    pairs = list(zip(table[RUN_ID], table["model"], strict=True))
    labels = read.labels_of(pairs, store)
    table[RUN_ID] = pd.Series([labels[pair] for pair in pairs], dtype=table[RUN_ID].dtype)
    return table.rename(columns={RUN_ID: stats.MODEL_LABEL})


def _empty(name: str) -> pd.DataFrame:
    """The table `name` of no rows, as its function gives it."""
    if name in _STATS_COLUMNS:
        return stats.empty(_STATS_COLUMNS[name])
    nothing = sampling.function_frame([])
    return sampling.sampling(nothing) if name == SAMPLED else sampling.rounds(nothing)


def _encoded(parts: Parts) -> dict[str, bytes]:
    encoded = {}
    for name, table in parts.items():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        encoded[name] = sink.getvalue().to_pybytes()
    return encoded
