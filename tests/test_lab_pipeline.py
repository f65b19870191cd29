"""End to end through the real litellm client against a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from lab import api
from lab.models import DEFAULT_MODEL, ModelSpec, RetryPolicy, provider_for
from lab.models.calls import LitellmProvider
from lab.models.embedded_provider import EmbeddedProvider
from lab.models.replay import ReplayProvider
from lab.results import read
from lab.results.detail import item_detail
from lab.run import study
from lab.run.plan import (
    RunError,
    RunPlan,
    WorkUnit,
    check_cases,
    estimated_calls,
    mode_applies,
    total_items,
    work_units,
)
from lab.run.records import ITEM_COLUMNS, TRUNCATED, RunStatus
from lab.run.store import Store
from lab.tasks.modes import MODE_ORDER, MODES, Framing
from lab.tasks.scoring import UNPARSED
from tests.scripted import fenced, plan_responder, solver_source
from tests.scripted_server import ScriptedReply, ScriptedServer

ROOT = Path(__file__).resolve().parent.parent
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=20)
ONE_TURN_MODES = tuple(name for name in MODE_ORDER if not MODES[name].verbal and not MODES[name].interactive)
EVERY_FAMILY = (
    "arithmetic:base=10",
    "arithmetic:base=9",
    "syntax:order=osv",
    "syntax:order=vso,phrase=det",
    "cipher:cipher=caesar,shift=3",
    "cipher:cipher=atbash",
    "cipher:cipher=keyboard",
    "spatial:world=rotate90",
    "listfn:function=running_sum",
    "strings:depth=2,program=0",
)


def scripted_plan(base_url: str, **overrides: object) -> RunPlan:
    values: dict[str, object] = {
        "models": (ModelSpec("openai/scripted", api_base=base_url),),
        "probes": EVERY_FAMILY,
        "modes": ONE_TURN_MODES,  # the verbal modes' two turns have their own exact tests (test_verbal_modes)
        "shots": 3,
        "n": 4,
        "instances": 2,
        "seed": 1,
        "max_tokens": 64,
        "concurrency": 4,
    }
    values.update(overrides)
    return RunPlan(**values)  # type: ignore[arg-type]


def run(store: Store, plan: RunPlan, run_id: str | None = None):
    run_id = study.prepare_run(store, plan, run_id)
    return study.execute_run(store, run_id, retry=FAST_RETRY)


@pytest.mark.parametrize("framing", ["paper", "blind"])
def test_every_mode_of_every_family_scores_exactly(db_path: Path, framing: str) -> None:
    # Right on even held-out cases in direct modes and on instance 0 in code modes.
    with ScriptedServer() as server:
        plan = scripted_plan(server.base_url, framing=framing)
        server.responder = plan_responder(
            plan,
            lambda u: (
                u.instance == 0 if u.mode in ("solverlearner", "deductive_code") else u.cases[0][0] % 2 == 0
            ),
        )
        store = Store(db_path)
        record = run(store, plan)
        assert record.status == "finished", record.reason
        assert server.chat_requests == estimated_calls(plan) + 1  # +1: the probe call before the run
    summary = read.summary_frame(store, [record.id])
    checked = [s for s in plan.settings() if mode_applies(s, "ccc")]
    unchecked = {s.family for s in plan.settings() if s not in checked}
    assert unchecked == {"listfn", "strings"}  # the families without a comprehension check
    assert len(summary) == len(plan.settings()) * (len(plan.modes) - 1) + len(checked)
    for row in summary.itertuples():
        if row.mode == "solverlearner":
            assert (row.n, row.correct) == (8, 4), row  # instance 0 right, instance 1 wrong
        elif row.mode == "deductive_code":
            assert (row.n, row.correct) == (4, 4), row  # one instance: no examples to vary
        elif row.mode in ("io", "io_rule"):
            assert (row.n, row.correct) == (8, 4), row
        else:
            assert (row.n, row.correct) == (4, 2), row
    items = read.items_frame(store, [record.id])
    assert len(items) == total_items(plan)
    wrong_code = items[(items["mode"] == "solverlearner") & (items["instance"] == 1)]
    assert set(wrong_code["predicted"].str.lower().str.rstrip(".")) == {"wrong"}


def test_code_mode_diagnostics_are_stored(db_path: Path) -> None:
    # Under the paper framing arithmetic's solver takes the two numbers: joined, they are the input.
    lookup = "def solver(*x):\n    table = {%s}\n    return table.get('+'.join(x), '')\n"
    with ScriptedServer() as server:
        plan = scripted_plan(
            server.base_url, probes=("arithmetic:base=8",), modes=("solverlearner",), instances=1
        )
        unit = next(iter(work_units(plan)))
        pairs = ", ".join(f"{c.input!r}: {c.output!r}" for c in unit.examples)
        server.responder = lambda m: (
            "OK" if "Reply with OK" in m[-1]["content"] else f"```python\n{lookup % pairs}```"
        )
        store = Store(db_path)
        record = run(store, plan)
    item = store.items([record.id])[0]
    function = store.function(item["function_id"])
    assert function is not None
    assert function["fits_examples"] == 1 and function["memorised"] == 1
    assert function["held_out_failed"] == [0, 1, 2, 3]
    detail = item_detail(store, item)
    assert detail.messages == unit.messages and "table" in (detail.code or "")
    assert [h["case"] for h in detail.held_out] == [0, 1, 2, 3]


def test_retries_rate_limits_and_server_errors(db_path: Path) -> None:
    with ScriptedServer() as server:
        plan = scripted_plan(
            server.base_url, probes=("cipher:cipher=atbash",), modes=("deductive",), concurrency=1
        )
        server.responder = plan_responder(plan, lambda u: True)
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)
        server.fail_next(429, 1)
        server.fail_next(500, 1)
        record = study.execute_run(store, run_id, retry=FAST_RETRY, preflight=False)
        assert record.status == "finished"
        assert server.chat_requests == estimated_calls(plan) + 2
    assert read.summary_frame(store, [run_id])["accuracy"].tolist() == [1.0]


def test_failure_budget_stops_the_run_with_a_reason_and_caches_no_error(db_path: Path) -> None:
    with ScriptedServer() as server:
        plan = scripted_plan(
            server.base_url, probes=("syntax",), modes=("io",), max_failures=2, concurrency=1
        )
        server.responder = plan_responder(plan, lambda u: True)
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)
        server.fail_next(500, 3 * FAST_RETRY.attempts)
        record = study.execute_run(store, run_id, retry=FAST_RETRY, preflight=False)
        assert record.status == "failed"
        assert "3 failed model calls" in (record.reason or "")
        assert server.chat_requests == 3 * FAST_RETRY.attempts
        assert store.totals(run_id).items == 0
        # Resuming asks again: errors were never cached.
        record = study.execute_run(store, run_id, retry=FAST_RETRY, preflight=False)
        assert record.status == "finished"
        assert server.chat_requests == 3 * FAST_RETRY.attempts + estimated_calls(plan)


def test_a_finished_plan_rerun_costs_no_model_calls(db_path: Path) -> None:
    with ScriptedServer() as server:
        plan = scripted_plan(
            server.base_url, probes=("arithmetic:base=16",), modes=("deductive", "solverlearner")
        )
        server.responder = plan_responder(plan, lambda u: True)
        store = Store(db_path)
        first = run(store, plan)
        asked = server.chat_requests
        second = study.execute_run(store, study.prepare_run(store, plan), retry=FAST_RETRY, preflight=False)
        assert server.chat_requests == asked
        assert second.status == "finished"
        assert store.totals(second.id).items == store.totals(first.id).items == total_items(plan)


def test_unknown_model_and_unreachable_server_fail_once_before_the_run(db_path: Path) -> None:
    store = Store(db_path)
    plan = RunPlan(
        models=(ModelSpec("nosuchprovider/model-x"),), probes=("arithmetic:base=8",), modes=("io",)
    )
    run_id = study.prepare_run(store, plan)
    with pytest.raises(RunError, match="model string"):
        study.execute_run(store, run_id, retry=FAST_RETRY)
    assert store.get_run(run_id).status == "failed"  # type: ignore[union-attr]
    assert store.totals(run_id).calls == 0

    closed = ModelSpec("openai/scripted", api_base="http://127.0.0.1:9/v1")
    run_id = study.prepare_run(store, RunPlan(models=(closed,), probes=("syntax",), modes=("io",)))
    with pytest.raises(RunError, match="cannot be reached"):
        study.execute_run(store, run_id, retry=FAST_RETRY)


def test_keys_reach_the_server_but_never_the_store_or_csv(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-SECRET-7f3a9c"
    monkeypatch.setenv("SCRIPTED_KEY", secret)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-MUST-NOT-LEAK")
    with ScriptedServer() as server:
        plan = scripted_plan(
            server.base_url, probes=("cipher:cipher=caesar,shift=1",), modes=("io", "solverlearner")
        )
        keyed = RunPlan(
            **{**plan.__dict__, "models": (ModelSpec("openai/scripted", server.base_url, "SCRIPTED_KEY"),)}
        )
        server.responder = plan_responder(keyed, lambda u: True)
        store = Store(db_path)
        record = run(store, keyed)
        unkeyed = run(store, plan)
        assert {h.get("authorization") for h in server.headers} == {
            f"Bearer {secret}",
            "Bearer sk-no-key-needed",
        }
    csv_path = tmp_path / "items.csv"
    read.export_items(store, [record.id, unkeyed.id], csv_path)
    store.close()
    for path in (db_path, Path(f"{db_path}-wal"), csv_path):
        if path.exists():
            data = path.read_bytes()
            assert secret.encode() not in data and b"MUST-NOT-LEAK" not in data


def _start_cli_run(db: Path, base_url: str, run_id: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lab",
            "run",
            "--model",
            "openai/scripted",
            "--api-base",
            base_url,
            "--probe",
            "arithmetic:base=9",
            "--probe",
            "cipher:cipher=atbash",
            "--mode",
            "io,solverlearner",
            "--shots",
            "3",
            "--n",
            "6",
            "--instances",
            "2",
            "--concurrency",
            "2",
            "--db",
            str(db),
            "--run-id",
            run_id,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def test_resume_after_kill_9_loses_and_duplicates_nothing(db_path: Path) -> None:
    with ScriptedServer(delay=0.05) as server:
        plan = RunPlan(
            models=(ModelSpec("openai/scripted", server.base_url),),
            probes=("arithmetic:base=9", "cipher:cipher=atbash"),
            modes=("io", "solverlearner"),
            shots=3,
            n=6,
            instances=2,
        )
        server.responder = plan_responder(plan, lambda u: True)
        process = _start_cli_run(db_path, server.base_url, "killed")
        store = Store(db_path)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            store.get_run("killed") is None or store.totals("killed").items < 8
        ):
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        done_units = sum(1 for u in work_units(plan) if set(u.item_keys()) <= store.done_keys("killed"))
        assert 0 < done_units < estimated_calls(plan)
        assert study.effective_status(store.get_run("killed")) == "interrupted"  # type: ignore[arg-type]
        before = server.chat_requests

        resumed = subprocess.run(
            [sys.executable, "-m", "lab", "run", "--resume", "killed", "--db", str(db_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert resumed.returncode == 0, resumed.stderr
        assert "run_id: killed" in resumed.stdout
        # One probe call, then exactly the calls whose items were not stored.
        assert server.chat_requests - before == 1 + estimated_calls(plan) - done_units
    items = store.items(["killed"])
    keys = [(i["model"], i["setting"], i["mode"], i["instance"], i["case_index"]) for i in items]
    assert len(keys) == len(set(keys)) == total_items(plan)
    assert all(i["correct"] for i in items)
    assert store.get_run("killed").status == "finished"  # type: ignore[union-attr]


def test_same_run_id_with_another_plan_is_refused(db_path: Path) -> None:
    store = Store(db_path)
    first = RunPlan(
        models=(ModelSpec("openai/x", "http://127.0.0.1:9/v1"),), probes=("syntax",), modes=("io",)
    )
    study.prepare_run(store, first, "named")
    assert study.prepare_run(store, first, "named") == "named"
    with pytest.raises(RunError, match="different plan"):
        study.prepare_run(store, RunPlan(**{**first.__dict__, "n": 5}), "named")


@pytest.mark.parametrize(
    "url", ["http://user:sk-secret@127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1?api_key=sk-x"]
)
def test_an_api_base_carrying_credentials_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="--api-key-env"):
        ModelSpec("openai/x", api_base=url)


def test_a_reply_cut_at_the_token_cap_is_truncated_not_unparsed(db_path: Path) -> None:
    with ScriptedServer() as server:
        plan = scripted_plan(
            server.base_url, probes=("arithmetic:base=8",), modes=("deductive", "solverlearner"), instances=1
        )
        answers = plan_responder(plan, lambda u: True)
        units = [u for u in work_units(plan) if u.mode == "deductive"]
        case_of = {json.dumps(u.messages, sort_keys=True): u.cases[0][0] for u in units}

        def respond(messages: list[dict[str, str]]) -> str | ScriptedReply:
            case = case_of.get(json.dumps(messages, sort_keys=True))
            if case is None and "Reply with OK" not in messages[-1]["content"]:  # the code unit
                return ScriptedReply("```python\ndef solver(x: str) -> str:\n    digits = '0123", "length")
            return {
                0: ScriptedReply("We add in base 8.\nThe units digits first: 7 + 5 =", "length"),
                1: ScriptedReply(answers(messages), "length"),  # cut, but after a readable answer
                2: "We add in base 8.\nI cannot tell.",  # finished without an answer
            }.get(case, answers(messages))  # type: ignore[arg-type]

        server.responder = respond
        store = Store(db_path)
        first = run(store, plan)
        asked = server.chat_requests
        # A cached reply keeps its finish reason, so a re-run scores it the same way.
        again = study.execute_run(store, study.prepare_run(store, plan), retry=FAST_RETRY, preflight=False)
        assert server.chat_requests == asked
    for record in (first, again):
        assert record.status == "finished", record.reason
        items = {(i["mode"], i["case_index"]): i for i in store.items([record.id])}
        assert [items["deductive", c]["error"] for c in range(4)] == [TRUNCATED, None, UNPARSED, None]
        assert [bool(items["deductive", c]["correct"]) for c in range(4)] == [False, True, False, True]
        assert {items["solverlearner", c]["error"] for c in range(4)} == {TRUNCATED}
        function = store.function(items["solverlearner", 0]["function_id"])
        assert function is not None and function["verdict"] == TRUNCATED and "digits" in function["code"]
        cut = store.get_call(items["deductive", 0]["call_id"])
        whole = store.get_call(items["deductive", 2]["call_id"])
        assert cut is not None and whole is not None
        assert (cut["finish_reason"], whole["finish_reason"]) == ("length", "stop")


# The schema of the previous version (b009820), verbatim: its databases must open, list, export and resume.
OLD_SCHEMA = """
CREATE TABLE runs (id TEXT PRIMARY KEY, plan TEXT NOT NULL, plan_hash TEXT NOT NULL, status TEXT NOT NULL,
    reason TEXT, total_items INTEGER NOT NULL, created REAL NOT NULL, started REAL, finished REAL,
    versions TEXT, pid INTEGER);
