"""The litellm provider: any provider string litellm knows, and any OpenAI-compatible `api_base`.

Keys are read from the environment by litellm (or from the variable a model spec names); they are
never part of a `ModelSpec`, so they never reach the store, a CSV or a log. litellm takes seconds to
import, so it is imported on the first call, not with this module.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import os
import re
import time
from collections.abc import Callable, Mapping
from types import ModuleType
from urllib.parse import urlsplit

from lab.models.event_loop import run_stoppable
from lab.models.limits import CallLimiter
from lab.models.provider import (
    DEFAULT_RETRY,
    CallParams,
    Completion,
    Messages,
    ModelCallError,
    ModelUnavailableError,
    Provider,
    RetryPolicy,
    with_retries,
)
from lab.models.replicas import ReplicaRouter, shared_router
from lab.models.spec import ModelSpec

NO_KEY = "sk-no-key-needed"


@functools.cache
def litellm_module() -> ModuleType:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.drop_params = True  # e.g. `seed` is sent only to providers that take it
    litellm.telemetry = False
    return litellm


@functools.cache
def _classified() -> tuple[tuple[type[BaseException], str, bool], ...]:
    litellm = litellm_module()
    return (
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
    for kind, category, retryable in _classified():
        if isinstance(exc, kind):
            waited = retry_after(exc, rate_limited=category == "rate_limit")
            return ModelCallError(category, message, retryable, retry_after=waited)
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 500:
        return ModelCallError("server", message, True, retry_after=retry_after(exc))
    return ModelCallError("error", f"{type(exc).__name__}: {message}", False)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def retry_after(exc: BaseException, *, rate_limited: bool = False) -> float | None:
    """Seconds the server asked to wait, from the failed response's headers: `retry-after-ms`, or
    `retry-after` (seconds or an HTTP date); for a rate limit without them, the reset time of the
    exhausted limit (`x-ratelimit-reset-requests` or `-tokens`, e.g. `1m30s`). None when it did not say."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or getattr(
        exc, "litellm_response_headers", None
    )
    if not headers:
        return None
    if headers.get("retry-after-ms"):
        return _number(headers["retry-after-ms"], scale=0.001)
    if headers.get("retry-after"):
        seconds = _number(headers["retry-after"])
        return seconds if seconds is not None else _until(headers["retry-after"])
    if not rate_limited:
        return None
    resets = [
        _duration(headers.get(f"x-ratelimit-reset-{limit}", ""))
        for limit in ("requests", "tokens")
        if headers.get(f"x-ratelimit-remaining-{limit}") == "0"
    ]
    known = [seconds for seconds in resets if seconds is not None]
    return max(known) if known else None


def _number(text: str, scale: float = 1.0) -> float | None:
    try:
        return max(0.0, float(text) * scale)
    except ValueError:
        return None


def _until(http_date: str) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _duration(text: str) -> float | None:
    """`1m30s`, `250ms`, `6m0s` (OpenAI's reset headers) in seconds."""
    parts = _DURATION.findall(text)
    return sum(float(value) * _SECONDS[unit] for value, unit in parts) if parts else None


