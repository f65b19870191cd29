"""Statistics over the functions of the code modes: pass@k, best-fit selection, refinement rounds.

Pure functions: a function frame in (one row per function a model wrote, see `FUNCTION_COLUMNS`),
a tidy frame out. A function's correctness is counted per held-out case, like the items: a case
is passed by a function when the function's output on it is right.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from lab.results.stats import wilson_interval

UNIT = ("run_id", "model", "probe", "setting", "mode", "instance")
GROUP = ("model", "probe", "setting", "mode")
# `cases`: how many held-out cases the unit has; `held_out_failed`: the indices of those it got wrong.
FUNCTION_COLUMNS: tuple[str, ...] = (*UNIT, "sample", "round", "chosen", "cases", "held_out_failed")

FIRST_SAMPLE = "first sample"
BEST_FIT = "best fit"
SAMPLING_COLUMNS: tuple[str, ...] = (*GROUP, "measure", "k", "value", "ci_low", "ci_high", "cases")
ROUND_COLUMNS: tuple[str, ...] = (*GROUP, "round", "n", "correct", "accuracy", "ci_low", "ci_high", "refined")


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
    return frame[list(FUNCTION_COLUMNS)]


def sampling(functions: pd.DataFrame) -> pd.DataFrame:
    """pass@k for k = 1..S, the first sample's accuracy and the best-fit sample's, per group.

    Only units with more than one sample count (with one, all three are the item accuracy). pass@k
    is the mean of the unbiased estimator over the held-out cases of every instance; the first
    sample and the best fit come with a 95% Wilson interval over those cases.
    """
    first = functions[functions["round"] == 0]
    sampled = first.groupby(list(UNIT)).filter(lambda unit: len(unit) > 1) if not first.empty else first
    rows: list[dict[str, Any]] = []
    for group, frame in sampled.groupby(list(GROUP), sort=True):
        passes: dict[int, list[float]] = {}
        first_right = best_right = cases = 0
        for _, unsorted in frame.groupby(list(UNIT)):
            unit = unsorted.sort_values("sample")
            n_cases = int(unit["cases"].iloc[0])
            failed = [set(f) for f in unit["held_out_failed"]]
            samples = len(failed)
            for case in range(n_cases):
                right = sum(1 for f in failed if case not in f)
                for k in range(1, samples + 1):
                    passes.setdefault(k, []).append(pass_at_k(samples, right, k))
            first_right += n_cases - len(failed[0])
            chosen = unit[unit["chosen"].astype(bool)]
            best_right += n_cases - len(chosen["held_out_failed"].iloc[0]) if not chosen.empty else 0
            cases += n_cases
        base = dict(zip(GROUP, group, strict=True))
        for measure, right in ((FIRST_SAMPLE, first_right), (BEST_FIT, best_right)):
            low, high = wilson_interval(right, cases)
            rows.append(
                {
                    **base,
                    "measure": measure,
                    "k": 1,
                    "value": right / cases,
                    "ci_low": low,
                    "ci_high": high,
                    "cases": cases,
                }
            )
        for k, values in sorted(passes.items()):
            rows.append(
                {
                    **base,
                    "measure": f"pass@{k}",
                    "k": k,
                    "value": sum(values) / len(values),
                    "ci_low": float("nan"),
                    "ci_high": float("nan"),
                    "cases": len(values),
                }
            )
    return pd.DataFrame(rows, columns=list(SAMPLING_COLUMNS))


def rounds(functions: pd.DataFrame) -> pd.DataFrame:
    """Accuracy of the chosen function after each refinement round, per group.

    A unit whose function already fit the shown examples stopped refining; its last function
    counts for the later rounds, up to the last round any unit reached. `refined`: how many units
    had a function of that round.
    """
    chosen = functions[functions["chosen"].astype(bool)]
    rows: list[dict[str, Any]] = []
    # Every group runs to the last round seen anywhere, so the curves of a chart line up.
    last_round = int(chosen["round"].max()) if not chosen.empty else 0
    for group, frame in chosen.groupby(list(GROUP), sort=True):
        totals = {r: [0, 0, 0] for r in range(last_round + 1)}  # round -> [cases, right, refined]
        for _, unit in frame.groupby(list(UNIT)):
            chain = unit.sort_values("round")
            n_cases = int(chain["cases"].iloc[0])
            by_round = {int(r): set(f) for r, f in zip(chain["round"], chain["held_out_failed"], strict=True)}
            failed = by_round[0]
            for r in range(last_round + 1):
                if r in by_round:
                    failed = by_round[r]
                    totals[r][2] += 1
                totals[r][0] += n_cases
                totals[r][1] += n_cases - len(failed)
        base = dict(zip(GROUP, group, strict=True))
        for r, (n, right, refined) in totals.items():
            low, high = wilson_interval(right, n)
            rows.append(
                {
                    **base,
                    "round": r,
                    "n": n,
                    "correct": right,
                    "accuracy": right / n,
                    "ci_low": low,
                    "ci_high": high,
                    "refined": refined,
                }
            )
    return pd.DataFrame(rows, columns=list(ROUND_COLUMNS))
