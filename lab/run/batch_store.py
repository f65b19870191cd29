"""The batches of a run, in the run's SQLite file: which requests each batch carries, its file and batch
ids at the provider, and whether its replies are stored.

The tables are created when a database is first opened here; a database written before them is read as
before (no batches), and what it holds is kept.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from lab.run.sqlite_file import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    model TEXT NOT NULL,
    state TEXT NOT NULL,
    input_file_id TEXT,
    batch_id TEXT,
    requests INTEGER NOT NULL,
    created REAL NOT NULL,
    ended REAL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS batches_run ON batches (run_id);
CREATE TABLE IF NOT EXISTS batch_requests (
    batch INTEGER NOT NULL REFERENCES batches (id),
    run_id TEXT NOT NULL,
    cache_key TEXT NOT NULL,
    PRIMARY KEY (batch, cache_key)
);
CREATE INDEX IF NOT EXISTS batch_requests_run ON batch_requests (run_id);
"""


class BatchStage(StrEnum):
    PREPARING = "preparing"  # stored before the upload: a file id, if any, is ours
    SUBMITTED = "submitted"  # the provider holds the batch; its replies are not stored yet
    COLLECTED = "collected"  # every reply it gave is in the calls table (the response cache)


OPEN = (BatchStage.PREPARING, BatchStage.SUBMITTED)


@dataclass(frozen=True)
class BatchRecord:
    row: int
    run_id: str
    model: str  # the model's label, as calls and items store it
    stage: BatchStage
    input_file_id: str | None
    batch_id: str | None
    requests: int
    detail: str | None


class BatchStore(SqliteFile):
    """The batch tables of one database file, on a connection of their own."""

    def __init__(self, path: str | Path):
        super().__init__(path)
        with self._transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    def begin(self, run_id: str, model: str, cache_keys: Sequence[str]) -> int:
        """Record a batch before anything is sent; its row."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO batches (run_id, model, state, requests, created) VALUES (?, ?, ?, ?, ?)",
                (run_id, model, BatchStage.PREPARING, len(cache_keys), time.time()),
            )
            row = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT INTO batch_requests (batch, run_id, cache_key) VALUES (?, ?, ?)",
                [(row, run_id, key) for key in cache_keys],
            )
        return row

    def set_file(self, row: int, input_file_id: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE batches SET input_file_id = ? WHERE id = ?", (input_file_id, row))

    def set_submitted(self, row: int, batch_id: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE batches SET batch_id = ?, state = ? WHERE id = ?",
                (batch_id, BatchStage.SUBMITTED, row),
            )

    def set_collected(self, row: int, detail: str | None) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE batches SET state = ?, ended = ?, detail = ? WHERE id = ?",
                (BatchStage.COLLECTED, time.time(), detail, row),
            )

    def batches(self, run_id: str, *, open_only: bool = False) -> list[BatchRecord]:
        stages = OPEN if open_only else tuple(BatchStage)
        marks = ", ".join("?" for _ in stages)
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM batches WHERE run_id = ? AND state IN ({marks}) ORDER BY id",
                (run_id, *stages),
            ).fetchall()
        return [
            BatchRecord(
                row=r["id"],
                run_id=r["run_id"],
                model=r["model"],
                stage=BatchStage(r["state"]),
                input_file_id=r["input_file_id"],
                batch_id=r["batch_id"],
                requests=r["requests"],
                detail=r["detail"],
            )
            for r in rows
        ]

    def open_keys(self, run_id: str) -> set[str]:
        """The requests of the run's batches whose replies are not stored yet."""
        marks = ", ".join("?" for _ in OPEN)
        with self._lock:
            rows = self._db.execute(
                "SELECT r.cache_key FROM batch_requests AS r JOIN batches AS b ON b.id = r.batch "
                f"WHERE r.run_id = ? AND b.state IN ({marks})",
                (run_id, *OPEN),
            ).fetchall()
        return {r["cache_key"] for r in rows}

    def keys(self, row: int) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT cache_key FROM batch_requests WHERE batch = ?", (row,)).fetchall()
        return [r["cache_key"] for r in rows]
