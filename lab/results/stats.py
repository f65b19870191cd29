"""Accuracy with honest uncertainty: the summary, the paired gaps between modes, counterfactual drops.

Every function here is pure: a pandas DataFrame of scored items (see `lab.results.read.item_frame`)
in, a new DataFrame out. Every item counts: an item whose reply was malformed or whose function
failed is scored `correct=False` and stays in the denominator.

Which interval a row carries is in its `ci_method` column:
- direct modes (the model answers each case): items are independent trials; accuracy gets a
  Wilson interval (`wilson`), a drop the MOVER-Wilson interval (`mover_wilson`), and a gap between
  two direct modes, measured on the same cases, Newcombe's paired interval (`newcombe_paired`)
  with an exact McNemar test;
- code modes (a mode whose `returns_code`: one function answers every case of an instance): the
  instance is the unit; accuracy, gaps and drops get the crossed cluster bootstrap of
  `lab.results.bootstrap` (`cluster_bootstrap`), a gap a sign-flip test over instances, and the
  summary reports the instance solve rate (the share of functions right on every held-out case).
Holm's adjustment runs over all the gaps of one table (`p_holm`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from lab.models.replay import display_label
from lab.results import bootstrap
from lab.results.intervals import (
    WILSON,
    clip,
    holm,
    mcnemar_exact,
    mover_wilson_interval,
    paired_difference_interval,
    wilson_interval,
)
from lab.run.records import TRUNCATED
from lab.tasks.modes import GAP_PAIRS, MODE_ORDER, Role
from lab.tasks.modes import MODES as _MODE_TABLE

# Mode names, their order and the gap pairs live in lab.tasks.modes; these are the views the tables use.
MODES: tuple[str, ...] = MODE_ORDER
INDUCTIVE_MODES: tuple[str, ...] = tuple(
    name for name in MODE_ORDER if _MODE_TABLE[name].role is Role.INDUCTIVE
)
DEDUCTIVE_MODES: tuple[str, ...] = tuple(
    name for name in MODE_ORDER if _MODE_TABLE[name].role is Role.DEDUCTIVE
)
# (label, inductive mode, deductive mode), e.g. ("solverlearner - deductive", "solverlearner", "deductive").
GAP_COMPARISONS: tuple[tuple[str, str, str], ...] = tuple(
    (f"{inductive} - {deductive}", inductive, deductive) for inductive, deductive in GAP_PAIRS
)
CLUSTER_BOOTSTRAP = bootstrap.CLUSTER_BOOTSTRAP
NEWCOMBE_PAIRED = "newcombe_paired"
MOVER_WILSON = "mover_wilson"
MCNEMAR_EXACT = "mcnemar_exact"
SIGN_FLIP = "sign_flip_instances"
MODEL_LABEL = "model_label"

SUMMARY_COLUMNS: tuple[str, ...] = (
    "model",
    "model_label",
    "probe",
    "setting",
    "default_world",
    "mode",
    "n",
    "correct",
    "accuracy",
    "ci_low",
    "ci_high",
    "ci_method",
    "instances",
    "instance_solve_rate",
    "shots",
    "noise",
    "truncated",
)
GAP_COLUMNS: tuple[str, ...] = (
    "model",
    "model_label",
    "probe",
    "setting",
    "default_world",
    "comparison",
    "inductive_mode",
    "deductive_mode",
    "inductive_accuracy",
    "deductive_accuracy",
    "gap",
    "ci_low",
    "ci_high",
    "ci_method",
    "test",
    "p_value",
    "p_holm",
    "shots",
    "noise",
)
DROP_COLUMNS: tuple[str, ...] = (
    "model",
    "model_label",
    "probe",
    "mode",
    "default_accuracy",
    "counterfactual_accuracy",
    "drop",
    "ci_low",
    "ci_high",
    "ci_method",
    "n_settings",
    "shots",
    "noise",
)

_SETTING = ["model", MODEL_LABEL, "probe", "setting", "default_world"]
_GROUP = [*_SETTING, "mode"]
_POINT = ["shots", "noise"]  # a sweep point: its own row of the summary, never pooled with another
_ORDER = ["model", MODEL_LABEL, "probe", "default_world", "setting"]  # the default world first
# How each table's rows are sorted (`sorted_rows`): every row's key is unique, so the order is total.
SUMMARY_ORDER: tuple[str, ...] = (*_ORDER, "mode", *_POINT)
GAP_ORDER: tuple[str, ...] = (*_ORDER, "comparison", *_POINT)
DROP_ORDER: tuple[str, ...] = ("model", MODEL_LABEL, "probe", "mode", *_POINT)


def returns_code(mode: str) -> bool:
    return _MODE_TABLE[mode].returns_code


# ---------------------------------------------------------------------------------------------
# Tables


def summary(items: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per model x probe x setting x mode x sweep point, with its 95% interval (`ci_method`).

    Columns `SUMMARY_COLUMNS`: `instances` counts the cell's instances; `instance_solve_rate` (code
    modes, NaN otherwise) is the share of them whose function was right on every held-out case;
    `shots` and `noise` are the sweep point (missing for a mode that shows no examples, or items
    stored before sweeps): each point of a sweep is its own row, never pooled with another;
    `truncated` counts the items whose reply stopped at the token cap (error `truncated`, scored
    wrong and kept in `n`). Rows sorted by model, probe, the default world before counterfactual
    settings, setting (in natural order: base=8 before base=10), mode in the order of `MODES`,
    then shots and noise. Empty input gives an empty frame with those columns.
    """
    items = _checked(items)
    if items.empty:
        return empty(SUMMARY_COLUMNS)
    items = _with_old_points(items)
    rows: list[dict[str, Any]] = []
    grids: list[bootstrap.Grid] = []  # the code cells' grids, their intervals drawn together below
    for key, cell in items.groupby([*_GROUP, *_POINT], sort=False, dropna=False):
        base = dict(zip([*_GROUP, *_POINT], key, strict=True))
        n, correct = len(cell), int(cell["correct"].sum())
        solved = _solved(cell)
        if returns_code(base["mode"]):
            grids.append(_grid(cell, _columns(cell)))
            (low, high), method, solve_rate = (math.nan, math.nan), CLUSTER_BOOTSTRAP, float(solved.mean())
        else:
            (low, high), method, solve_rate = wilson_interval(correct, n), WILSON, math.nan
        rows.append(
            {
                **base,
                "n": n,
                "correct": correct,
                "accuracy": correct / n,
                "ci_low": low,
                "ci_high": high,
                "ci_method": method,
                "instances": len(solved),
                "instance_solve_rate": solve_rate,
                "truncated": int((cell["error"].to_numpy() == TRUNCATED).sum()),
            }
        )
    code_rows = (row for row in rows if row["ci_method"] == CLUSTER_BOOTSTRAP)
    for row, (low, high) in zip(code_rows, bootstrap.accuracy_intervals(grids), strict=True):
        row["ci_low"], row["ci_high"] = low, high
    table = _point_typed(pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS)))
    return sorted_rows(table, SUMMARY_ORDER)


