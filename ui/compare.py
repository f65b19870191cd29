"""The Compare page: two runs, two models or two modes, item by item, and one item side by side.

`lab.api.compare_items` pairs the items and tests them; this page draws the paired table, the flipped
items and both sides of one pair. Every choice is bound to a URL parameter named as its widget key
(`compare_by`, `compare_runs`, `compare_a_run`, ..., `compare_pair`), so a copied link reopens the
same comparison.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from lab import api
from ui import data

KINDS = {"runs": "Two runs", "models": "Two models", "modes": "Two modes"}
ALL_MODES = "all modes"
PAIRS_SHOWN = 2_000  # rows of the pairs table and choices of the item picker
PAIR_COLUMNS = {
    "outcome": "outcome",
    "probe": "probe",
    "setting": "setting",
    "mode_a": "mode A",
    "mode_b": "mode B",
    "instance": "instance",
    "case_index": "case",
    "input_a": "input",
    "expected_a": "expected",
    "predicted_a": "answer A",
    "predicted_b": "answer B",
}
# Every choice is bound to a URL parameter named as its key, so a copied link reopens the comparison.
URL = {"bind": "query-params"}


def page() -> None:
    st.title("Compare")
    st.caption(
        "Two runs, two models or two modes on the same cases: which items flipped, and is the "
        "difference more than chance? Pairs are matched on probe, setting, instance and case."
    )
    runs = api.runs_frame(data.store())
    if runs.empty:
        st.info("No runs yet: start one on the Run page.")
        return
    kind = st.segmented_control(
        "Compare", list(KINDS), key="compare_by", format_func=KINDS.get, default="runs", required=True, **URL
    )
    picked = pick_sides(runs, kind)
    if picked is None:
        return
    run_ids, a, b = picked
    items = data.load_items(data.db_path(), run_ids, api.change_marker(data.store(), run_ids))
    if kind != "modes":
        modes = [m for m in api.MODE_ORDER if m in set(items["mode"])]
        mode = st.selectbox("Mode", [ALL_MODES, *modes], key="compare_mode", **URL)
        items = items if mode == ALL_MODES else items[items["mode"] == mode]
    try:
        result = api.compare_items(items, kind=kind, a=a, b=b)
    except ValueError as exc:
        st.error(f"Cannot compare these: {exc}")
        return
    paired_table(result)
    flipped = st.toggle(
        "Only the flipped items (one side right, the other wrong)", key="compare_flipped", **URL
    )
    shown = result.flipped if flipped else result.pairs
    pair = pairs_view(shown, kind)
    if pair is not None:
        side_by_side(items, shown.loc[pair], a=a, b=b)


def pick_sides(runs: pd.DataFrame, kind: str) -> tuple[tuple[str, ...], str, str] | None:
    """The runs to read and the two sides; None (with a note) until two sides are chosen."""
    # Stable labels: a bound widget's URL parameter holds the label, so no status or count in it.
    labels = {row.run_id: f"{row.run_id} · {row.models}" for row in runs.itertuples()}
    scored = list(runs.loc[~runs["items"].str.startswith("0/"), "run_id"])
    if kind == "runs":
        if len(scored) < 2:
            st.info("Two runs with scored items are needed to compare runs.")
            return None
        columns = st.columns(2)
        a = columns[0].selectbox("Run A", scored, index=0, key="compare_a_run", format_func=labels.get, **URL)
        b = columns[1].selectbox("Run B", scored, index=1, key="compare_b_run", format_func=labels.get, **URL)
        return (a, b), a, b
    run_ids = tuple(
        st.multiselect(
            "Runs",
            scored,
            default=scored[:1],
            key="compare_runs",
            format_func=labels.get,
            placeholder="Choose one or more runs",
            **URL,
        )
    )
    if not run_ids:
        st.info("Choose at least one run.")
        return None
    items = data.load_items(data.db_path(), run_ids, api.change_marker(data.store(), run_ids))
    choices = api.compare_choices(items, kind)
    if len(choices) < 2:
        st.info(f"These runs hold only one of the {kind} ({', '.join(choices)}): add a run, or compare runs.")
        return None
    columns = st.columns(2)
    a = columns[0].selectbox("A", choices, index=0, key=f"compare_a_{kind}", **URL)
    b = columns[1].selectbox("B", choices, index=1, key=f"compare_b_{kind}", **URL)
    return run_ids, a, b


def paired_table(result: api.PairedResult) -> None:
    st.subheader("Paired table")
    table = pd.DataFrame(
        {"B right": [result.both_right, result.b_only], "B wrong": [result.a_only, result.both_wrong]},
        index=["A right", "A wrong"],
    )
    columns = st.columns([2, 3])
    columns[0].dataframe(table, key="compare_counts")
    metrics = columns[1].container(horizontal=True)
    metrics.metric("Pairs", f"{result.n:,}")
    metrics.metric("A right", _percent(result.accuracy_a))
    metrics.metric("B right", _percent(result.accuracy_b))
    interval = (
        ""
        if math.isnan(result.ci_low)
        else f"95% interval {_points(result.ci_low)} to {_points(result.ci_high)}"
    )
    metrics.metric("A − B", _points(result.difference), help=f"{interval} (Newcombe's paired score interval)")
    metrics.metric(
        "McNemar p (exact)",
        "n/a" if math.isnan(result.p_value) else f"{result.p_value:.3g}",
        help="Exact binomial test of A only against B only: small when one side wins more flips than chance.",
    )
    st.caption(
        f"A − B: {_points(result.difference)}, {interval}. "
        f"{result.a_only:,} A only, {result.b_only:,} B only. "
        + (
            f"Items without a partner: {result.unmatched_a:,} of A, {result.unmatched_b:,} of B."
            if result.unmatched_a or result.unmatched_b
            else "Every item has a partner."
        )
    )


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1%}"


def _points(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:+.1f} pts"


def pairs_view(pairs: pd.DataFrame, kind: str) -> object | None:
    """The pairs table and the picker of one pair; returns the chosen pair's index label."""
    st.caption(
        f"{len(pairs):,} pairs"
        + (f"; the first {PAIRS_SHOWN:,} are listed." if len(pairs) > PAIRS_SHOWN else ".")
    )
    if pairs.empty:
        st.info("No pair to show.")
        return None
    listed = pairs.head(PAIRS_SHOWN)
    st.dataframe(
        listed[list(PAIR_COLUMNS)].rename(columns=PAIR_COLUMNS),
        hide_index=True,
        key="compare_pairs",
        height=min(400, 38 + 35 * len(listed)),
    )
    ids = {api.pair_id(row, kind): index for index, row in listed.iterrows()}
    chosen = st.selectbox(
        "Item", list(ids), key="compare_pair", format_func=lambda i: api.pair_label(listed.loc[ids[i]]), **URL
    )
    return ids[chosen]


