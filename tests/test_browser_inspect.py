"""The Inspect page in a real browser (Debian's chromium through Playwright).

Two runs are planted in the store (seeded apart), every reply padded with words drawn at random. A
phrase of one solverlearner reply of run A (found in no other reply) is searched for: the page must
list exactly the items of that reply; clicking the third row opens that item, and the page's URL,
opened in a fresh session, must reopen the same runs, search and item. test-artifacts/inspect-search.png
is the view.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

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

PROBES = ("arithmetic:base=8", "arithmetic:base=10")
MODES = ("deductive", "solverlearner")
ROW_HEIGHT = 35  # st.dataframe's default row (and header) height, in pixels

pytestmark = pytest.mark.browser
app_url = test_browser.app_url  # the app on a free port, its store in the test's tmp_path


def plant(db: Path) -> tuple[str, str, list[int]]:
    """Runs A and B; returns a phrase of one of run A's solverlearner replies that no other reply holds,
    the heading of its items without the case, and their cases in the order the page lists them."""
    store = api.Store(db)
    for run_id, model in (("run-a", "openai/a"), ("run-z", "openai/z")):
        plan = planted_plan(model, probes=PROBES, modes=MODES, n=6, instances=2)
        plant_run(store, run_id, plan, lambda *key: key[4] % 2 == 0, reply_chars=200)
    replies = {i: r for i, (_, r) in store.call_texts(["run-a", "run-z"]).items()}
    items = api.browse_items(store, ["run-a", "run-z"])
    coded = items[(items["run_id"] == "run-a") & (items["mode"] == "solverlearner")]
    call_id = int(coded["call_id"].iloc[-1])
    words = replies[call_id].split()
    for start in range(len(words) - 3, 0, -1):
        phrase = " ".join(words[start : start + 3])
        if sum(phrase.lower() in r.lower() for r in replies.values()) == 1:
            mine = coded[coded["call_id"] == call_id]
            unit = (
                f"arithmetic {mine['setting'].iloc[0]} · solverlearner · instance {mine['instance'].iloc[0]}"
            )
            return phrase, unit, mine["case_index"].tolist()
    raise AssertionError("no phrase of the reply is unique to it; plant longer replies")


def click_row(page: Page, index: int) -> None:
    """Click the row marker of row `index` (0-based) of the items table: the grid is a canvas."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + ROW_HEIGHT * (index + 1) + ROW_HEIGHT // 2)
    wait_idle(page)


def assert_the_item_is_open(page: Page, unit: str, case: int, phrase: str) -> None:
    heading = page.get_by_role("heading", name=f"{unit} · case {case} ")
    heading.wait_for(timeout=WAIT_MS)
    page.get_by_text("openai/a · run run-a").wait_for(timeout=WAIT_MS)
    page.get_by_role("tab", name="Raw reply").click()
    page.get_by_text(phrase).first.wait_for(timeout=WAIT_MS)


def test_search_finds_a_reply_a_click_opens_the_row_and_its_link_reopens_it(
    app_url: str, tmp_path: Path
) -> None:
    phrase, unit, cases = plant(tmp_path / "solverlab.db")
    assert len(cases) == 6
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{app_url}/inspect")
            page.get_by_text("36 of 36 items match").wait_for(timeout=WAIT_MS)  # the latest run: run Z
            wait_idle(page)
            page.locator(".st-key-runs input").click()
            page.get_by_role("option", name=re.compile(r"\brun-a\b")).click()
            page.keyboard.press("Escape")
            page.get_by_text("72 of 72 items match").wait_for(timeout=WAIT_MS)
            wait_idle(page)
            search = page.get_by_label("Search the input, reply and code")
            search.fill(f'"{phrase.upper()}"')
            search.press("Enter")
            page.get_by_text("6 of 72 items match").wait_for(timeout=WAIT_MS)
            wait_idle(page)
            # Until a row is clicked, the first one is open.
            assert_the_item_is_open(page, unit, cases[0], phrase)
            click_row(page, 2)
            assert_the_item_is_open(page, unit, cases[2], phrase)
            assert_no_exception(page, "Inspect page")
            screenshot(page, "inspect-search")
            link = page.url
            assert "inspect_item=" in link and "inspect_search=" in link, link

            # A fresh session opened from the copied link shows the same runs, search and item.
            again = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            again.goto(link)
            again.get_by_text("6 of 72 items match").wait_for(timeout=WAIT_MS)
            wait_idle(again)
            assert_the_item_is_open(again, unit, cases[2], phrase)
            # The box may be drawn again once the rerun that read the link ends: wait for its value.
            expect(again.get_by_label("Search the input, reply and code")).to_have_value(
                f'"{phrase.upper()}"', timeout=WAIT_MS
            )
            assert_no_exception(again, "Inspect page from a link")
        finally:
            browser.close()
