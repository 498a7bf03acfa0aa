"""Feedback into planning: value- and sensitivity-weighted soft windows."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.locale import DEFAULT_LOCALE
from routing.model import Costs, Depot, Job, Location, Problem, TimeWindow, Vehicle
from routing.plan import Plan, StepType
from routing.solver import SolveParams, check, solve
from scenarios.truth import truth_pricing
from tests.tracking.conftest import TRAVEL
from tracking.feedback import (
    CustomerValue,
    LatenessPricing,
    OrderCost,
    apply_costs,
    buffers_of,
    expected_loss,
    order_costs,
    recent_late_counts,
    with_buffers,
)
from tracking.retention import ExperienceEffect

#: Priced like the synthetic city (its generator's coefficients), so the
#: tests below price something; a deployment learns its own.
PRICING = truth_pricing()
HIGH = CustomerValue(value=2_000_000.0, sensitivity=2.0)
LOW = CustomerValue(value=50_000.0, sensitivity=0.5)


def test_loss_is_zero_on_time_and_grows_with_lateness() -> None:
    """No loss on time; more minutes, more sensitivity or more value lose more."""
    assert expected_loss(HIGH, 0, PRICING) == 0.0
    losses = [expected_loss(LOW, m, PRICING) for m in (1, 10, 30, 120)]
    assert losses == sorted(losses) and losses[0] > 0
    assert expected_loss(HIGH, 30, PRICING) > expected_loss(LOW, 30, PRICING)
    twice = CustomerValue(value=50_000.0, sensitivity=1.0)
    assert expected_loss(twice, 30, PRICING) > expected_loss(LOW, 30, PRICING)


def test_loss_follows_the_formula() -> None:
    """Slower next order plus churn: margin * (G - 1) + s * uplift * value."""
    pricing = PRICING
    gap = math.exp(2.0 * pricing.lateness_coef * math.log1p(30))
    expected = (
        HIGH.margin_in(DEFAULT_LOCALE) * (gap - 1)
        + 2.0 * pricing.churn_uplift * HIGH.value
    )
    assert expected_loss(HIGH, 30, pricing) == pytest.approx(expected)


def _day(
    n: int = 12, seed: int = 3, *, soft: bool = False
) -> tuple[Problem, dict[str, CustomerValue]]:
    """One van, ``n`` stops that all promise 09:00-09:40: not all can be on time.

    Every other customer is valuable and sensitive. ``soft``: the windows may
    be missed (at a price set later), else they are hard.
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
                lateness_cost=0.0 if soft else None,
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
    costs = order_costs(problem, customers, PRICING)
    assert costs["o0"].lateness_cost > 10 * costs["o1"].lateness_cost
    assert costs["o0"].penalty > costs["o1"].penalty
    capped = order_costs(
        problem, customers, PRICING.model_copy(update={"max_per_minute": 100.0})
    )
    assert max(c.lateness_cost for c in capped.values()) == 100.0


def test_apply_costs_copies_the_problem() -> None:
    """Costs land on the jobs of a copy; the original is untouched."""
    problem, customers = _day(4, soft=True)
    costs = order_costs(problem, customers, PRICING)
    priced = apply_costs(problem, costs)
    assert all(j.lateness_cost == 0.0 for j in problem.jobs)
    for job in priced.jobs:
        assert job.lateness_cost == costs[job.id].lateness_cost > 0
        assert job.penalty == max(
            costs[job.id].penalty, problem.drop_penalty(problem.jobs[0])
        )


def test_a_promised_window_stays_hard_and_no_penalty_falls() -> None:
    """Pricing never softens a hard window nor lowers the order's own penalty."""
    problem, customers = _day(4)
    problem = problem.model_copy(
        update={
            "jobs": tuple(
                j.model_copy(update={"penalty": 1_000_000.0 if i == 0 else 10.0})
                for i, j in enumerate(problem.jobs)
            )
        }
    )
    costs = order_costs(problem, customers, PRICING)
    priced = apply_costs(problem, costs)
    assert all(j.lateness_cost is None for j in priced.jobs)
    assert priced.jobs[0].penalty == 1_000_000.0  # the shop's own, higher
    assert priced.jobs[1].penalty == costs["o1"].penalty > 10.0


