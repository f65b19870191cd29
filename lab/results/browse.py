"""What the Inspect page narrows down: the runs' items filtered, searched, sorted and paged in the store.

Every query is SQL with parameters over the items of the chosen runs, with their call (reply, tokens,
latency) and function (extracted code), on a read-only connection of its own; the sort column is one of
`query.SORTS` and paging is LIMIT/OFFSET, so a page reads 50 items, not the runs' 80,000 (a sort or a
search still scans them in the store). `unrecorded_summary` and `item_record` work on the item frame of
`read.items_frame(..., links=True)`.
"""

from __future__ import annotations

import math
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lab.models.replay import NOT_RECORDED, display_label
from lab.results.query import NO_ERROR, STORED_ORDER, ItemQuery, search_terms
from lab.run.store import ITEM_FIELDS, Store
from lab.tasks.modes import MODE_ORDER

# The column each sort of `query.SORTS` but the stored order orders by: SQL, never text from the user.
_ORDER_BY: dict[str, str] = {
    "model": "i.model",
    "probe": "i.probe",
    "setting": "i.setting",
    "mode": "i.mode",
    "instance": "i.instance",
    "case": "i.case_index",
    "input": "i.input",
    "expected": "i.expected",
    "answer": "i.predicted",
    "correct": "i.correct",
    "error": "i.error",
    "prompt tokens": "c.prompt_tokens",
    "completion tokens": "c.completion_tokens",
    "latency": "c.latency",
}
# The item's primary key, the stored order.
KEY_COLUMNS: tuple[str, ...] = ("run_id", "model", "probe", "setting", "mode", "instance", "case_index")
# One row of a page: the item, its call's tokens and latency (NULL without a call), and its links.
PAGE_COLUMNS: tuple[str, ...] = (
    *KEY_COLUMNS,
    "input",
    "expected",
    "predicted",
    "correct",
    "error",
    "prompt_tokens",
    "completion_tokens",
    "latency",
)
_CALL_JOIN = " LEFT JOIN calls AS c ON c.id = i.call_id"
_SELECT = (
    "SELECT i.run_id, i.model, i.probe, i.setting, i.mode, i.instance, i.case_index, i.input, i.expected, "
    "i.predicted, i.correct, i.error, c.prompt_tokens, c.completion_tokens, c.latency, i.rowid "
    "FROM items AS i" + _CALL_JOIN
)


@dataclass(frozen=True)
class ItemPage:
    """One page of the items a query matches (columns `PAGE_COLUMNS`), and where it is."""

    rows: pd.DataFrame
    number: int  # 1-based, clamped to the pages there are
    pages: int
    matching: int  # items the query matches, over all pages


@dataclass(frozen=True)
class Facets:
    """The values present in the runs' items: what the filters offer."""

    runs: tuple[str, ...]  # the runs that hold items
    models: tuple[str, ...]
    probes: tuple[str, ...]
    settings: tuple[str, ...]  # `probe:setting`
    modes: tuple[str, ...]
    errors: tuple[str, ...]  # `NO_ERROR` first when some item has none
    items: int


@contextmanager
def reading(store: Store) -> Iterator[sqlite3.Connection]:
    """A read-only connection of its own to the store's file (the store's is shared with its writers)."""
    uri = f"{store.path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)) as db:
        yield db


def change_marker(store: Store, run_ids: Sequence[str]) -> tuple[int, ...]:
    """Cheap to read, different whenever the runs' items change or any run is named or renamed (a label
    depends on every stored run's name, to keep labels distinct): their item counts and a checksum of the
    names, in two queries."""
    if not run_ids:
        return ()
    marks = ", ".join("?" for _ in run_ids)
    with reading(store) as db:
        counts = dict(
            db.execute(
                f"SELECT run_id, COUNT(*) FROM items WHERE run_id IN ({marks}) GROUP BY run_id",
                tuple(run_ids),
            ).fetchall()
        )
        names = db.execute("SELECT group_concat(id || '=' || COALESCE(name, ''), '|') FROM runs").fetchone()[
            0
        ]
    return (*(counts.get(run_id, 0) for run_id in run_ids), zlib.crc32((names or "").encode()))


