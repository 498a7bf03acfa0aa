"""The customer's tracking page: every state it shows, in Korean and English,
on a phone's screen, accessible, and light while it shows no map.

One server and one day for the module: the tests run in file order and each
moves the day on (planned, dispatched, on the road, a delivery, a failed
attempt moved to tomorrow), so the fixtures say which state they leave.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    ViewportSize,
    expect,
)

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
#: The page's weight budget while it shows no map (bytes, all responses).
BUDGET = 150_000
#: A phone's screen, typed for Playwright.
SCREEN: ViewportSize = {"width": PHONE["width"], "height": PHONE["height"]}
#: An order of ours with a promised window, beside the day's others.
SLOTTED = "o-slot"
#: A 1x1 PNG, as the device sends a photo.
PNG = (
    "data:image/png;base64,"
    + base64.b64encode(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2"
            "21bc330000000049454e44ae426082"
        )
    ).decode()
)


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


@dataclass(frozen=True)
class Day:
    """Today's small day, solved: tokens, the plan's URL and routes, and
    the window promised to :data:`SLOTTED`."""

    tokens: dict[str, str]
    url: str
    routes: list[dict[str, Any]]
    window: tuple[int, int]


def _solve(server: Server, day: dt.date) -> tuple[str, dict[str, Any]]:
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
    return url, plan


def _order(server: Server, day: dt.date, job: dict[str, Any]) -> str:
    body = {"day": day.isoformat(), "depot_id": DEPOT, "job": job}
    got = server.call("POST", "/v1/orders", Role.dispatcher, body)
    assert got.status_code == 201, got.text
    token: str = got.json()["tracking_token"]
    return token


@pytest.fixture(scope="module")
def planned(server: Server) -> Day:
    """Seed and solve today's day (not dispatched), with one more order
    promised for the evening (from 19:00, or half an hour from now when
    later): the van comes to it after its other stops."""
    day = today()
    tokens = seed_day(server, day)
    start = min(max(now_seconds(day) + 1800, 19 * 3600), 22 * 3600)
    window = (start, 23 * 3600 + 50 * 60)
    job = {
        "id": SLOTTED,
        "demand": [1],
        "location": {"lat": 37.5500, "lon": 126.9500},
        "service": 300,
        "time_windows": [list(window)],
    }
    tokens[SLOTTED] = _order(server, day, job)
    url, plan = _solve(server, day)
    return Day(tokens, url, plan["plan"]["routes"], window)


@pytest.fixture(scope="module")
def dispatched(server: Server, planned: Day) -> Day:
    """Dispatch today's plan (no van has moved)."""
    got = server.call("POST", f"{planned.url}/dispatch", Role.dispatcher)
    assert got.status_code == 200, got.text
    return planned


@pytest.fixture(scope="module")
def tomorrow(server: Server) -> None:
    """A draft plan for tomorrow: its slots are open for a failed delivery."""
    day = today() + dt.timedelta(days=1)
    for i, (lat, lon) in enumerate([(37.5563, 126.9236), (37.5405, 126.9455)]):
        job = {"id": f"t-{i}", "demand": [1], "location": {"lat": lat, "lon": lon}}
        _order(server, day, job)
    _solve(server, day)


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    """A phone-sized browser whose language is Korean.

    ``bypass_csp`` lets axe-core be injected into pages whose policy allows
    only their own scripts.
    """
    context = browser.new_context(
        viewport=SCREEN, is_mobile=True, locale="ko-KR", bypass_csp=True
    )
    yield context
    context.close()


def _open(context: BrowserContext, url: str) -> tuple[Page, list[str]]:
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page, errors


def _route(day: Day, slotted: bool = True) -> dict[str, Any]:
    """The route that serves :data:`SLOTTED` (or the other one)."""
    for route in day.routes:
        ids = [s["id"] for s in route["steps"] if s["type"] == "job"]
        if (SLOTTED in ids) == slotted:
            return route
    raise AssertionError("no such route")


def _stops(route: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in route["steps"] if s["type"] == "job"]


