"""The Compare page and the HTML report in a real browser (Debian's chromium through Playwright).

Two runs are planted in the store, one item right in run A and wrong in run B: the compare flow must
find it, and the page's URL, opened in a fresh session, must reopen the same comparison. The
screenshot test-artifacts/compare.png is the one in docs/. The report
is opened from a file with every network request refused, and its search must find an item.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from lab import api
from tests import test_browser
from tests.planted import plant_run, planted_plan
from tests.test_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    WAIT_MS,
    assert_no_exception,
    screenshot,
    wait_idle,
)

PROBES = ("arithmetic:base=8", "arithmetic:base=10")
MODES = ("deductive", "solverlearner")
FLIPPED = ("deductive", "arithmetic", "base=8,digits=2", 0, 3)  # right in run A, wrong in run B

pytestmark = pytest.mark.browser
app_url = test_browser.app_url  # the app on a free port, its store in the test's tmp_path


def plant(db: Path) -> str:
    """Runs A and B; returns the planted item's input."""
    store = api.Store(db)
    plant_run(
        store,
        "run-a",
        planted_plan("openai/a", probes=PROBES, modes=MODES, n=6, instances=2),
        lambda *key: key[4] % 2 == 0 or key == FLIPPED,
    )
    plant_run(
        store,
        "run-b",
        planted_plan("openai/b", probes=PROBES, modes=MODES, n=6, instances=2),
        lambda *key: key[4] % 2 == 0 or key[4] == 5,
    )
    items = api.browse_items(store, ["run-a"])
    planted = items[
        (items["mode"] == "deductive") & (items["setting"] == FLIPPED[2]) & (items["case_index"] == 3)
    ]
    return str(planted["input"].iloc[0])


def choose(page: Page, key: str, option: str) -> None:
    """Pick an option of a selectbox; a rerun that redraws the box closes its list, so try again."""
    for attempt in range(5):
        wait_idle(page)
        page.locator(f".st-key-{key} button[aria-label=Open]").click()
        try:
            page.get_by_role("option", name=option).first.click(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 4:
                raise
    wait_idle(page)


def assert_the_planted_pair_is_open(page: Page, text: str) -> None:
    side = page.get_by_test_id("stMain")
    side.get_by_text("A: run-a").wait_for(timeout=WAIT_MS)
    side.get_by_text("B: run-b").wait_for(timeout=WAIT_MS)
    chosen = page.locator(".st-key-compare_pair input").input_value()
    assert chosen == f"A only · arithmetic base=8,digits=2 · deductive · instance 0 · case 3 · {text}"
    assert page.locator(".st-key-compare_flipped input").is_checked()
    metric = page.get_by_test_id("stMetric").filter(has_text="McNemar p (exact)")
    metric.get_by_text("1", exact=True).wait_for(timeout=WAIT_MS)  # deductive: 1 A only, 2 B only


def test_compare_finds_the_planted_item_and_its_link_reopens_it(app_url: str, tmp_path: Path) -> None:
    text = plant(tmp_path / "solverlab.db")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{app_url}/compare")
            page.get_by_role("heading", name="Paired table").wait_for(timeout=WAIT_MS)
            wait_idle(page)
            choose(page, "compare_a_run", "run-a · openai/a")
            choose(page, "compare_b_run", "run-b · openai/b")
            choose(page, "compare_mode", "deductive")
            page.get_by_text("Pairs").first.wait_for(timeout=WAIT_MS)
            page.locator(".st-key-compare_flipped label").click()
            wait_idle(page)
            page.get_by_text("3 pairs.").wait_for(timeout=WAIT_MS)  # the planted item and both cases 5
            choose(
                page, "compare_pair", "A only · arithmetic base=8,digits=2 · deductive · instance 0 · case 3"
            )
            assert_the_planted_pair_is_open(page, text)
            assert_no_exception(page, "Compare page")
            screenshot(page, "compare")
            link = page.url
            assert "compare_pair=" in link and "compare_flipped=" in link, link

            # A fresh session opened from the copied link shows the same comparison.
            again = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            again.goto(link)
            again.get_by_role("heading", name="Side by side").wait_for(timeout=WAIT_MS)
            wait_idle(again)
            assert_the_planted_pair_is_open(again, text)
            assert_no_exception(again, "Compare page from a link")

            # A code mode's pair shows both functions and what the sandbox made of the cases.
            choose(again, "compare_mode", "solverlearner")
            again.get_by_text("B only · arithmetic base=10,digits=2 · solverlearner").first.wait_for(
                timeout=WAIT_MS
            )
            assert again.get_by_text("Extracted code").count() == 2
            assert again.get_by_text("Sandbox results on the held-out cases").count() == 2
            assert again.get_by_text("planted_solverlearner_0").count() >= 2
            assert_no_exception(again, "Compare page, solverlearner")
            screenshot(again, "compare-code")
        finally:
            browser.close()


def test_the_report_opens_offline_and_its_search_finds_an_item(tmp_path: Path) -> None:
    db = tmp_path / "solverlab.db"
    text = plant(db)
    path = tmp_path / "report.html"
    store = api.Store(db)
    path.write_text(api.report_html(store, ["run-a", "run-b"]), encoding="utf-8")
    tables = api.result_tables(api.browse_items(store, ["run-a"]), api.functions_frame(store, ["run-a"]))
    charts = sum(1 for figure in api.result_figures(tables).values() if figure.data)
    refused: list[str] = []

    def refuse(route: Route) -> None:
        if not route.request.url.startswith("file://"):
            refused.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900}, offline=True)
            context.route("**/*", refuse)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(path.as_uri())
            page.get_by_text("of 72 items match").wait_for(timeout=WAIT_MS)
            assert page.locator(".js-plotly-plot").count() == charts
            page.get_by_role("searchbox", name="Search the items").fill(f"openai/b deductive base=8 {text}")
            page.get_by_text("1 of 72 items match").wait_for(timeout=WAIT_MS)
            row = page.locator("#item-table tbody tr")
            assert row.count() == 1 and text in row.inner_text() and "run-b" in row.inner_text()
            row.locator("summary").click()
            assert "Reply" in row.inner_text() and "\\boxed{" in row.inner_text()
            page.get_by_role("searchbox", name="Search the items").fill("def solver planted_solverlearner_1")
            page.get_by_text("24 of 72 items match").wait_for(timeout=WAIT_MS)  # instance 1, both runs
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=False)
            assert not errors and not refused, (errors, refused)
        finally:
            browser.close()