def facets(store: Store, run_ids: Sequence[str]) -> Facets:
    """Every model, probe, setting, mode and error category of the runs' items, in one grouped query."""
    if not run_ids:
        return Facets((), (), (), (), (), (), 0)
    marks = ", ".join("?" for _ in run_ids)
    with reading(store) as db:
        rows = db.execute(
            f"SELECT model, probe, setting, mode, error, COUNT(*), run_id FROM items "
            f"WHERE run_id IN ({marks}) GROUP BY run_id, model, probe, setting, mode, error",
            tuple(run_ids),
        ).fetchall()
    modes = {r[3] for r in rows}
    errors = {r[4] for r in rows}
    return Facets(
        runs=tuple(sorted({r[6] for r in rows})),
        models=tuple(sorted({r[0] for r in rows})),
        probes=tuple(sorted({r[1] for r in rows})),
        settings=tuple(sorted({f"{r[1]}:{r[2]}" for r in rows})),
        modes=tuple(m for m in MODE_ORDER if m in modes) + tuple(sorted(modes - set(MODE_ORDER))),
        errors=((NO_ERROR,) if None in errors else ()) + tuple(sorted(e for e in errors if e is not None)),
        items=sum(r[5] for r in rows),
    )


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(query: ItemQuery) -> tuple[str, list[Any]]:
    """The WHERE clause of a query (over `items AS i`) and its parameters.

    A search term is looked for once per reply and once per function of the runs (a code-mode reply
    serves every case of its instance), then matched to the items by id.
    """
    clauses = [f"i.run_id IN ({', '.join('?' for _ in query.run_ids)})"]
    args: list[Any] = list(query.run_ids)
    for column, values in (("i.model", query.models), ("i.probe", query.probes), ("i.mode", query.modes)):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            args += values
    if query.settings:
        clauses.append(f"i.probe || ':' || i.setting IN ({', '.join('?' for _ in query.settings)})")
        args += query.settings
    if query.outcome != "all":
        clauses.append("i.correct = ?")
        args.append(int(query.outcome == "correct"))
    if query.errors:
        named = [e for e in query.errors if e != NO_ERROR]
        either = [f"i.error IN ({', '.join('?' for _ in named)})"] if named else []
        either += ["i.error IS NULL"] if NO_ERROR in query.errors else []
        clauses.append(f"({' OR '.join(either)})")
        args += named
    runs = ", ".join("?" for _ in query.run_ids)
    like = "LIKE ? ESCAPE '\\'"
    for term in search_terms(query.search):
        clauses.append(
            f"(i.input {like} "
            f"OR i.call_id IN (SELECT id FROM calls WHERE run_id IN ({runs}) AND response {like}) "
            f"OR i.function_id IN (SELECT id FROM functions WHERE run_id IN ({runs}) AND code {like}))"
        )
        args += [_like(term), *query.run_ids, _like(term), *query.run_ids, _like(term)]
    return " AND ".join(clauses), args


def count_matching(store: Store, query: ItemQuery) -> int:
    """How many items the query matches (sort and page aside)."""
    if not query.run_ids:
        return 0
    where, args = _where(query)
    with reading(store) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM items AS i WHERE {where}", args).fetchone()[0])


def page_count(rows: int, size: int) -> int:
    if size < 1:
        raise ValueError(f"page size must be at least 1, got {size}")
    return max(1, math.ceil(rows / size))


def item_page(
    store: Store, query: ItemQuery, *, number: int, size: int, matching: int | None = None
) -> ItemPage:
    """Page `number` (1-based, clamped) of `size` items matching `query`, sorted in the store.

    `matching`: the query's `count_matching`, when the caller has it (a new page of the same query).
    """
    total = count_matching(store, query) if matching is None else matching
    pages = page_count(total, size)
    number = min(max(1, number), pages)
    rows: list[tuple[Any, ...]] = []
    if query.run_ids and total:
        where, args = _where(query)
        # The page's items first, reading the calls and functions only where the sort or search needs
        # them; then those items in full. Joining first would look up the call of every skipped item.
        join = _CALL_JOIN if _ORDER_BY.get(query.sort, "").startswith("c.") else ""
        direction = "DESC" if query.descending else "ASC"
        order = ", ".join(f"{column} {direction}" for column in _order(query.sort))
        with reading(store) as db:
            db.execute("BEGIN")  # one snapshot for both reads
            ids = [
                r[0]
                for r in db.execute(
                    f"SELECT i.rowid FROM items AS i{join} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                    [*args, size, (number - 1) * size],
                )
            ]
            found = db.execute(f"{_SELECT} WHERE i.rowid IN ({', '.join('?' for _ in ids)})", ids).fetchall()
            db.execute("COMMIT")
        place = {row_id: n for n, row_id in enumerate(ids)}
        rows = sorted(found, key=lambda row: place[row[-1]])
    return ItemPage(_page_frame(rows), number, pages, total)


