"""Slots at checkout: quotes and bookings on a stored plan (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import math
import threading
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import Role
from api.db.orders import get_order
from api.db.plans import PlanRow, current_plan, get_plan, save_plan
from api.db.tables_dispatch import DepotRow, OrderRow, VehicleRow
from api.db.tracking import order_status
from api.services.orders import OrderCreate, create_orders
from api.services.problems import problem_for
from routing.locale import DEFAULT_LOCALE
from routing.model import Costs, Depot, Job, Location, TimeWindow, Vehicle
from routing.solver import SolveParams, check, solve
from routing.travel import HaversineTravel
from routing.units import HOUR
from tests.api.conftest import auth

# A week ahead: every slot is still open for booking.
DAY = dt.datetime.now(DEFAULT_LOCALE.zone).date() + dt.timedelta(days=7)
DEPOT = "seoul"
HOME = (37.55, 126.97)
FAR = {"lat": 37.66, "lon": 127.12}  # some 18 km away from every stop


def _offset(i: int) -> tuple[float, float]:
    """Stops on a ring 1.5-3 km around the depot."""
    ring = 0.015 + 0.012 * (i % 2)
    angle = i * 2.4
    return HOME[0] + ring * math.sin(angle), HOME[1] + ring * math.cos(angle)


def store_day(
    app: FastAPI,
    *,
    orders: int = 14,
    vans: int = 3,
    parcels: int = 120,
    depot: str = DEPOT,
    costs: Costs | None = None,
    customers: tuple[str, ...] = (),
) -> PlanRow:
    """Store a depot, vans and a day's orders; solve it (1 s) and store the plan.

    ``costs``: the vans' (default none: marginal costs in metres);
    ``customers``: the orders' customer ids, in turn.
    """
    windows = [TimeWindow(start=h * HOUR, end=(h + 2) * HOUR) for h in (9, 13, 17)]
    with app.state.sessionmaker.begin() as session:
        session.add(
            DepotRow(
                id=depot,
                spec=Depot(
                    id=depot, location=Location(lat=HOME[0], lon=HOME[1])
                ).model_dump(mode="json"),
            )
        )
        for k in range(vans):
            van = Vehicle(
                id=f"{depot}-van-{k}",
                start=depot,
                end=depot,
                capacity=(700_000, parcels),
                shift=TimeWindow(start=8 * HOUR, end=22 * HOUR),
                costs=costs or Costs(),
            )
            session.add(
                VehicleRow(id=van.id, depot_id=depot, spec=van.model_dump(mode="json"))
            )
        session.flush()
        jobs = []
        for i in range(orders):
            lat, lon = _offset(i)
            job = Job(
                id=f"{depot}-o{i:02d}",
                demand=(1500, 1),
                location=Location(lat=lat, lon=lon),
                service=180,
                time_windows=(windows[i % len(windows)],),
                customer_id=customers[i % len(customers)] if customers else None,
            )
            jobs.append(OrderCreate(job=job, day=DAY, depot_id=depot))
        create_orders(session, batch=jobs)
        problem = problem_for(session, day=DAY, depot_id=depot)
        plan = solve(
            problem,
            travel=HaversineTravel(),
            params=SolveParams(time_limit=1.0, workers=1),
        )
        assert not plan.unassigned
        return save_plan(
            session,
            day=DAY,
            depot_id=depot,
            problem=problem,
            plan=plan,
            parent_id=None,
            job_id=None,
        )


def a_stop(row: PlanRow) -> tuple[dict[str, float], str]:
    """A spot 30 m from a routed stop, and the home slot its van serves it in."""
    route = row.plan.routes[0]
    step = next(s for s in route.steps if s.type == "job")
    assert step.location is not None
    assert step.location.lat is not None and step.location.lon is not None
    hour = step.service_start // HOUR
    start = hour - (hour - 9) % 2  # the 2-hour window 09-11, 11-13, ... it falls in
    where = {"lat": step.location.lat + 0.0002, "lon": step.location.lon + 0.0002}
    return where, f"{start:02d}:00-{start + 2:02d}:00"


def quote(client: TestClient, key: str, **body: Any) -> Any:
    """POST /v1/slots/quote for DAY at the depot."""
    payload = {"day": DAY.isoformat(), "depot_id": DEPOT, **body}
    return client.post("/v1/slots/quote", json=payload, headers=auth(key))


def book(client: TestClient, key: str, **body: Any) -> Any:
    """POST /v1/slots/book for DAY at the depot."""
    payload = {"day": DAY.isoformat(), "depot_id": DEPOT, **body}
    return client.post("/v1/slots/book", json=payload, headers=auth(key))


def test_quote_lists_slots_cheaper_where_a_van_passes(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """Every slot is quoted; a stop on a van's way costs less than a far one."""
    row = store_day(app)
    near, slot_id = a_stop(row)

    got = quote(client, keys[Role.storefront], location=near)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["plan_id"] == row.id
    assert body["day"] == DAY.isoformat() and body["depot_id"] == DEPOT
    ids = [q["slot"]["id"] for q in body["data"]]
    assert body["count"] == len(ids) == 7  # six 2-hour windows and the night
    assert set(ids) >= {"09:00-11:00", "19:00-21:00", "night"}
    night = next(q for q in body["data"] if q["slot"]["id"] == "night")
    assert night["available"] is False and night["reason"] == "no_vehicle"
    assert body["stations"] == []  # the stored day has no pickup stations

    available = [q for q in body["data"] if q["available"]]
    assert len(available) == 6
    for q in available:
        assert q["reason"] == "ok" and q["marginal_cost"] >= 0
        assert q["vehicle"].startswith(f"{DEPOT}-van-")
        assert q["slot"]["window"]["start"] <= q["eta"] <= q["slot"]["window"]["end"]
    costs = [q["marginal_cost"] for q in available]
    assert costs == sorted(costs), "available slots come cheapest first"
    assert body["data"][: len(available)] == available

    far = quote(client, keys[Role.dispatcher], location=FAR).json()
    on_way = next(q for q in available if q["slot"]["id"] == slot_id)
    off_way = next(q for q in far["data"] if q["slot"]["id"] == slot_id)
    assert on_way["marginal_cost"] < off_way["marginal_cost"]


