"""A real OpenAI-compatible server behind `--api-base`: the embedded model on llama.cpp's HTTP server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.run.store import Store

pytestmark = pytest.mark.embedded

ROOT = Path(__file__).resolve().parent.parent
SERVER_KEY = "llama-test-key-7f3a"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.llama_server", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "LLAMA_SERVER_KEY": SERVER_KEY},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while not healthy(f"http://127.0.0.1:{port}/health"):
            assert process.poll() is None, f"llama.cpp server exited; see {log.name}"
            assert time.monotonic() < deadline, "llama.cpp server did not come up in 600 s"
            time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def lab_run(
    db: Path,
    api_base: str,
    *extra: str,
    key: str | None = SERVER_KEY,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LLAMA_KEY"}
    if key is not None:
        env["LLAMA_KEY"] = key
    return subprocess.run(
        [
            sys.executable, "-m", "lab", "run", "--db", str(db),
            "--model", "qwen-on-llama-server", "--api-base", api_base, "--api-key-env", "LLAMA_KEY",
            "--probe", "arithmetic:base=10", "--mode", "deductive", "--n", "2", "--instances", "1",
            "--max-tokens", "96", "--concurrency", "2", *extra,
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def test_a_run_through_api_base_against_llama_cpp_server_is_scored(llama_server: str, tmp_path: Path) -> None:
    db = tmp_path / "solverlab.db"
    result = lab_run(db, llama_server)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    store = Store(db)
    (run,) = store.list_runs()
    assert run.status == "finished", run.reason
    items = store.items([run.id])
    assert len(items) == 2
    for item in items:
        call = store.get_call(item["call_id"])
        assert call is not None and call["response"] and call["completion_tokens"] > 0
    # The key went to the server only: not into the plan, the calls or the log.
    assert SERVER_KEY not in db.read_bytes().decode("latin-1")


def test_a_wrong_key_is_refused_before_the_run_starts(llama_server: str, tmp_path: Path) -> None:
    db = tmp_path / "solverlab.db"
    result = lab_run(db, llama_server, key="not-the-key")
    assert result.returncode != 0
    assert "qwen-on-llama-server" in result.stderr + result.stdout
