"""A small real study on the embedded model: it answers, its replies are stored and scored."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.models import DEFAULT_MODEL, ModelSpec
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
    # Replies at temperature 0 still vary with the engine's cache state, so only a floor is asserted:
    # a pipeline that scores nothing right (a broken extractor, a broken sandbox) fails here.
    assert items["correct"].sum() >= 1
