"""Pipeline throughput against a scripted OpenAI-compatible server in its own process.

1. Latency-bound: 400 calls at concurrency 32 against a server answering after 200 ms: the wall time
   as a ratio to the ideal (400 / 32 x 0.2 s), and the time of a fully cached re-run.
2. Client-bound: calls at concurrency 64 against a server answering at once (an asyncio server
   sending one canned reply, so that it is not the bottleneck): the runner's calls/s and CPU time
   a call next to a bare `litellm.acompletion` loop at the same concurrency sending the same prompts,
   in one run, the order of the two alternating round by round. Both run on the process's one event loop
   (`lab.models.event_loop`), as the runner's calls do.

Run: python -m bench.pipeline [--calls N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.models import ModelSpec, RetryPolicy
from lab.models.calls import NO_KEY, litellm_module
from lab.models.event_loop import run_stoppable
from lab.run import study
from lab.run.plan import RunPlan, estimated_calls, work_units
from lab.run.store import Store

CALLS, CONCURRENCY, DELAY = 400, 32, 0.2
FAST_CONCURRENCY = 64
RETRY = RetryPolicy(attempts=1)
PROBES = ("arithmetic:base=8", "arithmetic:base=9", "cipher:cipher=atbash", "syntax:order=sov")


@contextmanager
def scripted_server(*options: str) -> Iterator[str]:
    # The server runs in its own process, so its work does not compete with the pipeline for the GIL.
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.scripted_server", *options],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        yield server.stdout.readline().strip()  # type: ignore[union-attr]
    finally:
        server.terminate()
        server.wait()


def deductive_plan(base_url: str, calls: int, concurrency: int) -> RunPlan:
    """len(PROBES) settings x 1 direct mode x calls / len(PROBES) held-out cases: one call an item."""
    plan = RunPlan(
        models=(ModelSpec("openai/bench", base_url),),
        probes=PROBES,
        modes=("deductive",),
        n=calls // len(PROBES),
        instances=1,
        concurrency=concurrency,
    )
    assert estimated_calls(plan) == calls
    return plan


def latency_bound(base_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plan = deductive_plan(base_url, CALLS, CONCURRENCY)
        store = Store(Path(tmp) / "bench.db")

        started = time.perf_counter()
        first = study.execute_run(store, study.prepare_run(store, plan), retry=RETRY, preflight=False)
        fresh = time.perf_counter() - started
        asked = store.totals(first.id).calls

        started = time.perf_counter()
        again = study.execute_run(store, study.prepare_run(store, plan), retry=RETRY, preflight=False)
        cached = time.perf_counter() - started

        ideal = CALLS / CONCURRENCY * DELAY
        print(
            f"fresh run: {CALLS} calls at concurrency {CONCURRENCY}, {DELAY * 1000:.0f} ms each: "
            f"{fresh:.2f} s; ideal {ideal:.2f} s; ratio {fresh / ideal:.2f}"
        )
        totals = store.totals(again.id)
        print(
            f"cached re-run: {cached:.2f} s ({asked} calls first, {totals.calls - totals.cached_calls} "
            f"model calls again); "
            f"{cached / fresh:.3f} of the fresh run"
        )
        assert first.status == again.status == "finished"


@dataclass(frozen=True)
class Throughput:
    calls_per_second: float
    cpu_ms_per_call: float  # this process's CPU time (all threads) a call
    main_ms_per_call: float  # the calling thread's CPU time a call (the runner's dispatch and plan)


@contextmanager
def measured(calls: int, out: list[Throughput]) -> Iterator[None]:
    wall, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
    yield
    wall, cpu, main = time.perf_counter() - wall, time.process_time() - cpu, time.thread_time() - main
    out.append(Throughput(calls / wall, cpu / calls * 1000, main / calls * 1000))


def round_plan(base_url: str, calls: int, round_: int) -> RunPlan:
    """The round's plan: its own seed, so that its cases (and prompts) differ and nothing is cached."""
    plan = deductive_plan(base_url, calls, FAST_CONCURRENCY)
    return RunPlan(**{**plan.__dict__, "seed": round_})