def _in_both_languages(page: Page, name: str, check: Callable[[str], None]) -> None:
    """Run ``check`` in Korean then English; axe-core finds nothing serious."""
    for lang, button in (("ko", "한국어"), ("en", "English")):
        page.get_by_role("button", name=button).click()
        expect(page.locator("html")).to_have_attribute("lang", lang)
        check(lang)
        assert axe_violations(page, f"{name}-{lang}") == [], lang
    shot(page, name)


# -- before the van leaves ------------------------------------------------------


def test_scheduled_shows_order_date_and_promise(
    server: Server, planned: Day, phone: BrowserContext
) -> None:
    """Planned, not dispatched: the order number, the date and the promised
    slot; no guessed time, no history card left empty."""
    page, errors = _open(phone, f"{server.url}/t/{planned.tokens[SLOTTED]}")
    start, end = (_hhmm(s) for s in planned.window)

    def check(lang: str) -> None:
        status = {"ko": "배송 예정", "en": "Scheduled for delivery"}[lang]
        expect(page.locator("#status")).to_have_text(status)
        expect(page.locator("#order")).to_contain_text(SLOTTED)
        order = {"ko": "주문번호", "en": "Order"}[lang]
        expect(page.locator("#order")).to_contain_text(order)
        promised = {
            "ko": f"{start}~{end} 도착 예정 (약속된 시간)",
            "en": f"between {start} and {end}, your promised slot",
        }
        expect(page.locator("#eta-window")).to_contain_text(promised[lang])
        expect(page.locator("#eta-expected")).to_have_count(0)
        expect(page.locator("#where")).to_be_visible()  # the address, no map yet
        expect(page.locator("#driver")).to_be_hidden()

    _in_both_languages(page, "track-scheduled", check)
    loaded: list[str] = []
    page.on("request", lambda r: loaded.append(r.url))
    page.get_by_role("button", name="Show my address on a map").click()
    expect(page.locator("#driver .leaflet-container")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#driver path.home")).to_have_count(1)
    expect(page.locator("#driver path.van")).to_have_count(0)
    assert any(u.endswith("/static/vendor/leaflet.js") for u in loaded), loaded
    assert axe_violations(page, "track-scheduled-map") == []
    assert errors == []


def test_van_not_started_shows_the_promise_not_a_moment(
    server: Server, dispatched: Day, phone: BrowserContext
) -> None:
    """Dispatched, nothing moved: the promised slot as the expected time
    (never a zero-width "Expected at"); a day's order without a window
    says the day, and the time follows once the van leaves."""
    start, end = (_hhmm(s) for s in dispatched.window)
    page, errors = _open(phone, f"{server.url}/t/{dispatched.tokens[SLOTTED]}")

    def check(lang: str) -> None:
        status = {"ko": "출고 준비 완료", "en": "Ready to leave the depot"}[lang]
        expect(page.locator("#status")).to_have_text(status)
        window = {"ko": f"{start}~{end} 도착 예정", "en": f"between {start} and {end}"}
        expect(page.locator("#eta-window")).to_contain_text(window[lang])
        expect(page.locator("#eta")).not_to_contain_text("Expected at")
        expect(page.locator("#stops")).to_be_hidden()
        expect(page.locator("#history li").first).to_contain_text(status)

    _in_both_languages(page, "track-not-started", check)
    other = _stops(_route(dispatched, slotted=False))[0]["id"]
    page.goto(f"{server.url}/t/{dispatched.tokens[other]}?lang=en")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#eta-window")).to_contain_text(
        "The time follows once the van leaves"
    )
    assert errors == []


def test_light_without_a_map(server: Server, dispatched: Day, browser: Browser) -> None:
    """Showing no map the page loads under 150 KB in all and never Leaflet.

    The open event stream is left out (a live connection, it grows with
    time); it is the only request that does not finish."""
    other = _stops(_route(dispatched, slotted=False))[0]["id"]
    context = browser.new_context(viewport=SCREEN, is_mobile=True)
    page = context.new_page()
    finished: list[Request] = []
    started: list[str] = []
    page.on("request", lambda r: started.append(r.url))
    page.on("requestfinished", lambda r: finished.append(r))
    page.goto(f"{server.url}/t/{dispatched.tokens[other]}?lang=en")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.wait_for_timeout(500)
    sizes = {
        r.url: r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"]
        for r in finished
    }
    total = sum(sizes.values())
    assert total < BUDGET, f"{total} bytes: {sizes}"
    assert not [u for u in started if "leaflet" in u], started
    unfinished = set(started) - set(sizes)
    assert all(u.endswith("/stream") for u in unfinished), unfinished
    context.close()


