"""What the app narrows down: the items of `read.items_frame(..., links=True)`, filtered and paged.

Pure pandas; no UI. The app caches the item frame per run selection and `change_marker`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

import pandas as pd

from lab.models.replay import NOT_RECORDED, display_label
from lab.run.store import Store

NO_ERROR = "no error"
OUTCOMES: tuple[str, ...] = ("all", "correct", "wrong")


def change_marker(store: Store, run_ids: Sequence[str]) -> tuple[int, ...]:
    """Cheap to read, different whenever the runs' items change: their item counts."""
    return tuple(store.totals(run_id).items for run_id in run_ids)


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


def setting_specs(frame: pd.DataFrame) -> pd.Series:
    """`probe:setting` per row, e.g. `arithmetic:base=8,digits=2`."""
    return frame["probe"] + ":" + frame["setting"]


def error_categories(frame: pd.DataFrame) -> list[str]:
    """The error categories present (`unparsed`, `no_code`, `runtime_error`, ...), `NO_ERROR` first."""
    errors = frame["error"]
    categories = sorted({str(e) for e in errors.dropna()})
    return ([NO_ERROR] if errors.isna().any() else []) + categories


def filter_items(
    frame: pd.DataFrame,
    *,
    models: Collection[str] = (),
    probes: Collection[str] = (),
    settings: Collection[str] = (),
    modes: Collection[str] = (),
    outcome: str = "all",
    errors: Collection[str] = (),
) -> pd.DataFrame:
    """Rows matching every filter given; an empty collection means no filter on that column.

    `settings` holds `probe:setting` specs; `outcome` is one of `OUTCOMES`; `errors` holds error
    categories, `NO_ERROR` for items without one.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    keep = pd.Series(True, index=frame.index)
    if models:
        keep &= frame["model"].isin(list(models))
    if probes:
        keep &= frame["probe"].isin(list(probes))
    if settings:
        keep &= setting_specs(frame).isin(list(settings))
    if modes:
        keep &= frame["mode"].isin(list(modes))
    if outcome != "all":
        keep &= frame["correct"] == (outcome == "correct")
    if errors:
        wanted = set(errors)
        keep &= frame["error"].map(lambda e: (NO_ERROR if e is None or e != e else str(e)) in wanted)
    return frame[keep]


def page_count(rows: int, size: int) -> int:
    if size < 1:
        raise ValueError(f"page size must be at least 1, got {size}")
    return max(1, math.ceil(rows / size))


def page(frame: pd.DataFrame, number: int, size: int) -> pd.DataFrame:
    """Rows of page `number` (1-based, clamped to the pages there are)."""
    number = min(max(1, number), page_count(len(frame), size))
    return frame.iloc[(number - 1) * size : number * size]


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
