"""The Results page: the charts, tables and downloads of the chosen runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from lab import api
from ui import compare, data, oracle_view, session
from ui.widgets import percent_columns, pick_runs, summary_table

if TYPE_CHECKING:
    import pandas as pd

# Tab title -> (figure title, slug naming its PNG and widget key); the headline chart stands above them.
CHART_TABS = {
    "Against the parameter": ("Accuracy against the counterfactual parameter", "parameter"),
    "Heatmap": ("Accuracy heatmap", "heatmap"),
    "Inductive − deductive": ("Inductive minus deductive", "gap"),
    "Counterfactual drop": ("Counterfactual drop", "drop"),
    "Deductive vs check": ("Deductive vs comprehension check", "ccc"),
    "pass@k": ("pass@k", "passk"),
    "Refinement rounds": ("Accuracy by refinement round", "rounds"),
}


ALL_ROWS = "All rows (one chart row each: long)"
URL_BOUND = session.URL_BOUND


def page() -> None:
    st.title("Results")
    session.seed_from_url("runs", many=True)
    picked = pick_runs()
    if picked is None:
        return
    runs, run_ids, marker = picked
    session.keep_in_url("runs", run_ids)
    if not sum(marker):
        st.info("No item of these runs is scored yet.")
        return
    statuses = runs.set_index("run_id").loc[list(run_ids), "status"]
    if (statuses == "running").any():
        st.info("Still running: these results grow as items arrive (the Run page shows them live).")
        st.button("Refresh", key="refresh_results", icon=":material/refresh:")
    db = data.db_path()
    try:
        results = data.load_results(db, run_ids, marker)
    except ValueError as exc:  # items the statistics refuse, e.g. one setting both default and counterfactual
        st.error(f"Cannot summarise these runs: {exc}")
        return
    if results.unrecorded:
        st.warning(
            f"Prompts with no recorded reply, scored wrong as `not_recorded`: {results.unrecorded}. "
            "Those bars say nothing about the recorded model."
        )
    reproducibility(runs, run_ids)
    tables = results.tables
    if tables.summary["model_label"].nunique() > 1:
        view = overview_filters(tables.summary)
        st.plotly_chart(
            data.load_overview(db, run_ids, marker, view),
            config=api.chart_config("solverlab-overview"),
            key="chart_overview",
        )
        if st.toggle("Detailed charts and the summary table", key="results_details", **URL_BOUND):
            details(db, run_ids, marker, tables, sort=view[2])
    else:  # one run of one model: its detailed charts are the overview
        details(db, run_ids, marker, tables, sort=api.overview_sorts()[0])
    if tables.is_sweep:
        sweep_section(tables, data.load_figures(db, run_ids, marker, ()))
    oracle_view.results_section(db, run_ids, marker)
    downloads(run_ids, marker, tables.summary)


def reproducibility(runs: pd.DataFrame, run_ids: tuple[str, ...]) -> None:
    """Which of the runs a repeat may not reproduce item by item, and why (as each run recorded it)."""
    labels = runs.set_index("run_id")["label"]
    notes: dict[str, list[str]] = {}
    for run_id in run_ids:
        note = api.determinism_note(data.store(), run_id)
        if note:
            notes.setdefault(note, []).append(str(labels.get(run_id, run_id)))
    if not notes:
        return
    count = sum(len(shown) for shown in notes.values())
    with st.expander(f"Reproducibility: {count} of {len(run_ids)} runs may differ item by item on a repeat"):
        for note, shown in notes.items():
            st.markdown(f"- **{', '.join(shown)}**: {note}")


def overview_filters(summary: pd.DataFrame) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """The modes and probes the overview shows (empty: all) and its row order, each in the URL."""
    columns = st.columns([3, 3, 2])
    modes = columns[0].multiselect(
        "Modes",
        [m for m in api.MODE_ORDER if m in set(summary["mode"])],
        key="results_modes",
        placeholder="All modes",
        **URL_BOUND,
    )
    probes = columns[1].multiselect(
        "Probes", sorted(set(summary["probe"])), key="results_probes", placeholder="All probes", **URL_BOUND
    )
    sort = columns[2].segmented_control(
        "Rows by",
        api.overview_sorts(),
        key="results_sort",
        default=api.overview_sorts()[0],
        required=True,
        **URL_BOUND,
    )
    return tuple(modes), tuple(probes), sort


def details(
    db: str, run_ids: tuple[str, ...], marker: tuple[int, ...], tables: api.ResultTables, *, sort: str
) -> None:
    """The detailed per-family charts and the summary table, of one row (the best by default) or all."""
    rows = api.overview_rows(tables.summary, sort=sort)
    chosen = rows[0]
    if len(rows) > 1:
        chosen = st.selectbox("Charts of", [*rows, ALL_ROWS], key="results_detail_row", **URL_BOUND)
    labels = tuple(rows) if chosen == ALL_ROWS else (chosen,)
    shown = tables.only(labels)
    figures = data.load_figures(db, run_ids, marker, labels)
    st.plotly_chart(
        figures["Accuracy per setting"],
        config=api.chart_config("solverlab-accuracy-per-setting"),
        key="chart_headline",
    )
    tabs = st.tabs([*CHART_TABS, "Summary table"])
    for tab, (name, slug) in zip(tabs, CHART_TABS.values(), strict=False):
        with tab:
            st.plotly_chart(figures[name], config=api.chart_config(f"solverlab-{slug}"), key=f"chart_{slug}")
            chart_table(slug, shown)
    with tabs[-1]:
        summary_table(shown.summary, key="summary_table")


def sweep_section(tables: api.ResultTables, figures: dict) -> None:
    """Accuracy per sweep point (shots, noise), Li et al.'s consistency, identifiable vs ambiguous."""
    st.subheader("Sweep")
    st.caption(
        "Each (shots, noise) point is its own row of the summary, measured on the same held-out cases; "
        "intervals as in the summary (cluster bootstrap over instances in code modes, Wilson otherwise)."
    )
    for name, figure in figures.items():
        if name.startswith("Accuracy against the number") or name.startswith("Accuracy against noisy"):
            st.plotly_chart(figure, config=api.chart_config("solverlab-sweep"), key=f"chart_{name}")
    percent = percent_columns("accuracy", "consistency", "ci_low", "ci_high")
    if not tables.consistency.empty:
        st.markdown("**Consistency** (same verdict with and without noisy examples, item by item)")
        st.dataframe(tables.consistency, hide_index=True, key="consistency_table", column_config=percent)
    if not tables.identifiability.empty:
        st.markdown("**Did the examples single out the rule?** (worlds of the family that fit them)")
        st.dataframe(tables.identifiability, hide_index=True, key="identifiable_table", column_config=percent)