# -- on the road ------------------------------------------------------------------


@pytest.fixture(scope="module")
def on_the_road(server: Server, dispatched: Day) -> Day:
    """The slotted order's van left the depot and delivered its first stop
    (with the recipient's name and a photo), and sent a position."""
    route = _route(dispatched)
    van, stops = route["vehicle"], _stops(route)
    ids = [s["id"] for s in stops]
    assert ids.index(SLOTTED) >= 2, f"the evening order comes after two: {ids}"
    day = today()
    now = now_seconds(day)
    near = stops[1]["location"]
    send_events(
        server,
        day,
        [
            {"type": "shift_start", "id": "r1", "at": now - 600, "vehicle": van},
            {"type": "stop_departed", "id": "r2", "at": now - 590, "vehicle": van},
            {"type": "delivered", "id": "r3", "at": now - 300, "vehicle": van,
             "order_id": stops[0]["id"],
             "proof": {"recipient": "Kim <b>Min</b>", "image": PNG}},
            {"type": "stop_departed", "id": "r3b", "at": now - 290, "vehicle": van,
             "order_id": stops[0]["id"]},
            {"type": "position", "id": "r4", "at": now - 60, "vehicle": van,
             "lat": near["lat"], "lon": near["lon"]},
        ],
    )  # fmt: skip
    return dispatched


