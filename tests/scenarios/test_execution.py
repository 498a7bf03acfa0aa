"""Executing plans with deviations, and the ETA benchmark built on it."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from datetime import date

import pytest

from routing.model import Location, Problem
from routing.plan import Plan
from routing.solver import SolveParams, solve
from routing.travel import HaversineTravel
from scenarios.bench.eta import EtaBenchConfig, run_eta_bench, summary_rows
from scenarios.city import build_city, day_problem
from scenarios.execution import DayExecution, ExecutionSettings, execute_day
from tracking.eta import LegTimes
from tracking.events import (
    Delivered,
    FailedAttempt,
    Position,
    ShiftEnded,
    ShiftStarted,
    StopArrived,
    StopDeparted,
)
from tracking.status import OrderState
from tracking.tracker import Tracker

TRAVEL = HaversineTravel()
QUIET = ExecutionSettings(
    travel_sigma=0.0,
    peak_extra=0.0,
    service_sigma=0.0,
    failure_rate=0.0,
    incident_share=0.0,
)


@pytest.fixture(scope="module")
def city_day() -> tuple[Problem, Plan]:
    """Forty orders of a small city, planned with a short search."""
    city = build_city(seed=5, n_customers=800, end=date(2024, 3, 31))
    problem = day_problem(city, date(2024, 4, 2), n_orders=40, seed=5)
    plan = solve(problem, travel=TRAVEL, params=SolveParams(time_limit=1.0))
    return problem, plan


@pytest.fixture(scope="module")
def run(city_day: tuple[Problem, Plan]) -> DayExecution:
    """The day executed with the default (benchmark) deviations."""
    problem, plan = city_day
    return execute_day(problem, plan, TRAVEL, seed=1)


def test_defaults_are_the_benchmark_settings() -> None:
    """The default deviations are the ones the ETA benchmark fixes."""
    s = ExecutionSettings()
    assert (s.travel_sigma, s.peak_extra, s.service_sigma) == (0.25, 0.20, 0.4)
    assert (s.failure_rate, s.incident_share, s.incident_minutes) == (
        0.05,
        0.10,
        (15.0, 45.0),
    )
    assert s.peak_hours == ((7, 9), (17, 20))
    assert s.in_peak(8 * 3600 + 59 * 60) and not s.in_peak(9 * 3600)
    assert s.in_peak(17 * 3600) and not s.in_peak(20 * 3600)


def test_same_seed_same_day(city_day: tuple[Problem, Plan], run: DayExecution) -> None:
    """A seed fixes the executed day; another seed gives another one."""
    problem, plan = city_day
    assert execute_day(problem, plan, TRAVEL, seed=1) == run
    assert execute_day(problem, plan, TRAVEL, seed=2).stops != run.stops


def test_events_are_ordered_and_complete(
    city_day: tuple[Problem, Plan], run: DayExecution
) -> None:
    """Events come in time order with unique ids and every stop is reported."""
    _, plan = city_day
    assert [e.at for e in run.events] == sorted(e.at for e in run.events)
    assert len({e.id for e in run.events}) == len(run.events)
    kinds = Counter(type(e) for e in run.events)
    routes = len(plan.routes)
    assert kinds[ShiftStarted] == kinds[ShiftEnded] == routes
    served = sum(len(r.order_ids) for r in plan.routes)
    assert kinds[StopArrived] == kinds[StopDeparted] == served + routes
    assert kinds[Delivered] + kinds[FailedAttempt] == served
    assert len(run.stops) == served


def test_pings_follow_the_van(
    city_day: tuple[Problem, Plan], run: DayExecution
) -> None:
    """Pings come every interval and sit on the stop while the van serves it."""
    interval = ExecutionSettings().ping_interval
    stop = run.stops[0]
    pings = [e for e in run.vehicle_events(stop.vehicle) if isinstance(e, Position)]
    gaps = {b.at - a.at for a, b in itertools.pairwise(pings)}
    assert gaps == {interval}
    during = [p for p in pings if stop.arrival <= p.at <= stop.departure]
    for p in during:
        assert (p.lat, p.lon) == pytest.approx(
            (stop.location.lat, stop.location.lon), abs=1e-9
        )


def test_quiet_execution_is_the_plan(city_day: tuple[Problem, Plan]) -> None:
    """Without deviations every arrival and service start is the planned one."""
    problem, plan = city_day
    quiet = execute_day(problem, plan, TRAVEL, settings=QUIET, seed=0)
    for s in quiet.stops:
        assert s.arrival == s.planned_arrival
        assert s.service_start == s.planned_service_start
        assert not s.failed


def _latlon(loc: Location | None) -> tuple[float, float]:
    assert loc is not None and loc.lat is not None and loc.lon is not None
    return (loc.lat, loc.lon)


def test_peak_legs_take_longer(city_day: tuple[Problem, Plan]) -> None:
    """With only the peak effect, a leg leaving in a peak takes 20 % longer."""
    problem, plan = city_day
    settings = QUIET.model_copy(update={"peak_hours": ((0, 24),), "peak_extra": 0.2})
    peak = execute_day(problem, plan, TRAVEL, settings=settings, seed=0)
    legs = LegTimes(TRAVEL)
    arrivals = {s.order_id: s.arrival for s in peak.stops}
    for route in plan.routes:
        start, first = route.steps[0], route.steps[1]
        assert first.id is not None
        base = legs.seconds(
            _latlon(start.location), _latlon(first.location), route.start
        )
        assert arrivals[first.id] - route.start == round(base * 1.2)


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_failure_rate_is_obeyed(city_day: tuple[Problem, Plan], rate: float) -> None:
    """No attempt fails at rate 0; every one fails at rate 1, with a reason."""
    problem, plan = city_day
    settings = ExecutionSettings(failure_rate=rate)
    done = execute_day(problem, plan, TRAVEL, settings=settings, seed=4)
    assert all(s.failed is (rate == 1.0) for s in done.stops)
    assert all((s.reason is not None) is s.failed for s in done.stops)


def test_incidents_stop_the_van(city_day: tuple[Problem, Plan]) -> None:
    """With every route hit, each van stands still once for 15-45 minutes."""
    problem, plan = city_day
    settings = QUIET.model_copy(update={"incident_share": 1.0, "ping_interval": 60})
    done = execute_day(problem, plan, TRAVEL, settings=settings, seed=6)
    assert {i.vehicle for i in done.incidents} == {r.vehicle for r in plan.routes}
    for incident in done.incidents:
        assert 15.0 <= incident.minutes <= 45.0
        pings = [
            e
            for e in done.vehicle_events(incident.vehicle)
            if isinstance(e, Position)
            and incident.start <= e.at <= incident.start + 60 * incident.minutes
        ]
        assert len({(p.lat, p.lon) for p in pings}) == 1


def test_tracker_follows_an_executed_day(
    city_day: tuple[Problem, Plan], run: DayExecution
) -> None:
    """Every executed stop ends delivered or failed in the tracker."""
    _, plan = city_day
    tracker = Tracker()
    tracker.register_plan(plan, at=-3600)
    result = tracker.ingest(run.events)
    assert not result.rejected
    for s in run.stops:
        status = tracker.status(s.order_id)
        assert status is not None
        assert status.state is (
            OrderState.FAILED_ATTEMPT if s.failed else OrderState.DELIVERED
        )


def test_eta_bench_runs_small() -> None:
    """A three-day miniature benchmark scores day 3 against the baseline."""
    config = EtaBenchConfig(
        days=3, n_orders=40, n_customers=400, time_limit=1.0, replay_every=900
    )
    lines: list[str] = []
    result = run_eta_bench(config, on_day=lines.append)
    assert len(lines) == 3
    assert list(result["days"]) == ["2026-01-07"]
    for h in ("120", "60", "15"):
        row = result["horizons"][h]
        assert row["n"] > 0
        assert 0.0 <= row["coverage"] <= 1.0
        assert math.isfinite(row["mae_ours"]) and math.isfinite(row["mae_naive"])
    assert len(summary_rows(result)) == 3