def _solved(cell: pd.DataFrame) -> np.ndarray:
    """Per instance of the cell (in order), whether it was right on every one of its items."""
    _, instance = np.unique(cell["instance"].to_numpy(), return_inverse=True)
    return np.bincount(instance, weights=~cell["correct"].to_numpy(dtype=bool)) == 0


def gaps(items: pd.DataFrame) -> pd.DataFrame:
    """The inductive-minus-deductive accuracy gap per model x probe x setting, as a paired comparison.

    Comparisons `GAP_COMPARISONS`, each only where both modes were measured. `gap =
    inductive_accuracy - deductive_accuracy` (positive: better when the rule must be induced). Both
    modes answer the same held-out cases, so the comparison is paired case by case (and instance by
    instance where both have the same instances; a mode with one instance pairs with each of the
    other's). Two direct modes: Newcombe's paired interval and the exact McNemar test on the
    paired items. A code mode involved: the crossed cluster bootstrap with shared case draws and a
    sign-flip test over the per-instance differences. `p_holm`: Holm-adjusted over every row.
    Columns `GAP_COLUMNS`, sorted by model, probe, default world first, setting, then comparison.
    """
    items = _checked(items)
    if items.empty:
        return empty(GAP_COLUMNS)
    items = _with_old_points(items)
    rows: list[dict[str, Any]] = []
    pending: list[tuple[dict[str, Any], bootstrap.Terms]] = []  # rows whose bootstrap is drawn below
    swept = not _one_point(items)
    for key, cells in _nested(items, _SETTING, ["mode"], dropna=True):
        modes = {mode: cell for (mode,), cell in cells.items()}
        columns = sorted(set().union(*(_columns(cell) for cell in modes.values())))
        for label, inductive, deductive in GAP_COMPARISONS:
            if inductive in modes and deductive in modes:
                pairs = _point_pairs(modes[inductive], modes[deductive], swept=swept)
                for point, inductive_items, deductive_items in pairs:
                    paired, terms = _paired(inductive_items, deductive_items, columns)
                    rows.append(
                        {
                            **dict(zip(_SETTING, key, strict=True)),
                            "comparison": label,
                            "inductive_mode": inductive,
                            "deductive_mode": deductive,
                            **paired,
                            **point,
                        }
                    )
                    if terms:
                        pending.append((rows[-1], terms))
    if not rows:
        return empty(GAP_COLUMNS)
    _fill_bootstrap(pending, paired=True)
    table = _point_typed(pd.DataFrame(rows, columns=list(GAP_COLUMNS)))
    table["p_holm"] = holm(table["p_value"].tolist())
    return sorted_rows(table, GAP_ORDER)


