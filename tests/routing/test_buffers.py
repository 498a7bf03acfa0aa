"""Planning buffers: planned ahead of the window when the day allows, never
an order lost to them, the promise unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from routing.model import Costs, Depot, Job, Location, Problem, TimeWindow, Vehicle
from routing.plan import StepType
from routing.solver import SolveParams, check, solve
from routing.travel import HaversineTravel

TRAVEL = HaversineTravel()
HOUR = 3600


def _day(n: int, seed: int, *, buffer: int, width: int, shift_hours: float) -> Problem:
    """One van; ``n`` stops in one window of ``width`` s from 09:00; every
    even stop has a ``buffer``."""
    rng = np.random.default_rng(seed)
    jobs = [
        Job(
            id=f"o{i}",
            demand=(1,),
            service=300,
            location=Location(
                lat=37.50 + 0.02 * rng.random(), lon=127.00 + 0.02 * rng.random()
            ),
            time_windows=(TimeWindow(start=9 * HOUR, end=9 * HOUR + width),),
            buffer=buffer if i % 2 == 0 else 0,
            buffer_cost=500.0 if i % 2 == 0 else 0.0,
        )
        for i in range(n)
    ]
    van = Vehicle(
        id="v",
        start="d",
        end="d",
        capacity=(100,),
        shift=TimeWindow(start=8 * HOUR, end=round((8 + shift_hours) * HOUR)),
        costs=Costs(per_km=250.0),
    )
    depot = Depot(id="d", location=Location(lat=37.50, lon=127.00))
    return Problem(depots=(depot,), vehicles=(van,), jobs=tuple(jobs))


def _starts(plan) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {
        s.id: s.service_start
        for r in plan.routes
        for s in r.steps
        if s.type == StepType.JOB and s.id is not None
    }


def test_a_day_with_room_reaches_buffered_stops_before_their_buffer() -> None:
    problem = _day(4, 1, buffer=HOUR, width=4 * HOUR, shift_hours=8)
    plan = solve(problem, travel=TRAVEL, params=SolveParams(time_limit=1.0))
    assert check(problem, plan, TRAVEL).ok
    starts = _starts(plan)
    assert len(starts) == 4
    for job in problem.jobs:
        if job.soft_end is not None:
            assert starts[job.id] <= job.soft_end


def test_a_buffer_never_costs_an_order_the_plan_could_serve() -> None:
    """Eight stops in a 60-minute window: with 45 of its minutes as buffers
    (hard) not all fit, so the ones left out are served inside their buffer,
    as many as without buffers."""
    problem = _day(8, 2, buffer=45 * 60, width=HOUR, shift_hours=6)
    bare = problem.model_copy(
        update={
            "jobs": tuple(
                j.model_copy(update={"buffer": 0, "buffer_cost": 0.0})
                for j in problem.jobs
            )
        }
    )
    params = SolveParams(time_limit=1.0)
    plan = solve(problem, travel=TRAVEL, params=params)
    without = solve(bare, travel=TRAVEL, params=params)
    assert check(problem, plan, TRAVEL).ok
    assert plan.summary.served == without.summary.served
    starts = _starts(plan)
    inside = [
        j.id
        for j in problem.jobs
        if j.soft_end is not None and starts.get(j.id, 0) > j.soft_end
    ]
    assert inside  # some are served inside their buffer ...
    # ... and each minute there is priced in the route's cost.
    assert plan.summary.cost > without.summary.cost


def test_a_buffer_longer_than_the_window_is_refused() -> None:
    with pytest.raises(ValidationError, match="buffer"):
        _day(2, 0, buffer=2 * HOUR, width=HOUR, shift_hours=4)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    n=st.integers(2, 9),
    seed=st.integers(0, 1_000),
    buffer=st.integers(0, 30 * 60),
    width=st.sampled_from([30 * 60, HOUR, 2 * HOUR]),
    shift=st.sampled_from([3.0, 5.0, 9.0]),
)
def test_buffered_plans_are_plans_of_the_promised_day(
    n: int, seed: int, buffer: int, width: int, shift: float
) -> None:
    """Whatever the buffers, the plan passes the checker on the promised
    windows and accounts for every order."""
    problem = _day(n, seed, buffer=min(buffer, width), width=width, shift_hours=shift)
    plan = solve(problem, travel=TRAVEL, params=SolveParams(time_limit=0.5))
    verdict = check(problem, plan, TRAVEL)
    assert verdict.ok, str(verdict)
    assert plan.summary.served + plan.summary.unassigned == n
