"""Re-optimising a dispatched plan starts from where the vans really are.

Each test runs on SQLite and on PostgreSQL. The documented example
(docs/examples/small_problem.json, 9 orders) is solved and dispatched; the
busiest van reports its day (shift, its first stop delivered, a position on
the way to its second stop) through ``POST /v1/events``, and the plan is
re-optimised with only ``time``: tracking's view of each van the request
does not report is what the re-optimisation starts from.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.auth import Role
from api.db.tables_jobs import PlanRow
from api.services import tracking
from api.services.ingest import ingest
from api.services.plans import PlanReoptimize
from routing.model import Job, Problem
from routing.plan import Plan, Route
from routing.reoptimise import ExecutionState, reoptimise
from routing.solver import SolveParams
from routing.travel.haversine import HaversineTravel
from tests.api.conftest import auth
from tests.api.routes.test_plans import EXAMPLE, PARAMS, wait_plan
from tracking.events import parse_event

SMALL: dict[str, Any] = json.loads(EXAMPLE.read_text())
DAY = SMALL["date"]
#: re-optimising a nine-order day: a short search is enough
FAST = {"time_limit": 0.5, "workers": 1}


def _dispatched(client: TestClient, key: str) -> dict[str, Any]:
    """The example solved and dispatched through the API; the plan body."""
    made = client.post(
        "/v1/plans", json={"problem": SMALL, "params": PARAMS}, headers=auth(key)
    )
    assert made.status_code == 202, made.text
    body: dict[str, Any] = wait_plan(client, key, made.json()["url"])
    assert body["status"] == "draft", body["job"]
    sent = client.post(f"/v1/plans/{body['id']}/dispatch", headers=auth(key))
    assert sent.status_code == 200, sent.text
    return body


def _stored_problem(client: TestClient, plan_id: str) -> Problem:
    """The problem stored with a plan (a re-optimised plan's: the rest of
    the day, vans on the road starting at ``@<van>``)."""
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        row = session.get(PlanRow, plan_id)
        assert row is not None
        return Problem.model_validate(row.problem.model_dump())


def _busiest(plan: Plan) -> Route:
    """The route with most stops; its first two stops are jobs."""
    jobs = {j["id"] for j in SMALL["jobs"]}
    routes = [r for r in plan.routes if len(r.order_ids) >= 3]
    routes = [r for r in routes if set(r.order_ids[:2]) <= jobs]
    assert routes, [r.order_ids for r in plan.routes]
    return max(routes, key=lambda r: len(r.order_ids))


def _send(client: TestClient, key: str, events: list[dict[str, Any]]) -> None:
    got = client.post(
        "/v1/events", json={"day": DAY, "events": events}, headers=auth(key)
    )
    assert got.status_code == 200, got.text
    assert got.json()["rejected"] == [], got.text


def _drive(client: TestClient, key: str, route: Route) -> tuple[dict[str, float], int]:
    """The van leaves, delivers its first stop and drives towards the second.

    Returns its last reported position and "now" (ten minutes after it
    left the first stop).
    """
    van = route.vehicle
    stops = [s for s in route.steps if s.id in route.order_ids]
    first, second = stops[0], stops[1]
    assert first.location is not None and second.location is not None
    assert first.location.lat is not None and second.location.lat is not None
    assert first.location.lon is not None and second.location.lon is not None
    where = {
        "lat": round((first.location.lat + second.location.lat) / 2, 6),
        "lon": round((first.location.lon + second.location.lon) / 2, 6),
    }
    start = route.steps[0].departure
    left = first.departure
    _send(
        client,
        key,
        [
            {"type": "shift_start", "id": "e1", "at": start, "vehicle": van},
            {"type": "stop_departed", "id": "e2", "at": start + 1, "vehicle": van},
            {"type": "stop_arrived", "id": "e3", "at": first.arrival,
             "vehicle": van, "order_id": first.id},
            {"type": "delivered", "id": "e4", "at": first.arrival + 60,
             "vehicle": van, "order_id": first.id, "proof": {"recipient": "door"}},
            {"type": "stop_departed", "id": "e5", "at": left, "vehicle": van,
             "order_id": first.id},
            {"type": "position", "id": "e6", "at": left + 300, "vehicle": van,
             **where},
        ],
    )  # fmt: skip
    return where, left + 600


def _reoptimised(
    client: TestClient, key: str, plan_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    got = client.post(f"/v1/plans/{plan_id}/reoptimize", json=body, headers=auth(key))
    assert got.status_code == 202, got.text
    done: dict[str, Any] = wait_plan(client, key, got.json()["url"])
    assert done["status"] == "draft", done["job"]
    return done


def test_a_van_is_replanned_from_where_tracking_saw_it(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Re-optimising with only ``time``: the van's delivered stop is
    completed (not planned again), the stop it is arriving at stays its
    first (committed), and its route starts at its reported position, not
    before now; a van that reported nothing starts at its depot."""
    key = keys[Role.dispatcher]
    live = _dispatched(client, key)
    plan = Plan.model_validate(live["plan"])
    route = _busiest(plan)
    van, (stop1, stop2) = route.vehicle, route.order_ids[:2]
    where, now = _drive(client, key, route)

    draft = _reoptimised(client, key, live["id"], {"time": now, "params": FAST})
    changes = draft["changes"]
    assert changes["completed"] == [stop1]
    assert changes["fixed"].get(van, 0) >= 1
    new = Plan.model_validate(draft["plan"])
    assert stop1 not in {o for r in new.routes for o in r.order_ids}
    mine = new.route_of(van)
    assert mine is not None
    assert mine.order_ids[0] == stop2
    begin = mine.steps[0]
    assert begin.location is not None
    assert (begin.location.lat, begin.location.lon) == pytest.approx(
        (where["lat"], where["lon"])
    )
    assert begin.departure >= now

    rest = _stored_problem(client, draft["id"])
    starts = {v.id: v.start for v in rest.vehicles}
    assert starts[van] == f"@{van}"
    here = rest.depot(f"@{van}").location
    assert (here.lat, here.lon) == pytest.approx((where["lat"], where["lon"]))
    others = {v["id"]: v["start"] for v in SMALL["vehicles"] if v["id"] != van}
    for other, depot in others.items():
        if other in starts:
            assert starts[other] == depot, (other, starts)
        quiet = new.route_of(other)
        if quiet is not None:
            assert quiet.steps[0].location == rest.depot(depot).location


