"""One event loop for the process's model calls, on a daemon thread.

The runner's one-call work units run here as coroutines; its other units run on threads, and each of
their model calls is a coroutine on this loop that the thread waits for. litellm's synchronous client
costs about a third more CPU a call than its asynchronous one (bench/README.md, "Client throughput"), and
each hand-over between a thread and the loop costs a GIL switch or two, so the calls of every run share
this one loop; a stopping run's calls are cancelled here, which ends their requests instead of abandoning
them. `on_loop` runs a short function on the loop's thread: the runner's SQLite writes, which from 64
threads each handed the GIL back and forth with the loop several times a statement.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from lab.models.provider import CallCancelledError

T = TypeVar("T")


_POLL = 0.1  # seconds between looks at the stops of the calls in flight
# The stop check of each call in flight, by its task; read and written on the loop's thread only.
_WATCHED: dict[asyncio.Task[Any], Callable[[], bool]] = {}


@functools.cache
def _loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True, name="solverlab-model-calls").start()
    loop.call_soon_threadsafe(_watch, loop)
    return loop


def _watch(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the calls whose run is stopping; again in `_POLL` seconds. One timer for every call in
    flight: a thread per call waking to look would cost more than the calls' own client code."""
    for task, should_stop in list(_WATCHED.items()):
        if should_stop():
            task.cancel()
    loop.call_later(_POLL, _watch, loop)


async def _watched(make: Callable[[], Coroutine[Any, Any, T]], should_stop: Callable[[], bool]) -> T:
    task = asyncio.current_task()
    assert task is not None
    _WATCHED[task] = should_stop
    try:
        return await make()
    finally:
        del _WATCHED[task]


def stoppable_task(
    make: Callable[[], Coroutine[Any, Any, T]], should_stop: Callable[[], bool]
) -> asyncio.Task[T]:
    """From the process's loop: the coroutine `make()` as a task of it, cancelled within a tenth of a
    second of `should_stop()` turning true."""
    return asyncio.get_running_loop().create_task(_watched(make, should_stop))


def start_stoppable(
    make: Callable[[], Coroutine[Any, Any, T]], should_stop: Callable[[], bool]
) -> concurrent.futures.Future[T]:
    """The coroutine `make()` started on the process's loop (in a copy of the caller's context); its task
    is cancelled, and so the future, within a tenth of a second of `should_stop()` turning true."""
    return asyncio.run_coroutine_threadsafe(_watched(make, should_stop), _loop())


def run_stoppable(make: Callable[[], Coroutine[Any, Any, T]], should_stop: Callable[[], bool]) -> T:
    """The result of the coroutine `make()` run on the process's loop, waited for on this thread;
    `CallCancelledError` within a tenth of a second of `should_stop()` turning true, with the
    coroutine's task cancelled. Made only when the run is not stopping already."""
    if should_stop():
        raise CallCancelledError("the run is stopping; the call was not made")
    future = start_stoppable(make, should_stop)
    try:
        return future.result()
    except concurrent.futures.CancelledError:
        raise CallCancelledError("the run is stopping; the call in flight was cancelled") from None
    except Exception as exc:
        if should_stop():  # e.g. a backend reporting the generation it was told to abort as an error
            raise CallCancelledError("the run is stopping; the call in flight ended with it") from exc
        raise


def on_loop(function: Callable[[], T]) -> T:
    """`function()` run on the loop's thread (directly when called there), its result or its exception
    handed back. For short work only: the loop runs nothing else meanwhile."""
    loop = _loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:  # a thread without a loop: the usual case
        running = None
    if running is loop:
        return function()

    async def call() -> T:
        return function()

    return asyncio.run_coroutine_threadsafe(call(), loop).result()
