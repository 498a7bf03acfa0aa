"""Sweep intervals: bootstrap, within each KPI's bounds, absent when too few days."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from scenarios.run import DayKpis
from scenarios.spec import Scenario
from scenarios.sweep import (
    KPI_BOUNDS,
    KPIS,
    MIN_REPLICATIONS,
    SweepResult,
    bootstrap_interval,
    comparison,
    summarise,
)

RATE = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
MINUTES = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)


@seed(18)
@settings(max_examples=200, deadline=None)
@given(
    values=st.one_of(
        st.lists(RATE, min_size=MIN_REPLICATIONS, max_size=40),
        st.lists(MINUTES, min_size=MIN_REPLICATIONS, max_size=40),
    )
)
def test_interval_stays_in_the_values_range_and_holds_the_mean(
    values: list[float],
) -> None:
    """Any days: the interval lies within their range and contains their mean."""
    got = bootstrap_interval(values)
    assert got is not None
    low, high = got
    mean = sum(values) / len(values)
    assert min(values) <= low <= high <= max(values)
    assert low <= mean * (1 + 1e-12) + 1e-12
    assert high >= mean * (1 - 1e-12) - 1e-12


@seed(18)
@settings(max_examples=50, deadline=None)
@given(values=st.lists(RATE, min_size=0, max_size=MIN_REPLICATIONS - 1))
def test_too_few_days_have_no_interval(values: list[float]) -> None:
    """Below the minimum there is no interval, whatever the values."""
    assert bootstrap_interval(values) is None


def test_same_days_same_interval() -> None:
    """Seeded: the same values give the same interval; another seed may not."""
    values = [0.91, 0.97, 0.88, 1.0, 0.94, 0.9]
    assert bootstrap_interval(values) == bootstrap_interval(values)
    assert bootstrap_interval(values, seed=1) == bootstrap_interval(values, seed=1)


def test_rates_near_one_stay_below_one() -> None:
    """The case users saw ([0.86, 1.08] under Student t) stays within [0, 1]."""
    values = [1.0, 1.0, 1.0, 0.78, 1.0, 0.95]
    low, high = bootstrap_interval(values) or (None, None)
    assert low is not None and high is not None
    assert 0.78 <= low < high <= 1.0


def _day(replication: int, on_time: float, late: float, failed: int) -> DayKpis:
    return DayKpis(
        day=dt.date(2025, 11, 18),
        orders=100,
        served=100,
        unassigned=0,
        delivered=100 - failed,
        failed_attempts=failed,
        cost=2_000_000.0,
        cost_per_order=20_000.0 + replication,
        km=600.0,
        vehicles_used=8,
        night_vehicles_used=0,
        vehicles_available=10,
        on_time_rate=on_time,
        late_orders=3,
        late_minutes_p50=late / 2,
        late_minutes_p95=late,
        driver_hours=70.0,
        solve_seconds=0.1,
    )


def _result(first: list[DayKpis], second: list[DayKpis]) -> SweepResult:
    base = Scenario(name="a", orders=100, replications=len(first))
    other = Scenario(name="b", orders=100, replications=len(second))
    return SweepResult(scenarios=(base, other), days=(tuple(first), tuple(second)))


@seed(18)
@settings(max_examples=40, deadline=None)
@given(
    days=st.lists(
        st.tuples(
            RATE, RATE, MINUTES, MINUTES, st.integers(0, 100), st.integers(0, 100)
        ),
        min_size=MIN_REPLICATIONS,
        max_size=12,
    )
)
def test_summary_levels_in_bounds_and_paired_differences(
    days: list[tuple[float, float, float, float, int, int]],
) -> None:
    """Every KPI's mean and interval lie in its bounds; differences are paired."""
    first = [_day(r, a, la, fa) for r, (a, _, la, _, fa, _) in enumerate(days)]
    second = [_day(r, b, lb, fb) for r, (_, b, _, lb, _, fb) in enumerate(days)]
    levels, differences = summarise(_result(first, second))
    for level in levels:
        for kpi, e in level.items():
            lower, upper = KPI_BOUNDS[kpi]
            if e.mean is None:
                continue
            assert e.low is not None and e.high is not None, kpi
            assert lower <= e.low <= e.mean <= e.high <= upper, kpi
    paired = [b - a for (a, b, *_) in days]
    diff = differences[1]["on_time_rate"]
    assert diff.mean == pytest.approx(sum(paired) / len(paired))
    assert diff.low is not None and diff.high is not None
    assert min(paired) - 1e-12 <= diff.low <= diff.high <= max(paired) + 1e-12
    # Identical days: the difference is exactly zero with a zero-width interval.
    same = differences[0]["late_minutes_p95"]
    assert (same.mean, same.low, same.high) == (0.0, 0.0, 0.0)


def test_few_replications_say_why() -> None:
    """Four days each: means, but no interval, and the reason in the JSON."""
    first = [_day(r, 0.9, 10.0, 2) for r in range(4)]
    second = [_day(r, 0.8, 20.0, 3) for r in range(4)]
    got = comparison(_result(first, second))
    est = got.scenarios[1].kpis["on_time_rate"]
    assert est.mean == pytest.approx(0.8)
    assert est.low is None and est.high is None
    assert (
        est.reason == f"4 replications; an interval needs at least {MIN_REPLICATIONS}"
    )
    diff = got.scenarios[1].difference["late_minutes_p95"]
    assert diff.mean == pytest.approx(10.0) and diff.low is None
    assert got.min_replications == MIN_REPLICATIONS
    assert got.bounds["on_time_rate"] == (0.0, 1.0)
    assert got.bounds["km"] == (0.0, None)
    # Checkout KPIs: no day quoted slots, so nothing was measured.
    assert got.scenarios[0].kpis["first_choice_rate"].reason == (
        "no replication measured it"
    )
    assert set(got.scenarios[0].kpis) == set(KPIS)
