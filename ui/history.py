"""The History page: every run in the store, one run's plan, and what to do with it."""

from __future__ import annotations

import streamlit as st

from lab import api
from ui import data, session
from ui.widgets import plan_text, run_labels, status_badge

HISTORY_COLUMNS = [
    "run_id",
    "status",
    "created",
    "items",
    "accuracy",
    "calls",
    "tokens",
    "cost_usd",
    "models",
    "modes",
    "probes",
    "reason",
]


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


def page() -> None:
    st.title("History")
    if st.session_state.get("deleted"):
        st.success(f"Deleted run {st.session_state.pop('deleted')}.")
    runs = api.runs_frame(data.store())
    if runs.empty:
        st.info("No runs yet: start one on the Run page.")
        return
    st.dataframe(
        runs,
        hide_index=True,
        key="history_table",
        column_order=HISTORY_COLUMNS,
        column_config={
            "accuracy": st.column_config.NumberColumn("accuracy", format="percent"),
            "cost_usd": st.column_config.NumberColumn("cost (USD)", format="dollar"),
            "items": st.column_config.TextColumn("items (scored/planned)"),
        },
    )
    options = list(runs["run_id"])
    if st.session_state.get("history_run") not in options:
        st.session_state.pop("history_run", None)
    run_id = st.selectbox("Run", options, key="history_run", format_func=run_labels(runs).get)
    record = api.get_run(data.store(), run_id)
    reason = f" — {record.reason}" if record.reason else ""
    st.markdown(f"**{run_id}** {status_badge(api.effective_status(record))}{reason}")
    st.caption(plan_text(record.plan))
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
    if actions.button("Delete…", key="history_delete", icon=":material/delete:"):
        st.session_state["confirm_delete"] = run_id
        st.session_state.pop("delete_problem", None)
