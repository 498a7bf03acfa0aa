"""Exchanges: one visit delivers a new item and collects the old one.

The new item rides from the depot to the stop, the old one from the stop to
the route's end; the model, both engines, the checker and insertion count
both.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from routing import SolveParams, check, solve
from routing.model import Job, Problem
from routing.plan import Plan, StepType
from routing.reoptimise import ExecutionState, VehicleProgress, reoptimise
from routing.solver.data import build_data
from routing.solver.insertion import LivePlan
from routing.solver.solve import plan_from_sequences
from routing.travel import HaversineTravel
from tests.factories import grid_problem

TRAVEL = HaversineTravel()
LINE = [(0, 0), (1000, 0), (2000, 0)]
QUICK = SolveParams(time_limit=0.2, iterations=50)


def _order_sensitive() -> Problem:
    """Van of capacity 10 with an open end; on the way out an exchange
    (new 2, old 8), further on a delivery of 8.

    Serving the exchange first is 1 km shorter but has 2 + 8 + ... = 16 on
    board after it: only the delivery first fits (loads 10, 2, 8).
    """
    return grid_problem(
        LINE,
        [
            {"id": "x", "at": 1, "type": "exchange", "demand": [2], "collect": [8]},
            {"id": "b", "at": 2, "demand": [8]},
        ],
        [{"id": "v", "capacity": [10], "end": None}],
    )


def _plan_in_order(problem: Problem, order: list[str]) -> Plan:
    data = build_data(problem, TRAVEL)
    seq: list[Any] = [data.order_nodes[o][0] for o in order]
    return plan_from_sequences(
        data, [seq], dropped=[], impossible=[], engine="test", seconds=0
    )


# -- model ---------------------------------------------------------------------


def _job(**kw: Any) -> Job:
    return Job.model_validate(
        {"id": "e", "demand": [1, 1], "location": {"lat": 37.5, "lon": 127.0}} | kw
    )


def test_an_exchange_carries_both_amounts() -> None:
    """demand is what is delivered, collect what is collected."""
    job = _job(type="exchange", collect=[3, 2])
    assert job.delivered == (1, 1)
    assert job.collected == (3, 2)
    assert job.loads_at_depot
    back = _job(type="pickup")
    assert back.delivered == (0, 0) and back.collected == (1, 1)
    assert not back.loads_at_depot


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"type": "exchange"}, "required for an exchange"),
        ({"type": "exchange", "collect": []}, "required for an exchange"),
        ({"type": "exchange", "collect": [1]}, "has 1 dimensions but demand has 2"),
        ({"collect": [1, 1]}, "only an exchange collects; a delivery"),
        ({"type": "pickup", "collect": [1, 1]}, "only an exchange collects; a pickup"),
        ({"type": "exchange", "collect": [1, -1]}, "greater than or equal to 0"),
    ],
)
def test_collect_is_validated_by_name(extra: dict[str, Any], reason: str) -> None:
    """A bad ``collect`` is an error on the field ``collect`` with the reason."""
    with pytest.raises(ValidationError) as err:
        _job(**extra)
    (first,) = err.value.errors()
    assert first["loc"][0] == "collect"
    assert reason in first["msg"]


def test_an_exchange_cannot_go_to_a_station() -> None:
    """A locker cannot hand over the old item: stations take deliveries only."""
    with pytest.raises(ValidationError, match="only a delivery can go to a pickup"):
        _job(type="exchange", collect=[1, 1], station="st")


# -- engines and checker -------------------------------------------------------


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_engines_order_stops_so_the_load_fits(engine: str) -> None:
    """Both engines serve the far delivery first: the short way overloads."""
    problem = _order_sensitive()
    plan = solve(problem, params=QUICK.model_copy(update={"engine": engine}))
    assert not plan.unassigned
    (route,) = plan.routes
    assert [s.id for s in route.steps[1:-1]] == ["b", "x"]
    assert [s.load for s in route.steps] == [(10,), (2,), (8,), (8,)]
    assert route.steps[2].type == StepType.JOB
    result = check(problem, plan, TRAVEL)
    assert result.ok, result


def test_checker_rejects_the_overload_from_collections() -> None:
    """The short order carries 16 after the exchange: a capacity violation
    at that step, found by the checker's own walk of the loads."""
    problem = _order_sensitive()
    plan = _plan_in_order(problem, ["x", "b"])
    result = check(problem, plan, TRAVEL)
    assert [(v.kind, v.step) for v in result.violations] == [("capacity", 1)]
    assert "load 16 > capacity 10" in result.violations[0].detail
    assert check(problem, _plan_in_order(problem, ["b", "x"]), TRAVEL).ok


