"""Pieces several pages draw: status badges, a plan in one line, the summary table, the run picker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from lab import api
from ui import data

if TYPE_CHECKING:
    import pandas as pd

STATUS_BADGES = {
    "running": ":blue-badge[running]",
    "finished": ":green-badge[finished]",
    "failed": ":red-badge[failed]",
    "stopped": ":orange-badge[stopped]",
    "interrupted": ":orange-badge[interrupted]",
    "incomplete": ":orange-badge[incomplete]",
    "pending": ":gray-badge[not started]",
}


def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, status)


def plan_text(plan: dict[str, Any]) -> str:
    return (
        f"{', '.join(m['name'] for m in plan['models'])} · {', '.join(plan['probes'])} · "
        f"{', '.join(plan['modes'])} · {plan['n']} held-out cases, {plan['shots']} shots, "
        f"{plan['instances']} instance(s), seed {plan['seed']}, temperature {plan['temperature']}"
    )


def percent_columns(*names: str) -> dict[str, Any]:
    return {name: st.column_config.NumberColumn(name, format="percent") for name in names}


def summary_table(summary: pd.DataFrame, key: str) -> None:
    st.dataframe(
        summary,
        hide_index=True,
        key=key,
        column_config={
            "default_world": st.column_config.CheckboxColumn("default world"),
            "n": st.column_config.NumberColumn("items", help="held-out items scored"),
            "correct": st.column_config.NumberColumn("correct"),
            "accuracy": st.column_config.NumberColumn("accuracy", format="percent"),
            "ci_low": st.column_config.NumberColumn("95% low", format="percent"),
            "ci_high": st.column_config.NumberColumn("95% high", format="percent"),
            "truncated": st.column_config.NumberColumn(
                "cut at token cap",
                help="replies stopped at max_tokens without a readable answer; scored wrong",
            ),
        },
    )


def run_labels(runs: pd.DataFrame) -> dict[str, str]:
    """Each run's label, status and size, then its id (which the CLI takes) unless the label holds it, so
    typing either finds the run."""
    return {
        row.run_id: f"{row.label} · {row.status} · {row.items} items"
        + ("" if row.run_id in row.label else f" · {row.run_id}")
        for row in runs.itertuples()
    }


def run_picker(runs: pd.DataFrame, label: str) -> tuple[str, ...]:
    """Runs to show (Results and Inspect share them): the watched run, else the latest one with items."""
    options = list(runs["run_id"])
    if "runs" in st.session_state:
        st.session_state["runs"] = [r for r in st.session_state["runs"] if r in options]
    else:
        scored = list(runs.loc[~runs["items"].str.startswith("0/"), "run_id"])
        watched = st.session_state.get("watch_run")
        st.session_state["runs"] = [watched] if watched in scored else scored[:1]
    chosen = st.multiselect(
        label,
        options,
        key="runs",
        format_func=run_labels(runs).get,
        placeholder="Choose one or more runs",
        persist_state="session",
        help="Several runs compare models, or runs of one model (each run keeps its own label: its name, "
        "else model - date - short id; name a run on the History page).",
    )
    return tuple(chosen)


def pick_runs() -> tuple[pd.DataFrame, tuple[str, ...], tuple[int, ...]] | None:
    """The run selection shared by Results and Inspect, with its change marker; None when there is none."""
    runs = api.runs_frame(data.store())
    if runs.empty:
        st.info("No runs yet: start one on the Run page.")
        return None
    run_ids = run_picker(runs, "Runs")
    if not run_ids:
        st.info("Choose at least one run.")
        return None
    return runs, run_ids, api.change_marker(data.store(), run_ids)
