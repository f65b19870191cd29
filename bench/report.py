"""The self-contained HTML report on a large synthetic store: time to build it, and its size.

A store of `--runs` finished runs (arithmetic, five modes) is planted directly, every unit with a
stored call whose reply is padded to `--reply-chars` characters and, in the code modes, a function.
Then, alternating round by round, the report of all runs (`api.report_html`) and, as the baseline,
the charts-only page the Results page already offers (`api.result_figures` + `api.charts_html`) are
built from the same store; medians and their ratio are printed.

    python -m bench.report [--runs 16] [--n 91] [--reply-chars 400] [--rounds 3] [--db PATH]
    python -m bench.report --old-commit 25e0185 [...]   # the report of that commit's lab against this one

With `--old-commit`, each round instead builds the report in two fresh processes, alternating which goes
first: one with the `lab` package of that commit (`git archive`d), one with this checkout's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab import api
from tests.planted import plant_run, planted_plan

MODES = ("deductive", "io_rule", "io", "solverlearner", "deductive_code")


def store_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the planted store the report and Inspect benchmarks share."""
    parser.add_argument("--runs", type=int, default=16, help="runs in the store (default 16)")
    parser.add_argument(
        "--n", type=int, default=91, help="held-out cases per setting (default 91: 80,080 items)"
    )
    parser.add_argument("--reply-chars", type=int, default=400, help="length of every reply (default 400)")
    parser.add_argument("--db", help="keep the planted store in this file, or reuse it if it exists")


def open_or_plant(path: Path, *, runs: int, n: int, reply_chars: int) -> list[str]:
    """The run ids of the store at `path`, planted first when there is none."""
    if path.exists():
        return [run.id for run in api.Store(path).list_runs()][::-1]
    return plant_store(path, runs=runs, n=n, reply_chars=reply_chars)


def plant_store(path: Path, *, runs: int, n: int, reply_chars: int) -> list[str]:
    store = api.Store(path)
    run_ids = []
    for number in range(runs):
        run_id = f"run-{number:02d}"
        plan = planted_plan(
            f"openai/model-{number % 8}", probes=("arithmetic",), modes=MODES, n=n, instances=3
        )
        plant_run(
            store,
            run_id,
            plan,
            lambda *key, s=number: (key[3] + key[4] + s) % 3 != 0,
            reply_chars=reply_chars,
        )
        run_ids.append(run_id)
    return run_ids


def charts_only(store: api.Store, run_ids: list[str]) -> str:
    items = api.browse_items(store, run_ids)
    tables = api.result_tables(items, api.functions_frame(store, run_ids))
    return api.charts_html(api.result_figures(tables), "charts")


_FRESH_REPORT = """
import json, sys, time
from lab import api
store = api.Store(sys.argv[1])
started = time.perf_counter()
size = len(api.report_html(store, sys.argv[2:]).encode("utf-8"))
print(json.dumps([time.perf_counter() - started, size]))
"""


def fresh_report(root: Path, db: Path, run_ids: list[str]) -> tuple[float, int]:
    """Seconds and bytes of the report built in a fresh process whose `lab` is the one under `root`."""
    here = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(root), str(here)]))}
    command = [sys.executable, "-c", _FRESH_REPORT, str(db), *run_ids]
    done = subprocess.run(command, check=False, cwd=root, env=env, capture_output=True)
    if done.returncode:
        raise SystemExit(f"the report under {root} failed:\n{done.stderr.decode()}")
    seconds, size = json.loads(done.stdout.decode().splitlines()[-1])
    return seconds, size


def old_against_new(commit: str, db: Path, run_ids: list[str], rounds: int, folder: Path) -> None:
    from bench.results import old_package

    sides = {"old": old_package(commit, folder / "old"), "new": Path(__file__).resolve().parent.parent}
    measured: dict[str, list[tuple[float, int]]] = {"old": [], "new": []}
    for number in range(rounds):
        for side in ("old", "new") if number % 2 == 0 else ("new", "old"):
            measured[side].append(fresh_report(sides[side], db, run_ids))
    old = statistics.median(seconds for seconds, _ in measured["old"])
    new = statistics.median(seconds for seconds, _ in measured["new"])
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print(f"{'report, fresh process':44} {'time':>8} {'size':>10} {'ratio':>7}")
    print(f"{'lab at ' + commit:44} {old:7.2f}s {measured['old'][-1][1] / 1e6:8.1f}MB {1:7.2f}")
    print(f"{'this lab':44} {new:7.2f}s {measured['new'][-1][1] / 1e6:8.1f}MB {new / old:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    store_arguments(parser)
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating the two sides (default 3)")
    parser.add_argument("--old-commit", help="measure the report of this commit's lab against this one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(args.db or Path(folder) / "bench.db")
        started = time.perf_counter()
        run_ids = open_or_plant(path, runs=args.runs, n=args.n, reply_chars=args.reply_chars)
        store = api.Store(path)
        items = sum(store.totals(run_id).items for run_id in run_ids)
        print(
            f"report benchmark: {len(run_ids)} runs, {items:,} items, replies of {args.reply_chars} "
            f"characters, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; store ready in "
            f"{time.perf_counter() - started:.0f} s"
        )
        if args.old_commit:
            old_against_new(args.old_commit, path, run_ids, args.rounds, Path(folder))
            return
        report_times, chart_times = [], []
        size = charts_size = 0
        for _ in range(args.rounds):
            started = time.perf_counter()
            size = len(api.report_html(store, run_ids).encode("utf-8"))
            report_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            charts_size = len(charts_only(store, run_ids).encode("utf-8"))
            chart_times.append(time.perf_counter() - started)
    report, charts = statistics.median(report_times), statistics.median(chart_times)
    print(f"{'measure':44} {'time':>8} {'size':>10} {'ratio':>7}")
    print(f"{'charts-only HTML (baseline)':44} {charts:7.2f}s {charts_size / 1e6:8.1f}MB {1:7.2f}")
    print(
        f"{'report: matrix, charts, every item':44} {report:7.2f}s {size / 1e6:8.1f}MB {report / charts:7.2f}"
    )


if __name__ == "__main__":
    main()
