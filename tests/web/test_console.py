"""The dispatcher console and the tracking page through one day, in Chromium.

Load the console, solve the day, check what is drawn against the plan the
API returns, open a stop's timeline (by mouse and by keyboard), dispatch,
then report the van's events and watch the console and the customer's page
follow without a reload.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from api.auth import Role
from tests.web.conftest import PHONE, Server, axe_violations, shot, watch_errors
from tests.web.day import (
    DEPOT,
    EXCHANGE,
    SECOND_DEPOT,
    SECOND_VAN,
    TOO_BIG,
    VANS,
    now_seconds,
    seed_cold_orders,
    seed_day,
    seed_two_depots,
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


@pytest.fixture(scope="module")
def tokens(server: Server) -> dict[str, str]:
    """Today's small day, stored once for the module: the orders' tokens."""
    return seed_day(server, today())


def _open_console(page: Page, server: Server, day: dt.date) -> None:
    page.goto(f"{server.url}/console?day={day.isoformat()}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_label("API key (dispatcher)").fill(server.keys[Role.dispatcher])
    page.get_by_label("API key (dispatcher)").press("Tab")
    expect(page.locator(f"#depot option[value='{DEPOT}']")).to_have_count(1)


def test_console_solve_dispatch_and_track(
    server: Server, page: Page, browser: Browser, tokens: dict[str, str]
) -> None:
    """Routes drawn match the plan; stops open their timelines; events show live."""
    day = today()

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
    expect(page.locator("div.stop")).to_have_count(len(stops))
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
    expect(page.locator("div.stop[data-status=planned]")).to_have_count(len(stops))
    # Status is a shape, colour is the route's: every stop to do is a hollow
    # circle drawn in its route's colour.
    expect(page.locator("div.stop svg[data-shape=pending]")).to_have_count(len(stops))
    for r in routes:
        line = page.locator(f"path.route-line[data-vehicle='{r['vehicle']}']")
        colour = line.get_attribute("stroke")
        for s in _stops(r):
            svg = page.locator(f"div.stop[data-order='{s['id']}'] svg").inner_html()
            assert colour and colour in svg, (colour, svg)
    # "Now" is drawn on every timeline, labelled with the time in Seoul.
    expect(page.locator(".gantt .now-line")).to_have_count(len(routes))
    label = page.locator("#now-axis .now-label")
    now = int(label.get_attribute("data-now") or "-1")
    assert abs(now - now_seconds(day)) < 120
    expect(label).to_contain_text(f"now {_clock(now)}")

    # A click on a stop of the map opens its timeline.
    route = max(routes, key=lambda r: len(_stops(r)))
    first, second = _stops(route)[0], _stops(route)[1]
    page.locator(f"div.stop[data-order='{second['id']}']").click()
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
    # Its route stands out; the others fade, on the map and the timelines.
    focus = page.locator("path.route-line.focus")
    expect(focus).to_have_count(1)
    expect(focus).to_have_attribute("data-vehicle", route["vehicle"])
    expect(page.locator("path.route-line.dim")).to_have_count(len(routes) - 1)
    expect(page.locator(".route-row.selected")).to_have_attribute(
        "data-vehicle", route["vehicle"]
    )
    others = sum(len(_stops(r)) for r in routes if r["vehicle"] != route["vehicle"])
    expect(page.locator("div.stop.dim")).to_have_count(others)
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
    # ... and what it changes is there to review before dispatch.
    expect(page.locator("#review")).to_be_visible()
    expect(page.locator("#review-plan")).to_have_text(f"(draft {child['id']})")
    plan = server.call("GET", f"/v1/plans/{child['id']}", Role.dispatcher).json()[
        "plan"
    ]
    routes = plan["routes"]
    stops = [s for r in routes for s in _stops(r)]
    expect(page.locator("path.route-line")).to_have_count(len(routes))
    expect(page.locator("div.stop")).to_have_count(len(stops))
    route = max(routes, key=lambda r: len(_stops(r)))
    first, second = _stops(route)[0], _stops(route)[1]

    page.get_by_role("button", name="Dispatch", exact=True).click()
    expect(page.locator("#status")).to_contain_text(
        f"dispatched: {len(stops)} orders", timeout=WAIT_MS
    )
    # The live stream recolours every stop without a reload.
    expect(page.locator("div.stop[data-status=dispatched]")).to_have_count(
        len(stops), timeout=WAIT_MS
    )
    expect(page.locator("#plan-state")).to_contain_text("dispatched")
    expect(page.locator("#review")).to_be_hidden()
    kpi = page.locator("#kpis")
    expect(kpi.locator("[data-kpi=delivered] dd")).to_have_text(f"0 of {len(stops)}")
    expect(kpi.locator("[data-kpi=failed] dd")).to_have_text("0")

    # The customer of the route's second stop opens the link on a phone.
    phone = browser.new_context(viewport=PHONE, is_mobile=True, locale="en-GB")  # type: ignore[arg-type]
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
    expect(page.locator(f"div.stop[data-order='{first['id']}']")).to_have_attribute(
        "data-status", "arriving", timeout=WAIT_MS
    )
    # The van is drawn with its id on it.
    expect(page.locator("div.van")).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator("div.van .van-tag")).to_have_text(van)
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
    expect(page.locator(f"div.stop[data-order='{first['id']}']")).to_have_attribute(
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
    expect(page.locator(f"div.stop[data-order='{second['id']}']")).to_have_attribute(
        "data-status", "delivered", timeout=WAIT_MS
    )
    delivered = page.locator(f"div.stop[data-order='{second['id']}'] svg")
    expect(delivered).to_have_attribute("data-shape", "delivered")
    expect(page.locator(f"#vans tr[data-vehicle='{van}'] td.num")).to_have_text("2")
    # Live KPIs: two delivered of the plan's stops, none failed.
    expect(kpi.locator("[data-kpi=delivered] dd")).to_have_text(f"2 of {len(stops)}")
    expect(kpi.locator("[data-kpi=failed] dd")).to_have_text("0")
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
    # The stop's edit controls are there for a plan that can still change.
    expect(again.locator("#stop-edit fieldset")).to_be_visible()
    assert axe_violations(again, "console") == []
    # A re-optimisation waits for review: the review panel passes too.
    again.get_by_role("button", name="Re-optimise").click()
    expect(again.locator("#review")).to_be_visible(timeout=WAIT_MS)
    expect(again.locator("#review-changes h3, #review-changes p").first).to_be_visible()
    shot(again, "console-review-panel")
    assert axe_violations(again, "console-review-panel") == []
    audit.close()


def test_depot_filter_shows_its_part_of_an_all_depot_plan(
    server: Server, page: Page, tokens: dict[str, str]
) -> None:
    """A plan of every depot, seen from one depot, draws only that depot's vans
    and orders; another day without a plan clears every panel and leaves no
    action enabled (it used to say "no plan", keep the old panels and throw
    on Re-optimise)."""
    day = today() + dt.timedelta(days=1)
    ids = seed_two_depots(server, day)
    _open_console(page, server, day)
    expect(page.locator(f"#depot option[value='{SECOND_DEPOT}']")).to_have_count(1)
    page.get_by_label("Search time (s)").fill("1")
    page.get_by_role("button", name="Solve").click()
    expect(page.locator("#status")).to_contain_text("ready", timeout=WAIT_MS)
    plans = server.call("GET", f"/v1/plans?day={day}", Role.dispatcher).json()
    (listed,) = plans["data"]
    assert listed["depot_id"] is None, "two depots: a plan of every depot"
    plan = server.call("GET", f"/v1/plans/{listed['id']}", Role.dispatcher).json()
    routes = plan["plan"]["routes"]
    by_van = {r["vehicle"]: [s["id"] for s in _stops(r)] for r in routes}
    assert SECOND_VAN in by_van and set(by_van) & set(VANS)
    expect(page.locator(".route-row")).to_have_count(len(routes))

    for depot, vans in ((SECOND_DEPOT, {SECOND_VAN}), (DEPOT, set(VANS))):
        page.get_by_label("Depot", exact=True).select_option(depot)
        expect(page.locator("#status")).to_contain_text(
            f"showing {depot}", timeout=WAIT_MS
        )
        mine = [v for v in by_van if v in vans]
        expect(page.locator(".route-row")).to_have_count(len(mine))
        drawn = page.locator(".route-row").evaluate_all(
            "rows => rows.map(r => r.dataset.vehicle)"
        )
        assert sorted(drawn) == sorted(mine)
        stops = [o for v in mine for o in by_van[v]]
        expect(page.locator("div.stop")).to_have_count(len(stops))
        assert set(stops) <= set(ids[depot])
        expect(page.locator("path.route-line")).to_have_count(len(mine))
        expect(page.locator("[data-total=routes] dd")).to_have_text(str(len(mine)))
        expect(page.locator("[data-total=served] dd")).to_have_text(str(len(stops)))
        expect(page.locator("#plan-state")).to_contain_text(f"{depot}'s part")
        expect(page.get_by_role("button", name="Re-optimise")).to_be_enabled()
        # A stop of the part opens its detail.
        page.locator(f"button.seg[data-order='{stops[0]}']").click()
        expect(page.locator("#stop-detail")).to_contain_text(stops[0])

    # A day with no plan: nothing of the last one stays, nothing to act on.
    page.get_by_label("Day", exact=True).fill((day + dt.timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Show plan").click()
    expect(page.locator("#status")).to_contain_text("No plan for", timeout=WAIT_MS)
    expect(page.locator(".route-row")).to_have_count(0)
    expect(page.locator("div.stop")).to_have_count(0)
    expect(page.locator("#totals div")).to_have_count(0)
    expect(page.locator("#stop-timeline")).to_have_count(0)
    expect(page.get_by_role("button", name="Re-optimise")).to_be_disabled()
    expect(page.get_by_role("button", name="Dispatch", exact=True)).to_be_disabled()


def _a_plan(server: Server, day: dt.date) -> dict[str, Any]:
    """The day's newest usable plan, solved through the API when there is none."""
    listed = server.call("GET", f"/v1/plans?day={day}", Role.dispatcher).json()
    usable = [p for p in listed["data"] if p["status"] in ("draft", "dispatched")]
    if usable:
        got = server.call("GET", f"/v1/plans/{usable[0]['id']}", Role.dispatcher)
        return dict(got.json())
    return _solve(server, day)


