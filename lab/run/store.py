"""SQLite store: runs, model calls (also the response cache), scored items and code-mode functions.

Every item is committed as soon as it is scored; items are keyed so that a resumed run can
neither duplicate nor lose one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from lab.run.records import ITEM_COLUMNS, ITEM_FIELDS, FunctionRecord, Item, RunStatus
from lab.run.sqlite_file import SqliteFile
from lab.run.store_schema import FUNCTIONS_TABLE, SCHEMA

__all__ = ["ITEM_COLUMNS", "ITEM_FIELDS", "RunStatus", "Store"]  # the item columns, for the read path


def default_db_path() -> Path:
    env = os.environ.get("SOLVERLAB_DB")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("solverlab")) / "solverlab.db"


@dataclass(frozen=True)
class RunRecord:
    id: str
    plan: dict[str, Any]
    plan_hash: str
    status: RunStatus
    reason: str | None
    total_items: int
    created: float
    started: float | None
    finished: float | None
    versions: dict[str, str]
    pid: int | None
    name: str | None = (
        None  # what a user named the run (None: unnamed; it is then labelled by model and date)
    )


@dataclass(frozen=True)
class CachedResponse:
    call_id: int
    response: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    finish_reason: str | None


@dataclass(frozen=True)
class RunTotals:
    items: int
    correct: int
    calls: int
    cached_calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: float


@dataclass(frozen=True)
class CustomProbeRecord:
    """A custom probe as saved: its definition (the export format) and its compiled (input, output) pool."""

    name: str
    definition: dict[str, Any]
    pool: list[tuple[str, str]]
    created: float


class CustomProbeExistsError(ValueError):
    """A custom probe of that name is saved with another definition."""


class Store(SqliteFile):
    """One SQLite file; safe to share between the threads of one process."""

    def __init__(self, path: str | Path | None = None):
        path = Path(path) if path else default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        self._migrate()

    def _columns(self, table: str) -> set[str]:
        return {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}

    def _migrate(self) -> None:
        """Bring a database written by an earlier version up to this schema; what it holds is kept."""
        self._migrate_functions()
        self._add_columns("items", {"consistent_worlds": "INTEGER", "shots": "INTEGER", "noise": "REAL"})
        self._add_columns("runs", {"name": "TEXT"})  # runs stored before names: unnamed
        # Calls made before finish reasons were recorded: NULL, as for a provider that does not say.
        self._add_columns("calls", {"finish_reason": "TEXT"})

    def _add_columns(self, table: str, columns: Mapping[str, str]) -> None:
        """Nullable columns added since a database was written: NULL in its old rows."""
        if set(columns) <= self._columns(table):
            return
        with self._transaction() as db:
            present = self._columns(table)  # another process may have just added them
            for name, kind in columns.items():
                if name not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def _migrate_functions(self) -> None:
        """Databases from before samples and refinement rounds: their one function per unit is sample 0."""
        columns = self._columns("functions")
        if "sample" in columns:
            return
        with self._transaction() as db:
            db.execute("ALTER TABLE functions RENAME TO functions_before_samples")
            db.execute(FUNCTIONS_TABLE)
            kept = ", ".join(sorted(columns))
            db.execute(f"INSERT INTO functions ({kept}) SELECT {kept} FROM functions_before_samples")
            db.execute("DROP TABLE functions_before_samples")

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    # runs
    def create_run(
        self,
        run_id: str,
        plan: Mapping[str, Any],
        plan_hash: str,
        total_items: int,
        versions: Mapping[str, str],
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO runs (id, plan, plan_hash, status, total_items, created, versions) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    json.dumps(plan, sort_keys=True),
                    plan_hash,
                    RunStatus.PENDING,
                    total_items,
                    time.time(),
                    json.dumps(dict(versions), sort_keys=True),
                ),
            )

    def get_run(self, run_id: str) -> RunRecord | None:
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        return _run_record(rows[0]) if rows else None

    def list_runs(self) -> list[RunRecord]:
        return [_run_record(r) for r in self._query("SELECT * FROM runs ORDER BY created DESC")]

    def set_status(
        self, run_id: str, status: RunStatus, reason: str | None = None, pid: int | None = None
    ) -> None:
        now = time.time()
        with self._transaction() as db:
            if status == RunStatus.RUNNING:
                db.execute(
                    "UPDATE runs SET status = ?, reason = NULL, pid = ?, started = COALESCE(started, ?), "
                    "finished = NULL WHERE id = ?",
                    (status, pid, now, run_id),
                )
            else:
                db.execute(
                    "UPDATE runs SET status = ?, reason = ?, finished = ? WHERE id = ?",
                    (status, reason, now, run_id),
                )

    def set_name(self, run_id: str, name: str | None) -> bool:
        """Name the run (None: unnamed again); False when there is no such run."""
        with self._transaction() as db:
            return db.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id)).rowcount > 0

    def delete_run(self, run_id: str) -> None:
        with self._transaction() as db:
            # The batch tables exist once a run has been executed here (lab.run.batch_store).
            present = {
                row["name"] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            for table in ("items", "functions", "calls", "batch_requests", "batches", "kept_statistics"):
                if table in present:
                    db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    # calls and the response cache
    def cached_response(self, cache_key: str) -> CachedResponse | None:
        rows = self._query(
            "SELECT id, response, prompt_tokens, completion_tokens, cost, finish_reason FROM calls "
            "WHERE cache_key = ? AND error IS NULL ORDER BY id LIMIT 1",
            (cache_key,),
        )
        if not rows:
            return None
        r = rows[0]
        return CachedResponse(
            r["id"], r["response"], r["prompt_tokens"], r["completion_tokens"], r["cost"], r["finish_reason"]
        )

    def record_call(
        self,
        *,
        run_id: str,
        cache_key: str,
        model: str,
        messages: list[dict[str, str]],
        params: Mapping[str, Any],
        response: str | None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost: float = 0.0,
        latency: float = 0.0,
        error: str | None = None,
        cached: bool = False,
        finish_reason: str | None = None,
        items: Sequence[Item] = (),
    ) -> int:
        """The call's id. `items` scored on its reply are stored in the same commit, linked to the call
        (their own `call_id` is ignored): a direct mode's unit costs one commit, not two."""
        with self._transaction() as db:
            cur = db.execute(
                "INSERT INTO calls (run_id, cache_key, model, messages, params, response, prompt_tokens, "
                "completion_tokens, cost, latency, error, cached, created, finish_reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    cache_key,
                    model,
                    json.dumps(messages),
                    json.dumps(dict(params), sort_keys=True),
                    response,
                    prompt_tokens,
                    completion_tokens,
                    cost,
                    latency,
                    error,
                    int(cached),
                    time.time(),
                    finish_reason,
                ),
            )
            call_id = int(cur.lastrowid or 0)
            if items:
                self._insert_items(db, items, (), call_id=call_id)
            return call_id

    def get_call(self, call_id: int) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM calls WHERE id = ?", (call_id,))
        if not rows:
            return None
        call = dict(rows[0])
        call["messages"] = json.loads(call["messages"])
        call["params"] = json.loads(call["params"])
        return call

    def call_texts(self, run_ids: Iterable[str]) -> dict[int, tuple[str, str | None]]:
        """Call id -> (messages as stored JSON, response) for every call of the runs."""
        ids = list(run_ids)
        marks = ", ".join("?" for _ in ids)
        rows = self._query(f"SELECT id, messages, response FROM calls WHERE run_id IN ({marks})", ids)
        return {r["id"]: (r["messages"], r["response"]) for r in rows}

    # items and functions
    def save_items(self, items: Sequence[Item], functions: Sequence[FunctionRecord] = ()) -> None:
        """Store one work unit's scored items, and its functions in code modes, in one transaction.

        Items without a `function_id` are linked to the last function (the final round of the chosen sample).
        """
        with self._transaction() as db:
            self._insert_items(db, items, functions)

    @staticmethod
    def _insert_items(
        db: sqlite3.Connection,
        items: Sequence[Item],
        functions: Sequence[FunctionRecord],
        *,
        call_id: int | None = None,
    ) -> None:
        """Within a transaction; `call_id`, when given, is every item's call."""
        function_id = None
        for function in functions:
            cur = db.execute(
                "INSERT OR IGNORE INTO functions (run_id, model, probe, setting, mode, instance, "
                "call_id, code, verdict, detail, examples, fits_examples, memorised, held_out_failed, "
                "sample, round, chosen) "
                "VALUES (:run_id, :model, :probe, :setting, :mode, :instance, :call_id, :code, :verdict, "
                ":detail, :examples, :fits_examples, :memorised, :held_out_failed, :sample, :round, "
                ":chosen)",
                function.row(),
            )
            function_id = cur.lastrowid if cur.rowcount else None
        now = time.time()
        rows = []
        for item in items:
            row = item.row()
            if row["function_id"] is None:
                row["function_id"] = function_id
            if call_id is not None:
                row["call_id"] = call_id
            row["created"] = now
            rows.append(row)
        db.executemany(
            f"INSERT OR IGNORE INTO items ({', '.join(ITEM_FIELDS)}, created) "
            f"VALUES ({', '.join(':' + f for f in ITEM_FIELDS)}, :created)",
            rows,
        )

    def done_keys(self, run_id: str) -> set[tuple[str, str, str, str, int, int]]:
        rows = self._query(
            "SELECT model, probe, setting, mode, instance, case_index FROM items WHERE run_id = ?", (run_id,)
        )
        return {tuple(r) for r in rows}  # type: ignore[misc]

    def items(self, run_ids: Iterable[str]) -> list[dict[str, Any]]:
        ids = list(run_ids)
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        rows = self._query(
            f"SELECT {', '.join(ITEM_FIELDS)} FROM items WHERE run_id IN ({marks}) "
            "ORDER BY run_id, model, probe, setting, mode, instance, case_index",
            ids,
        )
        return [dict(r) for r in rows]

    def function_items(self, function_id: int) -> list[dict[str, Any]]:
        rows = self._query(
            f"SELECT {', '.join(ITEM_FIELDS)} FROM items WHERE function_id = ? ORDER BY case_index",
            (function_id,),
        )
        return [dict(r) for r in rows]

    def function(self, function_id: int) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM functions WHERE id = ?", (function_id,))
        return _function(rows[0]) if rows else None

    def functions(self, run_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Every function of the runs, every sample and round, without code and examples.

        `cases`: how many held-out items its work unit has scored (0 while the unit is unsaved).
        """
        ids = list(run_ids)
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        unit = "run_id, model, probe, setting, mode, instance"
        rows = self._query(
            f"SELECT f.id, {unit}, f.sample, f.round, f.chosen, f.verdict, f.fits_examples, "
            "f.held_out_failed, COALESCE(n.cases, 0) AS cases FROM functions AS f "
            f"LEFT JOIN (SELECT {unit}, COUNT(*) AS cases FROM items WHERE run_id IN ({marks}) "
            f"GROUP BY {unit}) AS n USING ({unit}) "
            f"WHERE run_id IN ({marks}) ORDER BY {unit}, f.sample, f.round",
            [*ids, *ids],
        )
        out = []
        for row in rows:
            function = dict(row)
            function["held_out_failed"] = json.loads(function["held_out_failed"])
            out.append(function)
        return out

    def unit_functions(self, function_id: int) -> list[dict[str, Any]]:
        """All samples and rounds of the work unit a function belongs to, oldest first."""
        rows = self._query(
            "SELECT other.* FROM functions AS this JOIN functions AS other USING "
            "(run_id, model, probe, setting, mode, instance) WHERE this.id = ? "
            "ORDER BY other.round, other.sample",
            (function_id,),
        )
        return [_function(row) for row in rows]

    def mode_totals(self) -> list[tuple[str, str, int, int]]:
        """(run id, mode, items, correct) for every mode of every run with items."""
        rows = self._query(
            "SELECT run_id, mode, COUNT(*) AS n, COALESCE(SUM(correct), 0) AS c FROM items "
            "GROUP BY run_id, mode"
        )
        return [(r["run_id"], r["mode"], r["n"], r["c"]) for r in rows]

    def totals(self, run_id: str) -> RunTotals:
        item_row = self._query(
            "SELECT COUNT(*) AS n, COALESCE(SUM(correct), 0) AS c FROM items WHERE run_id = ?", (run_id,)
        )[0]
        call_row = self._query(
            "SELECT COUNT(*) AS n, COALESCE(SUM(cached), 0) AS cached, "
            "COALESCE(SUM(error IS NOT NULL), 0) AS failed, "
            "COALESCE(SUM(prompt_tokens), 0) AS pt, COALESCE(SUM(completion_tokens), 0) AS ct, "
            "COALESCE(SUM(cost), 0) AS cost FROM calls WHERE run_id = ?",
            (run_id,),
        )[0]
        return RunTotals(
            item_row["n"],
            item_row["c"],
            call_row["n"],
            call_row["cached"],
            call_row["failed"],
            call_row["pt"],
            call_row["ct"],
            float(call_row["cost"]),
        )

    def item_errors(self, run_id: str, error: str) -> tuple[int, int]:
        """How many of the run's stored items carry `error`, and how many items it has."""
        row = self._query(
            "SELECT COALESCE(SUM(error = ?), 0) AS e, COUNT(*) AS n FROM items WHERE run_id = ?",
            (error, run_id),
        )[0]
        return int(row["e"]), int(row["n"])

    # custom probes
    def save_custom_probe(
        self, name: str, definition: Mapping[str, Any], pool: Sequence[tuple[str, str]]
    ) -> bool:
        """Save a custom probe; False if it is already saved with this definition.

        Runs refer to probes by name, so a name saved with another definition is refused.
        """
        text = json.dumps(dict(definition), sort_keys=True)
        with self._transaction() as db:
            row = db.execute("SELECT definition FROM custom_probes WHERE name = ?", (name,)).fetchone()
            if row is not None:
                if row["definition"] == text:
                    return False
                raise CustomProbeExistsError(
                    f"a custom probe {name!r} is already saved with another definition; runs refer to "
                    "probes by name, so delete it first (or choose another name)"
                )
            db.execute(
                "INSERT INTO custom_probes (name, definition, pool, created) VALUES (?, ?, ?, ?)",
                (name, text, json.dumps([list(pair) for pair in pool]), time.time()),
            )
        return True

    def custom_probes(self) -> list[CustomProbeRecord]:
        return [_custom_probe(r) for r in self._query("SELECT * FROM custom_probes ORDER BY name")]

    def custom_probe(self, name: str) -> CustomProbeRecord | None:
        rows = self._query("SELECT * FROM custom_probes WHERE name = ?", (name,))
        return _custom_probe(rows[0]) if rows else None

    def delete_custom_probe(self, name: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM custom_probes WHERE name = ?", (name,)).rowcount > 0

    # statistics of settled runs, computed once (lab.results.kept says what they are and when they hold)
    def keep_statistics(self, kept: Sequence[KeptStatistics]) -> None:
        """Replace each run's kept statistics by those of `kept`, all in one transaction."""
        with self._transaction() as db:
            for entry in kept:
                db.execute("DELETE FROM kept_statistics WHERE run_id = ?", (entry.run_id,))
                db.executemany(
                    "INSERT INTO kept_statistics (run_id, version, marker, name, payload) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [
                        (entry.run_id, entry.version, entry.marker, name, payload)
                        for name, payload in entry.tables.items()
                    ],
                )

    def kept_statistics(self, run_ids: Iterable[str], version: str) -> dict[str, KeptStatistics]:
        """The statistics kept for those of the runs that have some of `version` (others' are ignored)."""
        ids = list(run_ids)
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = self._query(
            "SELECT run_id, marker, name, payload FROM kept_statistics "
            f"WHERE version = ? AND run_id IN ({marks}) ORDER BY run_id, name",
            [version, *ids],
        )
        kept: dict[str, KeptStatistics] = {}
        for row in rows:
            entry = kept.setdefault(row["run_id"], KeptStatistics(row["run_id"], version, row["marker"], {}))
            entry.tables[row["name"]] = bytes(row["payload"])
        return kept

    def forget_statistics(self, run_ids: Iterable[str]) -> None:
        """Drop the statistics kept for the runs (the next read computes them again)."""
        with self._transaction() as db:
            db.executemany("DELETE FROM kept_statistics WHERE run_id = ?", [(run_id,) for run_id in run_ids])


@dataclass(frozen=True)
class KeptStatistics:
    """A settled run's statistics as kept: named tables (encoded bytes), valid for one statistics
    `version` and while the run's `marker` (its status, finish time and item count) is unchanged."""

    run_id: str
    version: str
    marker: str
    tables: dict[str, bytes]


def _custom_probe(row: sqlite3.Row) -> CustomProbeRecord:
    return CustomProbeRecord(
        name=row["name"],
        definition=json.loads(row["definition"]),
        pool=[(str(i), str(o)) for i, o in json.loads(row["pool"])],
        created=row["created"],
    )


def _function(row: sqlite3.Row) -> dict[str, Any]:
    function = dict(row)
    function["examples"] = json.loads(function["examples"])
    function["held_out_failed"] = json.loads(function["held_out_failed"])
    return function


def _run_record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"],
        plan=json.loads(row["plan"]),
        plan_hash=row["plan_hash"],
        status=RunStatus(row["status"]),
        reason=row["reason"],
        total_items=row["total_items"],
        created=row["created"],
        started=row["started"],
        finished=row["finished"],
        versions=json.loads(row["versions"] or "{}"),
        pid=row["pid"],
        name=row["name"],
    )
