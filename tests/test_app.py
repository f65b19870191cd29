"""The Streamlit app driven through AppTest: a study on the scripted model, from the Run page to History.

The run itself executes in its own process (as in the browser) and reaches the scripted server on
127.0.0.1; the tests poll the page, bounded, until the run is over.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.models import ModelSpec
from lab.results import read
from lab.results.detail import item_detail
from lab.run import study
from lab.run.plan import RunPlan, WorkUnit
from lab.run.store import Store
from tests.scripted import plan_responder
from tests.scripted_server import ScriptedServer

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
PROBES = ("arithmetic:base=10,digits=2", "arithmetic:base=8,digits=2")
MODES = ("deductive", "solverlearner")
SIZES = {"shots": 3, "n": 4, "instances": 1, "max_tokens": 64}
SECRET = "sk-typed-in-the-app-7f3a9c"
RUN_TIMEOUT = 120.0


def scripted_plan(base_url: str, **overrides: object) -> RunPlan:
    values: dict[str, object] = {
        "models": (ModelSpec("openai/scripted", api_base=base_url),),
        "probes": PROBES,
        "modes": MODES,
        **SIZES,
    }
    values.update(overrides)
    return RunPlan(**values)  # type: ignore[arg-type]


def right_answers(unit: WorkUnit) -> bool:
    """solverlearner right in the default world only; deductive right on even cases."""
    if unit.mode == "solverlearner":
        return unit.setting.default_world
    return unit.cases[0][0] % 2 == 0


def new_app(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("SOLVERLAB_DB", str(db))
    return AppTest.from_file(str(APP), default_timeout=60)


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, texts(at.exception)


def go(at: AppTest, page: str) -> AppTest:
    at.sidebar.radio(key="page").set_value(page).run()
    assert_no_exception(at)
    return at


def add_model(at: AppTest, name: str, api_base: str = "", key_env: str = "", key: str = "") -> None:
    at.text_input(key="new_model").set_value(name)
    at.text_input(key="new_api_base").set_value(api_base)
    at.text_input(key="new_key_env").set_value(key_env)
    at.text_input(key="new_key").set_value(key)
    at.form_submit_button[0].click().run()
    assert_no_exception(at)


def configure(
    at: AppTest,
    api_base: str,
    *,
    key: str = "",
    probes: tuple[str, ...] = PROBES,
    modes: tuple[str, ...] = MODES,
    concurrency: int = 8,
) -> None:
    """On the Run page: the scripted model instead of the embedded one, two settings, two modes, small."""
    at.run()
    assert_no_exception(at)
    at.button(key="remove_model_0").click().run()
    add_model(at, "openai/scripted", api_base=api_base, key=key)
    for box in at.checkbox:
        if box.key and box.key.startswith("setting:"):
            box.set_value(box.key.removeprefix("setting:") in probes)
    at.multiselect(key="modes").set_value(list(modes))
    for name, value in SIZES.items():
        at.number_input(key=name).set_value(value)
    at.number_input(key="concurrency").set_value(concurrency)
    at.run()
    assert_no_exception(at)


def wait_until(at: AppTest, done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        at.run()
        assert_no_exception(at)
        if done():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}; page shows: {texts(at.markdown)[:2000]}")
        time.sleep(0.4)


def run_status(db: Path, run_id: str) -> str:
    store = Store(db)
    try:
        return study.effective_status(study.get_run(store, run_id))
    finally:
        store.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Study:
    db: Path
    run_id: str
    plan: RunPlan
    server: ScriptedServer
    at: AppTest


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture(scope="module")
def finished_study(server: ScriptedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Study]:
    """A study configured, started and watched to its end through the Run page, with a typed key."""
    db = tmp_path_factory.mktemp("app") / "solverlab.db"
    plan = scripted_plan(server.base_url)
    server.responder = plan_responder(plan, right_answers)
    with pytest.MonkeyPatch.context() as monkeypatch:
        at = new_app(db, monkeypatch)
        configure(at, server.base_url, key=SECRET)
        assert texts(at.metric).count(str(study.estimated_calls(plan))) >= 1
        at.button(key="start").click().run()
        assert_no_exception(at)
        run_id = at.session_state["watch_run"]
        assert at.query_params["run"] == run_id
        # Straight after Start the page follows the run: a progress bar, counters and a Stop button.
        assert len(at.get("progress")) == 1
        assert "Items scored" in [m.label for m in at.metric]
        wait_until(at, lambda: run_status(db, run_id) != "running", "the run to end")
        at.run()
        yield Study(db, run_id, plan, server, at)


def test_run_page_estimates_starts_and_follows_a_study_to_the_end(finished_study: Study) -> None:
    at, plan = finished_study.at, finished_study.plan
    assert run_status(finished_study.db, finished_study.run_id) == "finished"
    assert "Finished" in texts(at.success)
    metrics = {m.label: m.value for m in at.metric}
    total = study.total_items(plan)
    assert metrics["Items scored"] == f"{total} / {total}"
    assert metrics["Failed model calls"] == "0"
    assert int(metrics["Tokens"].replace(",", "")) > 0
    assert at.get("progress")[0].value == 100
    # Results fill in on the Run page too: the headline chart and the summary.
    assert len(at.get("plotly_chart")) == 1
    summaries = [d.value for d in at.dataframe if "accuracy" in d.value.columns]  # beside the cost table
    assert len(summaries) == 1 and len(summaries[0]) == len(plan.settings()) * len(plan.modes)
    # And a button leads to them on the Results page.
    at.button(key="open_results").click().run()
    assert_no_exception(at)
    assert [t.value for t in at.title] == ["Results"]
    assert at.multiselect(key="runs").value == [finished_study.run_id]


def test_a_typed_key_reaches_the_model_but_never_the_store_or_the_log(finished_study: Study) -> None:
    sent = [h.get("authorization") for h in finished_study.server.headers]
    assert f"Bearer {SECRET}" in sent
    for path in finished_study.db.parent.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    record = Store(finished_study.db).get_run(finished_study.run_id)
    assert record is not None and SECRET not in json.dumps(record.plan)


def test_the_run_page_follows_the_run_after_a_reload(
    finished_study: Study, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = new_app(finished_study.db, monkeypatch)
    at.query_params["run"] = finished_study.run_id  # a reload keeps the URL, not the session
    at.run()
    assert_no_exception(at)
    assert finished_study.run_id in texts(at.subheader)
    assert "Finished" in texts(at.success)


def test_pages_keep_the_run_in_the_url_and_old_page_links_still_open(
    finished_study: Study, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = finished_study.run_id
    at = new_app(finished_study.db, monkeypatch)
    at.query_params["page"] = "History"  # a link from before pages had paths of their own
    at.query_params["run"] = run_id
    at.run()
    assert_no_exception(at)
    assert [t.value for t in at.title] == ["History"]
    assert at.sidebar.radio(key="page").value == "History"
    assert "page" not in at.query_params and at.query_params["run"] == run_id
    go(at, "Results")
    assert [t.value for t in at.title] == ["Results"] and at.query_params["run"] == run_id
    # A button that leads to another page: History's "Inspect its items" opens Inspect on that run.
    go(at, "History")
    at.button(key="history_inspect").click().run()
    assert_no_exception(at)
    assert [t.value for t in at.title] == ["Inspect items"]
    assert at.sidebar.radio(key="page").value == "Inspect"
    assert at.multiselect(key="runs").value == [run_id]


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_results_page_shows_the_charts_the_summary_and_the_downloads(
    finished_study: Study, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = new_app(finished_study.db, monkeypatch)
    at.run()
    go(at, "Results")
    assert at.multiselect(key="runs").value == [finished_study.run_id]
    specs = plotly_specs(at)
    assert len(specs) == 8
    headline = specs[0]
    assert "inductive vs deductive" in headline["layout"]["title"]["text"]
    bars = [t for t in headline["data"] if t["type"] == "bar"]
    assert {t["legendgroup"] for t in bars} == set(MODES)
    assert all(t["error_y"]["visible"] for t in bars)
    assert any(a.get("text") == "default world" for a in headline["layout"]["annotations"])
    summary = read.summary_frame(Store(finished_study.db), [finished_study.run_id])
    shown = next(d.value for d in at.dataframe if "ci_low" in d.value.columns and "mode" in d.value.columns)
    assert shown["accuracy"].tolist() == summary["accuracy"].tolist()
    solverlearner = summary[summary["mode"] == "solverlearner"].set_index("setting")["accuracy"]
    assert solverlearner.to_dict() == {"base=10,digits=2": 1.0, "base=8,digits=2": 0.0}
    assert [b.label for b in at.download_button] == [
        "Items CSV",
        "Summary CSV",
        "Charts (HTML)",
        "Report (HTML)",
    ]
    assert "camera" in texts(at.caption)


def test_inspect_page_filters_items_and_opens_one(
    finished_study: Study, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = new_app(finished_study.db, monkeypatch)
    at.run()
    go(at, "Inspect")
    total = study.total_items(finished_study.plan)
    assert f"{total} of {total} items match" in texts(at.caption)
    at.multiselect(key="filter_mode").set_value(["solverlearner"])
    at.radio(key="filter_outcome").set_value("wrong").run()
    assert_no_exception(at)
    assert f"4 of {total} items match" in texts(at.caption)
    # A wrong solverlearner item: its code, each held-out case and the function's flags.
    assert "wrong" in texts(at.subheader) and "solverlearner" in texts(at.subheader)
    python = [c for c in at.code if c.language == "python"]
    assert len(python) == 1 and "def solver" in python[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Fits its own examples"] == "no"
    assert metrics["Memorised lookup"] == "no"
    held_out = next(d.value for d in at.dataframe if {"case", "output"} <= set(d.value.columns))
    assert len(held_out) == 4 and not held_out["correct"].any()
    assert set(held_out["output"].str.lower()) == {"wrong"}
    # A deductive item shows the exact prompt sent and the raw reply.
    at.multiselect(key="filter_mode").set_value(["deductive"])
    at.radio(key="filter_outcome").set_value("correct").run()
    assert_no_exception(at)
    store = Store(finished_study.db)
    item = next(
        i
        for i in store.items([finished_study.run_id])
        if i["mode"] == "deductive" and i["correct"] and i["setting"] == "base=10,digits=2"
    )
    detail = item_detail(store, item)
    code_blocks = [c.value for c in at.code]
    assert detail.messages[0]["content"] in code_blocks
    assert detail.reply in code_blocks


def test_history_page_lists_runs_and_deletes_one_after_confirmation(
    finished_study: Study, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A copy of the finished study's store, so the other tests keep their run.
    db = tmp_path / "copy.db"
    source = Store(finished_study.db)
    source._db.execute("VACUUM INTO ?", (str(db),))
    at = new_app(db, monkeypatch)
    at.run()
    go(at, "History")
    table = at.dataframe[0].value
    row = table.set_index("run_id").loc[finished_study.run_id]
    total = study.total_items(finished_study.plan)
    assert (row["status"], row["items"]) == ("finished", f"{total}/{total}")
    assert "cost_usd" in table.columns and "openai/scripted" in row["models"]
    at.button(key="history_delete").click().run()
    assert "cannot be undone" in texts(at.warning)
    assert Store(db).get_run(finished_study.run_id) is not None
    at.button(key="confirm_delete_yes").click().run()
    assert_no_exception(at)
    assert Store(db).get_run(finished_study.run_id) is None
    assert f"Deleted run {finished_study.run_id}" in texts(at.success)
    assert "No runs yet" in texts(at.info)


def test_an_unreachable_model_fails_the_run_with_a_readable_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = new_app(tmp_path / "solverlab.db", monkeypatch)
    configure(at, f"http://127.0.0.1:{free_port()}/v1")
    at.button(key="start").click().run()
    run_id = at.session_state["watch_run"]
    wait_until(at, lambda: run_status(tmp_path / "solverlab.db", run_id) != "running", "the run to fail")
    at.run()
    assert_no_exception(at)
    message = texts(at.error)
    assert "The run failed" in message and "cannot be reached" in message
    assert "Traceback" not in message
    assert at.button(key="resume_run")


def test_a_missing_provider_key_fails_the_run_with_a_readable_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    at = new_app(tmp_path / "solverlab.db", monkeypatch)
    at.run()
    at.button(key="remove_model_0").click().run()
    add_model(at, "openai/gpt-4o-mini")
    assert "provider's usual variable" in texts(at.caption)
    at.button(key="start").click().run()
    run_id = at.session_state["watch_run"]
    wait_until(at, lambda: run_status(tmp_path / "solverlab.db", run_id) != "running", "the run to fail")
    at.run()
    assert_no_exception(at)
    message = texts(at.error)
    assert "The run failed" in message and "OPENAI_API_KEY" in message and "Traceback" not in message


def test_an_empty_selection_shows_a_readable_message_and_no_start_button(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = new_app(tmp_path / "solverlab.db", monkeypatch)
    at.run()
    assert_no_exception(at)
    assert not at.error and at.button(key="start")
    at.multiselect(key="modes").set_value([]).run()
    assert "Cannot start this study: no mode given" in texts(at.error)
    assert not [b for b in at.button if b.key == "start"]
    at.multiselect(key="modes").set_value(["io"])
    for box in at.checkbox:
        if box.key and box.key.startswith("setting:"):
            box.set_value(False)
    at.run()
    assert "Cannot start this study: a plan needs at least one probe" in texts(at.error)
    at.checkbox(key="setting:arithmetic:base=10,digits=2").set_value(True)
    at.button(key="remove_model_0").click().run()
    assert "Cannot start this study: a plan needs at least one model" in texts(at.error)
    assert_no_exception(at)


def test_a_bad_setting_and_a_missing_key_are_reported_before_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOLVERLAB_TEST_UNSET_KEY", raising=False)
    at = new_app(tmp_path / "solverlab.db", monkeypatch)
    at.run()
    at.text_input(key="extra:arithmetic").set_value("base=99").run()
    assert "arithmetic: parameter 'base' has no value '99'" in texts(at.error)
    at.text_input(key="extra:arithmetic").set_value("base=12").run()
    assert not at.error
    add_model(at, "openai/gpt-4o-mini", key_env="SOLVERLAB_TEST_UNSET_KEY")
    assert "SOLVERLAB_TEST_UNSET_KEY is not set" in texts(at.error)
    assert at.button(key="start").disabled
    add_model(at, "")
    assert "Type a litellm model string" in texts(at.error)
    add_model(at, "openai/other", api_base="http://user:hunter2@127.0.0.1:9/v1")
    assert "Cannot add openai/other" in texts(at.error) and "credentials" in texts(at.error)
    assert "openai/other" not in [m["name"] for m in at.session_state["models"]]
    assert_no_exception(at)


def test_a_run_can_be_stopped_and_resumed_from_the_run_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "solverlab.db"
    with ScriptedServer(delay=0.4) as slow:
        plan = scripted_plan(slow.base_url, concurrency=1)
        slow.responder = plan_responder(plan, right_answers)
        at = new_app(db, monkeypatch)
        configure(at, slow.base_url, concurrency=1)
        at.button(key="start").click().run()
        run_id = at.session_state["watch_run"]
        store = Store(db)
        wait_until(at, lambda: store.totals(run_id).items > 0, "a first item")
        at.run()
        # While it runs, the page shows the results so far (the run has several slow calls left).
        assert run_status(db, run_id) == "running"
        assert "Results so far" in [e.label for e in at.expander]
        assert len(at.get("plotly_chart")) == 1
        at.button(key="stop_run").click().run()
        assert_no_exception(at)
        assert "Stopping" in texts(at.info) or run_status(db, run_id) == "stopped"
        wait_until(at, lambda: run_status(db, run_id) != "running", "the run to stop")
        at.run()
        assert run_status(db, run_id) == "stopped"
        assert "Stopped" in texts(at.info)
        left = store.totals(run_id).items
        assert 0 < left < study.total_items(plan)
        at.button(key="resume_run").click().run()
        assert_no_exception(at)
        wait_until(at, lambda: run_status(db, run_id) != "running", "the resumed run to end")
        at.run()
        assert run_status(db, run_id) == "finished"
        assert store.totals(run_id).items == study.total_items(plan)
        assert "Finished" in texts(at.success)


def test_results_page_shows_pass_at_k_refinement_rounds_and_the_comprehension_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lab.run.plan import work_units
    from probes import get_family
    from tests.scripted import fenced, solver_source

    setting = get_family("arithmetic").setting(base=8)
    right = solver_source(setting)

    def respond(body: dict) -> str:
        messages = body["messages"]
        content = messages[0]["content"]
        if "Reply with OK" in messages[-1]["content"]:
            return "OK"
        if "next number after" in content:
            return "Counting: the next number is 10."  # right only for 7
        if "what is" in content:
            return "\\boxed{0}"
        if len(messages) > 1:  # a refinement round: now right
            return fenced(right)
        return fenced(
            "def solver(x):\n    return 'wrong'\n"
            if body["seed"] == 0
            else right.replace(
                "    a, b = x.split('+')\n",
                "    a, b = x.split('+')\n    if x == FIRST:\n        return '0'\n",
            ).replace("FIRST", repr(first_example))
        )

    db = tmp_path / "search.db"
    with ScriptedServer(request_responder=respond) as server:
        plan = scripted_plan(
            server.base_url,
            probes=(setting.spec,),
            modes=("deductive", "ccc", "solverlearner"),
            samples=2,
            rounds=1,
            temperature=0.7,
            framing="blind",  # the scripted functions below take the whole input, solver(x)
        )
        first_example = next(u for u in work_units(plan) if u.mode == "solverlearner").examples[0].input
        store = Store(db)
        run_id = study.prepare_run(store, plan)
        assert study.execute_run(store, run_id).status == "finished"
    at = new_app(db, monkeypatch)
    at.run()
    go(at, "Results")
    specs = {s["layout"].get("title", {}).get("text", "").split("<br>")[0]: s for s in plotly_specs(at)}
    check = specs["Deductive accuracy vs the comprehension check"]
    assert {t["legendgroup"] for t in check["data"] if t["type"] == "bar"} == {"deductive", "ccc"}
    pass_at_k = specs["pass@k over candidate functions"]
    curve = next(t for t in pass_at_k["data"] if t["type"] == "scatter")
    assert curve["x"] == [1, 2] and curve["y"] == [0.5, 1.0]
    by_round = specs["Accuracy by refinement round"]
    curve = next(t for t in by_round["data"] if t["type"] == "scatter")
    assert curve["x"] == [0, 1] and curve["y"] == [1.0, 1.0]
    tables = [d.value for d in at.dataframe]
    passk = next(t for t in tables if "measure" in t.columns)
    assert passk.set_index("measure")["value"].to_dict() == {
        "first sample": 0.0,
        "best fit": 1.0,
        "best fit solves": 1.0,
        "pass@1": 0.5,
        "pass@2": 1.0,
        "pass@1 per case": 0.5,
        "pass@2 per case": 1.0,
    }
    rounds = next(t for t in tables if "refined" in t.columns)
    assert rounds["refined"].tolist() == [1, 1]


def test_more_samples_raise_the_default_temperature(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(tmp_path / "empty.db", monkeypatch)
    at.run()
    assert at.number_input(key="temperature").value == 0.0
    at.number_input(key="samples").set_value(4).run()
    assert_no_exception(at)
    assert at.number_input(key="temperature").value == 0.7
    at.number_input(key="temperature").set_value(1.0).run()
    at.number_input(key="rounds").set_value(2).run()
    assert at.number_input(key="temperature").value == 1.0