def _solve(server: Server, day: dt.date) -> dict[str, Any]:
    """A new plan of the day at the test depot, solved through the API."""
    body = {"day": day.isoformat(), "depot_id": DEPOT, "params": {"time_limit": 1}}
    accepted = server.call("POST", "/v1/plans", Role.dispatcher, body)
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        got = server.call("GET", accepted.json()["url"], Role.dispatcher).json()
        if got["status"] not in ("queued", "running"):
            assert got["status"] == "draft", got
            return dict(got)
        time.sleep(0.3)
    raise AssertionError("the day's plan was not solved in time")


def _show(page: Page, server: Server, day: dt.date) -> None:
    _open_console(page, server, day)
    page.get_by_role("button", name="Show plan").click()
    expect(page.locator("#status")).to_have_text(
        re.compile(r"^Plan \S+ of "), timeout=WAIT_MS
    )


#: Whether any two of the elements' boxes overlap.
OVERLAPS = """nodes => {
  const boxes = nodes.map(n => n.getBoundingClientRect()).filter(b => b.width > 0);
  const hits = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)
      hits.push([nodes[i].textContent, nodes[j].textContent]);
  }
  return hits;
}"""


def test_console_on_a_phone(
    server: Server, browser: Browser, tokens: dict[str, str]
) -> None:
    """At 390 px the page never scrolls sideways and the timelines' labels
    (hours, now, van names) do not overlap."""
    day = today()
    plan = _a_plan(server, day)["plan"]
    context = browser.new_context(viewport=PHONE, is_mobile=True)  # type: ignore[arg-type]
    phone = context.new_page()
    errors = watch_errors(phone)
    _show(phone, server, day)
    expect(phone.locator(".route-row")).to_have_count(len(plan["routes"]))
    assert phone.locator("#axis .tick").count() >= 2
    wide = phone.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], f"the page scrolls sideways: {wide}"
    labels = phone.locator("#axis .tick, #now-axis .now-label, .route-name")
    assert labels.evaluate_all(OVERLAPS) == []
    for row in phone.locator(".route-row").all():
        assert row.locator(".route-name, .gantt").evaluate_all(OVERLAPS) == []
    # Choosing a stop keeps it so (the detail panel is below the map).
    first = _stops(plan["routes"][0])[0]["id"]
    phone.locator(f"button.seg[data-order='{first}']").click()
    expect(phone.locator("#stop-detail")).to_contain_text(first)
    wide = phone.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], f"the page scrolls sideways: {wide}"
    shot(phone, "console-phone")
    context.close()
    assert errors == [], f"errors in the page: {errors}"


