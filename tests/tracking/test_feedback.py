"""Feedback into planning: value- and sensitivity-weighted soft windows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from routing.model import Costs, Depot, Job, Location, Problem, TimeWindow, Vehicle
from routing.plan import Plan, StepType
from routing.solver import SolveParams, check, solve
from tests.tracking.conftest import TRAVEL
from tracking.feedback import (
    CustomerValue,
    LatenessPricing,
    OrderCost,
    apply_costs,
    expected_loss,
    order_costs,
)

HIGH = CustomerValue(value=2_000_000.0, sensitivity=2.0)
LOW = CustomerValue(value=50_000.0, sensitivity=0.5)


def test_loss_is_zero_on_time_and_grows_with_lateness() -> None:
    """No loss on time; more minutes, more sensitivity or more value lose more."""
    assert expected_loss(HIGH, 0) == 0.0
    losses = [expected_loss(LOW, m) for m in (1, 10, 30, 120)]
    assert losses == sorted(losses) and losses[0] > 0
    assert expected_loss(HIGH, 30) > expected_loss(LOW, 30)
    twice = CustomerValue(value=50_000.0, sensitivity=1.0)
    assert expected_loss(twice, 30) > expected_loss(LOW, 30)


def test_loss_follows_the_formula() -> None:
    """Slower next order plus churn: margin * (G - 1) + s * uplift * value."""
    pricing = LatenessPricing()
    gap = math.exp(2.0 * pricing.lateness_coef * math.log1p(30))
    expected = HIGH.order_margin * (gap - 1) + 2.0 * pricing.churn_uplift * HIGH.value
    assert expected_loss(HIGH, 30, pricing) == pytest.approx(expected)


def _day(n: int = 12, seed: int = 3) -> tuple[Problem, dict[str, CustomerValue]]:
    """One van, ``n`` stops that all promise 09:00-09:40: not all can be on time.

    Every other customer is valuable and sensitive.
    """
    rng = np.random.default_rng(seed)
    jobs, customers = [], {}
    for i in range(n):
        cid = f"c{i}"
        customers[cid] = HIGH if i % 2 == 0 else LOW
        jobs.append(
            Job(
                id=f"o{i}",
                customer_id=cid,
                demand=(1,),
                service=180,
                location=Location(
                    lat=37.50 + 0.01 * rng.random(), lon=127.00 + 0.012 * rng.random()
                ),
                time_windows=(TimeWindow(start=9 * 3600, end=9 * 3600 + 40 * 60),),
            )
        )
    van = Vehicle(
        id="v",
        start="d",
        end="d",
        capacity=(100,),
        shift=TimeWindow(start=8 * 3600, end=14 * 3600),
        costs=Costs(per_km=250.0),
    )
    depot = Depot(id="d", location=Location(lat=37.50, lon=127.00))
    return Problem(depots=(depot,), vehicles=(van,), jobs=tuple(jobs)), customers


def test_costs_follow_value_and_sensitivity_with_a_cap() -> None:
    """Valuable, sensitive customers cost more per late minute, up to the cap."""
    problem, customers = _day()
    costs = order_costs(problem, customers)
    assert costs["o0"].lateness_cost > 10 * costs["o1"].lateness_cost
    assert costs["o0"].penalty > costs["o1"].penalty
    capped = order_costs(problem, customers, LatenessPricing(max_per_minute=100.0))
    assert max(c.lateness_cost for c in capped.values()) == 100.0


def test_apply_costs_copies_the_problem() -> None:
    """Costs land on the jobs of a copy; the original keeps hard windows."""
    problem, customers = _day(4)
    priced = apply_costs(problem, order_costs(problem, customers))
    assert all(j.lateness_cost is None for j in problem.jobs)
    assert all(j.lateness_cost is not None and j.penalty for j in priced.jobs)


def _lost(plan: Plan, customers: dict[str, CustomerValue]) -> tuple[float, int, int]:
    """Expected lost value, on-time valuable stops, on-time other stops."""
    lost, high, low = 0.0, 0, 0
    for route in plan.routes:
        for s in route.steps:
            if s.type != StepType.JOB or s.id is None:
                continue
            who = customers[f"c{s.id[1:]}"]
            lost += expected_loss(who, math.ceil(s.late / 60))
            if s.late == 0:
                high += who is HIGH
                low += who is LOW
    return lost, high, low


def test_valuable_customers_are_served_on_time_first() -> None:
    """With weighted soft windows the valuable, sensitive customers are on time.

    The same day is planned twice: with each order's own lateness cost, and
    with the average cost on every order. Both plans pass the checker; the
    weighted one keeps more valuable customers on time and loses less.
    """
    problem, customers = _day()
    weighted = order_costs(problem, customers)
    mean_rate = float(np.mean([c.lateness_cost for c in weighted.values()]))
    mean_penalty = float(np.mean([c.penalty for c in weighted.values()]))
    uniform = dict.fromkeys(
        weighted, OrderCost(lateness_cost=mean_rate, penalty=mean_penalty)
    )
    params = SolveParams(time_limit=2.0)
    results = {}
    for name, costs in (("weighted", weighted), ("uniform", uniform)):
        priced = apply_costs(problem, costs)
        plan = solve(priced, travel=TRAVEL, params=params)
        verdict = check(priced, plan, TRAVEL)
        assert verdict.ok, str(verdict)
        assert plan.summary.served == len(problem.jobs)
        results[name] = (plan.summary.late, *_lost(plan, customers))
    late, lost_w, high_w, low_w = results["weighted"]
    _, lost_u, high_u, _ = results["uniform"]
    assert late > 0  # not every order can be on time
    assert high_w == 6 and high_w > low_w
    assert high_w >= high_u
    assert lost_w < lost_u
