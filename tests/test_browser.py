"""The app in a real browser: `streamlit run app.py` on 127.0.0.1, driven through Debian's chromium.

A small study runs on the scripted model (the run's own process reaches the scripted server on
127.0.0.1); each page is screenshotted into test-artifacts/ and any exception Streamlit shows fails
the test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from lab.models import ModelSpec
from lab.run import study
from lab.run.plan import RunPlan, quick_plan
from lab.run.store import Store
from tests.scripted import plan_responder
from tests.scripted_server import ScriptedServer

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 120_000

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "SOLVERLAB_DB": str(tmp_path / "solverlab.db")}
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "streamlit.log", "wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                        if reply.status == 200:
                            break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"streamlit did not start; see {ARTIFACTS / 'streamlit.log'}")
                time.sleep(0.3)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def wait_idle(page: Page) -> None:
    """Until the script run in progress (Streamlit's "Running..." indicator) is over."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=WAIT_MS)


def assert_no_exception(page: Page, where: str) -> None:
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, f"{where}: {shown.all_inner_texts()}"


def screenshot(page: Page, name: str) -> None:
    """The whole page: Streamlit scrolls its main block, so the viewport is grown to fit it first."""
    height = 0
    for _ in range(5):  # growing the viewport can reflow the page: repeat until its height settles
        needed = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        if needed <= height:
            break
        height = min(int(needed) + 40, 12_000)
        page.set_viewport_size({"width": 1400, "height": max(900, height)})
        page.wait_for_timeout(800)  # let plotly redraw at the new size
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})


def open_page(page: Page, name: str) -> None:
    page.get_by_test_id("stSidebar").get_by_text(name, exact=True).click()
    page.get_by_role("heading", name={"Inspect": "Inspect items"}.get(name, name), exact=True).wait_for(
        timeout=WAIT_MS
    )


def test_a_study_in_the_browser(app_url: str, tmp_path: Path) -> None:
    with ScriptedServer() as server, sync_playwright() as playwright:
        defaults = quick_plan()
        plan = RunPlan(
            models=(ModelSpec("openai/scripted", api_base=server.base_url),),
            probes=defaults.probes,
            modes=defaults.modes,
            shots=defaults.shots,
            n=defaults.n,
            instances=defaults.instances,
            max_tokens=defaults.max_tokens,
        )
        server.responder = plan_responder(
            plan, lambda unit: unit.mode == "solverlearner" or unit.cases[0][0] % 2 == 0
        )
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(app_url)
            page.get_by_role("heading", name="Run a study").wait_for(timeout=WAIT_MS)
            wait_idle(page)
            assert_no_exception(page, "Run page")

            # The scripted model instead of the embedded one; the preselected quick study otherwise.
            page.locator(".st-key-remove_model_0 button:visible").first.click()
            page.get_by_role("button", name="Add the embedded model").wait_for(timeout=WAIT_MS)
            wait_idle(page)
            page.get_by_text("Add a model (any litellm string", exact=False).click()
            page.get_by_role("textbox", name="litellm model string").fill("openai/scripted")
            page.get_by_role("textbox", name="api_base (optional)").fill(server.base_url)
            page.get_by_role("button", name="Add model").click()
            page.get_by_text("openai/scripted", exact=True).wait_for(timeout=WAIT_MS)
            estimate = page.get_by_test_id("stMetric").filter(has_text="Model calls")
            estimate.get_by_text(str(study.estimated_calls(plan)), exact=True).wait_for(timeout=WAIT_MS)
            assert_no_exception(page, "Run page, configured")

            # A cost cap on a model of unknown price could never stop the run: refused, and no run stored.
            cap = page.get_by_role("spinbutton", name="Stop at a cost of (USD, 0 for no cap)")
            cap.fill("1")
            cap.press("Enter")
            wait_idle(page)
            page.get_by_role("button", name="Start the study").click()
            page.get_by_text("--max-cost 1 cannot cap openai/scripted").wait_for(timeout=WAIT_MS)
            screenshot(page, "run_cap_refused")
            assert "run=" not in page.url
            cap.fill("0")
            cap.press("Enter")
            wait_idle(page)

            page.get_by_role("button", name="Start the study").click()
            page.get_by_text("items scored (").wait_for(timeout=WAIT_MS)
            # A reload loses the session, not the run: the page finds it again through the URL.
            assert "run=" in page.url
            page.reload()
            page.get_by_text("Finished: every item is scored.").wait_for(timeout=WAIT_MS)
            page.locator(".js-plotly-plot").first.wait_for(timeout=WAIT_MS)
            assert_no_exception(page, "Run page, finished")
            screenshot(page, "run")

            open_page(page, "Results")
            page.locator(".js-plotly-plot").first.wait_for(timeout=WAIT_MS)
            assert_no_exception(page, "Results page")
            screenshot(page, "results")
            # The downloads are built when pressed: the items CSV and the charts as one HTML page.
            with page.expect_download(timeout=WAIT_MS) as download:
                page.get_by_role("button", name="Items CSV").click()
            items_csv = Path(download.value.path()).read_bytes().decode("utf-8")
            assert items_csv.startswith("run_id,model,probe,setting,default_world,mode")
            assert items_csv.count("\r\n") == study.total_items(plan) + 1
            wait_idle(page)
            with page.expect_download(timeout=WAIT_MS) as download:
                page.get_by_role("button", name="Charts (HTML)").click()
            charts_html = Path(download.value.path()).read_text(encoding="utf-8")
            assert charts_html.count('class="plotly-graph-div"') == 8  # every chart of the Results page
            assert_no_exception(page, "Results page, downloads")

            open_page(page, "Inspect")
            page.get_by_text("items match").wait_for(timeout=WAIT_MS)
            # Only the solverlearner items: the page then shows the function's code and its cases.
            page.locator(".st-key-filter_mode").click()
            page.get_by_role("option", name="solverlearner").click()
            page.keyboard.press("Escape")
            total = study.total_items(plan)
            page.get_by_text(f"{total // 2} of {total} items match").wait_for(timeout=WAIT_MS)
            page.get_by_text("Each held-out case").wait_for(timeout=WAIT_MS)
            page.get_by_text("Prompt (exact messages)").wait_for(timeout=WAIT_MS)
            wait_idle(page)
            assert_no_exception(page, "Inspect page")
            screenshot(page, "inspect")

            open_page(page, "History")
            page.get_by_role("button", name="Delete…").wait_for(timeout=WAIT_MS)
            assert_no_exception(page, "History page")
            screenshot(page, "history")
        finally:
            browser.close()
    store = Store(tmp_path / "solverlab.db")
    (run,) = store.list_runs()
    assert run.status == "finished" and store.totals(run.id).items == study.total_items(plan)