def _point_key(values: Any) -> tuple[Any, ...]:
    return tuple(None if pd.isna(value) else value for value in values)


def _point_pairs(
    inductive: pd.DataFrame, deductive: pd.DataFrame, *, swept: bool
) -> Iterator[tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]]:
    """Each sweep point of the inductive mode with the deductive items of the same point, or with all of
    them when the deductive mode has a single point (a mode that shows no examples has no shots): a
    sweep's points are compared one by one on the same held-out cases, never pooled.

    `swept`: the items of the whole table hold more than one point (without, the group-bys are skipped).
    """
    if not swept:
        point = _point_key(inductive[name].iloc[0] for name in _POINT)
        yield dict(zip(_POINT, point, strict=True)), inductive, deductive
        return
    partners = {_point_key(key): cell for key, cell in deductive.groupby(_POINT, sort=False, dropna=False)}
    single = next(iter(partners.values())) if len(partners) == 1 else None
    for key, cell in inductive.groupby(_POINT, sort=True, dropna=False):
        point = _point_key(key)
        partner = single if single is not None else partners.get(point)
        if partner is not None:
            yield dict(zip(_POINT, point, strict=True)), cell, partner


_FAMILY = ["model", MODEL_LABEL, "probe", "mode", *_POINT]


def _nested(
    items: pd.DataFrame, outer: list[str], inner: list[str], *, dropna: bool
) -> Iterator[tuple[tuple[Any, ...], dict[tuple[Any, ...], pd.DataFrame]]]:
    """Per value of the `outer` columns (in order of appearance; missing values as None), its cells by
    the `inner` columns, sorted: one group-by over both levels instead of one per outer group."""
    groups: dict[tuple[Any, ...], list[tuple[tuple[Any, ...], pd.DataFrame]]] = {}
    for key, cell in items.groupby([*outer, *inner], sort=False, dropna=dropna):
        head = tuple(None if pd.isna(value) else value for value in key[: len(outer)])
        groups.setdefault(head, []).append((tuple(key[len(outer) :]), cell))
    for head, cells in groups.items():
        yield head, dict(sorted(cells, key=lambda pair: pair[0]))


def _one_point(frame: pd.DataFrame) -> bool:
    """Whether every item of the frame is at one sweep point (missing counts as a point of its own)."""
    for name in _POINT:
        column = frame[name]
        missing = column.isna().to_numpy()
        if missing.any() and not missing.all():
            return False
        if not missing.any() and not bool((column.to_numpy() == column.iloc[0]).all()):
            return False
    return True


