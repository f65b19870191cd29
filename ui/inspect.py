"""The Inspect page: a browser over the chosen runs' items, filtered, searched, sorted and paged in the
store, and one item opened with everything behind it.

A page of the table is one query (`api.item_page`): 50 items are read, not the runs' 80,000. Clicking a
row opens it; until then the first row of the page is open. The runs (`runs`), filters, search, sort,
page and clicked item (`inspect_item`) are kept in URL parameters named as their widget keys
(`ui.session.seed_from_url` and `keep_in_url`), so a copied link reopens the same view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from lab import api
from ui import data, oracle_view, session
from ui.widgets import pick_runs

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

PAGE_SIZE = 50
OPENED = "inspect_item"  # the clicked item's key, in the session and the URL
LAST_SHOWN = "inspect_last_shown"  # (query, page) last shown: a new query starts again at page 1
OPEN_MARK = "▶"
# The table's columns: a page's column -> its heading.
TABLE_COLUMNS = {
    "run_id": "run",
    "model": "model",
    "probe": "probe",
    "setting": "setting",
    "mode": "mode",
    "instance": "instance",
    "case_index": "case",
    "input": "input",
    "expected": "expected",
    "predicted": "answer",
    "correct": "correct",
    "error": "error",
    "prompt_tokens": "prompt tokens",
    "completion_tokens": "completion tokens",
    "latency": "latency (s)",
}


@st.cache_data(show_spinner=False, max_entries=8)
def facets(db: str, run_ids: tuple[str, ...], marker: tuple[int, ...]) -> api.Facets:
    return api.item_facets(data.open_store(db), run_ids)


@st.cache_data(show_spinner=False, max_entries=32)
def matching(db: str, query: api.ItemQuery, marker: tuple[int, ...]) -> int:
    """The query's count, kept while the user pages and sorts (only the page is read again)."""
    return api.count_items(data.open_store(db), query)


def page() -> None:
    st.title("Inspect items")
    session.seed_from_url("runs", many=True)
    session.seed_from_url(OPENED)
    picked = pick_runs()
    if picked is None:
        return
    _, run_ids, marker = picked
    session.keep_in_url("runs", run_ids)
    found = facets(data.db_path(), run_ids, marker)
    if not found.items:
        st.info("No item of these runs is scored yet.")
        return
    query = item_query(run_ids, found)
    count = matching(data.db_path(), query, marker)
    st.caption(f"{count:,} of {found.items:,} items match.")
    if not count:
        st.info("No item matches these filters.")
        return
    rows = items_page(query, count).rows
    keys = [api.item_key(row) for _, row in rows.iterrows()]
    items_table(rows, keys, found)
    opened = st.session_state.get(OPENED)
    open_item(opened if opened else keys[0], run_ids)


def item_query(run_ids: tuple[str, ...], found: api.Facets) -> api.ItemQuery:
    """The filters, search and sort as drawn; each is kept in the URL parameter named as its key."""
    columns = st.columns(3)
    models = url_multiselect(columns[0], "Model", found.models, "filter_model", format_func=api.model_label)
    probes = url_multiselect(columns[1], "Probe", found.probes, "filter_probe")
    settings = [s for s in found.settings if not probes or s.split(":", 1)[0] in probes]
    setting = url_multiselect(columns[2], "Setting", settings, "filter_setting")
    columns = st.columns(3)
    modes = url_multiselect(columns[0], "Mode", found.modes, "filter_mode")
    session.seed_from_url("filter_outcome", options=api.outcome_choices())
    outcome = columns[1].radio("Outcome", api.outcome_choices(), key="filter_outcome", horizontal=True)
    errors = url_multiselect(columns[2], "Error category", found.errors, "filter_error")
    columns = st.columns([4, 2, 1], vertical_alignment="bottom")
    session.seed_from_url("inspect_search")
    search = columns[0].text_input(
        "Search the input, reply and code",
        key="inspect_search",
        placeholder='words (each must appear), or "an exact phrase"',
    )
    session.seed_from_url("inspect_sort", options=api.SORTS)
    sort = columns[1].selectbox("Sort by", api.SORTS, key="inspect_sort")
    session.seed_from_url("inspect_descending", parse=lambda text: text == "true")
    descending = columns[2].toggle("Descending", key="inspect_descending")
    for key, value in (
        ("filter_outcome", None if outcome == "all" else outcome),
        ("inspect_search", search),
        ("inspect_sort", None if sort == api.STORED_ORDER else sort),
        ("inspect_descending", "true" if descending else None),
    ):
        session.keep_in_url(key, value)
    return api.ItemQuery(
        run_ids=run_ids,
        models=tuple(models),
        probes=tuple(probes),
        settings=tuple(setting),
        modes=tuple(modes),
        outcome=outcome,
        errors=tuple(errors),
        search=search.strip(),
        sort=sort,
        descending=descending,
    )


