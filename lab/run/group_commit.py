"""Store writes asked for on the process's event loop, committed together once per turn of the loop.

litellm prepares each call on a thread of the loop's executor, so the loop's thread shares the GIL with
those threads, and each SQLite statement hands the GIL away (the sqlite3 module releases it around every
step) and waits to get it back. Committed one by one, a call's row and its items cost five statements on
the loop's thread and about a tenth of the runner's throughput; grouped, the calls that end in one turn of
the loop (16 on average at 64 calls in flight) share one transaction (bench/README.md, "Client throughput").

A write's `await` returns once its transaction is committed, in the turn after it was asked: a killed
process loses only writes nobody was told were done. A cancelled writer's write is still made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Transactional(Protocol):
    def together(self) -> AbstractContextManager[None]: ...


class GroupCommit:
    """One per run; used from the process's event loop only."""

    def __init__(self, store: Transactional):
        self._store = store
        self._pending: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []

    async def write(self, write: Callable[[], T]) -> T:
        """`write()` (store statements, nothing else) run in this turn's transaction; its result once that
        is committed. Its exception, if it fails: it alone is rolled back."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self._pending.append((write, done))
        if len(self._pending) == 1:
            loop.call_soon(self.flush)
        return await done

    def flush(self) -> None:
        """Commit the writes asked for so far (at the end of the turn; the runner calls it once more as a
        run ends, so that nothing waits for a turn that would come after the run's status was set)."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            with self._store.together():
                results = [write() for write, _ in pending]
        except Exception:  # the group was rolled back: each write again on its own, so only the failing fails
            for write, done in pending:
                self._alone(write, done)
            return
        for (_, done), result in zip(pending, results, strict=True):
            if not done.done():  # its writer was cancelled meanwhile
                done.set_result(result)

    def _alone(self, write: Callable[[], Any], done: asyncio.Future[Any]) -> None:
        try:
            with self._store.together():
                result = write()
        except Exception as exc:
            if not done.done():
                done.set_exception(exc)
            return
        if not done.done():
            done.set_result(result)