def runner_calls(base_url: str, calls: int, round_: int, out: list[Throughput]) -> None:
    """A fresh run (its own store and seed, so nothing is cached) of `calls` direct-answer calls."""
    with tempfile.TemporaryDirectory() as tmp:
        plan = round_plan(base_url, calls, round_)
        store = Store(Path(tmp) / "bench.db")
        run_id = study.prepare_run(store, plan)
        with measured(calls, out):
            record = study.execute_run(store, run_id, retry=RETRY, preflight=False)
        assert record.status == "finished", record.reason
        assert store.totals(run_id).calls == calls


def bare_request(base_url: str, messages: list[dict[str, str]]) -> dict[str, object]:
    """The arguments of one call of the bare loop: the runner's, without its timeout and retries."""
    return {
        "model": "openai/bench",
        "api_base": base_url,
        "api_key": NO_KEY,
        "messages": messages,
        "max_tokens": 1024,
        "temperature": 0.0,
        "seed": 0,
        "num_retries": 0,
        "max_retries": 0,
    }


def bare_calls(base_url: str, calls: int, round_: int, out: list[Throughput]) -> None:
    """`calls` of `litellm.acompletion` at the same concurrency, with the prompts of the runner's run of
    the round; nothing stored or scored."""
    litellm = litellm_module()
    prompts = [unit.messages for unit in work_units(round_plan(base_url, calls, round_))]

    async def loop() -> None:
        slots = asyncio.Semaphore(FAST_CONCURRENCY)

        async def one(messages: list[dict[str, str]]) -> None:
            async with slots:
                await litellm.acompletion(**bare_request(base_url, messages))

        await asyncio.gather(*(one(messages) for messages in prompts))

    # On the process's event loop, the one the runner's calls use: litellm's logging worker binds to one
    # loop, and moving it between loops every round re-queues its work and fails some of it.
    with measured(calls, out):
        run_stoppable(loop, lambda: False)


def client_bound(base_url: str, calls: int, rounds: int) -> None:
    bare_calls(base_url, len(PROBES) * 16, -1, [])  # warm the clients up
    runner_calls(base_url, len(PROBES) * 4, -1, [])
    print(f"\n{calls} calls at concurrency {FAST_CONCURRENCY}, server answering at once")
    print(
        f"{'round':>5} {'runner calls/s':>15} {'bare calls/s':>13} {'ratio':>6} {'CPU ms/call: runner':>20}"
        f" {'bare':>5} {'runner main thread':>19}"
    )
    runner: list[Throughput] = []
    bare: list[Throughput] = []
    for round_ in range(rounds):
        # Whichever goes first in a round may meet a different machine (caches, load): alternate.
        if round_ % 2 == 0:
            runner_calls(base_url, calls, round_, runner)
            bare_calls(base_url, calls, round_, bare)
        else:
            bare_calls(base_url, calls, round_, bare)
            runner_calls(base_url, calls, round_, runner)
        r, b = runner[-1], bare[-1]
        ratio = r.calls_per_second / b.calls_per_second
        cpu = f"{r.cpu_ms_per_call:>20.2f} {b.cpu_ms_per_call:>5.2f} {r.main_ms_per_call:>19.2f}"
        print(f"{round_ + 1:>5} {r.calls_per_second:>15.0f} {b.calls_per_second:>13.0f} {ratio:>6.2f} {cpu}")
    median_runner = statistics.median(t.calls_per_second for t in runner)
    median_bare = statistics.median(t.calls_per_second for t in bare)
    ratios = sorted(r.calls_per_second / b.calls_per_second for r, b in zip(runner, bare, strict=True))
    # The machine's speed drifts from round to round (by 15% here); a round's two sides meet the same
    # machine, so the median of the rounds' ratios is the steadier figure.
    print(
        f"medians: runner {median_runner:.0f} calls/s, bare {median_bare:.0f} calls/s, "
        f"ratio {median_runner / median_bare:.2f}; median of the rounds' ratios "
        f"{statistics.median(ratios):.2f} (rounds {ratios[0]:.2f}-{ratios[-1]:.2f}); "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=800, help="calls per side and round (client-bound part)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--only-client", action="store_true", help="skip the latency-bound part")
    args = parser.parse_args()
    litellm_module()  # its import (seconds) is not the pipeline's cost
    if not args.only_client:
        with scripted_server("--delay", str(DELAY)) as base_url:
            latency_bound(base_url)
    with scripted_server("--canned") as base_url:
        client_bound(base_url, args.calls, args.rounds)


if __name__ == "__main__":
    main()