def url_multiselect(
    where: st.delta_generator.DeltaGenerator,
    label: str,
    options: Sequence[str],
    key: str,
    *,
    format_func: Callable[[str], str] = str,
) -> list[str]:
    """A filter of the values present, kept in the URL parameter `key` (the values, not their labels)."""
    if key in st.session_state:  # a value of other runs is no choice any more
        st.session_state[key] = [v for v in st.session_state[key] if v in options]
    session.seed_from_url(key, many=True, options=options)
    chosen = where.multiselect(label, options, key=key, format_func=format_func, placeholder="all")
    session.keep_in_url(key, chosen)
    return chosen


def items_page(query: api.ItemQuery, count: int) -> api.ItemPage:
    """The page to show: page 1 of a new query, else the page chosen. A new query or page opens its
    first row (a link opened in a fresh session keeps its item)."""
    if st.session_state.get(LAST_SHOWN, (query,))[0] != query:
        st.session_state["inspect_page"] = 1
    session.seed_from_url("inspect_page", parse=int)
    wanted = st.session_state.get("inspect_page", 1)
    if st.session_state.get(LAST_SHOWN, (query, wanted)) != (query, wanted):
        st.session_state.pop(OPENED, None)
        session.keep_in_url(OPENED, None)
    shown = api.item_page(data.store(), query, number=wanted, size=PAGE_SIZE, matching=count)
    st.session_state[LAST_SHOWN] = (query, shown.number)
    if shown.pages > 1:
        if shown.number != wanted:
            st.session_state["inspect_page"] = shown.number
        st.pagination(shown.pages, key="inspect_page", max_visible_pages=9)
    session.keep_in_url("inspect_page", None if shown.number == 1 else str(shown.number))
    return shown


def items_table(rows: pd.DataFrame, keys: list[str], found: api.Facets) -> None:
    """One page of items; clicking a row opens it (marked in the first column). The run, model and
    probe columns are left out when the runs hold only one."""
    shown = rows.copy()
    shown["model"] = [api.model_label(m) for m in shown["model"]]
    opened = st.session_state.get(OPENED, keys[0])
    # Marked, not pre-selected: a selection set by the app comes back as a click and runs the page again.
    shown.insert(0, "open", [OPEN_MARK if key == opened else "" for key in keys])
    single = {"run_id": len(found.runs), "model": len(found.models), "probe": len(found.probes)}
    columns = ["open", *(c for c in TABLE_COLUMNS if single.get(c, 2) > 1)]
    # A table of its own per page: a row picked on one page is not picked on the next.
    table_key = f"inspect_table_{abs(hash(tuple(keys)))}"
    st.dataframe(
        shown[columns].rename(columns=TABLE_COLUMNS),
        hide_index=True,
        key=table_key,
        on_select=lambda: _open_clicked(table_key, keys),
        selection_mode="single-row",
        placeholder="",
        column_config={
            "open": st.column_config.TextColumn("open", width=48, help="The item shown below the table"),
            "correct": st.column_config.CheckboxColumn("correct"),
            "latency (s)": st.column_config.NumberColumn("latency (s)", format="%.2f"),
        },
    )


def _open_clicked(table_key: str, keys: list[str]) -> None:
    """The table's callback: the clicked row is the open item (in the URL too); unclicking closes it."""
    rows = st.session_state[table_key]["selection"]["rows"]
    if rows:
        st.session_state[OPENED] = keys[rows[0]]
    else:
        st.session_state.pop(OPENED, None)
    session.keep_in_url(OPENED, st.session_state.get(OPENED))


def open_item(key: str, run_ids: tuple[str, ...]) -> None:
    try:
        detail = api.open_item(data.store(), key)
    except ValueError as exc:
        st.warning(f"The link's item cannot be opened: {exc}")
        return
    if detail is None or detail.item["run_id"] not in run_ids:
        st.info("The item of this link is not among these runs' items any more: click a row to open one.")
        return
    item_view(detail)


