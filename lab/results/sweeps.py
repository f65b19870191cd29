"""Statistics of sweeps: accuracy per (shots, noise) point, Li et al.'s consistency, identifiability.

The functions take the item frame with the sweep columns (`shots`, `noise`, `consistent_worlds`;
missing values where a mode shows no examples or an item predates them) beside the tidy columns.
Accuracies and the consistency score carry 95% Wilson intervals over items (in code modes one
function answers all cases of an instance, so these are too narrow, as elsewhere).
"""

from __future__ import annotations

import pandas as pd

from lab.results.stats import wilson_interval

CELL = ["model", "probe", "setting", "mode"]
POINT = [*CELL, "shots", "noise"]
SWEEP_SUMMARY_COLUMNS = (*POINT, "n", "correct", "accuracy", "ci_low", "ci_high")
CONSISTENCY_COLUMNS = (*POINT, "n", "consistent", "consistency", "ci_low", "ci_high")
IDENTIFIABILITY_COLUMNS = (*CELL, "examples", "n", "correct", "accuracy", "ci_low", "ci_high")

# How an instance's examples relate to the candidate worlds.
IDENTIFIABLE, AMBIGUOUS, NONE_FIT = "identifiable", "ambiguous", "no world fits"


def _with_interval(frame: pd.DataFrame, hits: str, rate: str) -> pd.DataFrame:
    frame[rate] = frame[hits] / frame["n"]
    limits = [wilson_interval(int(h), int(n)) for h, n in zip(frame[hits], frame["n"], strict=True)]
    frame["ci_low"] = [low for low, _ in limits]
    frame["ci_high"] = [high for _, high in limits]
    return frame


def _require(items: pd.DataFrame, columns: list[str]) -> None:
    missing = [name for name in columns if name not in items.columns]
    if missing:
        raise ValueError(
            f"the item frame lacks column(s) {', '.join(missing)}; read items with their sweep columns"
        )


def sweep_summary(items: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per model, setting, mode and (shots, noise) point; modes without examples have
    missing shots and noise (one row per cell)."""
    _require(items, [*POINT, "correct"])
    if items.empty:
        return pd.DataFrame(columns=list(SWEEP_SUMMARY_COLUMNS))
    grouped = items.groupby(POINT, dropna=False, sort=True)["correct"]
    frame = grouped.agg(n="size", correct="sum").reset_index()
    return _with_interval(frame, "correct", "accuracy")[list(SWEEP_SUMMARY_COLUMNS)]


def consistency(items: pd.DataFrame) -> pd.DataFrame:
    """Li et al.'s consistency score per cell and noisy point: the share of items whose verdict
    (right or wrong) is the same at noise 0 and at that noise.

    Items are paired by model, setting, mode, shots, held-out case and instance (the k-th instance
    of one point with the k-th of the other); a point without its noise-0 twin is left out.
    """
    _require(items, [*POINT, "instance", "case_index", "correct"])
    swept = items.dropna(subset=["noise"]).copy()
    swept["twin"] = swept.groupby([*POINT, "case_index"])["instance"].rank(method="first")
    pair = [*CELL, "shots", "case_index", "twin"]
    clean = swept[swept["noise"] == 0][[*pair, "correct"]]
    noisy = swept[swept["noise"] > 0]
    joined = noisy.merge(clean, on=pair, suffixes=("", "_clean"))
    if joined.empty:
        return pd.DataFrame(columns=list(CONSISTENCY_COLUMNS))
    joined["consistent"] = joined["correct"] == joined["correct_clean"]
    frame = joined.groupby(POINT, sort=True)["consistent"].agg(n="size", consistent="sum").reset_index()
    return _with_interval(frame, "consistent", "consistency")[list(CONSISTENCY_COLUMNS)]


def identifiability(items: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per cell split by whether the instance's examples single out its world
    (`identifiable`: exactly one candidate fits), leave several (`ambiguous`) or fit none (noisy
    examples can); items without a count (no examples, no candidates) are left out."""
    _require(items, [*CELL, "consistent_worlds", "correct"])
    counted = items.dropna(subset=["consistent_worlds"]).copy()
    if counted.empty:
        return pd.DataFrame(columns=list(IDENTIFIABILITY_COLUMNS))
    worlds = counted["consistent_worlds"].astype(int)
    counted["examples"] = worlds.map(lambda k: IDENTIFIABLE if k == 1 else AMBIGUOUS if k > 1 else NONE_FIT)
    grouped = counted.groupby([*CELL, "examples"], sort=True)["correct"]
    frame = grouped.agg(n="size", correct="sum").reset_index()
    return _with_interval(frame, "correct", "accuracy")[list(IDENTIFIABILITY_COLUMNS)]