def test_booking_stores_order_and_a_checked_plan(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """A booking creates the order with a token and a new plan version holding it."""
    old = store_day(app)
    near, slot_id = a_stop(old)

    got = book(
        client,
        keys[Role.storefront],
        location=near,
        slot_id=slot_id,
        customer_id="cust-9",
        demand=[2000, 1],
        service_time=240,
    )
    assert got.status_code == 201, got.text
    body = got.json()
    window = body["slot"]["window"]
    assert body["slot"]["id"] == slot_id and body["slot"]["kind"] == "home"
    assert window["start"] <= body["eta"] <= window["end"]
    assert len(body["tracking_token"]) == 32
    assert body["marginal_cost"] >= 0
    assert dt.datetime.fromisoformat(body["eta_at"]).date() == DAY
    order_id = body["order_id"]

    with app.state.sessionmaker() as session:
        order = get_order(session, order_id=order_id)
        assert isinstance(order, OrderRow)
        assert order.active and order.day == DAY and order.depot_id == DEPOT
        assert order.customer_id == "cust-9"
        assert order.tracking_token == body["tracking_token"]
        assert order.job.time_windows == (TimeWindow(**window),)
        assert order.job.demand == (2000, 1) and order.job.service == 240

        new = current_plan(session, day=DAY, depot_id=DEPOT)
        assert new is not None and new.id == body["plan_id"] != old.id
        assert new.parent_id == old.id and new.status == "draft"
        parent = get_plan(session, plan_id=old.id)
        assert parent is not None and parent.status == "superseded"
        verdict = check(new.problem, new.plan, HaversineTravel())
        assert verdict.ok, verdict
        route = new.plan.route_of(body["vehicle"])
        assert route is not None
        step = next(s for s in route.steps if s.id == order_id)
        assert window["start"] <= step.service_start <= window["end"]
        assert step.service_start == body["eta"]
        assert len(new.plan.unassigned) == 0
        assert new.plan.summary.served == len(old.problem.jobs) + 1
        status = order_status(session, order_id=order_id)
        assert status is not None and status.state == "planned"

    # The next quote works on the new version (no rebuild from the old one).
    again = quote(client, keys[Role.storefront], location=near).json()
    assert again["plan_id"] == body["plan_id"]


def test_unavailable_slot_is_refused_with_409(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """A slot no van can serve is a 409 naming it; nothing is stored."""
    row = store_day(app)
    near, _ = a_stop(row)
    got = book(client, keys[Role.storefront], location=near, slot_id="night")
    assert got.status_code == 409
    assert got.headers["content-type"] == "application/problem+json"
    assert got.json()["status"] == 409
    assert "slot night is not available: no_vehicle" in got.json()["detail"]
    with app.state.sessionmaker() as session:
        current = current_plan(session, day=DAY, depot_id=DEPOT)
        assert current is not None and current.id == row.id


def test_concurrent_bookings_never_oversell(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """With room for one more parcel, four bookings at once: one wins, three get 409."""
    store_day(app, orders=4, vans=1, parcels=5)
    where = {"lat": HOME[0] + 0.004, "lon": HOME[1] + 0.004}
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(slot_id: str) -> None:
        response = book(
            client,
            keys[Role.storefront],
            location=where,
            slot_id=slot_id,
            demand=[1500, 1],
        )
        with lock:
            statuses.append(response.status_code)

    threads = [
        threading.Thread(target=attempt, args=(slot,))
        for slot in ("11:00-13:00", "13:00-15:00", "15:00-17:00", "19:00-21:00")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 409, 409, 409]
    full = quote(client, keys[Role.storefront], location=where).json()
    assert not any(q["available"] for q in full["data"])
    assert {q["reason"] for q in full["data"]} <= {"full", "no_vehicle"}
    with app.state.sessionmaker() as session:
        plan = current_plan(session, day=DAY, depot_id=DEPOT)
        assert plan is not None and plan.plan.summary.served == 5


def test_no_plan_is_404(client: TestClient, keys: dict[Role, str]) -> None:
    """Quoting or booking a day without a plan is a 404 problem."""
    where = {"lat": HOME[0], "lon": HOME[1]}
    got = quote(client, keys[Role.storefront], location=where)
    assert got.status_code == 404
    assert got.headers["content-type"] == "application/problem+json"
    assert got.json()["detail"] == f"no plan for {DAY.isoformat()} at depot 'seoul'"
    booked = book(client, keys[Role.storefront], location=where, slot_id="night")
    assert booked.status_code == 404
    assert booked.json()["title"] == "Not Found"


def test_dispatched_plan_takes_no_bookings(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """Once the day's routes are dispatched every slot is closed and booking is 409."""
    row = store_day(app)
    with app.state.sessionmaker.begin() as session:
        stored = get_plan(session, plan_id=row.id)
        assert stored is not None
        stored.status = "dispatched"
    near, slot_id = a_stop(row)
    quotes = quote(client, keys[Role.storefront], location=near).json()["data"]
    assert quotes and all(q["reason"] == "closed" for q in quotes)
    assert not any(q["available"] for q in quotes)
    got = book(client, keys[Role.storefront], location=near, slot_id=slot_id)
    assert got.status_code == 409
    assert "dispatched" in got.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"location": {"index": 3}}, "body.location"),
        ({"location": {"lat": 95, "lon": 126.9}}, "body.location.lat"),
        ({"day": "2026-02-30"}, "body.day"),
        ({"slot_id": "07:00-09:00"}, "body.slot_id"),
        ({"slot_id": ""}, "body.slot_id"),
        ({"demand": []}, "body.demand"),
        ({"demand": [1]}, "body.demand"),
        ({"service_time": -1}, "body.service_time"),
        ({"colour": "red"}, "body.colour"),
    ],
)
def test_bad_booking_is_422_naming_the_field(
    app: FastAPI,
    client: TestClient,
    keys: dict[Role, str],
    body: dict[str, Any],
    field: str,
) -> None:
    """Invalid input is a 422 problem whose errors name the field."""
    row = store_day(app, orders=3, vans=1)
    near, slot_id = a_stop(row)
    got = book(
        client, keys[Role.storefront], **{"location": near, "slot_id": slot_id, **body}
    )
    assert got.status_code == 422, got.text
    assert got.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in got.json()["errors"]]


