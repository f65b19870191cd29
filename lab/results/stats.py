"""Accuracy with honest uncertainty: the tidy item frame, the summary, gaps and counterfactual drops.

Every function here is pure: a pandas DataFrame of scored items in, a new DataFrame out.

Every item counts: an item whose reply was malformed or whose function failed is scored
`correct=False` and stays in the denominator.

The intervals treat items as independent Bernoulli trials. Two caveats the reader of a table should
know: every mode of a setting is measured on the same held-out cases, so a gap between modes is a
paired comparison, for which the independent-samples interval is conservative when the modes agree
on items; and in the code modes one function scores all n cases of an instance, so items are
clustered by instance and the Wilson interval is then narrower than the evidence warrants.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from lab.run.store import ITEM_COLUMNS
from lab.tasks.modes import GAP_PAIRS, MODE_ORDER, Role
from lab.tasks.modes import MODES as _MODE_TABLE

# Mode names, their order and the gap pairs live in lab.modes; these are the views the tables use.
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

SUMMARY_COLUMNS: tuple[str, ...] = (
    "model",
    "probe",
    "setting",
    "default_world",
    "mode",
    "n",
    "correct",
    "accuracy",
    "ci_low",
    "ci_high",
)
GAP_COLUMNS: tuple[str, ...] = (
    "model",
    "probe",
    "setting",
    "default_world",
    "comparison",
    "inductive_accuracy",
    "deductive_accuracy",
    "gap",
    "ci_low",
    "ci_high",
)
DROP_COLUMNS: tuple[str, ...] = (
    "model",
    "probe",
    "mode",
    "default_accuracy",
    "counterfactual_accuracy",
    "drop",
    "ci_low",
    "ci_high",
    "n_settings",
)

_TEXT_COLUMNS = ("run_id", "model", "probe", "setting", "mode", "input", "expected")
_OPTIONAL_TEXT_COLUMNS = ("predicted", "error")
_INT_COLUMNS = ("instance", "case_index")
_BOOL_COLUMNS = ("default_world", "correct")
_GROUP = ["model", "probe", "setting", "default_world", "mode"]


# ---------------------------------------------------------------------------------------------
# The item frame


def item_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build the tidy item frame (columns `ITEM_COLUMNS`, in that order) from dict rows.

    Text columns hold `str` (`predicted` and `error` hold `str` or `None`) in object columns;
    `instance` and `case_index` are int64; `correct` and `default_world` are bool. Keys beyond
    `ITEM_COLUMNS` are ignored. A missing key, an unknown mode or an impossible value (e.g.
    `correct="False"` or `correct=2`) raises `ValueError`, a text or number column holding the
    wrong type `TypeError`; both name the row and the column.
    """
    columns: dict[str, list[Any]] = {name: [] for name in ITEM_COLUMNS}
    for number, row in enumerate(rows):
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
        if columns["mode"][-1] not in MODES:
            raise ValueError(
                f"item row {number} has unknown mode {columns['mode'][-1]!r}; valid: {', '.join(MODES)}"
            )
    data: dict[str, pd.Series] = {}
    for name in ITEM_COLUMNS:
        if name in _INT_COLUMNS:
            data[name] = pd.Series(columns[name], dtype="int64")
        elif name in _BOOL_COLUMNS:
            data[name] = pd.Series(columns[name], dtype="bool")
        else:
            data[name] = pd.Series(columns[name], dtype="object")
    return pd.DataFrame(data, columns=list(ITEM_COLUMNS))


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


# ---------------------------------------------------------------------------------------------
# Intervals


