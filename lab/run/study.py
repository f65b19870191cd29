"""The lab's API for the command line and the app: plan, start, watch, stop, read and export studies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lab.models import ModelSpec, provider_for, replay
from lab.results import export, sampling, stats
from lab.run.plan import RunError, RunPlan, estimated_calls, total_items
from lab.run.records import RunStatus
from lab.run.runner import Progress, execute_run, prepare_run
from lab.run.store import RunRecord, Store

__all__ = [
    "ItemDetail",
    "Progress",
    "RunError",
    "RunPlan",
    "RunStatus",
    "Store",
    "delete_run",
    "effective_status",
    "estimated_calls",
    "execute_run",
    "export_frame",
    "export_items",
    "export_summary",
    "format_summary",
    "get_run",
    "item_detail",
    "items_frame",
    "prepare_run",
    "run_progress",
    "runs_frame",
    "start_background_run",
    "stop_run",
    "summary_frame",
    "total_items",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def get_run(store: Store, run_id: str) -> RunRecord:
    record = store.get_run(run_id)
    if record is None:
        raise RunError(f"no run {run_id!r} in {store.path}")
    return record


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def effective_status(record: RunRecord) -> RunStatus:
    """`running` in the store but its process is gone (killed, crashed): `interrupted`, resumable."""
    if record.status == RunStatus.RUNNING and not _alive(record.pid):
        return RunStatus.INTERRUPTED
    return record.status


def runs_frame(store: Store) -> pd.DataFrame:
    rows = []
    for record in store.list_runs():
        totals = store.totals(record.id)
        plan = record.plan
        rows.append(
            {
                "run_id": record.id,
                "status": effective_status(record),
                "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created)),
                "models": ", ".join(provider_for(ModelSpec(**m)).label() for m in plan["models"]),
                "probes": ", ".join(plan["probes"]),
                "modes": ", ".join(plan["modes"]),
                "items": f"{totals.items}/{record.total_items}",
                "accuracy": round(totals.correct / totals.items, 3) if totals.items else None,
                "calls": totals.calls,
                "tokens": totals.prompt_tokens + totals.completion_tokens,
                "cost_usd": round(totals.cost, 4),
                "reason": record.reason or "",
            }
        )
    return pd.DataFrame(rows)


def run_progress(store: Store, run_id: str) -> Progress:
    record = get_run(store, run_id)
    totals = store.totals(run_id)
    return Progress(
        run_id,
        totals.items,
        record.total_items,
        totals.failed_calls,
        totals.prompt_tokens,
        totals.completion_tokens,
        totals.cost,
    )


def items_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    return stats.item_frame(store.items(run_ids))


def summary_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    return stats.summary(items_frame(store, run_ids))


def functions_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """Every function of the code modes (all samples and rounds), with its unit's held-out case count."""
    return sampling.function_frame(f for f in store.functions(run_ids) if f["cases"])


def sampling_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    return sampling.sampling(functions_frame(store, run_ids))


def rounds_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    return sampling.rounds(functions_frame(store, run_ids))


def format_summary(summary: pd.DataFrame) -> str:
    shown = summary.copy()
    shown["model"] = shown["model"].map(replay.display_label)
    for column in ("accuracy", "ci_low", "ci_high"):
        shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    return shown.to_string(index=False)


def export_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """The item frame plus each item's call, `messages` (JSON) and `response`: the items CSV, replayable."""
    rows = store.items(run_ids)
    calls = store.call_texts(run_ids)
    frame = stats.item_frame(rows)
    texts = [calls.get(row["call_id"], ("", None)) for row in rows]
    frame["messages"] = pd.Series([messages for messages, _ in texts], dtype="object")
    frame["response"] = pd.Series([response for _, response in texts], dtype="object")
    return frame


def export_items(store: Store, run_ids: Sequence[str], path: str | Path) -> None:
    export.write_csv(export.items_csv(export_frame(store, run_ids)), path)


def export_summary(store: Store, run_ids: Sequence[str], path: str | Path) -> None:
    export.write_csv(export.summary_csv(summary_frame(store, run_ids)), path)


def delete_run(store: Store, run_id: str) -> None:
    record = get_run(store, run_id)
    if effective_status(record) == RunStatus.RUNNING:
        raise RunError(f"run {run_id} is still running; stop it first")
    store.delete_run(run_id)


def start_background_run(store: Store, run_id: str, env: Mapping[str, str] | None = None) -> int:
    """Execute the run in its own process, outside any caller's lifetime; returns its pid.

    `env` adds variables (such as a key typed into the app) to that process only; nothing is stored.
    """
    record = get_run(store, run_id)
    if effective_status(record) == RunStatus.RUNNING:
        raise RunError(f"run {run_id} is already running")
    log_dir = store.path.parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{run_id}.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lab", "run", "--resume", run_id, "--db", str(store.path)],
            cwd=PROJECT_ROOT,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    store.set_status(run_id, RunStatus.RUNNING, pid=process.pid)
    return process.pid


def stop_run(store: Store, run_id: str) -> None:
    record = get_run(store, run_id)
    if effective_status(record) != RunStatus.RUNNING or not record.pid:
        return
    try:
        os.killpg(record.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


@dataclass(frozen=True)
class ItemDetail:
    item: dict[str, Any]
    messages: list[dict[str, str]]
    reply: str | None
    call_error: str | None
    code: str | None
    function: dict[str, Any] | None
    held_out: list[dict[str, Any]]
    # Code modes: every sample and refinement round of the item's unit, oldest first.
    candidates: list[dict[str, Any]] = field(default_factory=list)


def candidate_table(detail: ItemDetail) -> pd.DataFrame:
    """One row per function of the item's unit: which sample and round, how it fit, how it scored."""
    cases = len(detail.held_out)
    return pd.DataFrame(
        [
            {
                "sample": c["sample"],
                "round": c["round"],
                "chosen": bool(c["chosen"]),
                "verdict": c["verdict"] or "ran",
                "lookup table": bool(c["memorised"]),
                "shown examples right": f"{sum(e['correct'] for e in c['examples'])} of {len(c['examples'])}",
                "held-out right": f"{cases - len(c['held_out_failed'])} of {cases}",
            }
            for c in detail.candidates
        ],
        columns=[
            "sample",
            "round",
            "chosen",
            "verdict",
            "lookup table",
            "shown examples right",
            "held-out right",
        ],
    )


def item_detail(store: Store, item: Mapping[str, Any]) -> ItemDetail:
    """Everything behind one item: exact prompt, raw reply, and for code modes the function's cases."""
    call = store.get_call(int(item["call_id"])) if item.get("call_id") is not None else None
    function = store.function(int(item["function_id"])) if item.get("function_id") is not None else None
    held_out: list[dict[str, Any]] = []
    if function is not None:
        siblings = store.function_items(int(item["function_id"]))
        held_out = [
            {
                "case": i["case_index"],
                "input": i["input"],
                "expected": i["expected"],
                "output": i["predicted"],
                "correct": bool(i["correct"]),
                "error": i["error"],
                "detail": i["detail"],
            }
            for i in siblings
        ]
    return ItemDetail(
        item=dict(item),
        messages=call["messages"] if call else [],
        reply=call["response"] if call else None,
        call_error=call["error"] if call else None,
        code=function["code"] if function else None,
        function=function,
        held_out=held_out,
        candidates=store.unit_functions(int(item["function_id"])) if function else [],
    )
