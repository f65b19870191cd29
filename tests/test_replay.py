"""Replay models answer from recorded transcripts; a cases file supplies Wu et al.'s exact held-out items."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import litellm
import pandas as pd
import pytest

from lab.cli import main
from lab.models import (
    CallParams,
    ModelSpec,
    ModelUnavailableError,
    RetryPolicy,
    model_spec,
    provider_for,
    replay,
)
from lab.results import charts, read
from lab.results.detail import item_detail
from lab.results.export import restore_cell
from lab.run import study
from lab.run.plan import RunError, RunPlan, setting_cases, work_units
from lab.run.store import Store
from lab.tasks.prompts import build_messages
from probes import get_family
from tests.conftest import ANCHORS
from tests.scripted import plan_responder
from tests.scripted_server import ScriptedServer

ARITHMETIC = ANCHORS / "counterfactual-evaluation" / "arithmetic"
WU_ITEMS = str(ARITHMETIC / "data" / "0shot" / "base{base}.txt")
BASES = (10, 8, 9, 11, 16)
PUBLISHED = {  # ../shared/anchors/README.md, bases 10, 8, 9, 11, 16
    ("gpt-4-0314", False): (1.000, 0.823, 0.234, 0.384, 0.630),
    ("gpt-3.5-turbo-0301", False): (1.000, 0.083, 0.066, 0.038, 0.177),
    ("claude-v1.3", False): (0.998, 0.223, 0.002, 0.066, 0.324),
    ("palm2", False): (0.987, 0.064, 0.022, 0.034, 0.234),
    ("gpt-4-0314", True): (0.982, 0.602, 0.386, 0.565, 0.740),
    ("gpt-3.5-turbo-0301", True): (0.990, 0.126, 0.098, 0.027, 0.177),
    ("claude-v1.3", True): (0.987, 0.014, 0.009, 0.040, 0.065),
    ("palm2", True): (0.822, 0.011, 0.006, 0.005, 0.012),
}
FAST_RETRY = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, timeout=20)
needs_anchors = pytest.mark.skipif(
    not ARITHMETIC.is_dir(), reason="../shared/anchors is not beside the checkout"
)


def run(store: Store, plan: RunPlan, **options: object):
    return study.execute_run(store, study.prepare_run(store, plan), retry=FAST_RETRY, **options)


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def write_tsv(path: Path, records: list[tuple[str, str]]) -> Path:
    """Wu et al.'s format: prompt, response, then bookkeeping columns."""
    path.write_text("".join(f"{escape(p)}\t{escape(r)}\t0\n" for p, r in records), encoding="utf-8")
    return path


def wu_prompt(base: int, query: str) -> str:
    setting = get_family("arithmetic").setting(base=base)
    return build_messages(setting, "deductive", query=query)[0]["content"]


# ---------------------------------------------------------------------------------------------
# The published figures, through the normal pipeline


@needs_anchors
def test_recorded_models_reproduce_every_published_accuracy_on_wu_et_al_s_items(db_path: Path) -> None:
    offered = replay.recorded_models(ANCHORS)
    assert {(m.label, m.cot) for m in offered} == {
        (f"{name} (recorded{', CoT' if cot else ''})", cot) for name, cot in PUBLISHED
    }
    store = Store(db_path)
    started = time.monotonic()
    for cot in (False, True):
        plan = RunPlan(
            models=tuple(ModelSpec(m.name) for m in offered if m.cot == cot),
            probes=tuple(f"arithmetic:base={base}" for base in BASES),
            modes=("deductive",),
            n=1000,
            cot=cot,
            cases_file=WU_ITEMS,
        )
        record = run(store, plan)
        assert record.status == "finished", record.reason
        items = read.items_frame(store, [record.id])
        assert len(items) == 4 * 5 * 1000
        assert not (items["error"] == replay.NOT_RECORDED).any()
        summary = read.summary_frame(store, [record.id])
        for row in summary.itertuples():
            published = PUBLISHED[(replay.display_label(row.model).split(" (")[0], cot)]
            base = int(dict(part.split("=") for part in row.setting.split(","))["base"])
            expected = published[BASES.index(base)]
            assert row.n == 1000
            assert abs(row.accuracy - expected) <= 0.01, (row.model, row.setting, row.accuracy, expected)
        assert len(summary) == 4 * 5
    print(f"40,000 recorded items replayed and scored in {time.monotonic() - started:.1f} s")


