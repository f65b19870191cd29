"""Stop takes effect within seconds: the calls in flight are given up, not waited for, and the stopped run
loses nothing (no call stored as an answer or counted as a failure; a resume finishes every item)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lab.models import CallParams, Completion, ModelSpec
from lab.models.event_loop import run_stoppable
from lab.models.provider import CallCancelledError, in_thread
from lab.run import study
from lab.run.plan import RunPlan, total_items
from lab.run.store import Store
from tests.scripted_server import ScriptedServer

IN_FLIGHT = 8
# Generous: the point is seconds instead of the minutes a slow reply takes, on a loaded machine.
STOP_BOUND_SECONDS = 20.0


class HeldReplies:
    """A responder that holds every study request until released (the check probe is answered at once)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, messages: list[dict[str, str]]) -> str:
        if "Reply with OK" not in messages[-1]["content"]:
            self.release.wait(timeout=300)
        return "\\boxed{2}"


@pytest.fixture
def held() -> Iterator[tuple[ScriptedServer, HeldReplies]]:
    responder = HeldReplies()
    with ScriptedServer(responder) as server:
        yield server, responder
        responder.release.set()


def slow_plan(base_url: str) -> RunPlan:
    return RunPlan(
        models=(ModelSpec("openai/scripted", api_base=base_url),),
        probes=("arithmetic:base=10",),
        modes=("deductive",),
        n=12,
        instances=1,
        max_tokens=64,
        concurrency=IN_FLIGHT,
    )


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_stop_gives_up_the_calls_in_flight_and_the_run_resumes_without_loss(
    db_path: Path, held: tuple[ScriptedServer, HeldReplies]
) -> None:
    server, responder = held
    store = Store(db_path)
    plan = slow_plan(server.base_url)
    run_id = study.prepare_run(store, plan)
    stop = threading.Event()
    ended: list[study.RunRecord] = []
    worker = threading.Thread(target=lambda: ended.append(study.execute_run(store, run_id, stop=stop)))
    worker.start()
    wait_for(lambda: server.chat_requests >= 1 + IN_FLIGHT, f"{IN_FLIGHT} calls in flight")

    stop.set()
    worker.join(timeout=STOP_BOUND_SECONDS)
    assert not worker.is_alive(), f"the run did not stop within {STOP_BOUND_SECONDS} s of the stop"
    assert ended[0].status == "stopped"
    totals = store.totals(run_id)
    # The given-up calls are neither answers in the cache nor failures: nothing of them is stored.
    assert (totals.items, totals.calls, totals.failed_calls) == (0, 0, 0)

    responder.release.set()
    record = study.execute_run(store, run_id)
    assert record.status == "finished", record.reason
    assert store.totals(run_id).items == total_items(plan)


def test_a_background_run_is_stopped_within_seconds(
    db_path: Path, held: tuple[ScriptedServer, HeldReplies]
) -> None:
    """The Run page's Stop: the run's own process gets SIGTERM and records `stopped`."""
    server, _ = held
    store = Store(db_path)
    run_id = study.prepare_run(store, slow_plan(server.base_url))
    pid = study.start_background_run(store, run_id)
    wait_for(lambda: server.chat_requests >= 1 + IN_FLIGHT, f"{IN_FLIGHT} calls in flight")

    stop_sent = time.monotonic()
    study.stop_run(store, run_id)
    wait_for(
        lambda: study.get_run(store, run_id).status != "running",
        "the stopped status",
        timeout=STOP_BOUND_SECONDS,
    )
    took = time.monotonic() - stop_sent
    record = study.get_run(store, run_id)
    assert record.status == "stopped", (record.status, record.reason, took)
    assert store.totals(run_id).failed_calls == 0
    wait_for(lambda: not study._alive(pid), "the run's process to exit", timeout=STOP_BOUND_SECONDS)


def test_a_stoppable_call_returns_its_reply_or_its_error() -> None:
    reply = Completion("ok", 1, 1, 0.0, 0.0)

    async def answers() -> Completion:
        return reply

    assert run_stoppable(answers, lambda: False) is reply

    async def fails() -> Completion:
        raise ValueError("the backend failed")

    with pytest.raises(ValueError, match="the backend failed"):
        run_stoppable(fails, lambda: False)


def test_a_stoppable_call_is_cancelled_when_the_stop_comes_and_never_made_after_it() -> None:
    started, cancelled = threading.Event(), threading.Event()
    stop = threading.Event()

    async def slow() -> Completion:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return Completion("late", 1, 1, 0.0, 0.0)

    threading.Timer(0.2, stop.set).start()
    began = time.monotonic()
    with pytest.raises(CallCancelledError, match="cancelled"):
        run_stoppable(slow, stop.is_set)
    assert started.is_set() and time.monotonic() - began < 10
    assert cancelled.wait(timeout=5), "the call's task went on after the stop"

    made: list[CallParams] = []

    async def counted() -> Completion:
        made.append(CallParams())
        return Completion("", 0, 0, 0.0, 0.0)

    with pytest.raises(CallCancelledError, match="not made"):
        run_stoppable(counted, lambda: True)
    assert made == []


def test_a_call_that_ends_in_an_error_because_of_the_stop_counts_as_cancelled() -> None:
    """A backend told to abort (the embedded engine) may end the call with an error of its own before
    the stop is polled: that is the stop's doing, not a failure of the model."""
    stop = threading.Event()

    async def aborted() -> Completion:
        stop.set()  # the stop arrives while the call runs, and the backend gives up with an error
        raise ValueError("generation aborted")

    with pytest.raises(CallCancelledError, match="ended with it"):
        run_stoppable(aborted, stop.is_set)


def test_a_cancelled_call_on_a_thread_has_ended_when_its_run_sees_it_cancelled() -> None:
    stop = threading.Event()
    ended = threading.Event()

    def generating() -> None:  # as a local model: it looks at the stop between tokens
        while not stop.is_set():
            time.sleep(0.01)
        time.sleep(0.3)  # the token in progress at the stop
        ended.set()

    async def call() -> None:
        await in_thread(ThreadPoolExecutor(max_workers=1), generating)

    threading.Timer(0.2, stop.set).start()
    with pytest.raises(CallCancelledError):
        run_stoppable(call, stop.is_set)
    assert ended.is_set(), "the call was reported cancelled while its thread still worked"
