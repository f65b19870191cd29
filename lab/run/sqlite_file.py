"""One connection to a SQLite file, shared by the threads of a process: the run store and the batch tables
open theirs the same way."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SqliteFile:
    """WAL journal, one lock around the connection, and transactions begun IMMEDIATE (a second writer,
    here or in another process, waits up to 30 s instead of failing).

    `synchronous=NORMAL`: with WAL, a commit is durable once written to the journal, without waiting for
    the disk to flush it (a killed process loses nothing committed; only a power cut may lose the last
    commits, never corrupting the file). A run commits about once a model call, and waiting for the flush
    made each commit four times slower (bench/README.md, "Client throughput")."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def together(self) -> Iterator[None]:
        """The writes made inside (by this thread) commit as one transaction, or roll back together."""
        with self._transaction():
            yield

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A transaction; one begun inside another (on the thread holding the lock, so its own) joins it."""
        with self._lock:
            if self._db.in_transaction:
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
