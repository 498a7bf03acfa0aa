"""Re-optimising a plan that is itself re-optimised (the live day's second call)."""

from __future__ import annotations

from datetime import date

from routing.plan import Plan
from routing.reoptimise import reoptimise, state_as_planned
from routing.solver import SolveParams, check, solve
from routing.travel import HaversineTravel
from scenarios.city import build_city, day_problem

TRAVEL = HaversineTravel()
DAY = date(2024, 2, 1)


def _on_road(plan: Plan, now: int) -> list[str]:
    return [r.vehicle for r in plan.routes if r.start <= now < r.end]


def test_a_rest_of_day_plan_can_be_reoptimised_again() -> None:
    """Vans on the road in both calls keep one position depot each, and the
    second rest-of-day plan passes the checker (it failed with "duplicate
    depot id '@<van>'" when the first call's position depot was kept)."""
    city = build_city(seed=3, n_customers=400, end=date(2024, 1, 31))
    problem = day_problem(city, DAY, n_orders=40, seed=3)
    plan = solve(problem, params=SolveParams(engine="pyvrp", time_limit=1.0))
    first = reoptimise(
        problem,
        state_as_planned(problem, plan, 11 * 3600),
        TRAVEL,
        params=SolveParams(time_limit=0.5),
    )
    both = set(_on_road(plan, 11 * 3600)) & set(_on_road(first.plan, 13 * 3600))
    assert both, "the test needs a van on the road at both times"
    second = reoptimise(
        first.problem,
        state_as_planned(first.problem, first.plan, 13 * 3600),
        TRAVEL,
        params=SolveParams(time_limit=0.5),
    )
    ids = [d.id for d in second.problem.depots]
    assert len(ids) == len(set(ids))
    assert {f"@{v}" for v in both} <= set(ids)
    assert check(second.problem, second.plan, TRAVEL).ok
