"""Cluster-aware intervals for the code modes, where one function answers every held-out case of an instance.

A cell of a code mode is a grid (`Grid`): one row per instance (one function), one column per
held-out case; the cases are shared by every instance and every mode of a setting. The items of a
row are not independent (one function right on all of them, or wrong on most), and the columns are
a sample of cases too, so the bootstrap resamples both: instances with replacement and, shared by
every grid of a setting, cases with replacement (a two-way, "crossed" bootstrap). It is seeded and
vectorised: a resample is a row of instance weights and a row of case weights, and all of them are
evaluated with two matrix products.

Few instances show little of the spread between functions: with fewer than `MIN_INSTANCES`
instances (one instance always), or when every item is alike (all right, all wrong: no resample
can differ), a grid's interval is widened to contain the Wilson interval that counts one trial
per instance, and a combination of grids (a gap, a drop) to contain the MOVER combination of its
grids' intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

import numpy as np

from lab.results.intervals import LEVEL, check_level, clip, mover_interval, wilson_interval, wilson_limits

CLUSTER_BOOTSTRAP = "cluster_bootstrap"
RESAMPLES = 4000
SEED = 13
MIN_INSTANCES = 5
_EXACT_FLIPS = 16  # up to this many instances the sign-flip test enumerates every pattern
_ROWS = 1024  # grid rows (cells x instances) per matrix product: 4000 x 1024 float64 is 33 MB


@dataclass(frozen=True)
class Grid:
    """One cell's scores: `right[i, j]` is 1.0 or 0.0 for instance i on case j, NaN if not measured.

    `clustered`: the instance is the unit (a code mode). A grid of a direct mode (False) takes part
    in a paired comparison with a code mode, where its items are independent trials.
    """

    right: np.ndarray
    clustered: bool = True

    def __post_init__(self) -> None:
        if self.right.ndim != 2 or self.right.shape[0] < 1 or self.right.shape[1] < 1:
            raise ValueError(f"a grid needs at least one instance and one case, got shape {self.right.shape}")

    @property
    def instances(self) -> int:
        return int(self.right.shape[0])

    @property
    def cases(self) -> int:
        return int(self.right.shape[1])

    @property
    def estimate(self) -> float:
        return float(np.nanmean(self.right))

    def thin(self) -> bool:
        """Too few instances for resampling to show the spread between functions, or every item alike
        (all right or all wrong), so that no resample can differ."""
        if not self.clustered:
            return False
        measured = self.right[~np.isnan(self.right)]
        return self.instances < MIN_INSTANCES or bool(np.ptp(measured) == 0)


def grid(
    instances: Sequence[int],
    cases: Sequence[int],
    right: Sequence[bool],
    columns: Sequence[int],
    *,
    clustered: bool,
) -> Grid:
    """The grid of one cell from its items: instance, case index and correctness per item.

    `columns` lists the case indices of the setting in a fixed order, so that the grids of several
    modes of one setting line up case by case.
    """
    rows = {instance: row for row, instance in enumerate(sorted(set(instances)))}
    places = {case: column for column, case in enumerate(columns)}
    values = np.full((len(rows), len(places)), np.nan)
    for instance, case, ok in zip(instances, cases, right, strict=True):
        values[rows[instance], places[case]] = 1.0 if ok else 0.0
    return Grid(values, clustered)


@dataclass(frozen=True)
class Weights:
    """Bootstrap weights: per resample, how often each instance and each case was drawn."""

    instances: np.ndarray  # (resamples, k)
    cases: np.ndarray  # (resamples, n)


def draw(rng: np.random.Generator, instances: int, cases: int, resamples: int) -> Weights:
    return Weights(
        rng.multinomial(instances, np.full(instances, 1 / instances), size=resamples).astype(float),
        rng.multinomial(cases, np.full(cases, 1 / cases), size=resamples).astype(float),
    )


@lru_cache(maxsize=16)
def seeded_draws(seed: int, shapes: tuple[tuple[int, int], ...], resamples: int) -> tuple[Weights, ...]:
    """`draw` for each (instances, cases) of `shapes` in turn, from one generator of `seed`.

    The weights depend on nothing else, so they are drawn once per shape sequence and kept (read-only):
    every cell of a table has the same few shapes, and drawing is most of a bootstrap's time.
    """
    rng = np.random.default_rng(seed)
    drawn = tuple(draw(rng, instances, cases, resamples) for instances, cases in shapes)
    for weights in drawn:
        weights.instances.setflags(write=False)
        weights.cases.setflags(write=False)
    return drawn


def batch_means(cells: Sequence[Grid], instance_weights: np.ndarray, case_weights: np.ndarray) -> np.ndarray:
    """The pooled accuracy of each cell (all of one shape) in every resample (NaN where a resample drew
    no measured item), as the columns of one (resamples, cells) array.

    One matrix product per `_ROWS` grid rows instead of one per cell. Weights are whole counts and
    scores 0 or 1, so every sum is a whole number computed exactly, in any order: each column is
    bit for bit what the cell alone gives.
    """
    means = []
    chunk = max(1, _ROWS // cells[0].instances)
    for start in range(0, len(cells), chunk):
        right = np.stack([cell.right for cell in cells[start : start + chunk]])
        measured = ~np.isnan(right)
        numerator = _weighted(np.where(measured, right, 0.0), instance_weights, case_weights)
        if measured.all():  # each resample then draws exactly instances x cases items
            means.append(numerator / (right.shape[1] * right.shape[2]))
            continue
        denominator = _weighted(measured.astype(float), instance_weights, case_weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            means.append(numerator / denominator)
    return np.concatenate(means, axis=1)


def _weighted(values: np.ndarray, instance_weights: np.ndarray, case_weights: np.ndarray) -> np.ndarray:
    """Per resample and cell, the sum of values[cell, i, j] x instance weight i x case weight j."""
    cells, instances, cases = values.shape
    per_instance = case_weights @ values.reshape(cells * instances, cases).T  # (resamples, cells x instances)
    return (per_instance.reshape(-1, cells, instances) * instance_weights[:, None, :]).sum(axis=2)


def accuracy_interval(
    cell: Grid, *, level: float = LEVEL, resamples: int = RESAMPLES, seed: int = SEED
) -> tuple[float, float]:
    """The cell's 95% interval for accuracy: crossed bootstrap percentiles, floored for thin grids.

    A grid that is not clustered gets the Wilson interval over its items.
    """
    return accuracy_intervals([cell], level=level, resamples=resamples, seed=seed)[0]


def accuracy_intervals(
    cells: Sequence[Grid], *, level: float = LEVEL, resamples: int = RESAMPLES, seed: int = SEED
) -> list[tuple[float, float]]:
    """`accuracy_interval` of each cell, the bootstraps of cells of one shape evaluated together."""
    check_level(level)
    intervals: list[tuple[float, float]] = [(math.nan, math.nan)] * len(cells)
    shapes: dict[tuple[int, int], list[int]] = {}
    for index, cell in enumerate(cells):
        if cell.clustered:
            shapes.setdefault((cell.instances, cell.cases), []).append(index)
        else:
            measured = cell.right[~np.isnan(cell.right)]
            intervals[index] = wilson_interval(int(measured.sum()), int(measured.size), level)
    for shape, indices in shapes.items():
        (weights,) = seeded_draws(seed, (shape,), resamples)
        shaped = [cells[index] for index in indices]
        lows, highs = _percentiles(batch_means(shaped, weights.instances, weights.cases), level)
        for index, cell, low, high in zip(indices, shaped, lows, highs, strict=True):
            intervals[index] = _floored(cell, float(low), float(high), level)
    return intervals


def _floored(cell: Grid, low: float, high: float, level: float) -> tuple[float, float]:
    estimate = cell.estimate
    if cell.thin():
        floor_low, floor_high = wilson_limits(estimate, cell.instances, level)
        low, high = min(low, floor_low), max(high, floor_high)
    return (clip(min(low, estimate), 0.0, 1.0), clip(max(high, estimate), 0.0, 1.0))


Terms = Sequence[tuple[float, Grid]]


def combination_intervals(
    combinations: Sequence[Terms],
    *,
    paired: bool,
    level: float = LEVEL,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> list[tuple[float, float]]:
    """The interval of sum(c * accuracy) over grids for each combination of (c, grid) terms, e.g. a gap
    (1, a), (-1, b) or a drop; combinations with the same shapes are evaluated together.

    `paired`: the grids share their cases (modes of one setting), so one case resample serves
    all; otherwise (settings of a family) each grid draws its own. Instances are always drawn per
    grid: different modes' functions are different functions. Clipped to [-1, 1].
    """
    check_level(level)
    groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for index, terms in enumerate(combinations):
        if paired and len({cell.cases for _, cell in terms}) != 1:
            raise ValueError("paired grids must have the same cases; got " + str([c.cases for _, c in terms]))
        # The draws in their original order: the shared case weights (paired), then each grid's.
        shapes = ((1, terms[0][1].cases),) if paired else ()
        groups.setdefault(shapes + tuple((c.instances, c.cases) for _, c in terms), []).append(index)
    limits: dict[int, tuple[float, float]] = {}
    for shapes, indices in groups.items():
        drawn = seeded_draws(seed, shapes, resamples)
        head = 1 if paired else 0
        total = np.zeros((resamples, len(indices)))
        for position, weights in enumerate(drawn[head:]):
            cases = drawn[0].cases if paired else weights.cases
            factors = np.array([combinations[index][position][0] for index in indices])
            cells = [combinations[index][position][1] for index in indices]
            total += factors * batch_means(cells, weights.instances, cases)
        lows, highs = _percentiles(total, level)
        limits.update(zip(indices, zip(lows.tolist(), highs.tolist(), strict=True), strict=True))
    thin = [cell for terms in combinations if any(c.thin() for _, c in terms) for _, cell in terms]
    floors = iter(accuracy_intervals(thin, level=level, seed=seed))
    intervals = []
    for index, terms in enumerate(combinations):
        low, high = limits[index]
        estimate = sum(weight * cell.estimate for weight, cell in terms)
        if any(cell.thin() for _, cell in terms):
            parts = [(w, cell.estimate, *next(floors)) for w, cell in terms]
            mover_low, mover_high = mover_interval(parts)
            low, high = min(low, mover_low), max(high, mover_high)
        intervals.append((clip(min(low, estimate), -1.0, 1.0), clip(max(high, estimate), -1.0, 1.0)))
    return intervals


def mean_interval(
    values: Sequence[float], *, level: float = LEVEL, resamples: int = RESAMPLES, seed: int = SEED
) -> tuple[float, float]:
    """Interval for the mean of one value per instance (e.g. pass@k), instances resampled.

    Floored like a grid: at least the Wilson interval with one trial per instance when there are
    fewer than `MIN_INSTANCES` values or they are all equal.
    """
    check_level(level)
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return (math.nan, math.nan)
    weights = seeded_draws(seed, ((array.size, 1),), resamples)[0].instances
    low, high = map(float, _percentiles(weights @ array / array.size, level))
    estimate = float(array.mean())
    if array.size < MIN_INSTANCES or np.ptp(array) == 0:
        floor_low, floor_high = wilson_limits(estimate, int(array.size), level)
        low, high = min(low, floor_low), max(high, floor_high)
    return (clip(min(low, estimate), 0.0, 1.0), clip(max(high, estimate), 0.0, 1.0))


def sign_flip_p(differences: Sequence[float], *, resamples: int = RESAMPLES * 5, seed: int = SEED) -> float:
    """Two-sided p-value of a paired sign-flip test on per-instance mean differences.

    Exact (every sign pattern) up to 16 instances, else seeded random patterns. With k instances
    the smallest p-value possible is 2 / 2^k: three instances can never give p < 0.25.
    """
    array = np.asarray(differences, dtype=float)
    if array.size == 0:
        return math.nan
    observed = abs(array.mean())
    if array.size <= _EXACT_FLIPS:
        signs = np.array(list(product((1.0, -1.0), repeat=array.size)))
    else:
        signs = np.random.default_rng(seed).choice((1.0, -1.0), size=(resamples, array.size))
    flipped = np.abs(signs @ array / array.size)
    return float(np.mean(flipped >= observed - 1e-12))


def _percentiles(replicates: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The lower and upper percentile of each column of `replicates` (or of the one vector)."""
    tail = (1 - level) / 2 * 100
    if not np.isnan(replicates).any():  # the same values as `nanpercentile`, without its loop per column
        low, high = np.percentile(replicates, [tail, 100 - tail], axis=0)
        return (low, high)
    low, high = np.nanpercentile(replicates, [tail, 100 - tail], axis=0)
    return (low, high)
