"""How long Stop takes with calls in flight: a run in its own process, as the Run page starts it.

    python -m bench.stop [--repeats 3] [--in-flight 8]

A scripted server holds every study request (as a slow model would); once `--in-flight` calls are in
flight, `stop_run` sends the run's process SIGTERM. Printed per repeat: seconds until the store says
`stopped` (what the Run page shows), and until the process is gone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.models import ModelSpec
from lab.run import study
from lab.run.plan import RunPlan
from tests.scripted_server import ScriptedServer


def wait_for(condition: Callable[[], bool], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("gave up waiting")
        time.sleep(0.02)


def one_stop(directory: Path, in_flight: int) -> tuple[float, float]:
    release = threading.Event()

    def held(messages: list[dict[str, str]]) -> str:
        if "Reply with OK" not in messages[-1]["content"]:
            release.wait(timeout=600)
        return "\\boxed{2}"

    with ScriptedServer(held) as server:
        store = study.Store(directory / f"stop-{time.monotonic_ns()}.db")
        plan = RunPlan(
            models=(ModelSpec("openai/scripted", api_base=server.base_url),),
            probes=("arithmetic:base=10",),
            modes=("deductive",),
            n=2 * in_flight,
            instances=1,
            concurrency=in_flight,
        )
        run_id = study.prepare_run(store, plan)
        pid = study.start_background_run(store, run_id)
        wait_for(lambda: server.chat_requests >= 1 + in_flight)
        start = time.monotonic()
        study.stop_run(store, run_id)
        wait_for(lambda: study.get_run(store, run_id).status != "running")
        stopped = time.monotonic() - start
        wait_for(lambda: not study._alive(pid))
        gone = time.monotonic() - start
        release.set()
    return stopped, gone


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=8)
    args = parser.parse_args()
    print(f"stop with {args.in_flight} calls in flight (held by the server until released)")
    with tempfile.TemporaryDirectory(prefix="solverlab-bench-stop-") as directory:
        for repeat in range(1, args.repeats + 1):
            stopped, gone = one_stop(Path(directory), args.in_flight)
            print(f"{repeat}: status `stopped` after {stopped:5.2f} s; process gone after {gone:5.2f} s")


if __name__ == "__main__":
    main()
