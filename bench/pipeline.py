"""Pipeline throughput: 400 model calls at concurrency 32 against a local server answering after 200 ms.

Prints the wall time as a ratio to the ideal (400 / 32 x 0.2 s) and the time of a fully cached re-run.
Run: python -m bench.pipeline
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.models import ModelSpec, RetryPolicy
from lab.models.calls import litellm_module
from lab.run import study
from lab.run.plan import RunPlan, estimated_calls
from lab.run.store import Store

CALLS, CONCURRENCY, DELAY = 400, 32, 0.2


def main() -> None:
    # The server runs in its own process, so its work does not compete with the pipeline for the GIL.
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.scripted_server", "--delay", str(DELAY)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    base_url = server.stdout.readline().strip()  # type: ignore[union-attr]
    try:
        run_benchmark(base_url)
    finally:
        server.terminate()
        server.wait()


def run_benchmark(base_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # 4 settings x 1 direct mode x 100 held-out cases = 400 calls, one item each.
        plan = RunPlan(
            models=(ModelSpec("openai/bench", base_url),),
            probes=("arithmetic:base=8", "arithmetic:base=9", "cipher:cipher=atbash", "syntax:order=sov"),
            modes=("deductive",),
            n=100,
            instances=1,
            concurrency=CONCURRENCY,
        )
        assert estimated_calls(plan) == CALLS
        store = Store(Path(tmp) / "bench.db")
        retry = RetryPolicy(attempts=1)
        litellm_module()  # its import (seconds) is not the pipeline's cost

        started = time.perf_counter()
        first = study.execute_run(store, study.prepare_run(store, plan), retry=retry, preflight=False)
        fresh = time.perf_counter() - started
        asked = store.totals(first.id).calls

        started = time.perf_counter()
        again = study.execute_run(store, study.prepare_run(store, plan), retry=retry, preflight=False)
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


if __name__ == "__main__":
    main()
