"""One event loop for the process's litellm calls, on a daemon thread.

The runner scores items on threads; a thread's model call is `litellm.acompletion` on this loop, and the
thread waits for its reply. litellm's synchronous client costs about a third more CPU a call than its
asynchronous one (bench/README.md, "Client throughput"), and many threads contending for the GIL cost
more again, so the calls of every run and thread share this one loop. A waiting thread also watches the
run's stop and cancels its call's task, which ends the request instead of abandoning it.
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


@functools.cache
def _loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True, name="solverlab-model-calls").start()
    return loop


def run_stoppable(
    make: Callable[[], Coroutine[Any, Any, T]], should_stop: Callable[[], bool], *, poll: float = 0.1
) -> T:
    """The result of the coroutine `make()` run on the process's loop (in a copy of the caller's
    context); `CallCancelledError` within `poll` seconds of `should_stop()` turning true, with the
    coroutine's task cancelled. Made only when the run is not stopping already."""
    if should_stop():
        raise CallCancelledError("the run is stopping; the call was not made")
    future = asyncio.run_coroutine_threadsafe(make(), _loop())
    while True:
        try:
            return future.result(timeout=poll)
        except concurrent.futures.TimeoutError:
            if not future.done() and should_stop():
                future.cancel()
                raise CallCancelledError("the run is stopping; the call in flight was cancelled") from None
            if future.done():  # the coroutine itself raised TimeoutError
                raise
        except concurrent.futures.CancelledError:
            raise CallCancelledError("the call was cancelled") from None
        except Exception as exc:
            if should_stop():  # e.g. a backend reporting the generation it was told to abort as an error
                raise CallCancelledError("the run is stopping; the call in flight ended with it") from exc
            raise
