"""The batched bootstrap gives, cell by cell, exactly what one cell alone gives by the textbook formula.

The reference below is the per-cell computation written out plainly (one matrix product per cell,
percentiles of one vector): the batched one must match it bit for bit, since users publish the intervals.
"""

from __future__ import annotations

import numpy as np
import pytest

from lab.results import bootstrap
from lab.results.intervals import LEVEL, clip, mover_interval, wilson_interval, wilson_limits


def reference_means(
    cell: bootstrap.Grid, instance_weights: np.ndarray, case_weights: np.ndarray
) -> np.ndarray:
    measured = ~np.isnan(cell.right)
    right = np.where(measured, cell.right, 0.0)
    numerator = ((instance_weights @ right) * case_weights).sum(axis=1)
    denominator = ((instance_weights @ measured.astype(float)) * case_weights).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return numerator / denominator


def reference_limits(replicates: np.ndarray) -> tuple[float, float]:
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.nanpercentile(replicates, [tail, 100 - tail])
    return float(low), float(high)


def reference_accuracy(cell: bootstrap.Grid) -> tuple[float, float]:
    if not cell.clustered:
        measured = cell.right[~np.isnan(cell.right)]
        return wilson_interval(int(measured.sum()), int(measured.size))
    (weights,) = bootstrap.seeded_draws(bootstrap.SEED, ((cell.instances, cell.cases),), bootstrap.RESAMPLES)
    low, high = reference_limits(reference_means(cell, weights.instances, weights.cases))
    estimate = cell.estimate
    if cell.thin():
        floor_low, floor_high = wilson_limits(estimate, cell.instances)
        low, high = min(low, floor_low), max(high, floor_high)
    return clip(min(low, estimate), 0.0, 1.0), clip(max(high, estimate), 0.0, 1.0)


def reference_combination(terms: list[tuple[float, bootstrap.Grid]], *, paired: bool) -> tuple[float, float]:
    shapes = ((1, terms[0][1].cases),) if paired else ()
    drawn = bootstrap.seeded_draws(
        bootstrap.SEED, shapes + tuple((c.instances, c.cases) for _, c in terms), bootstrap.RESAMPLES
    )
    total = np.zeros(bootstrap.RESAMPLES)
    for (weight, cell), weights in zip(terms, drawn[len(shapes) :], strict=True):
        cases = drawn[0].cases if paired else weights.cases
        total += weight * reference_means(cell, weights.instances, cases)
    low, high = reference_limits(total)
    estimate = sum(weight * cell.estimate for weight, cell in terms)
    if any(cell.thin() for _, cell in terms):
        parts = [(w, cell.estimate, *reference_accuracy(cell)) for w, cell in terms]
        mover_low, mover_high = mover_interval(parts)
        low, high = min(low, mover_low), max(high, mover_high)
    return clip(min(low, estimate), -1.0, 1.0), clip(max(high, estimate), -1.0, 1.0)


def random_grid(rng: np.random.Generator, instances: int, cases: int, *, gaps: bool) -> bootstrap.Grid:
    right = (rng.random((instances, cases)) < rng.uniform(0.2, 0.9)).astype(float)
    if gaps:
        right[rng.random((instances, cases)) < 0.15] = np.nan
        right[0, 0] = 1.0  # at least one measured item
    return bootstrap.Grid(right)


@pytest.fixture
def cells() -> list[bootstrap.Grid]:
    rng = np.random.default_rng(7)
    shapes = [(3, 11), (6, 11), (3, 11), (1, 7), (6, 11), (3, 11), (8, 5)]
    made = [random_grid(rng, k, n, gaps=index % 2 == 1) for index, (k, n) in enumerate(shapes)]
    made.append(bootstrap.Grid(np.ones((6, 11))))  # every item right: thin, floored
    made.append(bootstrap.Grid(np.array([[1.0, 0, 1, 1, 0]]), clustered=False))
    return made


def test_batch_means_are_each_cells_means_bit_for_bit_across_chunks(
    cells: list[bootstrap.Grid], monkeypatch: pytest.MonkeyPatch
) -> None:
    same = [cell for cell in cells if cell.right.shape == (3, 11)]
    (weights,) = bootstrap.seeded_draws(bootstrap.SEED, ((3, 11),), bootstrap.RESAMPLES)
    monkeypatch.setattr(bootstrap, "_ROWS", 4)  # one cell of 3 instances per matrix product
    batched = bootstrap.batch_means(same, weights.instances, weights.cases)
    assert batched.shape == (bootstrap.RESAMPLES, len(same))
    for column, cell in enumerate(same):
        expected = reference_means(cell, weights.instances, weights.cases)
        assert np.array_equal(batched[:, column], expected, equal_nan=True)


def test_accuracy_intervals_match_each_cell_alone(cells: list[bootstrap.Grid]) -> None:
    assert bootstrap.accuracy_intervals(cells) == [reference_accuracy(cell) for cell in cells]
    # The order of the cells changes nothing.
    assert bootstrap.accuracy_intervals(cells[::-1]) == [reference_accuracy(cell) for cell in cells[::-1]]


def test_combination_intervals_match_each_combination_alone(cells: list[bootstrap.Grid]) -> None:
    rng = np.random.default_rng(3)
    paired = [
        [(1.0, random_grid(rng, 3, 9, gaps=False)), (-1.0, random_grid(rng, k, 9, gaps=True))]
        for k in (3, 6, 3, 1, 6)
    ]
    assert bootstrap.combination_intervals(paired, paired=True) == [
        reference_combination(terms, paired=True) for terms in paired
    ]
    drops = [
        [(1.0, cells[0]), (-0.5, cells[2]), (-0.5, cells[5])],
        [(1.0, cells[1]), (-1.0, cells[4])],
        [(1.0, cells[0]), (-0.5, cells[5]), (-0.5, cells[2])],
        [(1.0, cells[7]), (-1.0, cells[1])],
    ]
    assert bootstrap.combination_intervals(drops, paired=False) == [
        reference_combination(terms, paired=False) for terms in drops
    ]


def test_paired_combinations_need_one_case_count() -> None:
    rng = np.random.default_rng(1)
    terms = [(1.0, random_grid(rng, 3, 9, gaps=False)), (-1.0, random_grid(rng, 3, 8, gaps=False))]
    with pytest.raises(ValueError, match="same cases"):
        bootstrap.combination_intervals([terms], paired=True)
