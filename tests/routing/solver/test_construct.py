"""The scaling first solution: feasible by construction, read by OR-Tools."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import routing.solver.ortools_adapter as adapter
from routing.model import Problem
from routing.plan import Plan, Reason, StepType
from routing.solver import SolveParams, check, solve
from routing.solver.choice import BOUNDED_MAX
from routing.solver.construct import nearest_routes
from routing.solver.data import build_data
from routing.solver.precheck import precheck
from routing.solver.result import EngineResult, NoPlanFound, plan_from_sequences
from routing.travel import HaversineTravel
from tests.factories import random_problem

TRAVEL = HaversineTravel()
ORDER_STEPS = (StepType.JOB, StepType.PICKUP, StepType.DELIVERY)


def _served(plan: Plan) -> set[str]:
    return {
        s.id
        for r in plan.routes
        for s in r.steps
        if s.type in ORDER_STEPS and s.id is not None
    }


def _tightened(
    seed: int,
    n_jobs: int,
    n_vehicles: int,
    weight: int,
    parcels: int,
    shift_hours: int,
    max_orders: int | None,
    max_hours: int | None,
    skilled: int,
    window_minutes: int,
) -> Problem:
    """A random day (windows, returns, a break, shipments, two depots) with
    windows ``window_minutes`` long, capacities, shifts and limits tight
    enough to bind, and a skill that only some jobs need and some vans
    have."""
    problem = random_problem(seed, n_jobs=n_jobs, n_vehicles=n_vehicles)
    vehicles = []
    for v, vehicle in enumerate(problem.vehicles):
        shift = vehicle.shift.model_copy(
            update={"end": vehicle.shift.start + shift_hours * 3600}
        )
        vehicles.append(
            vehicle.model_copy(
                update={
                    "capacity": (weight, parcels),
                    "shift": shift,
                    "max_orders": max_orders,
                    "max_duration": None if max_hours is None else max_hours * 3600,
                    "skills": frozenset({"cold"}) if v % 2 else frozenset(),
                }
            )
        )
    jobs = []
    for i, job in enumerate(problem.jobs):
        windows = tuple(
            w.model_copy(update={"end": w.start + window_minutes * 60})
            for w in job.time_windows
        )
        skills = frozenset({"cold"}) if i < skilled else frozenset()
        jobs.append(job.model_copy(update={"time_windows": windows, "skills": skills}))
    return problem.model_copy(update={"vehicles": tuple(vehicles), "jobs": tuple(jobs)})


def _construct(problem: Problem) -> tuple[list[list[int]], list[str], object]:
    data = build_data(problem, TRAVEL)
    serviceable, impossible = precheck(data)
    model = adapter._new_model(data, serviceable)
    routes = nearest_routes(
        data,
        serviceable,
        model.local,
        {k: (t[0], t[1]) for k, t in model.tables.items()},
        {k: t[2] for k, t in model.tables.items()},
    )
    placed = {data.nodes[n].order for seq in routes for n in seq}
    plan = plan_from_sequences(
        data,
        list(routes),  # type: ignore[arg-type]
        dropped=[oid for oid in serviceable if oid not in placed],
        impossible=impossible,
        engine="construct",
        seconds=0.0,
    )
    return routes, serviceable, plan


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**16),
    n_jobs=st.integers(1, 40),
    n_vehicles=st.integers(1, 5),
    weight=st.integers(5_000, 150_000),
    parcels=st.integers(1, 30),
    shift_hours=st.integers(2, 12),
    max_orders=st.none() | st.integers(1, 12),
    max_hours=st.none() | st.integers(1, 10),
    skilled=st.integers(0, 10),
    window_minutes=st.integers(5, 120),
)
def test_construction_is_feasible(
    seed: int,
    n_jobs: int,
    n_vehicles: int,
    weight: int,
    parcels: int,
    shift_hours: int,
    max_orders: int | None,
    max_hours: int | None,
    skilled: int,
    window_minutes: int,
) -> None:
    """Whatever the windows, loads and limits, every constructed route passes
    the checker, no order is placed twice, and what it leaves to the search
    (shipments, vans with breaks) is untouched."""
    problem = _tightened(
        seed,
        n_jobs,
        n_vehicles,
        weight,
        parcels,
        shift_hours,
        max_orders,
        max_hours,
        skilled,
        window_minutes,
    )
    routes, serviceable, plan = _construct(problem)
    verdict = check(problem, plan, TRAVEL)  # type: ignore[arg-type]
    assert verdict.ok, str(verdict)
    visits = [n for seq in routes for n in seq]
    assert len(visits) == len(set(visits))
    for v, vehicle in enumerate(problem.vehicles):
        if vehicle.breaks or vehicle.max_orders is None:
            assert not vehicle.breaks or not routes[v]
            continue
        assert len(routes[v]) <= vehicle.max_orders
    served = _served(plan)  # type: ignore[arg-type]
    assert not served & {s.id for s in problem.shipments}
    assert served <= set(serviceable)


def test_construction_places_an_easy_day_whole() -> None:
    """Roomy vans and open windows: the construction alone serves every job
    (it is a first solution, not a list of leftovers)."""
    problem = random_problem(5, n_jobs=30, n_vehicles=4).model_copy(
        update={"shipments": ()}
    )
    problem = problem.model_copy(
        update={
            "jobs": tuple(
                j.model_copy(update={"time_windows": ()}) for j in problem.jobs
            ),
            "vehicles": tuple(
                v.model_copy(update={"capacity": (10**7, 10**4), "breaks": ()})
                for v in problem.vehicles
            ),
        }
    )
    routes, serviceable, plan = _construct(problem)
    assert sum(len(r) for r in routes) == len(serviceable) == 30
    assert check(problem, plan, TRAVEL).ok  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def city_day() -> Problem:
    from scenarios.city import build_city, day_problem

    town = build_city(seed=3, n_customers=2000, end=date(2024, 1, 31))
    return day_problem(town, date(2024, 2, 1), n_orders=300, seed=3)


def test_ortools_searches_from_the_construction(
    city_day: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 300-order city day treated as large: OR-Tools starts from the
    construction (read as a feasible assignment), has its first solution
    within the short limit, and the plan passes the checker with every
    order served or left out with its penalty."""
    monkeypatch.setattr(adapter, "CONSTRUCT_FROM", 200)
    started: list[bool] = []
    real = adapter._solve_once

    def spy(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        started.append(result.constructed)
        return result

    monkeypatch.setattr(adapter, "_solve_once", spy)
    params = SolveParams(engine="ortools", time_limit=3.0, workers=2)
    plan = solve(city_day, travel=TRAVEL, params=params)
    assert started == [True]  # one search, no cold helper
    assert plan.fallback is None
    assert check(city_day, plan, TRAVEL).ok
    served = _served(plan)
    assert len(served) + len(plan.unassigned) == len(city_day.jobs)
    for u in plan.unassigned:
        assert u.reason is not Reason.DROPPED or u.penalty is not None
    assert len(served) >= 0.95 * len(city_day.jobs)


def test_small_days_keep_ortools_own_first_solution(
    city_day: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below CONSTRUCT_FROM the search starts cold, as before."""
    flags: list[bool] = []
    real = adapter._solve_once

    def spy(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        flags.append(result.constructed)
        return result

    monkeypatch.setattr(adapter, "_solve_once", spy)
    small = city_day.model_copy(update={"jobs": city_day.jobs[:40]})
    plan = solve(
        small,
        travel=TRAVEL,
        params=SolveParams(engine="ortools", time_limit=1.0, workers=1),
    )
    assert flags == [False]
    assert check(small, plan, TRAVEL).ok


def test_a_broken_constructed_plan_is_no_answer(
    city_day: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan searched from the construction is checked before it is
    returned: one that breaks a window raises NoPlanFound (solve() then
    falls back by name) instead of reaching the user."""
    import dataclasses

    import routing.solver.engines as engines

    real = engines.run_engine

    def reversed_routes(*args: Any, **kwargs: Any) -> EngineResult:
        result = real(*args, **kwargs)
        backwards = [list(reversed(seq)) for seq in result.sequences]
        return dataclasses.replace(result, sequences=backwards, constructed=True)

    monkeypatch.setattr(engines, "run_engine", reversed_routes)
    small = city_day.model_copy(update={"jobs": city_day.jobs[:60]})
    params = SolveParams(engine="ortools", time_limit=1.0, workers=1)
    with pytest.raises(NoPlanFound, match="constructed start broke the plan"):
        engines.solve_one(small, "ortools", travel=TRAVEL, params=params)


def test_which_days_start_from_the_construction() -> None:
    """From CONSTRUCT_FROM orders; a search bounded by iterations keeps
    OR-Tools' own start up to BOUNDED_MAX orders (the simulator's
    repeatable days)."""
    free = SolveParams()
    assert not adapter._constructs(adapter.CONSTRUCT_FROM - 1, free)
    assert adapter._constructs(adapter.CONSTRUCT_FROM, free)
    assert adapter._constructs(5000, free)
    bounded = SolveParams(iterations=10)
    assert not adapter._constructs(adapter.CONSTRUCT_FROM, bounded)
    assert not adapter._constructs(BOUNDED_MAX, bounded)
    assert adapter._constructs(BOUNDED_MAX + 1, bounded)