def side_by_side(items: pd.DataFrame, pair: pd.Series, *, a: str, b: str) -> None:
    st.subheader("Side by side")
    st.markdown(api.pair_label(pair))
    for column, side, name in zip(st.columns(2), ("a", "b"), (a, b), strict=True):
        with column:
            side_view(api.item_detail(data.store(), items.loc[pair[f"row_{side}"]]), side.upper(), name)


def side_view(detail: api.ItemDetail, side: str, name: str) -> None:
    item = detail.item
    verdict = ":green-badge[right]" if item["correct"] else ":red-badge[wrong]"
    st.markdown(f"**{side}: {name}** {verdict}  \n{item['model']} · {item['mode']} · run `{item['run_id']}`")
    answer = item["predicted"] if item["predicted"] is not None else "(none)"
    st.markdown(f"Expected `{item['expected']}`, answered `{answer}`")
    if item["error"]:
        st.caption(f"Error category: {item['error']}" + (f": {item['detail']}" if item.get("detail") else ""))
    if detail.call_error:
        st.error(f"The model call failed: {detail.call_error}")
    with st.expander("Prompt (exact messages)"):
        for message in detail.messages:
            st.markdown(f"**{message['role']}**")
            st.code(message["content"], language=None, wrap_lines=True)
        if not detail.messages:
            st.caption("No call is recorded for this item.")
    st.markdown("**Reply**")
    st.code(detail.reply if detail.reply is not None else "(no reply)", language="markdown", wrap_lines=True)
    if not api.MODES[item["mode"]].returns_code:
        return
    st.markdown("**Extracted code**")
    if detail.code:
        st.code(detail.code, language="python", line_numbers=True)
    else:
        st.warning("The reply holds no Python block defining solver().")
    if detail.held_out:
        st.markdown("**Sandbox results on the held-out cases**")
        st.dataframe(
            pd.DataFrame(detail.held_out).fillna({"output": "", "error": "", "detail": ""}),
            hide_index=True,
            key=f"compare_held_out_{side}",
            column_config={"correct": st.column_config.CheckboxColumn("correct")},
        )


@st.cache_data(show_spinner=False, max_entries=2)
def report_html(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> str:
    return api.report_html(data.open_store(db), run_ids)


def report_download(
    where: st.delta_generator.DeltaGenerator, run_ids: tuple[str, ...], marker: tuple[int, ...]
) -> None:
    """The Results page's button for the self-contained HTML report (built when pressed, then cached)."""
    db = data.db_path()
    where.download_button(
        "Report (HTML)",
        data=lambda: report_html(db, run_ids, marker),
        mime="text/html",
        file_name=f"solverlab-{'-'.join(run_ids)}-report.html",
        icon=":material/download:",
        key="download_report",
        on_click="ignore",
        help="One file that opens offline: summary matrix, charts, and every item with its reply and code, "
        "searchable.",
    )
