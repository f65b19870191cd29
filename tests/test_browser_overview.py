"""The Results overview in Chromium: 16 planted runs, one matrix row each, and a link that reopens them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from lab.run.store import Store
from tests.planted import plant_run, planted_plan
from tests.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WAIT_MS,
    app_url,
    assert_no_exception,
    screenshot,
    wait_idle,
)

__all__ = ["app_url"]  # the fixture, used by name
pytestmark = pytest.mark.browser

RUNS = 16
MODES = ("deductive", "io", "solverlearner")
MODELS = 8  # two runs of each model: their rows must stay apart


def skill(run: int, mode: str, setting: str) -> float:
    """How often a planted run is right: models differ, counterfactual bases are harder, modes differ."""
    familiar = "base=10" in setting
    return min(0.97, 0.35 + 0.04 * run + (0.3 if familiar else 0.0) - 0.1 * MODES.index(mode))


def plant_overview_store(path: Path, *, runs: int = RUNS, n: int = 12) -> list[str]:
    """`runs` finished runs of arithmetic in three modes, two runs per model, accuracies spread out."""
    store = Store(path)
    run_ids = []
    for number in range(runs):
        run_id = f"run-{number:02d}"
        plan = planted_plan(
            f"openai/model-{number % MODELS}", probes=("arithmetic",), modes=MODES, n=n, instances=2
        )

        def right(mode: str, _probe: str, setting: str, instance: int, case: int, run: int = number) -> bool:
            draw = ((instance * 97 + case) * 2654435761 + run * 7919) % 1000 / 1000
            return draw < skill(run, mode, setting)

        plant_run(store, run_id, plan, right)
        run_ids.append(run_id)
    store.close()
    return run_ids


def overview_rows(page: Page) -> list[str]:
    """The row labels of the overview matrix (its y-axis ticks), as drawn."""
    labels = page.get_by_test_id("stPlotlyChart").first.locator(".yaxislayer-above .ytick text")
    labels.first.wait_for(timeout=WAIT_MS)
    return labels.all_text_contents()


def rows_once(page: Page, wanted: Callable[[list[str]], bool]) -> list[str]:
    """The overview's row labels once `wanted` holds for them (the chart redraws after a rerun)."""
    for _ in range(WAIT_MS // 500):
        rows = overview_rows(page)
        if wanted(rows):
            return rows
        page.wait_for_timeout(500)
    raise AssertionError(f"the overview's rows never became as wanted: {rows}")


def test_sixteen_runs_give_sixteen_rows_and_the_link_reopens_them(app_url: str, tmp_path: Path) -> None:
    run_ids = plant_overview_store(tmp_path / "solverlab.db")
    link = f"{app_url}/results?" + "&".join(f"runs={run_id}" for run_id in run_ids)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(link)
            page.get_by_role("heading", name="Results", exact=True).wait_for(timeout=WAIT_MS)
            wait_idle(page)
            assert_no_exception(page, "Results with 16 runs")
            rows = overview_rows(page)
            assert len(rows) == RUNS and len(set(rows)) == RUNS, rows
            assert all(run_id in " ".join(rows) for run_id in run_ids)  # each label ends with its run
            matrix = page.get_by_test_id("stPlotlyChart").first.bounding_box()
            assert matrix is not None and matrix["height"] < 900, matrix  # one screen, not a stack
            screenshot(page, "overview-16-runs")

            # A filter goes into the URL too; the copied URL, opened in a fresh page, shows the same view.
            page.get_by_text("name", exact=True).click()
            wait_idle(page)
            copied = page.url
            assert copied.count("runs=") == RUNS and "results_sort=name" in copied, copied
            by_name = rows_once(page, lambda shown: shown == sorted(rows))

            fresh = browser.new_page(viewport={"width": 1400, "height": 900})
            fresh.goto(copied)
            fresh.get_by_role("heading", name="Results", exact=True).wait_for(timeout=WAIT_MS)
            wait_idle(fresh)
            assert_no_exception(fresh, "the copied link")
            assert rows_once(fresh, lambda shown: len(shown) == RUNS) == by_name
        finally:
            browser.close()
