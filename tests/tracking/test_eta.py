"""Live ETAs: exactness without noise, purity, narrowing windows, baseline."""

from __future__ import annotations

import random

import pytest

from routing.model import Problem, TimeWindow
from routing.plan import Plan, Step, StepType
from scenarios.execution import DayExecution, ExecutionSettings, execute_day
from tests.tracking.conftest import TRAVEL
from tracking.correction import Correction
from tracking.eta import (
    LegTimes,
    eta,
    naive_eta,
    progress_of,
    route_eta,
    service_opening,
    windows_of,
)
from tracking.events import Position, ShiftStarted, StopDeparted
from tracking.learn import ExecutedDay, fit_correction

CERTAIN = Correction(leg_cv=0.0, service_cv=0.0)


def _arrivals(run: DayExecution) -> dict[str, int]:
    return {s.order_id: s.arrival for s in run.stops}


@pytest.fixture(scope="module")
def learned(line_day: tuple[Problem, Plan]) -> Correction:
    """A correction fitted on four other noisy executions of the line day."""
    problem, plan = line_day
    days = [
        ExecutedDay(
            plan, execute_day(problem, plan, TRAVEL, seed=100 + k).events, problem
        )
        for k in range(4)
    ]
    return fit_correction(days, TRAVEL, every=120)


@pytest.mark.parametrize("minutes_after_start", [0, 5, 12, 20, 31, 37])
def test_exact_day_is_predicted_exactly(
    line_day: tuple[Problem, Plan], exact_run: DayExecution, minutes_after_start: int
) -> None:
    """Without deviations or uncertainty, every ETA is the real arrival."""
    problem, plan = line_day
    now = plan.routes[0].start + 60 * minutes_after_start
    got = eta(plan, exact_run.events, TRAVEL, now, CERTAIN, problem=problem)
    actual = _arrivals(exact_run)
    assert got
    for oid, e in got.items():
        assert abs(e.point - actual[oid]) <= 2, oid


def test_eta_is_a_pure_function(
    line_day: tuple[Problem, Plan], noisy_run: DayExecution, learned: Correction
) -> None:
    """Same inputs, same ETAs; event order and events after now do not matter."""
    problem, plan = line_day
    now = plan.routes[0].start + 1500
    first = eta(plan, noisy_run.events, TRAVEL, now, learned, problem=problem)
    shuffled = list(noisy_run.events)
    random.Random(1).shuffle(shuffled)
    again = eta(plan, shuffled, LegTimes(TRAVEL), now, learned, problem=problem)
    past = [e for e in noisy_run.events if e.at <= now]
    only_past = eta(plan, past, TRAVEL, now, learned, problem=problem)
    assert first == again == only_past
    assert first


def test_not_dispatched_route_has_no_eta(line_day: tuple[Problem, Plan]) -> None:
    """Before the shift starts there are no live ETAs."""
    _, plan = line_day
    assert eta(plan, [], TRAVEL, 30_000) == {}
    started = [ShiftStarted(id="s", at=30_000, vehicle="v1")]
    assert set(eta(plan, started, TRAVEL, 30_000)) == set(plan.routes[0].order_ids)


def test_finished_route_has_no_eta(
    line_day: tuple[Problem, Plan], noisy_run: DayExecution
) -> None:
    """After the van is back at the depot nothing is left to predict."""
    _, plan = line_day
    end = max(e.at for e in noisy_run.events)
    assert eta(plan, noisy_run.events, TRAVEL, end + 60) == {}


def test_delivered_orders_drop_out(
    line_day: tuple[Problem, Plan], noisy_run: DayExecution
) -> None:
    """Only orders not yet served get an ETA; the stop the van is at is a fact."""
    problem, plan = line_day
    third = next(s for s in noisy_run.stops if s.position == 2)
    now = third.arrival + 30
    got = eta(plan, noisy_run.events, TRAVEL, now, problem=problem)
    done = {s.order_id for s in noisy_run.stops if s.departure <= now}
    assert not (set(got) & done)
    here = got[third.order_id]
    assert here.arrived and here.point == here.p10 == here.p90 == third.arrival


