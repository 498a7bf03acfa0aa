"""A broken-down van rescued from the dispatcher console, in Chromium.

The day is solved and dispatched on the page; the busiest van delivers its
first stop, drives on and breaks down. The page compares the rescue options
(``POST /v1/plans/{id}/reoptimize/compare``), the dispatcher picks one, and
the re-optimised draft is reviewed and dispatched like any other.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from api.auth import Role
from tests.web.conftest import Server, axe_violations, shot
from tests.web.day import now_seconds, seed_day, send_events, today, wait_plan

pytestmark = pytest.mark.browser

#: Long enough for a solve, a comparison and a redraw on a busy machine.
WAIT_MS = 45_000
#: Seconds of search per plan: the comparison plans once per rescue choice.
SEARCH = "1"


def _stops(route: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in route["steps"] if s["type"] in ("job", "delivery", "pickup")]


@pytest.fixture(scope="module")
def tokens(server: Server) -> dict[str, str]:
    """Today's small day, stored once for the module."""
    return seed_day(server, today())


def _show(page: Page, server: Server, plan_id: str) -> None:
    page.goto(f"{server.url}/console?day={today().isoformat()}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_label("API key (dispatcher)").fill(server.keys[Role.dispatcher])
    page.get_by_label("API key (dispatcher)").press("Tab")
    page.get_by_label("Search time (s)").fill(SEARCH)
    page.get_by_role("button", name="Show plan").click()
    expect(page.locator("#status")).to_contain_text(
        f"Plan {plan_id} of", timeout=WAIT_MS
    )


def _solve_and_dispatch(page: Page, server: Server) -> dict[str, Any]:
    """Solve today's stored orders on the page and dispatch the plan."""
    page.goto(f"{server.url}/console?day={today().isoformat()}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_label("API key (dispatcher)").fill(server.keys[Role.dispatcher])
    page.get_by_label("API key (dispatcher)").press("Tab")
    page.get_by_label("Search time (s)").fill(SEARCH)
    expect(page.locator("#rescue")).to_be_hidden()
    page.get_by_role("button", name="Solve").click()
    expect(page.locator("#status")).to_contain_text("Solve: plan", timeout=WAIT_MS)
    page.get_by_role("button", name="Dispatch", exact=True).click()
    expect(page.locator("#status")).to_contain_text("dispatched", timeout=WAIT_MS)
    listed = server.call("GET", f"/v1/plans?day={today()}", Role.dispatcher).json()
    live = next(p for p in listed["data"] if p["status"] == "dispatched")
    got = server.call("GET", f"/v1/plans/{live['id']}", Role.dispatcher)
    return dict(got.json())


def test_a_broken_down_van_is_rescued_reviewed_and_dispatched(
    server: Server, audit_page: Page, tokens: dict[str, str]
) -> None:
    """Declaring a van broken down shows each rescue option as the service
    planned it; choosing one makes a draft whose change list shows the
    parcels taken off the van; dispatching it supersedes the live plan and
    no route of the new plan has the broken van serve anything."""
    page = audit_page
    live = _solve_and_dispatch(page, server)
    route = max(live["plan"]["routes"], key=lambda r: len(_stops(r)))
    van, stops = route["vehicle"], _stops(route)
    assert len(stops) >= 3, "the busiest van has parcels left after its first stop"
    first, now = stops[0], now_seconds(today())
    where = {"lat": first["location"]["lat"], "lon": first["location"]["lon"]}
    send_events(
        server,
        today(),
        [
            {"type": "shift_start", "id": "b1", "at": now - 1800, "vehicle": van},
            {"type": "stop_arrived", "id": "b2", "at": now - 1200, "vehicle": van,
             "order_id": first["id"]},
            {"type": "delivered", "id": "b3", "at": now - 1100, "vehicle": van,
             "order_id": first["id"], "proof": {"recipient": "door"}},
            {"type": "stop_departed", "id": "b4", "at": now - 1000, "vehicle": van,
             "order_id": first["id"]},
            {"type": "position", "id": "b5", "at": now - 900, "vehicle": van,
             **where},
        ],
    )  # fmt: skip
    # The page knows where the van was last seen before it is declared broken.
    seen = page.locator(f"#vans tr[data-vehicle='{van}'] td.position")
    expect(seen).not_to_have_text("not seen", timeout=WAIT_MS)
    rescue = page.locator("#rescue")
    expect(rescue).to_be_visible()
    rescue.get_by_label("Broken-down van").select_option(van)
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/reoptimize/compare"),
        timeout=WAIT_MS,
    ) as answer:
        rescue.get_by_role("button", name="Van broke down").click()
        # A comparison takes seconds: the page says so and waits.
        expect(page.locator("#status")).to_contain_text(f"Van {van} broke down")
        expect(page.locator("#solve")).to_be_disabled()
    assert answer.value.ok, answer.value.text()
    sent = answer.value.request.post_data_json
    assert isinstance(sent, dict), sent
    assert sent["unavailable"] == [van]
    assert sent["params"] == {"time_limit": 1}
    # The page sends only the van and now; the service starts the van from
    # tracking's view: its delivered stop done, the rest on board.
    assert "vehicles" not in sent
    options = answer.value.json()["options"]
    assert {o["rescue"] for o in options} == {"transfer", "depot"}
    offered = [o for o in options if o["offered"]]
    assert offered, options
    assert all(o["parcels"] == len(stops) - 1 for o in options), options
    assert all(o["changes"]["completed"] == [first["id"]] for o in options)

    table = page.locator("#rescue-table")
    expect(table.locator("tbody tr")).to_have_count(len(options))
    cheapest = min(o["cost"] for o in offered)
    for o in options:
        row = table.locator(f"tr[data-rescue={o['rescue']}]")
        expect(row).to_have_attribute("data-offered", str(o["offered"]).lower())
        expect(row.locator("[data-col=cost]")).to_have_text(f"{round(o['cost']):,}")
        difference = (
            "cheapest" if o["cost"] == cheapest else f"+{round(o['cost'] - cheapest):,}"
        )
        expect(row.locator("[data-col=difference]")).to_have_text(difference)
        expect(row.locator("[data-col=served]")).to_have_text(str(o["served"]))
        expect(row.locator("[data-col=late]")).to_have_text(str(o["late"]))
        expect(row.locator("[data-col=delivered]")).to_have_text(
            f"{o['delivered']} of {o['parcels']}"
        )
        dropped = row.locator("[data-col=dropped] li")
        expect(dropped).to_have_count(len(o["dropped"]))
        for d in o["dropped"]:
            item = row.locator(f"[data-col=dropped] li[data-order='{d['order']}']")
            expect(item).to_contain_text(d["reason"].replace("_", " "))
        choose = row.get_by_role("button", name=re.compile("^Choose"))
        if o["offered"]:
            expect(choose).to_be_enabled()
        else:
            expect(choose).to_be_disabled()
            expect(row).to_contain_text(o["checker"])
    expect(page.locator("#solve")).to_be_enabled()
    shot(page, "console-rescue-options")
    assert axe_violations(page, "console-rescue-options") == []

    # The option delivering most parcels today, by keyboard.
    best = max(offered, key=lambda o: (o["delivered"], -o["cost"]))
    choose = table.locator(f"tr[data-rescue={best['rescue']}] button")
    choose.focus()
    choose.press("Enter")
    review = page.locator("#review")
    expect(review).to_be_visible(timeout=WAIT_MS)
    expect(review).to_be_focused()
    expect(page.locator("#status")).to_contain_text(f"Rescue of {van}", timeout=WAIT_MS)
    expect(table).to_have_count(0)
    listed = server.call("GET", f"/v1/plans?day={today()}", Role.dispatcher).json()
    child = next(p for p in listed["data"] if p["parent_id"] == live["id"])
    draft = server.call("GET", f"/v1/plans/{child['id']}", Role.dispatcher).json()
    assert draft["status"] == "draft"
    expect(page.locator("#review-plan")).to_have_text(f"(draft {child['id']})")
    rescued = draft["changes"]["rescued"]
    assert {r["order"] for r in rescued} == {s["id"] for s in stops[1:]}
    for r in rescued:
        assert r["how"] == best["rescue"] and r["vehicle"] == van
        item = review.locator(f"li[data-change=rescued][data-order='{r['order']}']")
        words = f"{van} → {r['by']}" if r["by"] else "not delivered today"
        expect(item).to_contain_text(words)
    # Nothing of the broken van's is moved onto it.
    for m in draft["changes"]["moved"] + draft["changes"]["inserted"]:
        assert m["after"] != van, m
    shot(page, "console-rescue-review")

    page.get_by_role("button", name="Dispatch this plan").click()
    expect(page.locator("#plan-state")).to_have_text(
        f"(plan {child['id']}, dispatched)", timeout=WAIT_MS
    )
    new = server.call("GET", f"/v1/plans/{child['id']}", Role.dispatcher).json()
    old = server.call("GET", f"/v1/plans/{live['id']}", Role.dispatcher).json()
    assert new["status"] == "dispatched"
    assert old["status"] == "superseded"
    assert old["superseded_by"] == child["id"]
    for r in new["plan"]["routes"]:
        if r["vehicle"] == van:
            assert [s["id"] for s in _stops(r)] in ([], [first["id"]]), r
    served = {s["id"] for r in new["plan"]["routes"] for s in _stops(r)}
    delivered = {r["order"] for r in rescued if r["by"]}
    assert delivered <= served


def test_a_rescue_of_a_replaced_plan_is_refused_with_the_reason(
    server: Server, page: Page, tokens: dict[str, str]
) -> None:
    """A van never seen on the road is compared without a progress (nothing
    on board); when the plan is replaced before an option is chosen, the
    service's refusal is said in the status line, nothing is stored and the
    buttons work again."""
    day = today()
    listed = server.call("GET", f"/v1/plans?day={day}", Role.dispatcher).json()
    live = next((p for p in listed["data"] if p["status"] == "dispatched"), None)
    if live is None:
        body = {"day": day.isoformat(), "params": {"time_limit": 1}}
        accepted = server.call("POST", "/v1/plans", Role.dispatcher, body)
        assert accepted.status_code == 202, accepted.text
        live = wait_plan(server, accepted.json()["url"], WAIT_MS)
        got = server.call("POST", f"/v1/plans/{live['id']}/dispatch", Role.dispatcher)
        assert got.status_code == 200, got.text
    plan_id = live["id"]
    view = server.call("GET", f"/v1/plans/{plan_id}/live", Role.dispatcher).json()
    seen = {v["vehicle"] for v in view["vehicles"] if v["lat"] is not None}
    pub = server.call("GET", f"/v1/plans/{plan_id}", Role.dispatcher).json()
    van = next(r["vehicle"] for r in pub["plan"]["routes"] if r["vehicle"] not in seen)
    _show(page, server, plan_id)
    page.get_by_label("Broken-down van").select_option(van)
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/reoptimize/compare"),
        timeout=WAIT_MS,
    ) as answer:
        page.get_by_role("button", name="Van broke down").click()
    assert answer.value.ok, answer.value.text()
    sent = answer.value.request.post_data_json
    assert isinstance(sent, dict), sent
    assert sent["unavailable"] == [van] and "vehicles" not in sent
    options = answer.value.json()["options"]
    assert all(o["parcels"] == 0 for o in options), options
    choose = page.locator("#rescue-table button:not([disabled])").first
    expect(choose).to_be_visible(timeout=WAIT_MS)

    # Meanwhile the plan is replaced (re-optimised and dispatched elsewhere).
    replan: dict[str, Any] = {"time": now_seconds(day), "params": {"time_limit": 1}}
    accepted = server.call(
        "POST", f"/v1/plans/{plan_id}/reoptimize", Role.dispatcher, replan
    )
    assert accepted.status_code == 202, accepted.text
    newer = wait_plan(server, accepted.json()["url"], WAIT_MS)
    got = server.call("POST", f"/v1/plans/{newer['id']}/dispatch", Role.dispatcher)
    assert got.status_code == 200, got.text

    choose.click()
    status = page.locator("#status")
    expect(status).to_have_class(re.compile(r"\berror\b"), timeout=WAIT_MS)
    expect(status).to_contain_text(f"Rescue of {van}")
    expect(status).to_contain_text("superseded")
    expect(page.locator("#review")).to_be_hidden()
    expect(page.get_by_role("button", name="Van broke down")).to_be_enabled()
    listed = server.call("GET", f"/v1/plans?day={day}", Role.dispatcher).json()
    assert not [
        p
        for p in listed["data"]
        if p["parent_id"] == plan_id and p["id"] != newer["id"]
    ]
