"""Per-model limits: calls in flight at once, and calls started per minute."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable
from contextlib import asynccontextmanager
from typing import TypeVar

from lab.models.spec import ModelSpec

T = TypeVar("T")


class CallLimiter:
    """At most `concurrency` calls at once (None: no cap here) and, with `rpm`, call starts spaced
    60/rpm seconds apart. One per model and run; used on the process's event loop
    (`lab.models.event_loop`), where a stopping run's calls are cancelled, waits for a slot or a turn
    included."""

    def __init__(
        self,
        concurrency: int | None,
        rpm: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._slots = asyncio.Semaphore(concurrency) if concurrency else None
        self._interval = 60.0 / rpm if rpm else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next_start = 0.0

    async def _wait_for_turn(self) -> None:
        if not self._interval:
            return
        now = self._clock()
        start = max(now, self._next_start)
        self._next_start = start + self._interval
        if start > now:
            await self._sleep(start - now)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the model's slots, after waiting for the call's turn, for the length of a call."""
        if self._slots is None:
            await self._wait_for_turn()
            yield
            return
        async with self._slots:
            await self._wait_for_turn()
            yield


def call_slots(models: Iterable[ModelSpec], default: int) -> int:
    """Units a run keeps in flight: each model's own concurrency, or `default` (the run's) for one without."""
    return sum(model.concurrency or default for model in models)


def round_robin(items: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """`items` taken in turn from each `key` group, in order within a group, so that models with
    their own limits share a run's slots instead of waiting behind one another."""
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    columns = itertools.zip_longest(*groups.values())
    return [item for column in columns for item in column if item is not None]