def test_an_exchange_too_big_for_every_van_says_so() -> None:
    """An old item larger than any van: unassigned for capacity, naming it."""
    problem = grid_problem(
        LINE,
        [{"id": "x", "at": 1, "type": "exchange", "demand": [2], "collect": [12]}],
        [{"id": "v", "capacity": [10]}],
    )
    plan = solve(problem, params=QUICK)
    (left,) = plan.unassigned
    assert left.reason == "capacity"
    assert "collect [12]" in left.detail


def test_start_load_counts_only_new_items() -> None:
    """Two 6/6 exchanges fill a van of 12 at the start and never more; a
    third new item does not fit, so one order is left out."""
    jobs = [
        {"id": f"x{k}", "at": k + 1, "type": "exchange", "demand": [6], "collect": [6]}
        for k in range(2)
    ]
    problem = grid_problem(LINE, jobs, [{"id": "v", "capacity": [12]}])
    plan = solve(problem, params=QUICK)
    assert not plan.unassigned
    assert {s.load for s in plan.routes[0].steps} == {(12,)}
    more = grid_problem(
        LINE,
        [*jobs, {"id": "b", "at": 2, "demand": [1]}],
        [{"id": "v", "capacity": [12]}],
    )
    plan = solve(more, params=QUICK)
    assert len(plan.unassigned) == 1
    assert check(more, plan, TRAVEL).ok


# -- insertion -----------------------------------------------------------------


def test_live_plan_inserts_an_exchange_after_the_delivery() -> None:
    """Screening sees that the exchange's old item cannot ride with the
    delivery still on board: the exchange goes after it."""
    problem = grid_problem(
        LINE, [{"id": "b", "at": 2, "demand": [8]}], [{"id": "v", "capacity": [10]}]
    )
    plan = solve(problem, params=QUICK)
    live = LivePlan.from_plan(problem, plan, TRAVEL, objective="distance")
    exchange = Job.model_validate(
        {
            "id": "x",
            "type": "exchange",
            "demand": [2],
            "collect": [8],
            "location": {"index": 1},
        }
    )
    (screened,) = live.candidates([exchange])
    assert [ins.position for ins in screened] == [1]
    assert live.insert(exchange) is not None
    after = live.plan()
    (route,) = after.routes
    assert [s.id for s in route.steps[1:-1]] == ["b", "x"]
    assert max(s.load[0] for s in route.steps) == 10
    full = problem.model_copy(update={"jobs": (*problem.jobs, exchange)})
    result = check(full, after, TRAVEL)
    assert result.ok, result


def test_live_plan_leaves_earlier_to_fit_an_exchange_first() -> None:
    """A route that leaves late for a window (800 s, to be at b at 1000 s,
    window to 1100 s) can still take a stop on the way first by leaving
    earlier: screening counts the earlier departure, not only b's slack
    (100 s, less than the 300 s of service)."""
    problem = grid_problem(
        LINE,
        [{"id": "b", "at": 2, "time_windows": [[1000, 1100]]}],
        [{"id": "v", "capacity": [10], "shift": [0, 5000], "end": None}],
    )
    plan = solve(problem, params=QUICK)
    assert plan.routes[0].start == 800
    live = LivePlan.from_plan(problem, plan, TRAVEL, objective="distance")
    exchange = Job.model_validate(
        {
            "id": "x",
            "type": "exchange",
            "demand": [1],
            "collect": [1],
            "service": 300,
            "location": {"index": 1},
        }
    )
    (screened,) = live.candidates([exchange])
    assert (screened[0].position, screened[0].service_start) == (0, 700)
    assert screened[0].distance == 0  # on the way (after b: 1 km back)
    assert live.insert(exchange) is not None
    after = live.plan()
    (route,) = after.routes
    assert route.order_ids == ["x", "b"]
    assert route.start <= 600 and 1000 <= route.steps[2].service_start <= 1100
    full = problem.model_copy(update={"jobs": (*problem.jobs, exchange)})
    assert check(full, after, TRAVEL).ok


