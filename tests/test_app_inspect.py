"""The Inspect page through AppTest on planted runs: a link's URL parameters reopen the same view.

The browser test (tests/test_browser_inspect.py) clicks and copies a link; this one starts a fresh
session from the parameters such a link holds (runs, a filter, the sort, the page and the item) and
checks that the page shows what they name, and that a new filter starts again at page 1 with its
first row open.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab import api
from tests.planted import plant_run, planted_plan

ROOT = Path(__file__).resolve().parent.parent
PROBES = ("arithmetic:base=8", "arithmetic:base=10")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    store = api.Store(tmp_path / "solverlab.db")
    for run_id, model in (("run-a", "openai/a"), ("run-z", "openai/z")):
        plan = planted_plan(model, probes=PROBES, modes=("deductive", "solverlearner"), n=30, instances=2)
        plant_run(store, run_id, plan, lambda *key: key[4] % 3 != 0)
    return tmp_path / "solverlab.db"


def fresh(db: Path, monkeypatch: pytest.MonkeyPatch, **params: str | list[str]) -> AppTest:
    monkeypatch.setenv("SOLVERLAB_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    return at


def test_a_link_reopens_the_runs_filter_sort_page_and_item(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = api.Store(db)
    query = api.ItemQuery(run_ids=("run-a",), modes=("solverlearner",), sort="input", descending=True)
    second = api.item_page(store, query, number=2, size=50)
    assert second.matching == 120 and second.pages == 3
    row = second.rows.iloc[7]
    at = fresh(
        db,
        monkeypatch,
        page="Inspect",
        runs=["run-a"],
        filter_mode=["solverlearner"],
        inspect_sort="input",
        inspect_descending="true",
        inspect_page="2",
        inspect_item=api.item_key(row),
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Inspect items"]
    assert at.multiselect(key="runs").value == ["run-a"]
    assert at.multiselect(key="filter_mode").value == ["solverlearner"]
    assert any("120 of 180 items match" in c.value for c in at.caption)
    table = next(d.value for d in at.dataframe if "open" in d.value.columns)
    assert table["input"].tolist() == second.rows["input"].tolist()  # page 2, sorted by input, descending
    assert table["open"].tolist().index("▶") == 7
    heading = at.subheader[0].value
    assert f"instance {row['instance']} · case {row['case_index']}" in heading and "solverlearner" in heading

    # Another filter is a new query: page 1, its first row open, the item gone from the URL.
    at.radio(key="filter_outcome").set_value("wrong").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "open" in d.value.columns)
    first = api.item_page(store, replace(query, outcome="wrong"), number=1, size=50).rows.iloc[0]
    assert table["open"].tolist()[0] == "▶" and table["input"].iloc[0] == first["input"]
    assert f"case {first['case_index']}" in at.subheader[0].value
    assert "inspect_item" not in at.query_params


def test_a_history_link_reopens_the_run_it_names(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for chosen in ("run-a", "run-z"):
        at = fresh(db, monkeypatch, page="History", history_run=chosen)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.selectbox(key="history_run").value == chosen
        assert at.query_params["history_run"] == chosen  # kept in the URL for the next copy
    # A link to a run that is not in the store falls back to the first run, with no error.
    at = fresh(db, monkeypatch, page="History", history_run="no-such-run")
    at.run()
    assert not at.exception and at.selectbox(key="history_run").value in ("run-a", "run-z")
