"""A direct mode's call and its items are stored in one commit, shared by the calls that end together; a
reply whose scoring fails is still kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lab.models import ModelSpec, RetryPolicy
from lab.run import study
from lab.run.group_commit import GroupCommit
from lab.run.plan import RunPlan, total_items
from lab.run.records import Item
from lab.run.store import Store
from lab.tasks import modes
from tests.scripted import plan_responder
from tests.scripted_server import ScriptedServer

FAST_RETRY = RetryPolicy(attempts=1, timeout=20)


def _plan(base_url: str, **overrides: object) -> RunPlan:
    values: dict[str, object] = {
        "models": (ModelSpec("openai/scripted", api_base=base_url),),
        "probes": ("arithmetic:base=9", "cipher:cipher=atbash"),
        "modes": ("deductive", "io"),
        "n": 5,
        "instances": 1,
        "shots": 3,
        "seed": 3,
        "concurrency": 4,
    }
    values.update(overrides)
    return RunPlan(**values)  # type: ignore[arg-type]


def _item(run_id: str, call_id: int | None) -> Item:
    return Item(
        run_id=run_id,
        model="m",
        probe="arithmetic",
        setting="base=9",
        default_world=False,
        mode="deductive",
        instance=0,
        case_index=0,
        input="12+13",
        expected="25",
        predicted="25",
        correct=True,
        error=None,
        detail=None,
        call_id=call_id,
    )


def test_record_call_stores_the_items_of_its_reply_linked_to_it_in_one_commit(db_path: Path) -> None:
    store = Store(db_path)
    commits: list[str] = []
    store._db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    common = {"run_id": "r", "model": "m", "messages": [{"role": "user", "content": "q"}], "params": {}}
    first = store.record_call(cache_key="a", response="25", **common)
    second = store.record_call(cache_key="b", response="25", items=[_item("r", call_id=first)], **common)
    assert second != first
    assert len(commits) == 2  # one a call, its items included
    (item,) = store.items(["r"])
    assert item["call_id"] == second  # the item's own call id is replaced by the call it was scored on
    assert item["correct"] == 1


def test_a_direct_unit_costs_one_commit_and_a_run_stores_every_call_and_item_once(db_path: Path) -> None:
    with ScriptedServer() as server:
        plan = _plan(server.base_url)
        server.responder = plan_responder(plan, lambda unit: unit.instance == 0)
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)
        commits: list[str] = []
        store._db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
        record = study.execute_run(store, run_id, retry=FAST_RETRY, preflight=False)
    assert record.status == "finished", record.reason
    items = store.items([run_id])
    calls = store.totals(run_id).calls
    assert len(items) == total_items(plan) == calls == 20
    assert {item["correct"] for item in items} == {1}
    call_ids = {item["call_id"] for item in items}
    assert len(call_ids) == calls  # each item linked to its own call
    assert all(store.get_call(call_id)["response"] for call_id in call_ids)
    # At most one commit a unit (the calls that end in one turn of the loop share one), plus the run's
    # status updates (running, finished).
    assert len(commits) <= calls + 2


def test_a_reply_whose_scoring_fails_stays_in_the_cache_and_the_resumed_run_does_not_pay_again(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ScriptedServer() as server:
        plan = _plan(server.base_url, probes=("arithmetic:base=9",), modes=("deductive",), concurrency=1)
        server.responder = plan_responder(plan, lambda unit: True)
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)

        def broken(mode: modes.Mode, reply: modes.Reply) -> modes.DirectScore:
            raise RuntimeError("a scoring bug")

        with monkeypatch.context() as patch:
            patch.setattr(modes.Mode, "score", broken)
            with pytest.raises(RuntimeError, match="a scoring bug"):
                study.execute_run(store, run_id, retry=FAST_RETRY, preflight=False)
        paid = server.chat_requests
        assert paid >= 1
        assert store.totals(run_id).items == 0
        assert store.totals(run_id).calls == paid  # every reply paid for is stored

        record = study.execute_run(store, run_id, retry=FAST_RETRY, preflight=False)
        assert record.status == "finished", record.reason
        assert store.totals(run_id).items == total_items(plan)
        # Each prompt was sent once over both executions: the kept replies came from the cache.
        assert server.chat_requests == total_items(plan)


def _record(store: Store, key: str) -> int:
    common = {"run_id": "r", "model": "m", "messages": [{"role": "user", "content": key}], "params": {}}
    return store.record_call(cache_key=key, response="ok", **common)


def test_writes_asked_for_in_one_turn_of_the_loop_share_one_commit_and_a_failing_one_fails_alone(
    db_path: Path,
) -> None:
    store = Store(db_path)
    commits: list[str] = []
    store._db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)

    def broken() -> int:
        _record(store, "half-written")
        raise ValueError("a write that fails")

    async def main() -> list[object]:
        group = GroupCommit(store)
        writes = [group.write(lambda key=key: _record(store, key)) for key in "abc"]
        return await asyncio.gather(
            *writes, group.write(broken), group.write(lambda: _record(store, "d")), return_exceptions=True
        )

    *ids, failed, last = asyncio.run(main())
    assert isinstance(failed, ValueError)
    assert sorted([*ids, last]) == [*ids, last] and len({*ids, last}) == 4
    # The group's transaction was rolled back and each write made again alone: only the broken one is lost.
    assert {store.get_call(i)["cache_key"] for i in [*ids, last]} == {"a", "b", "c", "d"}
    assert store.cached_response("half-written") is None
    assert len(commits) == 4


def test_a_write_whose_writer_is_cancelled_is_still_made_and_one_turn_is_one_commit(db_path: Path) -> None:
    store = Store(db_path)
    commits: list[str] = []
    store._db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)

    async def main() -> int:
        group = GroupCommit(store)
        cancelled = asyncio.ensure_future(group.write(lambda: _record(store, "cancelled")))
        await asyncio.sleep(0)  # it has asked for its write
        cancelled.cancel()
        kept = await asyncio.gather(*(group.write(lambda key=key: _record(store, key)) for key in "xyz"))
        group.flush()  # nothing left: no commit
        return len(kept)

    assert asyncio.run(main()) == 3
    assert store.cached_response("cancelled") is not None
    assert len(commits) == 2  # the cancelled writer's turn, then x, y and z together