def test_costly_customers_get_a_planning_buffer_and_the_promise_stays() -> None:
    """A valuable or recently let-down customer is planned ahead of the window.

    The buffer follows the loss of a ``risk_minutes`` delay; it never takes
    more than a quarter of the window; its minutes are priced; the window is
    unchanged, so the plan is a feasible plan of the original day; the
    valuable customers are reached before their buffer when the day allows.
    """
    problem, customers = _day(8)
    customers["c1"] = LOW.model_copy(update={"recent_late": 2})
    costs = order_costs(problem, customers, PRICING)
    assert costs["o0"].buffer == 30 * 60  # valuable and sensitive
    assert costs["o1"].buffer > 0  # a third late delivery in a row loses them
    assert costs["o3"].buffer == 0  # an ordinary low-value customer
    planning = with_buffers(apply_costs(problem, costs), buffers_of(costs), costs)
    jobs = {j.id: j for j in planning.jobs}
    assert jobs["o0"].buffer == 10 * 60  # a quarter of 40 minutes
    assert jobs["o0"].soft_end == 9 * 3600 + 30 * 60
    assert jobs["o0"].buffer_cost == pytest.approx(costs["o0"].risk / 10, abs=0.01)
    assert jobs["o3"].buffer == 0 and jobs["o3"].soft_end is None
    assert all(
        a.time_windows == b.time_windows
        for a, b in zip(problem.jobs, planning.jobs, strict=True)
    )
    plan = solve(planning, travel=TRAVEL, params=SolveParams(time_limit=1.0))
    assert check(planning, plan, TRAVEL).ok
    assert check(problem, plan, TRAVEL).ok


def test_recent_lateness_raises_the_churn_price() -> None:
    """The second and third recent late delivery are priced as the fit says."""
    effect = _effect()
    effect = ExperienceEffect(
        names=effect.names,
        coef=effect.coef,
        se=effect.se,
        n_spells=effect.n_spells,
        n_events=effect.n_events,
        n_customers=effect.n_customers,
        day_effects=True,
        iterations=1,
        churn_names=("constant", "late", "late_2nd_recent", "late_3rd_recent"),
        churn_coef=np.array([-6.0, 1.6, 2.5, 1.5]),
        churn_se=np.array([0.2, 0.3, 0.3, 0.3]),
    )
    pricing = LatenessPricing.from_effect(effect)
    p0 = 1 / (1 + math.exp(6.0))
    expected = [1 / (1 + math.exp(-v)) - p0 for v in (-4.4, -1.9, -0.4)]
    assert pricing.churn_uplifts == pytest.approx(expected)
    assert pricing.uplift(0) == pricing.churn_uplift
    assert pricing.uplift(7) == pricing.churn_uplifts[-1]
    losses = [
        expected_loss(LOW.model_copy(update={"recent_late": k}), 20, pricing)
        for k in range(3)
    ]
    assert losses == sorted(losses) and losses[2] > 5 * losses[0]


def test_recent_late_counts_reads_the_last_orders_before_the_day() -> None:
    """Late deliveries among the last four orders within 60 days, before the day."""
    import datetime as dt

    import pandas as pd

    day = dt.date(2025, 3, 1)
    rows = [
        ("a", day - dt.timedelta(days=d), late)
        for d, late in ((1, 10), (5, 0), (20, 3), (59, 8), (61, 30))
    ]
    rows += [("b", day - dt.timedelta(days=d), 5) for d in (1, 2, 3, 4, 5, 6)]
    rows += [("c", day, 40), ("d", day - dt.timedelta(days=3), 0)]
    history = pd.DataFrame(
        rows, columns=["customer_id", "delivery_date", "minutes_late"]
    )
    counts = recent_late_counts(history, day)
    # a: 10, 3 and 8 (day 61 is too old); b: only its last four; c: the day
    # itself is not before it; d: never late.
    assert counts == {"a": 3, "b": 4}


def _lost(plan: Plan, customers: dict[str, CustomerValue]) -> tuple[float, int, int]:
    """Expected lost value, on-time valuable stops, on-time other stops."""
    lost, high, low = 0.0, 0, 0
    for route in plan.routes:
        for s in route.steps:
            if s.type != StepType.JOB or s.id is None:
                continue
            who = customers[f"c{s.id[1:]}"]
            lost += expected_loss(who, math.ceil(s.late / 60), PRICING)
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
    problem, customers = _day(soft=True)
    weighted = order_costs(problem, customers, PRICING)
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


