"""Capacity planning never reads a search without a plan as "no vans needed"."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import routing.solver.ortools_adapter as adapter
from routing.model import Problem
from routing.plan import Plan, Reason, Summary, Unassigned
from routing.solver import NoPlanFound, SolveParams
from scenarios.capacity import (
    CapacityParams,
    LevelPlan,
    LevelUnplanned,
    _monotone,
    plan_depot_ladder,
)
from scenarios.city import City, build_city
from tests.scenarios.test_capacity import _one_route_per_job_any

DAY = date(2026, 1, 6)
DEPOT = "depot-east"


@pytest.fixture(scope="module")
def city() -> City:
    """A small city (2,000 customer slots) over the default two years."""
    return build_city(seed=0, n_customers=2_000)


def _nothing_served(problem: Problem) -> Plan:
    """What an engine without a solution used to hand back: no routes, every
    order left out."""
    n = len(problem.jobs)
    return Plan(
        summary=Summary(
            cost=0.0,
            routes=0,
            orders=n,
            served=0,
            unassigned=n,
            distance=0,
            duration=0,
            service=0,
            waiting_time=0,
            in_window=0,
            late=0,
        ),
        routes=(),
        unassigned=tuple(
            Unassigned(id=j.id, reason=Reason.DROPPED, detail="no solution")
            for j in problem.jobs
        ),
    )


def test_a_level_without_a_plan_is_solved_again_with_more_time(city: City) -> None:
    """The first search finding nothing is retried with twice the time, and
    the level gets the vans and hours of the plan that search found."""
    limits: list[float] = []

    def flaky(problem: Problem, params: SolveParams) -> Plan:
        limits.append(params.time_limit)
        if len(limits) == 1:
            raise NoPlanFound("ortools", params.time_limit, "forced")
        return _one_route_per_job_any(problem)

    ladder = plan_depot_ladder(
        city,
        DEPOT,
        [20],
        day=DAY,
        params=CapacityParams(time_limit=0.5),
        solver=flaky,
    )
    assert limits == [0.5, 1.0]
    (level,) = ladder.plans
    assert level.vans == 4
    assert level.driver_hours > 0
    assert level.fallback == "more_time"  # the fleet row says how it was sized


@pytest.mark.parametrize("failure", ["raises", "serves nothing"])
def test_a_level_that_never_gets_a_plan_names_depot_and_day(
    city: City, failure: str
) -> None:
    """No plan even with more time: an error naming the depot, day and
    orders, never a level with 0 vans."""

    def hopeless(problem: Problem, params: SolveParams) -> Plan:
        if failure == "raises":
            raise NoPlanFound("ortools", params.time_limit, "forced")
        return _nothing_served(problem)

    with pytest.raises(LevelUnplanned) as caught:
        plan_depot_ladder(city, DEPOT, [12, 20], day=DAY, solver=hopeless)
    assert caught.value.depot == DEPOT
    assert caught.value.day == DAY
    assert str(caught.value).startswith(f"depot {DEPOT} on {DAY}: no plan for ")
    expected = "forced" if failure == "raises" else "served none of the orders"
    assert caught.value.reason.count(expected) == 2


def test_real_engine_without_solutions_still_sizes_the_fleet(
    monkeypatch: pytest.MonkeyPatch, city: City
) -> None:
    """OR-Tools finding no solution at all (a busy machine's 1 s search):
    solve's fallbacks plan every level, with vans and hours for every one."""
    searches = 0

    def no_solution(*_args: Any) -> tuple[None, bool]:
        nonlocal searches
        searches += 1
        return None, False

    monkeypatch.setattr(adapter, "_search", no_solution)
    ladder = plan_depot_ladder(
        city, DEPOT, [8, 20, 40], day=DAY, params=CapacityParams(time_limit=0.2)
    )
    assert searches > 0
    assert [p.orders for p in ladder.plans] == [8, 20, 40]
    assert all(p.vans + p.night_vans >= 1 for p in ladder.plans)
    assert all(p.driver_hours > 0 for p in ladder.plans)
    totals = [p.vans + p.night_vans for p in ladder.plans]
    assert totals == sorted(totals)
    # solve's own fallback made every plan, and the levels say which
    assert {p.fallback for p in ladder.plans} <= {"more_time", "insertion"}
    assert all(p.fallback is not None for p in ladder.plans)


def test_a_level_with_orders_and_no_van_cannot_exist() -> None:
    """The invariant itself: positive demand with 0 vans is refused."""
    with pytest.raises(ValueError, match="no van"):
        LevelPlan(
            orders=150,
            vans=0,
            night_vans=0,
            driver_hours=0.0,
            unassigned=150,
            solved_at=150,
        )


_levels = st.lists(
    st.tuples(
        st.integers(1, 12),  # vans
        st.integers(0, 3),  # night vans
        st.floats(1.0, 200.0),  # driver-hours
        st.integers(0, 3),  # unassigned
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(raw=_levels)
def test_ladder_never_borrows_an_incomplete_plan(
    raw: list[tuple[int, int, float, int]],
) -> None:
    """Each level keeps its own plan or takes a larger level's plan that
    served everything; with only complete plans, vans grow with demand."""
    solved = [
        LevelPlan(10 * (k + 1), v, n, h, u, 10 * (k + 1))
        for k, (v, n, h, u) in enumerate(raw)
    ]
    out = _monotone(solved)
    by_orders = {p.orders: p for p in solved}
    for own, got in zip(solved, out, strict=True):
        assert got.vans + got.night_vans >= 1
        assert got.solved_at >= own.orders
        if got.solved_at != own.orders:
            assert by_orders[got.solved_at].unassigned == 0
    if all(p.unassigned == 0 for p in solved):
        totals = [p.vans + p.night_vans for p in out]
        assert totals == sorted(totals)
