"""Two sides of a selection item by item: two runs, two models or two modes on the same cases.

Pure pandas on the item frame of `lab.results.browse`. The items of side A and side B are matched on
everything but the dimension compared: always (probe, setting, instance, case), plus the mode when runs
or models are compared, plus the run and the model when modes are compared. A matched pair is both
right, both wrong, A only (A right, B wrong) or B only. The exact McNemar test asks whether the A-only
and B-only counts differ by more than chance; the paired difference in accuracy gets Newcombe's score
interval for paired proportions (method 10 of Newcombe 1998), which uses the pairing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import pandas as pd

from lab.results.intervals import mcnemar_exact, paired_difference_interval
from lab.tasks.modes import MODE_ORDER


class CompareBy(Enum):
    """What differs between side A and side B; the value is the item frame's column."""

    RUNS = "run_id"
    MODELS = "model_label"  # the display name, with its run where one model is in several runs
    MODES = "mode"


class Outcome(Enum):
    BOTH_RIGHT = "both right"
    A_ONLY = "A only"
    B_ONLY = "B only"
    BOTH_WRONG = "both wrong"


CASE_KEY: tuple[str, ...] = ("probe", "setting", "instance", "case_index")
# The other dimensions a pair must share besides the case.
SHARED: dict[CompareBy, tuple[str, ...]] = {
    CompareBy.RUNS: ("mode",),
    CompareBy.MODELS: ("mode",),
    CompareBy.MODES: ("run_id", "model"),
}
# Per side of a pair, the columns carried into the pairs frame (suffixed `_a` and `_b`).
SIDE_COLUMNS: tuple[str, ...] = (
    "run_id",
    "model",
    "mode",
    "input",
    "expected",
    "predicted",
    "correct",
    "error",
)


class CompareError(ValueError):
    pass


@dataclass(frozen=True)
class Comparison:
    """Side A against side B: two values of the `by` column, e.g. two run ids."""

    by: CompareBy
    a: str
    b: str


@dataclass(frozen=True)
class PairedResult:
    """The paired table of a comparison, its test and the pairs themselves."""

    comparison: Comparison
    both_right: int
    a_only: int
    b_only: int
    both_wrong: int
    unmatched_a: int  # items of side A with no partner in side B
    unmatched_b: int
    p_value: float  # exact McNemar on a_only vs b_only; nan with no pair
    difference: float  # accuracy of A minus accuracy of B on the pairs
    ci_low: float
    ci_high: float
    # One row per pair: the key columns, `outcome`, `row_a` and `row_b` (index labels in the item frame),
    # and SIDE_COLUMNS suffixed `_a` and `_b`.
    pairs: pd.DataFrame

    @property
    def n(self) -> int:
        return self.both_right + self.a_only + self.b_only + self.both_wrong

    @property
    def accuracy_a(self) -> float:
        return (self.both_right + self.a_only) / self.n if self.n else math.nan

    @property
    def accuracy_b(self) -> float:
        return (self.both_right + self.b_only) / self.n if self.n else math.nan

    @property
    def flipped(self) -> pd.DataFrame:
        """The pairs one side got right and the other wrong."""
        return self.pairs[self.pairs["outcome"].isin([Outcome.A_ONLY.value, Outcome.B_ONLY.value])]


def pair_key(by: CompareBy) -> list[str]:
    return [*SHARED[by], *CASE_KEY]


def side_choices(items: pd.DataFrame, by: CompareBy) -> list[str]:
    """The values side A or B can take: runs and models as they appear, modes in the modes' order."""
    present = list(dict.fromkeys(items[by.value]))
    return [m for m in MODE_ORDER if m in present] if by is CompareBy.MODES else present


