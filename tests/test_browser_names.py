"""Run labels in a real browser (Debian's chromium through Playwright).

Four runs are planted, two of them of one model: History lists four distinct labels, one run named
there (text input + Save) is listed by its name and downloads as typed Parquet, and Results for all
four draws four distinct model labels.
Screenshots: test-artifacts/names-history.png and names-results.png.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, sync_playwright

from lab import api
from tests import test_browser
from tests.planted import plant_run, planted_plan
from tests.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WAIT_MS,
    assert_no_exception,
    screenshot,
    wait_idle,
)

PROBES = ("arithmetic:base=9", "arithmetic:base=10")
MODES = ("deductive", "io")
MODELS = ("gpt-4o", "gpt-4o", "claude-3", "qwen-7b")
NAME = "base-9 sweep"

pytestmark = pytest.mark.browser
app_url = test_browser.app_url  # the app on a free port, its store in the test's tmp_path


def plant(db: Path) -> list[str]:
    """Four runs with ids as the runner makes them (today's date); the first two share a model."""
    store = api.Store(db)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_ids = [f"{stamp}-{index}{index}a{index}f0" for index in range(1, 5)]
    for number, (run_id, model) in enumerate(zip(run_ids, MODELS, strict=True)):
        plan = planted_plan(model, probes=PROBES, modes=MODES, n=4, instances=1)
        plant_run(store, run_id, plan, lambda *key, number=number: (key[4] + number) % 3 != 0)
    return run_ids


def history_labels(page: Page, count: int) -> list[str]:
    """The run picker's labels (each `label · run id`), read from its open list."""
    page.locator(".st-key-history_run button[aria-label=Open]").click()
    options = page.get_by_role("option")
    options.nth(count - 1).wait_for(timeout=WAIT_MS)
    labels = [text.rsplit(" · ", 1)[0] for text in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return labels


def test_four_runs_two_of_one_model_have_four_distinct_labels(app_url: str, tmp_path: Path) -> None:
    run_ids = plant(tmp_path / "solverlab.db")
    today = time.strftime("%Y-%m-%d")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{app_url}/history", wait_until="networkidle")
        page.get_by_role("heading", name="History").wait_for(timeout=WAIT_MS)
        wait_idle(page)
        before = history_labels(page, 4)
        assert sorted(before) == sorted(
            f"{model} - {today} - {run_id[-6:-2]}" for model, run_id in zip(MODELS, run_ids, strict=True)
        )

        # Name the run shown (the latest) on the History page.
        page.get_by_role("textbox", name="Name", exact=True).fill(NAME)
        page.get_by_role("button", name="Save name").click()
        wait_idle(page)
        page.get_by_text(f"Named run {run_ids[-1]} '{NAME}'.").wait_for(timeout=WAIT_MS)
        after = history_labels(page, 4)
        assert len(set(after)) == 4 and NAME in after
        # The run selector shows the new label too (Streamlit kept the old text before it was set again).
        selector = page.locator(".st-key-history_run")
        assert selector.get_by_role("combobox").input_value() == f"{NAME} · {run_ids[-1]}"
        assert api.Store(tmp_path / "solverlab.db").get_run(run_ids[-1]).name == NAME
        assert_no_exception(page, "History")
        screenshot(page, "names-history")
        with page.expect_download(timeout=WAIT_MS) as download:
            page.get_by_role("button", name="Items as Parquet").click()
        typed = pd.read_parquet(download.value.path())
        assert set(typed["run_name"]) == {NAME} and typed["base"].dtype == "Int64"
        assert typed["correct"].dtype == bool and len(typed) == 16

        page.goto(f"{app_url}/results", wait_until="networkidle")
        page.get_by_role("heading", name="Results").wait_for(timeout=WAIT_MS)
        wait_idle(page)
        for run_id in run_ids[:-1]:  # the latest run is chosen already
            page.locator(".st-key-runs input").click()
            page.get_by_role("option", name=re.compile(re.escape(run_id))).click()
            wait_idle(page)
        page.keyboard.press("Escape")
        heatmap = page.locator(".st-key-chart_overview")  # several runs: the overview matrix
        heatmap.locator("svg").first.wait_for(timeout=WAIT_MS)
        # The matrix of an earlier selection may still be drawn while the last one is applied: read its
        # rows until they settle.
        deadline = time.monotonic() + WAIT_MS / 1000
        while True:
            ticks = heatmap.locator("g.ytick text").evaluate_all("texts => texts.map(t => t.textContent)")
            drawn = {tick.split(" · ")[0] for tick in ticks if today in tick or NAME in tick}
            if len(drawn) == 4 or time.monotonic() > deadline:
                break
            page.wait_for_timeout(500)
        assert len(drawn) == 4, ticks
        assert_no_exception(page, "Results")
        screenshot(page, "names-results")
        browser.close()
