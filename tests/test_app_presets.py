"""The Run page's preset picker (AppTest): a preset's runs start from one button and finish; a run made
mostly of unrecorded replays is not shown as a success."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab import cli
from lab.run import study
from lab.run.store import Store
from tests.conftest import ANCHORS

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 240.0
has_anchors = pytest.mark.skipif(not ANCHORS.is_dir(), reason="../shared/anchors is not beside the checkout")


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def new_app(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("SOLVERLAB_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, texts(at.exception)
    return at


def statuses(db: Path, run_ids: list[str]) -> list[str]:
    store = Store(db)
    try:
        return [study.effective_status(study.get_run(store, run_id)) for run_id in run_ids]
    finally:
        store.close()


def test_a_preset_on_your_model_shows_the_models_and_its_runs(tmp_path: Path, monkeypatch) -> None:
    at = new_app(tmp_path / "solverlab.db", monkeypatch)
    at.selectbox(key="preset").set_value("solverlearner-arithmetic").run()
    assert not at.exception, texts(at.exception)
    page = texts(at.markdown)
    assert "**SolverLearner protocol**: deductive, io, io_rule, solverlearner on arithmetic" in page
    assert at.button(key="remove_model_0") is not None  # the preset runs on the study's models
    assert at.button(key="start").label == "Start the preset's 1 run(s)"
    assert not [box for box in at.checkbox if (box.key or "").startswith("setting:")]  # no form below


@has_anchors
def test_a_recorded_preset_starts_every_run_and_each_finishes_with_every_prompt_recorded(
    tmp_path: Path, monkeypatch
) -> None:
    db = tmp_path / "solverlab.db"
    at = new_app(db, monkeypatch)
    at.selectbox(key="preset").set_value("wu-syntax-check-recorded").run()
    at.button(key="start").click().run()
    assert not at.exception, texts(at.exception)
    run_ids = at.session_state["preset_runs"]
    assert len(run_ids) == 2 and at.session_state["watch_run"] == run_ids[0]
    deadline = time.monotonic() + RUN_TIMEOUT
    while "running" in statuses(db, run_ids):
        assert time.monotonic() < deadline, statuses(db, run_ids)
        time.sleep(0.5)
    assert statuses(db, run_ids) == ["finished", "finished"]
    store = Store(db)
    assert all(not store.get_run(run_id).reason for run_id in run_ids)  # type: ignore[union-attr]
    items = store.items(run_ids)
    assert len(items) == 2 * 4 * 5 * 100 and not [i for i in items if i["error"] == "not_recorded"]
    at.run()
    assert "Finished: every item is scored." in texts(at.success)
    at.button(key="open_results").click().run()
    assert at.multiselect(key="runs").value == run_ids


@has_anchors
def test_a_run_of_unrecorded_prompts_is_a_warning_not_a_success(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "solverlab.db"
    recording = ANCHORS / "counterfactual-evaluation/arithmetic/model_interactions/ccc/gpt4_base8.tsv"
    argv = ["run", "--model", f"replay/{recording}", "--probe", "arithmetic:base=8", "--mode", "deductive"]
    assert cli.main([*argv, "--n", "3", "--db", str(db)]) == 3
    [record] = Store(db).list_runs()
    at = new_app(db, monkeypatch)
    at.query_params["run"] = record.id
    at.run()
    assert not at.success or "Finished: every item" not in texts(at.success)
    assert "Finished, but this is no result: 3 of 3 items have no recorded reply" in texts(at.warning)
