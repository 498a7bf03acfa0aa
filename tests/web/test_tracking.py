"""The customer's tracking page: languages, a phone's screen, accessibility."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from api.auth import Role
from tests.web.conftest import PHONE, Server, axe_violations, shot, watch_errors
from tests.web.day import (
    DEPOT,
    EXCHANGE,
    TOO_BIG,
    now_seconds,
    seed_day,
    send_events,
    today,
)

pytestmark = pytest.mark.browser

WAIT_MS = 30_000


@dataclass(frozen=True)
class Dispatched:
    """The small day, solved and dispatched through the API."""

    tokens: dict[str, str]
    routes: list[dict[str, Any]]


@pytest.fixture(scope="module")
def dispatched(server: Server) -> Dispatched:
    """Seed, solve and dispatch today's small day."""
    day = today()
    tokens = seed_day(server, day)
    body = {"day": day.isoformat(), "depot_id": DEPOT, "params": {"time_limit": 1}}
    got = server.call("POST", "/v1/plans", Role.dispatcher, body)
    assert got.status_code == 202, got.text
    url = got.json()["url"]
    deadline = time.monotonic() + 60
    while (plan := server.call("GET", url, Role.dispatcher).json())["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, "the solve did not finish"
        time.sleep(0.2)
    assert plan["status"] == "draft", plan
    got = server.call("POST", f"{url}/dispatch", Role.dispatcher)
    assert got.status_code == 200, got.text
    return Dispatched(tokens, plan["plan"]["routes"])


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    """A phone-sized browser whose language is Korean.

    ``bypass_csp`` lets axe-core be injected into pages whose policy allows
    only their own scripts.
    """
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, locale="ko-KR", bypass_csp=True
    )
    yield context
    context.close()


def _open(context: BrowserContext, url: str) -> tuple[Page, list[str]]:
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page, errors


def _order(dispatched: Dispatched, route: int, stop: int) -> dict[str, Any]:
    steps = [s for s in dispatched.routes[route]["steps"] if s["type"] == "job"]
    return steps[stop]


def test_language_follows_the_browser_and_switches(
    server: Server, dispatched: Dispatched, phone: BrowserContext
) -> None:
    """Korean for a Korean browser; the English button switches and is kept."""
    order = _order(dispatched, 0, 0)
    page, errors = _open(phone, f"{server.url}/t/{dispatched.tokens[order['id']]}")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("h1")).to_have_text("배송 조회")
    expect(page.locator("#status")).to_have_text("출고 준비 완료")
    expect(page.locator("#eta-window")).to_contain_text("도착 예정")
    expect(page.locator("#history li").first).to_contain_text("출고 준비 완료")
    shot(page, "track-ko")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#status")).to_have_text("Ready to leave the depot")
    expect(page.get_by_role("button", name="English")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.reload()
    expect(page.locator("#status")).to_have_text("Ready to leave the depot")
    assert errors == []


def test_an_exchange_says_both_ways(
    server: Server, dispatched: Dispatched, phone: BrowserContext
) -> None:
    """An exchange's page says the new item comes and the old one goes; a
    plain delivery's says nothing of the kind."""
    page, errors = _open(phone, f"{server.url}/t/{dispatched.tokens[EXCHANGE]}")
    kind = page.locator("#kind")
    expect(kind).to_have_text(
        "교환 배송: 새 상품을 가져다드리고 기존 상품을 회수합니다."
    )
    page.get_by_role("button", name="English").click()
    expect(kind).to_have_text(
        "An exchange: we bring your new item and take the old one."
    )
    other = next(o for o in dispatched.tokens if o not in (EXCHANGE, TOO_BIG))
    page.goto(f"{server.url}/t/{dispatched.tokens[other]}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#kind")).to_be_hidden()
    assert errors == []


def test_fits_a_phone_and_works_by_keyboard(
    server: Server, dispatched: Dispatched, phone: BrowserContext
) -> None:
    """Nothing wider than a phone's screen; the language buttons take the keyboard."""
    order = _order(dispatched, 0, 1)
    page, errors = _open(phone, f"{server.url}/t/{dispatched.tokens[order['id']]}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide"
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.dataset.lang")
    assert focused == "en", "the first stop of the keyboard is the language switch"
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("Ready to leave the depot")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page.locator("#status")).to_have_text("출고 준비 완료")
    assert errors == []


def test_unknown_link_says_so(server: Server, phone: BrowserContext) -> None:
    """A link no order has: 404, and a message instead of a status."""
    page = phone.new_page()
    response = page.goto(f"{server.url}/t/no-such-link?lang=en")
    assert response is not None and response.status == 404
    message = page.locator("#message")
    expect(message).to_contain_text("No delivery has this tracking link")
    expect(page.locator("#status")).to_have_text("")
    assert axe_violations(page, "track-unknown") == []


def test_no_serious_accessibility_violations(
    server: Server, dispatched: Dispatched, browser: Browser
) -> None:
    """axe-core finds nothing serious or critical, with and without the van's map."""
    first, second = _order(dispatched, 0, 0), _order(dispatched, 0, 1)
    van = dispatched.routes[0]["vehicle"]
    for lang in ("en", "ko"):
        context = browser.new_context(viewport=PHONE, is_mobile=True, bypass_csp=True)
        page, errors = _open(
            context, f"{server.url}/t/{dispatched.tokens[second['id']]}?lang={lang}"
        )
        expect(page.locator("#eta-window")).to_be_visible()
        assert axe_violations(page, f"track-dispatched-{lang}") == []
        assert errors == []
        context.close()

    day = today()
    now = now_seconds(day)
    send_events(
        server,
        day,
        [
            {"type": "shift_start", "id": "a1", "at": now - 300, "vehicle": van},
            {"type": "stop_departed", "id": "a2", "at": now - 290, "vehicle": van},
            {"type": "stop_departed", "id": "a3", "at": now - 200, "vehicle": van,
             "order_id": first["id"]},
            {"type": "position", "id": "a4", "at": now - 100, "vehicle": van,
             **{k: second["location"][k] for k in ("lat", "lon")}},
        ],
    )  # fmt: skip
    context = browser.new_context(viewport=PHONE, is_mobile=True, bypass_csp=True)
    page, errors = _open(
        context, f"{server.url}/t/{dispatched.tokens[second['id']]}?lang=en"
    )
    expect(page.locator("#driver")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#driver .leaflet-container")).to_be_visible()
    shot(page, "track-driver")
    assert axe_violations(page, "track-arriving") == []
    assert errors == []
    context.close()
