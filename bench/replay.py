"""Replay throughput: Wu et al.'s recorded gpt4 replies, 5 bases x 1,000 items, through the whole pipeline.

Side by side in one run: scoring the same replies in a bare loop (read the transcripts, look up each
prompt, extract and compare the answer) against `prepare_run` + `execute_run` with the SQLite store
(plan, call records, items). The ratio is what the pipeline costs per item on top of the scoring.
Needs ../shared/anchors beside the checkout. Run: python -m bench.replay [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.models import ModelSpec, replay
from lab.run import study
from lab.run.plan import RunPlan, setting_cases, work_units
from lab.run.store import Store
from lab.tasks.scoring import score_direct
from probes import get_family

ANCHORS = Path(__file__).resolve().parent.parent.parent / "shared" / "anchors"
ARITHMETIC = ANCHORS / "counterfactual-evaluation" / "arithmetic"
MODEL = f"replay/{ARITHMETIC}/model_interactions/0shot/without_0cot/gpt4_base*.tsv"
BASES = (10, 8, 9, 11, 16)


def plan() -> RunPlan:
    return RunPlan(
        models=(ModelSpec(MODEL),),
        probes=tuple(f"arithmetic:base={base}" for base in BASES),
        modes=("deductive",),
        n=1000,
        cases_file=str(ARITHMETIC / "data" / "0shot" / "base{base}.txt"),
    )


def bare_loop(study_plan: RunPlan) -> tuple[float, int]:
    started = time.perf_counter()
    recording = replay.recording(MODEL, refresh=True)
    family = get_family("arithmetic")
    for setting in study_plan.settings():
        setting_cases(study_plan, setting)
    correct = 0
    for unit in work_units(study_plan):
        reply = recording.replies[replay.prompt_key(unit.messages)]
        correct += score_direct(family, reply, unit.cases[0][1].output).correct
    return time.perf_counter() - started, correct


def pipeline(study_plan: RunPlan) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        replay.recording(MODEL, refresh=True)
        store = Store(Path(tmp) / "bench.db")
        record = study.execute_run(store, study.prepare_run(store, study_plan))
        elapsed = time.perf_counter() - started
        assert record.status == "finished", record.reason
        return elapsed, store.totals(record.id).correct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not ARITHMETIC.is_dir():
        sys.exit(f"needs {ANCHORS} (Wu et al.'s data) beside the checkout")
    study_plan = plan()
    bare, full = [], []
    for _ in range(args.rounds):
        seconds, bare_correct = bare_loop(study_plan)
        bare.append(seconds)
        seconds, full_correct = pipeline(study_plan)
        full.append(seconds)
        assert bare_correct == full_correct, (bare_correct, full_correct)
    items = len(BASES) * 1000
    bare_s, full_s = statistics.median(bare), statistics.median(full)
    print(f"replay benchmark: gpt4 recordings, {items} items, {args.rounds} rounds, medians")
    print(f"{'measure':<52}{'time':>10}{'per item':>12}{'ratio':>8}")
    print(
        f"{'bare loop: look up and score (baseline)':<52}{bare_s:>9.2f}s"
        f"{bare_s / items * 1e3:>10.3f}ms{1:>8.1f}"
    )
    print(
        f"{'pipeline: prepare_run + execute_run + SQLite store':<52}{full_s:>9.2f}s"
        f"{full_s / items * 1e3:>10.3f}ms{full_s / bare_s:>8.1f}"
    )
    print(f"both scored {full_correct} of {items} right")


if __name__ == "__main__":
    main()
