"""The self-contained HTML report: offline, plotly.js once, every item with its reply and code.

Its search runs in the browser: tests/test_browser_compare.py types into it with the network cut.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from lab import api
from lab.cli import main
from lab.results import report
from tests.planted import plant_run, planted_plan

PROBES = ("arithmetic:base=8", "arithmetic:base=10")


def unpack(page: str) -> dict:
    payload = re.search(r"<script type='application/octet-stream' id='items-data'>([^<]*)</script>", page)
    assert payload is not None
    return json.loads(gzip.decompress(base64.b64decode(payload.group(1))))


@pytest.fixture
def store(tmp_path: Path) -> api.Store:
    store = api.Store(tmp_path / "solverlab.db")
    plan = planted_plan("openai/a", probes=PROBES, modes=("deductive", "solverlearner"), n=5, instances=2)
    plant_run(store, "run-a", plan, lambda *key: key[4] % 2 == 0)
    plant_run(store, "run-b", plan, lambda *key: key[4] != 1)
    return store


def test_the_report_opens_offline_with_plotly_inlined_once(store: api.Store, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    assert main(["report", "run-a", "run-b", "--html", str(path), "--db", str(store.path)]) == 0
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\ssrc=", page), "a script loaded from elsewhere"
    assert not re.search(r"<link[^>]*href=['\"]?https?:", page), "a stylesheet loaded from elsewhere"
    runs = ["run-a", "run-b"]
    figures = api.result_figures(
        api.result_tables(api.browse_items(store, runs), api.functions_frame(store, runs))
    )
    drawn = [title for title, figure in figures.items() if figure.data]
    assert 4 <= len(drawn) < len(figures)  # no pass@k, refinement or comprehension check in these runs
    assert page.count("plotly.js v") == 1 and page.count('class="plotly-graph-div"') == len(drawn)
    assert all(f"<h3>{title}</h3>" in page for title in drawn)
    assert "Nothing to draw for: " in page and "pass@k" in page.split("Nothing to draw for: ")[1]
    # The summary matrix: one table per mode, a row per run's model, the interval on hover.
    assert page.count("<table class='matrix'>") == 2
    items = api.browse_items(store, runs)
    labels = dict(zip(items["run_id"], items["model_label"], strict=False))
    assert labels["run-a"] != labels["run-b"] and labels["run-a"].startswith("openai/a - ")
    assert f"<th>{labels['run-a']}</th>" in page and f"<th>{labels['run-b']}</th>" in page
    assert re.search(r"<td title='95% interval \d+% to \d+%, 3 of 5 right'>60%</td>", page)


def test_every_item_travels_with_its_reply_and_code(store: api.Store) -> None:
    data = unpack(api.report_html(store, ["run-a", "run-b"]))
    fields = {name: i for i, name in enumerate(data["fields"])}
    rows = data["rows"]
    assert len(rows) == 2 * (2 * 5 + 2 * 2 * 5)

    def value(row: list, name: str) -> object:
        v = row[fields[name]]
        if name in data["lists"]:
            return data["lists"][name][v]
        if name in ("reply", "code"):
            return None if v < 0 else data["texts"][v]
        return v

    wrong = [r for r in rows if value(r, "run_id") == "run-b" and value(r, "mode") == "solverlearner"]
    assert {value(r, "case_index") for r in wrong if not value(r, "correct")} == {1}
    code = value(wrong[0], "code")
    assert code.startswith("def solver(x: str) -> str:") and code in value(wrong[0], "reply")
    deductive = [r for r in rows if value(r, "mode") == "deductive"]
    assert all(value(r, "code") is None for r in deductive)
    assert all(value(r, "reply") == f"\\boxed{{{value(r, 'predicted')}}} " for r in deductive)
    # One function serves the five cases of its instance: its reply and code are stored once.
    assert len(data["texts"]) == 2 * (2 * 5 + 2 * 2 * 2)


def test_markup_in_an_item_cannot_break_out_of_the_page(tmp_path: Path) -> None:
    store = api.Store(tmp_path / "solverlab.db")
    plan = planted_plan("openai/a", probes=("arithmetic:base=8",), modes=("deductive",), n=2, instances=1)
    plant_run(store, "run-a", plan, lambda *key: True)
    items = api.browse_items(store, ["run-a"])
    hostile = "</script><script>alert(1)</script>"
    page = report.report_html(
        report.ReportInput(
            title="<b>t</b>",
            summary=pd.DataFrame(),
            figures={},
            items=items.assign(input=hostile),
            replies={int(items["call_id"].iloc[0]): hostile},
            codes={},
        )
    )
    assert hostile not in page and "<title>&lt;b&gt;t&lt;/b&gt;</title>" in page
    assert value_inputs(unpack(page)) == {hostile}


def value_inputs(data: dict) -> set[str]:
    return {row[data["fields"].index("input")] for row in data["rows"]}


def test_a_report_of_a_run_that_does_not_exist_is_a_clear_error(
    store: api.Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "report.html"
    assert main(["report", "run-a", "nosuch", "--html", str(path), "--db", str(store.path)]) == 2
    assert "no run 'nosuch'" in capsys.readouterr().err and not path.exists()
