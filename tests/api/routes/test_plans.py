"""The plans routes: solve, follow, list, dispatch, re-optimise.

Each test runs on SQLite and on PostgreSQL. Solves use the documented
example (docs/examples/small_problem.json, 9 orders) with a 1 s time limit.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from api.db.tracking import order_status
from api.settings import Settings
from routing.model import Problem
from routing.plan import Plan
from routing.solver import check
from routing.travel import HaversineTravel
from tests.api.conftest import auth, make_keys

EXAMPLE = Path(__file__).resolve().parents[3] / "docs/examples/small_problem.json"
PARAMS = {"time_limit": 1, "workers": 1}
PENDING = frozenset({"queued", "running"})
NOON = 12 * 3600


@pytest.fixture(scope="module")
def small() -> dict[str, Any]:
    """The documented example problem, as JSON."""
    data: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return data


def wait_plan(client: TestClient, key: str, url: str, timeout: float = 120) -> Any:
    """Poll a plan URL until its job is done; the final body."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(url, headers=auth(key))
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] not in PENDING:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def assert_problem(response: Any, status: int, field: str | None = None) -> Any:
    """The response is problem+json with ``status`` (naming ``field``)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def checked(problem: dict[str, Any] | Problem, plan: dict[str, Any]) -> Plan:
    """The plan, after the checker found nothing wrong with it."""
    if isinstance(problem, dict):
        problem = Problem.model_validate(problem)
    parsed = Plan.model_validate(plan)
    verdict = check(problem, parsed, HaversineTravel())
    assert verdict.ok, str(verdict)
    return parsed


@pytest.fixture
def solved(
    client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> dict[str, Any]:
    """The example problem, solved through the API; the final plan body."""
    response = client.post(
        "/v1/plans",
        json={"problem": small, "params": PARAMS},
        headers=auth(keys[Role.dispatcher]),
    )
    assert response.status_code == 202, response.text
    body = wait_plan(client, keys[Role.dispatcher], response.json()["url"])
    assert body["status"] == "draft", body["job"]
    return body


def test_posting_a_problem_answers_202_and_the_plan_follows(
    client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> None:
    """202 with the job and plan URL; polling it ends in a checked draft plan."""
    key = keys[Role.dispatcher]
    response = client.post(
        "/v1/plans", json={"problem": small, "params": PARAMS}, headers=auth(key)
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    plan_id = accepted["id"]
    assert accepted["url"] == f"/v1/plans/{plan_id}"
    assert response.headers["location"] == accepted["url"]
    job = accepted["job"]
    assert job["id"] == plan_id
    assert job["kind"] == "plan"
    assert job["status"] == "queued"
    assert job["progress"] == 0.0
    assert job["url"] == accepted["url"]

    body = wait_plan(client, key, accepted["url"])
    assert body["status"] == "draft", body["job"]
    assert body["id"] == plan_id
    assert body["day"] == "2026-11-23"
    assert body["depot_id"] is None  # two depots
    assert body["parent_id"] is None
    assert body["changes"] is None
    assert body["job"]["status"] == "succeeded"
    assert body["job"]["progress"] == 1.0
    assert body["job"]["finished_at"] is not None
    plan = checked(small, body["plan"])
    assert body["summary"] == plan.summary.model_dump(mode="json")
    assert plan.summary.orders == 9

    # Planners read; the orders are tracked as planned.
    read = client.get(accepted["url"], headers=auth(keys[Role.planner]))
    assert read.status_code == 200
    assert read.json()["plan"] == body["plan"]
    routed = [o for r in plan.routes for o in r.order_ids]
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        for order_id in routed:
            status = order_status(session, order_id=order_id)
            assert status is not None
            assert status.state == "planned"


def test_a_plan_with_vans_first(
    client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> None:
    """``params.objective = vans_then_distance`` gives a checked draft plan."""
    key = keys[Role.dispatcher]
    params = {**PARAMS, "objective": "vans_then_distance", "engine": "ortools"}
    response = client.post(
        "/v1/plans", json={"problem": small, "params": params}, headers=auth(key)
    )
    assert response.status_code == 202, response.text
    body = wait_plan(client, key, response.json()["url"])
    assert body["status"] == "draft", body["job"]
    plan = checked(small, body["plan"])
    assert plan.summary.served == 8 and plan.summary.routes >= 1


def test_a_plan_on_two_cores(
    client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> None:
    """``params.workers = 2``: with ``engine = "pyvrp"`` the job's solve runs
    PyVRP's islands on two cores; ``auto`` keeps its race of OR-Tools and
    PyVRP, which fills two cores already. Both draft plans pass the checker."""
    from routing.solver.params import usable_cores

    assert usable_cores(2) == 2, "this test needs two cores"
    # Without the lunch break and the soft window PyVRP models the day whole.
    day = {
        **small,
        "vehicles": [{**v, "breaks": []} for v in small["vehicles"]],
        "jobs": [{**j, "lateness_cost": None} for j in small["jobs"]],
    }
    key = keys[Role.dispatcher]
    for engine, made_by in (
        ("pyvrp", {"pyvrp"}),
        ("auto", {"auto:pyvrp", "auto:ortools"}),
    ):
        params = {**PARAMS, "workers": 2, "pricing": "uniform", "engine": engine}
        response = client.post(
            "/v1/plans", json={"problem": day, "params": params}, headers=auth(key)
        )
        assert response.status_code == 202, response.text
        body = wait_plan(client, key, response.json()["url"])
        assert body["status"] == "draft", body["job"]
        assert body["plan"]["engine"] in made_by
        plan = checked(day, body["plan"])
        assert plan.summary.served == 8


def test_a_plan_finishing_between_two_reads_is_served(
    client: TestClient,
    keys: dict[Role, str],
    solved: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job succeeds (storing its plan) after its plan row was looked for.

    The two reads are separate statements, each seeing what was committed
    when it ran; the answer is the stored plan, not a 500.
    """
    from api.db import plans as plan_rows

    real = plan_rows.get_plan
    calls: list[str] = []

    def first_misses(session: Any, *, plan_id: str) -> Any:
        calls.append(plan_id)
        return None if len(calls) == 1 else real(session, plan_id=plan_id)

    monkeypatch.setattr(plan_rows, "get_plan", first_misses)
    got = client.get(f"/v1/plans/{solved['id']}", headers=auth(keys[Role.dispatcher]))
    assert got.status_code == 200, got.text
    assert got.json()["status"] == "draft"
    assert got.json()["plan"] == solved["plan"]
    assert len(calls) == 2


