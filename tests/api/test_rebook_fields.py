"""A failed delivery moved to another day keeps everything it was accepted
with: rebooked by the customer (``/v1/track/{token}/rebook``) or moved to the
next day by the dispatcher (``next_day``), the order is planned with its
priority, skills, handling, ``early_ok``, exchange... and only its day and
window change; its history keeps the failed attempt on the failed day.
Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from api.auth import Role
from api.db.plans import current_plan
from api.db.tables_dispatch import DepotRow, VehicleRow
from routing.locale import DEFAULT_LOCALE
from routing.model import Depot, Job, Location, ServiceLevel, TimeWindow, Vehicle
from routing.units import HOUR
from tests.api.conftest import auth
from tests.api.routes.test_plans import wait_plan
from tests.api.tracking_fixtures import store_tracked_draft
from tracking.status import OrderState, OrderStatus, StatusChange

# A week ahead: the next day's slots are all still open.
DAY = dt.datetime.now(DEFAULT_LOCALE.zone).date() + dt.timedelta(days=7)
NEXT = DAY + dt.timedelta(days=1)
DEPOT = "rb"
COLD, PLAIN = "rb-cold", "rb-plain"
HOME = (37.55, 126.97)
SLOT = TimeWindow(start=11 * HOUR, end=13 * HOUR)
ORDER = "rb-order"
FAILED_AT = 11 * HOUR + 300

#: The order as accepted: every field a slot booking alone would not set.
ACCEPTED: dict[str, Any] = {
    "id": ORDER,
    "type": "exchange",
    "demand": [2],
    "collect": [1],
    "priority": 7,
    "penalty": 90000,
    "lateness_cost": 120,
    "skills": ["fridge"],
    "service_level": "scheduled",
    "scheduled_date": DAY.isoformat(),
    "customer_id": "rb-cust",
    "handling": {"requirement": "cold_chain", "limits": {"shock": {"max": 4}}},
    "location": {"lat": HOME[0] + 0.01, "lon": HOME[1] + 0.01},
    "setup": 60,
    "service": 240,
    "time_windows": [{"start": SLOT.start, "end": SLOT.end}],
    "early_ok": True,
}


def _plan(app: FastAPI, day: dt.date) -> str:
    """A solved draft plan of the stored orders of ``day``, tracked."""
    return store_tracked_draft(app, day=day, depot_id=DEPOT, time_limit=0.3)


def _order(client: TestClient, key: str, job: dict[str, Any], day: dt.date) -> str:
    got = client.post(
        "/v1/orders",
        json={"day": day.isoformat(), "job": job, "depot_id": DEPOT},
        headers=auth(key),
    )
    assert got.status_code == 201, got.text
    token: str = got.json()["tracking_token"]
    return token


@pytest.fixture
def failed(app: FastAPI, client: TestClient, keys: dict[Role, str]) -> str:
    """Two vans (only one has a fridge); the order with every field planned
    on the cold van, dispatched, and its attempt failed at 11:05; a draft
    plan of the next day. The order's tracking token."""
    key = keys[Role.dispatcher]
    with app.state.sessionmaker.begin() as session:
        depot = Depot(id=DEPOT, location=Location(lat=HOME[0], lon=HOME[1]))
        session.add(DepotRow(id=DEPOT, spec=depot.model_dump(mode="json")))
        for van, skills in ((COLD, {"fridge"}), (PLAIN, set())):
            spec = Vehicle(
                id=van,
                start=DEPOT,
                end=DEPOT,
                capacity=(50,),
                skills=frozenset(skills),
                shift=TimeWindow(start=8 * HOUR, end=22 * HOUR),
            )
            session.add(
                VehicleRow(id=van, depot_id=DEPOT, spec=spec.model_dump(mode="json"))
            )
    token = _order(client, key, ACCEPTED, DAY)
    plan_id = _plan(app, DAY)
    got = client.post(f"/v1/plans/{plan_id}/dispatch", headers=auth(key))
    assert got.status_code == 200, got.text
    # A plain parcel next to the depot: the plain van is the cheap one next day.
    plain = {
        "id": "rb-next",
        "demand": [1],
        "location": {"lat": HOME[0] + 0.002, "lon": HOME[1]},
        "service": 120,
    }
    _order(client, key, plain, NEXT)
    _plan(app, NEXT)
    events = [
        {"type": "shift_start", "id": "s1", "at": 9 * HOUR, "vehicle": COLD},
        {"type": "stop_departed", "id": "s2", "at": 9 * HOUR + 60, "vehicle": COLD},
        {"type": "failed_attempt", "id": "f1", "at": FAILED_AT, "vehicle": COLD,
         "order_id": ORDER, "reason": "not_home"},
    ]  # fmt: skip
    sent = client.post(
        "/v1/events",
        json={"day": DAY.isoformat(), "events": events},
        headers=auth(key),
    )
    assert sent.status_code == 200, sent.text
    assert len(sent.json()["accepted"]) == len(events), sent.text
    return token