@pytest.mark.parametrize("use_learned", [False, True])
def test_window_narrows_as_the_stop_approaches(
    line_day: tuple[Problem, Plan],
    noisy_run: DayExecution,
    learned: Correction,
    use_learned: bool,
) -> None:
    """The last stop's P10-P90 window narrows as its predicted arrival nears.

    The width depends on how far ahead the arrival is predicted, so it only
    grows again when the van falls behind.
    """
    problem, plan = line_day
    correction = learned if use_learned else Correction()
    last = max(noisy_run.stops, key=lambda s: s.position)
    start = plan.routes[0].start
    widths: list[tuple[int, int]] = []
    for now in range(start, last.arrival, 120):
        e = route_eta(
            plan.routes[0],
            noisy_run.events,
            TRAVEL,
            now,
            correction,
            windows=windows_of(problem),
        )[last.order_id]
        assert e.p10 <= e.point <= e.p90
        assert e.p10 >= now
        widths.append((e.horizon, e.width))
    assert widths[-1][1] < widths[0][1] / 2
    near = [w for h, w in widths if h <= 600]
    far = [w for h, w in widths if h >= 1800]
    assert near and far
    assert max(near) < min(far)


def test_delay_moves_every_later_eta(line_day: tuple[Problem, Plan]) -> None:
    """A van stuck on the road pushes the ETAs of all its later stops."""
    problem, plan = line_day
    stuck = ExecutionSettings(
        travel_sigma=0.0,
        peak_extra=0.0,
        service_sigma=0.0,
        failure_rate=0.0,
        incident_share=1.0,
        incident_minutes=(40.0, 40.0),
        ping_interval=60,
    )
    run = execute_day(problem, plan, TRAVEL, settings=stuck, seed=5)
    (incident,) = run.incidents
    before = incident.start - 60
    during = incident.start + 30 * 60
    early = eta(plan, run.events, TRAVEL, before, CERTAIN, problem=problem)
    late = eta(plan, run.events, TRAVEL, during, CERTAIN, problem=problem)
    later = set(early) & set(late)
    assert later
    actual = _arrivals(run)
    for oid in later:
        assert late[oid].point > early[oid].point
        assert abs(late[oid].point - actual[oid]) < abs(early[oid].point - actual[oid])


def test_pings_are_read_newest_first(line_day: tuple[Problem, Plan]) -> None:
    """An older ping listed after a newer one does not move the van back."""
    _, plan = line_day
    route = plan.routes[0]
    t0 = route.start
    events = [
        ShiftStarted(id="s", at=t0, vehicle="v1"),
        StopDeparted(id="d", at=t0, vehicle="v1"),
        Position(id="p2", at=t0 + 300, vehicle="v1", lat=37.5, lon=127.010),
        Position(id="p1", at=t0 + 120, vehicle="v1", lat=37.5, lon=127.002),
    ]
    progress = progress_of(route, events, t0 + 400)
    assert progress.ping == (37.5, 127.010, t0 + 300)


def test_naive_eta_shifts_the_plan_by_the_delay(line_day: tuple[Problem, Plan]) -> None:
    """The baseline adds the current delay to every planned arrival."""
    _, plan = line_day
    route = plan.routes[0]
    late_start = route.start + 600
    events = [
        ShiftStarted(id="s", at=route.start, vehicle="v1"),
        StopDeparted(id="d", at=late_start, vehicle="v1"),
    ]
    got = naive_eta(plan, events, late_start + 60)
    planned = {s.id: s.arrival for s in route.steps if s.id is not None}
    assert {oid: e.point - planned[oid] for oid, e in got.items()} == dict.fromkeys(
        planned, 600
    )


def _step(arrival: int, service_start: int) -> Step:
    return Step(
        type=StepType.JOB,
        id="o",
        arrival=arrival,
        waiting_time=service_start - arrival,
        service_start=service_start,
        departure=service_start + 60,
    )


