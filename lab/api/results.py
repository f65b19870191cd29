"""Results: frames, tables, figures and downloads, and narrowing a selection down to one item."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lab.results.truncation import TruncationAdvice
from lab.run.store import Store

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from lab.results.browse import Facets, ItemPage
    from lab.results.detail import ItemDetail
    from lab.results.kept import CoreTables
    from lab.results.query import ItemQuery


@dataclass(frozen=True)
class ResultTables:
    """The Results page's tables for a run selection."""

    summary: pd.DataFrame  # accuracy per model, setting and mode, with its interval
    gaps: pd.DataFrame  # inductive minus deductive
    drops: pd.DataFrame  # counterfactual drop (empty when it cannot be computed)
    drop_problem: str | None  # why there is no drop, e.g. two default worlds in one family
    sampled: pd.DataFrame  # first sample, best fit and pass@k (code modes)
    refined: pd.DataFrame  # accuracy by refinement round (code modes)
    swept: pd.DataFrame  # the summary's rows of swept cells (`sweeps.swept_rows`); empty without a sweep
    consistency: pd.DataFrame  # Li et al.'s consistency per noisy point; empty without noise
    identifiability: pd.DataFrame  # accuracy on identifiable vs ambiguous example sets

    @property
    def is_sweep(self) -> bool:
        return not self.swept.empty

    def only(self, labels: Collection[str]) -> ResultTables:
        """The tables of the models (or runs) named by `model_label` in `labels`."""
        kept = list(labels)

        def narrow(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["model_label"].isin(kept)] if "model_label" in frame else frame

        return dataclasses.replace(
            self,
            summary=narrow(self.summary),
            gaps=narrow(self.gaps),
            drops=narrow(self.drops),
            sampled=narrow(self.sampled),
            refined=narrow(self.refined),
            swept=narrow(self.swept),
            consistency=narrow(self.consistency),
            identifiability=narrow(self.identifiability),
        )


@dataclass(frozen=True)
class ResultSet:
    """What the Results page shows of a run selection: the tables, and the note on unrecorded replays."""

    tables: ResultTables
    unrecorded: str | None  # `unrecorded_summary` of the items


def change_marker(store: Store, run_ids: Sequence[str]) -> tuple[int, ...]:
    """Cheap to read, different whenever the runs' items change."""
    from lab.results import browse

    return browse.change_marker(store, run_ids)


