"""Default amounts are sized in driver-hours for the problem's currency."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from routing.locale import DEFAULT_LOCALE, DRIVER_HOUR_COST, Locale
from routing.model import Costs, Depot, Job, Location, Problem, Vehicle
from routing.reoptimise import StabilityCost
from routing.solver import SolveParams, solve
from routing.travel import HaversineTravel
from tracking.feedback import CustomerValue, LatenessPricing
from tracking.retention import ORDER_VALUE_HOURS, basket_or_default

SMALL = Path(__file__).resolve().parents[2] / "docs" / "examples" / "small_problem.json"
USD = Locale(timezone="America/New_York", currency="USD", country="US")
JPY = Locale(timezone="Asia/Tokyo", currency="JPY", country="JP")
KWD = Locale(timezone="Asia/Kuwait", currency="KWD", country="KW")


def _defaults(locale: Locale) -> dict[str, object]:
    """Every default amount a caller gets without naming one."""
    problem = Problem(
        locale=locale,
        depots=[Depot(id="d", location=Location(lat=0.0, lon=0.0))],
        vehicles=[],
        jobs=[
            Job(id="a", location=Location(lat=0.0, lon=0.01), demand=(1,)),
            Job(id="b", location=Location(lat=0.0, lon=0.01), demand=(1,), priority=2),
        ],
    )
    stability = StabilityCost()
    pricing = LatenessPricing.uniform(locale=locale)
    return {
        "drop": problem.drop_penalty(problem.jobs[0]),
        "drop_priority_2": problem.drop_penalty(problem.jobs[1]),
        "basket": basket_or_default(None, locale),
        "margin": CustomerValue(value=0.0).margin_in(locale),
        "reassign": stability.reassign_in(locale),
        "eta_per_minute": stability.eta_per_minute_in(locale),
        "late_committed": stability.late_committed_in(locale),
        "max_per_minute": pricing.max_per_minute,
        "redelivery": pricing.redelivery_cost,
        "buffers": pricing.buffers,
    }


def test_won_defaults_are_the_original_numbers() -> None:
    """KRW at 20,000 a driver-hour keeps every amount the service had."""
    assert _defaults(DEFAULT_LOCALE) == {
        "drop": 100_000.0,
        "drop_priority_2": 300_000.0,
        "basket": 35_000.0,
        "margin": 8_750.0,
        "reassign": 5_000.0,
        "eta_per_minute": 100.0,
        "late_committed": 1_000.0,
        "max_per_minute": 5_000.0,
        "redelivery": 3_000.0,
        "buffers": ((5_000.0, 15.0), (15_000.0, 30.0)),
    }


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            USD,  # 25 USD a driver-hour, cents
            {
                "drop": 125.0,
                "drop_priority_2": 375.0,
                "basket": 43.75,
                "margin": 10.94,
                "reassign": 6.25,
                "eta_per_minute": 0.12,
                "late_committed": 1.25,
                "max_per_minute": 6.25,
                "redelivery": 3.75,
                "buffers": ((6.25, 15.0), (18.75, 30.0)),
            },
        ),
        (
            JPY,  # 2,000 JPY, no decimals
            {
                "drop": 10_000.0,
                "drop_priority_2": 30_000.0,
                "basket": 3_500.0,
                "margin": 875.0,
                "reassign": 500.0,
                "eta_per_minute": 10.0,
                "late_committed": 100.0,
                "max_per_minute": 500.0,
                "redelivery": 300.0,
                "buffers": ((500.0, 15.0), (1_500.0, 30.0)),
            },
        ),
        (
            KWD,  # 3.5 KWD, three decimals
            {
                "drop": 17.5,
                "drop_priority_2": 52.5,
                "basket": 6.125,
                "margin": 1.531,
                "reassign": 0.875,
                "eta_per_minute": 0.018,
                "late_committed": 0.175,
                "max_per_minute": 0.875,
                "redelivery": 0.525,
                "buffers": ((0.875, 15.0), (2.625, 30.0)),
            },
        ),
    ],
    ids=["USD", "JPY", "KWD"],
)
def test_defaults_are_sized_for_the_currency(
    locale: Locale, expected: dict[str, object]
) -> None:
    """A dollar shop gets a 125 USD drop penalty, not 100,000 USD; each
    amount is rounded to the currency's minor unit."""
    assert _defaults(locale) == expected


def test_a_shop_sets_its_own_driver_hour() -> None:
    """``hour_cost`` overrides the table, and every default follows it."""
    dear = USD.model_copy(update={"hour_cost": 40.0})
    assert dear.driver_hour == 40.0 and dear.amount(5.0) == 200.0
    assert basket_or_default(None, dear) == 40.0 * ORDER_VALUE_HOURS
    assert basket_or_default(12.5, dear) == 12.5  # a given amount is kept