def counterfactual_drop(items: pd.DataFrame) -> pd.DataFrame:
    """Default-world accuracy minus the mean accuracy over a family's counterfactual settings.

    Per model x probe x mode: `default_accuracy` is the accuracy in the default-world setting,
    `counterfactual_accuracy` the unweighted mean of the per-setting accuracies of the
    counterfactual settings present (`n_settings` of them), and `drop` their difference (positive:
    the model does worse away from the familiar world).

    Interval, direct modes: MOVER with Wilson limits (Zou & Donner 2008, "Construction of
    confidence limits about effect measures: a general approach", Stat Med 27:1693-1702) for
    p0 - (p1 + ... + pk) / k of independent proportions; closed-form, and with one counterfactual
    setting it is Newcombe's interval for two independent proportions. Code modes: the crossed
    cluster bootstrap, each setting drawn on its own. Either covers the sampling of items (and
    functions) for the settings measured, not the choice of settings. Clipped to [-1, 1].

    Each sweep point (`shots`, `noise`) is its own row: its settings against its default world.
    Families with no default-world setting in the data, or with no counterfactual setting, are
    left out (per mode likewise). Columns `DROP_COLUMNS`, sorted by model, probe, mode order, point.
    More than one default-world setting for a model x probe x mode raises `ValueError`.
    """
    items = _checked(items)
    if items.empty:
        return empty(DROP_COLUMNS)
    items = _with_old_points(items)
    rows: list[dict[str, Any]] = []
    pending: list[tuple[dict[str, Any], bootstrap.Terms]] = []  # rows whose bootstrap is drawn below
    for (model, label, probe, mode, *point), settings in _nested(
        items, _FAMILY, ["setting", "default_world"], dropna=False
    ):
        defaults = [cell for (_, world), cell in settings.items() if world]
        counterfactuals = [cell for (_, world), cell in settings.items() if not world]
        if not defaults or not counterfactuals:
            continue
        if len(defaults) > 1:
            names = ", ".join(sorted(s for s, world in settings if world))
            raise ValueError(f"{model} / {probe} / {mode}: more than one default-world setting ({names})")
        rates = [float(cell["correct"].mean()) for cell in counterfactuals]
        default_accuracy = float(defaults[0]["correct"].mean())
        low, high, method, terms = _drop_interval(mode, defaults[0], counterfactuals)
        rows.append(
            {
                "model": model,
                "model_label": label,
                "probe": probe,
                "mode": mode,
                "default_accuracy": default_accuracy,
                "counterfactual_accuracy": sum(rates) / len(rates),
                "drop": default_accuracy - sum(rates) / len(rates),
                "ci_low": clip(low, -1.0, 1.0),
                "ci_high": clip(high, -1.0, 1.0),
                "ci_method": method,
                "n_settings": len(counterfactuals),
                **dict(zip(_POINT, _point_key(point), strict=True)),
            }
        )
        if terms:
            pending.append((rows[-1], terms))
    if not rows:
        return empty(DROP_COLUMNS)
    _fill_bootstrap(pending, paired=False)
    table = _point_typed(pd.DataFrame(rows, columns=list(DROP_COLUMNS)))
    return sorted_rows(table, DROP_ORDER)


# ---------------------------------------------------------------------------------------------
# Comparisons


