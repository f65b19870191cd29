"""Replicas of one model behind litellm's Router, per-model limits and Retry-After, against scripted
OpenAI-compatible servers on 127.0.0.1 through the real litellm client."""

from __future__ import annotations

import asyncio
import email.utils
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lab.models import ModelCallError, ModelSpec, RetryPolicy, model_spec, provider_for
from lab.models.calls import retry_after
from lab.models.event_loop import run_stoppable
from lab.models.limits import CallLimiter, call_slots, round_robin
from lab.models.provider import CallCancelledError, with_retries
from lab.models.spec import parse_model_option
from lab.run import study
from lab.run.plan import RunPlan, estimated_calls, total_items, work_units
from lab.run.store import Store
from tests.scripted import plan_responder
from tests.scripted_server import ScriptedServer

FAST_RETRY = RetryPolicy(attempts=5, base_delay=0.01, max_delay=0.05, timeout=20)


def replica_plan(*urls: str, **overrides: Any) -> RunPlan:
    values: dict[str, Any] = {
        "models": (model_spec("openai/scripted", ",".join(urls)),),
        "probes": ("arithmetic:base=9", "cipher:cipher=atbash"),
        "modes": ("deductive", "io"),
        "shots": 3,
        "n": 10,
        "instances": 1,
        "max_tokens": 64,
        "concurrency": 4,
    }
    values.update(overrides)
    return RunPlan(**values)


def successful_calls_per_prompt(db_path: Path, run_id: str) -> list[int]:
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT COUNT(*) FROM calls WHERE run_id = ? AND error IS NULL GROUP BY cache_key", (run_id,)
        ).fetchall()
    return [n for (n,) in rows]


def test_both_replicas_serve_and_a_killed_one_loses_and_repeats_no_item(db_path: Path) -> None:
    with ScriptedServer(delay=0.01) as first, ScriptedServer(delay=0.01) as second:
        plan = replica_plan(first.base_url, second.base_url)
        first.responder = second.responder = plan_responder(plan, lambda u: True)
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)

        def kill_second_midway() -> None:
            while second.chat_requests < 8:
                time.sleep(0.005)
            second.kill()

        killer = threading.Thread(target=kill_second_midway)
        killer.start()
        record = study.execute_run(store, run_id, retry=FAST_RETRY)
        killer.join()
        served_by_second = second.chat_requests

    assert record.status == "finished", record.reason
    assert store.totals(run_id).items == total_items(plan) == 40
    assert store.totals(run_id).correct == 40
    # Each planned prompt was answered exactly once: nothing lost, nothing asked twice successfully.
    assert sorted(successful_calls_per_prompt(db_path, run_id)) == [1] * estimated_calls(plan)
    assert served_by_second >= 8 and first.chat_requests > 40 - served_by_second
    # Items carry one model label, whichever replica answered.
    assert {row["model"] for row in store.items([run_id])} == {plan.models[0].label}


def test_replicas_share_the_models_identity_cache_and_resume(db_path: Path) -> None:
    with ScriptedServer() as first, ScriptedServer() as second:
        two = replica_plan(first.base_url, second.base_url)
        one = replica_plan(first.base_url)
        assert two.identity_hash() == one.identity_hash()
        assert two.models[0].label == one.models[0].label == f"openai/scripted @ {first.base_url}"
        first.responder = second.responder = plan_responder(two, lambda u: True)
        store = Store(db_path)
        record = study.execute_run(store, study.prepare_run(store, two), retry=FAST_RETRY)
        assert record.status == "finished"
        asked = first.chat_requests + second.chat_requests
        assert first.chat_requests and second.chat_requests
        # The same study on one of the replicas is answered from the cache.
        again = study.execute_run(store, study.prepare_run(store, one), retry=FAST_RETRY, preflight=False)
        assert again.status == "finished"
        assert first.chat_requests + second.chat_requests == asked


def test_a_run_started_with_one_replica_down_finishes_on_the_other(db_path: Path) -> None:
    with ScriptedServer() as alive:
        dead = ScriptedServer().start()
        dead_url = dead.base_url
        dead.kill()
        plan = replica_plan(dead_url, alive.base_url, probes=("cipher:cipher=atbash",), modes=("io",))
        alive.responder = plan_responder(plan, lambda u: True)
        store = Store(db_path)
        record = study.execute_run(store, study.prepare_run(store, plan), retry=FAST_RETRY)
    assert record.status == "finished", record.reason
    assert store.totals(record.id).items == 10


