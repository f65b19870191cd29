"""The Results page's data path on a large store, old against new, cold and warm, side by side in one run.

A store of `--runs` finished runs (arithmetic, five modes; 80,080 items at the defaults) is planted as
`bench.report` plants it. Each round runs both sides in fresh subprocesses, alternating which goes
first; a side is the `lab` package of a commit (`--old-commit`, default the last one before the
overview) or of this checkout, with everything else from this checkout.

- cold: what a first visit computes, after imports: old, the full item frame, the statistics, every
  chart and the unrecorded note; new, the narrow item read, the statistics, the unrecorded note and the
  overview matrix. Both then serialise the figures the page shows, as `st.plotly_chart` does.
- warm: a rerun on the same runs: the run list and change marker (both sides), then what the cache
  hands back: old, `st.cache_data` copies (a pickle round trip) of the item frame and the tables, the
  unrecorded note again and the shown figures serialised; new, the cached objects as they are (no
  copy) and the overview serialised.

    python -m bench.results [--runs 16] [--n 91] [--rounds 3] [--db PATH] [--old-commit C]
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


def old_side(db: str, run_ids: list[str]) -> dict[str, float]:
    from lab import api

    store = api.Store(db)
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
    return {"cold": cold, "warm": time.perf_counter() - started}


def new_side(db: str, run_ids: list[str]) -> dict[str, float]:
    from lab import api

    store = api.Store(db)
    started = time.perf_counter()
    result = api.result_set(store, run_ids)
    figure = api.overview_figure(result.tables.summary)
    figure.to_json(validate=False)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    api.runs_frame(store)
    api.change_marker(store, run_ids)
    figure.to_json(validate=False)
    return {"cold": cold, "warm": time.perf_counter() - started}


def run_side(side: str, db: Path, run_ids: list[str], old_root: Path) -> dict[str, float]:
    path = [str(old_root), str(ROOT)] if side == "old" else [str(ROOT)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    command = [sys.executable, "-m", "bench.results", "--side", side, "--db", str(db), *run_ids]
    done = subprocess.run(
        command, check=False, cwd=ROOT if side == "new" else old_root, env=env, capture_output=True
    )
    if done.returncode:
        raise SystemExit(f"the {side} side failed:\n{done.stderr.decode()}")
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
    parser.add_argument("--side", choices=("old", "new"), help=argparse.SUPPRESS)
    parser.add_argument("run_ids", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        measure = old_side if args.side == "old" else new_side
        print(json.dumps(measure(args.db, args.run_ids)))
        return
    from bench.report import open_or_plant
    from lab import api

    with tempfile.TemporaryDirectory() as folder:
        db = Path(args.db or Path(folder) / "bench.db")
        run_ids = open_or_plant(db, runs=args.runs, n=args.n, reply_chars=0)
        items = sum(api.Store(db).totals(run_id).items for run_id in run_ids)
        old_root = old_package(args.old_commit, Path(folder) / "old")
        print(
            f"Results data path: {len(run_ids)} runs, {items:,} items, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f}; old = lab at {args.old_commit}"
        )
        times: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for number in range(args.rounds):
            for side in ("old", "new") if number % 2 == 0 else ("new", "old"):
                times[side].append(run_side(side, db, run_ids, old_root))
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print(f"{'measure':10} {'old':>9} {'new':>9} {'new / old':>10}")
    for phase in ("cold", "warm"):
        old = statistics.median(t[phase] for t in times["old"])
        new = statistics.median(t[phase] for t in times["new"])
        print(f"{phase:10} {old:8.2f}s {new:8.2f}s {new / old:10.3f}")


if __name__ == "__main__":
    main()