def wilson_interval(correct: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for `correct` successes out of `n`; `(nan, nan)` when `n == 0`.

    statsmodels computes it; at 0/n and n/n its floating-point limits can miss the estimate by
    ~1e-16 (e.g. 0/7 gives a lower limit of 2.8e-17), so the limits are widened to contain the
    estimate, which makes them exactly 0 and 1 at those edges.
    """
    _check_count(correct, n)
    _check_level(level)
    if n == 0:
        return (math.nan, math.nan)
    low, high = proportion_confint(correct, n, alpha=1 - level, method="wilson")
    estimate = correct / n
    return (min(float(low), estimate), max(float(high), estimate))


def newcombe_difference_interval(
    correct1: int, n1: int, correct2: int, n2: int, level: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 - p2 of two independent proportions.

    statsmodels computes it (`confint_proportions_2indep(compare="diff", method="newcomb")`). At the
    edges it is well defined (0/n vs 0/n gives [-w, w], n/n vs 0/n gives [1 - w*sqrt(2), 1], w being
    the Wilson upper limit of 0/n) but its limits can leave [-1, 1] by ~2e-16, so they are clipped to [-1, 1].
    `(nan, nan)` when either n is 0.
    """
    _check_count(correct1, n1)
    _check_count(correct2, n2)
    _check_level(level)
    if n1 == 0 or n2 == 0:
        return (math.nan, math.nan)
    low, high = confint_proportions_2indep(
        correct1, n1, correct2, n2, compare="diff", method="newcomb", alpha=1 - level
    )
    return (_clip(float(low), -1.0, 1.0), _clip(float(high), -1.0, 1.0))


def _mover_wilson_interval(terms: list[tuple[float, int, int]], level: float = 0.95) -> tuple[float, float]:
    """MOVER interval (Zou & Donner 2008) for sum(c * p) over independent proportions p.

    `terms` holds (c, correct, n). Each p gets its Wilson limits, scaled by c; the limits of the
    sum are estimate -/+ the root of the summed squared distances from each term's estimate to its
    lower/upper limit. With terms [(1, a, m), (-1, b, k)] this is exactly Newcombe's interval.
    """
    estimate = 0.0
    below = 0.0
    above = 0.0
    for weight, correct, n in terms:
        p = correct / n
        low, high = wilson_interval(correct, n, level)
        term_low, term_high = sorted((weight * low, weight * high))
        estimate += weight * p
        below += (weight * p - term_low) ** 2
        above += (term_high - weight * p) ** 2
    return (estimate - math.sqrt(below), estimate + math.sqrt(above))


def _check_count(correct: int, n: int) -> None:
    if isinstance(correct, bool) or isinstance(n, bool):
        raise TypeError(f"counts must be whole numbers, got correct={correct!r}, n={n!r}")
    if int(correct) != correct or int(n) != n or not 0 <= correct <= n:
        raise ValueError(f"need whole numbers 0 <= correct <= n, got correct={correct!r}, n={n!r}")


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"confidence level must lie strictly between 0 and 1, got {level!r}")


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


# ---------------------------------------------------------------------------------------------
# Tables


