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
be replayed as a model (`replay/items.csv`, see `lab.replay`). After those come, appended so the
columns above keep their places: the sweep point (`shots`, `noise`, `consistent_worlds`), the run
(`RUN_COLUMNS`: the model's label, the run's name and its plan parameters) and one column per
setting parameter (`base`, `digits`, `order`, ...: ints as ints, so `base` sorts 8, 9, 10, 11, 16;
empty where a family has no such parameter).

`items_parquet` writes the same table as Parquet, typed: ints, nullable ints (`Int64`), floats,
bools and text as they are (no spreadsheet escaping).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from lab.results.stats import SUMMARY_COLUMNS
from lab.run.plan import OPTIONAL_DEFAULTS
from lab.run.records import SWEEP_COLUMNS
from lab.run.store import ITEM_COLUMNS, RunRecord
from probes import ProbeError, parse_spec

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
# The run of each item (written when the frame has them): its label, name and plan parameters, typed.
PLAN_DTYPES = {
    "seed": "Int64",
    "temperature": "Float64",
    "max_tokens": "Int64",
    "cot": "boolean",
    "framing": "object",
    "samples": "Int64",
    "rounds": "Int64",
    "n": "Int64",
    "instances": "Int64",
    "check_n": "Int64",
    "identifiable": "boolean",
    "cases_file": "object",
    "check_file": "object",
}
RUN_COLUMNS = ("model_label", "run_name", *PLAN_DTYPES)
_RUN_TEXT_COLUMNS = ("model_label", "run_name", "framing", "cases_file", "check_file")
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


def items_table(items: pd.DataFrame) -> pd.DataFrame:
    """The items file's columns: `ITEM_COLUMNS` in order, then those of `CALL_COLUMNS`, `SWEEP_COLUMNS`
    and `RUN_COLUMNS` the frame has (other columns are left out), then one per setting parameter."""
    _require(items, ITEM_COLUMNS, "item frame")
    appended = [name for name in (*CALL_COLUMNS, *SWEEP_COLUMNS, *RUN_COLUMNS) if name in items.columns]
    table = items[[*ITEM_COLUMNS, *appended]].reset_index(drop=True)
    return pd.concat([table, setting_columns(table, taken=set(table.columns))], axis=1)


def items_csv(items: pd.DataFrame) -> bytes:
    """The items table (`items_table`) as CSV bytes, text cells neutralised."""
    table = items_table(items)
    for name in (*_ITEM_TEXT_COLUMNS, *CALL_COLUMNS, *_RUN_TEXT_COLUMNS):
        if name in table.columns:
            table[name] = _neutralised(table[name])
    return _to_bytes(table)


def items_parquet(items: pd.DataFrame) -> bytes:
    """The items table (`items_table`) as Parquet bytes: every column keeps its type, missing values
    stay missing (nullable ints, bools and floats)."""
    buffer = io.BytesIO()
    items_table(items).to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()


def run_columns(
    items: pd.DataFrame, runs: Mapping[str, RunRecord | None], labels: Mapping[tuple[str, str], str]
) -> pd.DataFrame:
    """`RUN_COLUMNS` for each item, from its run's record and its (run, model) label; a plan stored
    before a parameter existed gives that parameter's default, an item whose run is gone blanks."""
    keys = list(zip(items["run_id"], items["model"], strict=True))
    names = {run_id: run.name if run else None for run_id, run in runs.items()}
    data: dict[str, pd.Series] = {
        "model_label": pd.Series([labels[key] for key in keys], dtype="object"),
        "run_name": pd.Series([names[run_id] for run_id, _ in keys], dtype="object"),
    }
    for name, dtype in PLAN_DTYPES.items():
        values = {
            run_id: run.plan.get(name, OPTIONAL_DEFAULTS.get(name)) if run else None
            for run_id, run in runs.items()
        }
        data[name] = pd.Series([values[run_id] for run_id, _ in keys], dtype=dtype)
    return pd.DataFrame(data, index=items.index)


def setting_columns(frame: pd.DataFrame, *, taken: set[str] | frozenset[str] = frozenset()) -> pd.DataFrame:
    """One column per setting parameter of the frame's `probe` and `setting`, read by the probes' own
    parser: `Int64` for whole numbers, text otherwise, missing where a family lacks the parameter (or is
    no longer installed). A parameter named like a column in `taken` is written `setting_NAME`."""
    parsed: dict[tuple[str, str], dict[str, int | str]] = {}
    for key in zip(frame["probe"], frame["setting"], strict=True):
        if key not in parsed:
            parsed[key] = _setting_params(*key)
    names = list(dict.fromkeys(name for params in parsed.values() for name in params))
    data = {}
    for name in names:
        values = [parsed[key].get(name) for key in zip(frame["probe"], frame["setting"], strict=True)]
        whole = all(isinstance(v, int) for v in values if v is not None)
        column = f"setting_{name}" if name in taken else name
        data[column] = pd.Series(values, dtype="Int64" if whole else "object")
    return pd.DataFrame(data, index=frame.index)


def _setting_params(probe: str, setting: str) -> dict[str, int | str]:
    if not setting:
        return {}
    try:
        settings = parse_spec(f"{probe}:{setting}")
    except ProbeError:  # a custom probe deleted since: its setting stays in the `setting` column
        return {}
    return settings[0].as_dict()


def summary_csv(summary: pd.DataFrame) -> bytes:
    """The summary frame as CSV bytes, columns in `SUMMARY_COLUMNS` order, then one per setting
    parameter (as in `setting_columns`).

    Accuracy, the interval limits and the instance solve rate are rounded to 4 decimals here only;
    the frame keeps full precision. `ci_method` names the interval: `wilson` or `cluster_bootstrap`.
    """
    _require(summary, SUMMARY_COLUMNS, "summary frame")
    table = summary[list(SUMMARY_COLUMNS)].reset_index(drop=True)
    table = pd.concat([table, setting_columns(table, taken=set(SUMMARY_COLUMNS))], axis=1)
    for name in _SUMMARY_TEXT_COLUMNS:
        table[name] = _neutralised(table[name])
    for name in _ROUNDED_COLUMNS:
        table[name] = table[name].astype("float64").round(_DECIMALS)
    return _to_bytes(table)


def summary_text(summary: pd.DataFrame) -> str:
    """The summary as a plain-text table for a terminal: models by their label, figures to 3 decimals, the
    sweep columns only when the runs sweep, blanks for what a row has not."""
    shown = summary.drop(columns="model").rename(columns={"model_label": "model"})
    for column in ("accuracy", "ci_low", "ci_high", "instance_solve_rate"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    for column in ("shots", "noise"):
        if column in shown and shown[column].isna().all():
            shown = shown.drop(columns=column)
        elif column in shown:
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:g}")
    return shown.to_string(index=False)


def write_csv(data: bytes, path: str | os.PathLike[str]) -> Path:
    """Write a file's bytes (CSV or Parquet) to `path` atomically: a temporary file beside it, then a rename.

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
