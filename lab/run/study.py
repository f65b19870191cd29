"""The lab's API for the command line and the app: plan, start, watch, stop, read and export studies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from lab.models import ModelSpec, provider_for
from lab.run.determinism import Determinism, determinism_note, recorded_determinism
from lab.run.plan import RunError, RunPlan, estimated_calls, quick_plan, total_items
from lab.run.prepare import prepare_run
from lab.run.records import RunStatus
from lab.run.runner import Progress, execute_run
from lab.run.store import RunRecord, Store

__all__ = [
    "Progress",
    "RunError",
    "RunPlan",
    "RunStatus",
    "Store",
    "delete_run",
    "determinism_note",
    "effective_status",
    "estimated_calls",
    "execute_run",
    "get_run",
    "prepare_run",
    "run_determinism",
    "run_progress",
    "runs_frame",
    "smoke_test_note",
    "start_background_run",
    "stop_run",
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


def delete_run(store: Store, run_id: str) -> None:
    record = get_run(store, run_id)
    if effective_status(record) == RunStatus.RUNNING:
        raise RunError(f"run {run_id} is still running; stop it first")
    store.delete_run(run_id)


def start_background_run(
    store: Store, run_id: str, env: Mapping[str, str] | None = None, *, max_cost: float | None = None
) -> int:
    """Execute the run in its own process, outside any caller's lifetime; returns its pid.

    `env` adds variables (such as a key typed into the app) to that process only; nothing is stored.
    `max_cost` (USD) stops the run cleanly once its calls have cost that much; it stays resumable.
    """
    record = get_run(store, run_id)
    if effective_status(record) == RunStatus.RUNNING:
        raise RunError(f"run {run_id} is already running")
    log_dir = store.path.parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{run_id}.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lab", "run", "--resume", run_id, "--db", str(store.path)]
            + ([] if max_cost is None else ["--max-cost", str(max_cost)]),
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


def run_determinism(store: Store, run_id: str) -> Determinism:
    """Whether a repeat of the run would give the same replies, as the run recorded when it was created."""
    return recorded_determinism(get_run(store, run_id).versions)


def smoke_test_note(plan: RunPlan) -> str | None:
    """For the quick default study, what it is for (a smoke test, not a measurement); None for any other."""
    if plan.identity_hash() != quick_plan().identity_hash():
        return None
    return (
        f"The quick study is a smoke test: it checks in a few minutes that the model, the sandbox and the "
        f"scoring work end to end. With {plan.n} held-out cases per cell and {plan.instances} function per "
        "code-mode cell it measures nothing: for a result, choose more cases and instances."
    )
