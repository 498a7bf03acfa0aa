"""Large problems in parts: the split, the solve and the verdict."""

from __future__ import annotations

import importlib
import math
from datetime import date

import numpy as np
import pytest

from routing.io.vrplib import read_solomon
from routing.model import Problem, ServiceLevel
from routing.plan import Plan, Reason, StepType
from routing.solver import SolveParams, check, choice
from routing.solver.decompose import (
    LargeParams,
    decompose_solve,
    solve_large,
    sweep,
)
from routing.solver.parts import subproblem, verify
from routing.travel import HaversineTravel
from scenarios.city import build_city, day_problem
from tests.helpers import SHARED

TRAVEL = HaversineTravel()
C101 = SHARED / "benchmarks" / "vrptw" / "solomon" / "instances" / "C101.txt"


@pytest.fixture(scope="module")
def city_day() -> Problem:
    """A 240-order day of the embedded city (three depots, night vans)."""
    city = build_city(seed=5, n_customers=600, end=date(2024, 1, 31))
    return day_problem(city, date(2024, 2, 1), n_orders=240, seed=5)


def _served(plan: Plan) -> set[str]:
    return {
        s.id
        for r in plan.routes
        for s in r.steps
        if s.type in (StepType.JOB, StepType.DELIVERY) and s.id is not None
    }


def test_sweep_cuts_balanced_arcs_at_the_widest_gap() -> None:
    """Arcs differ by at most one point and none straddles the widest gap."""
    rng = np.random.default_rng(0)
    # two clusters of angles around 0 and pi, with a wide gap between them
    angles = np.concatenate([rng.normal(0.0, 0.2, 50), rng.normal(3.0, 0.2, 51)])
    arcs = sweep(angles, 2)
    assert sorted(len(a) for a in arcs) == [50, 51]
    for arc in arcs:
        cluster = {int(i >= 50) for i in arc}
        assert len(cluster) == 1
    assert sorted(i for a in sweep(angles, 7) for i in a) == list(range(101))


def test_subproblem_with_matrices_gets_local_indices() -> None:
    """A part of a matrix problem has its own sub-matrix, indexed from 0."""
    if not C101.is_file():
        pytest.skip("shared Solomon instances not available")
    problem, _ = read_solomon(C101)
    orders = {o.id: o for o in problem.orders}
    sub = subproblem(problem, [0, 1], ["5", "17", "42"], orders, _matrix(problem))
    assert sub.problem.matrices is not None
    assert len(sub.problem.matrices.durations) == 4  # depot + 3 customers
    full = problem.matrices
    assert full is not None
    for job in sub.problem.jobs:
        assert job.location is not None and job.location.index is not None
        assert sub.back is not None
        original = sub.back[job.location.index]
        assert original.index is not None
        assert (
            sub.problem.matrices.durations[0][job.location.index]
            == full.durations[0][original.index]
        )


def _matrix(problem: Problem) -> object:
    from routing.solver.parts import Matrix

    return Matrix(problem)


def test_city_day_in_parts_passes_the_checker(city_day: Problem) -> None:
    """Split by depot and shift, swept into parts, solved in two processes."""
    large = LargeParams(part_size=50, workers=2, whole_max=0)
    result = decompose_solve(
        city_day,
        params=SolveParams(time_limit=8.0),
        travel=TRAVEL,
        large=large,
    )
    assert result.parts >= 5
    assert result.verdict.ok, str(result.verdict)
    assert check(city_day, result.plan, TRAVEL).ok
    assert result.plan.summary.served >= 0.95 * len(city_day.jobs)
    assert result.plan.seconds <= 8.0 + 2.0
    night = {j.id for j in city_day.jobs if j.service_level is ServiceLevel.NIGHT}
    for route in result.plan.routes:
        vehicle = next(v for v in city_day.vehicles if v.id == route.vehicle)
        ids = {s.id for s in route.steps if s.id is not None}
        assert (ids <= night) if vehicle.night else not (ids & night)


def test_solomon_in_parts_serves_every_customer() -> None:
    """A matrix problem solved in parts with sub-matrices: all 100 served."""
    if not C101.is_file():
        pytest.skip("shared Solomon instances not available")
    problem, info = read_solomon(C101)
    plan = solve_large(
        problem,
        params=SolveParams(objective="distance", time_limit=6.0),
        part_size=35,
        coordinates=info["coordinates"],
    )
    verdict = check(problem, plan, TRAVEL)
    assert verdict.ok, str(verdict)
    assert plan.summary.served == 100


def test_small_problem_starts_from_whole_problem_solves(city_day: Problem) -> None:
    """Under ``whole_max`` the first pass solves the whole day once per worker."""
    result = decompose_solve(
        city_day, params=SolveParams(time_limit=6.0), travel=TRAVEL
    )
    assert "whole" in result.seconds
    assert result.verdict.ok, str(result.verdict)


