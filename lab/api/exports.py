"""Typed exports of runs: the items table as Parquet (the CSVs are in `lab.api.results`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lab.run.store import Store


def items_parquet(store: Store, run_ids: Sequence[str]) -> bytes:
    """The items CSV's table as Parquet: the same columns, each with its type (ints, nullable ints,
    bools, floats, text)."""
    from lab.results import export, read

    return export.items_parquet(read.export_frame(store, run_ids))


def export_parquet(store: Store, run_ids: Sequence[str], path: str | Path) -> None:
    from lab.results import export

    export.write_csv(items_parquet(store, run_ids), path)
