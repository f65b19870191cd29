"""The oracle mode on the Results page (success, queries and submissions per setting) and on the Inspect
page (one item's conversation as a timeline). Layout only: the numbers come from `lab.api`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from lab import api
from ui import data

if TYPE_CHECKING:
    import pandas as pd

AVATARS = {
    api.OracleSpeaker.PROMPT: ":material/description:",
    api.OracleSpeaker.MODEL: ":material/smart_toy:",
    api.OracleSpeaker.ORACLE: ":material/visibility:",
}


@st.cache_data(show_spinner="Reading the oracle conversations…", max_entries=8)
def load_summary(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> pd.DataFrame:
    return api.oracle_summary(data.open_store(db), run_ids)


def _with_interval(value: float, low: float, high: float, *, percent: bool) -> str:
    if percent:
        return f"{value:.0%} [{low:.0%}, {high:.0%}]"
    return f"{value:.1f} [{low:.1f}, {high:.1f}]"


def results_section(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> None:
    """The Results page's oracle section; draws nothing when the runs hold no oracle item."""
    summary = load_summary(db, run_ids, marker)
    if summary.empty:
        return
    st.subheader("Oracle: querying the hidden rule")
    st.caption(
        "Per setting: the share of instances whose last submission is right on every held-out case, and "
        "the mean queries and submissions used (of the budget), each with a 95% interval over "
        "instances (Wilson for the success rate, a bootstrap for the means)."
    )
    table = summary.assign(
        success=[
            _with_interval(r.success, r.success_low, r.success_high, percent=True)
            for r in summary.itertuples()
        ],
        queries=[
            f"{_with_interval(r.queries, r.queries_low, r.queries_high, percent=False)} of {r.query_budget}"
            for r in summary.itertuples()
        ],
        submissions=[
            f"{_with_interval(r.submissions, r.submissions_low, r.submissions_high, percent=False)} "
            f"of {r.submission_budget}"
            for r in summary.itertuples()
        ],
    )
    columns = ["model", "probe", "setting", "instances", "success", "queries", "submissions"]
    if table["run_id"].nunique() > 1:
        columns.insert(0, "run_id")
    st.dataframe(table[columns], hide_index=True, key="oracle_summary")


def timeline(detail: api.ItemDetail) -> None:
    """The item's conversation, turn by turn: the opening, each action of the model, each answer."""
    turns = api.oracle_timeline(detail.messages, detail.reply)
    st.markdown("**The conversation with the oracle, turn by turn**")
    if not turns:
        st.caption("No call is recorded for this item.")
        return
    for number, turn in enumerate(turns):
        with st.chat_message(turn.speaker.value, avatar=AVATARS[turn.speaker]):
            st.caption(f"{number} · {turn.speaker.value}: {turn.kind}")
            st.code(turn.text, language="markdown", wrap_lines=True)