# -- property ------------------------------------------------------------------


def _random_problem(seed: int) -> Problem:
    """3-6 jobs (deliveries, returns, exchanges) and maybe a shipment on a
    small grid, two vans with tight two-dimensional capacities."""
    rng = random.Random(seed)
    coords = [(0, 0)] + [
        (rng.randrange(0, 3000, 100), rng.randrange(0, 3000, 100)) for _ in range(8)
    ]
    jobs: list[dict[str, Any]] = []
    for k in range(rng.randint(3, 6)):
        kind = rng.choice(["delivery", "pickup", "exchange", "exchange"])
        job: dict[str, Any] = {
            "id": f"j{k}",
            "at": rng.randint(1, 8),
            "type": kind,
            "demand": [rng.randint(0, 6), rng.randint(0, 2)],
            "service": rng.randint(0, 120),
        }
        if kind == "exchange":
            job["collect"] = [rng.randint(0, 8), rng.randint(0, 2)]
        if rng.random() < 0.3:
            start = rng.randint(0, 1500)
            job["time_windows"] = [[start, start + rng.randint(300, 2000)]]
        jobs.append(job)
    extra: dict[str, Any] = {}
    if rng.random() < 0.5:
        extra["shipments"] = [
            {
                "id": "s",
                "demand": [rng.randint(1, 5), 1],
                "pickup": {"location": {"index": rng.randint(1, 8)}},
                "delivery": {"location": {"index": rng.randint(1, 8)}},
            }
        ]
    vehicles = [
        {"id": "v1", "capacity": [rng.randint(6, 14), 3], "shift": [0, 4000]},
        {"id": "v2", "capacity": [rng.randint(6, 14), 3], "shift": [0, 4000]},
    ]
    return grid_problem(coords, jobs, vehicles, **extra)


def _assert_plan_holds(problem: Problem, plan: Plan) -> None:
    result = check(problem, plan, TRAVEL)
    assert result.ok, result
    caps = {v.id: v.capacity for v in problem.vehicles}
    for route in plan.routes:
        for s in route.steps:
            assert all(
                0 <= q <= c for q, c in zip(s.load, caps[route.vehicle], strict=True)
            )
    served = {i for r in plan.routes for i in r.order_ids}
    left = {u.id for u in plan.unassigned}
    assert served | left == {o.id for o in problem.orders}
    assert not served & left


@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32), engine=st.sampled_from(["ortools", "pyvrp"]))
def test_random_problems_with_exchanges_plan_within_capacity(
    seed: int, engine: str
) -> None:
    """12 seeded random problems (the slow test runs 200): every plan of
    either engine passes the checker and never loads past capacity."""
    problem = _random_problem(seed)
    plan = solve(problem, params=QUICK.model_copy(update={"engine": engine}))
    _assert_plan_holds(problem, plan)


@pytest.mark.slow
@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32), engine=st.sampled_from(["ortools", "pyvrp"]))
def test_200_random_problems_with_exchanges(seed: int, engine: str) -> None:
    """The same invariant over 200 seeded problems."""
    problem = _random_problem(seed)
    plan = solve(problem, params=QUICK.model_copy(update={"engine": engine}))
    _assert_plan_holds(problem, plan)


# -- re-optimisation -----------------------------------------------------------


