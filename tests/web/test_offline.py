"""The API's documentation pages work without internet.

Every request to another host than the test server is aborted and recorded:
``/docs`` (Swagger UI) and ``/redoc`` must still draw the API's operations
from the service's own files, and none may try to leave. The ``page``
fixture also fails a test on any console error, so a script refused by the
pages' Content-Security-Policy fails it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.web.conftest import ARTIFACTS, Server, watch_errors

pytestmark = pytest.mark.browser

WAIT_MS = 30_000


def _offline(page: Page, server: Server) -> list[str]:
    """Abort every request that leaves the server's origin; return their URLs."""
    origin = urlsplit(server.url).netloc
    left: list[str] = []

    def handle(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == origin:
            route.continue_()
        else:
            left.append(url)
            route.abort("internetdisconnected")

    page.route("**/*", handle)
    return left


def _viewport_shot(page: Page, name: str) -> None:
    """Save what the window shows (the whole pages are thousands of pixels tall)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_swagger_ui_works_offline(page: Page, server: Server) -> None:
    """/docs lists the operations, POST /v1/plans among them, from local files."""
    left = _offline(page, server)
    got = page.goto(server.url + "/docs")
    assert got is not None and got.status == 200
    plans = page.locator(
        '.opblock-post:has(.opblock-summary-path[data-path="/v1/plans"])'
    )
    expect(plans).to_be_visible(timeout=WAIT_MS)
    expect(plans.locator(".opblock-summary-method")).to_have_text("POST")
    # Opening it shows its request body, read from /openapi.json.
    plans.locator(".opblock-summary-control").click()
    expect(plans.locator(".opblock-section-request-body")).to_be_visible()
    _viewport_shot(page, "docs-offline")
    assert left == []


#: Redoc's sidebar always shows its maker's logo from their CDN; the page's
#: policy blocks it before any request is made (Redoc then hides the image),
#: and Chromium reports the block as a console error.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def redoc_page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    """A fresh page and its console errors (the ``page`` fixture fails on any)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page, watch_errors(page)
    context.close()


def test_redoc_works_offline(
    redoc_page: tuple[Page, list[str]], server: Server
) -> None:
    """/redoc shows the API's title and its operations from local files."""
    page, errors = redoc_page
    left = _offline(page, server)
    got = page.goto(server.url + "/redoc")
    assert got is not None and got.status == 200
    expect(page.locator("h1")).to_contain_text("milepost", timeout=WAIT_MS)
    operation = page.locator(
        '[data-section-id="tag/plans/operation/create_plan_v1_plans_post"]'
    )
    expect(operation).to_be_attached(timeout=WAIT_MS)
    operation.scroll_into_view_if_needed()
    expect(operation.locator("h2").first).to_be_visible()
    expect(operation).to_contain_text("/v1/plans")
    _viewport_shot(page, "redoc-offline")
    assert left == []
    others = [e for e in errors if REDOC_LOGO not in e]
    assert others == [], f"errors in the page: {others}"
    # The logo was refused by the policy, so it was never fetched.
    assert all("Content Security Policy" in e for e in errors), errors


def test_console_sends_nothing_elsewhere(page: Page, server: Server) -> None:
    """The console's minified scripts and Leaflet load and draw the city map."""
    left = _offline(page, server)
    page.goto(server.url + "/console")
    expect(page.locator(".leaflet-container")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".leaflet-overlay-pane path").first).to_be_attached(
        timeout=WAIT_MS
    )
    assert left == []
