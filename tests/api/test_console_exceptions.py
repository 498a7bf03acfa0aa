"""The console's exceptions fed live, failed-attempt decisions and live KPIs.

The small example day (docs/examples/small_problem.json, solved once) is
stored as a plan and dispatched through the API; the rules are evaluated at
chosen times (``evaluate_exceptions(now=...)``) and through
``GET /v1/exceptions``. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import Role
from api.db import orders as order_rows
from api.db.tracking import tracked_order
from api.services.console import evaluate_exceptions
from api.services.exceptions import list_exceptions
from routing.model import Job
from routing.plan import Plan
from tests.api.conftest import auth
from tests.api.routes.test_plans import assert_problem
from tests.api.tracking_fixtures import (
    DAY,
    SMALL,
    batch,
    dispatch_small_day,
    main_route,
    small_day,
)
from tracking.exceptions import ExceptionKind

PLAN_ID = "console-plan"
HOUR = 3600


def _dispatch(client: TestClient, key: str) -> Plan:
    """The small day stored as a plan of depot gangseo and dispatched."""
    return dispatch_small_day(client, key, day=DAY, plan_id=PLAN_ID)


def _evaluate(client: TestClient, now: int) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    with app.state.sessionmaker.begin() as session:
        evaluate_exceptions(
            session,
            day=DAY,
            etas=app.state.live_etas,
            settings=app.state.settings,
            now=now,
        )


def _open(client: TestClient, key: str, kind: str) -> list[dict[str, Any]]:
    """The day's open exceptions of ``kind`` (read without evaluating)."""
    app: FastAPI = client.app  # type: ignore[assignment]
    with app.state.sessionmaker() as session:
        found = list_exceptions(
            session,
            is_open=True,
            day=DAY,
            kind=ExceptionKind(kind),
            vehicle=None,
            limit=100,
            offset=0,
        )
    return [e.model_dump(mode="json") for e in found.data]


def _send(client: TestClient, key: str, *events: dict[str, Any]) -> None:
    sent = client.post("/v1/events", json=batch(*events), headers=auth(key))
    assert sent.status_code == 200, sent.text
    assert sent.json()["rejected"] == [], sent.json()


