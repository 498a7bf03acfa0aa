"""The dispatcher console's service: review then dispatch, drafts replaced.

Each test runs on SQLite and on PostgreSQL. Solves use the documented
example (docs/examples/small_problem.json, 9 orders) with a 1 s time limit.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import Role
from api.db import plans as plan_rows
from api.db.tracking import tracked_order
from routing.plan import Plan, StepType
from routing.solver import SolveParams, solve
from tests.api.conftest import auth
from tests.api.routes.test_plan_travel import city_roads
from tests.api.routes.test_plans import EXAMPLE, PARAMS, assert_problem, wait_plan
from tests.api.routes.test_slots import store_day

SMALL: dict[str, Any] = json.loads(EXAMPLE.read_text())


def _solve(client: TestClient, key: str) -> dict[str, Any]:
    """The example problem solved through the API; the final plan body."""
    response = client.post(
        "/v1/plans",
        json={"problem": SMALL, "params": PARAMS},
        headers=auth(key),
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = wait_plan(client, key, response.json()["url"])
    assert body["status"] == "draft", body["job"]
    return body


def _tracked(client: TestClient, order_id: str) -> tuple[str | None, str]:
    """The plan whose route an order is tracked on, and the order's state."""
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        found = tracked_order(session, order_id=order_id)
    assert found is not None
    _, status, ref = found
    return ref.plan_id, str(status.state)


