"""Browser tests: Debian's Chromium, driven by Playwright, against a real server.

Each module starts ``milepost serve`` on a free port with a fresh SQLite file
and keys for every role; ``pytest -n N`` runs a module on one worker, all of
it, before the other tests (tests/schedule.py). Chromium is
``/usr/bin/chromium`` (set ``MILEPOST_CHROMIUM`` to use another); Playwright
never downloads a browser.
Screenshots and reports go to ``tests/web/artifacts/`` (or
``MILEPOST_WEB_ARTIFACTS``). A missing browser or missing npm assets fail the
tests with what to install: they are never skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from api.auth import Role, create_key
from api.db.engine import make_engine, make_sessionmaker
from api.web.pages import NODE_MODULES, missing_assets
from tests.databases import copy_sqlite
from tests.serve import free_port, serve

CHROMIUM = Path(os.environ.get("MILEPOST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(
    os.environ.get("MILEPOST_WEB_ARTIFACTS", Path(__file__).parent / "artifacts")
)
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
#: A phone's screen (CSS pixels of a common 6-inch phone).
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Server:
    """A running ``milepost serve``: its base URL and a key per role."""

    url: str
    keys: dict[Role, str]
    log: Path

    def call(
        self, method: str, path: str, role: Role, body: Any = None
    ) -> httpx.Response:
        """Call the API as ``role``."""
        return httpx.request(
            method,
            self.url + path,
            json=body,
            headers={"X-API-Key": self.keys[role]},
            timeout=30,
        )


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Server]:
    """``milepost serve`` on a fresh SQLite database, stopped after the module.

    The database is a copy of one migrated beforehand (what ``serve`` would
    do first), so that the keys can be stored before the server starts.
    """
    missing = missing_assets()
    if missing:
        pytest.fail(
            f"web assets not installed ({', '.join(missing)}): "
            "run npm ci --prefix api/web"
        )
    folder = tmp_path_factory.mktemp("web")
    copy_sqlite(sqlite_template, folder / "milepost.db")
    url = f"sqlite:///{folder / 'milepost.db'}"
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        # The device key reports for the vans of the test day's depot
        # (tests/web/day.py stores them there).
        keys = {
            role: create_key(
                session,
                role,
                f"web {role}",
                depot_id="hub-mapo" if role is Role.device else None,
            )
            for role in Role
        }
    engine.dispose()
    port = free_port()
    log = folder / "server.log"
    proc = serve(url, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        yield Server(base, keys, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """The Playwright driver (ships inside the PyPI package).

    One per module, so that no other test of the same worker process runs
    while its event loop exists.
    """
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install it with apt-get install -y chromium "
            "(scripts/test.sh does), or set MILEPOST_CHROMIUM"
        )
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    yield browser
    browser.close()


def _desktop(browser: Browser, *, bypass_csp: bool) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, bypass_csp=bypass_csp
    )
    page = context.new_page()
    errors = watch_errors(page)
    yield page
    context.close()
    assert errors == [], f"errors in the page: {errors}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh desktop-sized page; console errors fail the test."""
    yield from _desktop(browser, bypass_csp=False)


@pytest.fixture
def audit_page(browser: Browser) -> Iterator[Page]:
    """A desktop page with the policy bypassed, so that axe-core can run."""
    yield from _desktop(browser, bypass_csp=True)


def watch_errors(page: Page) -> list[str]:
    """Collect the page's uncaught errors, console errors and 5xx answers.

    The browser's own "Failed to load resource" lines are left out: a 4xx
    the page explains to its user is not an error of the page.
    """
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error"
            and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None,
    )
    return errors


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Page, name: str) -> list[dict[str, Any]]:
    """Run axe-core on the page; save its report; return serious/critical ones."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("axe.run(document)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = json.dumps(result["violations"], indent=1)
    (ARTIFACTS / f"{name}.axe.json").write_text(report)
    return [
        {"id": v["id"], "impact": v["impact"], "at": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def open_planner(server: Server, page: Page) -> None:
    """Open the planner page and sign in with the planner key."""
    page.goto(f"{server.url}/planner")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_label("API key (planner)").fill(server.keys[Role.planner])
    page.get_by_label("API key (planner)").press("Tab")