def test_next_stop_shows_the_van_on_a_map(
    server: Server, on_the_road: Day, phone: BrowserContext
) -> None:
    """The next stop: "next stop", the van and the address on a map (Leaflet
    loaded now), a hand-over window that is not a moment."""
    stops = _stops(_route(on_the_road))
    page, errors = _open(phone, f"{server.url}/t/{on_the_road.tokens[stops[1]['id']]}")

    def check(lang: str) -> None:
        expect(page.locator("#stops")).to_have_text(
            {"ko": "다음 배송지입니다", "en": "Next stop: you"}[lang]
        )
        expect(page.locator("#where .leaflet-container")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#where path.van")).to_have_count(1)
        expect(page.locator("#where path.home")).to_have_count(1)
        seen = {"ko": "마지막 위치", "en": "Last seen at"}[lang]
        expect(page.locator("#driver-text")).to_contain_text(seen)

    _in_both_languages(page, "track-next-stop", check)
    assert errors == []


def test_en_route_counts_stops_and_waits_for_the_window(
    server: Server, on_the_road: Day, phone: BrowserContext
) -> None:
    """Further down the route: "1 stop away" (or more), a hand-over window
    at least a quarter of an hour wide and never before the promised slot."""
    stops = _stops(_route(on_the_road))
    ids = [s["id"] for s in stops]
    before = ids.index(SLOTTED) - 1  # stops still to make before it
    page, errors = _open(phone, f"{server.url}/t/{on_the_road.tokens[SLOTTED]}")
    opens = _hhmm(on_the_road.window[0])

    def check(lang: str) -> None:
        away = {
            "ko": "다음 배송지입니다" if before == 0 else f"{before}곳 전",
            "en": "Next stop: you"
            if before == 0
            else f"{before} stop{'s' if before > 1 else ''} away",
        }
        expect(page.locator("#stops")).to_have_text(away[lang])
        expect(page.locator("#eta-window")).to_be_visible()
        expect(page.locator("#eta-expected")).to_be_visible()
        promised = {"ko": f"약속된 시간: {opens}~", "en": f"Promised between {opens}"}
        expect(page.locator("#promised")).to_contain_text(promised[lang])

    _in_both_languages(page, "track-en-route", check)
    body = page.evaluate(
        "fetch(location.pathname.replace('/t/', '/v1/track/')).then(r => r.json())"
    )
    window = body["window"]
    assert window["earliest"][11:16] >= opens  # same day, HH:MM
    assert window["earliest"] < window["latest"]
    assert errors == []


def test_delivered_shows_proof_and_takes_a_rating(
    server: Server, on_the_road: Day, phone: BrowserContext
) -> None:
    """Delivered: who took it and the photo (the name as text, never HTML);
    one tap rates it, the NPS and a comment follow, and a reload keeps them."""
    first = _stops(_route(on_the_road))[0]["id"]
    url = f"{server.url}/t/{on_the_road.tokens[first]}"
    page, errors = _open(phone, url)

    def check(lang: str) -> None:
        text = {"ko": "Kim <b>Min</b>님께 전달했습니다", "en": "to Kim <b>Min</b>."}
        expect(page.locator("#proof-text")).to_contain_text(text[lang])
        expect(page.locator("#proof b")).to_have_count(0)
        alt = {"ko": "배송된 상품 사진", "en": "Photo of your delivered parcel"}
        expect(page.locator("#proof-images img")).to_have_attribute("alt", alt[lang])
        title = {"ko": "배송은 어떠셨나요?", "en": "How did we do?"}[lang]
        expect(page.locator("#rate-h")).to_have_text(title)

    _in_both_languages(page, "track-delivered", check)
    width = page.locator("#proof-images img").evaluate("img => img.naturalWidth")
    assert width == 1
    page.locator("#csat button[data-value='5']").click()
    expect(page.locator("#rate-status")).to_have_text("Thank you for your rating.")
    page.locator("#nps button[data-value='9']").click()
    page.locator("#comment").fill("On time")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#rate-status")).to_have_text("Thank you for your rating.")
    got = server.call("GET", f"/v1/orders/{first}/tracking", Role.dispatcher).json()
    assert got["rating"] == {**got["rating"], "csat": 5, "nps": 9, "comment": "On time"}
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#csat button[data-value='5']")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_role("button", name="한국어").click()
    expect(page.locator("#csat button[data-value='5']")).to_contain_text("매우 만족")
    assert errors == []


def test_failed_attempt_picks_another_slot(
    server: Server, on_the_road: Day, tomorrow: None, phone: BrowserContext
) -> None:
    """A failed attempt says why and what happens next; the customer picks a
    slot of tomorrow, and the page then shows the new date and slot."""
    stops = _stops(_route(on_the_road))
    failed = stops[1]["id"]
    van = _route(on_the_road)["vehicle"]
    send_events(
        server,
        today(),
        [
            {"type": "failed_attempt", "id": "r5", "at": now_seconds(today()) - 30,
             "vehicle": van, "order_id": failed, "reason": "not_home"},
        ],
    )  # fmt: skip
    page, errors = _open(phone, f"{server.url}/t/{on_the_road.tokens[failed]}")
    slots = page.locator("#rebook-list input[type=radio]")
    expect(slots.first).to_be_visible(timeout=WAIT_MS)

    def check(lang: str) -> None:
        reason = {"ko": "부재중", "en": "Nobody was home"}[lang]
        expect(page.locator("#next-reason")).to_contain_text(reason)
        nxt = {"ko": "다른 시간을 고르시면", "en": "Pick another slot below"}[lang]
        expect(page.locator("#next-text")).to_contain_text(nxt)
        expect(page.locator("#rebook-h")).to_have_text(
            {"ko": "다른 시간 선택", "en": "Pick another slot"}[lang]
        )

    _in_both_languages(page, "track-failed", check)
    label = page.locator("#rebook-list label").first.inner_text()
    slots.first.check()
    page.get_by_role("button", name="Book this slot").click()
    start, end = label.split("\u2013")  # an en dash
    expect(page.locator("#rebook-status")).to_contain_text("Booked: ", timeout=WAIT_MS)
    expect(page.locator("#status")).to_have_text("Scheduled for delivery")
    expect(page.locator("#eta-window")).to_contain_text(
        f"between {start} and {end}, your promised slot"
    )
    # The failed attempt was today, the page is now tomorrow's: it is dated.
    was = today()
    expect(
        page.locator("#history li[data-status=failed_attempt] time")
    ).to_contain_text(f"{was:%a} {was.day} {was:%b}")
    assert axe_violations(page, "track-rebooked-en") == []
    page.get_by_role("button", name="한국어").click()
    expect(page.locator("#rebook-status")).to_contain_text("예약되었습니다")
    expect(page.locator("#eta-window")).to_contain_text(f"{start}~{end} 도착 예정")
    assert axe_violations(page, "track-rebooked-ko") == []
    shot(page, "track-rebooked")
    assert errors == []


# -- the other pages ---------------------------------------------------------------


def test_an_exchange_says_both_ways(
    server: Server, dispatched: Day, phone: BrowserContext
) -> None:
    """An exchange's page says the new item comes and the old one goes; a
    plain delivery's says nothing of the kind."""
    page, errors = _open(phone, f"{server.url}/t/{dispatched.tokens[EXCHANGE]}")
    kind = page.locator("#kind")

    def check(lang: str) -> None:
        expect(kind).to_have_text(
            {
                "ko": "교환 배송: 새 상품을 가져다드리고 기존 상품을 회수합니다.",
                "en": "An exchange: we bring your new item and take the old one.",
            }[lang]
        )
        expect(page.locator("#order")).to_contain_text(EXCHANGE)

    _in_both_languages(page, "track-exchange", check)
    other = next(o for o in dispatched.tokens if o not in (EXCHANGE, TOO_BIG))
    page.goto(f"{server.url}/t/{dispatched.tokens[other]}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#kind")).to_be_hidden()
    assert errors == []