def _order(sort: str) -> list[str]:
    """The ORDER BY columns of a sort: the stored order is the primary key (its index); any other sort
    breaks ties by rowid, a short total order, so pages neither overlap nor skip an item."""
    if sort == STORED_ORDER:
        return [f"i.{c}" for c in KEY_COLUMNS]
    return [_ORDER_BY[sort], "i.rowid"]


def _page_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame([row[: len(PAGE_COLUMNS)] for row in rows], columns=list(PAGE_COLUMNS))
    frame = frame.astype({"instance": "int64", "case_index": "int64", "correct": "bool"})
    for name in ("prompt_tokens", "completion_tokens"):
        frame[name] = pd.array(frame[name].tolist(), dtype="Int64")
    frame["latency"] = pd.array(frame["latency"].tolist(), dtype="Float64")
    for name in ("predicted", "error"):
        frame[name] = frame[name].astype("object").where(frame[name].notna(), None)
    return frame


def item_key(row: pd.Series | dict[str, Any]) -> str:
    """An item's primary key as one line of text, the same after a reload (for a link).

    The model goes last: it is the one part that may hold any character.
    """
    parts = [row["run_id"], row["probe"], row["mode"], row["instance"], row["case_index"], row["setting"]]
    return "|".join(str(p) for p in parts) + "|" + str(row["model"])


def parse_item_key(key: str) -> dict[str, Any]:
    """The primary key `item_key` wrote; raises ValueError naming a malformed key."""
    parts = key.split("|", 6)
    if len(parts) != 7 or not parts[3].isdigit() or not parts[4].isdigit():
        raise ValueError(
            f"item key {key!r} is not run|probe|mode|instance|case|setting|model; "
            "open the item from the table instead"
        )
    run_id, probe, mode, instance, case, setting, model = parts
    return {
        "run_id": run_id,
        "model": model,
        "probe": probe,
        "setting": setting,
        "mode": mode,
        "instance": int(instance),
        "case_index": int(case),
    }


def find_item(store: Store, key: str) -> dict[str, Any] | None:
    """The stored item (every field, as `Store.items` gives it) under a key of `item_key`; None if gone."""
    wanted = parse_item_key(key)
    with reading(store) as db:
        db.row_factory = sqlite3.Row
        row = db.execute(
            f"SELECT {', '.join(ITEM_FIELDS)} FROM items WHERE "
            + " AND ".join(f"{c} = ?" for c in KEY_COLUMNS),
            [wanted[c] for c in KEY_COLUMNS],
        ).fetchone()
    return dict(row) if row is not None else None


def unrecorded_summary(frame: pd.DataFrame) -> str | None:
    """Which replayed prompts had no recording, e.g. `solverlearner: 1,000 items (gpt-4-0314 (recorded))`.

    Those items count as wrong; a reader of the charts should know they are not the model's answers.
    """
    missing = frame[frame["error"] == NOT_RECORDED]
    if missing.empty:
        return None
    parts = [
        f"{mode}: {len(rows):,} items ({', '.join(sorted({display_label(m) for m in rows['model']}))})"
        for mode, rows in missing.groupby("mode", sort=False)
    ]
    return "; ".join(parts)


def item_record(row: pd.Series) -> dict[str, Any]:
    """One row as plain Python values (missing ids as None), the shape `detail.item_detail` takes."""
    record: dict[str, Any] = {}
    for name, value in row.items():
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            record[str(name)] = None
        elif hasattr(value, "item"):
            record[str(name)] = value.item()
        else:
            record[str(name)] = value
    return record
