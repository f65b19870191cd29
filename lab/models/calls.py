"""Model calls through litellm: any provider string, any OpenAI-compatible api_base, the embedded default.

Keys are read from the environment by litellm (or from the variable a model spec names); they are
never part of a `ModelSpec`, so they never reach the store, a CSV or a log.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm

from lab.models import replay
from lab.run.plan import DEFAULT_MODEL, ModelSpec

NO_KEY = "sk-no-key-needed"

litellm.suppress_debug_info = True
litellm.drop_params = True  # e.g. `seed` is sent only to providers that take it
litellm.telemetry = False


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    latency: float


class ModelCallError(Exception):
    """A call that failed; `category` says how, `retryable` whether trying again can help."""

    def __init__(self, category: str, message: str, retryable: bool):
        super().__init__(message)
        self.category = category
        self.retryable = retryable


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    timeout: float = 600.0


_CLASSIFIED: tuple[tuple[type[BaseException], str, bool], ...] = (
    (litellm.AuthenticationError, "auth", False),
    (litellm.PermissionDeniedError, "auth", False),
    (litellm.NotFoundError, "not_found", False),
    (litellm.ContextWindowExceededError, "context_window", False),
    (litellm.RateLimitError, "rate_limit", True),
    (litellm.Timeout, "timeout", True),
    (litellm.ServiceUnavailableError, "server", True),
    (litellm.InternalServerError, "server", True),
    (litellm.BadGatewayError, "server", True),
    (litellm.APIConnectionError, "connection", True),
    (litellm.BadRequestError, "bad_request", False),
)


def classify(exc: BaseException) -> ModelCallError:
    if isinstance(exc, ModelCallError):
        return exc
    message = _short(str(exc))
    lowered = message.lower()
    if "missing credentials" in lowered or ("api_key" in lowered and "must be set" in lowered):
        return ModelCallError("auth", message, False)
    if "connection error" in lowered or "connection refused" in lowered:
        return ModelCallError("connection", message, True)
    for kind, category, retryable in _CLASSIFIED:
        if isinstance(exc, kind):
            return ModelCallError(category, message, retryable)
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 500:
        return ModelCallError("server", message, True)
    return ModelCallError("error", f"{type(exc).__name__}: {message}", False)


def _short(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _call_arguments(model: ModelSpec) -> dict[str, object]:
    if model.name == DEFAULT_MODEL:
        from lab.models import (
            embedded as local_model,  # loads xllamacpp only when the embedded model is asked for
        )

        local_model.register()
        return {"model": model.name}
    args: dict[str, object] = {"model": model.name}
    if model.api_base:
        # Never hand a provider's own key (OPENAI_API_KEY, ...) to some other server.
        args["api_base"] = model.api_base
        args["api_key"] = os.environ.get(model.key_env, "") if model.key_env else NO_KEY
        if "/" not in model.name:
            args["custom_llm_provider"] = "openai"
    elif model.key_env:
        args["api_key"] = os.environ.get(model.key_env, "")
    return args


def _cost(response: object) -> float:
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # unknown price for this model: report no cost rather than fail the item
        return 0.0


def call_once(
    model: ModelSpec,
    messages: list[dict[str, str]],
    *,
    temperature: float,
    max_tokens: int,
    seed: int | None,
    timeout: float,
) -> Completion:
    start = time.monotonic()
    try:
        response = litellm.completion(
            messages=messages,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
            timeout=timeout,
            num_retries=0,
            max_retries=0,
            **_call_arguments(model),
        )
    except Exception as exc:
        raise classify(exc) from None
    latency = time.monotonic() - start
    try:
        text = response.choices[0].message.content  # type: ignore[union-attr]
    except (AttributeError, IndexError, TypeError):
        raise ModelCallError("malformed", "the provider's reply had no message content", True) from None
    if not isinstance(text, str):
        raise ModelCallError("malformed", "the provider's reply had no text content", True)
    usage = getattr(response, "usage", None)
    return Completion(
        text=text,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost=_cost(response),
        latency=latency,
    )


DEFAULT_RETRY = RetryPolicy()


def complete(
    model: ModelSpec,
    messages: list[dict[str, str]],
    *,
    temperature: float = 0.0,
    max_tokens: int = 1024,
    seed: int | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    sleep: Callable[[float], None] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
) -> Completion:
    """One completion, retried with exponential backoff on rate limits, server errors and timeouts.

    A replay model answers from its recording without litellm; `replay.NotRecordedError` when it cannot.
    """
    if replay.is_replay(model.name):
        return _replayed(model, messages)
    attempt = 0
    while True:
        try:
            return call_once(
                model,
                messages,
                temperature=temperature,
                max_tokens=max_tokens,
                seed=seed,
                timeout=retry.timeout,
            )
        except ModelCallError as exc:
            attempt += 1
            if not exc.retryable or attempt >= retry.attempts or should_stop():
                raise
            delay = min(retry.max_delay, retry.base_delay * 2 ** (attempt - 1))
            sleep(delay * random.uniform(0.5, 1.0))


def _replayed(model: ModelSpec, messages: list[dict[str, str]]) -> Completion:
    start = time.monotonic()
    try:
        text = replay.reply(model.name, messages)
    except replay.ReplayError as exc:  # the files went missing or changed into something unreadable
        raise ModelCallError("replay", str(exc), False) from None
    latency = time.monotonic() - start
    return Completion(text=text, prompt_tokens=0, completion_tokens=0, cost=0.0, latency=latency)


class ModelUnavailableError(Exception):
    """Raised before a run starts, with one message a user can act on."""


_ADVICE = {
    "auth": "no valid key for this provider: set the API key in the environment (e.g. OPENAI_API_KEY "
    "for openai/..., ANTHROPIC_API_KEY for anthropic/...) or name the variable that holds it",
    "not_found": "the provider does not know this model: check the model string",
    "bad_request": "litellm cannot use this model string: write provider/model (e.g. openai/gpt-4o-mini, "
    "anthropic/claude-3-5-haiku-latest, ollama_chat/llama3), or give --api-base for an "
    "OpenAI-compatible server",
    "connection": "the server cannot be reached: check --api-base and that the server is running",
    "timeout": "the server did not answer in time",
    "server": "the server answered with an error",
    "rate_limit": "the provider is rate limiting this key",
    "malformed": "the server's reply was not an OpenAI-style chat completion",
}


def check_model(model: ModelSpec, timeout: float = 120.0) -> None:
    """A cheap probe call, so a wrong model string or a missing key fails once, before the run."""
    if replay.is_replay(model.name):
        try:
            replay.check(model.name)
        except replay.ReplayError as exc:
            raise ModelUnavailableError(f"{model.label}: {exc}") from None
        return
    if model.api_base:
        parts = urlsplit(model.api_base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ModelUnavailableError(
                f"{model.label}: --api-base must be an http(s) URL, got {model.api_base!r}"
            )
    if model.key_env and not os.environ.get(model.key_env):
        raise ModelUnavailableError(f"{model.label}: the environment variable {model.key_env} is not set")
    try:
        call_once(
            model,
            [{"role": "user", "content": "Reply with OK."}],
            temperature=0.0,
            max_tokens=4,
            seed=0,
            timeout=timeout,
        )
    except ModelCallError as exc:
        advice = _ADVICE.get(exc.category, "the probe call failed")
        raise ModelUnavailableError(f"{model.label}: {advice}. ({exc.category}: {exc})") from None
    except Exception as exc:  # the embedded model's own errors (missing wheels, wrong file) say what to do
        raise ModelUnavailableError(f"{model.label}: {exc}") from None