def _served_then(problem: Problem, plan: Plan, done: list[str]) -> VehicleProgress:
    """The van right after serving ``done`` (in plan order), at that stop."""
    (route,) = plan.routes
    steps = {s.id: s for s in route.steps if s.id is not None}
    last = steps[done[-1]]
    assert last.location is not None
    rest = [i for i in route.order_ids if i not in done]
    return VehicleProgress(
        vehicle=route.vehicle,
        position=last.location,
        time=last.departure,
        completed=tuple(done),
        next=rest[0] if rest else None,
    )


def test_reoptimising_keeps_a_pending_exchange_on_board() -> None:
    """After the delivery, the exchange's new item is on the van: the rest
    of the day still serves it from the van, and the checker agrees."""
    problem = _order_sensitive()
    plan = solve(problem, params=QUICK)
    vs = _served_then(problem, plan, ["b"])
    state = ExecutionState(time=vs.time, plan=plan, vehicles=(vs,))
    result = reoptimise(problem, state, TRAVEL, params=QUICK)
    (route,) = result.plan.routes
    assert route.order_ids == ["x"]
    rest_x = next(j for j in result.problem.jobs if j.id == "x")
    assert rest_x.type == "exchange"
    assert rest_x.depot is not None and rest_x.depot.startswith("@")
    assert check(result.problem, result.plan, TRAVEL).ok


@pytest.mark.parametrize(("size", "served"), [(2, True), (3, False)])
def test_a_served_exchanges_old_item_takes_room(size: int, served: bool) -> None:
    """With the exchange's old item (8) on a van of 10, a new return of 2
    still fits and one of 3 does not (capacity)."""
    problem = _order_sensitive()
    plan = solve(problem, params=QUICK)
    vs = _served_then(problem, plan, ["b", "x"])
    back = Job.model_validate(
        {"id": "r", "type": "pickup", "demand": [size], "location": {"index": 2}}
    )
    state = ExecutionState(time=vs.time, plan=plan, vehicles=(vs,), new_orders=(back,))
    result = reoptimise(problem, state, TRAVEL, params=QUICK)
    assert check(result.problem, result.plan, TRAVEL).ok
    on_routes = [o for r in result.plan.routes for o in r.order_ids]
    assert ("r" in on_routes) is served
    if not served:
        (left,) = result.plan.unassigned
        assert (left.id, left.reason) == ("r", "capacity")


def _insertion_case(seed: int) -> tuple[Problem, Job]:
    """A random problem without its last exchange, and that exchange."""
    rng = random.Random(seed)
    problem = _random_problem(seed)
    new = Job.model_validate(
        {
            "id": "new",
            "type": "exchange",
            "demand": [rng.randint(0, 6), rng.randint(0, 1)],
            "collect": [rng.randint(0, 8), rng.randint(0, 1)],
            "service": 60,
            "location": {"index": rng.randint(1, 8)},
        }
    )
    return problem, new


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32))
def test_insertion_finds_a_feasible_position_for_an_exchange_iff_one_exists(
    seed: int,
) -> None:
    """25 seeded cases: LivePlan inserts a new exchange where the checker
    agrees, and when it finds no position, every position of every van
    breaks a rule when timed exactly (screening never loses a feasible one)."""
    problem, new = _insertion_case(seed)
    plan = solve(problem, params=QUICK.model_copy(update={"engine": "ortools"}))
    live = LivePlan.from_plan(problem, plan, TRAVEL, neighbours=None)
    placed = live.insert(new)
    if placed is not None:
        full = problem.model_copy(update={"jobs": (*problem.jobs, new)})
        after = live.plan()
        result = check(full, after, TRAVEL)
        assert result.ok, result
        assert "new" in [o for r in after.routes for o in r.order_ids]
        return
    for v in range(len(live.vehicles)):
        keys = live.visits[v]
        for pos in range(len(keys) + 1):
            trial = [*keys[:pos], ("new", 0), *keys[pos:]]
            route = live.time_route(v, trial, new)
            assert live.violation(v, route, new) is not None, (seed, v, pos)