def summary(items: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per model x probe x setting x mode with a 95% Wilson interval.

    Columns `SUMMARY_COLUMNS`. Rows sorted by model, probe, the default world before
    counterfactual settings, setting (in natural order: base=8 before base=10), then mode in the
    order of `MODES`. Empty input gives an empty frame with those columns.
    """
    _check_items(items)
    if items.empty:
        return _empty(SUMMARY_COLUMNS)
    counts = _counts(items)
    intervals = [wilson_interval(int(c), int(n)) for c, n in zip(counts["correct"], counts["n"], strict=True)]
    counts["accuracy"] = counts["correct"] / counts["n"]
    counts["ci_low"] = [low for low, _ in intervals]
    counts["ci_high"] = [high for _, high in intervals]
    ordered = _sorted(counts, ["model", "probe", "default_world", "setting", "mode"])
    return ordered[list(SUMMARY_COLUMNS)].reset_index(drop=True)


def gaps(items: pd.DataFrame) -> pd.DataFrame:
    """The inductive-minus-deductive accuracy gap per model x probe x setting.

    Comparisons `solverlearner - deductive` and `io - io_rule`, each only where both modes were
    measured. `gap = inductive_accuracy - deductive_accuracy` (positive: the model does better
    when it has to induce the rule). The 95% interval is Newcombe's hybrid score interval for a
    difference of two independent proportions (see `newcombe_difference_interval`). Columns
    `GAP_COLUMNS`, sorted by model, probe, default world first, setting, then the comparison order
    of `GAP_COMPARISONS`.
    """
    _check_items(items)
    if items.empty:
        return _empty(GAP_COLUMNS)
    counts = _counts(items).set_index(_GROUP)
    rows: list[dict[str, Any]] = []
    settings = counts.index.droplevel("mode").unique()
    for model, probe, setting, default_world in settings:
        for label, inductive, deductive in GAP_COMPARISONS:
            key_ind = (model, probe, setting, default_world, inductive)
            key_ded = (model, probe, setting, default_world, deductive)
            if key_ind not in counts.index or key_ded not in counts.index:
                continue
            c_ind, n_ind = (int(v) for v in counts.loc[key_ind, ["correct", "n"]])
            c_ded, n_ded = (int(v) for v in counts.loc[key_ded, ["correct", "n"]])
            low, high = newcombe_difference_interval(c_ind, n_ind, c_ded, n_ded)
            rows.append(
                {
                    "model": model,
                    "probe": probe,
                    "setting": setting,
                    "default_world": bool(default_world),
                    "comparison": label,
                    "inductive_accuracy": c_ind / n_ind,
                    "deductive_accuracy": c_ded / n_ded,
                    "gap": c_ind / n_ind - c_ded / n_ded,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    if not rows:
        return _empty(GAP_COLUMNS)
    table = pd.DataFrame(rows, columns=list(GAP_COLUMNS))
    return _sorted(table, ["model", "probe", "default_world", "setting", "comparison"]).reset_index(drop=True)


def counterfactual_drop(items: pd.DataFrame) -> pd.DataFrame:
    """Default-world accuracy minus the mean accuracy over a family's counterfactual settings.

    Per model x probe x mode: `default_accuracy` is the accuracy in the default-world setting,
    `counterfactual_accuracy` the unweighted mean of the per-setting accuracies of the
    counterfactual settings present (`n_settings` of them), and `drop` their difference (positive:
    the model does worse away from the familiar world).

    Interval: MOVER with Wilson limits (Zou & Donner 2008, "Construction of confidence limits about
    effect measures: a general approach", Stat Med 27:1693-1702) for the linear combination
    p0 - (p1 + ... + pk) / k of independent proportions. It is closed-form, so exact and
    deterministic (no resampling); with one counterfactual setting it equals Newcombe's interval
    used by `gaps`; unlike a normal approximation it does not collapse to zero width at 0/n or
    n/n. It covers the sampling of items for the settings measured, not the choice of settings.
    Clipped to [-1, 1].

    Families with no default-world setting in the data, or with no counterfactual setting, are
    left out (per mode likewise). Columns `DROP_COLUMNS`, sorted by model, probe, mode order.
    More than one default-world setting for a model x probe x mode raises `ValueError`.
    """
    _check_items(items)
    if items.empty:
        return _empty(DROP_COLUMNS)
    counts = _counts(items)
    rows: list[dict[str, Any]] = []
    for (model, probe, mode), group in counts.groupby(["model", "probe", "mode"], sort=False):
        defaults = group[group["default_world"]]
        counterfactuals = group[~group["default_world"]]
        if defaults.empty or counterfactuals.empty:
            continue
        if len(defaults) > 1:
            raise ValueError(
                f"{model} / {probe} / {mode}: more than one default-world setting "
                f"({', '.join(sorted(defaults['setting']))})"
            )
        c0, n0 = int(defaults["correct"].iloc[0]), int(defaults["n"].iloc[0])
        k = len(counterfactuals)
        terms = [(1.0, c0, n0)] + [
            (-1.0 / k, int(c), int(n))
            for c, n in zip(counterfactuals["correct"], counterfactuals["n"], strict=True)
        ]
        low, high = _mover_wilson_interval(terms)
        default_accuracy = c0 / n0
        counterfactual_accuracy = float((counterfactuals["correct"] / counterfactuals["n"]).mean())
        rows.append(
            {
                "model": model,
                "probe": probe,
                "mode": mode,
                "default_accuracy": default_accuracy,
                "counterfactual_accuracy": counterfactual_accuracy,
                "drop": default_accuracy - counterfactual_accuracy,
                "ci_low": _clip(low, -1.0, 1.0),
                "ci_high": _clip(high, -1.0, 1.0),
                "n_settings": k,
            }
        )
    if not rows:
        return _empty(DROP_COLUMNS)
    table = pd.DataFrame(rows, columns=list(DROP_COLUMNS))
    return _sorted(table, ["model", "probe", "mode"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Helpers


def _check_items(items: pd.DataFrame) -> None:
    needed = set(_GROUP) | {"correct"}
    missing = [name for name in ITEM_COLUMNS if name in needed and name not in items.columns]
    if missing:
        raise ValueError(f"item frame lacks column(s) {', '.join(missing)}")
    if items.empty:
        return
    unknown = sorted(set(items["mode"]) - set(MODES))
    if unknown:
        raise ValueError(f"unknown mode(s) {', '.join(map(str, unknown))}; valid: {', '.join(MODES)}")
    worlds = items.groupby(["probe", "setting"], sort=False)["default_world"].nunique()
    mixed = worlds[worlds > 1]
    if not mixed.empty:
        probe, setting = mixed.index[0]
        raise ValueError(f"{probe} / {setting} is marked both default world and counterfactual")


def _counts(items: pd.DataFrame) -> pd.DataFrame:
    frame = items[[*_GROUP, "correct"]].astype({"default_world": bool, "correct": bool})
    grouped = frame.groupby(_GROUP, sort=False)["correct"]
    counts = grouped.agg(n="size", correct="sum").reset_index()
    counts["n"] = counts["n"].astype("int64")
    counts["correct"] = counts["correct"].astype("int64")
    return counts


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


def _sorted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return frame.sort_values(by, key=_sort_key, kind="stable")


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=_EMPTY_DTYPES.get(name, "object")) for name in columns})


_EMPTY_DTYPES = {
    "default_world": "bool",
    "n": "int64",
    "correct": "int64",
    "n_settings": "int64",
    "accuracy": "float64",
    "ci_low": "float64",
    "ci_high": "float64",
    "inductive_accuracy": "float64",
    "deductive_accuracy": "float64",
    "gap": "float64",
    "default_accuracy": "float64",
    "counterfactual_accuracy": "float64",
    "drop": "float64",
}
