"""Cached reads: one store per database file, and queries keyed by the runs and a cheap change marker.

Every loader takes the database path, the run ids and `api.change_marker` of those runs, so a cached
table is reused until an item of the runs is scored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from lab import api

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


@st.cache_resource(show_spinner=False)
def open_store(path: str) -> api.Store:
    return api.Store(path)


def db_path() -> str:
    return str(api.default_db_path())


def store() -> api.Store:
    return open_store(db_path())


def install_custom_probes() -> list[str]:
    """Make the store's saved custom probes families (every run: another session may have saved one)."""
    return api.install_saved_probes(store())


@st.cache_data(show_spinner="Reading items…", max_entries=6)
def load_items(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> pd.DataFrame:
    return api.browse_items(open_store(db), run_ids)


# Kept as they are (no copy, no pickling): a rerun on the same runs reads them in microseconds. Nothing
# that draws them changes them.
@st.cache_resource(show_spinner="Computing the summary…", max_entries=16)
def load_results(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> api.ResultSet:
    """The tables of the runs and the note on unrecorded replays (one narrow read of the items).

    Raises ValueError for items the statistics refuse."""
    return api.result_set(open_store(db), run_ids)


def load_tables(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> api.ResultTables:
    """Raises ValueError for items the statistics refuse."""
    return load_results(db, run_ids, marker).tables


@st.cache_resource(show_spinner=False, max_entries=16)
def load_overview(
    db: str,
    run_ids: tuple[str, ...],
    marker: tuple[int, ...],
    view: tuple[tuple[str, ...], tuple[str, ...], str],
) -> go.Figure:
    """The overview matrix of the runs; `view`: the modes and probes shown (empty: all) and the row order."""
    modes, probes, sort = view
    summary = load_tables(db, run_ids, marker).summary
    shown = summary[
        summary["mode"].isin(modes or summary["mode"]) & summary["probe"].isin(probes or summary["probe"])
    ]
    return api.overview_figure(shown, sort=sort)


@st.cache_resource(show_spinner="Drawing the charts…", max_entries=16)
def load_figures(
    db: str, run_ids: tuple[str, ...], marker: tuple[int, ...], labels: tuple[str, ...] | None = None
) -> dict[str, go.Figure]:
    """Every chart of the runs, or only of the rows `labels` names (their `model_label`)."""
    tables = load_tables(db, run_ids, marker)
    return api.result_figures(tables if labels is None else tables.only(labels))


@st.cache_data(show_spinner=False, max_entries=4)
def items_csv(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> bytes:
    return api.items_csv(open_store(db), run_ids)


@st.cache_data(show_spinner=False, max_entries=4)
def charts_html(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> str:
    return api.charts_html(load_figures(db, run_ids, marker), f"SolverLab: {', '.join(run_ids)}")
