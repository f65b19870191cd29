"""The Inspect page: filter the chosen runs' items, page through them, open one with everything behind it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from lab import api
from ui import data
from ui.widgets import pick_runs

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

PAGE_SIZE = 50


@dataclass(frozen=True)
class ItemFilters:
    """What the filter widgets ask for; an empty tuple filters nothing."""

    models: tuple[str, ...]
    probes: tuple[str, ...]
    settings: tuple[str, ...]
    modes: tuple[str, ...]
    outcome: str
    errors: tuple[str, ...]


INSPECT_TABLE_COLUMNS = [
    "probe",
    "setting",
    "mode",
    "instance",
    "case_index",
    "input",
    "expected",
    "predicted",
    "correct",
    "error",
    "model",
]


def item_label(row: pd.Series) -> str:
    outcome = "✓" if row["correct"] else "✗"
    text = str(row["input"])
    text = text if len(text) <= 40 else text[:39] + "…"
    return (
        f"{outcome} {row['probe']} {row['setting']} · {row['mode']} · instance {row['instance']} · "
        f"case {row['case_index']} · {text}"
    )


def page() -> None:
    st.title("Inspect items")
    picked = pick_runs()
    if picked is None:
        return
    _, run_ids, marker = picked
    items = data.load_items(data.db_path(), run_ids, marker)
    if items.empty:
        st.info("No item of these runs is scored yet.")
        return
    filters = item_filters(items)
    chosen = api.filter_items(items, **asdict(filters))
    st.caption(f"{len(chosen):,} of {len(items):,} items match.")
    if chosen.empty:
        st.info("No item matches these filters.")
        return
    pages = api.page_count(len(chosen), PAGE_SIZE)
    # New filters start again at page 1 and the first item.
    filters_key = abs(hash((run_ids, marker, filters)))
    number = st.pagination(pages, key=f"inspect_page_{filters_key}") if pages > 1 else 1
    rows = api.page(chosen, number, PAGE_SIZE)
    st.dataframe(
        rows[INSPECT_TABLE_COLUMNS],
        hide_index=True,
        key="inspect_table",
        column_config={
            "case_index": st.column_config.NumberColumn("case"),
            "correct": st.column_config.CheckboxColumn("correct"),
        },
    )
    index = st.selectbox(
        "Item",
        list(rows.index),
        key=f"inspect_item_{filters_key}_{number}",
        format_func=lambda i: item_label(rows.loc[i]),
    )
    item_view(api.item_detail(data.store(), rows.loc[index]))


def item_filters(items: pd.DataFrame) -> ItemFilters:
    columns = st.columns(3)
    models = columns[0].multiselect(
        "Model", sorted(items["model"].unique()), key="filter_model", placeholder="all"
    )
    probes = columns[1].multiselect(
        "Probe", sorted(items["probe"].unique()), key="filter_probe", placeholder="all"
    )
    shown = items[items["probe"].isin(probes)] if probes else items
    settings = columns[2].multiselect(
        "Setting", api.setting_choices(shown), key="filter_setting", placeholder="all"
    )
    columns = st.columns(3)
    modes = columns[0].multiselect(
        "Mode", [m for m in api.MODE_ORDER if m in set(items["mode"])], key="filter_mode", placeholder="all"
    )
    outcome = columns[1].radio("Outcome", api.outcome_choices(), key="filter_outcome", horizontal=True)
    errors = columns[2].multiselect(
        "Error category", api.error_categories(items), key="filter_error", placeholder="all"
    )
    return ItemFilters(
        models=tuple(models),
        probes=tuple(probes),
        settings=tuple(settings),
        modes=tuple(modes),
        outcome=outcome,
        errors=tuple(errors),
    )


def item_view(detail: api.ItemDetail) -> None:
    item = detail.item
    returns_code = api.MODES[item["mode"]].returns_code
    verdict = ":green-badge[correct]" if item["correct"] else ":red-badge[wrong]"
    st.subheader(
        f"{item['probe']} `{item['setting']}` · {item['mode']} · instance {item['instance']} · "
        f"case {item['case_index']} {verdict}"
    )
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
    if returns_code:
        code_view(detail)
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
        st.dataframe(pd.DataFrame(function["examples"]), hide_index=True, key="examples_table")
    candidates = api.candidate_table(detail)
    if len(candidates) > 1:
        st.markdown(
            "**Every sample and refinement round of this instance** (the prompt tab shows the conversation)"
        )
        st.dataframe(
            candidates,
            hide_index=True,
            key="candidates_table",
            column_config={"chosen": st.column_config.CheckboxColumn("chosen")},
        )
    if detail.held_out:
        st.markdown("**Each held-out case**")
        st.dataframe(
            pd.DataFrame(detail.held_out),
            hide_index=True,
            key="held_out_table",
            column_config={"correct": st.column_config.CheckboxColumn("correct")},
        )
