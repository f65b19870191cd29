"""A small real study on the embedded model: it answers, its replies are stored and scored."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from lab.models import DEFAULT_MODEL, ModelSpec, embedded
from lab.results import read
from lab.run import study
from lab.run.plan import RunPlan, total_items

pytestmark = pytest.mark.embedded


def test_a_small_study_on_the_embedded_model_is_stored_and_scored(db_path: Path) -> None:
    plan = RunPlan(
        models=(ModelSpec(DEFAULT_MODEL),),
        probes=("arithmetic:base=10", "cipher:cipher=atbash"),
        modes=("deductive", "solverlearner"),
        shots=4,
        n=3,
        instances=1,
        max_tokens=256,
    )
    store = study.Store(db_path)
    record = study.execute_run(store, study.prepare_run(store, plan))
    assert record.status == "finished", record.reason
    items = read.items_frame(store, [record.id])
    assert len(items) == total_items(plan) == 12
    # Every item was scored from a stored reply: a prediction, or a labelled reason why there is none.
    assert (items["predicted"].notna() | items["error"].notna()).all()
    for item in store.items([record.id]):
        call = store.get_call(item["call_id"])
        assert call is not None and call["response"] and call["completion_tokens"] > 0
    code_items = items[items["mode"] == "solverlearner"]
    assert (
        code_items["error"]
        .isin(
            [
                None,
                "no_code",
                "syntax_error",
                "restricted",
                "no_solver",
                "runtime_error",
                "timeout",
                "memory",
                "bad_output",
            ]
        )
        .all()
    )
    summary = read.summary_frame(store, [record.id])
    assert set(summary["mode"]) == {"deductive", "solverlearner"}
    # A floor only: a pipeline that scores nothing right (a broken extractor, a broken sandbox) fails here.
    assert items["correct"].sum() >= 1


def replies(store: study.Store, run_id: str) -> dict[tuple[object, ...], str]:
    """Each item's reply, by the item's key."""
    found = {}
    for item in store.items([run_id]):
        call = store.get_call(item["call_id"])
        assert call is not None and call["response"] is not None and not call["cached"]
        key = (item["setting"], item["mode"], item["instance"], item["case_index"])
        found[key] = call["response"]
    return found


def test_the_same_study_twice_gives_the_same_replies_item_by_item(tmp_path: Path) -> None:
    """Issue 13: two identical studies at temperature 0 (separate databases, so no reply comes from the
    response cache) gave different replies on 3 of 24 items. Concurrent calls share the engine here, as
    in a run, and replies are long enough for a last-bit difference to flip a token."""
    plan = RunPlan(
        models=(ModelSpec(DEFAULT_MODEL),),
        probes=("arithmetic:base=8",),
        modes=("deductive",),
        n=4,
        instances=1,
        max_tokens=64,
        concurrency=4,
    )
    runs = []
    for name in ("first", "second"):
        store = study.Store(tmp_path / f"{name}.db")
        record = study.execute_run(store, study.prepare_run(store, plan))
        assert record.status == "finished", record.reason
        assert study.run_determinism(store, record.id).promised
        runs.append(replies(store, record.id))
    first, second = runs
    assert len(first) == total_items(plan)
    differing = [key for key in first if first[key] != second[key]]
    assert differing == [], f"{len(differing)} of {len(first)} replies differ: {differing}"


def test_stop_cancels_the_embedded_model_s_generations(db_path: Path) -> None:
    plan = RunPlan(
        models=(ModelSpec(DEFAULT_MODEL),),
        probes=("arithmetic:base=8",),
        modes=("deductive",),
        n=4,
        instances=1,
        max_tokens=1024,
        cot=True,
        concurrency=4,
    )
    store = study.Store(db_path)
    run_id = study.prepare_run(store, plan)
    stop = threading.Event()
    ended: list[study.RunRecord] = []
    worker = threading.Thread(target=lambda: ended.append(study.execute_run(store, run_id, stop=stop)))
    worker.start()
    engine = embedded.get_engine()
    before = engine.decode_stats().decodes
    deadline = time.monotonic() + 600
    while engine.decode_stats().decodes - before < 5:  # the study's calls are generating
        assert time.monotonic() < deadline and worker.is_alive(), "the study never started generating"
        time.sleep(0.2)
    stop.set()
    worker.join(timeout=60)  # generous on a loaded machine; unstopped, the calls take minutes
    assert not worker.is_alive(), "the run did not stop within 60 s"
    assert ended[0].status == "stopped"
    totals = store.totals(run_id)
    assert totals.failed_calls == 0  # cancelled calls are no failures, and are not stored
    assert totals.calls == totals.items < total_items(plan)
    stopped_at = engine.decode_stats().decodes
    time.sleep(1.0)
    assert engine.decode_stats().decodes - stopped_at <= 1, "the engine went on generating after the stop"
