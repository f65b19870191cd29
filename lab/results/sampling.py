"""Statistics over the functions of the code modes: pass@k, best-fit selection, refinement rounds.

Pure functions: a function frame in (one row per function a model wrote, see `FUNCTION_COLUMNS`),
a tidy frame out. The instance is the unit: pass@k is per problem, as in the Codex paper (a sample
passes when it is right on every held-out case of its instance), and every interval is the cluster
bootstrap of `lab.results.bootstrap` (`ci_method` says so). Accuracies (first sample, best fit,
rounds) count held-out cases, like the items. The pass@k of the unbiased estimator per held-out
case (a case passes when one of k samples is right on it) stays as a secondary view, without an
interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from lab.models.replay import display_label
from lab.results import bootstrap

UNIT = ("run_id", "model", "probe", "setting", "mode", "instance")
GROUP = ("model", "model_label", "probe", "setting", "mode")
# `cases`: how many held-out cases the unit has; `held_out_failed`: the indices of those it got wrong.
FUNCTION_COLUMNS: tuple[str, ...] = (*UNIT, "sample", "round", "chosen", "cases", "held_out_failed")

FIRST_SAMPLE = "first sample"
BEST_FIT = "best fit"
BEST_FIT_SOLVES = "best fit solves"  # the share of instances whose chosen sample is right on every case
PER_PROBLEM = "problem"
PER_CASE = "case"
SAMPLING_COLUMNS: tuple[str, ...] = (
    *GROUP,
    "measure",
    "per",
    "k",
    "value",
    "ci_low",
    "ci_high",
    "ci_method",
    "instances",
    "cases",
)
ROUND_COLUMNS: tuple[str, ...] = (
    *GROUP,
    "round",
    "n",
    "correct",
    "accuracy",
    "ci_low",
    "ci_high",
    "ci_method",
    "instances",
    "refined",
)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): the chance that k of n samples, c of them right, hold one."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def function_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return pd.DataFrame({name: pd.Series(dtype="object") for name in FUNCTION_COLUMNS})
    missing = [name for name in FUNCTION_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"function frame lacks column(s) {', '.join(missing)}")
    return frame[[*FUNCTION_COLUMNS, *(["model_label"] if "model_label" in frame else [])]]


def sampling(functions: pd.DataFrame) -> pd.DataFrame:
    """pass@k for k = 1..S per problem and per case, the first sample's and the best fit's accuracy,
    and how often the best fit solves its problem.

    Only units with more than one sample count (with one, all of them are the item accuracy).
    Per problem: pass@k of each instance from how many of its S samples solve it, averaged over
    instances, with a cluster-bootstrap interval over instances. First sample and best fit: the
    held-out accuracy of that function, with the crossed cluster-bootstrap interval.
    """
    first = _labelled(functions)
    first = first[first["round"] == 0]
    sampled = first.groupby(list(UNIT)).filter(lambda unit: len(unit) > 1) if not first.empty else first
    rows: list[dict[str, Any]] = []
    for group, frame in sampled.groupby(list(GROUP), sort=True):
        base = dict(zip(GROUP, group, strict=True))
        units = [unit.sort_values("sample") for _, unit in frame.groupby(list(UNIT))]
        for measure, pick in ((FIRST_SAMPLE, _first), (BEST_FIT, _chosen)):
            rows.append(_accuracy_row(base, measure, [pick(unit) for unit in units]))
        samples = min(len(unit) for unit in units)
        solves = [(len(unit), sum(not failed for failed in unit["held_out_failed"])) for unit in units]
        cases = sum(int(unit["cases"].iloc[0]) for unit in units)
        solved = [float(not _chosen(unit)[1]) for unit in units]
        rows.append(
            _row(
                base,
                BEST_FIT_SOLVES,
                PER_PROBLEM,
                1,
                float(np.mean(solved)),
                bootstrap.mean_interval(solved),
                len(units),
                cases,
            )
        )
        for k in range(1, samples + 1):
            values = [pass_at_k(n, c, k) for n, c in solves]
            low, high = bootstrap.mean_interval(values)
            rows.append(
                _row(
                    base, f"pass@{k}", PER_PROBLEM, k, float(np.mean(values)), (low, high), len(units), cases
                )
            )
        for k in range(1, samples + 1):
            value = float(np.mean([p for unit in units for p in _case_passes(unit, k)]))
            rows.append(_row(base, f"pass@{k} per case", PER_CASE, k, value, None, len(units), cases))
    return pd.DataFrame(rows, columns=list(SAMPLING_COLUMNS))


def rounds(functions: pd.DataFrame) -> pd.DataFrame:
    """Accuracy of the chosen function after each refinement round, per group.

    A unit whose function already fit the shown examples stopped refining; its last function
    counts for the later rounds, up to the last round any unit reached. `refined`: how many units
    had a function of that round. Intervals: the crossed cluster bootstrap over instances.
    """
    labelled = _labelled(functions)
    chosen = labelled[labelled["chosen"].astype(bool)]
    rows: list[dict[str, Any]] = []
    # Every group runs to the last round seen anywhere, so the curves of a chart line up.
    last_round = int(chosen["round"].max()) if not chosen.empty else 0
    grids: list[bootstrap.Grid] = []  # one per row, their intervals drawn together below
    for group, frame in chosen.groupby(list(GROUP), sort=True):
        base = dict(zip(GROUP, group, strict=True))
        chains = _chains(frame)
        current = [chain[min(chain)] for chain in chains]
        for r in range(last_round + 1):
            refined = 0
            for index, chain in enumerate(chains):
                if r in chain:
                    current[index] = (current[index][0], chain[r][1])
                    refined += 1
            cell = _cases_grid(current)
            grids.append(cell)
            n, right = int((~np.isnan(cell.right)).sum()), int(np.nansum(cell.right))
            rows.append(
                {
                    **base,
                    "round": r,
                    "n": n,
                    "correct": right,
                    "accuracy": right / n,
                    "ci_low": math.nan,
                    "ci_high": math.nan,
                    "ci_method": bootstrap.CLUSTER_BOOTSTRAP,
                    "instances": len(chains),
                    "refined": refined,
                }
            )
    for row, (low, high) in zip(rows, bootstrap.accuracy_intervals(grids), strict=True):
        row["ci_low"], row["ci_high"] = low, high
    return pd.DataFrame(rows, columns=list(ROUND_COLUMNS))


def _chains(frame: pd.DataFrame) -> list[dict[int, tuple[int, Any]]]:
    """Per unit (in the order of `UNIT`), its chosen functions by round: (held-out cases, failed indices).

    The first function of a round counts."""
    chains: dict[tuple[Any, ...], dict[int, tuple[int, Any]]] = {}
    units = zip(*(frame[name] for name in UNIT), strict=True)
    for unit, r, cases, failed in zip(
        units, frame["round"], frame["cases"], frame["held_out_failed"], strict=True
    ):
        chains.setdefault(unit, {}).setdefault(int(r), (int(cases), failed))
    return [chains[unit] for unit in sorted(chains)]


def _labelled(functions: pd.DataFrame) -> pd.DataFrame:
    if "model_label" in functions.columns:
        return functions
    labelled = functions.copy()
    labelled["model_label"] = functions["model"].map(display_label).astype("object")
    return labelled


def _first(unit: pd.DataFrame) -> tuple[int, list[int]]:
    return int(unit["cases"].iloc[0]), list(unit["held_out_failed"].iloc[0])


def _chosen(unit: pd.DataFrame) -> tuple[int, list[int]]:
    chosen = unit[unit["chosen"].astype(bool)]
    failed = list(chosen["held_out_failed"].iloc[0]) if not chosen.empty else None
    # A unit with no chosen function scores no case.
    return int(unit["cases"].iloc[0]), failed if failed is not None else list(
        range(int(unit["cases"].iloc[0]))
    )


def _cases_grid(units: list[tuple[int, list[int]]]) -> bootstrap.Grid:
    """One row per unit: 1 where its function was right on a held-out case, 0 where wrong."""
    width = max(cases for cases, _ in units)
    right = np.full((len(units), width), np.nan)
    for row, (cases, failed) in enumerate(units):
        right[row, :cases] = 1.0
        right[row, [f for f in failed if f < cases]] = 0.0
    return bootstrap.Grid(right, clustered=True)


def _accuracy_row(base: dict[str, Any], measure: str, units: list[tuple[int, list[int]]]) -> dict[str, Any]:
    cell = _cases_grid(units)
    cases = int((~np.isnan(cell.right)).sum())
    return _row(
        base, measure, PER_CASE, 1, cell.estimate, bootstrap.accuracy_interval(cell), len(units), cases
    )


def _case_passes(unit: pd.DataFrame, k: int) -> list[float]:
    failed = [set(f) for f in unit["held_out_failed"]]
    n_cases = int(unit["cases"].iloc[0])
    return [pass_at_k(len(failed), sum(case not in f for f in failed), k) for case in range(n_cases)]


def _row(
    base: dict[str, Any],
    measure: str,
    per: str,
    k: int,
    value: float,
    interval: tuple[float, float] | None,
    instances: int,
    cases: int,
) -> dict[str, Any]:
    low, high = interval if interval is not None else (math.nan, math.nan)
    return {
        **base,
        "measure": measure,
        "per": per,
        "k": k,
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "ci_method": bootstrap.CLUSTER_BOOTSTRAP if interval is not None else "none",
        "instances": instances,
        "cases": cases,
    }
