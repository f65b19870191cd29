"""The Results page's data path on a large store, old against new, cold and warm, side by side in one run.

A store of `--runs` finished runs (arithmetic, five modes; 80,080 items at the defaults) is planted as
`bench.report` plants it. Each round runs both sides in fresh subprocesses, alternating which goes
first; a side is the `lab` package of a commit (`--old-commit`, default the last one before the
overview) or of this checkout, with everything else from this checkout.

- imports: the modules both sides' work uses (`lab.results.*`, which pull in pandas, plotly, scipy and
  statsmodels), loaded once per process, before the clock of cold starts.
- first visit: what a first visit computes, after imports: old, the full item frame, the statistics,
  every chart and the unrecorded note; new, the tables of `api.result_set` and the overview matrix,
  with nothing kept in the store yet (the side forgets what the store keeps of the runs' statistics,
  `lab.results.kept`, before the clock starts; a `lab` without kept statistics has nothing to forget).
  Both then serialise the figures the page shows, as `st.plotly_chart` does.
- cold: the same in a new process right after the first visit: the new page reads the summary, gaps and
  drops the first visit kept. For the old page (which keeps nothing) it is its first visit.
- warm: a rerun on the same runs: the run list and change marker (both sides), then what the cache
  hands back: old, `st.cache_data` copies (a pickle round trip) of the item frame and the tables, the
  unrecorded note again and the shown figures serialised; new, the cached objects as they are (no
  copy) and the overview serialised.

    python -m bench.results [--runs 16] [--n 91] [--rounds 3] [--db PATH] [--old-commit C] [--base C]

Run it under `flock /tmp/bench.lock` on a shared machine, so that no other bench overlaps it.

With `--base C`, a third side does the new page's work with the `lab` of commit C (e.g. the commit
before a speed-up), so before and after are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLD_COMMIT = "25e0185"  # the Results page before the overview: 8 charts of every run, full item frame
SHOWN_OLD = (  # the figures the old page drew on every rerun (the headline and its seven tabs)
    "Accuracy per setting",
    "Accuracy against the counterfactual parameter",
    "Accuracy heatmap",
    "Inductive minus deductive",
    "Counterfactual drop",
    "Deductive vs comprehension check",
    "pass@k",
    "Accuracy by refinement round",
)


# The modules the work of either side uses (each that the side's `lab` has), imported before cold starts.
PRELOAD = (
    "read",
    "stats",
    "sampling",
    "sweeps",
    "browse",
    "kept",
    "charts",
    "curves",
    "overview",
    "sweep_charts",
)


def preload() -> float:
    """Seconds to import the `lab.results` modules of `PRELOAD` this side's `lab` holds."""
    import importlib.util

    started = time.perf_counter()
    for name in PRELOAD:
        if importlib.util.find_spec(f"lab.results.{name}") is not None:
            importlib.import_module(f"lab.results.{name}")
    return time.perf_counter() - started


def old_side(db: str, run_ids: list[str]) -> dict[str, float]:
    from lab import api

    store = api.Store(db)
    imports = preload()
    started = time.perf_counter()
    items = api.browse_items(store, run_ids)
    tables = api.result_tables(items, api.functions_frame(store, run_ids))
    figures = api.result_figures(tables)
    api.unrecorded_summary(items)
    for name in SHOWN_OLD:
        figures[name].to_json(validate=False)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    api.runs_frame(store)
    api.change_marker(store, run_ids)
    items_again = pickle.loads(pickle.dumps(items))
    pickle.loads(pickle.dumps(tables))
    api.unrecorded_summary(items_again)
    for name in SHOWN_OLD:
        figures[name].to_json(validate=False)
    return {"imports": imports, "cold": cold, "warm": time.perf_counter() - started}


def new_side(db: str, run_ids: list[str], *, first: bool) -> dict[str, float]:
    """`first`: with nothing kept of the runs' statistics (a first visit); else with what the store keeps."""
    from lab import api

    store = api.Store(db)
    imports = preload()
    if first and hasattr(store, "forget_statistics"):
        store.forget_statistics(run_ids)
    started = time.perf_counter()
    result = api.result_set(store, run_ids)
    figure = api.overview_figure(result.tables.summary)
    figure.to_json(validate=False)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    api.runs_frame(store)
    api.change_marker(store, run_ids)
    figure.to_json(validate=False)
    return {"imports": imports, "cold": cold, "warm": time.perf_counter() - started}


