"""The customer's tracking page behind ``/v1/track/{token}``: the hand-over
window, proof of delivery, the rating and another slot after a failed attempt."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from api.auth import Role
from api.db.tables_dispatch import DepotRow, VehicleRow
from api.services.orders import OrderCreate, create_orders
from api.services.tracking_views import MIN_HAND_OVER, hand_over
from routing.locale import DEFAULT_LOCALE
from routing.model import Depot, Job, Location, ServiceLevel, TimeWindow, Vehicle
from routing.units import HOUR
from tests.api.conftest import auth
from tests.api.tracking_fixtures import store_tracked_draft
from tracking.eta import Eta

# A week ahead: the next day's slots are all still open.
DAY = dt.datetime.now(DEFAULT_LOCALE.zone).date() + dt.timedelta(days=7)
NEXT = DAY + dt.timedelta(days=1)
DEPOT = "page"
VAN = "page-van"
HOME = (37.55, 126.97)
SLOT = TimeWindow(start=11 * HOUR, end=13 * HOUR)
#: A 1x1 PNG.
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


# -- the hand-over window ---------------------------------------------------


@st.composite
def _cases(draw: st.DrawFn) -> tuple[Eta, list[tuple[int, int]], bool, int]:
    p10 = draw(st.integers(0, 30 * HOUR))
    point = p10 + draw(st.integers(0, 3 * HOUR))
    p90 = point + draw(st.integers(0, 3 * HOUR))
    made = draw(st.integers(0, 30 * HOUR))
    starts = sorted(draw(st.sets(st.integers(0, 24), min_size=0, max_size=4)))
    windows = [(h * HOUR, h * HOUR + draw(st.integers(1, 59)) * 60) for h in starts]
    eta = Eta(order_id="o", vehicle="v", point=point, p10=p10, p90=p90, made_at=made)
    return eta, windows, draw(st.booleans()), draw(st.integers(0, 30 * HOUR))


@seed(20261207)
@settings(max_examples=400, deadline=None)
@given(_cases())
def test_hand_over_window_is_honest(
    case: tuple[Eta, list[tuple[int, int]], bool, int],
) -> None:
    """The shown window never opens before the promised one (unless early
    delivery is allowed), never before now, is never narrower than
    MIN_HAND_OVER, and holds the expected time."""
    eta, windows, early_ok, now = case
    h = hand_over(eta, windows, early_ok, now)
    assert h.earliest <= h.expected <= h.latest
    assert h.latest - h.earliest >= MIN_HAND_OVER > 0
    assert h.earliest >= now
    if windows and not early_ok:
        assert h.earliest >= windows[0][0]
        opening = next((a for a, b in windows if b >= eta.p10), windows[-1][0])
        assert h.earliest >= opening
    if early_ok or not windows:
        # Nothing moves later than the arrival, now and the width need.
        assert h.earliest == max(eta.p10, now)


def test_an_early_van_waits_for_the_window() -> None:
    """The reported case: promised 11-13, the van due 10:00-11:37: the
    hand-over is 11:00-11:37 at the earliest, not 10:00."""
    eta = Eta(
        order_id="o",
        vehicle="v",
        point=10 * HOUR + 45 * 60,
        p10=10 * HOUR,
        p90=11 * HOUR + 37 * 60,
        made_at=9 * HOUR,
    )
    h = hand_over(eta, [(SLOT.start, SLOT.end)], False, 9 * HOUR)
    assert (h.earliest, h.expected, h.latest) == (
        11 * HOUR,
        11 * HOUR,
        11 * HOUR + 37 * 60,
    )
    early = hand_over(eta, [(SLOT.start, SLOT.end)], True, 9 * HOUR)
    assert early.earliest == 10 * HOUR


# -- a stored, dispatched day -------------------------------------------------


@dataclass(frozen=True)
class Day:
    tokens: dict[str, str]
    order_ids: list[str]  # on the van's route, in visiting order


def _jobs(prefix: str, n: int) -> list[Job]:
    return [
        Job(
            id=f"{prefix}{i}",
            demand=(1,),
            location=Location(lat=HOME[0] + 0.01 * (i + 1), lon=HOME[1] + 0.004 * i),
            service=180,
            time_windows=(SLOT,),
        )
        for i in range(n)
    ]


def _plan(app: FastAPI, day: dt.date, jobs: list[Job]) -> tuple[str, dict[str, str]]:
    """Store the orders of ``day`` and a solved draft plan of them."""
    with app.state.sessionmaker.begin() as session:
        rows = create_orders(
            session, batch=[OrderCreate(job=j, day=day, depot_id=DEPOT) for j in jobs]
        )
        tokens = {r.id: r.tracking_token for r in rows}
    plan_id = store_tracked_draft(app, day=day, depot_id=DEPOT, time_limit=0.5)
    return plan_id, tokens


@pytest.fixture
def day(app: FastAPI, client: TestClient, keys: dict[Role, str]) -> Day:
    """One van, three orders promised 11:00-13:00, dispatched; and a draft
    plan of the next day (its slots open for another delivery)."""
    return _dispatched(app, client, keys, _jobs("p-", 3))


#: A locker near the depot, for the station day.
LOCKER = {
    "id": "locker-1",
    "name": "Locker",
    "location": {"lat": 37.556, "lon": 126.975},
}


@pytest.fixture
def station_day(app: FastAPI, client: TestClient, keys: dict[Role, str]) -> Day:
    """The dispatched day with its first order going to a pickup station."""
    d = auth(keys[Role.dispatcher])
    assert client.post("/v1/stations", json=LOCKER, headers=d).status_code == 201
    first, *rest = _jobs("p-", 3)
    to_locker = first.model_copy(
        update={
            "location": None,
            "station": LOCKER["id"],
            "service_level": ServiceLevel.PICKUP_STATION,
        }
    )
    return _dispatched(app, client, keys, [to_locker, *rest])


def _dispatched(
    app: FastAPI, client: TestClient, keys: dict[Role, str], jobs: list[Job]
) -> Day:
    with app.state.sessionmaker.begin() as session:
        depot = Depot(id=DEPOT, location=Location(lat=HOME[0], lon=HOME[1]))
        session.add(DepotRow(id=DEPOT, spec=depot.model_dump(mode="json")))
        van = Vehicle(
            id=VAN,
            start=DEPOT,
            end=DEPOT,
            capacity=(50,),
            shift=TimeWindow(start=8 * HOUR, end=22 * HOUR),
        )
        session.add(
            VehicleRow(id=VAN, depot_id=DEPOT, spec=van.model_dump(mode="json"))
        )
    plan_id, tokens = _plan(app, DAY, jobs)
    got = client.post(
        f"/v1/plans/{plan_id}/dispatch", headers=auth(keys[Role.dispatcher])
    )
    assert got.status_code == 200, got.text
    plan = client.get(f"/v1/plans/{plan_id}", headers=auth(keys[Role.dispatcher]))
    steps = plan.json()["plan"]["routes"][0]["steps"]
    order_ids = [s["id"] for s in steps if s["type"] == "job"]
    _plan(app, NEXT, _jobs("n-", 2))
    return Day(tokens, order_ids)


@pytest.fixture
def token(client: TestClient, keys: dict[Role, str]) -> str:
    """One stored order's tracking token (nothing planned)."""
    [job] = _jobs("t-", 1)
    got = client.post(
        "/v1/orders",
        json={"day": DAY.isoformat(), "job": job.model_dump(mode="json")},
        headers=auth(keys[Role.dispatcher]),
    )
    assert got.status_code == 201, got.text
    found: str = got.json()["tracking_token"]
    return found