def _paired(
    first: pd.DataFrame, second: pd.DataFrame, columns: list[int]
) -> tuple[dict[str, Any], bootstrap.Terms]:
    """Accuracies, gap, interval and test of two modes of one setting (first minus second).

    With a code mode, the interval is left NaN and the bootstrap's terms are returned to draw it
    (`_fill_bootstrap`); otherwise the terms are empty."""
    a, b = _grid(first, columns), _grid(second, columns)
    p1, p2 = float(first["correct"].mean()), float(second["correct"].mean())
    terms: bootstrap.Terms = ()
    if returns_code(str(first["mode"].iloc[0])) or returns_code(str(second["mode"].iloc[0])):
        low, high, terms = math.nan, math.nan, ((1.0, a), (-1.0, b))
        method, test, p_value = CLUSTER_BOOTSTRAP, SIGN_FLIP, _sign_flip(a, b)
    else:
        left, right = _aligned(a, b)
        both = ~(np.isnan(left) | np.isnan(right))
        x, y = left[both] == 1, right[both] == 1
        counts = (int((x & y).sum()), int((x & ~y).sum()), int((~x & y).sum()), int((~x & ~y).sum()))
        low, high = paired_difference_interval(*counts)
        method, test, p_value = NEWCOMBE_PAIRED, MCNEMAR_EXACT, mcnemar_exact(counts[1], counts[2])
    row = {
        "inductive_accuracy": p1,
        "deductive_accuracy": p2,
        "gap": p1 - p2,
        "ci_low": low,
        "ci_high": high,
        "ci_method": method,
        "test": test,
        "p_value": p_value,
    }
    return row, terms


def _fill_bootstrap(pending: list[tuple[dict[str, Any], bootstrap.Terms]], *, paired: bool) -> None:
    """Set each row's interval to the cluster bootstrap of its terms, all of them drawn together."""
    intervals = bootstrap.combination_intervals([terms for _, terms in pending], paired=paired)
    for (row, _), (low, high) in zip(pending, intervals, strict=True):
        row["ci_low"], row["ci_high"] = clip(low, -1.0, 1.0), clip(high, -1.0, 1.0)


def _aligned(a: bootstrap.Grid, b: bootstrap.Grid) -> tuple[np.ndarray, np.ndarray]:
    """The two grids cell by cell: equal instance counts pair row by row, one instance pairs with every
    row of the other; otherwise only the case columns can be paired, on each grid's case means."""
    if a.instances == b.instances:
        return a.right, b.right
    if a.instances == 1 or b.instances == 1:
        rows = max(a.instances, b.instances)
        return np.broadcast_to(a.right, (rows, a.cases)), np.broadcast_to(b.right, (rows, b.cases))
    return np.nanmean(a.right, axis=0, keepdims=True), np.nanmean(b.right, axis=0, keepdims=True)


def _sign_flip(a: bootstrap.Grid, b: bootstrap.Grid) -> float:
    if a.instances != b.instances and min(a.instances, b.instances) > 1:
        return math.nan  # different functions on both sides with no pairing of instances
    left, right = _aligned(a, b)
    return bootstrap.sign_flip_p(np.nanmean(left - right, axis=1))


def _drop_interval(
    mode: str, default: pd.DataFrame, counterfactuals: list[pd.DataFrame]
) -> tuple[float, float, str, bootstrap.Terms]:
    """The drop's interval and method; a code mode's interval is NaN and its bootstrap terms returned
    to draw it (`_fill_bootstrap`)."""
    k = len(counterfactuals)
    if returns_code(mode):
        terms = [(1.0, _grid(default, _columns(default)))]
        terms += [(-1.0 / k, _grid(cell, _columns(cell))) for cell in counterfactuals]
        return (math.nan, math.nan, CLUSTER_BOOTSTRAP, terms)
    counts = [(1.0, int(default["correct"].sum()), len(default))]
    counts += [(-1.0 / k, int(cell["correct"].sum()), len(cell)) for cell in counterfactuals]
    return (*mover_wilson_interval(counts), MOVER_WILSON, ())


def _columns(frame: pd.DataFrame) -> list[int]:
    return sorted({int(i) for i in frame["case_index"]})


def _grid(cell: pd.DataFrame, columns: list[int]) -> bootstrap.Grid:
    return bootstrap.grid(
        cell["instance"].tolist(),
        cell["case_index"].tolist(),
        cell["correct"].tolist(),
        columns,
        clustered=returns_code(str(cell["mode"].iloc[0])),
    )


# ---------------------------------------------------------------------------------------------
# Helpers