def compare(items: pd.DataFrame, comparison: Comparison) -> PairedResult:
    """Match the items of both sides and count the four outcomes; raises CompareError for a bad choice."""
    column = comparison.by.value
    for side in (comparison.a, comparison.b):
        if side not in set(items[column]):
            present = ", ".join(map(str, side_choices(items, comparison.by))) or "none"
            raise CompareError(f"no item has {column} {side!r}; choose one of: {present}")
    if comparison.a == comparison.b:
        raise CompareError(f"side A and side B are both {column} {comparison.a!r}: choose two different ones")
    key = pair_key(comparison.by)
    sides = []
    for name, value in (("a", comparison.a), ("b", comparison.b)):
        rows = items[items[column] == value]
        _check_unique(rows, key, comparison.by, value)
        picked = rows[[*key, *(c for c in SIDE_COLUMNS if c not in key)]].copy()
        picked[f"row_{name}"] = rows.index
        sides.append(picked.rename(columns={c: f"{c}_{name}" for c in SIDE_COLUMNS if c not in key}))
    pairs = sides[0].merge(sides[1], on=key, how="inner", sort=False)
    for c in SIDE_COLUMNS:
        if c in key:
            pairs[f"{c}_a"] = pairs[c]
            pairs[f"{c}_b"] = pairs[c]
    pairs.insert(0, "outcome", _outcomes(pairs["correct_a"], pairs["correct_b"]))
    return _result(
        comparison, pairs, unmatched_a=len(sides[0]) - len(pairs), unmatched_b=len(sides[1]) - len(pairs)
    )


def _check_unique(rows: pd.DataFrame, key: list[str], by: CompareBy, value: str) -> None:
    repeated = rows.duplicated(key, keep=False)
    if not repeated.any():
        return
    other = next(
        c for c in ("model", "run_id", "mode") if c != by.value and rows.loc[repeated, c].nunique() > 1
    )
    names = ", ".join(sorted(map(str, rows.loc[repeated, other].unique()))[:4])
    raise CompareError(
        f"{by.value} {value!r} holds one case several times ({other}: {names}); "
        f"compare two {'models' if other == 'model' else 'runs'} instead, or narrow to one {other}"
    )


def _outcomes(a: pd.Series, b: pd.Series) -> pd.Series:
    a = a.astype(bool)
    b = b.astype(bool)
    labels = pd.Series(Outcome.BOTH_WRONG.value, index=a.index, dtype="object")
    labels[a & b] = Outcome.BOTH_RIGHT.value
    labels[a & ~b] = Outcome.A_ONLY.value
    labels[~a & b] = Outcome.B_ONLY.value
    return labels


def _result(
    comparison: Comparison, pairs: pd.DataFrame, *, unmatched_a: int, unmatched_b: int
) -> PairedResult:
    counts = pairs["outcome"].value_counts()
    both_right, a_only, b_only, both_wrong = (int(counts.get(o.value, 0)) for o in Outcome)
    n = len(pairs)
    p_value = math.nan
    if n:
        p_value = mcnemar_exact(a_only, b_only)
    low, high = paired_difference_interval(both_right, a_only, b_only, both_wrong)
    return PairedResult(
        comparison=comparison,
        both_right=both_right,
        a_only=a_only,
        b_only=b_only,
        both_wrong=both_wrong,
        unmatched_a=unmatched_a,
        unmatched_b=unmatched_b,
        p_value=p_value,
        difference=(a_only - b_only) / n if n else math.nan,
        ci_low=low,
        ci_high=high,
        pairs=pairs,
    )


def pair_label(row: pd.Series) -> str:
    """One pair in a line: outcome, where it is, and its input."""
    text = str(row["input_a"])
    text = text if len(text) <= 40 else text[:39] + "…"
    mode = row["mode_a"] if row["mode_a"] == row["mode_b"] else f"{row['mode_a']} / {row['mode_b']}"
    return (
        f"{row['outcome']} · {row['probe']} {row['setting']} · {mode} · instance {row['instance']} · "
        f"case {row['case_index']} · {text}"
    )


def pair_id(row: pd.Series, by: CompareBy) -> str:
    """A pair's key as text, stable across reloads (for a URL)."""
    return "|".join(str(row[c]) for c in pair_key(by))
