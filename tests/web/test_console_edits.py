"""The console's review-then-dispatch and route edits, in Chromium.

These need the service's additions of issue #18 (a re-optimised dispatched
plan stays live while its draft child waits; ``DELETE /v1/plans/{id}``;
``POST /v1/plans/{id}/edits/preview`` and ``/edits``; exception decisions;
``GET /v1/plans/{id}/geometry``; ``kpis`` in the live view). The page hides
each control the service does not have; these tests check what it does when
the service has them.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from api.auth import Role
from tests.web.conftest import Server, axe_violations, shot
from tests.web.day import DEPOT, now_seconds, seed_day, send_events, today, wait_plan

pytestmark = pytest.mark.browser

#: Long enough for a solve, an SSE poll and a redraw on a busy machine.
WAIT_MS = 30_000
MINUS = "\N{MINUS SIGN}"


def _stops(route: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in route["steps"] if s["type"] in ("job", "delivery", "pickup")]


def _signed(x: float, digits: int = 0) -> str:
    """A difference as the page writes it: a plus, minus or plus-minus sign,
    then the size rounded half up (JavaScript's ``toFixed``)."""
    sign = "+" if x > 0 else MINUS if x < 0 else "\N{PLUS-MINUS SIGN}"
    size = Decimal(abs(x)).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    return f"{sign}{size}"


@pytest.fixture(scope="module")
def tokens(server: Server) -> dict[str, str]:
    """Today's small day, stored once for the module."""
    return seed_day(server, today())


def _dispatched(server: Server) -> dict[str, Any]:
    """Today's dispatched plan: solved and dispatched through the API if none."""
    day = today()
    listed = server.call("GET", f"/v1/plans?day={day}", Role.dispatcher).json()
    for p in listed["data"]:
        if p["status"] == "dispatched":
            got = server.call("GET", f"/v1/plans/{p['id']}", Role.dispatcher)
            return dict(got.json())
    body = {"day": day.isoformat(), "depot_id": DEPOT, "params": {"time_limit": 1}}
    accepted = server.call("POST", "/v1/plans", Role.dispatcher, body)
    assert accepted.status_code == 202, accepted.text
    pub = wait_plan(server, accepted.json()["url"], WAIT_MS)
    got = server.call("POST", f"/v1/plans/{pub['id']}/dispatch", Role.dispatcher)
    assert got.status_code == 200, got.text
    return dict(server.call("GET", f"/v1/plans/{pub['id']}", Role.dispatcher).json())


def _show(page: Page, server: Server, plan_id: str) -> None:
    page.goto(f"{server.url}/console?day={today().isoformat()}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_label("API key (dispatcher)").fill(server.keys[Role.dispatcher])
    page.get_by_label("API key (dispatcher)").press("Tab")
    page.get_by_role("button", name="Show plan").click()
    expect(page.locator("#status")).to_contain_text(
        f"Plan {plan_id} of", timeout=WAIT_MS
    )


def test_reoptimise_is_reviewed_then_dispatched(
    server: Server, audit_page: Page, tokens: dict[str, str]
) -> None:
    """Re-optimising a dispatched plan shows the draft's changes while the
    dispatched plan stays live on the map; dispatching the draft follows its
    live stream; a second re-optimisation is discarded."""
    page = audit_page
    live = _dispatched(server)
    _show(page, server, live["id"])
    page.get_by_role("button", name="Re-optimise").click()
    expect(page.locator("#status")).to_contain_text("ready for review", timeout=WAIT_MS)
    listed = server.call("GET", f"/v1/plans?day={today()}", Role.dispatcher).json()
    child = next(p for p in listed["data"] if p["parent_id"] == live["id"])
    assert child["status"] == "draft"
    parent = server.call("GET", f"/v1/plans/{live['id']}", Role.dispatcher).json()
    assert parent["status"] == "dispatched", "the live plan stays live"
    draft = server.call("GET", f"/v1/plans/{child['id']}", Role.dispatcher).json()

    # The map and timelines still show the live plan; the review lists changes.
    expect(page.locator("#plan-state")).to_have_text(f"(plan {live['id']}, dispatched)")
    review = page.locator("#review")
    expect(review).to_be_visible()
    expect(page.locator("#review-plan")).to_have_text(f"(draft {child['id']})")
    changes = draft["changes"]
    for m in changes["moved"]:
        item = review.locator(f"li[data-change=moved][data-order='{m['order']}']")
        expect(item).to_contain_text(f"{m['before']} → {m['after']}")
    for d in changes["dropped"]:
        expect(
            review.locator(f"li[data-change=dropped][data-order='{d['order']}']")
        ).to_have_count(1)
    shifted = [
        e for e in changes["eta_shifts"] if round((e["after"] - e["before"]) / 60) != 0
    ]
    expect(review.locator("li[data-change=eta_shift]")).to_have_count(len(shifted))
    for e in shifted:
        minutes = _signed((e["after"] - e["before"]) / 60)
        expect(
            review.locator(f"li[data-change=eta_shift][data-order='{e['order']}']")
        ).to_contain_text(f"({minutes} min)")
    # The draft's routes, dashed, on demand.
    page.get_by_role("button", name="Show the draft's routes").click()
    expect(page.locator("path.draft-line")).to_have_count(len(draft["plan"]["routes"]))
    expect(page.locator("path.route-line")).to_have_count(len(live["plan"]["routes"]))
    shot(page, "console-review")
    assert axe_violations(page, "console-review") == []

    page.get_by_role("button", name="Dispatch this plan").click()
    expect(page.locator("#status")).to_contain_text(
        f"Plan {child['id']} dispatched", timeout=WAIT_MS
    )
    expect(review).to_be_hidden()
    expect(page.locator("#plan-state")).to_have_text(
        f"(plan {child['id']}, dispatched)"
    )
    expect(page.locator("path.draft-line")).to_have_count(0)
    # The page follows the dispatched draft's live stream.
    route = max(draft["plan"]["routes"], key=lambda r: len(_stops(r)))
    first, van, now = _stops(route)[0]["id"], route["vehicle"], now_seconds(today())
    send_events(
        server,
        today(),
        [
            {"type": "shift_start", "id": "r1", "at": now - 600, "vehicle": van},
            {"type": "stop_arrived", "id": "r2", "at": now - 300, "vehicle": van,
             "order_id": first},
            {"type": "delivered", "id": "r3", "at": now - 200, "vehicle": van,
             "order_id": first, "proof": {"recipient": "door"}},
        ],
    )  # fmt: skip
    expect(page.locator(f"div.stop[data-order='{first}']")).to_have_attribute(
        "data-status", "delivered", timeout=WAIT_MS
    )

    # Another re-optimisation, discarded: the dispatched draft stays live.
    page.get_by_role("button", name="Re-optimise").click()
    expect(page.locator("#status")).to_contain_text("ready for review", timeout=WAIT_MS)
    listed = server.call("GET", f"/v1/plans?day={today()}", Role.dispatcher).json()
    second = next(p for p in listed["data"] if p["parent_id"] == child["id"])
    page.get_by_role("button", name="Discard").click()
    expect(page.locator("#status")).to_contain_text(
        f"Draft {second['id']} discarded; plan {child['id']} stays live",
        timeout=WAIT_MS,
    )
    expect(review).to_be_hidden()
    got = server.call("GET", f"/v1/plans/{second['id']}", Role.dispatcher)
    assert got.status_code == 404 or got.json()["status"] != "draft", got.text


def test_move_a_stop_with_preview_then_apply(
    server: Server, audit_page: Page, tokens: dict[str, str]
) -> None:
    """Move a stop to the other van: the preview's feasibility and
    differences are the API's; applying makes a draft reviewed and
    dispatched like a re-optimisation; lock and re-sequence preview too."""
    page = audit_page
    live = _dispatched(server)
    routes = live["plan"]["routes"]
    assert len(routes) >= 2, "the small day needs both vans"
    # The last stop of a route: never the van's committed next stop.
    source = max(routes, key=lambda r: len(_stops(r)))
    target = next(r for r in routes if r["vehicle"] != source["vehicle"])
    order = _stops(source)[-1]["id"]
    _show(page, server, live["id"])
    page.locator(f"button.seg[data-order='{order}']").click()
    edit = page.locator("#stop-edit")
    expect(edit.locator("fieldset")).to_be_visible()
    edit.get_by_label("Move to van").select_option(target["vehicle"])
    edit.get_by_role("button", name="Preview move").click()
    preview = page.locator("#edit-preview .preview")
    expect(preview).to_be_visible(timeout=WAIT_MS)
    body = {
        "edits": [
            {
                "op": "move",
                "order_id": order,
                "vehicle": target["vehicle"],
                "position": None,
            }
        ],
        "force": False,
    }
    got = server.call(
        "POST", f"/v1/plans/{live['id']}/edits/preview", Role.dispatcher, body
    )
    assert got.status_code == 200, got.text
    expected = got.json()
    expect(preview).to_have_attribute(
        "data-feasible", str(expected["feasible"]).lower()
    )
    expect(preview.locator("[data-delta=cost] td")).to_have_text(
        _signed(expected["cost_delta"])
    )
    expect(preview.locator("[data-delta=distance] td")).to_have_text(
        f"{_signed(expected['distance_delta_m'] / 1000, 1)} km"
    )
    expect(preview.locator("[data-delta=time] td")).to_have_text(
        f"{_signed(expected['duration_delta_s'] / 60)} min"
    )
    expect(preview.locator("[data-delta=late-orders] td")).to_have_text(
        _signed(expected["late_delta"])
    )
    for v in expected["violations"]:
        expect(preview.locator(".violations")).to_contain_text(v)
    shot(page, "console-edit-preview")
    assert axe_violations(page, "console-edit-preview") == []

    page.locator("#apply-edit").click()
    review = page.locator("#review")
    expect(review).to_be_visible(timeout=WAIT_MS)
    moved = review.locator(f"li[data-change=moved][data-order='{order}']")
    expect(moved).to_contain_text(f"{source['vehicle']} → {target['vehicle']}")
    listed = server.call("GET", f"/v1/plans?day={today()}", Role.dispatcher).json()
    child = next(p for p in listed["data"] if p["parent_id"] == live["id"])
    expect(page.locator("#review-plan")).to_have_text(f"(draft {child['id']})")
    page.get_by_role("button", name="Dispatch this plan").click()
    expect(page.locator("#plan-state")).to_have_text(
        f"(plan {child['id']}, dispatched)", timeout=WAIT_MS
    )
    expect(page.locator(f"div.stop[data-order='{order}']")).to_have_attribute(
        "data-vehicle", target["vehicle"]
    )

    # Lock the stop: a preview, then an applied draft, then discarded.
    page.locator(f"button.seg[data-order='{order}']").click()
    page.get_by_role("button", name="Lock stop").click()
    expect(preview).to_be_visible(timeout=WAIT_MS)
    expect(preview).to_contain_text(f"Lock {order}")
    page.locator("#apply-edit").click()
    expect(review).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Discard").click()
    expect(review).to_be_hidden(timeout=WAIT_MS)

    # Re-sequence: the stop one place along its route, previewed.
    page.locator(f"button.seg[data-order='{order}']").click()
    up, down = (page.get_by_role("button", name=n) for n in ("Move up", "Move down"))
    assert up.is_enabled() or down.is_enabled(), "its route has another stop"
    way = "up" if up.is_enabled() else "down"
    (up if way == "up" else down).click()
    expect(preview).to_be_visible(timeout=WAIT_MS)
    expect(preview).to_contain_text(f"{order} {way} on {target['vehicle']}")


def test_failed_attempt_is_decided_from_the_panel(
    server: Server, page: Page, tokens: dict[str, str]
) -> None:
    """A failed attempt raises an exception with three decisions; choosing
    one is sent to the service; the KPIs come from the service."""
    live = _dispatched(server)
    route = min(live["plan"]["routes"], key=lambda r: len(_stops(r)))
    order, van, now = _stops(route)[0]["id"], route["vehicle"], now_seconds(today())
    _show(page, server, live["id"])
    expect(page.locator("#kpis")).to_have_attribute(
        "data-source", "service", timeout=WAIT_MS
    )
    send_events(
        server,
        today(),
        [
            {"type": "shift_start", "id": "f1", "at": now - 900, "vehicle": van},
            {"type": "stop_arrived", "id": "f2", "at": now - 300, "vehicle": van,
             "order_id": order},
            {"type": "failed_attempt", "id": "f3", "at": now - 200, "vehicle": van,
             "order_id": order, "reason": "not_home"},
        ],
    )  # fmt: skip
    row = page.locator("li.exception[data-kind=failed_attempt]")
    expect(row).to_have_count(1, timeout=WAIT_MS)
    expect(row).to_contain_text("Failed delivery attempt")
    expect(row).to_contain_text(order)
    for name in ("Re-attempt today", "Next day", "Return to sender"):
        expect(row.get_by_role("button", name=re.compile(f"^{name}"))).to_be_visible()
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/decide")
    ) as answer:
        row.get_by_role("button", name=re.compile("^Next day")).click()
    assert answer.value.ok, answer.value.status
    assert answer.value.request.post_data_json == {"decision": "next_day"}
    expect(page.locator("#status")).to_contain_text("Next day")
    kpi = page.locator("#kpis [data-kpi=failed] dd")
    expect(kpi).to_have_text(re.compile(r"^[1-9]"), timeout=WAIT_MS)


def test_routes_follow_the_roads(
    server: Server, page: Page, tokens: dict[str, str]
) -> None:
    """With the service's geometry, each route is drawn along its legs."""
    live = _dispatched(server)
    got = server.call("GET", f"/v1/plans/{live['id']}/geometry", Role.dispatcher)
    assert got.status_code == 200, got.text
    geometry = got.json()
    _show(page, server, live["id"])
    expect(page.locator("#map")).to_have_attribute(
        "data-along-roads", str(geometry["along_roads"]).lower(), timeout=WAIT_MS
    )
    for r in geometry["routes"]:
        points = sum(len(leg) for leg in r["legs"])
        line = page.locator(f"path.route-line[data-vehicle='{r['vehicle']}']")
        # An SVG path: one command letter per point (M, then L).
        d = line.get_attribute("d") or ""
        assert len(re.findall(r"[ML]", d)) >= min(points, 2), (points, d[:80])
