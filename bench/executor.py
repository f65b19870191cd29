"""Executor overhead, measured side by side in one run.

    python bench/executor.py [--rounds 31]

Prints (1) the median wall time of one ``SandboxPool.run`` call of a trivial solver on one input
(the overhead per function on a warm pool) against starting ``python -I -c pass``, and (2) the
per-case cost of that solver on 1,000 inputs in the sandbox against calling the same function
unguarded in this process, each as a ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from executor import Limits, SandboxPool, isolation_info

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


def unguarded_solver() -> Callable[[str], str]:
    namespace: dict[str, object] = {}
    exec(compile(TRIVIAL, "<solver>", "exec"), namespace)  # trusted benchmark code, not a solver
    return namespace["solver"]  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=31)
    rounds = parser.parse_args().rounds
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

    print(
        f"executor benchmark: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{rounds} rounds, medians; {isolation_info().describe()}"
    )
    print(f"{'measure':58} {'time':>12} {'ratio':>9}")
    print(f"{'start `python -I -c pass` (baseline)':58} {startup * 1e3:9.2f} ms {1:9.3f}")
    print(
        f"{'overhead per function: run() on a warm pool, 1 input':58} {per_function * 1e3:9.2f} ms "
        f"{per_function / startup:9.3f}"
    )
    print(f"{'per case unguarded, in-process (baseline)':58} {local_case * 1e6:9.3f} us {1:9.1f}")
    print(
        f"{f'per case in the sandbox, {CASES} inputs in one run()':58} {sandbox_case * 1e6:9.3f} us "
        f"{sandbox_case / local_case:9.1f}"
    )


if __name__ == "__main__":
    main()