def test_the_model_string_carries_limits_and_api_base_lists_replicas() -> None:
    spec = model_spec("openai/x@concurrency=4,rpm=60", "http://a:1/v1, http://b:2/v1")
    assert (spec.name, spec.api_base, spec.replicas) == ("openai/x", "http://a:1/v1", ("http://b:2/v1",))
    assert (spec.concurrency, spec.rpm) == (4, 60.0)
    assert ModelSpec(**spec.as_dict()) == spec  # as a stored plan reads it back
    assert parse_model_option("vertex_ai/claude-3-5-sonnet@20240620").name == (
        "vertex_ai/claude-3-5-sonnet@20240620"
    )
    assert ModelSpec("openai/x", "http://a:1/v1").as_dict() == {
        "name": "openai/x",
        "api_base": "http://a:1/v1",
        "key_env": None,
    }
    with pytest.raises(ValueError, match="speed=3"):
        model_spec("openai/x@speed=3")
    with pytest.raises(ValueError, match="at least 1, got 0"):
        model_spec("openai/x@concurrency=0")
    with pytest.raises(ValueError, match="several URLs"):
        ModelSpec("openai/x", "http://a:1/v1,http://b:1/v1")
    with pytest.raises(ValueError, match="listed twice"):
        model_spec("openai/x", "http://a:1/v1,http://a:1/v1")
    with pytest.raises(ValueError, match="no concurrency or rpm"):
        model_spec("replay/some.tsv@concurrency=2")


def test_limits_do_not_change_a_plans_identity() -> None:
    plain = RunPlan(models=(ModelSpec("openai/x", "http://a:1/v1"),), probes=("syntax",), modes=("io",))
    limited = RunPlan(
        models=(model_spec("openai/x@concurrency=2,rpm=30", "http://a:1/v1,http://b:1/v1"),),
        probes=("syntax",),
        modes=("io",),
    )
    assert plain.identity_hash() == limited.identity_hash()
    assert RunPlan.from_dict(limited.to_dict()) == limited


def test_each_model_keeps_to_its_own_concurrency(db_path: Path) -> None:
    in_flight: dict[str, int] = {"one": 0, "three": 0}
    peak: dict[str, int] = {"one": 0, "three": 0}
    lock = threading.Lock()
    answers: list[Any] = []

    def respond(body: dict[str, Any]) -> str:
        model = body["model"]
        with lock:
            in_flight[model] += 1
            peak[model] = max(peak[model], in_flight[model])
        time.sleep(0.03)
        with lock:
            in_flight[model] -= 1
        return answers[0](body["messages"])

    with ScriptedServer(request_responder=respond) as server:
        plan = RunPlan(
            models=tuple(
                model_spec(name, server.base_url)
                for name in ("openai/one@concurrency=1", "openai/three@concurrency=3")
            ),
            probes=("cipher:cipher=atbash",),
            modes=("io",),
            shots=3,
            n=12,
            instances=1,
            max_tokens=64,
            concurrency=8,
        )
        answers.append(plan_responder(plan, lambda u: True))
        store = Store(db_path)
        record = study.execute_run(store, study.prepare_run(store, plan), retry=FAST_RETRY, preflight=False)
    assert record.status == "finished"
    assert peak["one"] == 1
    assert 2 <= peak["three"] <= 3


