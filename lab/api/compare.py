"""Comparing two sides item by item, and the self-contained report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lab.api.results import browse_items, result_figures, result_set
from lab.run.store import Store

if TYPE_CHECKING:
    import pandas as pd

    from lab.results.compare import CompareBy, PairedResult


def compare_choices(items: pd.DataFrame, kind: str) -> list[str]:
    """The values side A or B can take for `kind` (run ids, models or modes present in `items`)."""
    from lab.results import compare

    return compare.side_choices(items, _compare_by(kind))


def compare_items(items: pd.DataFrame, *, kind: str, a: str, b: str) -> PairedResult:
    """Side A against side B matched case by case; raises ValueError naming a bad kind or side."""
    from lab.results import compare

    return compare.compare(items, compare.Comparison(_compare_by(kind), a, b))


def _compare_by(kind: str) -> CompareBy:
    from lab.results import compare

    try:
        return compare.CompareBy[kind.upper()]
    except KeyError:
        kinds = ", ".join(by.name.lower() for by in compare.CompareBy)
        raise ValueError(f"cannot compare {kind!r}: choose one of {kinds}") from None


def pair_label(row: pd.Series) -> str:
    """One row of `compare_items(...).pairs` in a line: outcome, setting, mode, instance, case, input."""
    from lab.results import compare

    return compare.pair_label(row)


def pair_id(row: pd.Series, kind: str) -> str:
    """One pair's key as text, the same after a reload (for a link)."""
    from lab.results import compare

    return compare.pair_id(row, _compare_by(kind))


def report_html(store: Store, run_ids: Sequence[str], *, title: str | None = None) -> str:
    """One self-contained HTML page: summary matrix, charts and every item with its reply and code."""
    from lab.results import report

    items = browse_items(store, run_ids)
    tables = result_set(store, run_ids).tables
    replies = {
        call_id: reply for call_id, (_, reply) in store.call_texts(run_ids).items() if reply is not None
    }
    functions = (store.function(int(i)) for i in items["function_id"].dropna().unique())
    codes = {f["id"]: f["code"] for f in functions if f and f["code"]}
    return report.report_html(
        report.ReportInput(
            title=title or f"SolverLab report: {', '.join(run_ids)}",
            summary=tables.summary,
            figures=result_figures(tables),
            items=items,
            replies=replies,
            codes=codes,
        )
    )