def test_a_van_the_request_reports_overrides_tracking(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """A van listed in ``vehicles`` is taken as sent: nothing completed and
    no next stop there, so its delivered stop is only off the plan
    (``cancelled``), nothing is committed, and it starts where the request
    says; another van the request leaves out still starts where tracking
    last saw it."""
    key = keys[Role.dispatcher]
    live = _dispatched(client, key)
    plan = Plan.model_validate(live["plan"])
    route = _busiest(plan)
    van, stop1 = route.vehicle, route.order_ids[0]
    _, now = _drive(client, key, route)
    # another van only reported a position: tracking's view, not the request's
    other = next(r.vehicle for r in plan.routes if r.vehicle != van)
    seen = {"lat": 37.52, "lon": 127.01}
    _send(
        client,
        key,
        [
            {"type": "shift_start", "id": "o1", "at": now - 900, "vehicle": other},
            {"type": "position", "id": "o2", "at": now - 60, "vehicle": other, **seen},
        ],
    )
    there = {"lat": 37.55, "lon": 126.95}
    body = {
        "time": now,
        "vehicles": [{"vehicle": van, "position": there, "time": now}],
        "params": FAST,
    }
    draft = _reoptimised(client, key, live["id"], body)
    changes = draft["changes"]
    assert changes["completed"] == []
    assert stop1 in changes["cancelled"]
    assert van not in changes["fixed"]
    rest = _stored_problem(client, draft["id"])
    here = rest.depot(f"@{van}").location
    assert (here.lat, here.lon) == pytest.approx((there["lat"], there["lon"]))
    assert {v.id: v.start for v in rest.vehicles}[other] == f"@{other}"
    away = rest.depot(f"@{other}").location
    assert (away.lat, away.lon) == pytest.approx((seen["lat"], seen["lon"]))


def test_the_rescue_comparison_uses_the_same_progress(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Comparing the rescues of a van that broke down after its first stop,
    with only ``time`` and the van: its undelivered parcels are on board
    (rescued), and its delivered stop is completed in every option."""
    key = keys[Role.dispatcher]
    live = _dispatched(client, key)
    route = _busiest(Plan.model_validate(live["plan"]))
    van, stop1 = route.vehicle, route.order_ids[0]
    _, now = _drive(client, key, route)
    jobs = {j["id"]: Job.model_validate(j) for j in SMALL["jobs"]}
    on_board = [o for o in route.order_ids[1:] if o in jobs and jobs[o].loads_at_depot]
    assert on_board
    got = client.post(
        f"/v1/plans/{live['id']}/reoptimize/compare",
        json={"time": now, "unavailable": [van], "params": FAST},
        headers=auth(key),
    )
    assert got.status_code == 200, got.text
    options = got.json()["options"]
    assert {o["rescue"] for o in options} == {"transfer", "depot"}
    for option in options:
        assert option["parcels"] == len(on_board) > 0, option
        assert option["changes"]["completed"] == [stop1]
        rescued = {r["order"] for r in option["changes"]["rescued"]}
        assert rescued == set(on_board)


@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(outcomes=st.lists(st.sampled_from(["open", "delivered", "failed"]), max_size=9))
def test_observed_stops_done_are_completed_in_route_order(
    client: TestClient, keys: dict[Role, str], outcomes: list[str]
) -> None:
    """Whatever stops of a van are delivered or failed at the door, tracking's
    ``completed`` is exactly those (less failed collections, which took
    nothing) in route order, and the re-optimised rest of the day routes
    none of them. Each example's events are rolled back."""
    app: Any = client.app
    plan_id = getattr(app.state, "observed_plan", None)
    if plan_id is None:
        plan_id = app.state.observed_plan = _dispatched(client, keys[Role.dispatcher])[
            "id"
        ]
    with app.state.sessionmaker() as session:
        row = session.get(PlanRow, plan_id)
        assert row is not None
        problem, plan, day = row.problem, row.plan, row.day
        route = _busiest(plan)
        van = route.vehicle
        now = 15 * 3600
        events: list[dict[str, Any]] = [
            {"type": "shift_start", "id": "p0", "at": 8 * 3600, "vehicle": van}
        ]
        done: list[str] = []
        for k, (oid, outcome) in enumerate(
            zip(route.order_ids, outcomes, strict=False)
        ):
            if outcome == "delivered":
                events.append(
                    {"type": "delivered", "id": f"p{k + 1}", "at": 9 * 3600 + k,
                     "vehicle": van, "order_id": oid, "proof": {"recipient": "door"}}
                )  # fmt: skip
                done.append(oid)
            elif outcome == "failed":
                events.append(
                    {"type": "failed_attempt", "id": f"p{k + 1}", "at": 9 * 3600 + k,
                     "vehicle": van, "order_id": oid, "reason": "not_home"}
                )  # fmt: skip
                done.append(oid)
        result = ingest(session, day, [parse_event(e) for e in events])
        assert not result.rejected, result.rejected
        orders = {o.id: o for o in problem.orders}
        expected = [
            o
            for o in done
            if not (
                outcomes[route.order_ids.index(o)] == "failed"
                and isinstance(orders[o], Job)
                and any(orders[o].collected)
            )
        ]
        observed = tracking.observed_progress(
            session, day=day, problem=problem, plan=plan, time=now
        )
        mine = [p for p in observed if p.vehicle == van]
        if not expected:
            # seen only at the start of its shift: it has not left its depot
            assert mine == []
        else:
            (progress,) = mine
            assert list(progress.completed) == expected
            assert progress.next is None and progress.picked_up == ()
            assert progress.time == now
        assert [p.vehicle for p in observed] == [van] * len(mine)
        left = [o for r in plan.routes for o in r.order_ids if o not in expected]
        state = ExecutionState(
            time=now,
            plan=plan,
            vehicles=tuple(observed),
            cancelled=tuple(tracking.off_plan_orders(session, order_ids=left)),
        )
        again = reoptimise(
            problem,
            state,
            HaversineTravel(),
            params=SolveParams(time_limit=0.2),
            search=False,
        )
        session.rollback()
    assert list(again.changes.completed) == expected
    routed = {o for r in again.plan.routes for o in r.order_ids}
    assert not routed & set(done)


def test_the_reoptimize_example_in_the_api_doc_is_a_valid_request() -> None:
    """docs/API.md's re-optimisation body is what the service takes."""
    doc = (EXAMPLE.parents[1] / "API.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", doc, flags=re.S)
    (block,) = [b for b in blocks if '"completed"' in b]
    request = PlanReoptimize.model_validate(json.loads(block))
    assert request.time == 14 * 3600 + 1800
    (van,) = request.vehicles
    assert van.completed == ("o-1001",) and van.next == "o-1008"
