"""What one browser session keeps: keys typed in (memory only), the run it follows, page requests."""

from __future__ import annotations

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


def take_page_request() -> str | None:
    """The page asked for since the last run (a button, the radio, or an old `?page=` link), once."""
    return st.session_state.pop(PAGE_REQUEST, None) or st.query_params.get("page")


def watch(run_id: str) -> None:
    """Follow the run on the Run page, in this session and in the URL (which a reload keeps)."""
    st.session_state["watch_run"] = run_id
    st.query_params["run"] = run_id


# Widget arguments that bind a widget to the URL parameter named as its key: the one way a page puts a
# choice in the URL, so a copied link reopens it. Bound labels go to the URL: keep them stable.
URL_BOUND: dict[str, Any] = {"bind": "query-params"}


def seed_from_url(key: str, *, many: bool = False) -> None:
    """For a value no widget binds (a shared widget, a clicked row): a session without `key` yet takes
    the URL parameter of that name, so a link opened in a fresh browser restores it. Call before the
    widget reading `key` is drawn; `many` reads every value of a repeated parameter into a list."""
    if key in st.session_state or key not in st.query_params:
        return
    st.session_state[key] = st.query_params.get_all(key) if many else st.query_params[key]


def keep_in_url(key: str, value: str | list[str] | tuple[str, ...] | None) -> None:
    """Put `value` in the URL parameter `key` (a list repeats it); None or empty removes it."""
    if value is None or (not isinstance(value, str) and not value):
        st.query_params.pop(key, None)
    elif isinstance(value, str):
        st.query_params[key] = value
    else:
        st.query_params[key] = list(value)