def _send(client: TestClient, keys: dict[Role, str], *events: dict[str, Any]) -> None:
    got = client.post(
        "/v1/events",
        json={"day": DAY.isoformat(), "events": list(events)},
        headers=auth(keys[Role.dispatcher]),
    )
    assert got.status_code == 200, got.text
    assert len(got.json()["accepted"]) == len(events), got.text


def _view(client: TestClient, token: str) -> dict[str, Any]:
    got = client.get(f"/v1/track/{token}")
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def _start(client: TestClient, keys: dict[Role, str]) -> None:
    _send(
        client,
        keys,
        {"type": "shift_start", "id": "s1", "at": 9 * HOUR, "vehicle": VAN},
        {"type": "stop_departed", "id": "s2", "at": 9 * HOUR + 60, "vehicle": VAN},
    )


def test_before_the_van_leaves_only_the_promise_is_shown(
    client: TestClient, day: Day
) -> None:
    """Dispatched, the van not moved: the order number, date, promised slot
    and address; no guessed window (the old page said "at 06:22")."""
    first = day.order_ids[0]
    body = _view(client, day.tokens[first])
    assert body["status"] == "dispatched"
    assert body["order_id"] == first and body["day"] == DAY.isoformat()
    assert body["window"] is None
    [slot] = body["promised"]
    assert slot["start"].startswith(f"{DAY.isoformat()}T11:00:00")
    assert slot["end"].startswith(f"{DAY.isoformat()}T13:00:00")
    assert body["early_ok"] is False
    assert body["location"]["lat"] == pytest.approx(
        HOME[0] + 0.01 * (int(first[-1]) + 1)
    )
    assert body["proof"] is None and body["rating"] is None
    assert body["stops_away"] == 0


