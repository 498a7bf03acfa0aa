"""One travel model per stored plan: returned with the plan, used by slots,
re-optimisation and ETAs, or refused with 409 (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import Role
from api.db.plans import PlanRow
from api.services.slots import _config
from api.services.tracking import LiveEtas
from routing.plan import Plan
from routing.slotting import SlotBook
from routing.solver import SolveParams, solve
from routing.travel import (
    DEFAULT_CACHE_DIR,
    HaversineTravel,
    RoadTravel,
    TravelSpec,
    travel_spec,
)
from scenarios.city.roads import seoul_roads
from tests.api.conftest import auth
from tests.api.routes.test_plans import EXAMPLE, PARAMS, wait_plan
from tests.api.routes.test_slots import DAY, DEPOT, a_stop, quote, store_day

NOON = 12 * 3600
GONE = TravelSpec(
    kind="road",
    name="road",
    path="/nonexistent/roads.graphml",
    sha256="0" * 64,
    digest="0" * 64,
)


def _replace_plan(app: FastAPI, plan_id: str, plan: Plan) -> None:
    """Store ``plan`` in place of the stored plan ``plan_id`` (before any quote)."""
    with app.state.sessionmaker.begin() as session:
        row = session.get(PlanRow, plan_id)
        assert row is not None
        row.plan = plan


def city_roads() -> RoadTravel:
    """The embedded city's roads, as the service rebuilds them."""
    return seoul_roads(0, DEFAULT_CACHE_DIR.expanduser())


def test_stored_plan_returns_its_travel_and_slots_quote_on_it(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """``GET /v1/plans/{id}`` shows the plan's travel model; a plan made on
    the city's roads is quoted on those roads, not on straight lines."""
    row = store_day(app)
    got = client.get(f"/v1/plans/{row.id}", headers=auth(keys[Role.planner]))
    assert got.status_code == 200, got.text
    recorded = got.json()["plan"]["travel"]
    assert recorded == travel_spec(HaversineTravel()).model_dump(mode="json")

    roads = city_roads()
    on_roads = solve(row.problem, travel=roads, params=SolveParams(time_limit=1.0))
    _replace_plan(app, row.id, on_roads)
    got = client.get(f"/v1/plans/{row.id}", headers=auth(keys[Role.planner]))
    assert got.json()["plan"]["travel"]["kind"] == "city"

    near, _ = a_stop(row)
    body = quote(client, keys[Role.storefront], location=near).json()
    expected = SlotBook(row.problem, on_roads, roads, _config(row.problem))
    straight = SlotBook(row.problem, on_roads, HaversineTravel(), _config(row.problem))
    where = row.problem.depots[0].location.model_copy(update=near)
    want = [q.marginal_cost for q in expected.quote(where, DAY)]
    assert [q["marginal_cost"] for q in body["data"]] == want
    assert want != [q.marginal_cost for q in straight.quote(where, DAY)]


@pytest.mark.slow
def test_reoptimising_a_plan_on_roads_keeps_its_roads(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """Re-optimised through the service, a plan made on the city's roads
    gives a new plan on the same roads (checked on them by the job)."""
    row = store_day(app)
    roads = city_roads()
    on_roads = solve(row.problem, travel=roads, params=SolveParams(time_limit=1.0))
    _replace_plan(app, row.id, on_roads)
    accepted = client.post(
        f"/v1/plans/{row.id}/reoptimize",
        json={"time": NOON, "params": PARAMS},
        headers=auth(keys[Role.dispatcher]),
    )
    assert accepted.status_code == 202, accepted.text
    child = wait_plan(client, keys[Role.dispatcher], accepted.json()["url"])
    assert child["status"] == "draft", child["job"]
    assert child["plan"]["travel"] == travel_spec(roads).model_dump(mode="json")


@pytest.mark.slow
def test_a_plan_solved_by_the_service_records_straight_lines(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """The service plans on straight lines, and its plan says so."""
    key = keys[Role.dispatcher]
    problem = json.loads(EXAMPLE.read_text())
    response = client.post(
        "/v1/plans", json={"problem": problem, "params": PARAMS}, headers=auth(key)
    )
    assert response.status_code == 202, response.text
    body = wait_plan(client, key, response.json()["url"])
    assert body["status"] == "draft", body["job"]
    assert body["plan"]["travel"]["kind"] == "haversine"
    assert TravelSpec.model_validate(body["plan"]["travel"]).same_as(
        travel_spec(HaversineTravel())
    )


def test_a_travel_model_the_service_cannot_rebuild_is_refused(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """Slots and re-optimisation of a plan made on a road file the service
    does not have: 409 naming the spec's field, never straight lines."""
    row = store_day(app, depot=DEPOT)
    _replace_plan(app, row.id, row.plan.model_copy(update={"travel": GONE}))
    near, _ = a_stop(row)
    refused = quote(client, keys[Role.storefront], location=near)
    assert refused.status_code == 409, refused.text
    assert "travel.path" in refused.json()["detail"]
    again = client.post(
        f"/v1/plans/{row.id}/reoptimize",
        json={"time": NOON},
        headers=auth(keys[Role.dispatcher]),
    )
    assert again.status_code == 409, again.text
    detail = again.json()["detail"]
    assert "travel.path" in detail and "not found" in detail


def test_live_etas_use_the_plans_travel(caplog: pytest.LogCaptureFixture) -> None:
    """ETAs time legs with the plan's own model; one that cannot be rebuilt
    falls back to straight lines, with a warning naming the plan."""
    from routing.model import Problem
    from tests.helpers import DATA

    problem = Problem.model_validate_json((DATA / "tiny_problem.json").read_text())
    plan = Plan.model_validate_json((DATA / "tiny_problem.plan.json").read_text())
    etas = LiveEtas()
    assert etas.legs_for(problem, plan, "old") is etas.legs
    roads = city_roads()
    on_city = plan.model_copy(update={"travel": travel_spec(roads)})
    legs = etas.legs_for(problem, on_city, "p-city")
    assert legs.travel is roads
    assert etas.legs_for(problem, on_city, "p-city-2") is legs
    with caplog.at_level(logging.WARNING, logger="milepost.eta"):
        fallback = etas.legs_for(
            problem, plan.model_copy(update={"travel": GONE}), "p9"
        )
    assert fallback is etas.legs
    assert "p9" in caplog.text and "travel.path" in caplog.text