def _effect(
    late: float = -0.12,
    failed: float = -0.08,
    g0: float = -6.0,
    g_late: float = 1.6,
    se: float = 0.02,
) -> ExperienceEffect:
    """A fitted effect as :func:`tracking.retention.experience_effect` returns."""
    return ExperienceEffect(
        names=("log1p_late", "log1p_early", "failed_attempts"),
        coef=np.array([late, 0.01, failed]),
        se=np.array([se, se, 2 * se]),
        n_spells=5_000,
        n_events=4_000,
        n_customers=900,
        day_effects=True,
        iterations=12,
        churn_names=("constant", "late", "failed_attempts"),
        churn_coef=np.array([g0, g_late, 0.3]),
        churn_se=np.array([0.2, 0.3, 0.4]),
    )


def test_from_effect_reads_the_fitted_coefficients() -> None:
    """Lateness and failure are the negated hazard coefficients; churn uplift
    is the logistic of (constant + late) minus that of the constant."""
    pricing = LatenessPricing.from_effect(_effect(), max_per_minute=900.0)
    assert pricing.lateness_coef == pytest.approx(0.12)
    assert pricing.failure_coef == pytest.approx(0.08)
    p0, p1 = 1 / (1 + math.exp(6.0)), 1 / (1 + math.exp(6.0 - 1.6))
    assert pricing.churn_uplift == pytest.approx(p1 - p0)
    assert pricing.max_per_minute == 900.0
    lateness = pricing.intervals["lateness_coef"]
    assert lateness.se == pytest.approx(0.02)
    assert lateness.low < 0.12 < lateness.high
    assert pricing.intervals["failure_coef"].se == pytest.approx(0.04)
    churn = pricing.intervals["churn_uplift"]
    assert churn.low < pricing.churn_uplift < churn.high


def test_from_effect_without_a_covariate_prices_nothing_for_it() -> None:
    """A covariate the fit left out, or one of the wrong sign, costs nothing."""
    effect = _effect(late=0.05)
    no_churn = ExperienceEffect(
        names=("log1p_late",),
        coef=np.array([-0.1]),
        se=np.array([0.01]),
        n_spells=1,
        n_events=1,
        n_customers=1,
        day_effects=True,
        iterations=1,
    )
    assert LatenessPricing.from_effect(effect).lateness_coef == 0.0
    bare = LatenessPricing.from_effect(no_churn)
    assert (bare.failure_coef, bare.churn_uplift) == (0.0, 0.0)
    assert set(bare.intervals) == {"lateness_coef"}


def test_uniform_pricing_is_the_plain_window_penalty() -> None:
    """Without a fit, lateness costs nothing and a drop its margin + handling."""
    problem, customers = _day(4)
    pricing = LatenessPricing.uniform()
    costs = order_costs(problem, customers, pricing)
    for order in problem.orders:
        who = customers[order.customer_id or ""]
        assert costs[order.id].lateness_cost == 0.0
        assert costs[order.id].penalty == pytest.approx(
            who.margin_in(DEFAULT_LOCALE) + pricing.redelivery_cost_in(DEFAULT_LOCALE)
        )


def test_pricing_needs_its_coefficients() -> None:
    """No silent default: a pricing without coefficients is an error."""
    with pytest.raises(ValueError, match="lateness_coef"):
        LatenessPricing()  # type: ignore[call-arg]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    late=st.floats(-1.0, 1.0),
    failed=st.floats(-1.0, 1.0),
    g0=st.floats(-10.0, 3.0),
    g_late=st.floats(-5.0, 5.0),
    value=st.floats(0.0, 5_000_000.0),
    sensitivity=st.floats(0.0, 3.0),
    minutes=st.lists(st.floats(0.0, 2_000.0), min_size=2, max_size=6),
)
def test_fitted_pricing_is_non_negative_and_monotone(
    late: float,
    failed: float,
    g0: float,
    g_late: float,
    value: float,
    sensitivity: float,
    minutes: list[float],
) -> None:
    """Whatever the fit, its coefficients are >= 0 and a later delivery never
    costs less."""
    pricing = LatenessPricing.from_effect(
        _effect(late=late, failed=failed, g0=g0, g_late=g_late)
    )
    assert min(pricing.lateness_coef, pricing.failure_coef) >= 0.0
    assert 0.0 <= pricing.churn_uplift <= 1.0
    who = CustomerValue(value=value, sensitivity=sensitivity)
    losses = [expected_loss(who, m, pricing) for m in sorted(minutes)]
    assert all(b >= a for a, b in itertools.pairwise(losses))
    assert losses[0] >= 0.0