def _checked(items: pd.DataFrame) -> pd.DataFrame:
    """The columns the tables need, typed, with `model_label` (the display name unless the frame has one)."""
    needed = ["model", "probe", "setting", "default_world", "mode", "instance", "case_index", "correct"]
    missing = [name for name in needed if name not in items.columns]
    if missing:
        raise ValueError(f"item frame lacks column(s) {', '.join(missing)}")
    frame = items[needed].astype({"default_world": bool, "correct": bool, "instance": "int64"})
    frame["error"] = items["error"].astype("object") if "error" in items else None
    for name in _POINT:  # frames without the sweep columns hold one unswept point per cell
        frame[name] = items[name] if name in items else pd.NA
    frame = _point_typed(frame)
    frame[MODEL_LABEL] = (
        items[MODEL_LABEL].astype("object") if MODEL_LABEL in items else items["model"].map(display_label)
    )
    frame = frame.astype({"model": "object", "probe": "object", "setting": "object", "mode": "object"})
    if frame.empty:
        return frame
    unknown = sorted(set(frame["mode"]) - set(MODES))
    if unknown:
        raise ValueError(f"unknown mode(s) {', '.join(map(str, unknown))}; valid: {', '.join(MODES)}")
    check_worlds(frame)
    return frame


def check_worlds(frame: pd.DataFrame) -> None:
    """Raise ValueError for a probe's setting marked both default world and counterfactual in `frame`
    (items or a summary), naming the first such setting in the frame's order."""
    worlds = frame.groupby(["probe", "setting"], sort=False)["default_world"].nunique()
    mixed = worlds[worlds > 1]
    if not mixed.empty:
        probe, setting = mixed.index[0]
        raise ValueError(f"{probe} / {setting} is marked both default world and counterfactual")


def _point_typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({"shots": "Int64", "noise": "Float64"})


def _with_old_points(frame: pd.DataFrame) -> pd.DataFrame:
    """Items stored before sweeps (no point) join their cell's one point, e.g. a run resumed after an
    upgrade; beside several points they stay apart, as nothing says which one they belong to."""
    cell = frame.groupby(_GROUP, sort=False, dropna=False)
    for name in _POINT:
        missing = frame[name].isna()
        if missing.all() or not missing.any():  # nothing to join, or nothing to join to
            continue
        single = cell[name].transform("nunique") == 1
        frame[name] = frame[name].where(~single | frame[name].notna(), cell[name].transform("first"))
    return frame


def _natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    # Digits compare as numbers, so "base=8" sorts before "base=10".
    return tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part) for part in re.split(r"(\d+)", text) if part
    )


def _sort_key(column: pd.Series) -> pd.Series:
    if column.name == "default_world":
        return ~column.astype(bool)
    if column.name == "mode":
        return column.map(MODES.index)
    if column.name == "comparison":
        return column.map([label for label, _, _ in GAP_COMPARISONS].index)
    if column.name == "setting":
        ranks = {value: rank for rank, value in enumerate(sorted(set(column), key=_natural_key))}
        return column.map(ranks)
    return column


def sorted_rows(frame: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """The rows in the order of the columns `by` (settings in natural order, modes and comparisons in
    their declared order), numbered from 0."""
    return frame.sort_values(list(by), key=_sort_key, kind="stable").reset_index(drop=True)


def empty(columns: tuple[str, ...]) -> pd.DataFrame:
    """A table of no rows with `columns`, typed as a table with rows would be."""
    return pd.DataFrame({name: pd.Series(dtype=_EMPTY_DTYPES.get(name, "object")) for name in columns})


_FLOAT_COLUMNS = (
    "accuracy",
    "ci_low",
    "ci_high",
    "instance_solve_rate",
    "inductive_accuracy",
    "deductive_accuracy",
    "gap",
    "p_value",
    "p_holm",
    "default_accuracy",
    "counterfactual_accuracy",
    "drop",
)
_EMPTY_DTYPES = {
    "default_world": "bool",
    "n": "int64",
    "correct": "int64",
    "instances": "int64",
    "n_settings": "int64",
    "truncated": "int64",
    "shots": "Int64",
    "noise": "Float64",
    **dict.fromkeys(_FLOAT_COLUMNS, "float64"),
}
