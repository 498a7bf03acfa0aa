"""The dispatcher console and the tracking page through one day, in Chromium.

Load the console, solve the day, check what is drawn against the plan the
API returns, open a stop's timeline (by mouse and by keyboard), dispatch,
then report the van's events and watch the console and the customer's page
follow without a reload.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

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

#: Long enough for a solve, an SSE poll and a redraw on a busy machine.
WAIT_MS = 30_000


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _stops(route: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in route["steps"] if s["type"] in ("job", "delivery", "pickup")]


def test_console_solve_dispatch_and_track(
    server: Server, page: Page, browser: Browser
) -> None:
    """Routes drawn match the plan; stops open their timelines; events show live."""
    day = today()
    tokens = seed_day(server, day)

    page.goto(f"{server.url}/console?day={day.isoformat()}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    assert page.locator("path.district").count() == 25, "the city's base layer"
    page.get_by_label("API key (dispatcher)").fill(server.keys[Role.dispatcher])
    page.get_by_label("API key (dispatcher)").press("Tab")
    expect(page.locator(f"#depot option[value='{DEPOT}']")).to_have_count(1)
    page.get_by_label("Depot", exact=True).select_option(DEPOT)
    page.get_by_label("Search time (s)").fill("1")
    page.get_by_role("button", name="Solve").click()
    expect(page.locator("#status")).to_contain_text("ready", timeout=WAIT_MS)

    # What the page drew is what the API planned.
    plans = server.call("GET", f"/v1/plans?day={day}", Role.dispatcher).json()
    assert plans["count"] == 1
    pub = server.call("GET", f"/v1/plans/{plans['data'][0]['id']}", Role.dispatcher)
    plan = pub.json()["plan"]
    routes = plan["routes"]
    assert routes, "the small day needs at least one route"
    stops = [s for r in routes for s in _stops(r)]
    expect(page.locator("path.route-line")).to_have_count(len(routes))
    expect(page.locator(".route-row")).to_have_count(len(routes))
    expect(page.locator("path.stop")).to_have_count(len(stops))
    expect(page.locator("button.seg-service")).to_have_count(len(stops))
    breaks = sum(s["type"] == "break" for r in routes for s in r["steps"])
    expect(page.locator(".gantt .seg-break")).to_have_count(breaks)
    assert breaks == 1, "van-a's lunch break is on its timeline"
    summary = plan["summary"]
    expect(page.locator("[data-total=routes] dd")).to_have_text(str(summary["routes"]))
    expect(page.locator("[data-total=served] dd")).to_have_text(str(summary["served"]))
    expect(page.locator("[data-total=unassigned] dd")).to_have_text(
        str(summary["unassigned"])
    )
    assert [u["id"] for u in plan["unassigned"]] == [TOO_BIG]
    unassigned = page.locator(f"#unassigned tr[data-order='{TOO_BIG}']")
    expect(unassigned).to_contain_text(plan["unassigned"][0]["reason"])
    expect(page.locator("path.stop[data-status=planned]")).to_have_count(len(stops))

    # A click on a stop of the map opens its timeline.
    route = max(routes, key=lambda r: len(_stops(r)))
    first, second = _stops(route)[0], _stops(route)[1]
    page.locator(f"path.stop[data-order='{second['id']}']").click()
    detail = page.locator("#stop-detail")
    expect(detail).to_contain_text(second["id"])
    expect(detail).to_contain_text(route["vehicle"])
    timeline = page.locator("#stop-timeline")
    arrive = f"Arrive{_clock(second['arrival'])}"
    expect(timeline.locator("tr", has_text="Arrive")).to_have_text(arrive)
    dash = "\N{EN DASH}"
    service = f"{_clock(second['service_start'])}{dash}{_clock(second['departure'])}"
    expect(timeline.locator("tr", has_text="Service")).to_contain_text(service)
    expect(page.locator(f"button.seg[data-order='{second['id']}']")).to_have_class(
        re.compile(r"\bselected\b")
    )
    expect(page.locator("#tracking-link a")).to_have_attribute(
        "href", f"/t/{tokens[second['id']]}"
    )
    # ... and so does the keyboard, on the timeline.
    page.locator(f"button.seg[data-order='{first['id']}']").focus()
    page.keyboard.press("Enter")
    expect(detail).to_contain_text(first["id"])
    expect(timeline.locator("tr", has_text="Arrive")).to_have_text(
        f"Arrive{_clock(first['arrival'])}"
    )
    # The exchange says what its visit does.
    page.locator(f"button.seg[data-order='{EXCHANGE}']").focus()
    page.keyboard.press("Enter")
    expect(detail).to_contain_text(EXCHANGE)
    expect(page.locator("#stop-kind")).to_have_text("Exchange: deliver 1 / collect 1")
    shot(page, "console-planned")

    # Re-optimising makes a new draft (the old one superseded), drawn in place.
    page.get_by_role("button", name="Re-optimise").click()
    expect(page.locator("#status")).to_contain_text(
        "Re-optimise: plan", timeout=WAIT_MS
    )
    newest = server.call("GET", f"/v1/plans?day={day}", Role.dispatcher).json()
    child = next(p for p in newest["data"] if p["parent_id"] == pub.json()["id"])
    expect(page.locator("#plan-state")).to_have_text(f"(plan {child['id']}, draft)")
    plan = server.call("GET", f"/v1/plans/{child['id']}", Role.dispatcher).json()[
        "plan"
    ]
    routes = plan["routes"]
    stops = [s for r in routes for s in _stops(r)]
    expect(page.locator("path.route-line")).to_have_count(len(routes))
    expect(page.locator("path.stop")).to_have_count(len(stops))
    route = max(routes, key=lambda r: len(_stops(r)))
    first, second = _stops(route)[0], _stops(route)[1]

    page.get_by_role("button", name="Dispatch").click()
    expect(page.locator("#status")).to_contain_text(
        f"dispatched: {len(stops)} orders", timeout=WAIT_MS
    )
    # The live stream recolours every stop without a reload.
    expect(page.locator("path.stop[data-status=dispatched]")).to_have_count(
        len(stops), timeout=WAIT_MS
    )
    expect(page.locator("#plan-state")).to_contain_text("dispatched")

    # The customer of the route's second stop opens the link on a phone.
    phone = browser.new_context(viewport=PHONE, is_mobile=True, locale="en-GB")
    track = phone.new_page()
    errors = watch_errors(track)
    track.goto(f"{server.url}/t/{tokens[second['id']]}")
    status = track.locator("#status")
    expect(status).to_have_text("Ready to leave the depot")
    window = track.locator("#eta-window")
    # Before the van leaves: the promise (this order has no window: its
    # day), never a guessed moment.
    expect(window).to_have_text(
        re.compile(r"^Expected on .+\. The time follows once the van leaves\.$")
    )
    planned_eta = window.inner_text()
    expect(track.locator("#driver")).to_be_hidden()
    shot(track, "track-dispatched")

    # The van leaves the depot and is seen far away: the ETA moves.
    van, now = route["vehicle"], now_seconds(day)
    far = {"lat": 37.6650, "lon": 127.0700}  # Nowon, across the river
    send_events(
        server,
        day,
        [
            {"type": "shift_start", "id": "e1", "at": now - 900, "vehicle": van},
            {"type": "stop_departed", "id": "e2", "at": now - 890, "vehicle": van},
            {"type": "position", "id": "e3", "at": now - 880, "vehicle": van, **far},
        ],
    )
    expect(status).to_have_text("Out for delivery", timeout=WAIT_MS)
    expect(window).not_to_have_text(planned_eta, timeout=WAIT_MS)
    moved_eta = window.inner_text()
    expect(page.locator(f"path.stop[data-order='{first['id']}']")).to_have_attribute(
        "data-status", "arriving", timeout=WAIT_MS
    )
    expect(page.locator("path.van")).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator(f"#vans tr[data-vehicle='{van}'] .position")).to_contain_text(
        "37.6650, 127.0700"
    )

    # The first stop is done: this customer is next, and sees the van.
    near = first["location"]
    send_events(
        server,
        day,
        [
            {"type": "stop_arrived", "id": "e4", "at": now - 600, "vehicle": van,
             "order_id": first["id"]},
            {"type": "delivered", "id": "e5", "at": now - 500, "vehicle": van,
             "order_id": first["id"], "proof": {"recipient": "door"}},
            {"type": "stop_departed", "id": "e6", "at": now - 400, "vehicle": van,
             "order_id": first["id"]},
            {"type": "position", "id": "e7", "at": now - 300, "vehicle": van,
             "lat": near["lat"], "lon": near["lon"]},
        ],
    )  # fmt: skip
    expect(status).to_have_text("Arriving soon: you are the next stop", timeout=WAIT_MS)
    expect(track.locator("#driver")).to_be_visible()
    expect(track.locator("#driver path.van")).to_have_count(1)
    expect(window).not_to_have_text(moved_eta, timeout=WAIT_MS)
    expect(page.locator(f"path.stop[data-order='{first['id']}']")).to_have_attribute(
        "data-status", "delivered", timeout=WAIT_MS
    )
    shot(track, "track-arriving")

    send_events(
        server,
        day,
        [
            {"type": "delivered", "id": "e8", "at": now - 60, "vehicle": van,
             "order_id": second["id"], "proof": {"recipient": "neighbour"}},
        ],
    )  # fmt: skip
    done = (
        "Exchanged: new item delivered, old one collected"
        if second["id"] == EXCHANGE
        else "Delivered"
    )
    expect(status).to_have_text(done, timeout=WAIT_MS)
    expect(track.locator("#eta")).to_have_text("")
    expect(track.locator("#driver")).to_be_hidden()
    history = track.locator("#history li").evaluate_all(
        "items => items.map(li => li.dataset.status)"
    )
    assert history == [
        "delivered",
        "arriving",
        "out_for_delivery",
        "dispatched",
        "planned",
        "created",
    ], history
    expect(page.locator(f"path.stop[data-order='{second['id']}']")).to_have_attribute(
        "data-status", "delivered", timeout=WAIT_MS
    )
    expect(page.locator(f"#vans tr[data-vehicle='{van}'] td.num")).to_have_text("2")
    shot(track, "track-delivered")
    shot(page, "console-live")
    phone.close()
    assert errors == [], f"errors in the tracking page: {errors}"

    # The console as a screen reader or keyboard user meets it, with the day
    # drawn: nothing serious for axe-core (which needs the policy bypassed).
    audit = browser.new_context(
        viewport={"width": 1400, "height": 1000}, bypass_csp=True
    )
    again = audit.new_page()
    again.goto(f"{server.url}/console?day={day.isoformat()}")
    expect(again.locator("body")).to_have_attribute("data-ready", "true")
    again.get_by_label("API key (dispatcher)").fill(server.keys[Role.dispatcher])
    again.get_by_role("button", name="Show plan").click()
    # The page says which plan it drew (or why none): a loaded CI machine
    # can take longer than the default five seconds to get there.
    expect(again.locator("#status")).to_have_text(
        re.compile(r"^Plan \S+ of "), timeout=WAIT_MS
    )
    expect(again.locator("path.route-line")).to_have_count(len(routes))
    again.locator(f"button.seg[data-order='{first['id']}']").click()
    expect(again.locator("#stop-timeline")).to_be_visible()
    assert axe_violations(again, "console") == []
    audit.close()