CHECK_PUBLISHED = {  # ../shared/anchors/README.md, comprehension check, bases 10, 8, 9, 11, 16
    "gpt-4-0314": (1.00, 0.98, 0.90, 0.91, 1.00),
    "gpt-3.5-turbo-0301": (1.00, 0.965, 0.77, 0.56, 0.955),
}


@needs_anchors
@pytest.mark.parametrize("model", sorted(CHECK_PUBLISHED))
def test_an_offered_recorded_model_answers_deductive_and_ccc_and_reproduces_the_checks(
    db_path: Path, model: str
) -> None:
    offered = next(m for m in replay.recorded_models(ANCHORS) if m.label == f"{model} (recorded)")
    plan = RunPlan(
        models=(ModelSpec(offered.name),),
        probes=tuple(f"arithmetic:base={base}" for base in BASES),
        modes=("deductive", "ccc"),
        n=200,
        cases_file=WU_ITEMS,
        check_file=str(ARITHMETIC / "data" / "ccc" / "base{base}.txt"),
    )
    store = Store(db_path)
    record = run(store, plan)
    assert record.status == "finished", record.reason
    items = read.items_frame(store, [record.id])
    assert len(items) == 2 * 5 * 200 and not (items["error"] == replay.NOT_RECORDED).any()
    summary = read.summary_frame(store, [record.id])
    checks = summary[summary["mode"] == "ccc"]
    accuracy = {
        int(s.split(",")[0].removeprefix("base=")): a
        for s, a in zip(checks["setting"], checks["accuracy"], strict=True)
    }
    for base, published in zip(BASES, CHECK_PUBLISHED[model], strict=True):
        # Within 2 of 200 items (written in counts: 0.77 - 0.76 is not <= 0.01 in floating point).
        assert abs(round(accuracy[base] * 200) - round(published * 200)) <= 2, (model, base, accuracy[base])


# ---------------------------------------------------------------------------------------------
# Unrecorded prompts, conflicting recordings, checks


def test_an_unrecorded_prompt_is_scored_not_recorded_and_the_run_finishes(
    db_path: Path, tmp_path: Path
) -> None:
    cases = tmp_path / "cases.txt"
    cases.write_text("76+76\n14+57\n44+45\n22+13\n")
    expected = {"76+76": "174", "14+57": "73"}
    recording = write_tsv(
        tmp_path / "gpt4_base8.tsv", [(wu_prompt(8, q), f"So \\boxed{{{a}}}") for q, a in expected.items()]
    )
    plan = RunPlan(
        models=(ModelSpec(f"replay/{recording}"),),
        probes=("arithmetic:base=8",),
        modes=("deductive", "solverlearner"),
        n=4,
        shots=3,
        instances=1,
        cases_file=str(cases),
        max_failures=0,  # not-recorded prompts must not count as failures
    )
    store = Store(db_path)
    record = run(store, plan)
    assert record.status == "finished", record.reason
    items = read.items_frame(store, [record.id]).set_index(["mode", "input"])
    deductive = items.loc["deductive"]
    assert deductive.loc[list(expected), "correct"].tolist() == [True, True]
    for query in ("44+45", "22+13"):
        assert deductive.loc[query, "error"] == replay.NOT_RECORDED
        assert deductive.loc[query, "predicted"] is None and not deductive.loc[query, "correct"]
    solverlearner = items.loc["solverlearner"]
    assert (solverlearner["error"] == replay.NOT_RECORDED).all() and not solverlearner["correct"].any()
    # The unrecorded calls are stored for inspection, with an error, so never served as replies.
    unrecorded = [i for i in store.items([record.id]) if i["error"] == replay.NOT_RECORDED]
    detail = item_detail(store, unrecorded[0])
    assert detail.reply is None and (detail.call_error or "").startswith(replay.NOT_RECORDED)
    assert detail.messages and "no recorded response" in (unrecorded[0]["detail"] or "")
    # Once recorded, a new run answers the prompt: nothing stale came from the store's cache.
    answers = {**expected, "44+45": "111", "22+13": "35"}
    write_tsv(recording, [(wu_prompt(8, q), f"\\boxed{{{a}}}") for q, a in answers.items()])
    again = run(store, RunPlan(**{**plan.__dict__, "modes": ("deductive",)}))
    assert read.summary_frame(store, [again.id])["accuracy"].tolist() == [1.0]