def test_exceptions_panel_and_failed_kpi(
    server: Server, browser: Browser, tokens: dict[str, str]
) -> None:
    """A cold parcel's van too warm: the excursion is listed live (severity,
    kind in words, van, orders, since when), focuses its van on the map and
    is acknowledged from the panel; a failed attempt counts as failed."""
    day = today() + dt.timedelta(days=2)
    cold, *plain = seed_cold_orders(server, day)
    pub = _solve(server, day)
    got = server.call("POST", f"/v1/plans/{pub['id']}/dispatch", Role.dispatcher)
    assert got.status_code == 200, got.text
    routes = pub["plan"]["routes"]
    van = next(r["vehicle"] for r in routes if cold in [s["id"] for s in _stops(r)])
    other = next(o for o in plain if o != cold)
    other_van = next(
        r["vehicle"] for r in routes if other in [s["id"] for s in _stops(r)]
    )

    # axe-core needs the page's policy bypassed to run.
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, bypass_csp=True
    )
    page = context.new_page()
    errors = watch_errors(page)
    _show(page, server, day)
    panel = page.locator("#exceptions")
    expect(panel).to_contain_text("No open exception.", timeout=WAIT_MS)
    send_events(
        server,
        day,
        [
            {"type": "shift_start", "id": "x1", "at": 30_000, "vehicle": van},
            {"type": "position", "id": "x2", "at": 30_050, "vehicle": van,
             "lat": 37.5500, "lon": 126.9400},
            {"type": "sensor", "id": "x3", "at": 30_100, "vehicle": van,
             "kind": "temperature", "value": 9.0},
        ],
    )  # fmt: skip
    row = panel.locator("li.exception")
    expect(row).to_have_count(1, timeout=WAIT_MS)
    listed = server.call("GET", f"/v1/exceptions?day={day}&open=true", Role.dispatcher)
    (exception,) = listed.json()["data"]
    expect(row).to_have_attribute("data-exception", exception["id"])
    expect(row).to_have_attribute("data-severity", "critical")
    expect(row).to_contain_text("Sensor reading out of range")
    expect(row).to_contain_text(f"van {van}")
    expect(row).to_contain_text(cold)
    expect(row.locator(".since")).to_contain_text("since 08:21")
    expect(page.locator("#exceptions-count")).to_have_text("(1)")
    # Choosing it shows its cold parcel's stop and the van on the map.
    row.locator("button.focus").click()
    expect(page.locator("#stop-detail")).to_contain_text(cold)
    expect(page.locator("path.route-line.focus")).to_have_attribute("data-vehicle", van)
    expect(row).to_have_class(re.compile(r"\bfocused\b"))
    shot(page, "console-exceptions")
    assert axe_violations(page, "console-exceptions") == []
    row.get_by_role("button", name=re.compile("^Acknowledge")).click()
    expect(row.locator(".acked")).to_contain_text("Acknowledged by", timeout=WAIT_MS)
    one = server.call("GET", f"/v1/exceptions/{exception['id']}", Role.dispatcher)
    assert one.json()["acknowledged_by"], one.json()
    # Still open (the van is still warm), still acknowledged after a live update.
    send_events(
        server,
        day,
        [
            {"type": "shift_start", "id": "x4", "at": 30_200, "vehicle": other_van},
            {"type": "stop_arrived", "id": "x5", "at": 30_900, "vehicle": other_van,
             "order_id": other},
            {"type": "failed_attempt", "id": "x6", "at": 31_000,
             "vehicle": other_van, "order_id": other, "reason": "not_home"},
        ],
    )  # fmt: skip
    kpi = page.locator("#kpis")
    expect(kpi.locator("[data-kpi=failed] dd")).to_have_text("1", timeout=WAIT_MS)
    expect(kpi.locator("[data-kpi=delivered] dd")).to_have_text(
        f"0 of {len(plain) + 1}"
    )
    expect(row.locator(".acked")).to_contain_text("Acknowledged by")
    context.close()
    assert errors == [], f"errors in the page: {errors}"


