"""The embedded model: its file built and verified from the part wheels, and served through litellm."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import litellm
import pytest
from litellm.llms.custom_llm import CustomLLMError

from lab.models import DEFAULT_MODEL, ModelSpec, ModelUnavailableError, provider_for
from lab.models import embedded as local_model
from lab.models.embedded import MODEL_FILE_NAME, MODEL_NAME, EngineLoadError, ModelFileError
from lab.models.embedded_provider import EmbeddedProvider

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Three small part files standing in for the 22 wheels, with the expected size and hash of their join."""
    directory = tmp_path / "wheels"
    directory.mkdir()
    paths = []
    for index, size in enumerate((4096, 1, 70_001), start=1):
        path = directory / f"part{index:02d}.bin"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    joined = b"".join(path.read_bytes() for path in paths)
    monkeypatch.setattr(local_model, "part_paths", lambda: list(paths))
    monkeypatch.setattr(local_model, "EXPECTED_SIZE", len(joined))
    monkeypatch.setattr(local_model, "EXPECTED_SHA256", hashlib.sha256(joined).hexdigest())
    return paths


def joined(paths: list[Path]) -> bytes:
    return b"".join(path.read_bytes() for path in paths)


def partials(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.partial"))


def wait_for(condition: Callable[[], Any], child: subprocess.Popen[bytes], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := condition()) is not None:
            return found
        if child.poll() is not None:
            pytest.fail(f"the child exited early: {child.stderr.read().decode() if child.stderr else ''}")
        time.sleep(0.05)
    pytest.fail("timed out waiting for the child")


# ---------------------------------------------------------------- building and verifying the file


def test_the_parts_are_joined_in_order_into_the_cache(parts: list[Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = local_model.ensure_model_file(cache)
    assert path == cache / MODEL_FILE_NAME
    assert path.read_bytes() == joined(parts)
    assert partials(cache) == []


def test_the_cache_directory_comes_from_the_environment(
    parts: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(local_model.CACHE_DIR_ENV, str(tmp_path / "elsewhere"))
    assert local_model.default_cache_dir() == tmp_path / "elsewhere"
    assert local_model.ensure_model_file() == tmp_path / "elsewhere" / MODEL_FILE_NAME


def test_a_verified_file_is_reused_without_reading_the_parts(
    parts: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    before = local_model.ensure_model_file(cache).stat()
    monkeypatch.setattr(local_model, "part_paths", lambda: pytest.fail("the parts were read again"))
    after = local_model.ensure_model_file(cache).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_partial_file_under_the_final_name_is_rebuilt(parts: list[Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / MODEL_FILE_NAME).write_bytes(joined(parts)[:5000])
    assert local_model.ensure_model_file(cache).read_bytes() == joined(parts)


def test_a_file_of_the_right_size_with_other_bytes_is_rebuilt(parts: list[Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / MODEL_FILE_NAME).write_bytes(bytes(local_model.EXPECTED_SIZE))
    assert local_model.ensure_model_file(cache).read_bytes() == joined(parts)


def test_tampered_parts_are_refused_naming_expected_and_actual_sha256(
    parts: list[Path], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / MODEL_FILE_NAME).write_bytes(b"an old, wrong model file")
    tampered = bytearray(parts[2].read_bytes())
    tampered[1234] ^= 0xFF
    parts[2].write_bytes(bytes(tampered))
    with pytest.raises(ModelFileError) as refused:
        local_model.ensure_model_file(cache)
    message = str(refused.value)
    assert local_model.EXPECTED_SHA256 in message
    assert hashlib.sha256(joined(parts)).hexdigest() in message
    assert "refusing to load" in message
    assert not (cache / MODEL_FILE_NAME).exists()
    assert partials(cache) == []


def test_a_join_that_fails_midway_leaves_nothing_under_the_final_name(
    parts: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    vanished = parts[1].with_name("gone.bin")
    monkeypatch.setattr(local_model, "part_paths", lambda: [parts[0], vanished, parts[2]])
    with pytest.raises(ModelFileError, match="cannot build the model file") as failed:
        local_model.ensure_model_file(cache)
    assert str(vanished) in str(failed.value)
    assert not (cache / MODEL_FILE_NAME).exists()
    assert partials(cache) == []


def test_a_killed_join_never_leaves_a_file_under_the_final_name(parts: list[Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    stalled = tmp_path / "stalled-part"
    os.mkfifo(stalled)  # opening it for reading blocks, so the child stops after writing the first part
    child_code = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from lab.models import embedded as local_model
        local_model.part_paths = lambda: [Path(sys.argv[2]), Path(sys.argv[3])]
        local_model.ensure_model_file(Path(sys.argv[1]))
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", child_code, str(cache), str(parts[0]), str(stalled)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    try:
        leftover = wait_for(lambda: next(iter(partials(cache)), None), child)
    finally:
        child.kill()
        child.wait()
    assert not (cache / MODEL_FILE_NAME).exists()
    assert leftover.exists()

    assert local_model.ensure_model_file(cache).read_bytes() == joined(parts)
    assert partials(cache) == []


def test_concurrent_callers_join_the_file_once(
    parts: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    real_join = local_model._join_parts
    guard = threading.Lock()
    counts = {"joins": 0, "active": 0, "peak": 0}

    def observed_join(paths: list[Path], target: Path) -> None:
        with guard:
            counts["joins"] += 1
            counts["active"] += 1
            counts["peak"] = max(counts["peak"], counts["active"])
        time.sleep(0.3)  # a caller that did not wait for the lock would start its own join meanwhile
        real_join(paths, target)
        with guard:
            counts["active"] -= 1

    monkeypatch.setattr(local_model, "_join_parts", observed_join)
    start = threading.Barrier(4)

    def call(_: int) -> Path:
        start.wait()
        return local_model.ensure_model_file(cache)

    with ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(call, range(4)))
    assert paths == [cache / MODEL_FILE_NAME] * 4
    assert counts == {"joins": 1, "active": 0, "peak": 1}
    assert paths[0].read_bytes() == joined(parts)


def test_a_missing_part_wheel_is_named_with_the_command_that_installs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_name = local_model.part_package
    monkeypatch.setattr(
        local_model, "part_package", lambda i: "solverlab-absent-part-5" if i == 5 else real_name(i)
    )
    with pytest.raises(ModelFileError) as missing:
        local_model.part_paths()
    message = str(missing.value)
    assert "model part 5 of 22 is missing" in message
    assert "solverlab-absent-part-5" in message
    assert "pip install --require-hashes -r requirements.txt" in message


def test_the_installed_part_wheels_add_up_to_the_expected_file() -> None:
    paths = local_model.part_paths()
    assert [path.name for path in paths] == [f"part{index:02d}.bin" for index in range(1, 23)]
    assert sum(path.stat().st_size for path in paths) == local_model.EXPECTED_SIZE


# ---------------------------------------------------------------- requests and errors, without the model


def test_a_litellm_call_becomes_an_engine_request() -> None:
    request = local_model.build_request(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+3="}],
        {"temperature": 0, "max_tokens": 16, "seed": 7, "stop": "\n", "max_retries": 0, "n": 1},
    )
    assert request == {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+3="}],
        "max_tokens": 16,
        "temperature": 0,
        "seed": 7,
        "stop": ["\n"],
    }
    assert local_model.build_request([], {"max_completion_tokens": 9})["max_tokens"] == 9


@pytest.mark.parametrize(
    ("params", "reason"),
    [({"n": 2}, "n must be 1"), ({"tools": [], "logprobs": True}, "parameter(s): logprobs, tools")],
)
def test_unsupported_parameters_are_refused(params: dict[str, Any], reason: str) -> None:
    with pytest.raises(CustomLLMError, match=re.escape(reason)):
        local_model.build_request([{"role": "user", "content": "hi"}], params)


def test_register_is_idempotent_and_the_model_costs_nothing() -> None:
    local_model.register()
    local_model.register()
    entries = [entry for entry in litellm.custom_provider_map if entry["provider"] == "local"]
    assert len(entries) == 1
    assert isinstance(entries[0]["custom_handler"], local_model.LocalProvider)
    info = litellm.get_model_info(MODEL_NAME)
    assert info["input_cost_per_token"] == info["output_cost_per_token"] == 0.0


def test_a_missing_xllamacpp_gives_a_readable_error_through_litellm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    monkeypatch.setattr(local_model._shared, "engine", None)
    monkeypatch.setattr(local_model, "ensure_model_file", lambda: tmp_path / "model.gguf")
    local_model.register()
    with pytest.raises(litellm.NotFoundError) as failed:
        litellm.completion(model=MODEL_NAME, messages=[{"role": "user", "content": "hi"}], max_tokens=4)
    assert "needs xllamacpp==" in str(failed.value)
    assert "pip install --require-hashes -r requirements.txt" in str(failed.value)
    assert local_model._shared.engine is None


def test_the_embedded_provider_s_check_names_the_missing_engine_before_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    monkeypatch.setattr(local_model._shared, "engine", None)
    monkeypatch.setattr(local_model, "ensure_model_file", lambda: tmp_path / "model.gguf")
    provider = provider_for(ModelSpec(DEFAULT_MODEL))
    assert isinstance(provider, EmbeddedProvider) and provider.cacheable
    with pytest.raises(ModelUnavailableError, match=r"needs xllamacpp==.*pip install --require-hashes"):
        provider.check()


def test_a_file_xllamacpp_cannot_load_gives_a_readable_error(tmp_path: Path) -> None:
    not_a_model = tmp_path / "not-a-model.gguf"
    not_a_model.write_bytes(b"GGUF but not really" * 100)
    with pytest.raises(EngineLoadError, match="could not load the embedded model"):
        local_model.LocalEngine(not_a_model)


# ---------------------------------------------------------------- the real model


@pytest.fixture(scope="module")
def engine() -> local_model.LocalEngine:
    local_model.register()
    return local_model.get_engine()


def ask(content: str, **params: Any) -> litellm.ModelResponse:
    params = {"temperature": 0, "max_tokens": 16, **params}
    return litellm.completion(model=MODEL_NAME, messages=[{"role": "user", "content": content}], **params)


@pytest.mark.embedded
def test_the_embedded_model_answers_through_litellm(engine: local_model.LocalEngine) -> None:
    response = ask("Reply with just the number: 2+3=")
    assert "5" in response.choices[0].message.content
    assert response.usage.prompt_tokens > 0
    assert response.usage.completion_tokens > 0
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens
    assert litellm.completion_cost(completion_response=response) == 0.0


@pytest.mark.embedded
def test_max_tokens_stop_and_seed_are_honoured(engine: local_model.LocalEngine) -> None:
    counting = "Count from 1 to 20, separated by commas. Reply with the numbers only."
    cut = ask(counting, max_tokens=5)
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage.completion_tokens == 5

    stopped = ask(counting, max_tokens=100, stop=["7"])
    assert "6" in stopped.choices[0].message.content
    assert "7" not in stopped.choices[0].message.content

    fruit = "Invent a name for a new fruit and describe its taste in one sentence."
    # llama.cpp's logits differ in the last bits between a fresh and a cached prompt, so every sampled call
    # below starts from the same state: the prompt cached by this first call.
    ask(fruit, temperature=1.0, seed=0, max_tokens=32)
    first, again, other = (ask(fruit, temperature=1.0, seed=seed, max_tokens=32) for seed in (11, 11, 12))
    assert first.choices[0].message.content == again.choices[0].message.content
    assert first.choices[0].message.content != other.choices[0].message.content


@pytest.mark.embedded
def test_concurrent_requests_get_the_replies_they_get_one_at_a_time(engine: local_model.LocalEngine) -> None:
    """The default engine is deterministic: a reply does not depend on which requests run beside it."""
    assert engine.settings.deterministic
    prompt = "Assuming all numbers are in base 8, what is {a}+{b}? Answer in one short sentence."
    sums = [(a, 11 * a + 3) for a in range(1, 5)]
    alone = [ask(prompt.format(a=a, b=b), max_tokens=48) for a, b in sums]
    with ThreadPoolExecutor(len(sums)) as pool:
        together = list(pool.map(lambda ab: ask(prompt.format(a=ab[0], b=ab[1]), max_tokens=48), sums))
    assert [r.choices[0].message.content for r in together] == [r.choices[0].message.content for r in alone]


@pytest.mark.embedded
def test_a_stop_cancels_the_generation_in_the_engine(engine: local_model.LocalEngine) -> None:
    request = {
        "messages": [{"role": "user", "content": "Count from 1 to 500, separated by commas."}],
        "max_tokens": 1000,
        "temperature": 0,
    }
    asked: list[float] = []

    def after_three_tokens() -> bool:  # asked once per streamed token
        asked.append(time.monotonic())
        return len(asked) >= 3

    before = engine.decode_stats().decodes
    began = time.monotonic()
    with pytest.raises(local_model.EngineCancelledError, match="cancelled"):
        engine.chat(request, should_stop=after_three_tokens)
    took = time.monotonic() - began
    stopped_at = engine.decode_stats().decodes
    time.sleep(1.0)
    assert engine.decode_stats().decodes - stopped_at <= 1, "the engine went on generating after the stop"
    assert stopped_at - before < 50, f"{stopped_at - before} tokens were generated before the stop"
    assert took < 120


@pytest.mark.embedded
def test_async_completions_run_on_the_same_engine(engine: local_model.LocalEngine) -> None:
    async def ask_all() -> list[litellm.ModelResponse]:
        return await asyncio.gather(
            *(
                litellm.acompletion(
                    model=MODEL_NAME,
                    messages=[{"role": "user", "content": f"Reply with just the number: {n}+{n}="}],
                    temperature=0,
                    max_tokens=8,
                )
                for n in (2, 3, 4)
            )
        )

    replies = asyncio.run(ask_all())
    assert all(
        str(2 * n) in reply.choices[0].message.content for n, reply in zip((2, 3, 4), replies, strict=True)
    )
    assert all(reply.usage.completion_tokens > 0 for reply in replies)
