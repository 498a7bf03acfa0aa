"""A small delivery day for the browser tests, stored through the API."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from zoneinfo import ZoneInfo

from api.auth import Role
from tests.web.conftest import Server

SEOUL = ZoneInfo("Asia/Seoul")
DEPOT = "hub-mapo"
VANS = ("van-a", "van-b")
#: Homes around Mapo and Yongsan: (lat, lon).
HOMES = (
    (37.5563, 126.9236),
    (37.5482, 126.9130),
    (37.5610, 126.9420),
    (37.5405, 126.9455),
    (37.5330, 126.9650),
    (37.5290, 126.9880),
    (37.5450, 126.9710),
    (37.5520, 126.9560),
)
#: An order no van can carry: it must come back unassigned, with a reason.
TOO_BIG = "o-piano"
#: An exchange: one parcel brought, the old one taken at the same visit.
EXCHANGE = "o-3"


def today() -> dt.date:
    """The operating day the tests run on: today in Seoul."""
    return dt.datetime.now(SEOUL).date()


def now_seconds(day: dt.date) -> int:
    """Now, in seconds since Seoul's midnight of ``day``."""
    midnight = dt.datetime.combine(day, dt.time(), SEOUL)
    return int((dt.datetime.now(SEOUL) - midnight).total_seconds())


def seed_day(server: Server, day: dt.date) -> dict[str, str]:
    """Store the depot, two vans (one with a break) and the orders.

    Five parcels fill a van, so the eight orders need both vans; one of
    them (:data:`EXCHANGE`) also takes an old parcel back.

    The vans work all day, so that "now" is inside the shift whenever the
    test runs. Returns each order's tracking token.
    """
    depot = {"id": DEPOT, "name": "Mapo hub", "location": {"lat": 37.55, "lon": 126.93}}
    assert server.call("POST", "/v1/depots", Role.dispatcher, depot).status_code == 201
    for i, van in enumerate(VANS):
        body: dict[str, Any] = {
            "id": van,
            "start": DEPOT,
            "end": DEPOT,
            "capacity": [5],
            "shift": ["00:00", "23:59"],
        }
        if i == 0:
            body["breaks"] = [
                {"id": "lunch", "time_windows": [["00:20", "23:00"]], "service": 1800}
            ]
        got = server.call("POST", "/v1/vehicles", Role.dispatcher, body)
        assert got.status_code == 201, got.text
    tokens = {}
    orders = [(f"o-{i + 1}", lat, lon, 1) for i, (lat, lon) in enumerate(HOMES)] + [
        (TOO_BIG, 37.5450, 126.9400, 50)
    ]
    for order_id, lat, lon, demand in orders:
        job: dict[str, Any] = {
            "id": order_id,
            "demand": [demand],
            "location": {"lat": lat, "lon": lon},
            "service": 300,
        }
        if order_id == EXCHANGE:
            job |= {"type": "exchange", "collect": [1]}
        body = {"day": day.isoformat(), "depot_id": DEPOT, "job": job}
        got = server.call("POST", "/v1/orders", Role.dispatcher, body)
        assert got.status_code == 201, got.text
        tokens[order_id] = got.json()["tracking_token"]
    return tokens


def send_events(server: Server, day: dt.date, events: list[dict[str, Any]]) -> None:
    """Report events as the vans' devices; every one must be accepted."""
    got = server.call(
        "POST", "/v1/events", Role.device, {"day": day.isoformat(), "events": events}
    )
    assert got.status_code == 200, got.text
    result = got.json()
    assert len(result["accepted"]) == len(events), result


#: A second depot across the river, with one van of its own.
SECOND_DEPOT = "hub-yongsan"
SECOND_VAN = "van-y"


def seed_two_depots(server: Server, day: dt.date) -> dict[str, list[str]]:
    """Orders of ``day`` at two depots, for a plan of every depot at once.

    Needs :func:`seed_day` first (its depot and vans); adds
    :data:`SECOND_DEPOT` and its van :data:`SECOND_VAN`. Returns each
    depot's order ids.
    """
    depot = {
        "id": SECOND_DEPOT,
        "name": "Yongsan hub",
        "location": {"lat": 37.53, "lon": 126.97},
    }
    assert server.call("POST", "/v1/depots", Role.dispatcher, depot).status_code == 201
    van = {
        "id": SECOND_VAN,
        "start": SECOND_DEPOT,
        "end": SECOND_DEPOT,
        "capacity": [5],
        "shift": ["00:00", "23:59"],
    }
    got = server.call("POST", "/v1/vehicles", Role.dispatcher, van)
    assert got.status_code == 201, got.text
    ids: dict[str, list[str]] = {DEPOT: [], SECOND_DEPOT: []}
    for i, (lat, lon) in enumerate(HOMES[:6]):
        at = DEPOT if i < 3 else SECOND_DEPOT
        order_id = f"d{day.day:02d}-{i + 1}"
        job = {
            "id": order_id,
            "demand": [1],
            "location": {"lat": lat, "lon": lon},
            "service": 300,
        }
        body = {"day": day.isoformat(), "depot_id": at, "job": job}
        got = server.call("POST", "/v1/orders", Role.dispatcher, body)
        assert got.status_code == 201, got.text
        ids[at].append(order_id)
    return ids


def seed_cold_orders(server: Server, day: dt.date) -> list[str]:
    """Three orders of ``day`` at :data:`DEPOT`, the first a cold-chain one.

    Needs :func:`seed_day` first (its depot and vans). A van's temperature
    reading outside 0-4 °C while the first is on board raises a sensor
    excursion. Returns the order ids, the cold one first.
    """
    ids = []
    for i, (lat, lon) in enumerate(HOMES[:3]):
        order_id = f"c{day.day:02d}-{i + 1}"
        job: dict[str, Any] = {
            "id": order_id,
            "demand": [1],
            "location": {"lat": lat, "lon": lon},
            "service": 300,
        }
        if i == 0:
            job["handling"] = {"requirement": "cold_chain"}
        body = {"day": day.isoformat(), "depot_id": DEPOT, "job": job}
        got = server.call("POST", "/v1/orders", Role.dispatcher, body)
        assert got.status_code == 201, got.text
        ids.append(order_id)
    return ids


def wait_plan(server: Server, url: str, timeout_ms: int) -> dict[str, Any]:
    """The plan at ``url`` once its job is no longer queued or running."""
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        got: dict[str, Any] = server.call("GET", url, Role.dispatcher).json()
        if got["status"] not in ("queued", "running"):
            return got
        time.sleep(0.3)
    raise AssertionError(f"{url} did not finish in time")
