"""Executor overhead, measured side by side in one run.

    python bench/executor.py [--rounds 31] [--warm-worker-commit b009820]

Prints (1) the median wall time of one ``SandboxPool.run`` call of a trivial solver on one input
(the overhead per function: each job in a freshly forked child) against starting ``python -I -c
pass`` and against the old warm worker that ran every job in the same process (the executor of
``--warm-worker-commit``, taken from git and measured in a subprocess during the same run), and
(2) the per-case cost of that solver on 1,000 inputs in the sandbox against calling the same
function unguarded in this process, each as a ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from executor import Limits, SandboxPool, isolation_info

ROOT = Path(__file__).resolve().parent.parent

TRIVIAL = "def solver(x):\n    return x[::-1]\n"
CASES = 1000


def median_seconds(action: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def python_start() -> None:
    subprocess.run([sys.executable, "-I", "-c", "pass"], check=True, env={})


# Run in a subprocess against an older executor package: its medians for one input and for
# CASES inputs, in seconds.
WARM_WORKER_PROBE = """
import statistics, sys, time
sys.path.insert(0, sys.argv[1])
from executor import Limits, SandboxPool
source, rounds, cases = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
one, many = ["abc"], [f"input-{i}" for i in range(cases)]
def median(inputs):
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        pool.run(source, inputs)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
with SandboxPool(size=1, limits=Limits()) as pool:
    for _ in range(5):
        pool.run(source, many)
    print(median(one), median(many))
"""


def warm_worker_seconds(commit: str, rounds: int) -> tuple[float, float]:
    """Per-function overhead and per-case cost of the executor at ``commit`` (the warm worker)."""
    with tempfile.TemporaryDirectory(dir="/var/tmp") as old:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "executor"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        completed = subprocess.run(
            [sys.executable, "-I", "-c", WARM_WORKER_PROBE, old, TRIVIAL, str(rounds), str(CASES)],
            check=True,
            capture_output=True,
            text=True,
        )
    one, many = (float(field) for field in completed.stdout.split())
    return one, (many - one) / (CASES - 1)


def unguarded_solver() -> Callable[[str], str]:
    namespace: dict[str, object] = {}
    exec(compile(TRIVIAL, "<solver>", "exec"), namespace)  # trusted benchmark code, not a solver
    return namespace["solver"]  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--warm-worker-commit", default="b009820")
    args = parser.parse_args()
    rounds = args.rounds
    one = ["abc"]
    many = [f"input-{i}" for i in range(CASES)]
    solver = unguarded_solver()

    with SandboxPool(size=1, limits=Limits()) as pool:
        for _ in range(5):  # warm up both sides
            pool.run(TRIVIAL, many)
            [solver(x) for x in many]
        startup = median_seconds(python_start, rounds)
        per_function = median_seconds(lambda: pool.run(TRIVIAL, one), rounds)
        batch = median_seconds(lambda: pool.run(TRIVIAL, many), rounds)
        sandbox_case = (batch - per_function) / (CASES - 1)
        local_case = median_seconds(lambda: [solver(x) for x in many], rounds) / CASES
        check = pool.run(TRIVIAL, many)
        assert [r.output for r in check.results] == [solver(x) for x in many]
    warm_worker, warm_worker_case = warm_worker_seconds(args.warm_worker_commit, rounds)

    print(
        f"executor benchmark: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{rounds} rounds, medians; {isolation_info().describe()}"
    )
    print(f"{'measure':58} {'time':>12} {'ratio':>9}")
    print(f"{'start `python -I -c pass` (baseline)':58} {startup * 1e3:9.2f} ms {1:9.3f}")
    print(
        f"{f'old warm worker ({args.warm_worker_commit}): run(), 1 input':58} {warm_worker * 1e3:9.2f} ms "
        f"{warm_worker / startup:9.3f}"
    )
    print(
        f"{'overhead per function: run(), 1 input, fresh fork per job':58} {per_function * 1e3:9.2f} ms "
        f"{per_function / startup:9.3f}"
    )
    fork_cost = per_function - warm_worker
    print(f"{'  cost of the fresh process per job (difference)':58} {fork_cost * 1e3:9.2f} ms")
    print(f"{'per case unguarded, in-process (baseline)':58} {local_case * 1e6:9.3f} us {1:9.1f}")
    print(
        f"{f'old warm worker: per case, {CASES} inputs in one run()':58} {warm_worker_case * 1e6:9.3f} us "
        f"{warm_worker_case / local_case:9.1f}"
    )
    print(
        f"{f'per case in the sandbox, {CASES} inputs in one run()':58} {sandbox_case * 1e6:9.3f} us "
        f"{sandbox_case / local_case:9.1f}"
    )


if __name__ == "__main__":
    main()