def test_en_route_counts_stops_and_waits_for_the_window(
    client: TestClient, keys: dict[Role, str], day: Day
) -> None:
    """Out for delivery: the last order is two stops away, its window opens
    no earlier than 11:00 and is never zero wide; the next one is 0 away."""
    _start(client, keys)
    first, _, last = day.order_ids
    body = _view(client, day.tokens[last])
    assert body["status"] == "out_for_delivery"
    assert body["stops_away"] == 2
    w = body["window"]
    assert w is not None
    opens = dt.datetime.fromisoformat(w["earliest"])
    closes = dt.datetime.fromisoformat(w["latest"])
    assert opens >= dt.datetime.combine(DAY, dt.time(11), DEFAULT_LOCALE.zone)
    assert (closes - opens).total_seconds() >= MIN_HAND_OVER
    assert _view(client, day.tokens[first])["stops_away"] == 0
    _send(
        client,
        keys,
        {"type": "delivered", "id": "d1", "at": 11 * HOUR + 300, "vehicle": VAN,
         "order_id": first, "proof": {"recipient": "Kim"}},
    )  # fmt: skip
    assert _view(client, day.tokens[last])["stops_away"] == 1


@pytest.mark.parametrize(
    ("proof", "field", "reason"),
    [
        ({"recipient": "x" * 101}, "recipient", "at most 100"),
        ({"image": "data:image/svg+xml;base64,AAAA"}, "image", "data:image/png"),
        ({"image": "https://example.com/p.png"}, "image", "data:image/png"),
        ({"signature": "data:image/png;base64,<script>"}, "signature", "base64"),
        ({"image": "data:image/png;base64," + "A" * 400_000}, "image", "380000"),
        ({}, "proof", "recipient name"),
    ],
)
def test_bad_proof_is_refused_naming_the_field(
    client: TestClient,
    keys: dict[Role, str],
    proof: dict[str, str],
    field: str,
    reason: str,
) -> None:
    """A delivered event with bad proof: 422 naming the field and why."""
    got = client.post(
        "/v1/events",
        json={
            "day": DAY.isoformat(),
            "events": [
                {
                    "type": "delivered",
                    "id": "bad",
                    "at": 11 * HOUR,
                    "vehicle": VAN,
                    "order_id": "p-0",
                    "proof": proof,
                },
            ],
        },
        headers=auth(keys[Role.dispatcher]),
    )
    assert got.status_code == 422, got.text
    errors = got.json()["errors"]
    assert any(e["field"].endswith(field) and reason in e["reason"] for e in errors), (
        errors
    )


