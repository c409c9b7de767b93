"""End-to-end fixtures: the real app (production build) on a demo database, driven by Chromium.

The app is started once per test session with REFLEX_PERF_MODE=raise, so a state that grows
past Reflex's size limit fails the tests instead of warning. Screenshots go to
tests/e2e/screenshots/.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "e2e" / "screenshots"
CHROMIUM = os.environ.get("AUDIENCES_TEST_CHROMIUM", "/usr/bin/chromium")
DEMO_COMPANIES, DEMO_PEOPLE = 3_000, 7_000
START_TIMEOUT_S = 900  # the first production build installs the frontend's npm packages


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so the page fixture can tell that it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/ping", timeout=2).status_code == 200 and httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"the app did not answer within {START_TIMEOUT_S} s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> str:
    """Base URL of the running app, loaded with a small deterministic demo workspace."""
    workdir = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "REFLEX_USE_NPM": "1",
        "REFLEX_PERF_MODE": "raise",
        "NEXT_TELEMETRY_DISABLED": "1",
        "AUDIENCES_DATABASE_URL": f"sqlite:///{workdir / 'e2e.db'}",
        "AUDIENCES_WORKSPACE": "demo",
        "AUDIENCES_ALLOWED_ORIGINS": f"http://localhost:{port},http://127.0.0.1:{port}",
    }
    subprocess.run(
        [sys.executable, "-m", "audiences_app", "demo", "--companies", str(DEMO_COMPANIES),
         "--people", str(DEMO_PEOPLE), "--seed", "7", "--epoch", "2026-01-01"],  # the same data every day
        cwd=ROOT, env=env, check=True, capture_output=True,
    )
    log = workdir / "app.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(Path(bin_dir) / "reflex"), "run", "--env", "prod", "--single-port",
             "--frontend-port", str(port), "--backend-port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://localhost:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        text = log.read_text()
        assert "Traceback" not in text, f"the app logged an error:\n{text[-4000:]}"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(request, browser, app_url):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=app_url)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:  # what the page showed when the test failed
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture
def screenshot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
