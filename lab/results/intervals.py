"""Closed-form intervals and exact tests on counts: Wilson, MOVER, Newcombe's paired interval, McNemar, Holm.

Pure functions of whole-number counts. The cluster-aware intervals of the code modes live in
`lab.results.bootstrap`; which one a table uses is said by its `ci_method` column.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

WILSON = "wilson"
LEVEL = 0.95


def wilson_interval(correct: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson score interval for `correct` successes out of `n`; `(nan, nan)` when `n == 0`.

    statsmodels computes it; at 0/n and n/n its floating-point limits can miss the estimate by
    ~1e-16 (e.g. 0/7 gives a lower limit of 2.8e-17), so the limits are widened to contain the
    estimate, which makes them exactly 0 and 1 at those edges.
    """
    check_count(correct, n)
    check_level(level)
    return _wilson(int(correct), int(n), float(level))


@functools.lru_cache(maxsize=65536)  # a table's cells repeat few counts (n is mostly the cases a cell has)
def _wilson(correct: int, n: int, level: float) -> tuple[float, float]:
    """`wilson_interval` of checked counts: memoised after the checks, so that a cached (1, 2) never
    answers for a refused (True, 2)."""
    if n == 0:
        return (math.nan, math.nan)
    low, high = proportion_confint(correct, n, alpha=1 - level, method="wilson")
    estimate = correct / n
    return (min(float(low), estimate), max(float(high), estimate))


def wilson_limits(estimate: float, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The Wilson formula at a proportion that need not be a whole count over `n` (n >= 1).

    Used as the floor of a cluster-aware interval: `n` instances, each counted as one trial.
    """
    check_level(level)
    if n < 1 or not 0 <= estimate <= 1:
        raise ValueError(f"need n >= 1 and 0 <= estimate <= 1, got estimate={estimate!r}, n={n!r}")
    z = _z(level)
    centre = (estimate + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(estimate * (1 - estimate) / n + z * z / (4 * n * n))
    return (min(centre - half, estimate), max(centre + half, estimate))


def mover_interval(terms: Sequence[tuple[float, float, float, float]]) -> tuple[float, float]:
    """MOVER interval (Zou & Donner 2008) for sum(c * p) over independent estimates p.

    `terms` holds (c, estimate, low, high), each with its own interval. The limits of the sum are
    its estimate -/+ the root of the summed squared distances from each scaled estimate to the
    near/far limit of its scaled interval.
    """
    estimate = below = above = 0.0
    for weight, value, low, high in terms:
        term_low, term_high = sorted((weight * low, weight * high))
        estimate += weight * value
        below += (weight * value - term_low) ** 2
        above += (term_high - weight * value) ** 2
    return (estimate - math.sqrt(below), estimate + math.sqrt(above))


def mover_wilson_interval(
    terms: Sequence[tuple[float, int, int]], level: float = LEVEL
) -> tuple[float, float]:
    """`mover_interval` over independent proportions given as (c, correct, n), each with its Wilson limits.

    With terms [(1, a, m), (-1, b, k)] this is exactly Newcombe's hybrid score interval for the
    difference of two independent proportions. `(nan, nan)` if any n is 0.
    """
    if any(n == 0 for _, _, n in terms):
        return (math.nan, math.nan)
    return mover_interval([(w, c / n, *wilson_interval(c, n, level)) for w, c, n in terms])


def paired_difference_interval(
    both: int, only_first: int, only_second: int, neither: int, level: float = LEVEL
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 - p2 of two proportions measured on the same items.

    Newcombe 1998 ("Improved confidence intervals for the difference between binomial proportions
    based on paired data", Stat Med 17:2635-2650), method 10: the Wilson limits of p1 and p2
    combined with the correlation phi of the paired table, with phi's numerator ad - bc moved
    n/2 towards zero when positive. Counts: items right in both, in the first only, in the second
    only, in neither. Clipped to [-1, 1]; `(nan, nan)` for no items.
    """
    counts = (both, only_first, only_second, neither)
    if any(isinstance(c, bool) or int(c) != c or c < 0 for c in counts):
        raise ValueError(f"paired counts must be whole numbers >= 0, got {counts!r}")
    check_level(level)
    n = sum(counts)
    if n == 0:
        return (math.nan, math.nan)
    first, second = both + only_first, both + only_second
    p1, p2 = first / n, second / n
    l1, u1 = wilson_interval(first, n, level)
    l2, u2 = wilson_interval(second, n, level)
    product = first * (n - first) * second * (n - second)
    cross = both * neither - only_first * only_second
    numerator = cross - n / 2 if cross > n / 2 else min(cross, 0)
    phi = numerator / math.sqrt(product) if product > 0 else 0.0
    d1, e2 = p1 - l1, u2 - p2
    e1, d2 = u1 - p1, p2 - l2
    low = (p1 - p2) - math.sqrt(max(d1 * d1 - 2 * phi * d1 * e2 + e2 * e2, 0.0))
    high = (p1 - p2) + math.sqrt(max(d2 * d2 - 2 * phi * d2 * e1 + e1 * e1, 0.0))
    return (clip(low, -1.0, 1.0), clip(high, -1.0, 1.0))


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (a binomial test at 1/2); 1 if none."""
    if min(only_first, only_second) < 0:
        raise ValueError(f"discordant counts must be >= 0, got {only_first!r} and {only_second!r}")
    if only_first + only_second == 0:
        return 1.0
    table = [[0, only_first], [only_second, 0]]
    return float(mcnemar(table, exact=True).pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (NaN stays NaN and is not counted)."""
    present = [i for i, p in enumerate(p_values) if not math.isnan(p)]
    adjusted = [math.nan] * len(p_values)
    if present:
        # statsmodels' `multipletests(method="holm")` arithmetic, without the full garbage collection it
        # runs on every call (0.08 s with the app's modules loaded): the k-th smallest p times (m - k + 1),
        # a running maximum, capped at 1. Ties get the same value whichever comes first.
        values = np.asarray([p_values[i] for i in present], dtype=float)
        order = np.argsort(values)
        steps = np.maximum.accumulate(values[order] * np.arange(len(values), 0, -1))
        steps[steps > 1] = 1
        corrected = np.empty_like(steps)
        corrected[order] = steps
        for i, value in zip(present, corrected, strict=True):
            adjusted[i] = float(value)
    return adjusted


def check_count(correct: int, n: int) -> None:
    if isinstance(correct, bool) or isinstance(n, bool):
        raise TypeError(f"counts must be whole numbers, got correct={correct!r}, n={n!r}")
    if int(correct) != correct or int(n) != n or not 0 <= correct <= n:
        raise ValueError(f"need whole numbers 0 <= correct <= n, got correct={correct!r}, n={n!r}")


def check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"confidence level must lie strictly between 0 and 1, got {level!r}")


def clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)
