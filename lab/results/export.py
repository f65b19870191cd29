"""CSV exports of the item frame and the summary, safe to open in a spreadsheet.

Format (RFC 4180): UTF-8 without a byte-order mark, comma-separated, a header row, CRLF line ends,
fields quoted where needed. CRLF matters: with it the writer quotes any cell holding a CR or an LF,
so a reply with commas, quotes or line breaks of any kind survives (with `\\n` line ends pandas
leaves a lone CR unquoted and the file splits a row). A missing value (`predicted`/`error` of None,
an interval of NaN) is an empty cell. Booleans are `True`/`False`.

Formula injection. Model replies are untrusted and these files are opened in spreadsheets, which
run a cell that starts with `=` (or `@`, `+`, `-`) as a formula (`=HYPERLINK(...)`,
`-cmd|' /C calc'!A0`). A text cell is prefixed with a single quote `'` when it starts with:
  - `=`, `@`, a tab or a carriage return;
  - `+` or `-` unless the whole cell is a plain decimal number (so `-5`, `+1`, `-0.25`, `1e-3`
    stay as they are: they are legitimate answers and a spreadsheet reads them as numbers);
  - `'` itself, so that the escaping can be undone without ambiguity.
Inputs like `76+14` start with neither and are untouched. `restore_cell` removes the prefix:
`pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)` followed by
`restore_cell` on each text cell gives back the exact strings written (missing values as "").

The items CSV written from a run (`lab.results.read.export_items`) also carries each item's call:
`messages` (the exact chat messages sent, as JSON) and `response` (the raw reply), so the file can
be replayed as a model (`replay/items.csv`, see `lab.replay`).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from lab.results.stats import SUMMARY_COLUMNS
from lab.run.records import SWEEP_COLUMNS
from lab.run.store import ITEM_COLUMNS

_ITEM_TEXT_COLUMNS = (
    "run_id",
    "model",
    "probe",
    "setting",
    "mode",
    "input",
    "expected",
    "predicted",
    "error",
)
CALL_COLUMNS = ("messages", "response")  # written when the item frame has them
_SUMMARY_TEXT_COLUMNS = ("model", "model_label", "probe", "setting", "mode", "ci_method")
_ROUNDED_COLUMNS = ("accuracy", "ci_low", "ci_high", "instance_solve_rate")
_DECIMALS = 4

_ALWAYS_ESCAPED = ("=", "@", "\t", "\r", "'")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(text: str) -> str:
    """The text as written to a CSV cell: prefixed with `'` if a spreadsheet could run it."""
    if text.startswith(_ALWAYS_ESCAPED):
        return "'" + text
    if text.startswith(("+", "-")) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def restore_cell(text: str) -> str:
    """Undo `neutralise_cell`: drop the `'` that it added."""
    if text.startswith("'") and neutralise_cell(text[1:]) == text:
        return text[1:]
    return text


def items_csv(items: pd.DataFrame) -> bytes:
    """The item frame as CSV bytes, columns in `ITEM_COLUMNS` order, then the sweep columns (shots, noise,
    consistent_worlds) and `CALL_COLUMNS` where the frame has them (other columns are left out)."""
    _require(items, ITEM_COLUMNS, "item frame")
    sweep = [name for name in SWEEP_COLUMNS if name in items.columns]
    calls = [name for name in CALL_COLUMNS if name in items.columns]
    table = items[[*ITEM_COLUMNS, *sweep, *calls]].copy()
    for name in (*_ITEM_TEXT_COLUMNS, *calls):
        table[name] = _neutralised(table[name])
    return _to_bytes(table)


def summary_csv(summary: pd.DataFrame) -> bytes:
    """The summary frame as CSV bytes, columns in `SUMMARY_COLUMNS` order.

    Accuracy, the interval limits and the instance solve rate are rounded to 4 decimals here only;
    the frame keeps full precision. `ci_method` names the interval: `wilson` or `cluster_bootstrap`.
    """
    _require(summary, SUMMARY_COLUMNS, "summary frame")
    table = summary[list(SUMMARY_COLUMNS)].copy()
    for name in _SUMMARY_TEXT_COLUMNS:
        table[name] = _neutralised(table[name])
    for name in _ROUNDED_COLUMNS:
        table[name] = table[name].astype("float64").round(_DECIMALS)
    return _to_bytes(table)


def summary_text(summary: pd.DataFrame) -> str:
    """The summary as a plain-text table for a terminal: models by their label, figures to 3 decimals."""
    shown = summary.drop(columns="model").rename(columns={"model_label": "model"})
    for column in ("accuracy", "ci_low", "ci_high", "instance_solve_rate"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    return shown.to_string(index=False)


def write_csv(data: bytes, path: str | os.PathLike[str]) -> Path:
    """Write CSV bytes to `path` atomically (a temporary file beside it, then a rename).

    A crash mid-write leaves either the old file or the new one, never half of one. Returns the
    path written.
    """
    target = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)}")


def _neutralised(column: pd.Series) -> pd.Series:
    values = [
        neutralise_cell(value) if isinstance(value, str) else (None if pd.isna(value) else value)
        for value in column
    ]
    return pd.Series(values, index=column.index, dtype="object")


def _to_bytes(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False, lineterminator="\r\n").encode("utf-8")
