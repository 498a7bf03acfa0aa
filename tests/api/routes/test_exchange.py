"""Exchanges through the service: store, plan, dispatch, track, bad input.

One order delivers a new item and collects the old one at the same visit.
Runs on SQLite and on PostgreSQL, with the documented exchange example
(docs/examples/exchange_problem.json).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth import Role
from routing.plan import Plan
from tests.api.conftest import auth
from tests.api.routes.test_plans import PARAMS, assert_problem, wait_plan

EXAMPLE = Path(__file__).resolve().parents[3] / "docs/examples/exchange_problem.json"
DAY = "2026-11-23"


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    """The documented exchange example, as JSON."""
    data: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return data


def _store(client: TestClient, key: str, example: dict[str, Any]) -> dict[str, str]:
    """The example's depot, van and orders via the API; tracking tokens by id."""
    headers = auth(key)
    depot = example["depots"][0]
    assert client.post("/v1/depots", json=depot, headers=headers).status_code == 201
    van = example["vehicles"][0]
    assert client.post("/v1/vehicles", json=van, headers=headers).status_code == 201
    tokens = {}
    for job in example["jobs"]:
        order = {"day": DAY, "job": job, "depot_id": depot["id"]}
        created = client.post("/v1/orders", json=order, headers=headers)
        assert created.status_code == 201, created.text
        tokens[job["id"]] = created.json()["tracking_token"]
    return tokens


