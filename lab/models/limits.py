"""Per-model limits: calls in flight at once, and calls started per minute."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from lab.models.provider import CallCancelledError
from lab.models.spec import ModelSpec

_POLL = 0.1  # seconds between looks at the run's stop while waiting for a slot or a turn

T = TypeVar("T")


class CallLimiter:
    """At most `concurrency` calls at once (None: no cap here) and, with `rpm`, call starts spaced
    60/rpm seconds apart. Thread-safe; one per model and process."""

    def __init__(
        self,
        concurrency: int | None,
        rpm: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._slots = threading.BoundedSemaphore(concurrency) if concurrency else None
        self._interval = 60.0 / rpm if rpm else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_start = 0.0

    def _wait_for_turn(self, should_stop: Callable[[], bool]) -> None:
        if not self._interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next_start)
            self._next_start = start + self._interval
        while start > now and not should_stop():
            self._sleep(min(start - now, _POLL))
            now = self._clock()

    def _acquire(self, should_stop: Callable[[], bool]) -> bool:
        assert self._slots is not None
        while not self._slots.acquire(timeout=_POLL):
            if should_stop():
                return False
        return True

    @contextmanager
    def slot(self, should_stop: Callable[[], bool] = lambda: False) -> Iterator[None]:
        """Hold one of the model's slots for the length of a call. A stop ends the wait for a slot or
        for the call's turn within a tenth of a second: the call is then not made (`CallCancelledError`)."""
        if self._slots is not None and not self._acquire(should_stop):
            raise CallCancelledError("the run is stopping; the call was not made")
        try:
            self._wait_for_turn(should_stop)
            if should_stop():
                raise CallCancelledError("the run is stopping; the call was not made")
            yield
        finally:
            if self._slots is not None:
                self._slots.release()


def call_slots(models: Iterable[ModelSpec], default: int) -> int:
    """Threads a run needs: each model's own concurrency, or `default` (the run's) for one without."""
    return sum(model.concurrency or default for model in models)


def round_robin(items: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """`items` taken in turn from each `key` group, in order within a group, so that models with
    their own limits share a run's threads instead of waiting behind one another."""
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    columns = itertools.zip_longest(*groups.values())
    return [item for column in columns for item in column if item is not None]