def test_replay_never_calls_litellm_and_takes_no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recording = write_tsv(tmp_path / "r.tsv", [("hello", "world")])

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("litellm was called for a replay model")

    monkeypatch.setattr(litellm, "completion", refuse)
    provider = provider_for(ModelSpec(f"replay/{recording}"))
    provider.check()
    assert provider.complete([{"role": "user", "content": "hello"}], CallParams()).text == "world"
    with pytest.raises(replay.NotRecordedError, match="no recorded response"):
        provider.complete([{"role": "user", "content": "hello?"}], CallParams())
    assert not provider.cacheable and provider.label() == "r.tsv (recorded)"
    with pytest.raises(ValueError, match="no api_base and no key"):
        ModelSpec(f"replay/{recording}", key_env="OPENAI_API_KEY")
    with pytest.raises(ValueError, match="no api_base and no key"):
        ModelSpec(f"replay/{recording}", api_base="http://127.0.0.1:9/v1")
    # One --api-base for a study that also replays: the replay model leaves it out.
    assert model_spec(f"replay/{recording}", "http://127.0.0.1:9/v1", "KEY") == ModelSpec(
        f"replay/{recording}"
    )
    served = model_spec("openai/x", "http://127.0.0.1:9/v1", "KEY")
    assert (served.api_base, served.key_env) == ("http://127.0.0.1:9/v1", "KEY")


def test_conflicting_recordings_fail_at_load_naming_both_places(db_path: Path, tmp_path: Path) -> None:
    prompt = wu_prompt(8, "76+76")
    write_tsv(tmp_path / "a.tsv", [("other", "x"), (prompt, "\\boxed{174}")])
    write_tsv(tmp_path / "b.tsv", [(prompt, "\\boxed{174}")])  # an identical duplicate is fine
    model = ModelSpec(f"replay/{tmp_path}")
    provider_for(model).check()
    write_tsv(tmp_path / "c.tsv", [("x", "y"), ("z", "w"), (prompt, "\\boxed{152}")])
    with pytest.raises(ModelUnavailableError) as raised:
        provider_for(model).check()
    message = str(raised.value)
    assert f"{tmp_path / 'a.tsv'}:2" in message and f"{tmp_path / 'c.tsv'}:3" in message
    assert "two different recorded responses" in message
    store = Store(db_path)
    plan = RunPlan(models=(model,), probes=("arithmetic:base=8",), modes=("deductive",), n=2)
    run_id = study.prepare_run(store, plan)
    with pytest.raises(RunError, match="two different recorded responses"):
        study.execute_run(store, run_id, retry=FAST_RETRY)
    assert store.totals(run_id).items == 0


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("missing.tsv", "no such file or folder"),
        ("empty.tsv", "no recorded responses"),
        ("notes.txt", "replay reads"),
        ("nothing-*.tsv", "no .tsv or .csv file"),
        ("bad.csv", "no messages or response column"),
    ],
)
def test_a_recording_that_cannot_serve_is_refused_before_the_run(
    tmp_path: Path, path: str, message: str
) -> None:
    (tmp_path / "empty.tsv").write_text("")
    (tmp_path / "notes.txt").write_text("hello\tworld\n")
    (tmp_path / "bad.csv").write_text("run_id,model\nr,m\n")
    with pytest.raises(ModelUnavailableError, match=message):
        provider_for(ModelSpec(f"replay/{tmp_path / path}")).check()