def run_side(work: str, root: Path, db: Path, run_ids: list[str]) -> dict[str, float]:
    """`work` ("old" or "new": the page whose data path is measured) in fresh processes whose `lab` is
    the one under `root`: the new page's first visit, then its cold visit in another process."""
    if work == "old":
        measured = run_process("old", root, db, run_ids)
        return {**measured, "first visit": measured["cold"]}
    first = run_process("new", root, db, run_ids, "--first")
    return {**run_process("new", root, db, run_ids), "first visit": first["cold"]}


def run_process(work: str, root: Path, db: Path, run_ids: list[str], *flags: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(root), str(ROOT)]))}
    command = [sys.executable, "-m", "bench.results", "--side", work, *flags, "--db", str(db), *run_ids]
    done = subprocess.run(command, check=False, cwd=root, env=env, capture_output=True)
    if done.returncode:
        raise SystemExit(f"the {work} page's work under {root} failed:\n{done.stderr.decode()}")
    return json.loads(done.stdout.decode().splitlines()[-1])


def old_package(commit: str, folder: Path) -> Path:
    """The `lab` package and this benchmark at `commit`, unpacked into `folder`."""
    archive = subprocess.run(["git", "archive", commit, "lab"], cwd=ROOT, capture_output=True, check=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    (folder / "bench").mkdir()
    (folder / "bench" / "__init__.py").write_text("")
    (folder / "bench" / "results.py").write_text(Path(__file__).read_text())
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # Its own store options (not bench.report's): the old side runs this file alone beside the old lab.
    parser.add_argument("--runs", type=int, default=16, help="runs in the store (default 16)")
    parser.add_argument(
        "--n", type=int, default=91, help="held-out cases per setting (default 91: 80,080 items)"
    )
    parser.add_argument("--db", help="keep the planted store in this file, or reuse it if it exists")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating the sides (default 3)")
    parser.add_argument(
        "--old-commit", default=OLD_COMMIT, help=f"the old side's commit (default {OLD_COMMIT})"
    )
    parser.add_argument(
        "--base", help="also measure this page's work with the lab of this commit (e.g. before a change)"
    )
    parser.add_argument("--side", choices=("old", "new"), help=argparse.SUPPRESS)
    parser.add_argument("--first", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("run_ids", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        measured = (
            old_side(args.db, args.run_ids)
            if args.side == "old"
            else new_side(args.db, args.run_ids, first=args.first)
        )
        print(json.dumps(measured))
        return
    from bench.report import open_or_plant
    from lab import api

    with tempfile.TemporaryDirectory() as folder:
        db = Path(args.db or Path(folder) / "bench.db")
        run_ids = open_or_plant(db, runs=args.runs, n=args.n, reply_chars=0)
        items = sum(api.Store(db).totals(run_id).items for run_id in run_ids)
        # side -> (the page whose work it does, the root of its `lab`)
        sides = {"old": ("old", old_package(args.old_commit, Path(folder) / "old"))}
        if args.base:
            sides["base"] = ("new", old_package(args.base, Path(folder) / "base"))
        sides["new"] = ("new", ROOT)
        print(
            f"Results data path: {len(run_ids)} runs, {items:,} items, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f}; old = lab at {args.old_commit}"
            + (f", base = this page's work with lab at {args.base}" if args.base else "")
        )
        times: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
        order = list(sides)
        for number in range(args.rounds):
            for side in order[number % len(order) :] + order[: number % len(order)]:
                times[side].append(run_side(*sides[side], db, run_ids))
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print(f"{'measure':12}" + "".join(f" {side:>9}" for side in sides) + f" {'new / old':>10}")
    for phase in ("imports", "first visit", "cold", "warm"):
        medians = {side: statistics.median(t[phase] for t in times[side]) for side in sides}
        shown = "".join(f" {value:8.2f}s" for value in medians.values())
        print(f"{phase:12}{shown} {medians['new'] / medians['old']:10.3f}")


if __name__ == "__main__":
    main()