CREATE TABLE calls (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, cache_key TEXT NOT NULL,
    model TEXT NOT NULL, messages TEXT NOT NULL, params TEXT NOT NULL, response TEXT,
    prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0, latency REAL NOT NULL DEFAULT 0, error TEXT,
    cached INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL);
CREATE INDEX calls_cache ON calls (cache_key) WHERE error IS NULL;
CREATE INDEX calls_run ON calls (run_id);
CREATE TABLE functions (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, model TEXT NOT NULL,
    probe TEXT NOT NULL, setting TEXT NOT NULL, mode TEXT NOT NULL, instance INTEGER NOT NULL,
    call_id INTEGER, code TEXT, verdict TEXT, detail TEXT, examples TEXT NOT NULL, fits_examples INTEGER,
    memorised INTEGER NOT NULL, held_out_failed TEXT NOT NULL, sample INTEGER NOT NULL DEFAULT 0,
    round INTEGER NOT NULL DEFAULT 0, chosen INTEGER NOT NULL DEFAULT 1,
    UNIQUE (run_id, model, probe, setting, mode, instance, sample, round));
CREATE TABLE items (run_id TEXT NOT NULL, model TEXT NOT NULL, probe TEXT NOT NULL, setting TEXT NOT NULL,
    default_world INTEGER NOT NULL, mode TEXT NOT NULL, instance INTEGER NOT NULL,
    case_index INTEGER NOT NULL, input TEXT NOT NULL, expected TEXT NOT NULL, predicted TEXT,
    correct INTEGER NOT NULL, error TEXT, detail TEXT, call_id INTEGER, function_id INTEGER,
    created REAL NOT NULL,
    PRIMARY KEY (run_id, model, probe, setting, mode, instance, case_index));