# ---------------------------------------------------------------------------------------------
# A SolverLab export replays to the identical items


def test_an_exported_run_replays_to_the_identical_items(db_path: Path, tmp_path: Path) -> None:
    store = Store(db_path)
    csv_path = tmp_path / "run.csv"
    with ScriptedServer() as server:
        live = ModelSpec("openai/scripted", api_base=server.base_url)
        plan = RunPlan(
            models=(live,),
            probes=("arithmetic:base=9", "cipher:cipher=atbash"),
            modes=("deductive", "io", "solverlearner"),
            n=4,
            shots=3,
            instances=2,
            seed=1,
            max_tokens=64,
        )
        scripted = plan_responder(plan, lambda u: u.instance == 0 and u.cases[0][0] % 2 == 0)
        # Replies a spreadsheet would run as formulas: the CSV neutralises them, replay restores them.
        server.responder = lambda m: "OK" if "Reply with OK" in m[-1]["content"] else "=" + scripted(m)
        first = run(store, plan)
        assert first.status == "finished", first.reason
        read.export_items(store, [first.id], csv_path)

        table = pd.read_csv(io.BytesIO(csv_path.read_bytes()), dtype=str, keep_default_na=False)
        assert {"messages", "response"} <= set(table.columns)
        assert table["response"].str.startswith("'=").all()
        first_item = store.items([first.id])[0]
        assert json.loads(table["messages"][0]) == item_detail(store, first_item).messages

        # A replayed model next to a live one in one run: both are scored and both are charted.
        recorded = ModelSpec(f"replay/{csv_path}")
        mixed = run(store, RunPlan(**{**plan.__dict__, "models": (recorded, live)}))
        assert mixed.status == "finished", mixed.reason

    columns = [c for c in read.items_frame(store, []).columns if c not in ("run_id", "model")]
    items = read.items_frame(store, [first.id, mixed.id])
    original = items[items["run_id"] == first.id][columns].reset_index(drop=True)
    replayed = items[items["model"] == recorded.label][columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(original, replayed)
    assert original["correct"].any() and not original["correct"].all()
    replies = {restore_cell(r) for r in table["response"]}
    assert all(reply.startswith("=") for reply in replies)

    summary = read.summary_frame(store, [mixed.id])
    assert set(summary["model"]) == {recorded.label, live.label}
    figure = charts.accuracy_by_setting(summary)
    titles = {a.text for a in figure.layout.annotations}
    assert any(t.startswith("run.csv (recorded)") for t in titles)
    assert any(t.startswith("openai/scripted @ http") for t in titles)


# ---------------------------------------------------------------------------------------------
# Cases files


def cases_plan(cases_file: str, **overrides: object) -> RunPlan:
    values: dict[str, object] = {
        "models": (ModelSpec("x/y"),),
        "probes": ("arithmetic:base=8", "arithmetic:base=9"),
        "modes": ("deductive", "io"),
        "n": 3,
        "shots": 4,
        "instances": 2,
        "cases_file": cases_file,
    }
    values.update(overrides)
    return RunPlan(**values)  # type: ignore[arg-type]


def test_a_cases_file_fills_placeholders_and_keeps_its_lines_as_written(tmp_path: Path) -> None:
    (tmp_path / "base8.txt").write_text("76+76\n76+76\n14+57\nextra line ignored\n")
    (tmp_path / "base9.txt").write_text("88+11\r\n12+34\r\n56+78\r\n")
    plan = cases_plan(str(tmp_path / "base{base}.txt"))
    family = get_family("arithmetic")
    for setting, lines in zip(
        plan.settings(), (["76+76", "76+76", "14+57"], ["88+11", "12+34", "56+78"]), strict=True
    ):
        held_out, example_sets = setting_cases(plan, setting)
        assert [c.input for c in held_out] == lines
        assert [c.output for c in held_out] == [family.solve(setting, line) for line in lines]
        shown = [c.input for examples in example_sets for c in examples]
        assert len(shown) == len(set(shown)) == 8 and not set(shown) & set(lines)
    deductive = [u for u in work_units(plan) if u.mode == "deductive"]
    assert "what is 76+76?" in deductive[0].messages[0]["content"]


def test_examples_never_repeat_a_held_out_input_from_the_file(tmp_path: Path) -> None:
    setting = get_family("arithmetic").setting(base=8)
    # The file holds the very cases the examples would otherwise be drawn from.
    generated = get_family("arithmetic").cases(setting, 40, 0)
    (tmp_path / "cases.txt").write_text("".join(c.input + "\n" for c in generated))
    plan = cases_plan(str(tmp_path / "cases.txt"), probes=("arithmetic:base=8",), n=30, shots=8, instances=3)
    held_out, example_sets = setting_cases(plan, setting)
    shown = [c.input for examples in example_sets for c in examples]
    assert len(set(shown)) == 24 and not set(shown) & {c.input for c in held_out}


def test_a_short_cases_file_or_a_bad_line_is_a_clear_error(db_path: Path, tmp_path: Path) -> None:
    (tmp_path / "base8.txt").write_text("76+76\n14+57\n")
    (tmp_path / "base9.txt").write_text("88+11\n12+34\n19+1\n")
    store = Store(db_path)
    with pytest.raises(RunError, match=r"base8\.txt has 2 line\(s\); arithmetic:base=8,digits=2 needs n = 3"):
        study.prepare_run(store, cases_plan(str(tmp_path / "base{base}.txt")))
    assert store.list_runs() == []  # nothing stored for a plan that cannot run
    plan = cases_plan(str(tmp_path / "base{base}.txt"), probes=("arithmetic:base=9",))
    with pytest.raises(RunError, match=r"base9\.txt:3: not a case of arithmetic:base=9,digits=2: '19\+1'"):
        setting_cases(plan, plan.settings()[0])
    (tmp_path / "base9.txt").write_text("88+11\n\n12+34\n")
    with pytest.raises(RunError, match=r"base9\.txt:2: .*empty"):
        setting_cases(plan, plan.settings()[0])
    with pytest.raises(RunError, match="cannot read the cases file"):
        setting_cases(cases_plan(str(tmp_path / "nope.txt")), plan.settings()[0])
    with pytest.raises(ValueError, match=r"\{base\}, \{digits\}"):
        cases_plan(str(tmp_path / "base{radix}.txt"))
    with pytest.raises(ValueError, match="cases_file is empty"):
        cases_plan(" ")


def test_plans_without_a_cases_file_keep_their_identity_hash(tmp_path: Path) -> None:
    plan = RunPlan(
        models=(ModelSpec("openai/x", "http://127.0.0.1:9/v1"),),
        probes=("arithmetic:base=8", "syntax"),
        modes=("deductive", "io"),
        n=7,
        seed=3,
        cot=True,
        framing="blind",  # the only wording then; old plans load as blind (test_lab_pipeline)
    )
    assert plan.identity_hash() == "809a50838b7bc949"  # as computed before cases files existed
    assert RunPlan.from_dict(plan.to_dict()).identity_hash() == plan.identity_hash()
    with_file = RunPlan(**{**plan.__dict__, "probes": ("arithmetic:base=8",), "cases_file": "base{base}.txt"})
    assert with_file.identity_hash() != RunPlan(**{**with_file.__dict__, "cases_file": None}).identity_hash()


def test_the_command_line_reads_a_cases_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "base8.txt").write_text("76+76\n14+57\n44+45\n")
    cases_file = str(tmp_path / "base{base}.txt")
    assert main(["cases", "--probe", "arithmetic:base=8", "--n", "2", "--cases-file", cases_file]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [{"input": "76+76", "output": "174"}, {"input": "14+57", "output": "73"}]
    prompt = ["prompt", "--probe", "arithmetic:base=8", "--n", "3", "--case", "2"]
    assert main([*prompt, "--cases-file", cases_file]) == 0
    assert "what is 44+45?" in json.loads(capsys.readouterr().out)["messages"][0]["content"]
    assert main(["cases", "--probe", "arithmetic:base=8", "--n", "5", "--cases-file", cases_file]) == 2
    assert "has 3 line(s)" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Labels and the app's recorded models


def test_recorded_models_are_found_in_the_transcripts_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variant in ("without_0cot", "with_0cot"):
        folder = tmp_path / replay.WU_ZERO_SHOT / variant
        folder.mkdir(parents=True)
        for model in ("gpt4", "palm2"):
            (folder / f"{model}_base8.tsv").write_text("p\tr\n")
    monkeypatch.setenv(replay.TRANSCRIPTS_ENV, str(tmp_path))
    found = replay.recorded_models()
    assert [(m.label, m.cot) for m in found] == [
        ("gpt-4-0314 (recorded)", False),
        ("palm2 (recorded)", False),
        ("gpt-4-0314 (recorded, CoT)", True),
        ("palm2 (recorded, CoT)", True),
    ]
    assert all(len(replay.resolve(m.name)) == 1 for m in found)
    monkeypatch.setenv(replay.TRANSCRIPTS_ENV, str(tmp_path / "absent"))
    assert replay.recorded_models() == []


@pytest.mark.parametrize(
    ("model", "label"),
    [
        ("replay/../a/0shot/with_0cot/gpt3.5_base*.tsv", "gpt-3.5-turbo-0301 (recorded, CoT)"),
        ("replay/../a/0shot/without_0cot/claude_base8.tsv [run-1]", "claude-v1.3 (recorded) [run-1]"),
        ("replay/exports/run.csv", "run.csv (recorded)"),
        ("openai/gpt-4o-mini", "openai/gpt-4o-mini"),
    ],
)
def test_display_labels_are_short(model: str, label: str) -> None:
    assert replay.display_label(model) == label


def test_the_app_offers_the_recorded_models_and_runs_one(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    recordings = tmp_path / "transcripts" / replay.WU_ZERO_SHOT / "without_0cot"
    recordings.mkdir(parents=True)
    items = {8: ("76+76", "14+57"), 10: ("76+14", "97+74")}
    family = get_family("arithmetic")
    for base, queries in items.items():
        setting = family.setting(base=base)
        answers = [(wu_prompt(base, q), f"\\boxed{{{family.solve(setting, q)}}}") for q in queries]
        write_tsv(recordings / f"gpt4_base{base}.tsv", answers)
        (tmp_path / f"base{base}.txt").write_text("\n".join(queries) + "\n")
    monkeypatch.setenv(replay.TRANSCRIPTS_ENV, str(tmp_path / "transcripts"))
    monkeypatch.setenv("SOLVERLAB_DB", str(db_path))

    at = AppTest.from_file(str(Path(study.PROJECT_ROOT) / "app.py"), default_timeout=60).run()
    assert not at.exception
    (offered,) = replay.recorded_models()
    at.button(key="remove_model_0").click().run()
    at.button(key=f"add_recorded_{offered.name}").click().run()
    assert "gpt-4-0314 (recorded)" in "\n".join(str(m.value) for m in at.markdown)
    for box in at.checkbox:
        if box.key and box.key.startswith("setting:"):
            box.set_value(
                box.key in ("setting:arithmetic:base=8,digits=2", "setting:arithmetic:base=10,digits=2")
            )
    at.multiselect(key="modes").set_value(["deductive"])
    at.number_input(key="n").set_value(2)
    at.text_input(key="cases_file").set_value(str(tmp_path / "base{base}.txt")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.button(key="start").click().run()
    run_id = at.session_state["watch_run"]
    store = Store(db_path)
    deadline = time.monotonic() + 120
    while study.effective_status(study.get_run(store, run_id)) in ("pending", "running"):
        assert time.monotonic() < deadline, "the replayed run did not end"
        time.sleep(0.2)
    assert study.get_run(store, run_id).status == "finished"
    summary = read.summary_frame(store, [run_id])
    assert summary["accuracy"].tolist() == [1.0, 1.0] and set(summary["model"]) == {offered.name}
