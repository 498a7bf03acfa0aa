"""Delivery outcomes per order and the metrics built from them."""

from __future__ import annotations

import pytest

from routing.model import Handling, Problem, TimeWindow
from routing.plan import Plan
from scenarios.execution import DayExecution, ExecutionSettings, execute_day
from scenarios.sensors import Warmup, readings
from tests.tracking.conftest import TRAVEL, line_problem, plan_in_order
from tracking.outcomes import (
    delivery_outcomes,
    minutes_late,
    outcomes_frame,
    performance,
)

W = (TimeWindow(start=36_000, end=43_200),)
TWO = (TimeWindow(start=32_400, end=36_000), TimeWindow(start=61_200, end=64_800))


@pytest.mark.parametrize(
    ("start", "windows", "expected"),
    [
        (40_000, W, 0),  # inside
        (30_000, W, 0),  # early is not late
        (43_200, W, 0),  # the end is inclusive
        (43_201, W, 1),  # one second late is a minute
        (45_000, W, 30),
        (40_000, TWO, 67),  # between two windows: late against the first
        (70_000, TWO, 87),
        (50_000, (), 0),  # no promise, never late
    ],
)
def test_minutes_late(
    start: int, windows: tuple[TimeWindow, ...], expected: int
) -> None:
    """Lateness counts whole minutes past the window the arrival missed."""
    assert minutes_late(start, windows) == expected


@pytest.fixture(scope="module")
def failing_run(line_day: tuple[Problem, Plan]) -> DayExecution:
    """The line day with a failed attempt on about half of the stops."""
    problem, plan = line_day
    return execute_day(
        problem, plan, TRAVEL, settings=ExecutionSettings(failure_rate=0.5), seed=8
    )


def test_outcomes_match_what_happened(
    line_day: tuple[Problem, Plan], failing_run: DayExecution
) -> None:
    """Attempts, reasons, times and lateness agree with the executed stops."""
    problem, plan = line_day
    outcomes = {
        o.order_id: o for o in delivery_outcomes(problem, plan, failing_run.events)
    }
    assert set(outcomes) == {j.id for j in problem.jobs}
    assert any(s.failed for s in failing_run.stops)
    for stop in failing_run.stops:
        o = outcomes[stop.order_id]
        assert o.vehicle == "v1"
        assert o.planned_eta == stop.planned_arrival
        assert (o.arrival, o.service_start, o.completed_at) == (
            stop.arrival,
            stop.service_start,
            stop.departure,
        )
        assert o.delivered is not stop.failed
        assert o.attempts == 1
        assert o.failure_reasons == ((stop.reason,) if stop.failed else ())
        windows = problem.jobs[int(stop.order_id[1:])].time_windows
        expected = 0 if stop.failed else minutes_late(stop.service_start, windows)
        assert o.minutes_late == expected


def test_an_exchange_is_delivered_and_collected_or_neither() -> None:
    """An exchange is one visit: served, its new item is delivered and its
    old one collected; a failed attempt does neither. A plain delivery
    never collects."""
    line = line_problem()
    jobs = tuple(
        job.model_validate(job.model_dump() | {"type": "exchange", "collect": (2,)})
        if k % 2 == 0
        else job
        for k, job in enumerate(line.jobs)
    )
    problem = line.model_copy(update={"jobs": jobs})
    plan = plan_in_order(problem)
    run = execute_day(
        problem, plan, TRAVEL, settings=ExecutionSettings(failure_rate=0.5), seed=8
    )
    outcomes = {o.order_id: o for o in delivery_outcomes(problem, plan, run.events)}
    stops = {s.order_id: s for s in run.stops}
    kinds = {j.id: j.type for j in problem.jobs}
    assert any(stops[o].failed for o, k in kinds.items() if k == "exchange")
    assert any(not stops[o].failed for o, k in kinds.items() if k == "exchange")
    for oid, kind in kinds.items():
        served = not stops[oid].failed
        assert outcomes[oid].delivered is served
        assert outcomes[oid].collected is (served and kind == "exchange")


def test_eta_errors_at_each_horizon(
    line_day: tuple[Problem, Plan], noisy_run: DayExecution
) -> None:
    """ETA errors are measured where the route was dispatched at that lead time."""
    problem, plan = line_day
    outcomes = delivery_outcomes(
        problem, plan, noisy_run.events, travel=TRAVEL, horizons=(60, 15)
    )
    start = plan.routes[0].start
    for o in outcomes:
        assert o.arrival is not None
        measured = {c.horizon for c in o.eta}
        for h in (60, 15):
            assert (h in measured) is (o.arrival - 60 * h >= start)
        for c in o.eta:
            assert c.width >= 0
    assert any(o.eta_error(15) is not None for o in outcomes)


def test_baseline_replay(
    line_day: tuple[Problem, Plan], noisy_run: DayExecution
) -> None:
    """The naive baseline can be replayed the same way, without a travel model."""
    problem, plan = line_day
    naive = delivery_outcomes(problem, plan, noisy_run.events, baseline=True)
    assert all(c.width == 0 for o in naive for c in o.eta)
    assert any(o.eta for o in naive)


@pytest.mark.parametrize("by", ["day", "zone", "vehicle"])
def test_performance_tables(
    line_day: tuple[Problem, Plan], failing_run: DayExecution, by: str
) -> None:
    """On-time, failed-attempt rates and ETA accuracy come per day, zone, vehicle."""
    problem, plan = line_day
    outcomes = delivery_outcomes(problem, plan, failing_run.events, travel=TRAVEL)
    table = performance(outcomes, by=by)
    assert table["orders"].sum() == len(problem.jobs)
    assert table["failed_attempt_rate"].between(0, 1).all()
    assert table["on_time_rate"].between(0, 1).all()
    assert "eta_mae_15" in table and "eta_coverage_60" in table
    frame = outcomes_frame(outcomes)
    fails = sum(s.failed for s in failing_run.stops)
    assert int(frame["failed_attempt"].sum()) == fails


def test_performance_rejects_unknown_grouping() -> None:
    """Grouping by anything but day, zone or vehicle is an error."""
    with pytest.raises(ValueError, match="by must be"):
        performance([], by="colour")


def test_outcome_records_the_excursion_of_a_cold_chain_order(
    line_day: tuple[Problem, Plan], exact_run: DayExecution
) -> None:
    """A warm-up while the van carries a cold-chain order is on its outcome,
    with start, end, peak and limit; orders without limits have none."""
    problem, plan = line_day
    cold = problem.jobs[-1].model_copy(
        update={"handling": Handling(requirement="cold_chain")}
    )
    problem = problem.model_copy(update={"jobs": (*problem.jobs[:-1], cold)})
    first = exact_run.events[0].at
    last_stop = max(s.departure for s in exact_run.stops)
    warmup = Warmup(at=first + 600, duration=1200, rise=6.0)
    sensors = readings("v1", first, last_stop, seed=2, excursion=warmup)
    outcomes = {
        o.order_id: o
        for o in delivery_outcomes(problem, plan, [*exact_run.events, *sensors])
    }
    (excursion,) = outcomes[cold.id].excursions
    assert (
        warmup.at
        <= excursion.start
        < excursion.end
        <= warmup.at + warmup.duration + 120
    )  # type: ignore[operator]
    assert excursion.limit == 4.0 and excursion.side == "above"
    assert excursion.peak == max(r.value for r in sensors)
    assert all(not o.excursions for k, o in outcomes.items() if k != cold.id)