def test_an_exchange_order_is_planned_dispatched_and_tracked_as_such(
    client: TestClient, keys: dict[Role, str], example: dict[str, Any]
) -> None:
    """POST the exchange, plan the day, dispatch: the plan carries the old
    item to the end, the tracking views say ``exchange``, and once
    delivered the outcome is both handed over and collected."""
    key = keys[Role.dispatcher]
    tokens = _store(client, key, example)
    stored = client.get("/v1/orders/x-2001", headers=auth(key)).json()
    assert stored["job"]["type"] == "exchange"
    assert stored["job"]["collect"] == [35000, 1]
    listed = client.get("/v1/orders", params={"day": DAY}, headers=auth(key)).json()
    kinds = {o["id"]: o["job"]["type"] for o in listed["data"]}
    assert kinds["x-2001"] == "exchange" and kinds["o-2002"] == "delivery"

    response = client.post(
        "/v1/plans",
        json={"day": DAY, "depot_id": "gangseo", "params": PARAMS},
        headers=auth(key),
    )
    assert response.status_code == 202, response.text
    body = wait_plan(client, key, response.json()["url"])
    assert body["status"] == "draft", body["job"]
    plan = Plan.model_validate(body["plan"])
    assert not plan.unassigned
    (route,) = plan.routes
    loads = {s.id: s.load for s in route.steps}
    # 60 kg of new items leave the depot; the 35 kg old item rides to the end
    assert route.steps[0].load == (60000, 4)
    assert route.steps[-1].load == (40000, 2)
    assert max(s.load[0] for s in route.steps) <= 60000
    served_before = route.order_ids.index("x-2001")
    assert served_before > 0  # first would carry 75 kg
    assert loads["x-2001"][0] - loads[route.order_ids[served_before - 1]][0] == 15000

    dispatched = client.post(f"/v1/plans/{body['id']}/dispatch", headers=auth(key))
    assert dispatched.status_code == 200, dispatched.text
    tracking = client.get("/v1/orders/x-2001/tracking", headers=auth(key)).json()
    assert tracking["kind"] == "exchange"
    assert tracking["status"] == "dispatched"
    plain = client.get("/v1/orders/o-2002/tracking", headers=auth(key)).json()
    assert plain["kind"] == "delivery"
    public = client.get(f"/v1/track/{tokens['x-2001']}")
    assert public.status_code == 200, public.text
    assert public.json()["kind"] == "exchange"
    assert public.json()["status"] == "dispatched"

    t = route.steps[0].departure
    sent = client.post(
        "/v1/events",
        json={
            "day": DAY,
            "events": [
                {"type": "shift_start", "id": "a", "at": t, "vehicle": "van-1"},
                {"type": "stop_departed", "id": "b", "at": t, "vehicle": "van-1"},
                {
                    "type": "delivered",
                    "id": "c",
                    "at": t + 1800,
                    "order_id": "x-2001",
                    "vehicle": "van-1",
                    "proof": {"recipient": "customer"},
                },
            ],
        },
        headers=auth(keys[Role.device]),
    )
    assert sent.status_code == 200, sent.text
    public = client.get(f"/v1/track/{tokens['x-2001']}").json()
    assert public["kind"] == "exchange" and public["status"] == "delivered"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"collect": None}, "body.job.collect", "required for an exchange"),
        ({"collect": [1]}, "body.job.collect", "has 1 dimensions but demand has 2"),
        ({"type": "delivery"}, "body.job.collect", "only an exchange collects"),
        ({"collect": [1, -5]}, "body.job.collect[1]", "greater than or equal to 0"),
    ],
)
def test_a_bad_exchange_is_422_naming_the_field(
    client: TestClient,
    keys: dict[Role, str],
    example: dict[str, Any],
    change: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    """A missing, misshapen or misplaced ``collect`` is a 422 naming it."""
    job = copy.deepcopy(example["jobs"][0]) | change
    if job["collect"] is None:
        del job["collect"]
    response = client.post(
        "/v1/orders", json={"day": DAY, "job": job}, headers=auth(keys[Role.dispatcher])
    )
    body = assert_problem(response, 422, field)
    assert any(reason in e["reason"] for e in body["errors"]), body


def test_collect_must_match_the_fleets_dimensions(
    client: TestClient, keys: dict[Role, str], example: dict[str, Any]
) -> None:
    """With vans of two dimensions stored, a one-dimension exchange is
    refused on ``job.demand`` and ``job.collect``."""
    key = keys[Role.dispatcher]
    headers = auth(key)
    assert client.post("/v1/depots", json=example["depots"][0], headers=headers)
    assert client.post("/v1/vehicles", json=example["vehicles"][0], headers=headers)
    job = example["jobs"][0] | {"demand": [20000], "collect": [35000]}
    response = client.post("/v1/orders", json={"day": DAY, "job": job}, headers=headers)
    body = assert_problem(response, 422, "body.job.collect")
    assert "vehicle capacity has 2" in str(body["errors"])


def test_an_order_becomes_an_exchange_and_back(
    client: TestClient, keys: dict[Role, str], example: dict[str, Any]
) -> None:
    """PATCH makes a delivery an exchange only with collect (else 422 on
    job.collect); back to a delivery, collect goes with it."""
    headers = auth(keys[Role.dispatcher])
    job = example["jobs"][1]
    created = client.post("/v1/orders", json={"day": DAY, "job": job}, headers=headers)
    assert created.status_code == 201, created.text
    url = f"/v1/orders/{job['id']}"
    bare = client.patch(url, json={"job": {"type": "exchange"}}, headers=headers)
    assert_problem(bare, 422, "body.job.collect")
    made = client.patch(
        url, json={"job": {"type": "exchange", "collect": [9000, 1]}}, headers=headers
    )
    assert made.status_code == 200, made.text
    assert (made.json()["job"]["type"], made.json()["job"]["collect"]) == (
        "exchange",
        [9000, 1],
    )
    back = client.patch(url, json={"job": {"type": "delivery"}}, headers=headers)
    assert back.status_code == 200, back.text
    assert (back.json()["job"]["type"], back.json()["job"]["collect"]) == (
        "delivery",
        [],
    )


def test_reoptimizing_with_an_exchange_on_board(
    client: TestClient, keys: dict[Role, str], example: dict[str, Any]
) -> None:
    """The van served its first stop and carries the exchange's new item:
    the re-optimised rest of the day still serves the exchange, inside the
    van's 60 kg."""
    key = keys[Role.dispatcher]
    headers = auth(key)
    _store(client, key, example)
    made = client.post(
        "/v1/plans",
        json={"day": DAY, "depot_id": "gangseo", "params": PARAMS},
        headers=headers,
    )
    first = wait_plan(client, key, made.json()["url"])
    assert first["status"] == "draft", first["job"]
    assert client.post(f"/v1/plans/{first['id']}/dispatch", headers=headers)
    (route,) = Plan.model_validate(first["plan"]).routes
    done = route.order_ids[0]
    assert done != "x-2001"
    step = next(s for s in route.steps if s.id == done)
    t = route.steps[0].departure
    events = [
        {"type": "shift_start", "id": "a", "at": t, "vehicle": "van-1"},
        {"type": "stop_departed", "id": "b", "at": t, "vehicle": "van-1"},
        {"type": "stop_arrived", "id": "c", "at": step.arrival, "vehicle": "van-1",
         "order_id": done},
        {"type": "delivered", "id": "d", "at": step.departure, "vehicle": "van-1",
         "order_id": done, "proof": {"recipient": "door"}},
        {"type": "stop_departed", "id": "e", "at": step.departure,
         "vehicle": "van-1", "order_id": done},
    ]  # fmt: skip
    sent = client.post(
        "/v1/events",
        json={"day": DAY, "events": events},
        headers=auth(keys[Role.device]),
    )
    assert sent.status_code == 200 and sent.json()["rejected"] == [], sent.text
    response = client.post(
        f"/v1/plans/{first['id']}/reoptimize",
        json={"time": step.departure + 60, "params": PARAMS},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    body = wait_plan(client, key, response.json()["url"])
    assert body["status"] == "draft", body["job"]
    rest = Plan.model_validate(body["plan"])
    served = [o for r in rest.routes for o in r.order_ids]
    assert "x-2001" in served and done not in served
    assert not rest.unassigned
    for r in rest.routes:
        assert all(s.load[0] <= 60000 for s in r.steps)