def test_plans_are_listed_by_day_depot_and_status(
    client: TestClient, keys: dict[Role, str], solved: dict[str, Any]
) -> None:
    """The list holds stored plans with their summaries, filtered as asked."""
    headers = auth(keys[Role.planner])
    listed = client.get("/v1/plans", params={"day": "2026-11-23"}, headers=headers)
    assert listed.status_code == 200
    body = listed.json()
    assert body["count"] == 1
    (item,) = body["data"]
    assert item["id"] == solved["id"]
    assert item["status"] == "draft"
    assert item["summary"] == solved["summary"]
    assert item["job_id"] == solved["id"]
    assert "plan" not in item
    for params in (
        {"day": "2026-11-24"},
        {"status": "dispatched"},
        {"depot_id": "gangseo"},
    ):
        other = client.get("/v1/plans", params=params, headers=headers).json()
        assert other == {"data": [], "count": 0}, params
    bad = client.get("/v1/plans", params={"day": "someday"}, headers=headers)
    assert_problem(bad, 422, "query.day")


def test_dispatch_freezes_the_plan_and_dispatches_its_orders(
    client: TestClient, keys: dict[Role, str], solved: dict[str, Any]
) -> None:
    """Dispatch: 200, status dispatched, orders dispatched; twice changes nothing."""
    key = keys[Role.dispatcher]
    url = f"/v1/plans/{solved['id']}/dispatch"
    first = client.post(url, headers=auth(key))
    assert first.status_code == 200, first.text
    body = first.json()
    routed = [
        o
        for r in solved["plan"]["routes"]
        for o in Plan.model_validate(solved["plan"]).route_of(r["vehicle"]).order_ids
    ]  # type: ignore[union-attr]
    assert body["status"] == "dispatched"
    assert body["dispatched_at"] is not None
    assert body["dispatched_orders"] == len(routed) > 0
    assert body["plan"] == solved["plan"]
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        for order_id in routed:
            status = order_status(session, order_id=order_id)
            assert status is not None and status.state == "dispatched"

    again = client.post(url, headers=auth(key))
    assert again.status_code == 200
    assert again.json()["status"] == "dispatched"
    assert again.json()["dispatched_orders"] == 0
    assert again.json()["dispatched_at"] == body["dispatched_at"]
    listed = client.get(
        "/v1/plans", params={"status": "dispatched"}, headers=auth(key)
    ).json()
    assert [p["id"] for p in listed["data"]] == [solved["id"]]


