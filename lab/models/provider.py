"""The one interface every model backend implements, and the records a call returns.

A backend is one file with a `Provider` subclass plus one line in `lab.models.registry`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeVar

if TYPE_CHECKING:
    from lab.models.spec import ModelSpec

Messages = list[dict[str, str]]
T = TypeVar("T")

# The finish reason of a reply cut at the token cap (OpenAI's word, which litellm and llama.cpp use too).
CUT_AT_TOKEN_CAP = "length"


@dataclass(frozen=True)
class CallParams:
    """How to sample; `seed` is None for providers that take none."""

    temperature: float = 0.0
    max_tokens: int = 1024
    seed: int | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    latency: float
    finish_reason: str | None = None  # `length`: cut at the token cap; None when the provider does not say

    @property
    def truncated(self) -> bool:
        return self.finish_reason == CUT_AT_TOKEN_CAP


class ModelCallError(Exception):
    """A call that failed; `category` says how, `retryable` whether trying again can help, and
    `retry_after` how many seconds the provider asked to wait (its Retry-After header), if it said."""

    def __init__(self, category: str, message: str, retryable: bool, *, retry_after: float | None = None):
        super().__init__(message)
        self.category = category
        self.retryable = retryable
        self.retry_after = retry_after


class NoReplyError(Exception):
    """Neither a reply nor a failure: the provider has no answer to this prompt (a replay model's
    unrecorded prompt). The runner scores the call's items wrong with error `category`."""

    category: ClassVar[str] = "no_reply"


class CallCancelledError(Exception):
    """The run is stopping, so the call was given up before its reply: nothing is stored for it, it is
    no failure, and a resumed run makes it again."""


class ModelUnavailableError(Exception):
    """Raised before a run starts, with one message a user can act on."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter from `base_delay` up to `max_delay`; a provider's Retry-After
    is waited out instead, up to `max_retry_after` seconds."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    timeout: float = 600.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try `attempt + 1`."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)


DEFAULT_RETRY = RetryPolicy()


async def with_retries(
    call: Callable[[], Awaitable[Completion]],
    retry: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    should_stop: Callable[[], bool] = lambda: False,
) -> Completion:
    """`call()` awaited, and again while its error is retryable: after the provider's Retry-After when it
    sent one, else with exponential backoff and jitter."""
    attempt = 0
    while True:
        try:
            return await call()
        except ModelCallError as exc:
            attempt += 1
            if not exc.retryable or attempt >= retry.attempts or should_stop():
                raise
            await sleep(retry.delay(attempt, exc.retry_after))


# The threads on which `Provider.acomplete` runs the calls of backends without their own async client.
_SYNC_CALLS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="solverlab-sync-call")


async def in_thread(pool: Executor, call: Callable[[], T]) -> T:
    """`call()` on a thread of `pool`, in a copy of this context. Cancelled (a run stopping), it waits for
    the thread to end before the cancellation goes on, the call's own stop check ending it soon: a stopped
    run has then nothing of it still working, e.g. a local model still generating."""
    context = contextvars.copy_context()
    job = asyncio.get_running_loop().run_in_executor(pool, context.run, call)
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        while not job.done():
            with contextlib.suppress(asyncio.CancelledError):  # the stop's watch cancels again meanwhile
                await asyncio.wait([job])
        if not job.cancelled():
            job.exception()  # retrieved: the caller gave up on it
        raise


class Provider(ABC):
    """One model backend. `accepts` claims model names; an instance serves one `ModelSpec`."""

    # Whether the store's response cache may answer for this provider (a recording is its own cache).
    cacheable: ClassVar[bool] = True
    # Whether identical calls at temperature 0 get identical replies (recorded with each run; a server
    # behind litellm batches and caches as it likes, so it promises nothing).
    deterministic: ClassVar[bool] = False
    # Whether the backend calls a server, so that a spec's api_base and key_env mean something.
    takes_server: ClassVar[bool] = True

    def __init__(self, spec: ModelSpec):
        self.spec = spec

    @classmethod
    @abstractmethod
    def accepts(cls, name: str) -> bool:
        """Whether a model string belongs to this backend."""

    @classmethod
    def validate(cls, spec: ModelSpec) -> None:
        """Raise ValueError when the spec's fields do not fit this backend."""
        if not cls.takes_server and (spec.api_base or spec.key_env):
            raise ValueError(
                f"{spec.name} answers without a server: it takes no api_base and no key; leave them out"
            )
        if not cls.takes_server and (spec.concurrency is not None or spec.rpm is not None):
            raise ValueError(
                f"{spec.name} answers without a server: it takes no concurrency or rpm limits; leave them out"
            )

    @abstractmethod
    def check(self) -> None:
        """Before a run: a cheap probe, raising `ModelUnavailableError` with what to do."""

    @abstractmethod
    def complete(
        self,
        messages: Messages,
        params: CallParams,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Completion:
        """One reply; `ModelCallError` when the call failed, `NoReplyError` when there is none to give."""

    async def acomplete(
        self,
        messages: Messages,
        params: CallParams,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Completion:
        """`complete`, awaited on an event loop. By default `complete` runs on a worker thread (whose
        `should_stop` ends it at a stop); a backend with an async client awaits it instead."""
        call = functools.partial(self.complete, messages, params, retry=retry, should_stop=should_stop)
        return await in_thread(_SYNC_CALLS, call)

    @abstractmethod
    def describe(self, environ: Mapping[str, str] = os.environ) -> str:
        """One line for a user: where the replies come from and which key is used (read from `environ`)."""

    def label(self) -> str:
        """A short name for charts and tables."""
        return self.spec.label

    def count_tokens(self, messages: Messages) -> int:
        """The prompt's tokens, roughly (four characters a token) for backends without a tokenizer."""
        return sum(len(m.get("content", "")) for m in messages) // 4 + 4 * len(messages)

    def price(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """What so many tokens cost in USD; None when the price is unknown. Local backends cost nothing."""
        return 0.0
