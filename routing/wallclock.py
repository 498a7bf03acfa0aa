"""Clock readings to elapsed time: a problem on the day the clocks change.

People (and the service's stored fleet and orders) write times of day as
clock readings: a shift 06:00-14:00 starts when the clock on the wall says
06:00. A :class:`routing.model.Problem` counts elapsed seconds since local
midnight (:mod:`routing.units`), the two being the same number except after
a clock change on its day. :func:`from_wall_clock` converts every time of day
of a problem written as readings; on the ~363 days without a change it
returns the problem unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from routing.model import (
    Break,
    Job,
    Problem,
    Shipment,
    ShipmentStep,
    TimeWindow,
    Vehicle,
)
from routing.units import changes_clock, clock, wall_clock, wall_to_elapsed

__all__ = ["changes_clock", "from_wall_clock", "shown_as"]


def shown_as(problem: Problem) -> Callable[[int], str]:
    """How a time of day of ``problem`` is shown to people: the wall clock
    ``HH:MM`` of its date and zone (:func:`routing.units.wall_clock`), or
    plain ``HH:MM`` of the seconds when it has no date. The two agree on
    the ~363 days without a clock change."""
    day, tz = problem.date, problem.locale.zone
    if day is None:
        return clock
    return lambda seconds: wall_clock(seconds, day, tz)


def from_wall_clock(problem: Problem, *, orders: bool = True) -> Problem:
    """``problem`` with its times of day read as clock readings converted to
    elapsed seconds (:func:`routing.units.wall_to_elapsed`): vehicle shifts
    and break windows, and with ``orders`` job and shipment windows too.

    Durations (service, setup, ``max_duration``, break lengths, buffers)
    stay: they are real already. A problem without a ``date``, or whose day
    has no clock change, is returned as it is. The service converts only
    the fleet (``orders=False``): a van's shift recurs every day as a clock
    reading, while an order's windows belong to its day already.

    This is for readings written as integers: ``"HH:MM"`` strings in a
    problem with a ``date`` are read as readings of that day when it is
    validated (:func:`routing.model.clock_readings`), so such a problem
    holds elapsed seconds already and must not be converted again.
    """
    day, tz = problem.date, problem.locale.zone
    if day is None or not changes_clock(day, tz):
        return problem

    def at(seconds: int) -> int:
        return wall_to_elapsed(seconds, day, tz)

    def windows(ws: tuple[TimeWindow, ...]) -> tuple[TimeWindow, ...]:
        return tuple(TimeWindow(start=at(w.start), end=at(w.end)) for w in ws)

    return problem.model_copy(
        update={
            "vehicles": tuple(_vehicle(v, at, windows) for v in problem.vehicles),
            **(
                {
                    "jobs": tuple(_job(j, windows) for j in problem.jobs),
                    "shipments": tuple(
                        _shipment(s, windows) for s in problem.shipments
                    ),
                }
                if orders
                else {}
            ),
        }
    )


Windows = Callable[[tuple[TimeWindow, ...]], tuple[TimeWindow, ...]]


def _vehicle(v: Vehicle, at: Callable[[int], int], windows: Windows) -> Vehicle:
    breaks = tuple(
        Break(id=b.id, time_windows=windows(b.time_windows), service=b.service)
        for b in v.breaks
    )
    shift = TimeWindow(start=at(v.shift.start), end=at(v.shift.end))
    return v.model_copy(update={"shift": shift, "breaks": breaks})


def _job(job: Job, windows: Windows) -> Job:
    return job.model_copy(update={"time_windows": windows(job.time_windows)})


def _shipment(s: Shipment, windows: Windows) -> Shipment:
    def step(st: ShipmentStep) -> ShipmentStep:
        return st.model_copy(update={"time_windows": windows(st.time_windows)})

    return s.model_copy(update={"pickup": step(s.pickup), "delivery": step(s.delivery)})