def test_call_limiter_spaces_starts_by_rpm() -> None:
    now = [100.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = CallLimiter(None, 120, clock=lambda: now[0], sleep=sleep)
    starts = []

    async def three_calls() -> None:
        for _ in range(3):
            async with limiter.slot():
                starts.append(now[0])

    asyncio.run(three_calls())
    assert starts == pytest.approx([100.0, 100.5, 101.0])


def test_a_stop_ends_the_wait_for_a_slot_or_a_turn_and_the_call_is_not_made() -> None:
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    slow = CallLimiter(None, 1)  # a call a minute: the second call's turn is 60 s away
    made: list[str] = []

    async def two_calls(limiter: CallLimiter) -> None:
        async with limiter.slot():
            made.append("first")
            async with limiter.slot():  # at concurrency 1 this waits for the first slot; at rpm 1 a minute
                made.append("second")

    async def in_turn(limiter: CallLimiter) -> None:
        async with limiter.slot():
            made.append("first")
        async with limiter.slot():
            made.append("second")

    started = time.monotonic()
    with pytest.raises(CallCancelledError):
        run_stoppable(lambda: in_turn(slow), stop.is_set)
    assert time.monotonic() - started < 5 and made == ["first"]

    busy = CallLimiter(1, None)
    stop.clear()
    made.clear()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(CallCancelledError):
        run_stoppable(lambda: two_calls(busy), stop.is_set)
    assert made == ["first"]  # a second slot was not granted at concurrency 1
    stop.clear()
    run_stoppable(lambda: in_turn(busy), stop.is_set)  # and the cancelled wait gave back the slot it held
    assert made == ["first", "first", "second"]


def test_threads_are_shared_round_robin_by_model() -> None:
    models = (ModelSpec("openai/a", concurrency=2), ModelSpec("openai/b"))
    assert call_slots(models, default=8) == 10
    assert round_robin(["a1", "a2", "a3", "b1"], key=lambda s: s[0]) == ["a1", "b1", "a2", "a3"]


def _call_once(provider: Any, messages: list[dict[str, str]]) -> Any:
    """One attempt of a litellm provider, on the process's event loop as the runner makes it."""
    return run_stoppable(lambda: provider.call_once(messages, _params(), 10), lambda: False)


def test_a_429_with_retry_after_is_waited_out() -> None:
    with ScriptedServer() as server:
        provider = provider_for(ModelSpec("openai/scripted", server.base_url))
        server.fail_next(429, 1, retry_after=7)
        with pytest.raises(ModelCallError) as caught:
            _call_once(provider, [{"role": "user", "content": "Reply with OK."}])
    assert caught.value.category == "rate_limit" and caught.value.retry_after == 7.0

    slept: list[float] = []
    calls = iter([caught.value, None])

    async def call():
        error = next(calls)
        if error is not None:
            raise error
        return "reply"

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    assert asyncio.run(with_retries(call, RetryPolicy(max_delay=1.0), sleep=sleep)) == "reply"  # type: ignore[arg-type]
    assert slept == [7.0]


def test_a_replica_sending_retry_after_is_cooled_down_and_the_call_goes_elsewhere() -> None:
    with ScriptedServer() as first, ScriptedServer() as second:
        provider = provider_for(model_spec("openai/scripted", f"{first.base_url},{second.base_url}"))
        first.fail_next(429, 1, retry_after=60)
        messages = [{"role": "user", "content": "Reply with OK."}]
        while not first.chat_requests:  # the router shuffles: call until it picks the first replica
            try:
                _call_once(provider, messages)
            except ModelCallError as exc:
                assert exc.retry_after == 60.0
        before = second.chat_requests
        for _ in range(5):
            assert _call_once(provider, messages).text == "\\boxed{OK}"
        assert first.chat_requests == 1 and second.chat_requests == before + 5


class _FailedError(Exception):
    def __init__(self, headers: dict[str, str]):
        super().__init__("failed")
        self.response = type("Response", (), {"headers": headers})()


def test_retry_after_reads_the_servers_headers() -> None:
    assert retry_after(_FailedError({"retry-after": "3"})) == 3.0
    assert retry_after(_FailedError({"retry-after": "0"})) == 0.0
    assert retry_after(_FailedError({"retry-after-ms": "250"})) == 0.25
    soon = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 80 <= (retry_after(_FailedError({"retry-after": soon})) or 0) <= 90
    assert retry_after(_FailedError({"retry-after": "whenever"})) is None
    limits = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1m30s",
        "x-ratelimit-remaining-tokens": "5000",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    assert retry_after(_FailedError(limits), rate_limited=True) == 90.0  # only the exhausted limit counts
    assert retry_after(_FailedError(limits)) is None  # a server error's rate-limit headers say nothing
    assert retry_after(_FailedError({})) is None


def _params():
    from lab.models import CallParams

    return CallParams(temperature=0.0, max_tokens=8, seed=0)


def test_work_units_of_a_replicated_model_are_those_of_the_model() -> None:
    plan = replica_plan("http://a:1/v1", "http://b:1/v1")
    single = replica_plan("http://a:1/v1")
    assert [u.item_keys() for u in work_units(plan)] == [u.item_keys() for u in work_units(single)]