def test_vans_not_started_and_silent_open_and_close(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """No report by shift start + 15 min: van_not_started; a report closes it.
    Then 20 min without a report with stops left: van_silent, until the next."""
    key = keys[Role.dispatcher]
    plan = _dispatch(client, key)
    problem, _ = small_day()
    route = main_route(plan)
    van = route.vehicle
    start = next(v for v in problem.vehicles if v.id == van).shift.start

    _evaluate(client, start + 14 * 60)
    assert _open(client, key, "van_not_started") == []
    _evaluate(client, start + 16 * 60)
    opened = {e["vehicle"]: e for e in _open(client, key, "van_not_started")}
    shifts = {v.id: v.shift.start for v in problem.vehicles}
    due = {
        r.vehicle
        for r in plan.routes
        if r.order_ids and shifts[r.vehicle] + 15 * 60 <= start + 16 * 60
    }
    assert van in due and set(opened) == due
    _evaluate(client, start + 17 * 60)  # again: the same exception
    again = {e["vehicle"]: e for e in _open(client, key, "van_not_started")}
    assert again[van]["id"] == opened[van]["id"]

    _send(
        client,
        key,
        {"type": "shift_start", "id": "s1", "at": start + 18 * 60, "vehicle": van},
    )
    _evaluate(client, start + 19 * 60)
    assert van not in {e["vehicle"] for e in _open(client, key, "van_not_started")}
    assert _open(client, key, "van_silent") == []
    _evaluate(client, start + 39 * 60)
    (silent,) = [e for e in _open(client, key, "van_silent") if e["vehicle"] == van]
    assert "since" in silent["detail"]
    ping = {
        "type": "position",
        "id": "p1",
        "at": start + 40 * 60,
        "vehicle": van,
        "lat": 37.55,
        "lon": 126.85,
    }
    _send(client, key, ping)
    _evaluate(client, start + 41 * 60)
    assert [e for e in _open(client, key, "van_silent") if e["vehicle"] == van] == []


def test_late_risk_opens_past_the_window_and_closes_once_delivered(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """An order still coming an hour after its window ended is at risk; the
    delivery closes it; the live KPIs count it delivered, late."""
    key = keys[Role.dispatcher]
    plan = _dispatch(client, key)
    problem, _ = small_day()
    route = main_route(plan)
    first = route.order_ids[0]
    job = next(j for j in problem.jobs if j.id == first)
    assert isinstance(job, Job) and job.time_windows
    end = job.time_windows[0].end

    _evaluate(client, end - 3 * HOUR)
    assert first not in {
        o for e in _open(client, key, "late_risk") for o in e["order_ids"]
    }
    _evaluate(client, end + HOUR)
    risky = {e["order_ids"][0]: e for e in _open(client, key, "late_risk")}
    assert first in risky and risky[first]["vehicle"] == route.vehicle
    live = client.get(f"/v1/plans/{PLAN_ID}/live", headers=auth(key)).json()
    assert live["kpis"]["late_risk"] == len(risky)
    assert live["kpis"]["delivered"] == 0 and live["kpis"]["on_time_rate"] is None

    van = route.vehicle
    at = end + HOUR + 60
    _send(
        client,
        key,
        {"type": "shift_start", "id": "s1", "at": at, "vehicle": van},
        {"type": "stop_departed", "id": "d0", "at": at + 1, "vehicle": van},
        {
            "type": "stop_arrived",
            "id": "a1",
            "at": at + 2,
            "vehicle": van,
            "order_id": first,
        },
        {
            "type": "delivered",
            "id": "x1",
            "at": at + 3,
            "vehicle": van,
            "order_id": first,
            "proof": {"recipient": "Kim"},
        },
    )
    _evaluate(client, at + 10)
    assert first not in {e["order_ids"][0] for e in _open(client, key, "late_risk")}
    kpis = client.get(f"/v1/plans/{PLAN_ID}/live", headers=auth(key)).json()["kpis"]
    assert kpis["planned"] == sum(len(r.order_ids) for r in plan.routes)
    assert (kpis["delivered"], kpis["on_time"], kpis["on_time_rate"]) == (1, 0, 0.0)


def test_failed_attempts_wait_for_a_decision(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """A failed attempt opens its exception as it is ingested; deciding closes
    it, records who and what, and moves the order (re-attempt, next day,
    return); a second decision is 409, another kind of exception 422."""
    key = keys[Role.dispatcher]
    headers = auth(key)
    plan = _dispatch(client, key)
    route = main_route(plan)
    van = route.vehicle
    small = json.loads(SMALL.read_text())
    at_doors = {j["id"] for j in small["jobs"] if "location" in j}
    orders = [o for o in route.order_ids if o in at_doors][:3]
    assert len(orders) == 3
    # the orders are stored too, so next_day can move them
    depot = client.post("/v1/depots", json=small["depots"][0], headers=headers)
    assert depot.status_code == 201, depot.text
    for job in small["jobs"]:
        if job["id"] in orders:
            body = {"day": DAY.isoformat(), "job": job, "depot_id": "gangseo"}
            assert (
                client.post("/v1/orders", json=body, headers=headers).status_code == 201
            )
    at = 9 * HOUR
    events: list[dict[str, Any]] = [
        {"type": "shift_start", "id": "s1", "at": at, "vehicle": van},
        {"type": "stop_departed", "id": "d0", "at": at + 1, "vehicle": van},
    ]
    for k, oid in enumerate(orders):
        t = at + 100 * (k + 1)
        events += [
            {
                "type": "stop_arrived",
                "id": f"a{k}",
                "at": t,
                "vehicle": van,
                "order_id": oid,
            },
            {
                "type": "failed_attempt",
                "id": f"f{k}",
                "at": t + 10,
                "vehicle": van,
                "order_id": oid,
                "reason": "not_home",
            },
            {
                "type": "stop_departed",
                "id": f"d{k + 1}",
                "at": t + 20,
                "vehicle": van,
                "order_id": oid,
            },
        ]
    _send(client, key, *events)
    listed = _open(client, key, "failed_attempt")
    by_order = {e["order_ids"][0]: e for e in listed}
    assert set(by_order) == set(orders)
    kpis = client.get(f"/v1/plans/{PLAN_ID}/live", headers=headers).json()["kpis"]
    assert kpis["failed"] == 3

    decisions = ["reattempt_today", "next_day", "return_to_sender"]
    states = ["rescheduled", "rescheduled", "returned_to_depot"]
    for oid, decision, state in zip(orders, decisions, states, strict=True):
        url = f"/v1/exceptions/{by_order[oid]['id']}/decide"
        bad = client.post(url, json={"decision": "burn_it"}, headers=headers)
        assert_problem(bad, 422, "body.decision")
        refused = client.post(
            url, json={"decision": decision}, headers=auth(keys[Role.planner])
        )
        assert refused.status_code == 403
        done = client.post(
            url, json={"decision": decision, "note": "called"}, headers=headers
        )
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["decision"] == decision and body["open"] is False
        assert body["decided_by"] and body["decided_at"] and body["note"] == "called"
        assert_problem(
            client.post(url, json={"decision": decision}, headers=headers), 409
        )
        app: FastAPI = client.app  # type: ignore[assignment]
        with app.state.sessionmaker() as session:
            found = tracked_order(session, order_id=oid)
            row = order_rows.get_order(session, order_id=oid)
        assert found is not None and str(found[1].state) == state
        assert row is not None
        assert row.day.isoformat() == (
            "2026-11-24" if decision == "next_day" else "2026-11-23"
        )
    assert _open(client, key, "failed_attempt") == []
    # evaluating again does not reopen decided attempts
    _evaluate(client, at + 2 * HOUR)
    assert _open(client, key, "failed_attempt") == []

    listed_now = client.get(
        "/v1/exceptions",
        params={"day": DAY.isoformat(), "open": "true"},
        headers=headers,
    ).json()["data"]
    # the service's clock is long past this day: GET evaluates the day it
    # lists, and the van with stops left has gone silent
    other = [e for e in listed_now if e["kind"] == "van_silent"]
    assert [e["vehicle"] for e in other] == [van]
    wrong = client.post(
        f"/v1/exceptions/{other[0]['id']}/decide",
        json={"decision": "next_day"},
        headers=headers,
    )
    assert_problem(wrong, 422, "body.decision")


def test_live_kpis_count_deliveries_in_their_window_on_time(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """A delivery inside its promised window is on time: rate 1.0."""
    key = keys[Role.dispatcher]
    plan = _dispatch(client, key)
    problem, _ = small_day()
    route = main_route(plan)
    first = route.order_ids[0]
    job = next(j for j in problem.jobs if j.id == first)
    assert isinstance(job, Job) and job.time_windows
    at = job.time_windows[0].start
    van = route.vehicle
    before = client.get(f"/v1/plans/{PLAN_ID}/live", headers=auth(key)).json()["kpis"]
    assert before["delivered"] == 0 and before["on_time_rate"] is None
    _send(
        client,
        key,
        {"type": "shift_start", "id": "s1", "at": at - 600, "vehicle": van},
        {"type": "stop_departed", "id": "d0", "at": at - 500, "vehicle": van},
        {
            "type": "stop_arrived",
            "id": "a1",
            "at": at,
            "vehicle": van,
            "order_id": first,
        },
        {
            "type": "delivered",
            "id": "x1",
            "at": at + 180,
            "vehicle": van,
            "order_id": first,
            "proof": {"photo": "door.jpg"},
        },
    )
    kpis = client.get(f"/v1/plans/{PLAN_ID}/live", headers=auth(key)).json()["kpis"]
    assert (kpis["delivered"], kpis["on_time"], kpis["on_time_rate"]) == (1, 1, 1.0)
    assert kpis["failed"] == 0
