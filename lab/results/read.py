"""The one read path from the store to frames: items (with or without their links), functions, exports.

`item_frame` types stored rows; `items_frame` reads a selection of runs through it, and every
other reader (the Inspect page, the CSV export, the statistics) starts from `items_frame`.
"""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lab.results import export, sampling, stats
from lab.run import labels
from lab.run.store import ITEM_COLUMNS, Store
from lab.tasks.modes import MODE_ORDER

LINK_COLUMNS: tuple[str, ...] = ("detail", "call_id", "function_id")
MODEL_LABEL = "model_label"
# What the statistics read of an item: no texts but the error category, no links.
STATS_COLUMNS: tuple[str, ...] = (
    "run_id",
    "model",
    "probe",
    "setting",
    "default_world",
    "mode",
    "instance",
    "case_index",
    "correct",
    "error",
)

_TEXT_COLUMNS = ("run_id", "model", "probe", "setting", "mode", "input", "expected")
_OPTIONAL_TEXT_COLUMNS = ("predicted", "error")
_INT_COLUMNS = ("instance", "case_index")
_BOOL_COLUMNS = ("default_world", "correct")
# The sweep point of an item and how many of its family's worlds fit its examples (after ITEM_COLUMNS).
_SWEEP_DTYPES = {"consistent_worlds": "Int64", "shots": "Int64", "noise": "Float64"}


def item_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build the tidy item frame (columns `ITEM_COLUMNS`, in that order) from dict rows.

    Text columns hold `str` (`predicted` and `error` hold `str` or `None`) in object columns;
    `instance` and `case_index` are int64; `correct` and `default_world` are bool. Keys beyond
    `ITEM_COLUMNS` are ignored. A missing key, an unknown mode or an impossible value (e.g.
    `correct="False"` or `correct=2`) raises `ValueError`, a text or number column holding the
    wrong type `TypeError`; both name the row and the column.
    """
    columns: dict[str, list[Any]] = {name: [] for name in ITEM_COLUMNS}
    kept = list(rows)
    for number, row in enumerate(kept):
        missing = [name for name in ITEM_COLUMNS if name not in row]
        if missing:
            raise ValueError(f"item row {number} lacks column(s) {', '.join(missing)}")
        for name in _TEXT_COLUMNS:
            columns[name].append(_text(row[name], name, number))
        for name in _OPTIONAL_TEXT_COLUMNS:
            value = row[name]
            columns[name].append(None if _is_missing(value) else _text(value, name, number))
        for name in _INT_COLUMNS:
            columns[name].append(_whole(row[name], name, number))
        for name in _BOOL_COLUMNS:
            columns[name].append(_flag(row[name], name, number))
        if columns["mode"][-1] not in MODE_ORDER:
            raise ValueError(
                f"item row {number} has unknown mode {columns['mode'][-1]!r}; valid: {', '.join(MODE_ORDER)}"
            )
    data: dict[str, pd.Series] = {}
    for name, dtype in _SWEEP_DTYPES.items():  # NULL in rows stored before sweeps, or with no example shown
        data[name] = pd.Series([None if _is_missing(v := row.get(name)) else v for row in kept], dtype=dtype)
    for name in ITEM_COLUMNS:
        if name in _INT_COLUMNS:
            data[name] = pd.Series(columns[name], dtype="int64")
        elif name in _BOOL_COLUMNS:
            data[name] = pd.Series(columns[name], dtype="bool")
        else:
            data[name] = pd.Series(columns[name], dtype="object")
    return pd.DataFrame(data, columns=[*ITEM_COLUMNS, *_SWEEP_DTYPES])


def items_frame(store: Store, run_ids: Sequence[str], *, links: bool = False) -> pd.DataFrame:
    """The runs' items as `item_frame` gives them; with `links`, also `LINK_COLUMNS` (the item's
    `detail`, and the ids of its call and function, `Int64` with NA where there is none)."""
    rows = store.items(run_ids)
    frame = item_frame(rows)
    if links:
        frame["detail"] = pd.Series([row["detail"] for row in rows], dtype="object")
        for name in ("call_id", "function_id"):
            frame[name] = pd.array([row[name] for row in rows], dtype="Int64")
    return frame


def stats_items(store: Store, run_ids: Sequence[str], *, present: str | None = None) -> pd.DataFrame:
    """The runs' items as the statistics read them: `STATS_COLUMNS` and the sweep columns, typed as in
    `item_frame`, in the store's order. One narrow query on a read-only connection of its own, column by
    column into arrays (no row dicts): about a fifth of the time of `items_frame` at 80,000 items.

    `present`: a sweep column (`shots`, `noise`, `consistent_worlds`); only the items that have a value
    there, in the same order (what `sweeps.consistency` and `sweeps.identifiability` look at)."""
    ids = list(run_ids)
    names = [*STATS_COLUMNS, *_SWEEP_DTYPES]
    if present is not None and present not in _SWEEP_DTYPES:
        raise ValueError(f"present={present!r} is not a sweep column; valid: {', '.join(_SWEEP_DTYPES)}")
    if not ids:
        return pd.DataFrame({name: pd.Series(dtype=_stats_dtype(name)) for name in names})
    marks = ", ".join("?" for _ in ids)
    only = f" AND {present} IS NOT NULL" if present else ""
    sql = (
        f"SELECT {', '.join(names)} FROM items WHERE run_id IN ({marks}){only} "
        "ORDER BY run_id, model, probe, setting, mode, instance, case_index"
    )
    with closing(sqlite3.connect(f"{store.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)) as db:
        rows = db.execute(sql, ids).fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pd.DataFrame(
        {
            name: pd.Series(list(values), dtype=_stats_dtype(name))
            for name, values in zip(names, columns, strict=True)
        }
    )


def _stats_dtype(name: str) -> str:
    """As in `item_frame`, but the statistics' group-by keys (never missing) as pandas' `str` dtype,
    which factorises about five times faster than Python strings in an object column."""
    if name in _SWEEP_DTYPES:
        return _SWEEP_DTYPES[name]
    if name in _TEXT_COLUMNS:
        return "str"
    return "int64" if name in _INT_COLUMNS else "bool" if name in _BOOL_COLUMNS else "object"


def with_model_labels(frame: pd.DataFrame, store: Store | None = None) -> pd.DataFrame:
    """A copy with `model_label`: each (run, model)'s label (`lab.run.labels`), distinct across the runs:
    the run's name, else "model - date - short id". Without a store (a frame built outside one), runs
    are unnamed and dated by their id.

    The statistics group by it when it is there; `model` keeps the model string itself.
    """
    labelled = frame.copy()
    codes, pairs = pd.MultiIndex.from_frame(frame[["run_id", "model"]]).factorize()
    labels = labels_of(list(pairs), store)
    shown = np.array([labels[pair] for pair in pairs] + [""], dtype=object)  # "" is never picked
    labelled[MODEL_LABEL] = pd.Series(shown[codes], index=frame.index, dtype="object")
    return labelled


def labels_of(pairs: Iterable[tuple[str, str]], store: Store | None) -> dict[tuple[str, str], str]:
    """(run id, model) -> label for `pairs`. With a store, every stored run is labelled with them
    (their plans give their models), so a run's label does not depend on the selection."""
    seen: dict[str, list[str]] = {}
    for run_id, model in pairs:
        seen.setdefault(run_id, []).append(model)
    stored = {record.id: labels.run_facts(record) for record in (store.list_runs() if store else [])}
    facts = dict(stored)
    for run_id, models in seen.items():
        known = stored.get(run_id, labels.RunFacts(run_id, ()))
        extra = tuple(model for model in models if model not in known.models)  # e.g. a model's old label
        facts[run_id] = dataclasses.replace(known, models=known.models + extra)
    return labels.model_labels(list(facts.values()))


