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


@st.cache_data(show_spinner="Computing the summary…", max_entries=32)
def load_tables(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> api.ResultTables:
    """Raises ValueError for items the statistics refuse."""
    functions = api.functions_frame(open_store(db), run_ids)
    return api.result_tables(load_items(db, run_ids, marker), functions)


@st.cache_resource(show_spinner=False, max_entries=32)
def load_figures(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> dict[str, go.Figure]:
    return api.result_figures(load_tables(db, run_ids, marker))


@st.cache_data(show_spinner=False, max_entries=4)
def items_csv(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> bytes:
    return api.items_csv(open_store(db), run_ids)


@st.cache_data(show_spinner=False, max_entries=4)
def charts_html(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> str:
    return api.charts_html(load_figures(db, run_ids, marker), f"SolverLab: {', '.join(run_ids)}")