def test_orders_no_vehicle_can_carry_get_the_precheck_reason(
    city_day: Problem,
) -> None:
    """Without night vans, night orders are unassigned as night_shift."""
    day_only = city_day.model_copy(
        update={"vehicles": tuple(v for v in city_day.vehicles if not v.night)}
    )
    result = decompose_solve(
        day_only,
        params=SolveParams(time_limit=5.0),
        travel=TRAVEL,
        large=LargeParams(part_size=80, whole_max=0),
    )
    assert result.verdict.ok, str(result.verdict)
    night = {j.id for j in day_only.jobs if j.service_level is ServiceLevel.NIGHT}
    reasons = {u.id: u.reason for u in result.plan.unassigned}
    assert night and all(reasons[o] is Reason.NIGHT_SHIFT for o in night)


def test_verify_in_chunks_agrees_with_one_check(city_day: Problem) -> None:
    """Checking route chunks finds exactly what one check finds."""
    plan = solve_large(city_day, params=SolveParams(time_limit=4.0), travel=TRAVEL)
    whole = check(city_day, plan, TRAVEL)
    parts = verify(city_day, plan, TRAVEL, at_once=0, chunk_orders=30)
    assert whole.ok and parts.ok
    assert parts.distance == whole.distance
    # break one route: serve its second stop an hour before it can be there
    route = max(plan.routes, key=lambda r: r.orders)
    steps = list(route.steps)
    steps[2] = steps[2].model_copy(
        update={"service_start": steps[2].service_start - 3600}
    )
    broken = plan.model_copy(
        update={
            "routes": tuple(
                r.model_copy(update={"steps": tuple(steps)}) if r is route else r
                for r in plan.routes
            )
        }
    )
    kinds_whole = sorted(v.kind for v in check(city_day, broken, TRAVEL).violations)
    kinds_parts = sorted(
        v.kind
        for v in verify(city_day, broken, TRAVEL, at_once=0, chunk_orders=30).violations
    )
    assert kinds_whole and kinds_whole == kinds_parts


def test_improvement_rounds_keep_the_plan_feasible(city_day: Problem) -> None:
    """Route clusters solved again replace routes only when checked and better."""
    # Parts get a fifth of 12 s: the rest leaves room for rounds also when a
    # loaded machine makes the parts overrun their share.
    result = decompose_solve(
        city_day,
        params=SolveParams(time_limit=12.0),
        travel=TRAVEL,
        large=LargeParams(
            part_size=60, whole_max=0, parts_share=0.2, cluster_seconds=1.0
        ),
    )
    assert result.rounds >= 1
    assert result.verdict.ok, str(result.verdict)
    assert check(city_day, result.plan, TRAVEL).ok


def test_time_limit_is_kept(city_day: Problem) -> None:
    """The whole solve, parts and improvement included, ends near its limit."""
    plan = solve_large(
        city_day, params=SolveParams(time_limit=5.0), travel=TRAVEL, part_size=60
    )
    assert plan.seconds <= 5.0 + 1.5
    assert math.isfinite(plan.summary.cost)


def test_auto_splits_large_days_before_building_matrices(
    city_day: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``solve(engine="auto")`` hands days from LARGE_ORDERS orders to the split."""
    # ``routing.solver.solve`` the attribute is the function; the module is here:
    solve_module = importlib.import_module("routing.solver.solve")

    def no_dense_matrix(*args: object, **kwargs: object) -> None:
        raise AssertionError("a large day must not build the whole-day matrix")

    monkeypatch.setattr(choice, "LARGE_ORDERS", 200)
    # The whole day on one engine (the parts still solve theirs):
    monkeypatch.setattr(solve_module, "solve_one", no_dense_matrix)
    plan = solve_module.solve(
        city_day, travel=TRAVEL, params=SolveParams(engine="auto", time_limit=6.0)
    )
    assert plan.engine.startswith("large:")
    monkeypatch.undo()
    assert check(city_day, plan, TRAVEL).ok
    assert plan.summary.served >= 0.95 * len(city_day.jobs)


def test_large_engine_can_be_asked_for_by_name() -> None:
    """``engine="large"`` splits even a small matrix problem; plan checks."""
    if not C101.is_file():
        pytest.skip("shared Solomon instances not available")
    problem, info = read_solomon(C101)
    from routing.solver import solve

    plan = solve(
        problem,
        params=SolveParams(engine="large", objective="distance", time_limit=4.0),
        coordinates=info["coordinates"],
    )
    assert plan.engine.startswith("large:")
    assert check(problem, plan, TRAVEL).ok
    assert plan.summary.served == 100