def test_delivered_shows_proof_and_takes_one_rating(
    client: TestClient, keys: dict[Role, str], day: Day
) -> None:
    """The device's recipient, photo and signature reach the customer (the
    photo reference does not); the rating is stored once, replaced by a
    second post, and read by staff through the order API."""
    _start(client, keys)
    first, second, _ = day.order_ids
    token = day.tokens[first]
    early = client.post(f"/v1/track/{token}/rating", json={"csat": 5})
    assert early.status_code == 409, early.text
    _send(
        client,
        keys,
        {"type": "delivered", "id": "d1", "at": 11 * HOUR + 300, "vehicle": VAN,
         "order_id": first, "proof": {"recipient": "Kim <b>", "image": PNG,
                                      "signature": PNG, "photo": "internal-ref"}},
    )  # fmt: skip
    body = _view(client, token)
    assert body["status"] == "delivered"
    assert body["proof"]["recipient"] == "Kim <b>"
    assert body["proof"]["image"] == PNG and body["proof"]["signature"] == PNG
    assert "internal-ref" not in str(body)
    assert body["rating"] is None and body["window"] is None

    got = client.post(f"/v1/track/{token}/rating", json={"csat": 4})
    assert got.status_code == 201, got.text
    again = client.post(
        f"/v1/track/{token}/rating", json={"csat": 5, "nps": 9, "comment": "quick"}
    )
    assert again.status_code == 200, again.text
    assert _view(client, token)["rating"]["csat"] == 5
    staff = client.get(
        f"/v1/orders/{first}/tracking", headers=auth(keys[Role.dispatcher])
    ).json()
    assert staff["rating"]["nps"] == 9 and staff["rating"]["comment"] == "quick"
    # The token rates its own order only: the second order has no rating.
    other = client.get(
        f"/v1/orders/{second}/tracking", headers=auth(keys[Role.dispatcher])
    ).json()
    assert other["rating"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"csat": 0}, "csat"),
        ({"csat": 6}, "csat"),
        ({"csat": True}, "csat"),
        ({"csat": 3, "nps": 11}, "nps"),
        ({"csat": 3, "nps": -1}, "nps"),
        ({"csat": 3, "comment": "x" * 501}, "comment"),
        ({"csat": 3, "comment": "a\x00b"}, "comment"),
        ({"nps": 3}, "csat"),
        ({"csat": 3, "order_id": "p-1"}, "order_id"),
    ],
)
def test_bad_rating_is_refused_naming_the_field(
    client: TestClient, token: str, body: dict[str, Any], field: str
) -> None:
    """422 naming the field, before anything else is looked at."""
    got = client.post(f"/v1/track/{token}/rating", json=body)
    assert got.status_code == 422, got.text
    assert any(e["field"].endswith(field) for e in got.json()["errors"]), got.text


def test_unknown_token_is_404_everywhere(client: TestClient, token: str) -> None:
    """No order has the token: 404 for every customer route; a token whose
    order is not delivered cannot rate it, nor move it (409)."""
    assert client.post(f"/v1/track/{token}/rating", json={"csat": 5}).status_code == 409
    assert client.get(f"/v1/track/{token}/slots").status_code == 409
    assert client.post("/v1/track/nope/rating", json={"csat": 5}).status_code == 404
    assert client.get("/v1/track/nope/slots").status_code == 404
    got = client.post(
        "/v1/track/nope/rebook", json={"day": NEXT.isoformat(), "slot_id": "x"}
    )
    assert got.status_code == 404