def test_a_second_solve_replaces_the_first_draft(
    server: Server, page: Page, tokens: dict[str, str]
) -> None:
    """Solving a day again shows the new draft, and the page discards the
    earlier one (DELETE) if the service left it open; Show plan then finds
    the new one."""
    day = today() + dt.timedelta(days=4)
    seed_cold_orders(server, day)
    _open_console(page, server, day)
    page.get_by_label("Depot", exact=True).select_option(DEPOT)
    page.get_by_label("Search time (s)").fill("1")
    page.get_by_role("button", name="Solve").click()
    expect(page.locator("#status")).to_contain_text("ready", timeout=WAIT_MS)
    first = server.call("GET", f"/v1/plans?day={day}", Role.dispatcher).json()
    (old,) = first["data"]
    expect(page.locator("#plan-state")).to_have_text(f"(plan {old['id']}, draft)")
    deletes: list[str] = []
    page.on(
        "request",
        lambda r: deletes.append(r.url) if r.method == "DELETE" else None,
    )
    page.get_by_role("button", name="Solve").click()
    # The service may have superseded the first draft already: then the
    # page finds no draft to replace and says nothing of it.
    expect(page.locator("#status")).to_contain_text("ready", timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Solve")).to_be_enabled()
    # The first draft is no longer open: the service superseded or discarded
    # it, or (a service without DELETE) the page asked to discard it.
    got = server.call("GET", f"/v1/plans/{old['id']}", Role.dispatcher)
    still_draft = got.status_code == 200 and got.json()["status"] == "draft"
    asked = [u for u in deletes if u.endswith(f"/v1/plans/{old['id']}")]
    assert not still_draft or asked, (got.status_code, got.text, deletes)
    if asked:
        expect(page.locator("#status")).to_contain_text(
            f"It replaces draft {old['id']}."
        )
    listed = server.call("GET", f"/v1/plans?day={day}", Role.dispatcher).json()
    new = next(p for p in listed["data"] if p["id"] != old["id"])
    expect(page.locator("#plan-state")).to_have_text(f"(plan {new['id']}, draft)")
    expect(page.locator("#status")).not_to_contain_text("failed")
    # Showing the day again finds the new draft, never the first one.
    page.get_by_role("button", name="Show plan").click()
    expect(page.locator("#status")).to_have_text(
        f"Plan {new['id']} of {day.isoformat()}.", timeout=WAIT_MS
    )


@pytest.mark.parametrize(
    ("locale", "day", "shown"),
    [
        # Spring forward: 5 h after midnight EST is 06:00 EDT, 1 h is 01:00.
        ("America/New_York|USD|2", "2026-03-08", {3600: "01:00", 18000: "06:00"}),
        # Fall back: 3 h after midnight CEST is 02:00 CET.
        ("Europe/Berlin|EUR|2", "2026-10-25", {3600: "01:00", 10800: "02:00"}),
        # An ordinary day, and Seoul (no changes): the plain count.
        ("America/New_York|USD|2", "2026-03-10", {18000: "05:00", 90000: "25:00"}),
        ("Asia/Seoul|KRW|0", "2026-03-08", {18000: "05:00"}),
    ],
)
def test_the_pages_show_a_change_days_times_on_the_wall_clock(
    server: Server, page: Page, locale: str, day: str, shown: dict[int, str]
) -> None:
    """common.js's wallClock, which the console formats a plan's times with,
    reads elapsed seconds as the deployment's wall clock of the plan's day."""
    page.route(
        f"{server.url}/wall-clock",
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<meta name="milepost-locale" content="{locale}"><p>clock</p>',
        ),
    )
    page.goto(f"{server.url}/wall-clock")
    got = page.evaluate(
        """async ([day, seconds]) => {
            const m = await import("/static/common.js");
            return seconds.map((s) => m.wallClock(s, day));
        }""",
        [day, list(shown)],
    )
    assert got == list(shown.values())