def item_view(detail: api.ItemDetail) -> None:
    item = detail.item
    returns_code = api.MODES[item["mode"]].returns_code
    verdict = ":green-badge[correct]" if item["correct"] else ":red-badge[wrong]"
    st.subheader(
        f"{item['probe']} `{item['setting']}` · {item['mode']} · instance {item['instance']} · "
        f"case {item['case_index']} {verdict}"
    )
    st.caption(f"{api.model_label(item['model'])} · run `{item['run_id']}`")
    columns = st.columns(3)
    with columns[0]:
        st.markdown("**Input**")
        st.code(item["input"], language=None, wrap_lines=True)
    with columns[1]:
        st.markdown("**Expected**")
        st.code(item["expected"], language=None, wrap_lines=True)
    with columns[2]:
        st.markdown("**Extracted answer**" if not returns_code else "**The function's output**")
        predicted = item["predicted"] if item["predicted"] is not None else "(none)"
        st.code(predicted, language=None, wrap_lines=True)
    if item["error"]:
        detail_text = f": {item['detail']}" if item.get("detail") else ""
        st.warning(f"Error category: **{item['error']}**{detail_text}")
    if detail.call_error:
        st.error(f"The model call failed: {detail.call_error}")
    call_facts(detail)
    if detail.stated_rule is not None:
        st.markdown("**The rule the model stated** (its reply to the first turn, from the examples alone)")
        st.code(detail.stated_rule, language="markdown", wrap_lines=True)
    if returns_code:
        code_view(detail)
    if api.MODES[item["mode"]].interactive:
        oracle_view.timeline(detail)
    prompt_tab, reply_tab = st.tabs(["Prompt (exact messages)", "Raw reply"])
    with prompt_tab:
        for message in detail.messages:
            st.markdown(f"**{message['role']}**")
            st.code(message["content"], language=None, wrap_lines=True)
        if not detail.messages:
            st.caption("No call is recorded for this item.")
    with reply_tab:
        reply = detail.reply if detail.reply is not None else "(no reply)"
        st.code(reply, language="markdown", wrap_lines=True)


def call_facts(detail: api.ItemDetail) -> None:
    """Tokens and latency of the item's call, in one line (nothing without a call)."""
    if detail.prompt_tokens is None:
        return
    cached = " (served from the response cache)" if detail.cached else ""
    st.caption(
        f"Call: {detail.prompt_tokens:,} prompt tokens, {detail.completion_tokens:,} completion tokens, "
        f"{detail.latency or 0:.2f} s{cached}."
    )


def code_view(detail: api.ItemDetail) -> None:
    st.markdown("**Extracted code**")
    if detail.code:
        st.code(detail.code, language="python", line_numbers=True)
    else:
        st.warning("The reply holds no Python block defining solver().")
    function: Mapping[str, Any] = detail.function or {}
    fits = {None: "n/a (no examples)", 1: "yes", 0: "no"}.get(function.get("fits_examples"), "?")
    columns = st.columns(3)
    columns[0].metric(
        "Fits its own examples", fits, help="Does solver() reproduce every example shown in the prompt?"
    )
    columns[1].metric(
        "Memorised lookup",
        "yes" if function.get("memorised") else "no",
        help="Does the code look like a table of the shown examples rather than a rule?",
    )
    columns[2].metric(
        "Verdict",
        function.get("verdict") or "ran",
        help="Set when the code never ran on the inputs (syntax error, rejected, no solver…).",
    )
    if function.get("detail"):
        st.caption(f"Executor: {function['detail']}")
    if function.get("examples"):
        st.markdown("**The examples shown, run through solver()**")
        st.dataframe(
            pd.DataFrame(function["examples"]), hide_index=True, key="examples_table", placeholder=""
        )
    candidates = api.candidate_table(detail)
    if len(candidates) > 1:
        st.markdown(
            "**Every sample and refinement round of this instance** (the prompt tab shows the conversation)"
        )
        st.dataframe(
            candidates,
            hide_index=True,
            key="candidates_table",
            placeholder="",
            column_config={"chosen": st.column_config.CheckboxColumn("chosen")},
        )
    if detail.held_out:
        st.markdown("**Each held-out case**: what the sandbox made of it")
        st.dataframe(
            pd.DataFrame(detail.held_out),
            hide_index=True,
            key="held_out_table",
            placeholder="",
            column_config={"correct": st.column_config.CheckboxColumn("correct")},
        )