CREATE INDEX items_function ON items (function_id);
CREATE TABLE custom_probes (name TEXT PRIMARY KEY, definition TEXT NOT NULL, pool TEXT NOT NULL,
    created REAL NOT NULL);
"""
ITEMS_CSV_HEADER = [*ITEM_COLUMNS, "messages", "response"]


def _old_database(
    path: Path, plan: RunPlan, run_id: str, done: list[WorkUnit], reply: Callable[[list[dict[str, str]]], str]
) -> None:
    """A database as the previous version left it when killed: the run `running`, some units scored."""
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    stored_plan = {k: v for k, v in plan.to_dict().items() if k != "check_n"}  # the old plan had no check_n
    db.execute(
        "INSERT INTO runs VALUES (?, ?, ?, 'running', NULL, ?, 0, 0, NULL, '{}', 999999999)",
        (run_id, json.dumps(stored_plan, sort_keys=True), plan.identity_hash(), total_items(plan)),
    )
    for unit in done:
        call = db.execute(
            "INSERT INTO calls (run_id, cache_key, model, messages, params, response, created) "
            "VALUES (?, 'old', ?, ?, '{}', ?, 0)",
            (run_id, unit.model.label, json.dumps(unit.messages), reply(unit.messages)),
        ).lastrowid
        function_id = None
        if unit.mode == "solverlearner":
            function_id = db.execute(
                "INSERT INTO functions (run_id, model, probe, setting, mode, instance, call_id, code, "
                "examples, fits_examples, memorised, held_out_failed) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'def solver(x): ...', '[]', 1, 0, '[]')",
                (
                    run_id,
                    unit.model.label,
                    unit.setting.family,
                    unit.setting.label,
                    unit.mode,
                    unit.instance,
                    call,
                ),
            ).lastrowid
        for index, case in unit.cases:
            db.execute(
                "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, NULL, NULL, ?, ?, 0)",
                (run_id, unit.model.label, unit.setting.family, unit.setting.label,
                 int(unit.setting.default_world), unit.mode, unit.instance, index, case.input, case.output,
                 case.output, call, function_id),
            )  # fmt: skip
    db.commit()
    db.close()


def test_a_database_of_the_previous_version_opens_lists_exports_and_resumes(
    db_path: Path, tmp_path: Path
) -> None:
    with ScriptedServer() as server:
        plan = scripted_plan(
            server.base_url,
            probes=("arithmetic:base=9", "cipher:cipher=atbash"),
            modes=("deductive", "ccc", "solverlearner"),
        )
        answers = plan_responder(plan, lambda u: True)
        server.responder = answers
        units = list(work_units(plan))
        done = [units[0], units[1], next(u for u in units if u.mode == "solverlearner")]
        _old_database(db_path, plan, "old", done, answers)

        store = Store(db_path)
        (record,) = store.list_runs()
        assert record.status == RunStatus.RUNNING and study.effective_status(record) == "interrupted"
        assert record.name is None  # runs stored before names are unnamed, labelled by model and date
        assert study.runs_frame(store)["items"].tolist() == [f"{2 + plan.n}/{total_items(plan)}"]
        assert api.runs_frame(store)["label"].tolist() == [
            f"{plan.models[0].label} - {time.strftime('%Y-%m-%d', time.localtime(0))} - old"
        ]
        before = tmp_path / "before.csv"
        read.export_items(store, ["old"], before)
        with before.open(newline="") as handle:
            header = next(csv.reader(handle))
        assert header[: len(ITEMS_CSV_HEADER)] == ITEMS_CSV_HEADER  # the old columns first, in order
        assert {"model_label", "run_name", "seed", "framing", "base", "digits"} <= set(header)
        assert api.rename_run(store, "old", "  the old  run ") == "the old run"
        assert api.runs_frame(store)["label"].tolist() == ["the old run"]
        resumed = study.execute_run(store, "old", retry=FAST_RETRY)
        assert resumed.status == "finished", resumed.reason
        assert server.chat_requests == 1 + estimated_calls(plan) - len(done)
    items = store.items(["old"])
    keys = [(i["setting"], i["mode"], i["instance"], i["case_index"]) for i in items]
    assert len(keys) == len(set(keys)) == total_items(plan) and all(i["correct"] for i in items)
    reasons = {store.get_call(i["call_id"])["finish_reason"] for i in items}  # type: ignore[index]
    assert reasons == {None, "stop"}  # the old calls' reasons are unknown, the new ones are recorded
    read.export_items(store, ["old"], tmp_path / "after.csv")
    read.export_summary(store, ["old"], tmp_path / "summary.csv")
    assert len(read.summary_frame(store, ["old"])) == 2 * 3
    assert set(read.summary_frame(store, ["old"])["model_label"]) == {"the old run"}
    api.export_parquet(store, ["old"], tmp_path / "after.parquet")
    typed = pd.read_parquet(tmp_path / "after.parquet")
    assert set(typed["run_name"]) == {"the old run"} and typed["cot"].dtype == "boolean"
    assert typed["check_n"].isna().all()  # the old plan had no check_n: missing, not 0


def test_each_model_string_has_one_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    embedded = provider_for(ModelSpec(DEFAULT_MODEL))
    assert isinstance(embedded, EmbeddedProvider) and "no key, no network" in embedded.describe()
    assert type(provider_for(ModelSpec("openai/gpt-4o-mini"))) is LitellmProvider
    recorded = provider_for(ModelSpec("replay/some/where/gpt4_base8.tsv"))
    assert isinstance(recorded, ReplayProvider) and not recorded.cacheable and embedded.cacheable
    assert (
        "some/where/gpt4_base8.tsv" in recorded.describe() and recorded.label() == "gpt4_base8.tsv (recorded)"
    )
    monkeypatch.delenv("MY_SERVER_KEY", raising=False)
    served = provider_for(ModelSpec("my-model", "http://127.0.0.1:8000/v1", "MY_SERVER_KEY"))
    assert served.describe() == (
        "at `http://127.0.0.1:8000/v1`; key from `$MY_SERVER_KEY` (**not set** for this app)"
    )
    assert served.label() == "my-model @ http://127.0.0.1:8000/v1"


def test_new_plans_use_the_paper_framing_and_stored_ones_without_it_load_as_blind() -> None:
    values = {"models": (ModelSpec("m"),), "probes": ("arithmetic:base=8",), "modes": ("io", "deductive")}
    assert RunPlan(**values).framing is Framing.PAPER  # type: ignore[arg-type]
    blind = RunPlan(**values, framing="blind")  # type: ignore[arg-type]
    stored_before_framings = {k: v for k, v in blind.to_dict().items() if k != "framing"}
    old = RunPlan.from_dict(stored_before_framings)
    assert old.framing is Framing.BLIND and old.identity_hash() == blind.identity_hash()
    assert old.identity_hash() != RunPlan(**values).identity_hash()  # type: ignore[arg-type]
    assert RunPlan.from_dict(RunPlan(**values).to_dict()) == RunPlan(**values)  # type: ignore[arg-type]
    io_prompts = {
        framing: [u.messages for u in work_units(RunPlan(**values, framing=framing)) if u.mode == "io"]  # type: ignore[arg-type]
        for framing in ("paper", "blind")
    }
    assert io_prompts["paper"][0][0]["content"].startswith("Q: You are asked to add two numbers")
    assert "hidden rule" in io_prompts["blind"][0][0]["content"]
    deductive = [
        [u.messages for u in work_units(RunPlan(**values, framing=f)) if u.mode == "deductive"]
        for f in ("paper", "blind")
    ]  # type: ignore[arg-type]
    assert deductive[0] == deductive[1]  # a mode without examples has one wording
    only_deductive = {**values, "modes": ("deductive", "ccc")}
    assert (
        RunPlan(**only_deductive).identity_hash()
        == RunPlan(**only_deductive, framing="blind").identity_hash()
    )  # type: ignore[arg-type]


def test_a_cases_file_may_be_a_column_of_a_csv_file(tmp_path: Path) -> None:
    for order in ("sov", "vso"):
        folder = tmp_path / order
        folder.mkdir()
        rows = [
            "original_sent,main_verb,reordered_sent",
            "tim saw lucas.,saw,tim lucas saw.",
            "mary saw tom.,saw,mary tom saw.",
        ]
        (folder / "test.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    plan = RunPlan(
        models=(ModelSpec("m"),),
        probes=("syntax:order=sov", "syntax:order=vso"),
        modes=("ccc",),
        n=2,
        check_file=str(tmp_path / "{order}" / "test.csv#reordered_sent"),
    )
    sov = plan.settings()[0]
    assert [c.input for c in check_cases(plan, sov)] == ["tim lucas saw.", "mary tom saw."]
    assert check_cases(plan, sov)[0].output == "tim saw lucas."
    with pytest.raises(
        RunError, match=r"has no column 'sentence'; its header names original_sent, main_verb"
    ):
        check_cases(replace(plan, check_file=str(tmp_path / "sov" / "test.csv#sentence")), sov)
    with pytest.raises(RunError, match=r"has 2 row\(s\); syntax:order=sov.* needs check_n = 3"):
        check_cases(replace(plan, check_n=3), sov)
    with pytest.raises(ValueError, match="ends in '#' without a column"):
        replace(plan, check_file=str(tmp_path / "sov" / "test.csv#"))


def test_paper_framed_solvers_take_the_task_s_arguments_and_refinement_asks_for_them(db_path: Path) -> None:
    seen: list[list[dict[str, str]]] = []
    plan_values = {"probes": ("arithmetic:base=9",), "modes": ("solverlearner",), "instances": 1, "rounds": 1}

    def respond(messages: list[dict[str, str]]) -> str:
        if "Reply with OK" in messages[-1]["content"]:
            return "OK"
        seen.append(messages)
        if len(messages) == 1:  # the first function adds in base 10
            return fenced("def solver(n1: str, n2: str) -> str:\n    return str(int(n1) + int(n2))\n")
        return fenced(solver_source(setting, "def solver(n1: str, n2: str) -> str"))

    with ScriptedServer() as server:
        plan = scripted_plan(server.base_url, **plan_values)
        [setting] = plan.settings()
        server.responder = respond
        record = run(Store(db_path), plan)
    assert record.status == "finished", record.reason
    assert "`def solver(n1: str, n2: str) -> str`" in seen[0][0]["content"]
    assert "Write a corrected `def solver(n1: str, n2: str) -> str`" in seen[1][-1]["content"]
    items = read.items_frame(Store(db_path), [record.id])
    assert len(items) == plan.n and items["correct"].all()