@pytest.mark.parametrize(
    ("ready", "windows", "expected"),
    [
        (30_000, [(36_000, 39_600)], 36_000),  # early: wait for the window
        (37_000, [(36_000, 39_600)], 37_000),  # inside: serve at once
        (40_000, [(36_000, 39_600)], 40_000),  # late: serve at once
        (40_000, [(36_000, 39_600), (61_200, 64_800)], 40_000),  # never the next one
        (30_000, None, 36_000),  # no windows given: where the plan waited
    ],
)
def test_service_opening(
    ready: int, windows: list[tuple[int, int]] | None, expected: int
) -> None:
    """Service starts when the window the plan chose opens, never later."""
    step = _step(35_000, 36_000)
    given = (
        None
        if windows is None
        else {("o", "job"): [TimeWindow(start=a, end=b) for a, b in windows]}
    )
    assert service_opening(step, ready, given) == expected


def test_standstill_on_the_road_is_noticed(line_day: tuple[Problem, Plan]) -> None:
    """Pings at one place between two stops count as standing still."""
    _, plan = line_day
    route = plan.routes[0]
    t0 = route.start
    events = [
        ShiftStarted(id="s", at=t0, vehicle="v1"),
        StopDeparted(id="d", at=t0, vehicle="v1"),
        Position(id="p1", at=t0 + 60, vehicle="v1", lat=37.5, lon=127.004),
        Position(id="p2", at=t0 + 120, vehicle="v1", lat=37.5, lon=127.004),
        Position(id="p3", at=t0 + 180, vehicle="v1", lat=37.5, lon=127.004),
    ]
    progress = progress_of(route, events, t0 + 200)
    assert (progress.halted, progress.still_since) == (120, t0 + 60)
    moving = progress_of(
        route,
        [*events, Position(id="p4", at=t0 + 240, vehicle="v1", lat=37.5, lon=127.006)],
        t0 + 250,
    )
    assert (moving.halted, moving.still_since) == (120, None)
    long_stop = Correction(halts=(1_800.0,), leg_cv=0.0, service_cv=0.0)
    short_stop = Correction(halts=(300.0,), leg_cv=0.0, service_cv=0.0)
    first = route.order_ids[0]
    late = route_eta(route, events, TRAVEL, t0 + 200, long_stop)[first].point
    early = route_eta(route, events, TRAVEL, t0 + 200, short_stop)[first].point
    assert late - early > 1_000


def test_leg_times_start_bands_on_the_wall_clock_of_a_change_day() -> None:
    """On US spring-forward day a leg leaving at 07:30 on the wall (6.5 h
    elapsed) is priced in the rush hour that starts at 07:00; on an ordinary
    day and without a problem the same elapsed time is still before it.
    Both days share one cache and band k costs the same on each."""
    import datetime as dt

    from routing.locale import Locale
    from routing.model import Depot, Location, Vehicle
    from routing.travel import HaversineTravel
    from routing.units import HOUR
    from tracking.eta import LegTimes

    travel = HaversineTravel(bands=((0, 7, 30.0), (7, 10, 12.0), (10, 24, 25.0)))
    ny = Locale(timezone="America/New_York", currency="USD", country="US")

    def day(when: dt.date) -> Problem:
        depot = Depot(id="d", location=Location(lat=40.7, lon=-74.0))
        van = Vehicle(id="v", start="d", end="d", capacity=(1,), shift=(0, 20 * HOUR))
        return Problem(date=when, locale=ny, depots=(depot,), vehicles=(van,))

    legs = LegTimes(travel)
    a, b = (40.70, -74.00), (40.75, -73.95)
    depart = 6 * HOUR + 1800
    before_rush = legs.seconds(a, b, depart)
    spring = legs.on_day(day(dt.date(2026, 3, 8)))
    ordinary = legs.on_day(day(dt.date(2026, 3, 10)))
    assert ordinary is legs
    assert spring.seconds(a, b, depart) == pytest.approx(
        before_rush * 30.0 / 12.0, rel=0.01
    )
    assert legs.seconds(a, b, depart) == before_rush
    assert spring.seconds(a, b, 8 * HOUR) == legs.seconds(a, b, 8 * HOUR)
