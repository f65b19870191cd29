"""The pre-run estimate (`lab run --dry-run`) and the `--max-cost` cap, against a scripted server that
reports usage, priced by litellm's price map."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from lab import cli
from lab.models import DEFAULT_MODEL, ModelSpec, RetryPolicy, model_spec
from lab.run import study
from lab.run.cost import CostCap, check_cost_cap, estimate
from lab.run.plan import RunPlan, estimated_calls, total_items
from lab.run.store import Store
from tests.scripted import plan_responder
from tests.scripted_server import ScriptedServer

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=20)
PRICED = "openai/gpt-4o-mini"  # in litellm's price map; the scripted server answers in its name


def priced_plan(base_url: str, **overrides: object) -> RunPlan:
    values: dict[str, object] = {
        "models": (ModelSpec(PRICED, base_url),),
        "probes": ("arithmetic:base=9", "syntax:order=sov"),
        "modes": ("deductive", "io"),
        "shots": 3,
        "n": 6,
        "instances": 1,
        "max_tokens": 64,
        "concurrency": 4,
    }
    values.update(overrides)
    return RunPlan(**values)  # type: ignore[arg-type]


def call_costs(db_path: Path, run_id: str) -> list[float]:
    with sqlite3.connect(db_path) as db:
        return [
            c for (c,) in db.execute("SELECT cost FROM calls WHERE run_id = ? AND error IS NULL", (run_id,))
        ]


def test_max_cost_stops_within_one_call_of_the_cap_and_resumes(tmp_path: Path) -> None:
    with ScriptedServer() as server:
        plan = priced_plan(server.base_url)
        server.responder = plan_responder(plan, lambda u: True)
        # The same study, uncapped, in another store: what each call costs.
        full_db = tmp_path / "full.db"
        full = study.execute_run(Store(full_db), study.prepare_run(Store(full_db), plan), retry=FAST_RETRY)
        costs = call_costs(full_db, full.id)
        assert len(costs) == estimated_calls(plan) == 24 and min(costs) > 0
        cap = sum(costs) / 3

        store = Store(tmp_path / "capped.db")
        run_id = study.prepare_run(store, plan)
        asked_before = server.chat_requests
        record = study.execute_run(store, run_id, retry=FAST_RETRY, max_cost=cap)
        spent = store.totals(run_id).cost
        assert record.status == "stopped"
        assert "cost cap" in (record.reason or "") and "--max-cost" in (record.reason or "")
        assert cap - max(costs) <= spent <= cap + max(costs)
        assert 0 < store.totals(run_id).items < total_items(plan)

        record = study.execute_run(store, run_id, retry=FAST_RETRY, preflight=False)
        assert record.status == "finished"
        assert store.totals(run_id).items == total_items(plan)
        # Nothing was asked twice: the capped part and the resumed part add up to the study.
        assert server.chat_requests - asked_before == estimated_calls(plan) + 1  # + the preflight probe
        assert store.totals(run_id).cost == pytest.approx(sum(costs))


def test_a_cap_already_spent_starts_no_call(tmp_path: Path) -> None:
    with ScriptedServer() as server:
        plan = priced_plan(server.base_url)
        server.responder = plan_responder(plan, lambda u: True)
        store = Store(tmp_path / "zero.db")
        run_id = study.prepare_run(store, plan)
        record = study.execute_run(store, run_id, retry=FAST_RETRY, preflight=False, max_cost=0.0)
        assert record.status == "stopped" and server.chat_requests == 0


def test_cost_cap_admits_calls_by_the_mean_cost_and_waits_for_calls_in_flight() -> None:
    async def calls() -> None:
        cap = CostCap(1.0, spent=0.0)
        assert await cap.begin()  # the first call: its cost is not known yet
        second = asyncio.create_task(cap.begin())
        await asyncio.sleep(0.05)
        assert not second.done()  # until the first call's cost is known, one call at a time
        cap.end(0.3)
        assert await second and await cap.begin()  # 0.3 spent + 2 x 0.3 in flight <= 1.0
        third = asyncio.create_task(cap.begin())
        await asyncio.sleep(0.05)
        assert not third.done()  # 0.3 + 3 x 0.3 > 1.0: it waits for the calls in flight
        cap.end(0.3)
        cap.end(0.3)
        assert await asyncio.wait_for(third, 5) is False and cap.reached.is_set()  # 0.9 spent: no room
        assert not await cap.begin()

    asyncio.run(calls())


def test_without_a_cap_every_call_starts() -> None:
    async def calls() -> list[bool]:
        return [await cap.begin() for _ in range(3)]

    cap = CostCap(None, spent=100.0)
    assert all(asyncio.run(calls())) and not cap.reached.is_set()
    with pytest.raises(ValueError, match="-1"):
        check_cost_cap(-1, [])


def test_estimate_prices_known_models_and_says_when_a_price_is_unknown() -> None:
    plan = priced_plan(
        "http://127.0.0.1:9/v1",
        models=(
            model_spec(PRICED, "http://127.0.0.1:9/v1"),
            model_spec("my-own-model", "http://127.0.0.1:9/v1"),
            model_spec("replay/recorded.csv"),
        ),
        modes=("io", "solverlearner"),
        samples=2,
        rounds=1,
    )
    priced, unknown, replay = estimate(plan)
    assert priced.calls == unknown.calls == replay.calls == estimated_calls(plan) // 3
    assert priced.max_completion_tokens == priced.calls * plan.max_tokens
    assert priced.prompt_tokens > 10 * priced.calls
    assert 0 < priced.prompt_cost < priced.max_cost  # type: ignore[operator]
    assert unknown.prompt_cost is None and unknown.max_cost is None
    assert replay.max_cost == 0.0


def test_dry_run_prints_the_estimate_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = tmp_path / "never.db"
    argv = ["run", "--dry-run", "--db", str(db), "--model", PRICED, "--model", "my-own-model"]
    argv += ["--api-base", "http://127.0.0.1:9/v1", "--api-base", "http://127.0.0.1:10/v1"]
    argv += ["--probe", "syntax:order=sov", "--mode", "io", "--n", "5", "--instances", "1"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert not db.exists()
    lines = out.splitlines()
    assert lines[1].startswith(f"{PRICED} @ http://127.0.0.1:9/v1") and "for the prompts" in lines[1]
    assert "unknown: litellm's price map does not list this model" in lines[2]
    assert "total: 10 calls" in out and "1 model(s) of unknown price" in out


def test_a_cap_on_a_model_of_unknown_price_is_refused_before_anything_is_stored_or_called(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Its calls would count as 0 USD, so the cap would never stop the run: refused, saying which model."""
    db = tmp_path / "runs.db"
    with ScriptedServer() as server:
        argv = ["run", "--db", str(db), "--model", "my-own-model", "--api-base", server.base_url]
        argv += ["--probe", "syntax:order=sov", "--mode", "io", "--n", "2", "--instances", "1"]
        assert cli.main([*argv, "--max-cost", "1"]) == 2
        assert "--max-cost 1 cannot cap my-own-model" in capsys.readouterr().err
        assert server.chat_requests == 0 and not Store(db).list_runs()

        # A run stored without a cap is refused one on resume, and stays as it was.
        plan = priced_plan(server.base_url, models=(ModelSpec("openai/my-own-model", server.base_url),))
        store = Store(db)
        run_id = study.prepare_run(store, plan)
        with pytest.raises(ValueError, match="cannot cap openai/my-own-model"):
            study.execute_run(store, run_id, retry=FAST_RETRY, max_cost=5.0)
        assert server.chat_requests == 0 and store.get_run(run_id).status == "pending"

    # Priced models and local ones (which cost nothing) take a cap; the message names only the unpriced.
    local = [model_spec("replay/recorded.csv"), model_spec(DEFAULT_MODEL)]
    check_cost_cap(1.0, [ModelSpec(PRICED, "http://127.0.0.1:9/v1"), *local])
    free = estimate(priced_plan("http://127.0.0.1:9/v1", models=tuple(local)))
    assert [e.max_cost for e in free] == [0.0, 0.0]  # the estimate says free, not unknown
    with pytest.raises(ValueError, match=r"cannot cap a/x, b/y: .* does not list them"):
        check_cost_cap(0.5, [ModelSpec("a/x"), ModelSpec(PRICED), ModelSpec("b/y")])