def chart_table(slug: str, tables: api.ResultTables) -> None:
    """The table or note under a chart, where it has one."""
    if slug == "gap" and not tables.gaps.empty:
        st.dataframe(
            tables.gaps,
            hide_index=True,
            key="gap_table",
            column_config=percent_columns(
                "inductive_accuracy", "deductive_accuracy", "gap", "ci_low", "ci_high"
            ),
        )
    if slug == "drop" and tables.drop_problem:
        st.warning(f"No drop computed: {tables.drop_problem}")
    if slug == "passk" and not tables.sampled.empty:
        st.dataframe(
            tables.sampled,
            hide_index=True,
            key="passk_table",
            column_config=percent_columns("value", "ci_low", "ci_high"),
        )
    if slug == "rounds" and not tables.refined.empty and tables.refined["round"].max() > 0:
        st.dataframe(
            tables.refined,
            hide_index=True,
            key="rounds_table",
            column_config=percent_columns("accuracy", "ci_low", "ci_high"),
        )


def downloads(run_ids: tuple[str, ...], marker: tuple[int, ...], summary: pd.DataFrame) -> None:
    st.subheader("Downloads")
    db = data.db_path()
    stem = "solverlab-" + "-".join(run_ids)
    buttons = st.container(horizontal=True)
    icon = ":material/download:"
    # The big files are built when their button is pressed (and cached), not on every rerun.
    buttons.download_button(
        "Items CSV",
        data=lambda: data.items_csv(db, run_ids, marker),
        mime="text/csv",
        file_name=f"{stem}-items.csv",
        icon=icon,
        key="download_items",
        on_click="ignore",
    )
    buttons.download_button(
        "Summary CSV",
        data=api.summary_csv(summary),
        mime="text/csv",
        file_name=f"{stem}-summary.csv",
        icon=icon,
        key="download_summary",
        on_click="ignore",
    )
    buttons.download_button(
        "Charts (HTML)",
        data=lambda: data.charts_html(db, run_ids, marker),
        mime="text/html",
        file_name=f"{stem}-charts.html",
        icon=icon,
        key="download_charts",
        on_click="ignore",
    )
    compare.report_download(buttons, run_ids, marker)
    st.caption(
        "A chart as PNG: the camera icon in its toolbar (top right of the chart, on hover). The HTML "
        "file holds every chart, interactive, and opens offline."
    )
