"""The oracle mode's results: per setting, how often the last submission solved the instance, and how
many queries and submissions it took, with intervals (the instance is the unit).

Everything is read back from what the run stored: an instance's items (the last submission on the
held-out cases) and its last call, whose messages hold every turn of the conversation. The oracle's
own turns end with a usage line, so the counts are read, not recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd

from lab.results.bootstrap import mean_interval
from lab.results.intervals import wilson_interval
from lab.run.store import Store
from lab.tasks.modes import MODES
from lab.tasks.oracle import Budget, Submission, Usage, parse_reply, read_usage

UNIT_KEYS = ["run_id", "model", "probe", "setting", "mode", "instance"]
SETTING_KEYS = ["run_id", "model", "probe", "setting"]
SUMMARY_COLUMNS = [
    *SETTING_KEYS,
    "instances",
    "success",
    "success_low",
    "success_high",
    "queries",
    "queries_low",
    "queries_high",
    "query_budget",
    "submissions",
    "submissions_low",
    "submissions_high",
    "submission_budget",
]


def final_usage(messages: Sequence[dict[str, str]], response: str | None) -> Usage:
    """What a whole conversation used: the oracle's last usage line, plus a submission in the last reply."""
    used = read_usage(list(messages))
    submitted = response is not None and isinstance(parse_reply(response), Submission)
    return Usage(used.queries, used.submissions + int(submitted))


def unit_frame(items: pd.DataFrame, calls: dict[int, tuple[str, str | None]]) -> pd.DataFrame:
    """One row per oracle instance: solved (every held-out case right), queries and submissions used.

    `items` is the item frame with links (`call_id`); `calls` maps a call id to its messages (JSON)
    and response, as `Store.call_texts` gives them."""
    oracle = items[items["mode"].map(lambda mode: MODES[mode].interactive)]
    rows = []
    for key, unit in oracle.groupby(UNIT_KEYS, sort=True):
        call_id = unit["call_id"].dropna()
        messages, response = calls.get(int(call_id.iloc[0]), ("[]", None)) if len(call_id) else ("[]", None)
        used = final_usage(json.loads(messages), response)
        rows.append(
            dict(zip(UNIT_KEYS, key, strict=True))
            | {
                "solved": bool(unit["correct"].all()),
                "queries": used.queries,
                "submissions": used.submissions,
            }
        )
    return pd.DataFrame(rows, columns=[*UNIT_KEYS, "solved", "queries", "submissions"])


def summary(units: pd.DataFrame, budgets: dict[str, Budget]) -> pd.DataFrame:
    """Per run, model and setting: success rate (Wilson over instances), mean queries and mean
    submissions (a bootstrap over instances of the share of the budget used, scaled back)."""
    rows = []
    for key, cell in units.groupby(SETTING_KEYS, sort=True):
        budget = budgets[str(key[0])]
        solved = int(cell["solved"].sum())
        low, high = wilson_interval(solved, len(cell))
        row = dict(zip(SETTING_KEYS, key, strict=True)) | {
            "instances": len(cell),
            "success": solved / len(cell),
            "success_low": low,
            "success_high": high,
        }
        for column, allowed in (("queries", budget.queries), ("submissions", budget.submissions)):
            row |= _mean_with_interval(cell[column].tolist(), allowed, column)
        row |= {"query_budget": budget.queries, "submission_budget": budget.submissions}
        rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _mean_with_interval(values: list[int], allowed: int, name: str) -> dict[str, float]:
    mean = sum(values) / len(values)
    if allowed == 0:
        return {name: mean, f"{name}_low": 0.0, f"{name}_high": 0.0}
    low, high = mean_interval([v / allowed for v in values])
    return {name: mean, f"{name}_low": low * allowed, f"{name}_high": high * allowed}


def run_budget(plan: dict[str, object]) -> Budget:
    """The budget a stored plan ran with (the defaults where the plan does not say)."""
    default = Budget()
    queries, submissions = plan.get("queries"), plan.get("submissions")
    return Budget(
        queries if isinstance(queries, int) else default.queries,
        submissions if isinstance(submissions, int) else default.submissions,
    )


def oracle_summary(store: Store, items: pd.DataFrame) -> pd.DataFrame:
    """The summary of the oracle items in `items` (the item frame with links), read from `store`."""
    run_ids = sorted(set(items["run_id"]))
    units = unit_frame(items, store.call_texts(run_ids))
    budgets = {}
    for run_id in run_ids:
        record = store.get_run(run_id)
        budgets[run_id] = run_budget(record.plan if record else {})
    return summary(units, budgets)
