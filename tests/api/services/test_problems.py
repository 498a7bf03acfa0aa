"""``api.services.problems.problem_for``: a stored day becomes a problem to solve."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from api.auth import Role
from api.db.orders import get_order
from api.services.errors import Conflict, Invalid
from api.services.orders import OrderCreate, create_order
from api.services.problems import problem_for
from routing.model import Job, Location
from routing.solver import SolveParams, check, solve
from routing.travel import HaversineTravel
from tests.api.conftest import auth
from tests.api.dispatch_data import DAY, order, seed, vehicle

DATE = dt.date.fromisoformat(DAY)


def store(
    client: TestClient, keys: dict[Role, str], bodies: list[dict[str, object]]
) -> None:
    """Store orders in one batch."""
    r = client.post(
        "/v1/orders/batch", json={"orders": bodies}, headers=auth(keys[Role.dispatcher])
    )
    assert r.status_code == 201, r.text


def test_problem_for_one_depot_solves(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """The depot's vans and active orders of the day make a problem pyvrp solves."""
    seed(client, keys, depots=("seoul", "busan"), vans=2)
    store(client, keys, [order(f"o-{i}", i=i) for i in range(12)])
    store(
        client,
        keys,
        [
            order("other-day", day="2026-03-03"),
            order("other-depot", depot_id="busan"),
            order("cancelled"),
        ],
    )
    assert client.delete("/v1/orders/cancelled", headers=auth(keys[Role.dispatcher]))

    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        problem = problem_for(session, day=DATE, depot_id="seoul")
    assert problem.date == DATE
    assert [d.id for d in problem.depots] == ["seoul"]
    assert [v.id for v in problem.vehicles] == ["seoul-van-0", "seoul-van-1"]
    assert sorted(j.id for j in problem.jobs) == sorted(f"o-{i}" for i in range(12))

    plan = solve(problem, params=SolveParams(engine="pyvrp", time_limit=1.0))
    assert plan.summary.served == 12
    verdict = check(problem, plan, HaversineTravel())
    assert verdict.ok, str(verdict)


def test_problem_for_every_depot_pins_deliveries(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Without a depot: all depots and vans; each parcel leaves from its own depot."""
    seed(client, keys, depots=("seoul", "busan"), vans=1)
    store(client, keys, [order(f"s-{i}", i=i) for i in range(5)])
    store(client, keys, [order(f"b-{i}", i=i, depot_id="busan") for i in range(5)])
    store(client, keys, [order("anywhere", depot_id=None)])

    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        problem = problem_for(session, day=DATE, depot_id=None)
    assert [d.id for d in problem.depots] == ["busan", "seoul"]
    assert len(problem.vehicles) == 2
    depots = {j.id: j.depot for j in problem.jobs}
    assert depots["s-0"] == "seoul"
    assert depots["b-0"] == "busan"
    assert depots["anywhere"] is None

    plan = solve(problem, params=SolveParams(engine="ortools", time_limit=1.0))
    verdict = check(problem, plan, HaversineTravel())
    assert verdict.ok, str(verdict)
    for route in plan.routes:
        home = route.vehicle.split("-van-")[0]
        served = {s.id for s in route.steps if s.id in depots}
        assert all(depots[o] in (home, None) for o in served), (route.vehicle, served)


def test_problem_includes_end_depots(client: TestClient, keys: dict[Role, str]) -> None:
    """A van ending at another depot brings that depot into the problem."""
    seed(client, keys, depots=("seoul", "incheon"), vans=0)
    body = vehicle("van-x", start="seoul") | {"end": "incheon"}
    d = auth(keys[Role.dispatcher])
    assert client.post("/v1/vehicles", json=body, headers=d).status_code == 201
    store(client, keys, [order("o-1")])
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        problem = problem_for(session, day=DATE, depot_id="seoul")
    assert [x.id for x in problem.depots] == ["incheon", "seoul"]
    assert problem.jobs[0].depot is None  # one depot holds parcels: no pin needed


def test_problem_for_says_what_is_missing(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """LookupError, readable, for no depot, no vehicle and no order."""
    seed(client, keys, depots=("seoul", "busan"), vans=0)
    d = auth(keys[Role.dispatcher])
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        with pytest.raises(LookupError, match="no depot 'mars'"):
            problem_for(session, day=DATE, depot_id="mars")
        with pytest.raises(LookupError, match="no vehicles at depot 'seoul'"):
            problem_for(session, day=DATE, depot_id="seoul")
    client.post("/v1/vehicles", json=vehicle("van-1", "seoul"), headers=d)
    store(client, keys, [order("o-1", depot_id="busan")])
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        with pytest.raises(LookupError, match="no active orders on 2026-03-02 at"):
            problem_for(session, day=DATE, depot_id="seoul")
        with pytest.raises(LookupError, match=r"no active orders on 2026-03-04$"):
            problem_for(session, day=dt.date(2026, 3, 4), depot_id=None)


def test_create_order_from_code(client: TestClient, keys: dict[Role, str]) -> None:
    """Other areas store orders with create_order; bad ones raise, naming fields."""
    seed(client, keys)
    job = Job(id="slot-1", demand=(1,), location=Location(lat=37.56, lon=126.98))
    with client.app.state.sessionmaker.begin() as session:  # type: ignore[attr-defined]
        row = create_order(
            session,
            order=OrderCreate(job=job, day=DATE, depot_id="seoul", customer_id="c-1"),
        )
        assert (row.id, row.day, row.depot_id, row.customer_id) == (
            "slot-1",
            DATE,
            "seoul",
            "c-1",
        )
        assert row.job == job.model_copy(update={"customer_id": "c-1"})
        assert row.active
        token = row.tracking_token
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        stored = get_order(session, order_id="slot-1")
        assert stored is not None
        assert stored.tracking_token == token
        assert get_order(session, order_id="slot-2") is None
        with pytest.raises(Conflict, match="'slot-1'"):
            create_order(session, order=OrderCreate(job=job, day=DATE))
        with pytest.raises(Invalid) as info:
            bad = job.model_copy(update={"id": "slot-2", "demand": (1, 2)})
            create_order(session, order=OrderCreate(job=bad, day=DATE, depot_id="mars"))
        assert [e.field for e in info.value.errors] == ["depot_id", "job.demand"]
