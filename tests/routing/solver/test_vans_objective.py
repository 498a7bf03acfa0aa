"""``objective="vans_then_distance"``: fewest routes first, in every engine,
and the route-minimisation phase of ``auto``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.io.vrplib import read_solomon
from routing.model import Problem
from routing.plan import Plan, StepType
from routing.solver import SolveParams, check, solve
from routing.solver.data import build_data
from routing.solver.insertion import insertion_plan
from routing.solver.params import van_charge
from routing.solver.portfolio import _fewer_routes, routes_of
from routing.solver.precheck import precheck
from routing.travel import HaversineTravel
from tests.routing.solver.test_pyvrp import _day_json, _shipments

#: Two pairs of customers 100 apart on either side of the depot. Two vans
#: drive about 202 (one per side); the windows make one van alternate sides,
#: about 400: fewer vans cost more distance.
INTERLEAVED = """\
TWO-SIDES

VEHICLE
NUMBER     CAPACITY
  2          10

CUSTOMER
CUST NO.   XCOORD.   YCOORD.    DEMAND   READY TIME   DUE DATE   SERVICE TIME

    0         60      10           0       0         1000           0
    1        110      10           1      50           60           0
    2         10      10           1     160          170           0
    3        110      11           1     270          280           0
    4         10      11           1     380          390           0
"""


@pytest.fixture
def interleaved(tmp_path: Path) -> Problem:
    path = tmp_path / "two_sides.txt"
    path.write_text(INTERLEAVED)
    problem, _ = read_solomon(path, convention="hierarchical")
    return problem


def _solve(problem: Problem, engine: str, objective: str) -> Plan:
    params = SolveParams.model_validate(
        {"engine": engine, "objective": objective, "time_limit": 1.0, "workers": 1}
    )
    plan = solve(problem, params=params)
    verdict = check(problem, plan, HaversineTravel())
    assert verdict.ok, str(verdict)
    assert plan.summary.served == 4
    return plan


@pytest.mark.parametrize("engine", ["ortools", "pyvrp", "auto", "large"])
def test_fewer_vans_win_over_distance(interleaved: Problem, engine: str) -> None:
    """Each engine: vans_then_distance takes one van for ~400, distance two
    vans for ~202."""
    vans = _solve(interleaved, engine, "vans_then_distance")
    metres = _solve(interleaved, engine, "distance")
    assert routes_of(vans) == 1
    assert routes_of(metres) == 2
    # Thousandths of an instance unit: the single route alternates sides.
    assert vans.summary.distance > 390_000
    assert metres.summary.distance < 210_000


def test_insertion_opens_a_second_van_only_when_it_must(interleaved: Problem) -> None:
    """The insertion of last resort puts all four on one van when vans count."""
    plan = insertion_plan(
        interleaved, HaversineTravel(), objective="vans_then_distance"
    )
    assert plan is not None
    assert check(interleaved, plan, HaversineTravel()).ok
    assert routes_of(plan) == 1


def test_a_bad_objective_names_the_field() -> None:
    with pytest.raises(ValueError, match="objective"):
        SolveParams.model_validate({"objective": "vans"})


def test_van_charge_outweighs_any_plan() -> None:
    """visits + vans arcs at the longest arc each are less than one van."""
    charge = van_charge(longest_arc=1_000, visits=9, vehicles=3)
    assert charge > (9 + 3) * 1_000
    assert van_charge(0, 0, 1) >= 1


def _plan_of(problem: Problem, seconds: float) -> tuple[Plan, Any, list[str], Any]:
    travel = HaversineTravel()
    data = build_data(problem, travel)
    ids, impossible = precheck(data)
    params = SolveParams(engine="ortools", objective="distance", time_limit=seconds)
    plan = solve(problem, params=params, travel=travel)
    return plan, data, ids, impossible


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 10_000),
    n_jobs=st.integers(4, 14),
    with_shipments=st.booleans(),
)
@pytest.mark.slow
def test_route_minimisation_never_worsens_the_plan(
    seed: int, n_jobs: int, with_shipments: bool
) -> None:
    """Whatever the day, the phase returns a plan the checker passes, with no
    more routes and no more orders left out than it was given; shipments
    keep each pickup before its delivery on one van."""
    d = _day_json(seed, n_jobs)
    if with_shipments:
        _shipments(d)
    problem = Problem.model_validate(d)
    travel = HaversineTravel()
    start, data, ids, impossible = _plan_of(problem, 0.3)
    assert check(problem, start, travel).ok
    params = SolveParams(objective="vans_then_distance", time_limit=1.0, workers=1)
    plan, _ = _fewer_routes(
        data,
        ids,
        impossible,
        start,
        "ortools",
        params,
        travel,
        time.perf_counter() + 1.0,
    )
    verdict = check(problem, plan, travel)
    assert verdict.ok, str(verdict)
    assert routes_of(plan) <= routes_of(start)
    assert plan.summary.unassigned <= start.summary.unassigned
    for route in plan.routes:
        kinds = {(s.id, s.type) for s in route.steps}
        for step in route.steps:
            if step.type == StepType.PICKUP:
                assert (step.id, StepType.DELIVERY) in kinds
        order = [(s.id, s.type) for s in route.steps]
        for sid, kind in order:
            if kind == StepType.DELIVERY and (sid, StepType.PICKUP) in kinds:
                assert order.index((sid, StepType.PICKUP)) < order.index((sid, kind))


def test_route_minimisation_empties_a_route(interleaved: Problem) -> None:
    """From the distance objective's two routes the phase finds the one-van
    plan (longer, but a van fewer)."""
    start, data, ids, impossible = _plan_of(interleaved, 0.5)
    assert routes_of(start) == 2
    travel = HaversineTravel()
    vans = SolveParams(objective="vans_then_distance", time_limit=1.0, workers=1)
    plan, engine = _fewer_routes(
        data, ids, impossible, start, "ortools", vans, travel, time.perf_counter() + 1
    )
    assert check(interleaved, plan, travel).ok
    assert routes_of(plan) == 1
    assert engine.endswith("+fewer-routes")
    assert plan.summary.served == 4


def test_a_day_with_shipments_gives_the_race_the_whole_time() -> None:
    """Route minimisation keeps its share on a day of jobs; a day with
    shipments skips it (its race on a smaller fleet dropped no route of a
    500-pair day, and the time came out of PyVRP's search)."""
    from routing.solver.portfolio import ROUTE_SHARE, route_share

    d = _day_json(3, 6)
    jobs_only = Problem.model_validate(d)
    assert route_share(jobs_only) == ROUTE_SHARE > 0
    _shipments(d)
    with_shipments = Problem.model_validate(d)
    assert with_shipments.shipments
    assert route_share(with_shipments) == 0.0