def functions_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """Every function of the code modes (all samples and rounds), with its unit's held-out case count."""
    return sampling.function_frame(f for f in store.functions(run_ids) if f["cases"])


def export_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """The item frame plus each item's call, `messages` (JSON) and `response` (the items CSV, replayable),
    then its sweep point and `with_run_columns`."""
    frame = items_frame(store, run_ids, links=True)
    calls = store.call_texts(run_ids)
    texts = [calls.get(int(i), ("", None)) if not pd.isna(i) else ("", None) for i in frame["call_id"]]
    out = frame[list(ITEM_COLUMNS)].copy()
    out["messages"] = pd.Series([messages for messages, _ in texts], dtype="object")
    out["response"] = pd.Series([response for _, response in texts], dtype="object")
    return with_run_columns(store, pd.concat([out, frame[list(_SWEEP_DTYPES)]], axis=1))


def with_run_columns(store: Store, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame plus each item's run: its model's label, the run's name and plan (`export.RUN_COLUMNS`)."""
    runs = {run_id: store.get_run(run_id) for run_id in frame["run_id"].unique()}
    pairs = zip(frame["run_id"], frame["model"], strict=True)
    return pd.concat([frame, export.run_columns(frame, runs, labels_of(set(pairs), store))], axis=1)


def export_items(store: Store, run_ids: Sequence[str], path: str | Path) -> None:
    export.write_csv(export.items_csv(export_frame(store, run_ids)), path)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _text(value: object, column: str, row: int) -> str:
    if not isinstance(value, str):
        raise TypeError(f"item row {row}: column {column!r} holds text, got {value!r}")
    return value


def _whole(value: object, column: str, row: int) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"item row {row}: column {column!r} holds a whole number, got {value!r}")
    return int(value)


def _flag(value: object, column: str, row: int) -> bool:
    # 0 and 1 are accepted because SQLite stores booleans as integers.
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer) and value in (0, 1):
        return bool(value)
    raise ValueError(f"item row {row}: column {column!r} holds True or False, got {value!r}")


def summary_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """`stats.summary` of the runs' items."""
    return stats.summary(with_model_labels(items_frame(store, run_ids), store))


def export_summary(store: Store, run_ids: Sequence[str], path: str | Path) -> None:
    export.write_csv(export.summary_csv(summary_frame(store, run_ids)), path)