def browse_items(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """The runs' items with their ids, each run labelled by its name or "model - date - short id"."""
    from lab.results import read

    return read.with_model_labels(read.items_frame(store, run_ids, links=True), store)


def result_items(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """The runs' items as the statistics read them (no texts, no links), models labelled as in
    `browse_items`: one narrow query, several times faster than `browse_items`."""
    from lab.results import read

    return read.with_model_labels(read.stats_items(store, run_ids), store)


def result_set(store: Store, run_ids: Sequence[str]) -> ResultSet:
    """The tables of the runs and the note on unrecorded replays.

    The summary, gaps, drops, pass@k and rounds of settled runs come from what the store keeps of them
    (`lab.results.kept`), computed once from their items and functions; the sweep tables read only the
    items with a noise level or a count of worlds. With unrecorded replays, every table is computed from
    every item, as their cells are left out across runs. Raises ValueError for items the statistics refuse
    (one setting both default and counterfactual)."""
    from lab.results import kept, read

    marks = kept.run_marks(store, run_ids)
    if any(mark.unrecorded for mark in marks.values()):  # their cells are filtered across runs
        items = result_items(store, run_ids)
        return ResultSet(result_tables(items, functions_frame(store, run_ids)), unrecorded_summary(items))
    core = kept.selection_tables(store, run_ids, marks)

    def having(column: str) -> pd.DataFrame:
        return read.with_model_labels(read.stats_items(store, run_ids, present=column), store)

    return ResultSet(_completed(core, having), None)


def overview_sorts() -> tuple[str, ...]:
    """How the overview can order its rows: by mean accuracy (best first), or by name."""
    from lab.results import overview

    return overview.SORTS


def overview_rows(summary: pd.DataFrame, *, sort: str = "mean accuracy") -> list[str]:
    """The summary's `model_label`s in the overview's order (one of `overview_sorts`)."""
    from lab.results import overview

    return overview.row_order(summary, sort=sort)


def overview_figure(summary: pd.DataFrame, *, sort: str = "mean accuracy") -> go.Figure:
    """Per mode, a runs x settings matrix of accuracy (values in cells, the interval on hover), sorted."""
    from lab.results import overview

    return overview.overview_matrix(summary, sort=sort)


def functions_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """Every function of the code modes (all samples and rounds), models labelled as in `browse_items`."""
    from lab.results import read

    return read.with_model_labels(read.functions_frame(store, run_ids), store)


UNRECORDED_CELL_NOTE = "cells made mostly of them are left out of the charts and tables"


def unrecorded_cells(items: pd.DataFrame) -> pd.Series:
    """Per item, whether its cell (model, setting, mode) is mostly `not_recorded`: replayed prompts the
    recordings do not hold, whose score says nothing about the recorded model."""
    from lab.models.replay import NOT_RECORDED

    unrecorded = items["error"] == NOT_RECORDED
    cells = unrecorded.groupby([items["model"], items["probe"], items["setting"], items["mode"]])
    return cells.transform("mean") > 0.5


def result_tables(items: pd.DataFrame, functions: pd.DataFrame) -> ResultTables:
    """Raises ValueError for items the statistics refuse (one setting both default and counterfactual).

    Cells made mostly of unrecorded replays are left out (`unrecorded_cells`; `unrecorded_summary` says so).
    """
    from lab.results import kept

    if not items.empty:
        items = items[~unrecorded_cells(items)]

    def having(column: str) -> pd.DataFrame:
        return items.dropna(subset=[column]) if column in items else items.iloc[0:0]

    return _completed(kept.core_tables(items, functions), having)


def _completed(core: CoreTables, having: Callable[[str], pd.DataFrame]) -> ResultTables:
    """The tables of `core` and those of the items `having(column)` gives: those with a value in that
    sweep column, in the items' order (the sweep tables read only them)."""
    import pandas as pd

    from lab.results import sweeps

    swept = sweeps.swept_rows(core.summary)
    noisy = not swept.empty and bool((swept["noise"].fillna(0) > 0).any())
    counted = having("consistent_worlds")
    return ResultTables(
        summary=core.summary,
        gaps=core.gaps,
        drops=core.drops,
        drop_problem=core.drop_problem,
        sampled=core.sampled,
        refined=core.refined,
        swept=swept,
        consistency=sweeps.consistency(having("noise")) if noisy else pd.DataFrame(),
        identifiability=sweeps.identifiability(counted) if not counted.empty else pd.DataFrame(),
    )


def result_figures(tables: ResultTables) -> dict[str, go.Figure]:
    """Every chart of the Results page, by title."""
    from lab.results import charts, curves, sweep_charts, sweeps

    single = sweeps.at_one_point(tables.summary)  # the charts by setting draw one bar per cell
    sweep: dict[str, go.Figure] = {}
    if tables.swept["shots"].nunique() > 1:
        sweep["Accuracy against the number of shown examples"] = sweep_charts.shot_curve(tables.swept)
    if tables.swept["noise"].nunique() > 1:
        sweep["Accuracy against noisy examples"] = sweep_charts.noise_curve(tables.swept)
    return sweep | {
        "Accuracy per setting": charts.accuracy_by_setting(single),
        "Accuracy against the counterfactual parameter": charts.accuracy_by_parameter(single),
        "Accuracy heatmap": charts.accuracy_heatmap(single),
        "Inductive minus deductive": charts.gap_chart(
            sweeps.at_one_point(tables.gaps, within=("setting", "comparison"))
        ),
        "Counterfactual drop": charts.drop_chart(sweeps.at_one_point(tables.drops, within=("mode",))),
        "Deductive vs comprehension check": charts.comprehension_chart(single),
        "pass@k": curves.pass_at_k_chart(tables.sampled),
        "Accuracy by refinement round": curves.rounds_chart(tables.refined),
    }


def chart_config(file_name: str) -> dict[str, object]:
    """Plotly's toolbar config: its camera button saves the chart as `file_name`.png."""
    from lab.results import charts

    return charts.chart_config(file_name)


def charts_html(figures: Mapping[str, go.Figure], title: str) -> str:
    """One self-contained HTML page holding the figures; it opens offline."""
    from lab.results import charts

    return charts.figures_html(figures, title)


def unrecorded_summary(items: pd.DataFrame) -> str | None:
    """Which replayed prompts had no recording (scored wrong), per mode; None when there are none."""
    from lab.results import browse

    summary = browse.unrecorded_summary(items)
    if summary is None or not unrecorded_cells(items).any():
        return summary
    return f"{summary}; {UNRECORDED_CELL_NOTE}"


def summary_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """`stats.summary` of the runs' items, every cell (unrecorded replays included).

    Without unrecorded replays it comes from what the store keeps of settled runs (`lab.results.kept`),
    and what it computes of them is kept: the summary a run prints when it ends (`python -m lab run`,
    which the app's background runs are) keeps the run's tables for the Results page's first visit."""
    from lab.results import kept, read

    marks = kept.run_marks(store, run_ids)
    if any(mark.unrecorded for mark in marks.values()):
        return read.summary_frame(store, run_ids)
    return kept.selection_tables(store, run_ids, marks).summary


def truncation_advice(store: Store, run_id: str) -> TruncationAdvice | None:
    """How many of the run's replies stopped at its token cap, and a larger cap to try; None if none did.

    Raises ValueError for a run the store does not hold.
    """
    from lab.results import read, truncation
    from lab.run.plan import RunPlan

    run = store.get_run(run_id)
    if run is None:
        raise ValueError(f"no run {run_id!r} in this database; `python -m lab list` shows its runs")
    max_tokens = int(run.plan.get("max_tokens", RunPlan.max_tokens))
    return truncation.advice(run_id, read.items_frame(store, [run_id], links=True), max_tokens)


def format_summary(summary: pd.DataFrame) -> str:
    """The summary as a plain-text table for a terminal."""
    from lab.results import export

    return export.summary_text(summary)


def items_csv(store: Store, run_ids: Sequence[str]) -> bytes:
    """The items CSV: one row per item with its call's messages and reply, replayable."""
    from lab.results import export, read

    return export.items_csv(read.export_frame(store, run_ids))


def summary_csv(summary: pd.DataFrame) -> bytes:
    from lab.results import export

    return export.summary_csv(summary)


def export_items(store: Store, run_ids: Sequence[str], path: str | Path) -> None:
    from lab.results import read

    read.export_items(store, run_ids, path)


def export_summary(store: Store, run_ids: Sequence[str], path: str | Path) -> None:
    from lab.results import read

    read.export_summary(store, run_ids, path)


def outcome_choices() -> tuple[str, ...]:
    """What an `ItemQuery` takes as `outcome`: all, correct, wrong."""
    from lab.results import query

    return query.OUTCOMES


def item_facets(store: Store, run_ids: Sequence[str]) -> Facets:
    """The models, probes, settings, modes and error categories of the runs' items: what to filter on."""
    from lab.results import browse

    return browse.facets(store, run_ids)


def count_items(store: Store, query: ItemQuery) -> int:
    """How many items of the query's runs match it, counted in the store."""
    from lab.results import browse

    return browse.count_matching(store, query)


def item_page(
    store: Store, query: ItemQuery, *, number: int, size: int, matching: int | None = None
) -> ItemPage:
    """Page `number` (1-based, clamped) of the items matching `query`, filtered, searched, sorted and
    paged in the store; `matching` is `count_items(store, query)` when the caller has it."""
    from lab.results import browse

    return browse.item_page(store, query, number=number, size=size, matching=matching)


def item_key(row: pd.Series) -> str:
    """A row of `item_page(...).rows` as one line of text that `open_item` finds again (for a link)."""
    from lab.results import browse

    return browse.item_key(row)


def open_item(store: Store, key: str) -> ItemDetail | None:
    """Everything behind the item under `key` (from `item_key`); None when no such item is stored.
    Raises ValueError for a key `item_key` did not write."""
    from lab.results import browse, detail

    found = browse.find_item(store, key)
    return None if found is None else detail.item_detail(store, found)


def item_detail(store: Store, row: pd.Series) -> ItemDetail:
    """Everything behind one row of `browse_items`: the exact prompt, the raw reply, the function's cases."""
    from lab.results import browse, detail

    return detail.item_detail(store, browse.item_record(row))


def candidate_table(detail: ItemDetail) -> pd.DataFrame:
    """One row per sample and refinement round of the item's unit (code modes)."""
    from lab.results.detail import candidate_table as table

    return table(detail)
