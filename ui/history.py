"""The History page: every run in the store, one run's plan, and what to do with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from lab import api
from ui import data, session
from ui.widgets import plan_text, status_badge

if TYPE_CHECKING:
    import pandas as pd

# The table's columns; the accuracy of each mode a run has comes after `items`.
LEADING_COLUMNS = ["label", "run_id", "status", "created", "items"]
TRAILING_COLUMNS = ["calls", "tokens", "cost_usd", "models", "probes", "reason"]


def delete_run(run_id: str) -> None:
    try:
        api.delete_run(data.store(), run_id)
    except api.RunError as exc:
        st.session_state["delete_problem"] = str(exc)
        return
    st.session_state.pop("confirm_delete", None)
    st.session_state["deleted"] = run_id
    if st.session_state.get("watch_run") == run_id:
        st.session_state.pop("watch_run")
        st.query_params.pop("run", None)


def runs_table(runs: pd.DataFrame) -> None:
    """Every run, its label first, with its accuracy per mode (never pooled over modes)."""
    by_mode = api.mode_accuracy(data.store())
    table = runs.join(by_mode, on="run_id")
    modes = list(by_mode.columns)
    st.dataframe(
        table,
        hide_index=True,
        key="history_table",
        column_order=[*LEADING_COLUMNS, *modes, *TRAILING_COLUMNS],
        column_config={
            "label": st.column_config.TextColumn("run", help="its name, else model - date - short id"),
            "cost_usd": st.column_config.NumberColumn("cost (USD)", format="dollar"),
            "items": st.column_config.TextColumn("items (scored/planned)"),
            **{
                mode: st.column_config.NumberColumn(mode, format="percent", help=f"accuracy in {mode}")
                for mode in modes
            },
        },
    )


def save_name(run_id: str) -> None:
    try:
        name = api.rename_run(data.store(), run_id, st.session_state[f"history_name_{run_id}"])
    except api.RunError as exc:
        st.session_state["rename_problem"] = str(exc)
        return
    st.session_state["renamed"] = (
        f"Named run {run_id} {name!r}." if name else f"Run {run_id} has no name now."
    )
    # Set again, so that the run selector shows the run's new label: Streamlit keeps a selectbox's shown
    # text while its value is unchanged, even when format_func now gives another.
    st.session_state["history_run"] = run_id


def name_editor(run_id: str, name: str, label: str) -> None:
    """The run's name: a text input and a Save button (an empty name gives the default label back)."""
    with st.form(f"history_rename_{run_id}", border=False):
        row = st.container(horizontal=True, vertical_alignment="bottom")
        row.text_input(
            "Name",
            value=name,
            key=f"history_name_{run_id}",
            max_chars=api.NAME_LIMIT,
            placeholder=label,
            help="Charts, tables and CSVs show the name instead of model - date - short id; clear it to "
            "go back to that.",
        )
        row.form_submit_button("Save name", on_click=save_name, args=(run_id,))
    if st.session_state.get("renamed"):
        st.success(st.session_state.pop("renamed"))
    if st.session_state.get("rename_problem"):
        st.error(f"Not renamed: {st.session_state.pop('rename_problem')}")


def page() -> None:
    st.title("History")
    if st.session_state.get("deleted"):
        st.success(f"Deleted run {st.session_state.pop('deleted')}.")
    runs = api.runs_frame(data.store())
    if runs.empty:
        st.info("No runs yet: start one on the Run page.")
        return
    runs_table(runs)
    options = list(runs["run_id"])
    if st.session_state.get("history_run") not in options:
        st.session_state.pop("history_run", None)
    session.seed_from_url("history_run", options=options)  # a copied link reopens the same run
    labels = dict(zip(runs["run_id"], runs["label"], strict=True))
    run_id = st.selectbox("Run", options, key="history_run", format_func=lambda r: f"{labels[r]} · {r}")
    session.keep_in_url("history_run", run_id)
    record = api.get_run(data.store(), run_id)
    reason = f" — {record.reason}" if record.reason else ""
    st.markdown(f"**{labels[run_id]}** `{run_id}` {status_badge(api.effective_status(record))}{reason}")
    st.caption(plan_text(record.plan))
    name_editor(run_id, record.name or "", labels[run_id])
    with st.expander("Plan and versions (JSON)"):
        st.json({"plan": record.plan, "versions": record.versions}, expanded=2)
    run_actions(run_id)
    if st.session_state.get("confirm_delete") == run_id:
        items = runs.set_index("run_id").loc[run_id, "items"]
        st.warning(f"Delete run {run_id} with its {items} items and its model calls? This cannot be undone.")
        confirm = st.container(horizontal=True)
        confirm.button(
            "Yes, delete it", key="confirm_delete_yes", type="primary", on_click=delete_run, args=(run_id,)
        )
        confirm.button(
            "Cancel", key="confirm_delete_no", on_click=st.session_state.pop, args=("confirm_delete", None)
        )
    if st.session_state.get("delete_problem"):
        st.error(f"Not deleted: {st.session_state.pop('delete_problem')}")


def run_actions(run_id: str) -> None:
    actions = st.container(horizontal=True)
    actions.button(
        "Follow on the Run page",
        key="history_watch",
        on_click=session.go_to,
        args=("Run",),
        kwargs={"watch_run": run_id},
    )
    actions.button(
        "Open in Results",
        key="history_results",
        on_click=session.go_to,
        args=("Results",),
        kwargs={"runs": [run_id]},
    )
    actions.button(
        "Inspect its items",
        key="history_inspect",
        on_click=session.go_to,
        args=("Inspect",),
        kwargs={"runs": [run_id]},
    )
    actions.download_button(
        "Items as Parquet",
        data=lambda: api.items_parquet(data.store(), [run_id]),
        file_name=f"{run_id}-items.parquet",
        mime="application/vnd.apache.parquet",
        key="history_parquet",
        on_click="ignore",
        help="The items CSV's columns, each keeping its type (ints, bools, floats), for pandas or R",
    )
    if actions.button("Delete…", key="history_delete", icon=":material/delete:"):
        st.session_state["confirm_delete"] = run_id
        st.session_state.pop("delete_problem", None)