def test_a_dispatched_plan_stays_live_until_its_draft_is_dispatched(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Re-optimising a dispatched plan makes a draft to review; the parent
    stays dispatched and tracked until the draft is dispatched, which
    supersedes it and moves tracking to the draft."""
    key = keys[Role.dispatcher]
    headers = auth(key)
    parent = _solve(client, key)
    pid = parent["id"]
    assert client.post(f"/v1/plans/{pid}/dispatch", headers=headers).is_success
    routed = Plan.model_validate(parent["plan"]).routes[0].order_ids
    cancelled, kept = routed[0], routed[-1]
    response = client.post(
        f"/v1/plans/{pid}/reoptimize",
        json={"time": 6 * 3600, "cancelled": [cancelled], "params": PARAMS},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    child = wait_plan(client, key, response.json()["url"])
    cid = child["id"]
    assert child["status"] == "draft" and child["parent_id"] == pid
    assert child["changes"]["cancelled"] == [cancelled]

    live = client.get(f"/v1/plans/{pid}", headers=headers).json()
    assert live["status"] == "dispatched" and live["superseded_by"] is None
    # tracking still follows the parent
    assert _tracked(client, kept) == (pid, "dispatched")

    dispatched = client.post(f"/v1/plans/{cid}/dispatch", headers=headers)
    assert dispatched.status_code == 200, dispatched.text
    assert dispatched.json()["status"] == "dispatched"
    old = client.get(f"/v1/plans/{pid}", headers=headers).json()
    assert old["status"] == "superseded" and old["superseded_by"] == cid
    assert _tracked(client, kept) == (cid, "dispatched")
    assert_problem(client.post(f"/v1/plans/{pid}/dispatch", headers=headers), 409)
    listed = client.get(
        "/v1/plans", params={"status": "dispatched"}, headers=headers
    ).json()
    assert [p["id"] for p in listed["data"]] == [cid]


def test_a_second_solve_replaces_the_earlier_draft(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Solving a day and depot again supersedes its draft, naming the new one."""
    key = keys[Role.dispatcher]
    first = _solve(client, key)
    second = _solve(client, key)
    old = client.get(f"/v1/plans/{first['id']}", headers=auth(key)).json()
    assert old["status"] == "superseded"
    assert old["superseded_by"] == second["id"]
    drafts = client.get(
        "/v1/plans", params={"status": "draft"}, headers=auth(key)
    ).json()
    assert [p["id"] for p in drafts["data"]] == [second["id"]]


def test_deleting_a_plan_discards_a_draft_only(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """DELETE: a draft becomes superseded (by nothing), again changes nothing;
    a dispatched plan is 409, an unknown one 404, a planner is refused."""
    key = keys[Role.dispatcher]
    headers = auth(key)
    draft = _solve(client, key)
    url = f"/v1/plans/{draft['id']}"
    assert client.delete(url, headers=auth(keys[Role.planner])).status_code == 403
    gone = client.delete(url, headers=headers)
    assert gone.status_code == 200, gone.text
    assert gone.json()["status"] == "superseded"
    assert gone.json()["superseded_by"] is None
    again = client.delete(url, headers=headers)
    assert again.status_code == 200 and again.json()["status"] == "superseded"
    assert_problem(client.post(f"{url}/dispatch", headers=headers), 409)

    live = _solve(client, key)
    assert client.post(f"/v1/plans/{live['id']}/dispatch", headers=headers).is_success
    refused = assert_problem(
        client.delete(f"/v1/plans/{live['id']}", headers=headers), 409
    )
    assert "dispatched" in refused["detail"]
    assert assert_problem(client.delete("/v1/plans/nope", headers=headers), 404)


@pytest.mark.parametrize("dispatched", [False, True], ids=["draft", "dispatched"])
def test_a_new_solve_leaves_a_dispatched_plan_live(
    client: TestClient, keys: dict[Role, str], dispatched: bool
) -> None:
    """A solve while a plan of the day is dispatched does not move its
    orders; a solve of an undispatched day is tracked at once."""
    key = keys[Role.dispatcher]
    first = _solve(client, key)
    if dispatched:
        url = f"/v1/plans/{first['id']}/dispatch"
        assert client.post(url, headers=auth(key)).is_success
    second = _solve(client, key)
    order = Plan.model_validate(second["plan"]).routes[0].order_ids[0]
    assert _tracked(client, order) == (
        (first["id"], "dispatched") if dispatched else (second["id"], "planned")
    )
    first_now = client.get(f"/v1/plans/{first['id']}", headers=auth(key)).json()
    assert first_now["status"] == ("dispatched" if dispatched else "superseded")


def _infeasible_move(plan: dict[str, Any]) -> dict[str, Any]:
    """o-1002 needs a skill only its van has: moving it breaks the plan."""
    parsed = Plan.model_validate(plan)
    van = next(r.vehicle for r in parsed.routes if "o-1002" in r.order_ids)
    other = next(v["id"] for v in SMALL["vehicles"] if v["id"] != van)
    return {"op": "move", "order_id": "o-1002", "vehicle": other, "position": 0}


def test_edits_are_previewed_then_applied_as_a_draft(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Preview answers feasibility, deltas and changes without storing;
    applying stores a draft child (the draft parent superseded), refusing an
    infeasible edit unless forced; malformed edits are 422 naming the field."""
    key = keys[Role.dispatcher]
    headers = auth(key)
    parent = _solve(client, key)
    pid = parent["id"]
    url = f"/v1/plans/{pid}/edits"
    bad_move = _infeasible_move(parent["plan"])
    body = {"edits": [bad_move]}
    assert (
        client.post(
            f"{url}/preview", json=body, headers=auth(keys[Role.planner])
        ).status_code
        == 403
    )

    preview = client.post(f"{url}/preview", json=body, headers=headers)
    assert preview.status_code == 200, preview.text
    seen = preview.json()
    assert seen["feasible"] is False and seen["violations"]
    assert any("skills" in v for v in seen["violations"])
    assert seen["cost_delta"] == pytest.approx(
        seen["after"]["cost"] - seen["before"]["cost"]
    )
    assert (
        seen["distance_delta_m"]
        == seen["after"]["distance"] - seen["before"]["distance"]
    )
    assert [m["order"] for m in seen["changes"]["moved"]] == ["o-1002"]
    assert client.get(f"/v1/plans/{pid}", headers=headers).json()["status"] == "draft"

    for edits, field in (
        ([{**bad_move, "vehicle": "van-404"}], "body.edits[0].vehicle"),
        ([{**bad_move, "order_id": "o-404"}], "body.edits[0].order_id"),
        (
            [{"op": "resequence", "vehicle": "van-2", "order_ids": ["o-1002"]}],
            "body.edits[0].order_ids",
        ),
        ([{"op": "teleport"}], "body.edits[0]"),
        ([], "body.edits"),
    ):
        refused = client.post(f"{url}/preview", json={"edits": edits}, headers=headers)
        problem = assert_problem(refused, 422)
        assert any(e["field"].startswith(field) for e in problem["errors"]), problem

    assert (
        "infeasible"
        in assert_problem(client.post(url, json=body, headers=headers), 409)["detail"]
    )
    lock = {"op": "lock", "order_id": "o-1001", "locked": True}
    applied = client.post(url, json={"edits": [lock]}, headers=headers)
    assert applied.status_code == 201, applied.text
    child = applied.json()
    assert applied.headers["location"] == f"/v1/plans/{child['id']}"
    assert child["status"] == "draft" and child["parent_id"] == pid
    assert child["changes"] is not None and child["locked"] == ["o-1001"]
    old = client.get(f"/v1/plans/{pid}", headers=headers).json()
    assert old["status"] == "superseded" and old["superseded_by"] == child["id"]
    assert_problem(client.post(url, json={"edits": [lock]}, headers=headers), 409)

    # the child keeps its lock: moving the locked stop is refused by name
    locked_move = {"op": "move", "order_id": "o-1001", "vehicle": "van-1"}
    refused = client.post(
        f"/v1/plans/{child['id']}/edits/preview",
        json={"edits": [locked_move]},
        headers=headers,
    )
    assert "locked" in assert_problem(refused, 422, "body.edits[0].order_id")[
        "detail"
    ] + str(refused.json())
    forced = client.post(
        f"/v1/plans/{child['id']}/edits",
        json={"edits": [bad_move], "force": True},
        headers=headers,
    )
    assert forced.status_code == 201, forced.text
    assert [m["order"] for m in forced.json()["changes"]["moved"]] == ["o-1002"]


def test_editing_a_dispatched_plan_makes_a_draft_to_review(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """An edit of a dispatched plan is a draft; the parent stays dispatched."""
    key = keys[Role.dispatcher]
    headers = auth(key)
    parent = _solve(client, key)
    pid = parent["id"]
    assert client.post(f"/v1/plans/{pid}/dispatch", headers=headers).is_success
    route = Plan.model_validate(parent["plan"]).routes[0]
    order = list(route.order_ids)
    edits = {
        "edits": [
            {"op": "resequence", "vehicle": route.vehicle, "order_ids": order[::-1]}
        ]
    }
    preview = client.post(f"/v1/plans/{pid}/edits/preview", json=edits, headers=headers)
    assert preview.status_code == 200, preview.text
    applied = client.post(
        f"/v1/plans/{pid}/edits", json={**edits, "force": True}, headers=headers
    )
    assert applied.status_code == 201, applied.text
    child = applied.json()
    assert child["status"] == "draft"
    new_route = Plan.model_validate(child["plan"]).route_of(route.vehicle)
    assert new_route is not None and list(new_route.order_ids) == order[::-1]
    live = client.get(f"/v1/plans/{pid}", headers=headers).json()
    assert live["status"] == "dispatched"
    assert _tracked(client, order[0])[0] == pid


def test_routes_are_drawn_along_the_roads_of_a_road_plan(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """A straight-line plan: one straight leg per pair of stops; the same day
    planned on the city's roads: legs follow the roads (many points)."""
    headers = auth(keys[Role.planner])
    row = store_day(app, orders=6, vans=2)
    got = client.get(f"/v1/plans/{row.id}/geometry", headers=headers)
    assert got.status_code == 200, got.text
    straight = got.json()
    assert straight["plan_id"] == row.id and straight["along_roads"] is False
    for route, drawn in zip(row.plan.routes, straight["routes"], strict=True):
        places = [
            (s.location.lat, s.location.lon)
            for s in route.steps
            if s.type != StepType.BREAK and s.location is not None
        ]
        assert drawn["vehicle"] == route.vehicle
        assert drawn["legs"] == [
            [list(a), list(b)] for a, b in itertools.pairwise(places)
        ]
    assert (
        client.get(f"/v1/plans/{row.id}/geometry", headers=headers).json() == straight
    )

    on_roads = solve(
        row.problem, travel=city_roads(), params=SolveParams(time_limit=1.0)
    )
    with app.state.sessionmaker.begin() as session:
        road_row = plan_rows.save_plan(
            session,
            day=row.day,
            depot_id=row.depot_id,
            problem=row.problem,
            plan=on_roads,
            parent_id=None,
            job_id=None,
        )
        road_id = road_row.id
    drawn = client.get(f"/v1/plans/{road_id}/geometry", headers=headers).json()
    assert drawn["along_roads"] is True
    legs = [leg for r in drawn["routes"] for leg in r["legs"]]
    assert legs and all(len(leg) >= 2 for leg in legs)
    assert sum(len(leg) for leg in legs) > 3 * len(legs)
    assert_problem(client.get("/v1/plans/nope/geometry", headers=headers), 404)
