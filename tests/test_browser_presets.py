"""The Run page's presets in a real browser: choose a recorded preset, start it, get finished runs.

Wu et al.'s recorded replies answer every prompt of their presets, so each run must finish with no item
`not_recorded`. Uses the fixtures of tests/test_browser.py (streamlit on 127.0.0.1, Debian's chromium).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from lab import api
from lab.run.store import Store
from tests.conftest import ANCHORS
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, app_url, assert_no_exception, wait_idle

__all__ = ["app_url"]  # the fixture, used by name

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not ANCHORS.is_dir(), reason="../shared/anchors is not beside the checkout"),
]

RECORDED = ("wu-syntax-check-recorded", "wu-spatial-recorded", "wu-arithmetic-recorded")


def choose_preset(page: Page, name: str) -> None:
    page.get_by_role("combobox", name="Start from a preset").click()
    page.get_by_role("option", name=name, exact=True).click()
    wait_idle(page)


def finished_runs(db: Path, expected: int, deadline: float) -> list[str]:
    """The runs in the store once all `expected` are stored and none is running (or the deadline passes):
    the page starts a preset's runs one after the other, and a replayed run may end before the next
    one is stored."""
    while True:
        store = Store(db)
        runs = store.list_runs()
        store.close()
        if len(runs) >= expected and all(run.status not in ("running", "created") for run in runs):
            return [run.id for run in runs]
        assert time.monotonic() < deadline, f"runs still going: {[(r.id, r.status) for r in runs]}"
        time.sleep(1)


@pytest.mark.parametrize("preset", RECORDED)
def test_a_recorded_preset_started_from_the_run_page_finishes_with_every_item_recorded(
    app_url: str, tmp_path: Path, preset: str
) -> None:
    db = tmp_path / "solverlab.db"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(app_url)
        page.get_by_role("heading", name="Run a study").wait_for(timeout=WAIT_MS)
        choose_preset(page, preset)
        assert_no_exception(page, f"preset {preset} chosen")
        page.get_by_role("button", name="Start the preset's").click()
        wait_idle(page)
        assert_no_exception(page, f"preset {preset} started")
        run_ids = finished_runs(db, len(api.preset_plans(preset)), time.monotonic() + 900)
        browser.close()
    store = Store(db)
    runs = {run.id: run for run in store.list_runs()}
    assert len(runs) == len(run_ids) >= 1
    for run in runs.values():
        assert run.status == "finished" and not run.reason, (run.id, run.status, run.reason)
        items = store.items([run.id])
        assert items and not [item for item in items if item["error"] == "not_recorded"]
