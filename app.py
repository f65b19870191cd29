"""SolverLab in the browser: configure a study, watch it run, compare inductive and deductive, inspect items.

This file is the page configuration and the navigation; each page is a module of `ui/`, which draws what
`lab.api` computes. The sidebar's page radio (key `page`) and the buttons that lead to another page
(`ui.session.go_to`) ask for a page; it is shown at its own URL path (`/results`, ...). An old link
with `?page=Results` still opens that page.
"""

from __future__ import annotations

import streamlit as st

from ui import compare, data, history, inspect, probes, results, run, session

st.set_page_config(page_title="SolverLab", page_icon=":material/science:", layout="wide")

PAGES = {
    "Run": st.Page(run.page, title="Run", url_path="run", default=True),
    "Results": st.Page(results.page, title="Results", url_path="results"),
    "Inspect": st.Page(inspect.page, title="Inspect", url_path="inspect"),
    "Compare": st.Page(compare.page, title="Compare", url_path="compare"),
    "History": st.Page(history.page, title="History", url_path="history"),
    "Probes": st.Page(probes.page, title="Probes", url_path="probes"),
}


def follow_page_request(current: st.Page) -> None:
    """Switch to the page asked for, if another, with the URL parameters that go along."""
    wanted, carried = session.take_page_request()
    if wanted in PAGES and PAGES[wanted].title != current.title:
        kept = {name: st.query_params.get_all(name) for name in carried}
        st.switch_page(PAGES[wanted], query_params=kept)
    st.query_params.pop("page", None)


def sidebar(current: st.Page) -> None:
    with st.sidebar:
        st.markdown("## :material/science: SolverLab")
        st.caption(
            "Does a model induce a rule from examples, or deduce from a rule it is told? "
            "SolverLearner probes on counterfactual tasks."
        )
        st.session_state[session.PAGE] = current.title
        st.radio(
            "Page",
            list(PAGES),
            key=session.PAGE,
            on_change=session.request_chosen_page,
            label_visibility="collapsed",
        )
        st.divider()
        st.caption(f"Store: `{data.db_path()}`")
        for problem in data.install_custom_probes():
            st.warning(problem)


current = st.navigation(list(PAGES.values()), position="hidden")
follow_page_request(current)
sidebar(current)
current.run()