def test_quote_needs_storefront_or_dispatcher(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Planners may not quote (403); booking is the storefront's alone."""
    where = {"lat": HOME[0], "lon": HOME[1]}
    assert quote(client, keys[Role.planner], location=where).status_code == 403
    got = book(client, keys[Role.dispatcher], location=where, slot_id="night")
    assert got.status_code == 403
    assert got.json()["detail"].startswith("role dispatcher may not")


def test_an_exchange_needs_room_for_what_it_collects(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """Quoting an exchange counts what is collected: a collection bigger
    than any van's room leaves no home slot, while the same address as a
    plain delivery has some; stations are never offered for an exchange;
    a booked exchange is stored as one and its plan passes the checker."""
    row = store_day(app, parcels=120)
    near, slot_id = a_stop(row)
    key = keys[Role.storefront]
    plain = quote(client, key, location=near).json()["data"]
    assert any(q["available"] for q in plain if q["slot"]["kind"] == "home")
    huge = quote(client, key, location=near, collect=[1500, 500]).json()["data"]
    homes = [q for q in huge if q["slot"]["kind"] == "home"]
    assert homes and not any(q["available"] for q in homes)
    assert not any(q["available"] for q in huge if q["slot"]["kind"] == "station")

    got = book(
        client, key, location=near, slot_id=slot_id, collect=[3000, 2], demand=[1500, 1]
    )
    assert got.status_code == 201, got.text
    body = got.json()
    with app.state.sessionmaker() as session:
        order = get_order(session, order_id=body["order_id"])
        assert isinstance(order, OrderRow)
        assert order.job.type == "exchange" and order.job.collect == (3000, 2)
        new = current_plan(session, day=DAY, depot_id=DEPOT)
        assert new is not None and new.id == body["plan_id"]
        assert check(new.problem, new.plan, HaversineTravel()).ok


@pytest.mark.parametrize(
    ("collect", "reason"),
    [([1, 2, 3], "has 3 dimensions"), ([0, 0], "collects something")],
)
def test_a_bad_exchange_is_422_naming_collect(
    app: FastAPI,
    client: TestClient,
    keys: dict[Role, str],
    collect: list[int],
    reason: str,
) -> None:
    row = store_day(app)
    near, _ = a_stop(row)
    got = quote(client, keys[Role.storefront], location=near, collect=collect)
    assert got.status_code == 422, got.text
    assert "collect" in got.text and reason in got.text


def test_every_stored_station_near_the_address_is_offered(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """A stored station near the address is quoted although no order of the
    day goes to it; booking it stores a station order on a plan that stops
    there; a station stored (or deleted) after the book was made is offered
    (or no longer) at the next quote; a far one never is."""
    row = store_day(app)
    near, _ = a_stop(row)
    key = keys[Role.storefront]
    d = auth(keys[Role.dispatcher])
    assert quote(client, key, location=near).json()["stations"] == []

    def station(sid: str, lat: float, lon: float) -> None:
        body = {"id": sid, "name": sid, "location": {"lat": lat, "lon": lon}}
        assert client.post("/v1/stations", json=body, headers=d).status_code == 201

    station("locker-near", near["lat"] + 0.003, near["lon"])  # ~330 m
    station("locker-far", FAR["lat"], FAR["lon"])
    body = quote(client, key, location=near).json()
    assert [s["id"] for s in body["stations"]] == ["locker-near"]
    assert 250 < body["stations"][0]["distance_m"] < 400
    offered = [q for q in body["data"] if q["slot"]["kind"] == "station"]
    assert [q["slot"]["id"] for q in offered] == ["station:locker-near"]
    assert offered[0]["available"], offered[0]

    got = book(client, key, location=near, slot_id="station:locker-near")
    assert got.status_code == 201, got.text
    booked = got.json()
    with app.state.sessionmaker() as session:
        order = get_order(session, order_id=booked["order_id"])
        assert isinstance(order, OrderRow)
        assert order.job.station == "locker-near"
        plan = get_plan(session, plan_id=booked["plan_id"])
        assert plan is not None
        stops = [s for r in plan.plan.routes for s in r.steps if s.id == order.id]
        assert len(stops) == 1 and stops[0].location is not None
        assert stops[0].location.lat == pytest.approx(near["lat"] + 0.003)
        assert check(plan.problem, plan.plan, HaversineTravel()).ok

    # Another station nearby, stored after the book was made, is offered:
    station("locker-two", near["lat"], near["lon"] + 0.004)
    ids = [s["id"] for s in quote(client, key, location=near).json()["stations"]]
    assert ids == ["locker-near", "locker-two"]
    assert client.delete("/v1/stations/locker-two", headers=d).status_code == 204
    ids = [s["id"] for s in quote(client, key, location=near).json()["stations"]]
    assert ids == ["locker-near"]
