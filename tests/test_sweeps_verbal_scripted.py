"""A scripted sweep run through the verbal modes: both turns answered by `plan_responder`."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.models import ModelSpec, RetryPolicy
from lab.results import read
from lab.run import study
from lab.run.plan import RunPlan
from lab.run.store import Store
from tests.scripted import plan_responder
from tests.scripted_server import ScriptedServer


def test_verbal_modes_run_scripted_at_every_sweep_point(db_path: Path) -> None:
    with ScriptedServer() as server:
        plan = RunPlan(
            models=(ModelSpec("openai/scripted", api_base=server.base_url),),
            probes=("arithmetic:base=9",),
            modes=("verbal_apply", "verbal_code", "solverlearner"),
            shots=(1, 2),
            n=3,
            instances=2,
            max_tokens=64,
            concurrency=2,
        )
        server.responder = plan_responder(plan, lambda unit: unit.instance % plan.instances == 0)
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)
        record = study.execute_run(store, run_id, retry=RetryPolicy(attempts=2, base_delay=0.01, timeout=20))
        assert record.status == "finished", record.reason
    items = read.items_frame(store, [run_id])
    assert set(items["error"].dropna()) <= {"wrong_answer", "wrong_output", "runtime_error"}, set(
        items["error"]
    )
    table = read.summary_frame(store, [run_id])
    assert list(zip(table["mode"], table["shots"], strict=True)) == [
        ("solverlearner", 1),
        ("solverlearner", 2),
        ("verbal_apply", 1),
        ("verbal_apply", 2),
        ("verbal_code", 1),
        ("verbal_code", 2),
    ]
    assert (
        list(table["n"]) == [6] * 6 and list(table["accuracy"]) == [0.5] * 6
    )  # the first instance of a point right
    code = table[table["mode"] != "verbal_apply"]
    assert list(code["ci_method"]) == ["cluster_bootstrap"] * 4
    assert list(code["instance_solve_rate"]) == pytest.approx([0.5] * 4)
    assert (table["truncated"] == 0).all()