def test_a_station_order_names_the_station(
    server: Server, phone: BrowserContext
) -> None:
    """An order delivered to a pickup station says where to collect it and
    puts the station, not an address, under "Where"."""
    station = {
        "id": "locker-web",
        "name": "GS25 Hoehyeon",
        "location": {"lat": 37.558, "lon": 126.982},
    }
    got = server.call("POST", "/v1/stations", Role.dispatcher, station)
    assert got.status_code == 201, got.text
    job = {
        "id": "o-station",
        "demand": [1],
        "station": "locker-web",
        "service_level": "pickup_station",
    }
    day = today() + dt.timedelta(days=3)
    body = {"day": day.isoformat(), "job": job}
    got = server.call("POST", "/v1/orders", Role.dispatcher, body)
    assert got.status_code == 201, got.text
    page, errors = _open(phone, f"{server.url}/t/{got.json()['tracking_token']}")

    def check(lang: str) -> None:
        expect(page.locator("#kind")).to_have_text(
            {
                "ko": "픽업 보관함 GS25 Hoehyeon(으)로 배송됩니다. "
                "그곳에서 상품을 찾아가세요.",
                "en": "Delivered at pickup station GS25 Hoehyeon: "
                "collect your parcel there.",
            }[lang]
        )
        expect(page.locator("#address-text")).to_have_text(
            {"ko": "픽업 보관함 GS25 Hoehyeon", "en": "Pickup station GS25 Hoehyeon"}[
                lang
            ]
        )

    _in_both_languages(page, "track-station", check)
    assert errors == []


def test_fits_a_phone_and_works_by_keyboard(
    server: Server, dispatched: Day, phone: BrowserContext
) -> None:
    """Nothing wider than a phone's screen; the language buttons take the
    keyboard, and the choice is kept."""
    order = _stops(_route(dispatched, slotted=False))[1]["id"]
    page, errors = _open(phone, f"{server.url}/t/{dispatched.tokens[order]}")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide"
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.dataset.lang")
    assert focused == "en", "the first stop of the keyboard is the language switch"
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("Ready to leave the depot")
    page.reload()
    expect(page.locator("#status")).to_have_text("Ready to leave the depot")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page.locator("#status")).to_have_text("출고 준비 완료")
    assert errors == []


def test_unknown_link_says_so(server: Server, phone: BrowserContext) -> None:
    """A link no order has: 404, and a message instead of a status or an
    empty history card, in both languages."""
    page = phone.new_page()
    response = page.goto(f"{server.url}/t/no-such-link")
    assert response is not None and response.status == 404
    expect(page.locator("body")).to_have_attribute("data-ready", "true")

    def check(lang: str) -> None:
        text = {
            "ko": "이 조회 링크에 해당하는 배송이 없습니다",
            "en": "No delivery has this tracking link",
        }[lang]
        expect(page.locator("#message")).to_contain_text(text)
        expect(page.locator("#status")).to_have_text("")
        expect(page.locator("#history-card")).to_be_hidden()
        expect(page.locator("#order")).to_be_hidden()

    _in_both_languages(page, "track-unknown", check)