def _moved(window: TimeWindow, day: dt.date) -> dict[str, Any]:
    """The accepted order on ``day`` in ``window``: nothing else changed."""
    job = Job.model_validate(ACCEPTED)
    return job.model_copy(
        update={"time_windows": (window,), "scheduled_date": day}
    ).model_dump(mode="json")


def _planned_job(app: FastAPI, plan_id: str | None = None) -> tuple[Job, str]:
    """The order as the next day's plan (current, or ``plan_id``) has it,
    and the van serving it."""
    with app.state.sessionmaker() as session:
        row = current_plan(session, day=NEXT, depot_id=DEPOT)
        assert row is not None
        assert plan_id is None or row.id == plan_id
        job = next(j for j in row.problem.jobs if j.id == ORDER)
        assert ORDER not in {u.id for u in row.plan.unassigned}
        van = next(r.vehicle for r in row.plan.routes if ORDER in r.order_ids)
    return job, van


def _check_history(client: TestClient, key: str, token: str) -> None:
    """The failed attempt is dated on its own day; the new plan on the new."""
    page = client.get(f"/v1/track/{token}")
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["day"] == NEXT.isoformat() and body["status"] == "planned"
    steps = {s["status"]: dt.datetime.fromisoformat(s["at"]) for s in body["history"]}
    failed_at = steps["failed_attempt"].astimezone(DEFAULT_LOCALE.zone)
    assert failed_at.date() == DAY
    assert (failed_at.hour, failed_at.minute) == (11, 5)
    # Planned again just now (the test's days lie ahead): counted from the
    # new day's midnight, it is the real time of the move.
    assert body["history"][-1]["status"] == "planned"
    moved = dt.datetime.fromisoformat(body["history"][-1]["at"])
    assert abs(moved - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    tracked = client.get(f"/v1/orders/{ORDER}/tracking", headers=auth(key))
    assert tracked.status_code == 200, tracked.text
    history = tracked.json()["history"]
    days = {c["target"]: c["day"] for c in history}
    assert days["failed_attempt"] == DAY.isoformat()
    assert days["created"] == DAY.isoformat()
    assert history[-1]["target"] == "planned"
    assert history[-1]["day"] == NEXT.isoformat()
    failed = next(c for c in history if c["target"] == "failed_attempt")
    assert failed["at"] == FAILED_AT


def test_a_rebooked_order_is_planned_with_every_field(
    app: FastAPI, client: TestClient, keys: dict[Role, str], failed: str
) -> None:
    """The customer's new slot is quoted and planned for the order as
    accepted (its fridge skill puts it on the cold van though the plain one
    is cheaper); the stored order is the planned one, and planning the day
    again keeps it so."""
    key = keys[Role.dispatcher]
    slots = client.get(f"/v1/track/{failed}/slots").json()["slots"]
    free = [s for s in slots if s["available"]]
    assert free, slots
    station = client.post(
        f"/v1/track/{failed}/rebook",
        json={"day": NEXT.isoformat(), "slot_id": "station:none"},
    )
    assert station.status_code == 422 and "slot_id" in station.text
    booked = client.post(
        f"/v1/track/{failed}/rebook",
        json={"day": NEXT.isoformat(), "slot_id": free[0]["id"]},
    )
    assert booked.status_code == 200, booked.text
    start = dt.datetime.fromisoformat(booked.json()["slot"]["start"])
    end = dt.datetime.fromisoformat(booked.json()["slot"]["end"])
    midnight = dt.datetime.combine(NEXT, dt.time(), DEFAULT_LOCALE.zone)
    window = TimeWindow(
        start=int((start - midnight).total_seconds()),
        end=int((end - midnight).total_seconds()),
    )
    expected = _moved(window, NEXT)

    job, van = _planned_job(app)
    assert job.model_dump(mode="json") == expected
    assert van == COLD
    stored = client.get(f"/v1/orders/{ORDER}", headers=auth(key)).json()
    assert stored["day"] == NEXT.isoformat()
    assert stored["job"] == expected
    _check_history(client, key, failed)

    # Planning the day again from the stored orders: the same order.
    again = client.post(
        "/v1/plans",
        json={"day": NEXT.isoformat(), "depot_id": DEPOT,
              "params": {"time_limit": 0.3, "workers": 1}},
        headers=auth(key),
    )  # fmt: skip
    assert again.status_code == 202, again.text
    body = wait_plan(client, key, again.json()["url"])
    assert body["status"] == "draft", body["job"]
    job, van = _planned_job(app, body["id"])
    assert job.model_dump(mode="json") == expected
    assert van == COLD


def test_next_day_keeps_every_field_and_is_tracked(
    app: FastAPI, client: TestClient, keys: dict[Role, str], failed: str
) -> None:
    """``next_day``: the next day's plan has the order as accepted (its
    scheduled date moved along, its window the same), on the cold van; its
    status follows that plan, and its link still works, the failed attempt
    dated on the failed day."""
    key = keys[Role.dispatcher]
    listed = client.get(
        "/v1/exceptions",
        params={"day": DAY.isoformat(), "kind": "failed_attempt", "open": "true"},
        headers=auth(key),
    )
    assert listed.status_code == 200, listed.text
    [exception] = [e for e in listed.json()["data"] if e["order_ids"] == [ORDER]]
    decided = client.post(
        f"/v1/exceptions/{exception['id']}/decide",
        json={"decision": "next_day"},
        headers=auth(key),
    )
    assert decided.status_code == 200, decided.text
    expected = _moved(SLOT, NEXT)
    stored = client.get(f"/v1/orders/{ORDER}", headers=auth(key)).json()
    assert stored["day"] == NEXT.isoformat()
    assert stored["job"] == expected

    planned = client.post(
        "/v1/plans",
        json={"day": NEXT.isoformat(), "depot_id": DEPOT,
              "params": {"time_limit": 0.3, "workers": 1}},
        headers=auth(key),
    )  # fmt: skip
    assert planned.status_code == 202, planned.text
    body = wait_plan(client, key, planned.json()["url"])
    assert body["status"] == "draft", body["job"]
    job, van = _planned_job(app, body["id"])
    assert job.model_dump(mode="json") == expected
    assert job.service_level is ServiceLevel.SCHEDULED
    assert van == COLD
    _check_history(client, key, failed)


# -- dating the history ----------------------------------------------------------

_DAYS = st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31))


@st.composite
def _statuses(draw: st.DrawFn) -> OrderStatus:
    history = tuple(
        StatusChange(
            source=None,
            target=draw(st.sampled_from(list(OrderState))),
            at=draw(st.integers(-86_400, 2 * 86_400)),
            cause="c",
            day=draw(st.none() | _DAYS),
        )
        for _ in range(draw(st.integers(1, 6)))
    )
    return OrderStatus(order_id="o", history=history)


@seed(20261207)
@settings(max_examples=200, deadline=None)
@given(_statuses(), _DAYS, _DAYS)
def test_dating_keeps_every_day_given(
    status: OrderStatus, old: dt.date, new: dt.date
) -> None:
    """``dated`` fills only the changes without a day, changes nothing else,
    and a change dated before a second move keeps its first day."""
    dated = status.dated(old)
    assert len(dated.history) == len(status.history)
    for before, after in zip(status.history, dated.history, strict=True):
        assert after.day == (before.day or old)
        assert after.model_copy(update={"day": before.day}) == before
    assert dated.dated(new) == dated