def test_failed_attempt_says_why_and_moves_to_another_slot(
    client: TestClient, keys: dict[Role, str], day: Day
) -> None:
    """After a failed attempt the page has the reason; the token's order
    (and no other) can pick a slot of a later day, and is planned there."""
    _start(client, keys)
    first, second, last = day.order_ids
    token = day.tokens[first]
    # Not failed (yet): nothing to move.
    assert client.get(f"/v1/track/{token}/slots").status_code == 409
    _send(
        client,
        keys,
        {"type": "failed_attempt", "id": "f1", "at": 11 * HOUR + 300,
         "vehicle": VAN, "order_id": first, "reason": "not_home"},
    )  # fmt: skip
    body = _view(client, token)
    assert body["status"] == "failed_attempt"
    assert body["attempt"]["reason"] == "not_home"

    same_day = client.get(f"/v1/track/{token}/slots", params={"day": DAY.isoformat()})
    assert same_day.status_code == 422 and same_day.json()["errors"][0]["field"] == (
        "day"
    )
    got = client.get(f"/v1/track/{token}/slots")
    assert got.status_code == 200, got.text
    slots = got.json()
    assert slots["day"] == NEXT.isoformat()
    free = [s for s in slots["slots"] if s["available"]]
    assert free, slots
    # Another order's token cannot move it, and is refused: its order did
    # not fail.
    refused = client.post(
        f"/v1/track/{day.tokens[second]}/rebook",
        json={"day": NEXT.isoformat(), "slot_id": free[0]["id"]},
    )
    assert refused.status_code == 409, refused.text
    unknown = client.post(
        f"/v1/track/{token}/rebook", json={"day": NEXT.isoformat(), "slot_id": "zz"}
    )
    assert unknown.status_code == 422 and "slot_id" in unknown.text

    booked = client.post(
        f"/v1/track/{token}/rebook",
        json={"day": NEXT.isoformat(), "slot_id": free[0]["id"]},
    )
    assert booked.status_code == 200, booked.text
    assert booked.json()["slot"]["start"] == free[0]["start"]
    after = _view(client, token)
    assert after["status"] == "planned"
    assert after["day"] == NEXT.isoformat()
    assert after["promised"][0]["start"] == free[0]["start"]
    assert _view(client, day.tokens[second])["day"] == DAY.isoformat()
    # The moved order is no stop of today's route any more.
    assert _view(client, day.tokens[last])["stops_away"] == 1
    # Booked once: the order is no longer after a failed attempt.
    twice = client.post(
        f"/v1/track/{token}/rebook",
        json={"day": NEXT.isoformat(), "slot_id": free[0]["id"]},
    )
    assert twice.status_code == 409


def test_a_station_order_after_a_failed_attempt_moves_to_a_station_slot(
    client: TestClient, keys: dict[Role, str], station_day: Day
) -> None:
    """A parcel the locker could not be opened for is offered the station slots of a
    later day (no home slot: the order has no address), and is planned at
    the station on the day picked."""
    _start(client, keys)
    order = "p-0"
    token = station_day.tokens[order]
    _send(
        client,
        keys,
        {"type": "failed_attempt", "id": "f1", "at": 11 * HOUR + 300,
         "vehicle": VAN, "order_id": order, "reason": "access_denied"},
    )  # fmt: skip
    got = client.get(f"/v1/track/{token}/slots")
    assert got.status_code == 200, got.text
    slots = got.json()["slots"]
    assert [s["id"] for s in slots] == [f"station:{LOCKER['id']}"]
    assert slots[0]["available"], slots
    home = client.post(
        f"/v1/track/{token}/rebook",
        json={"day": NEXT.isoformat(), "slot_id": "11:00-13:00"},
    )
    assert home.status_code == 422 and "slot_id" in home.text
    booked = client.post(
        f"/v1/track/{token}/rebook",
        json={"day": NEXT.isoformat(), "slot_id": slots[0]["id"]},
    )
    assert booked.status_code == 200, booked.text
    after = _view(client, token)
    assert after["status"] == "planned" and after["day"] == NEXT.isoformat()
    assert after["station"] == {"id": LOCKER["id"], "name": LOCKER["name"]}
    stored = client.get(f"/v1/orders/{order}", headers=auth(keys[Role.dispatcher]))
    assert stored.json()["job"]["station"] == LOCKER["id"]
    assert stored.json()["day"] == NEXT.isoformat()