def _short(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cost(response: object) -> float:
    """litellm prices each response as it logs it (None for a model its price map does not list);
    pricing it again costs about a tenth of a call's client time."""
    hidden = getattr(response, "_hidden_params", None) or {}
    if "response_cost" in hidden:
        return float(hidden["response_cost"] or 0.0)
    try:
        return float(litellm_module().completion_cost(completion_response=response) or 0.0)
    except Exception:  # unknown price for this model: report no cost rather than fail the item
        return 0.0


def _completion(response: object, latency: float) -> Completion:
    """Our record of an OpenAI-style chat completion; `malformed` (retryable) when it has no text."""
    try:
        choice = response.choices[0]  # type: ignore[attr-defined]
        text = choice.message.content
    except (AttributeError, IndexError, TypeError):
        raise ModelCallError("malformed", "the provider's reply had no message content", True) from None
    if not isinstance(text, str):
        raise ModelCallError("malformed", "the provider's reply had no text content", True)
    usage = getattr(response, "usage", None)
    finish_reason = getattr(choice, "finish_reason", None)
    return Completion(
        text=text,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost=_cost(response),
        latency=latency,
        finish_reason=str(finish_reason) if finish_reason else None,
    )


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


class LitellmProvider(Provider):
    """Every model string no other provider claims goes to litellm; a spec's replicas share its calls
    through `ReplicaRouter`, and its limits through a `CallLimiter`."""

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        self.limiter = CallLimiter(spec.concurrency, spec.rpm)
        self._router: ReplicaRouter | None = None

    @classmethod
    def accepts(cls, name: str) -> bool:
        return True

    def router(self) -> ReplicaRouter | None:
        """The replicas' router, built on first use (litellm is imported then); None for one server."""
        if self._router is None and self.spec.replicas:
            self._router = shared_router(litellm_module(), self.spec.api_bases, self.call_arguments())
        return self._router

    def call_arguments(self) -> dict[str, object]:
        model = self.spec
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

    async def call_once(self, messages: Messages, params: CallParams, timeout: float) -> Completion:
        """One attempt, within the model's limits, on one of its replicas: `litellm.acompletion`, awaited
        on the process's event loop (`lab.models.event_loop`)."""
        async with self.limiter.slot():
            router = self.router()
            replica = router.pick(messages) if router else None
            arguments = replica.arguments if replica else self.call_arguments()
            try:
                with router.holding(replica) if router and replica else contextlib.nullcontext():
                    return await self._complete(messages, params, timeout, arguments)
            except ModelCallError as exc:
                if router and replica and exc.retryable:
                    router.cool_down(replica, exc)
                raise

    async def _complete(
        self, messages: Messages, params: CallParams, timeout: float, arguments: Mapping[str, object]
    ) -> Completion:
        litellm = litellm_module()
        start = time.monotonic()
        try:
            response = await litellm.acompletion(
                messages=messages,
                temperature=params.temperature,
                max_tokens=params.max_tokens,
                seed=params.seed,
                timeout=timeout,
                num_retries=0,
                max_retries=0,
                **arguments,
            )
        except Exception as exc:
            raise classify(exc) from None
        latency = time.monotonic() - start
        return _completion(response, latency)

    async def acomplete(
        self,
        messages: Messages,
        params: CallParams,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Completion:
        """One completion, retried with exponential backoff on rate limits, server errors and timeouts."""
        return await with_retries(
            lambda: self.call_once(messages, params, retry.timeout), retry, should_stop=should_stop
        )

    def complete(
        self,
        messages: Messages,
        params: CallParams,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Completion:
        """`acomplete` on the process's event loop, waited for; given up (`CallCancelledError`) within a
        tenth of a second of `should_stop()`."""
        return run_stoppable(
            lambda: self.acomplete(messages, params, retry=retry, should_stop=should_stop), should_stop
        )

    def check(self, timeout: float = 120.0) -> None:
        """A cheap probe call, so a wrong model string or a missing key fails once, before the run.
        With replicas the probe is tried on each in turn until one answers (a failed one cools down)."""
        model = self.spec
        for url in model.api_bases:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ModelUnavailableError(f"{model.label}: --api-base must be an http(s) URL, got {url!r}")
        if model.key_env and not os.environ.get(model.key_env):
            raise ModelUnavailableError(f"{model.label}: the environment variable {model.key_env} is not set")
        probe = [{"role": "user", "content": "Reply with OK."}]
        probe_params = CallParams(temperature=0.0, max_tokens=4, seed=0)
        attempts = max(1, len(model.api_bases))
        for attempt in range(1, attempts + 1):
            try:
                run_stoppable(lambda: self.call_once(probe, probe_params, timeout), lambda: False)
                return
            except ModelCallError as exc:
                if exc.retryable and attempt < attempts:
                    continue
                advice = _ADVICE.get(exc.category, "the probe call failed")
                raise ModelUnavailableError(f"{model.label}: {advice}. ({exc.category}: {exc})") from None
            except Exception as exc:  # e.g. the embedded model's own errors (missing wheels) say what to do
                raise ModelUnavailableError(f"{model.label}: {exc}") from None

    def count_tokens(self, messages: Messages) -> int:
        return int(litellm_module().token_counter(model=self.spec.name, messages=messages))

    def price(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """From litellm's price map, which knows a model by its name (not by the server answering)."""
        try:
            prompt_cost, completion_cost = litellm_module().cost_per_token(
                model=self.spec.name, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
            )
        except Exception:  # litellm raises for a model its price map does not list
            return None
        return float(prompt_cost) + float(completion_cost)

    def describe(self, environ: Mapping[str, str] = os.environ) -> str:
        model = self.spec
        where = (
            "at " + ", ".join(f"`{url}`" for url in model.api_bases)
            if model.api_base
            else "through the provider's own endpoint"
        )
        if model.replicas:
            where += f" ({len(model.api_bases)} replicas)"
        if model.key_env:
            key = f"key from `${model.key_env}`" + (
                "" if environ.get(model.key_env) else " (**not set** for this app)"
            )
        elif model.api_base:
            key = "no key sent"
        else:
            key = "key from the provider's usual variable (e.g. `OPENAI_API_KEY`, `ANTHROPIC_API_KEY`)"
        return f"{where}; {key}"
