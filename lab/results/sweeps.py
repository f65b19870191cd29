"""Statistics of sweeps: Li et al.'s consistency per noisy point, identifiability, the swept rows.

The functions take the item frame with the sweep columns (`shots`, `noise`, `consistent_worlds`;
missing values where a mode shows no examples or an item predates them) beside the tidy columns.
Accuracy per (shots, noise) point is the summary itself (`lab.results.stats.summary` keeps every
point its own row). Intervals follow the summary's rule (`ci_method`): Wilson over items in direct
modes; in code modes, where one function answers every case of an instance, the cluster bootstrap
with the instance as the unit (`lab.results.bootstrap`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from lab.models.replay import display_label
from lab.results import bootstrap
from lab.results.intervals import WILSON, wilson_interval
from lab.tasks.modes import MODES

# A cell is one run's model (`model_label`: two runs of one model are two cells, as in every other table).
CELL = ["model", "model_label", "probe", "setting", "mode"]
POINT = [*CELL, "shots", "noise"]
CONSISTENCY_COLUMNS = (*POINT, "n", "consistent", "consistency", "ci_low", "ci_high", "ci_method")
IDENTIFIABILITY_COLUMNS = (*CELL, "examples", "n", "correct", "accuracy", "ci_low", "ci_high", "ci_method")

# How an instance's examples relate to the candidate worlds.
IDENTIFIABLE, AMBIGUOUS, NONE_FIT = "identifiable", "ambiguous", "no world fits"


def rate_interval(
    mode: str, instances: pd.Series, cases: pd.Series, hits: pd.Series
) -> tuple[float, float, str]:
    """The 95% interval of a rate over items, and its `ci_method`: Wilson over items in a direct mode,
    the cluster bootstrap over instances (each a row of cases) in a code mode."""
    if not MODES[mode].returns_code:
        return (*wilson_interval(int(hits.sum()), len(hits)), WILSON)
    columns = sorted({int(c) for c in cases})
    cell = bootstrap.grid(
        [int(i) for i in instances], [int(c) for c in cases], [bool(h) for h in hits], columns, clustered=True
    )
    return (*bootstrap.accuracy_interval(cell), bootstrap.CLUSTER_BOOTSTRAP)


def _rates(groups: Iterable[tuple[Any, pd.DataFrame]], keys: list[str], hits: str, rate: str) -> pd.DataFrame:
    rows = []
    for key, group in groups:
        low, high, method = rate_interval(
            str(group["mode"].iloc[0]), group["unit"], group["case_index"], group[hits]
        )
        count = int(group[hits].sum())
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "n": len(group),
                hits: count,
                rate: count / len(group),
                "ci_low": low,
                "ci_high": high,
                "ci_method": method,
            }
        )
    return pd.DataFrame(rows)


def _require(items: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The items, with `model_label` (the model's display name in a frame without one, as the summary
    does); ValueError naming the columns the frame lacks."""
    missing = [name for name in columns if name not in items.columns and name != "model_label"]
    if missing:
        raise ValueError(
            f"the item frame lacks column(s) {', '.join(missing)}; read items with their sweep columns"
        )
    if "model_label" in items:
        return items
    return items.assign(model_label=items["model"].map(display_label))


def swept_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary's rows of the cells measured at more than one (shots, noise) point, plus the rows
    of modes that show no examples (the levels a shot curve climbs towards); empty when nothing is
    swept."""
    if summary.empty:
        return summary
    cell = ["model", "model_label", "probe", "setting", "mode"]
    cells = summary.groupby(cell, dropna=False)
    swept = pd.Series(False, index=summary.index)
    for name in ("shots", "noise"):
        swept |= cells[name].transform("nunique", dropna=False) > 1
    if not swept.any():
        return summary.iloc[0:0]
    return summary[swept | summary["shots"].isna()]


def at_one_point(summary: pd.DataFrame, *, within: tuple[str, ...] = ("setting", "mode")) -> pd.DataFrame:
    """One row per cell of the summary for the charts by setting (per setting and comparison of the
    gaps, per mode of the drops: `within`): a swept cell at its most shots and, among those, its least
    noise (the cleanest point with the most evidence); other rows as they are."""
    cell = ["model", "model_label", "probe", *within]
    ranked = summary.sort_values(["shots", "noise"], ascending=[False, True], na_position="last")
    return summary.loc[sorted(ranked.drop_duplicates(cell).index)]


def consistency(items: pd.DataFrame) -> pd.DataFrame:
    """Li et al.'s consistency score per cell and noisy point: the share of items whose verdict
    (right or wrong) is the same at noise 0 and at that noise.

    Items are paired by run and model, setting, mode, shots, held-out case and instance (the k-th instance
    of one point with the k-th of the other); a point without its noise-0 twin is left out. In a
    code mode the unit of the interval is that pair of instances (two functions, every case).
    """
    items = _require(items, [*POINT, "instance", "case_index", "correct"])
    swept = items.dropna(subset=["noise"]).copy()
    swept["unit"] = swept.groupby([*POINT, "case_index"])["instance"].rank(method="first")
    pair = [*CELL, "shots", "case_index", "unit"]
    clean = swept[swept["noise"] == 0][[*pair, "correct"]]
    noisy = swept[swept["noise"] > 0]
    joined = noisy.merge(clean, on=pair, suffixes=("", "_clean"))
    if joined.empty:
        return pd.DataFrame(columns=list(CONSISTENCY_COLUMNS))
    joined["consistent"] = joined["correct"] == joined["correct_clean"]
    frame = _rates(joined.groupby(POINT, sort=True), POINT, "consistent", "consistency")
    return frame[list(CONSISTENCY_COLUMNS)]


def identifiability(items: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per cell split by whether the instance's examples single out its world
    (`identifiable`: exactly one candidate fits), leave several (`ambiguous`) or fit none (noisy
    examples can); items without a count (no examples, no candidates) are left out. In a code mode
    the unit of the interval is the instance at its sweep point."""
    items = _require(items, [*CELL, "consistent_worlds", "instance", "case_index", "correct"])
    counted = items.dropna(subset=["consistent_worlds"]).copy()
    if counted.empty:
        return pd.DataFrame(columns=list(IDENTIFIABILITY_COLUMNS))
    worlds = counted["consistent_worlds"].astype(int)
    counted["examples"] = worlds.map(lambda k: IDENTIFIABLE if k == 1 else AMBIGUOUS if k > 1 else NONE_FIT)
    point = [counted[name].astype("string").fillna("") for name in ("shots", "noise") if name in counted]
    counted["unit"] = pd.factorize(pd.MultiIndex.from_arrays([counted["instance"], *point]))[0]
    keys = [*CELL, "examples"]
    frame = _rates(counted.groupby(keys, sort=True), keys, "correct", "accuracy")
    return frame[list(IDENTIFIABILITY_COLUMNS)]
