"""Batch mode against a local OpenAI-compatible batch endpoint (tests/batch_server.py) through litellm's
batch API: submission, a killed process, resume, the response cache, secrets and old databases."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lab.models import ModelSpec, RetryPolicy
from lab.models.batch import BatchClient, BatchUnsupportedError, batch_unsupported, jsonl, served_name
from lab.run import study
from lab.run.batch import BatchOptions
from lab.run.batch_store import BatchStage, BatchStore
from lab.run.plan import RunPlan, total_items, work_units
from lab.run.store import Store
from lab.tasks.modes import MODES
from tests.batch_server import BatchServer
from tests.scripted import plan_responder

ROOT = Path(__file__).resolve().parent.parent
FAST = BatchOptions(poll=0.05)
SUBMIT = BatchOptions(submit=True, poll=0.05)
RETRY = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05, timeout=20)
PROBE = "Reply with OK"


def batch_plan(url: str, **overrides: Any) -> RunPlan:
    values: dict[str, Any] = {
        "models": (ModelSpec("openai/batch-model", url),),
        "probes": ("arithmetic:base=9", "cipher:cipher=atbash"),
        "modes": ("deductive", "io", "ccc"),
        "shots": 3,
        "n": 4,
        "instances": 1,
        "max_tokens": 64,
    }
    values.update(overrides)
    return RunPlan(**values)


def answering(plan: RunPlan) -> BatchServer:
    """A batch endpoint that answers every call of the plan correctly."""
    respond = plan_responder(plan, lambda unit: True)
    return BatchServer(lambda body: respond(body["messages"]))


def planned_requests(server: BatchServer) -> dict[str, int]:
    """How often each request other than the model check reached the endpoint."""
    return {key: n for key, n in server.received.items() if PROBE not in key}


def test_a_batch_run_scores_every_item_and_each_request_reaches_the_endpoint_once(db_path: Path) -> None:
    with BatchServer() as server:
        plan = batch_plan(server.base_url)
        server.responder = answering(plan).responder
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)
        record = study.execute_run(store, run_id, retry=RETRY, batch=SUBMIT)

        assert record.status == "finished", record.reason
        assert store.totals(run_id).items == store.totals(run_id).correct == total_items(plan)
        # One request a direct item, all in one batch; the only chat call is the model check.
        assert len(server.batches) == 1
        assert len(server.batch_lines()) == len(list(work_units(plan)))
        assert sorted(planned_requests(server).values()) == [1] * len(list(work_units(plan)))
        assert server.chat_requests == 1

        # The replies filled the response cache under the normal path's keys: the same plan run anew
        # without --batch sends nothing.
        again = study.execute_run(store, study.prepare_run(store, plan), retry=RETRY)
        assert again.status == "finished"
        assert store.totals(again.id).cached_calls == len(list(work_units(plan)))
        assert server.chat_requests == 2 and len(server.batches) == 1  # just the model check again


def test_code_modes_batch_their_first_sample_and_verbal_modes_run_normally(db_path: Path) -> None:
    with BatchServer() as server:
        plan = batch_plan(
            server.base_url,
            probes=("arithmetic:base=9",),
            modes=("deductive", "solverlearner", "verbal_apply"),
            samples=2,
            temperature=0.7,
        )
        server.responder = answering(plan).responder
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)
        record = study.execute_run(store, run_id, retry=RETRY, batch=SUBMIT)

        assert record.status == "finished", record.reason
        assert store.totals(run_id).items == total_items(plan)
        lines = server.batch_lines()
        deductive = sum(1 for u in work_units(plan) if u.mode == "deductive")
        # Deductive: one request an item; solverlearner: sample 0 only (seed 0), never the verbal modes.
        assert len(lines) == deductive + 1
        assert {line["body"]["seed"] for line in lines} == {plan.seed}
        verbal = [unit.messages for unit in work_units(plan) if MODES[unit.mode].verbal]
        assert all(line["body"]["messages"] not in verbal for line in lines)
        # The second sample and both verbal turns went as normal calls; nothing reached the endpoint twice.
        assert server.chat_requests >= 1 + 1 + 2
        assert set(planned_requests(server).values()) == {1}


def _wait_for(condition: Any, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _submitted(db_path: Path) -> bool:
    if not db_path.exists():
        return False
    try:
        with sqlite3.connect(db_path) as db:
            return bool(db.execute("SELECT 1 FROM batches WHERE state = 'submitted'").fetchall())
    except sqlite3.OperationalError:  # the tables are not there yet
        return False


def _lab(*args: str) -> list[str]:
    return [sys.executable, "-m", "lab", "run", *args]


def test_killed_after_submission_then_resumed_scores_every_item_each_request_once(db_path: Path) -> None:
    with BatchServer() as server:
        plan = batch_plan(server.base_url)
        server.responder = answering(plan).responder
        server.hold()  # the provider takes its time, as batches do
        common = ["--model", "openai/batch-model", "--api-base", server.base_url, "--db", str(db_path)]
        options = [
            "--probe",
            "arithmetic:base=9",
            "--probe",
            "cipher:cipher=atbash",
            "--mode",
            "deductive,io,ccc",
        ]
        sizes = ["--shots", "3", "--n", "4", "--instances", "1", "--max-tokens", "64", "--run-id", "batched"]
        first = subprocess.Popen(
            _lab(*common, *options, *sizes, "--batch", "--poll", "0.1"),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for(lambda: _submitted(db_path), "the batch to be submitted")
            time.sleep(0.3)  # a poll or two while the batch is in progress
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        assert first.returncode == -signal.SIGKILL
        store = Store(db_path)
        assert store.totals("batched").items == 0
        assert len(server.batches) == 1

        server.release()
        resumed = subprocess.run(
            _lab("--resume", "batched", "--db", str(db_path), "--poll", "0.1"),
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "status: finished" in resumed.stdout
        assert store.totals("batched").items == store.totals("batched").correct == total_items(plan)
        assert len(server.batches) == 1  # the resume collected the batch; it sent no other
        assert sorted(planned_requests(server).values()) == [1] * len(list(work_units(plan)))
        assert [b.stage for b in BatchStore(db_path).batches("batched")] == [BatchStage.COLLECTED]
        store.delete_run("batched")
        assert BatchStore(db_path).batches("batched") == []
        assert BatchStore(db_path).open_keys("batched") == set()


def test_a_process_killed_between_creating_a_batch_and_storing_its_id_creates_no_second(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with BatchServer() as server:
        plan = batch_plan(server.base_url)
        server.responder = answering(plan).responder
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)

        def killed(self: BatchStore, row: int, batch_id: str) -> None:
            raise SystemExit("killed")  # the batch exists at the provider; its id was never stored

        with monkeypatch.context() as patch:
            patch.setattr(BatchStore, "set_submitted", killed)
            with pytest.raises(SystemExit):
                study.execute_run(store, run_id, retry=RETRY, batch=SUBMIT)
        assert len(server.batches) == 1
        [left] = BatchStore(db_path).batches(run_id)
        assert left.stage is BatchStage.PREPARING and left.input_file_id

        record = study.execute_run(store, run_id, retry=RETRY, batch=SUBMIT)
        assert record.status == "finished", record.reason
        assert len(server.batches) == 1  # found at the provider by its file, not created again
        assert store.totals(run_id).correct == total_items(plan)
        assert sorted(planned_requests(server).values()) == [1] * len(list(work_units(plan)))


def test_a_stopped_wait_leaves_the_batch_to_resume(db_path: Path) -> None:
    with BatchServer() as server:
        plan = batch_plan(server.base_url, probes=("arithmetic:base=9",), modes=("deductive",))
        server.responder = answering(plan).responder
        server.hold()
        store = Store(db_path)
        run_id = study.prepare_run(store, plan)
        stop = threading.Event()
        threading.Timer(0.5, stop.set).start()
        record = study.execute_run(store, run_id, retry=RETRY, stop=stop, batch=SUBMIT)
        assert record.status == "stopped"
        assert store.totals(run_id).items == 0 and server.chat_requests == 1

        server.release()
        record = study.execute_run(store, run_id, retry=RETRY, batch=FAST)  # no --batch: only collects
        assert record.status == "finished", record.reason
        assert store.totals(run_id).correct == total_items(plan)
        assert len(server.batches) == 1 and server.chat_requests == 2


def test_the_key_goes_in_the_header_never_in_the_uploaded_file_or_the_database(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-batch-secret-4242"
    monkeypatch.setenv("BATCH_TEST_KEY", secret)
    with BatchServer() as server:
        plan = batch_plan(
            server.base_url, models=(ModelSpec("openai/batch-model", server.base_url, "BATCH_TEST_KEY"),)
        )
        server.responder = answering(plan).responder
        store = Store(db_path)
        record = study.execute_run(store, study.prepare_run(store, plan), retry=RETRY, batch=SUBMIT)
        assert record.status == "finished", record.reason
        assert server.auth and set(server.auth) == {f"Bearer {secret}"}
        assert server.uploads and all(secret.encode() not in data for data in server.uploads)
        store.close()
    for path in db_path.parent.iterdir():
        assert secret.encode() not in path.read_bytes(), path


def test_batch_jsonl_holds_the_requests_as_the_normal_path_sends_them() -> None:
    from lab.models import CallParams
    from lab.models.batch import BatchRequest

    spec = ModelSpec("openai/Qwen/Qwen2.5-7B-Instruct", "http://127.0.0.1:9/v1")
    messages = [{"role": "user", "content": "1+1?"}]
    data = jsonl(spec, [BatchRequest("k1", messages, CallParams(0.0, 64, 3))])
    [line] = [json.loads(text) for text in data.decode().splitlines()]
    assert line == {
        "custom_id": "k1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "Qwen/Qwen2.5-7B-Instruct",
            "messages": messages,
            "temperature": 0.0,
            "max_tokens": 64,
            "seed": 3,
        },
    }
    assert served_name(ModelSpec("my-model", "http://127.0.0.1:9/v1")) == "my-model"


def test_models_without_an_openai_format_batch_api_are_refused_with_what_to_do() -> None:
    assert batch_unsupported(ModelSpec("openai/gpt-4o-mini")) is None
    assert batch_unsupported(ModelSpec("my-model", "http://127.0.0.1:9/v1")) is None
    assert "without --batch" in str(batch_unsupported(ModelSpec("anthropic/claude-3-5-haiku-latest")))
    assert "leave out --batch" in str(batch_unsupported(ModelSpec("local/qwen2.5-coder-1.5b")))
    with pytest.raises(BatchUnsupportedError, match="leave out --batch"):
        BatchClient(ModelSpec("replay/items.csv"))


def test_the_cli_refuses_batch_for_a_local_model_and_with_a_cost_cap_storing_nothing(db_path: Path) -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    for extra, said in (
        (["--model", "local/qwen2.5-coder-1.5b"], "leave out --batch"),
        (["--max-cost", "1"], "a batch is priced only when it ends"),
    ):
        result = subprocess.run(
            _lab("--probe", "arithmetic:base=9", "--batch", "--db", str(db_path), *extra),
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode != 0
        assert said in result.stderr
    assert not db_path.exists() or not Store(db_path).list_runs()


def test_a_database_from_before_batches_gains_the_tables_and_keeps_its_runs(db_path: Path) -> None:
    with BatchServer() as server:
        plan = batch_plan(server.base_url, probes=("arithmetic:base=9",), modes=("deductive",))
        server.responder = answering(plan).responder
        store = Store(db_path)
        old = study.execute_run(store, study.prepare_run(store, plan), retry=RETRY)
        store.close()
        with sqlite3.connect(db_path) as db:  # as a database written before batch mode was
            db.executescript("DROP TABLE batch_requests; DROP TABLE batches;")
        store = Store(db_path)
        before = store.items([old.id])

        fresh = batch_plan(server.base_url, probes=("arithmetic:base=9",), modes=("deductive",), seed=5)
        record = study.execute_run(store, study.prepare_run(store, fresh), retry=RETRY, batch=SUBMIT)
        assert record.status == "finished", record.reason
        assert Store(db_path).items([old.id]) == before
        assert BatchStore(db_path).batches(old.id) == []
