"""What one browser session keeps: keys typed in (memory only), the run it follows, page requests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from lab import api

PAGE = "page"  # the sidebar's page radio: the page shown
PAGE_REQUEST = "go_to"  # the page a button or the radio asked for; app.py switches to it once


def session_keys() -> dict[str, str]:
    """Keys typed in this browser session: in memory only, handed to a run's process as environment."""
    return st.session_state.setdefault("session_keys", {})


def run_env(models: list[dict[str, Any]]) -> dict[str, str]:
    keys = session_keys()
    return {m["key_env"]: keys[m["key_env"]] for m in models if m.get("key_env") in keys}


def missing_session_keys(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The models whose key was typed in another session (so this one does not have it)."""
    return [m for m in models if api.is_typed_key(m.get("key_env")) and m["key_env"] not in session_keys()]


def go_to(page: str, **state: Any) -> None:
    """Switch page (a button callback), setting session values for the page to read."""
    st.session_state[PAGE_REQUEST] = page
    for key, value in state.items():
        st.session_state[key] = value


def request_chosen_page() -> None:
    """The page radio's callback: switch to the page chosen."""
    st.session_state[PAGE_REQUEST] = st.session_state[PAGE]


def take_page_request() -> tuple[str | None, tuple[str, ...]]:
    """The page asked for since the last run (a button, the radio, or a `?page=` link), once, and the URL
    parameters that go along: a link's own parameters all belong to the page it opens; leaving a page
    carries only `CARRIED` (never that page's URL-bound widgets, which Streamlit refuses to carry)."""
    asked = st.session_state.pop(PAGE_REQUEST, None)
    if asked:
        return asked, tuple(name for name in CARRIED if name in st.query_params)
    return st.query_params.get("page"), tuple(name for name in st.query_params if name != "page")


def watch(run_id: str) -> None:
    """Follow the run on the Run page, in this session and in the URL (which a reload keeps)."""
    st.session_state["watch_run"] = run_id
    st.query_params["run"] = run_id


# Widget arguments that bind a page's own widget to the URL parameter named as its key (Results, Compare),
# so a copied link reopens the choice; bound labels go to the URL: keep them stable. Values no single
# widget owns (the run picker shared by Results and Inspect, a clicked row) and choices checked against
# their options go through `seed_from_url` / `keep_in_url`. Only those plain parameters follow a page
# switch (app.py), never a bound one, which Streamlit refuses.
URL_BOUND: dict[str, Any] = {"bind": "query-params"}
CARRIED = ("run", "runs")  # the URL parameters that follow a page switch


def seed_from_url(
    key: str,
    *,
    many: bool = False,
    options: Sequence[Any] | None = None,
    parse: Callable[[str], Any] | None = None,
) -> None:
    """Before the widget `key` is drawn: a session without a value for it yet takes the URL parameter of
    that name, so a link opened in a fresh browser restores the choice. `many` reads every value of a
    repeated parameter into a list; `parse` turns the text into the widget's value (a bad one is
    dropped); values not among `options` are dropped. Pair with `keep_in_url` after the widget.

    Plain parameters, not widgets bound to the URL: the app carries a page's parameters along when it
    switches pages, which Streamlit refuses for a bound one.
    """
    if key in st.session_state or key not in st.query_params:
        return
    texts = st.query_params.get_all(key) if many else [st.query_params[key]]
    values = []
    for text in texts:
        try:
            value = parse(text) if parse else text
        except ValueError:
            continue
        if options is None or value in options:
            values.append(value)
    if many:
        st.session_state[key] = values
    elif values:
        st.session_state[key] = values[0]


def keep_in_url(key: str, value: str | list[str] | tuple[str, ...] | None) -> None:
    """Put `value` in the URL parameter `key` (a list repeats it); None or empty removes it."""
    if value is None or (not isinstance(value, str) and not value) or value == "":
        st.query_params.pop(key, None)
    elif isinstance(value, str):
        st.query_params[key] = value
    else:
        st.query_params[key] = list(value)