def test_reoptimize_makes_a_new_plan_and_supersedes_the_old(
    client: TestClient, keys: dict[Role, str], solved: dict[str, Any]
) -> None:
    """Re-optimising: 202, a new checked plan with changes; the old is superseded."""
    key = keys[Role.dispatcher]
    old_id = solved["id"]
    plan = Plan.model_validate(solved["plan"])
    cancelled = plan.routes[0].order_ids[0]
    new_order = {
        "id": "o-2001",
        "location": {"lat": 37.55, "lon": 126.95},
        "demand": [1000, 1],
        "service": 120,
    }
    url = f"/v1/plans/{old_id}/reoptimize"

    bad = client.post(
        url,
        json={
            "time": NOON,
            "vehicles": [
                {
                    "vehicle": "van-9",
                    "position": {"lat": 37.5, "lon": 127.0},
                    "time": NOON,
                }
            ],
            "cancelled": ["o-404"],
        },
        headers=auth(key),
    )
    body = assert_problem(bad, 422, "body.vehicles[0].vehicle")
    assert "body.cancelled[0]" in [e["field"] for e in body["errors"]]
    too_long = client.post(
        url, json={"time": NOON, "params": {"time_limit": 601}}, headers=auth(key)
    )
    assert_problem(too_long, 422, "body.params.time_limit")

    response = client.post(
        url,
        json={
            "time": 8 * 3600,
            "cancelled": [cancelled],
            "new_orders": [new_order],
            "params": PARAMS,
        },
        headers=auth(key),
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    new_id = accepted["id"]
    assert new_id != old_id
    assert accepted["job"]["kind"] == "reoptimize"
    assert response.headers["location"] == f"/v1/plans/{new_id}"

    body = wait_plan(client, key, accepted["url"])
    assert body["status"] == "draft", body["job"]
    assert body["parent_id"] == old_id
    assert body["day"] == "2026-11-23"
    assert body["changes"]["cancelled"] == [cancelled]
    new_plan = Plan.model_validate(body["plan"])
    served = {o for r in new_plan.routes for o in r.order_ids}
    left = {u.id for u in new_plan.unassigned}
    assert cancelled not in served | left
    assert "o-2001" in served | left
    assert body["summary"] == new_plan.summary.model_dump(mode="json")

    old = client.get(f"/v1/plans/{old_id}", headers=auth(key)).json()
    assert old["status"] == "superseded"
    assert old["superseded_by"] == new_id
    again = client.post(url, json={"time": NOON}, headers=auth(key))
    assert "superseded by plan" in assert_problem(again, 409)["detail"]
    dispatch = client.post(f"/v1/plans/{old_id}/dispatch", headers=auth(key))
    assert_problem(dispatch, 409)
    listed = client.get("/v1/plans", params={"status": "draft"}, headers=auth(key))
    assert [p["id"] for p in listed.json()["data"]] == [new_id]


def test_unknown_plans_are_404(client: TestClient, keys: dict[Role, str]) -> None:
    """Reading, re-optimising or dispatching a plan that does not exist: 404."""
    headers = auth(keys[Role.dispatcher])
    for response in (
        client.get("/v1/plans/nope", headers=headers),
        client.post("/v1/plans/nope/reoptimize", json={"time": 0}, headers=headers),
        client.post("/v1/plans/nope/dispatch", headers=headers),
    ):
        assert assert_problem(response, 404)["detail"] == "no plan nope"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.problem"),
        ({"day": "2026-11-23", "problem": "SMALL"}, "body.problem"),
        ({"problem": "SMALL", "depot_id": "gangseo"}, "body.depot_id"),
        ({"problem": "SMALL", "params": {"time_limit": 601}}, "body.params.time_limit"),
        ({"problem": "SMALL", "params": {"time_limit": 0}}, "body.params.time_limit"),
        ({"problem": "SMALL", "params": {"speed": 2}}, "body.params.speed"),
        ({"problem": "SMALL", "params": {"workers": 0}}, "body.params.workers"),
        (
            {"problem": "SMALL", "params": {"objective": "vans"}},
            "body.params.objective",
        ),
        ({"problem": {"depots": [], "vehicles": []}}, "body.problem.depots"),
        ({"day": "23.11.2026"}, "body.day"),
        ({"problem": "SMALL", "colour": "red"}, "body.colour"),
    ],
)
def test_create_plan_refuses_bad_bodies(
    client: TestClient,
    keys: dict[Role, str],
    small: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    """Bad plan requests are 422 problem+json naming the field; nothing is queued."""
    body = {k: (small if v == "SMALL" else v) for k, v in body.items()}
    response = client.post("/v1/plans", json=body, headers=auth(keys[Role.admin]))
    assert_problem(response, 422, field)
    listed = client.get("/v1/plans", headers=auth(keys[Role.admin])).json()
    assert listed["count"] == 0


def test_problem_lists_are_limited(database_url: str, small: dict[str, Any]) -> None:
    """A problem with more jobs than max_list_items is refused with 422."""
    settings = Settings(database_url=database_url, log_json=False, max_list_items=3)
    app = create_app(settings)
    with TestClient(app) as client:
        key = make_keys(app)[Role.dispatcher]
        response = client.post("/v1/plans", json={"problem": small}, headers=auth(key))
    body = assert_problem(response, 422, "body.problem.jobs")
    assert body["errors"][0]["reason"] == "at most 3 items, got 8"


@pytest.fixture
def idle(database_url: str) -> Iterator[tuple[FastAPI, TestClient, dict[Role, str]]]:
    """A started service that runs no jobs (they stay queued), and its keys."""
    settings = Settings(database_url=database_url, log_json=False, job_workers=0)
    app = create_app(settings)
    with TestClient(app) as client:
        yield app, client, make_keys(app)


def test_a_plan_still_queued_cannot_be_used(
    idle: tuple[FastAPI, TestClient, dict[Role, str]], small: dict[str, Any]
) -> None:
    """A queued plan reads as queued with its job; dispatch and re-optimise: 409."""
    _, client, keys = idle
    headers = auth(keys[Role.dispatcher])
    accepted = client.post(
        "/v1/plans", json={"problem": small, "params": PARAMS}, headers=headers
    ).json()
    body = client.get(accepted["url"], headers=headers).json()
    assert body["status"] == "queued"
    assert body["plan"] is None and body["summary"] is None
    assert body["job"]["status"] == "queued"
    assert body["day"] == "2026-11-23"
    dispatch = client.post(f"{accepted['url']}/dispatch", headers=headers)
    assert assert_problem(dispatch, 409)["detail"] == (
        f"plan {accepted['id']} has no plan to use: its job is queued"
    )
    reopt = client.post(
        f"{accepted['url']}/reoptimize", json={"time": 0}, headers=headers
    )
    assert_problem(reopt, 409)
    # Not a stored plan yet: not listed.
    assert client.get("/v1/plans", headers=headers).json()["count"] == 0


def test_a_failed_solve_reports_why_and_cannot_be_dispatched(
    client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> None:
    """An engine error ends the plan failed with the reason; dispatching it: 409."""
    headers = auth(keys[Role.dispatcher])
    params = {**PARAMS, "engine": "pyvrp"}  # pyvrp cannot model breaks
    accepted = client.post(
        "/v1/plans", json={"problem": small, "params": params}, headers=headers
    ).json()
    body = wait_plan(client, keys[Role.dispatcher], accepted["url"])
    assert body["status"] == "failed"
    assert body["plan"] is None
    assert body["job"]["error"] == (
        "the plan could not be made: "
        "engine 'pyvrp' cannot model this problem (breaks); "
        "use 'ortools' or 'auto'"
    )
    dispatch = client.post(f"{accepted['url']}/dispatch", headers=headers)
    assert "its job is failed" in assert_problem(dispatch, 409)["detail"]


def _store_day(client: TestClient, key: str, small: dict[str, Any]) -> list[str]:
    """Depot gangseo, van-1 and four of the example's orders, via the API."""
    headers = auth(key)
    depot = small["depots"][0]
    assert client.post("/v1/depots", json=depot, headers=headers).status_code == 201
    van = copy.deepcopy(small["vehicles"][0])
    assert client.post("/v1/vehicles", json=van, headers=headers).status_code == 201
    ids = ["o-1001", "o-1003", "o-1007", "o-1008"]
    for job in small["jobs"]:
        if job["id"] in ids:
            order = {"day": "2026-11-23", "job": job, "depot_id": "gangseo"}
            created = client.post("/v1/orders", json=order, headers=headers)
            assert created.status_code == 201, created.text
    return ids


def test_plan_of_the_stored_orders_of_a_day(
    client: TestClient, keys: dict[Role, str], small: dict[str, Any]
) -> None:
    """``{day, depot_id}`` plans the stored orders; unknown depot or day: 422."""
    key = keys[Role.dispatcher]
    ids = _store_day(client, key, small)
    nowhere = client.post(
        "/v1/plans",
        json={"day": "2026-11-23", "depot_id": "nowhere"},
        headers=auth(key),
    )
    assert assert_problem(nowhere, 422, "body.depot_id")["errors"][0]["reason"] == (
        "no depot 'nowhere'"
    )
    empty = client.post(
        "/v1/plans",
        json={"day": "2026-11-24", "depot_id": "gangseo"},
        headers=auth(key),
    )
    assert_problem(empty, 422, "body.day")

    response = client.post(
        "/v1/plans",
        json={"day": "2026-11-23", "depot_id": "gangseo", "params": PARAMS},
        headers=auth(key),
    )
    assert response.status_code == 202, response.text
    body = wait_plan(client, key, response.json()["url"])
    assert body["status"] == "draft", body["job"]
    assert body["day"] == "2026-11-23"
    assert body["depot_id"] == "gangseo"
    plan = Plan.model_validate(body["plan"])
    assert plan.summary.orders == len(ids)
    served = [o for r in plan.routes for o in r.order_ids]
    assert served and set(served) <= set(ids)
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        problem = Problem.model_validate(
            session.get(
                __import__("api.db.tables_jobs").db.tables_jobs.PlanRow, body["id"]
            ).problem.model_dump()
        )
    checked(problem, body["plan"])
    listed = client.get(
        "/v1/plans", params={"depot_id": "gangseo"}, headers=auth(key)
    ).json()
    assert [p["id"] for p in listed["data"]] == [body["id"]]


def test_reoptimizing_a_dispatched_plan_keeps_its_orders_dispatched(
    client: TestClient, keys: dict[Role, str], solved: dict[str, Any]
) -> None:
    """A dispatched day re-planned before the vans leave: moved, not lowered."""
    key = keys[Role.dispatcher]
    assert client.post(
        f"/v1/plans/{solved['id']}/dispatch", headers=auth(key)
    ).is_success
    response = client.post(
        f"/v1/plans/{solved['id']}/reoptimize",
        json={"time": 6 * 3600, "params": PARAMS},
        headers=auth(key),
    )
    assert response.status_code == 202, response.text
    body = wait_plan(client, key, response.json()["url"])
    assert body["status"] == "draft", body["job"]
    new_plan = Plan.model_validate(body["plan"])
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        for route in new_plan.routes:
            for order_id in route.order_ids:
                status = order_status(session, order_id=order_id)
                assert status is not None and status.state == "dispatched"
                assert status.vehicle == route.vehicle


def _history(client: TestClient, order_id: str) -> Any:
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        status = order_status(session, order_id=order_id)
    return None if status is None else status.model_dump()


@pytest.mark.parametrize("dispatched", [False, True], ids=["draft", "dispatched"])
def test_reoptimizing_after_cancellations_and_failures_of_the_day(
    client: TestClient,
    keys: dict[Role, str],
    small: dict[str, Any],
    dispatched: bool,
) -> None:
    """Cancelled, deleted and failed orders are off the new plan and stay put.

    Once an order of the day was cancelled, re-optimising failed for the rest
    of the day ("cannot go from cancelled to planned").
    """
    key = keys[Role.dispatcher]
    headers = auth(key)
    _store_day(client, key, small)
    extra = {**next(j for j in small["jobs"] if j["id"] == "o-1001"), "id": "o-2001"}
    order = {"day": "2026-11-23", "job": extra, "depot_id": "gangseo"}
    assert client.post("/v1/orders", json=order, headers=headers).status_code == 201
    made = client.post(
        "/v1/plans",
        json={"day": "2026-11-23", "depot_id": "gangseo", "params": PARAMS},
        headers=headers,
    )
    assert made.status_code == 202, made.text
    first = wait_plan(client, key, made.json()["url"])
    assert first["status"] == "draft", first["job"]
    ids = Plan.model_validate(first["plan"]).routes[0].order_ids
    assert len(ids) == 4, first["plan"]
    if dispatched:
        url = f"/v1/plans/{first['id']}/dispatch"
        assert client.post(url, headers=headers).is_success
    cancelled, deleted, failed, kept = ids
    events = [
        {"type": "order_cancelled", "id": "c1", "at": 5 * 3600, "order_id": cancelled},
        {
            "type": "failed_attempt",
            "id": "f1",
            "at": 5 * 3600,
            "order_id": failed,
            "reason": "not_home",
        },
    ]
    sent = client.post(
        "/v1/events", json={"day": "2026-11-23", "events": events}, headers=headers
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["rejected"] == [], sent.json()
    gone = client.delete(f"/v1/orders/{deleted}", headers=headers)
    assert gone.is_success, gone.text
    before = {o: _history(client, o) for o in (cancelled, deleted, failed)}

    response = client.post(
        f"/v1/plans/{first['id']}/reoptimize",
        json={"time": 6 * 3600, "params": PARAMS},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    body = wait_plan(client, key, response.json()["url"])
    assert body["status"] == "draft", body["job"]
    new_plan = Plan.model_validate(body["plan"])
    served = {o for r in new_plan.routes for o in r.order_ids}
    assert kept in served
    assert not served & {cancelled, deleted, failed}
    assert set(body["changes"]["cancelled"]) == {cancelled, deleted, failed}
    assert {o: _history(client, o) for o in before} == before
    assert before[cancelled]["history"][-1]["target"] == "cancelled"
    assert before[failed]["history"][-1]["target"] == "failed_attempt"
    kept_status = _history(client, kept)
    assert kept_status["history"][-1]["target"] == (
        "dispatched" if dispatched else "planned"
    )
    # And again: the day can be re-optimised as often as needed.
    again = client.post(
        f"/v1/plans/{body['id']}/reoptimize",
        json={"time": 6 * 3600 + 60, "params": PARAMS},
        headers=headers,
    )
    assert again.status_code == 202, again.text
    assert wait_plan(client, key, again.json()["url"])["status"] == "draft"
    # Planning the day afresh leaves them out too.
    fresh = client.post(
        "/v1/plans",
        json={"day": "2026-11-23", "depot_id": "gangseo", "params": PARAMS},
        headers=headers,
    )
    assert fresh.status_code == 202, fresh.text
    fresh_body = wait_plan(client, key, fresh.json()["url"])
    assert fresh_body["status"] == "draft", fresh_body["job"]
    fresh_plan = Plan.model_validate(fresh_body["plan"])
    listed = {o for r in fresh_plan.routes for o in r.order_ids}
    listed |= {u.id for u in fresh_plan.unassigned}
    assert kept in listed
    assert not listed & {cancelled, deleted, failed}
    assert {o: _history(client, o) for o in before} == before
