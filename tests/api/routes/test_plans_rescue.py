"""Re-optimising through the service with a broken-down van (issue #17).

Each test runs on SQLite and on PostgreSQL: the day's orders are stored,
planned, some cancelled, deleted or failed at the door, then a van breaks
down on its route with parcels on board and the dispatcher chooses how to
rescue them, or compares the choices first.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth import Role
from api.db.tables_jobs import PlanRow
from routing.model import Problem
from routing.plan import Plan, StepType
from tests.api.conftest import auth
from tests.api.routes.test_plans import (
    PARAMS,
    _history,
    assert_problem,
    checked,
    small,
    wait_plan,
)

__all__ = ["small"]  # the module fixture, shared
#: re-optimising a ten-order day: a short search is enough
FAST = {"time_limit": 0.2, "workers": 1}


def _problem(client: TestClient, plan_id: str) -> Problem:
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        row = session.get(PlanRow, plan_id)
        assert row is not None
        return Problem.model_validate(row.problem.model_dump())


def _store_day(client: TestClient, key: str, small: dict[str, Any]) -> None:
    """Depot gangseo, two vans and ten orders in the west of Seoul."""
    headers = auth(key)
    depot = small["depots"][0]
    assert client.post("/v1/depots", json=depot, headers=headers).status_code == 201
    for k in range(2):
        van = {**copy.deepcopy(small["vehicles"][0]), "id": f"van-{k + 1}"}
        created = client.post("/v1/vehicles", json=van, headers=headers)
        assert created.status_code == 201, created.text
    for k in range(10):
        job = {
            "id": f"o-30{k:02d}",
            "location": {"lat": 37.50 + 0.008 * k, "lon": 126.84 + 0.012 * (k % 4)},
            "demand": [2000, 1],
            "service": 180,
            "time_windows": [["09:00", "18:00"]],
        }
        order = {"day": "2026-11-23", "job": job, "depot_id": "gangseo"}
        created = client.post("/v1/orders", json=order, headers=headers)
        assert created.status_code == 201, created.text


def _broken_day(
    client: TestClient, key: str, small: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[str], list[str]]:
    """The stored day planned; its busiest van on the road after its first
    stop; three other orders cancelled, deleted and failed at the door.

    Returns the plan body, the request body, the parcels on board the van
    and the orders gone (cancelled, deleted, failed).
    """
    headers = auth(key)
    _store_day(client, key, small)
    made = client.post(
        "/v1/plans",
        json={"day": "2026-11-23", "depot_id": "gangseo", "params": PARAMS},
        headers=headers,
    )
    assert made.status_code == 202, made.text
    first = wait_plan(client, key, made.json()["url"])
    assert first["status"] == "draft", first["job"]
    plan = Plan.model_validate(first["plan"])
    route = max(plan.routes, key=lambda r: r.orders)
    stops = [s for s in route.steps if s.type == StepType.JOB and s.id is not None]
    assert len(stops) >= 4, first["plan"]
    done, *on_board = stops
    served = [o for r in plan.routes for o in r.order_ids]
    pool = [o for o in served if o not in {s.id for s in stops[:3]}]
    cancelled, deleted, failed = pool[-3:]
    events = [
        {"type": "order_cancelled", "id": "c1", "at": 5 * 3600, "order_id": cancelled},
        {"type": "failed_attempt", "id": "f1", "at": 5 * 3600}
        | {"order_id": failed, "reason": "not_home"},
    ]
    sent = client.post(
        "/v1/events", json={"day": "2026-11-23", "events": events}, headers=headers
    )
    assert sent.status_code == 200 and sent.json()["rejected"] == [], sent.text
    assert client.delete(f"/v1/orders/{deleted}", headers=headers).is_success
    gone = [cancelled, deleted, failed]
    assert done.location is not None
    request = {
        "time": done.departure + 60,
        "vehicles": [
            {
                "vehicle": route.vehicle,
                "position": done.location.model_dump(exclude_none=True),
                "time": done.departure,
                "completed": [done.id],
                "next": on_board[0].id,
                "breaks_taken": [],
            }
        ],
        "unavailable": [route.vehicle],
        "params": FAST,
    }
    parcels = [s.id for s in on_board if s.id is not None and s.id not in gone]
    return first, request, parcels, gone


@pytest.mark.parametrize("how", ["transfer", "depot"])
def test_reoptimize_rescues_a_broken_down_vans_parcels(
    client: TestClient, keys: dict[Role, str], small: dict[str, Any], how: str
) -> None:
    """Each rescue choice: the van has no route, its parcels are delivered by
    another van or listed with the reason; cancelled, deleted and failed
    orders stay off the plan and keep their state; the plan passes the
    checker; the fixed leading visits are reported."""
    key = keys[Role.dispatcher]
    first, request, parcels, gone = _broken_day(client, key, small)
    van = request["unavailable"][0]
    before = {o: _history(client, o) for o in gone}
    response = client.post(
        f"/v1/plans/{first['id']}/reoptimize",
        json=request | {"rescue": {van: how}},
        headers=auth(key),
    )
    assert response.status_code == 202, response.text
    body = wait_plan(client, key, response.json()["url"])
    assert body["status"] == "draft", body["job"]
    plan = checked(_problem(client, body["id"]), body["plan"])
    assert plan.route_of(van) is None
    served = {o: r.vehicle for r in plan.routes for o in r.order_ids}
    left = {u.id: u for u in plan.unassigned}
    rescued = {r["order"]: r for r in body["changes"]["rescued"]}
    assert set(rescued) == set(parcels)
    for oid in parcels:
        assert rescued[oid]["how"] == how
        if rescued[oid]["by"] is not None:
            assert served[oid] == rescued[oid]["by"] != van
        else:
            assert left[oid].reason == "depot" and van in left[oid].detail
    assert any(r["by"] for r in rescued.values())
    assert not set(served) & set(gone)
    assert set(gone) <= set(body["changes"]["cancelled"])
    assert {o: _history(client, o) for o in gone} == before
    assert isinstance(body["changes"]["fixed"], dict)


def test_compare_shows_each_rescue_with_its_cost(
    client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> None:
    """``/reoptimize/compare`` plans both choices, stores nothing, and gives
    each one's cost, served, late and dropped parcels; without a broken-down
    van it is a 422 naming the field."""
    key = keys[Role.dispatcher]
    first, request, parcels, _ = _broken_day(client, key, small)
    url = f"/v1/plans/{first['id']}/reoptimize/compare"
    response = client.post(url, json=request, headers=auth(key))
    assert response.status_code == 200, response.text
    options = response.json()["options"]
    assert [o["rescue"] for o in options] == ["transfer", "depot"]
    for o in options:
        assert o["offered"] and o["checker"] == "feasible"
        assert o["cost"] == o["summary"]["cost"]
        assert (o["served"], o["late"]) == (
            o["summary"]["served"],
            o["summary"]["late"],
        )
        assert o["parcels"] == len(parcels)
        assert o["delivered"] == sum(1 for r in o["changes"]["rescued"] if r["by"])
        assert {d["order"] for d in o["dropped"]} >= {
            r["order"] for r in o["changes"]["rescued"] if not r["by"]
        }
    listed = client.get("/v1/plans", headers=auth(key)).json()
    assert [p["id"] for p in listed["data"]] == [first["id"]]
    none = client.post(
        url, json={"time": request["time"], "params": FAST}, headers=auth(key)
    )
    assert_problem(none, 422, "body.unavailable")
    wrong = client.post(
        url,
        json=request | {"rescue": {"van-404": "depot"}},
        headers=auth(key),
    )
    assert_problem(wrong, 422, "body.rescue.van-404")