def test_a_currency_without_a_driver_hour_needs_hour_cost() -> None:
    """BHD is a real currency the table leaves out: the locale names the
    field to give, and with it the locale works."""
    assert "BHD" not in DRIVER_HOUR_COST
    with pytest.raises(ValidationError) as caught:
        Locale(timezone="Asia/Bahrain", currency="BHD", country="BH")
    (error,) = caught.value.errors()
    assert error["loc"] == ("hour_cost",)
    assert "BHD has no default driver-hour cost: give hour_cost" in error["msg"]
    bhd = Locale(timezone="Asia/Bahrain", currency="BHD", country="BH", hour_cost=3)
    assert bhd.amount(5.0) == 15.0


@pytest.mark.parametrize("bad", [0.0, 0.4, -1.0, float("inf"), float("nan")])
def test_a_driver_hour_is_positive_and_finite(bad: float) -> None:
    with pytest.raises(ValidationError) as caught:
        Locale(currency="USD", hour_cost=bad)
    assert caught.value.errors()[0]["loc"] == ("hour_cost",)


def test_stored_problems_without_hour_cost_still_load() -> None:
    """A problem stored before hour_cost existed reads with the table's."""
    data = json.loads(SMALL.read_text())
    data["locale"] = {
        "timezone": "America/New_York",
        "currency": "USD",
        "country": "US",
    }
    problem = Problem.model_validate(data)
    assert problem.locale.hour_cost is None
    assert problem.base_drop_penalty == 125.0


@seed(21)
@settings(max_examples=60, deadline=None)
@given(
    currency=st.sampled_from(sorted(DRIVER_HOUR_COST)),
    priority=st.integers(min_value=0, max_value=100),
)
def test_priorities_rank_the_same_in_every_currency(
    currency: str, priority: int
) -> None:
    """A priority-p order costs 1 + p base penalties whatever the currency,
    so the engines' relative penalties rank orders the same."""
    locale = Locale(currency=currency)
    job = Job(
        id="a", location=Location(lat=0.0, lon=0.0), demand=(1,), priority=priority
    )
    base = locale.amount(5.0)
    assert job.drop_penalty_in(locale) == pytest.approx(base * (1 + priority))
    assert base == pytest.approx(5.0 * DRIVER_HOUR_COST[currency], abs=0.01)


def _day(locale: Locale, per_krw: float) -> Problem:
    """Two vans, five near stops and one far one; van costs in KRW times
    ``per_krw``. The far stop costs more to serve than 5 driver-hours, so
    it is dropped, whatever the currency, when penalties follow it."""
    near = [(0.004 * k, 0.003 * (k % 2)) for k in range(1, 6)]
    jobs = [
        Job(id=f"n{k}", location=Location(lat=lat, lon=lon), demand=(1,))
        for k, (lat, lon) in enumerate(near, start=1)
    ]
    jobs.append(Job(id="far", location=Location(lat=0.18, lon=0.0), demand=(1,)))
    costs = Costs(
        fixed=40_000.0 * per_krw, per_km=4_000.0 * per_krw, per_hour=18_000.0 * per_krw
    )
    return Problem(
        locale=locale,
        depots=[Depot(id="d", location=Location(lat=0.0, lon=0.0))],
        vehicles=[
            Vehicle(
                id=f"v{i}",
                start="d",
                end="d",
                capacity=(4,),
                shift=(8 * 3600, 20 * 3600),
                costs=costs,
            )
            for i in (1, 2)
        ],
        jobs=jobs,
    )


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_a_dollar_day_is_planned_like_the_same_won_day(engine: str) -> None:
    """The same day priced in USD (vans at USD rates, no explicit penalties)
    serves and drops the same orders on the same routes as in KRW: the
    defaults and the engines' integer pricing scale with the currency."""
    params = SolveParams(engine=engine, time_limit=5.0, iterations=200, seed=3)  # type: ignore[arg-type]
    travel = HaversineTravel()
    won = solve(_day(DEFAULT_LOCALE, 1.0), travel=travel, params=params)
    dollars = solve(_day(USD, 25.0 / 20_000.0), travel=travel, params=params)

    def routes(plan: object) -> set[tuple[str | None, ...]]:
        return {tuple(s.id for s in r.steps if s.id) for r in plan.routes}  # type: ignore[attr-defined]

    assert [u.id for u in won.unassigned] == ["far"]
    assert [u.id for u in dollars.unassigned] == ["far"]
    assert [u.penalty for u in dollars.unassigned] == [125.0]
    assert routes(dollars) == routes(won)
    assert dollars.summary.cost == pytest.approx(
        won.summary.cost * 25.0 / 20_000.0, abs=0.01
    )
