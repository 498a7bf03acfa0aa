"""Executing a plan: what really happens on the road, as tracking events.

:func:`execute_day` drives every route of a :class:`~routing.plan.Plan` leg by
leg with a seeded :class:`numpy.random.Generator` and deviations the plan does
not know about (:class:`ExecutionSettings`):

* each leg takes the travel model's time (priced in the band of its actual
  departure) times ``LogNormal(0, travel_sigma)``, and ``1 + peak_extra`` more
  when it starts inside ``peak_hours``;
* a stop's service takes the planned service times ``LogNormal(0,
  service_sigma)``; a failed attempt (probability ``failure_rate``) takes
  ``failed_service_share`` of it and has a reason code;
* on a share ``incident_share`` of the routes the van stops once, somewhere
  along a random leg, for ``Uniform(incident_minutes)`` minutes;
* the van leaves the depot at the planned time; at a stop it waits for the
  window the plan chose to open, and when late it serves at once
  (:func:`tracking.eta.service_opening`).

It emits the events a tracker would receive, in time order: ``shift_start``,
``stop_departed``/``stop_arrived`` (the depot has ``order_id=None``),
``delivered`` (with a recipient or a photo as proof) or ``failed_attempt``, a
``position`` ping every ``ping_interval`` seconds from the shift start to
the return (interpolated along legs, still during stops and incidents), and
``shift_end``. Times are seconds since local midnight of the plan's day.

The same seed gives the same day; the executor is meant to be reused by the
scenario simulator.
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from pydantic import Field

from routing.base import FrozenModel
from routing.model import Location, Problem
from routing.plan import Plan, Route, Step, StepType
from routing.travel import TravelModel
from routing.units import DAY, HOUR, MINUTE
from tracking.eta import LegTimes, WindowsByStop, service_opening, windows_of
from tracking.events import (
    Delivered,
    Event,
    FailedAttempt,
    FailureReason,
    Position,
    Proof,
    ShiftEnded,
    ShiftStarted,
    StopArrived,
    StopDeparted,
    event_sort_key,
)

__all__ = [
    "FAILURE_REASON_SHARES",
    "DayExecution",
    "ExecutionSettings",
    "StopRecord",
    "execute_day",
]

#: How often each reason code is drawn for a failed attempt.
FAILURE_REASON_SHARES: Mapping[FailureReason, float] = {
    FailureReason.NOT_HOME: 0.60,
    FailureReason.ACCESS_DENIED: 0.15,
    FailureReason.ADDRESS_PROBLEM: 0.10,
    FailureReason.REFUSED: 0.10,
    FailureReason.DAMAGED: 0.05,
}


class ExecutionSettings(FrozenModel):
    """How execution deviates from the plan (defaults: the ETA benchmark's).

    Parameters
    ----------
    travel_sigma
        Log-sd of the per-leg travel-time noise (median 1).
    peak_extra
        Extra share of travel time on legs that start inside ``peak_hours``;
        the planner's travel model is not told about it.
    peak_hours
        ``(from_hour, to_hour)`` pairs, ``[from, to)`` in local hours of the
        leg's departure.
    service_sigma
        Log-sd of the service-time noise (median 1).
    service_factor
        Every stop's service time x this (e.g. snow on the doorstep); the
        planner's service times are not told.
    failure_rate
        Chance that an attempt at a stop fails.
    failed_service_share
        Share of the (noisy) service time a failed attempt takes.
    incident_share
        Share of routes with one incident that stops the van.
    incident_minutes
        ``(low, high)`` of the uniform incident length in minutes.
    ping_interval
        Seconds between position pings.
    """

    travel_sigma: float = Field(default=0.25, ge=0.0)
    peak_extra: float = Field(default=0.20, ge=0.0)
    peak_hours: tuple[tuple[int, int], ...] = ((7, 9), (17, 20))
    service_sigma: float = Field(default=0.4, ge=0.0)
    service_factor: float = Field(default=1.0, gt=0.0, le=5.0)
    failure_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    failed_service_share: float = Field(default=0.5, gt=0.0, le=1.0)
    incident_share: float = Field(default=0.10, ge=0.0, le=1.0)
    incident_minutes: tuple[float, float] = (15.0, 45.0)
    ping_interval: int = Field(default=180, ge=10)

    def in_peak(self, depart: int) -> bool:
        """Whether a leg leaving at ``depart`` (seconds) starts in a peak."""
        hour = (depart % DAY) // HOUR
        return any(lo <= hour < hi for lo, hi in self.peak_hours)


@dataclass(frozen=True)
class StopRecord:
    """What happened at one stop (times in seconds since local midnight).

    ``order_id`` is the job or shipment id; ``kind`` the plan step type.
    """

    vehicle: str
    order_id: str
    kind: str
    position: int
    location: Location
    planned_arrival: int
    planned_service_start: int
    arrival: int
    service_start: int
    departure: int
    failed: bool
    reason: FailureReason | None = None


@dataclass(frozen=True)
class Incident:
    """A stop on the road: ``minutes`` long from ``start`` on leg ``leg``."""

    vehicle: str
    leg: int
    start: int
    minutes: float


@dataclass(frozen=True)
class DayExecution:
    """The executed day: events in time order, stop records and incidents."""

    events: tuple[Event, ...]
    stops: tuple[StopRecord, ...]
    incidents: tuple[Incident, ...]
    _by_vehicle: dict[str, tuple[Event, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def vehicle_events(self, vehicle: str) -> tuple[Event, ...]:
        """One van's events (its own and its orders'), in time order."""
        if not self._by_vehicle:
            grouped: dict[str, list[Event]] = {}
            for e in self.events:
                key = getattr(e, "vehicle", None)
                if key is not None:
                    grouped.setdefault(key, []).append(e)
            self._by_vehicle.update({k: tuple(v) for k, v in grouped.items()})
        return self._by_vehicle.get(vehicle, ())

    def actual_arrivals(self) -> dict[str, int]:
        """``{order_id: arrival}`` of every executed stop (the last visit)."""
        return {s.order_id: s.arrival for s in self.stops}


@dataclass
class _Track:
    """A van's movement, piecewise linear in time, for position pings."""

    times: list[int] = field(default_factory=list)
    points: list[tuple[float, float]] = field(default_factory=list)

    def add(self, t: int, where: tuple[float, float]) -> None:
        if self.times and t < self.times[-1]:
            t = self.times[-1]
        self.times.append(t)
        self.points.append(where)

    def at(self, t: int) -> tuple[float, float]:
        k = bisect.bisect_right(self.times, t)
        if k == 0:
            return self.points[0]
        if k >= len(self.times):
            return self.points[-1]
        t0, t1 = self.times[k - 1], self.times[k]
        (a0, b0), (a1, b1) = self.points[k - 1], self.points[k]
        if t1 <= t0:
            return (a1, b1)
        f = (t - t0) / (t1 - t0)
        return (a0 + f * (a1 - a0), b0 + f * (b1 - b0))


def _latlon(loc: Location | None) -> tuple[float, float]:
    if loc is None or loc.lat is None or loc.lon is None:
        raise ValueError("execution needs lat/lon on every step location")
    return (loc.lat, loc.lon)


def execute_day(
    problem: Problem,
    plan: Plan,
    travel: TravelModel | LegTimes,
    *,
    settings: ExecutionSettings | None = None,
    seed: int = 0,
) -> DayExecution:
    """Drive every route of ``plan`` with noise, failures and incidents.

    Parameters
    ----------
    problem
        The problem the plan answers (for the time windows).
    plan
        Routes to execute; every step needs a location with lat/lon.
    travel
        The travel model the planner used; the executed legs take its time
        times the deviations of ``settings``.
    settings
        Deviations (default :class:`ExecutionSettings`).
    seed
        Seed of the day's randomness.

    Returns
    -------
    DayExecution
        Events in time order, one record per executed stop, the incidents.
    """
    settings = settings or ExecutionSettings()
    legs = travel if isinstance(travel, LegTimes) else LegTimes(travel)
    windows = windows_of(problem)
    rng = np.random.default_rng(seed)
    events: list[Event] = []
    stops: list[StopRecord] = []
    incidents: list[Incident] = []
    for route in plan.routes:
        driver = _Driver(route, legs, windows, settings, rng, seed)
        driver.drive()
        events += driver.events
        stops += driver.records
        if driver.incident is not None:
            incidents.append(driver.incident)
    events.sort(key=event_sort_key)
    return DayExecution(
        events=tuple(events), stops=tuple(stops), incidents=tuple(incidents)
    )


class _Driver:
    """One van's day: drives the route and writes its events."""

    def __init__(
        self,
        route: Route,
        legs: LegTimes,
        windows: WindowsByStop,
        settings: ExecutionSettings,
        rng: np.random.Generator,
        seed: int = 0,
    ) -> None:
        self.route = route
        self.seed = seed
        self.vid = route.vehicle
        self.legs = legs
        self.windows = windows
        self.settings = settings
        self.rng = rng
        self.events: list[Event] = []
        self.records: list[StopRecord] = []
        self.incident: Incident | None = None
        self.track = _Track()
        self._seq = 0
        self._reasons = list(FAILURE_REASON_SHARES)
        shares = np.array(list(FAILURE_REASON_SHARES.values()), dtype=np.float64)
        self._shares = shares / shares.sum()

    def _id(self) -> str:
        self._seq += 1
        return f"{self.vid}:{self._seq:05d}"

    def drive(self) -> None:
        """Execute the whole route."""
        settings, rng, vid = self.settings, self.rng, self.vid
        steps = self.route.steps
        incident_leg, incident_at, incident_len = self._draw_incident()
        here = _latlon(steps[0].location)
        t = steps[0].departure
        self.track.add(t, here)
        self.events.append(ShiftStarted(id=self._id(), at=t, vehicle=vid))
        self.events.append(StopDeparted(id=self._id(), at=t, vehicle=vid))
        position = 0
        for k, step in enumerate(steps[1:], start=1):
            if step.type == StepType.BREAK:
                t += step.service
                self.track.add(t, here)
                continue
            there = _latlon(step.location)
            factor = float(np.exp(rng.normal(0.0, settings.travel_sigma)))
            if settings.in_peak(t):
                factor *= 1.0 + settings.peak_extra
            drive = round(self.legs.seconds(here, there, t) * factor)
            if k == incident_leg:
                halt = t + round(incident_at * drive)
                mid = (
                    here[0] + incident_at * (there[0] - here[0]),
                    here[1] + incident_at * (there[1] - here[1]),
                )
                self.track.add(halt, mid)
                self.track.add(halt + incident_len, mid)
                self.incident = Incident(vid, k, halt, incident_len / MINUTE)
                drive += incident_len
            arrival = t + drive
            self.track.add(arrival, there)
            here = there
            if step.type == StepType.END:
                self.events.append(StopArrived(id=self._id(), at=arrival, vehicle=vid))
                self.events.append(ShiftEnded(id=self._id(), at=arrival, vehicle=vid))
                t = arrival
                break
            self.events.append(
                StopArrived(id=self._id(), at=arrival, vehicle=vid, order_id=step.id)
            )
            t = self._serve(step, arrival, position)
            position += 1
            self.track.add(t, here)
        self._ping(steps[0].departure, t)

    def _draw_incident(self) -> tuple[int | None, float, int]:
        """The leg an incident hits (if any), where on it and its seconds."""
        settings, rng, steps = self.settings, self.rng, self.route.steps
        moves = [k for k, s in enumerate(steps) if k > 0 and s.location is not None]
        if moves and rng.random() < settings.incident_share:
            incident_leg = moves[int(rng.integers(len(moves)))]
            incident_at = float(rng.random())
            lo, hi = settings.incident_minutes
            return incident_leg, incident_at, round(rng.uniform(lo, hi) * MINUTE)
        return None, 0.0, 0

    def _ping(self, first: int, last: int) -> None:
        """Position pings from ``first`` to ``last`` along the track."""
        ping, vid = first, self.vid
        while ping <= last:
            lat, lon = self.track.at(ping)
            self.events.append(
                Position(
                    id=f"{vid}:ping:{ping}", at=ping, vehicle=vid, lat=lat, lon=lon
                )
            )
            ping += self.settings.ping_interval

    def _serve(self, step: Step, arrival: int, position: int) -> int:
        """Serve one stop; write its events and record; return the departure."""
        assert step.id is not None and step.location is not None
        settings, rng, vid = self.settings, self.rng, self.vid
        ready = arrival + step.setup
        service_start = service_opening(step, ready, self.windows)
        noise = float(np.exp(rng.normal(0.0, settings.service_sigma)))
        service = step.service * settings.service_factor * noise
        # Whether the customer is in is the order's own draw, not the van's:
        # two plans of the same day meet the same doors (common random
        # numbers), so comparing them measures the plans, not the luck.
        door = np.random.default_rng(
            [self.seed, zlib.crc32(f"{step.id}:{step.type}".encode())]
        )
        failed = bool(door.random() < settings.failure_rate)
        reason: FailureReason | None = None
        if failed:
            reason = self._reasons[int(door.choice(len(self._reasons), p=self._shares))]
            service *= settings.failed_service_share
        departure = service_start + round(service)
        final = step.type != StepType.PICKUP  # a shipment's pickup is not handed over
        if failed and reason is not None:
            self.events.append(
                FailedAttempt(
                    id=self._id(),
                    at=departure,
                    vehicle=vid,
                    order_id=step.id,
                    reason=reason,
                )
            )
        elif final:
            proof = (
                Proof(recipient="customer")
                if rng.random() < 0.5
                else Proof(photo=f"photo/{step.id}.jpg")
            )
            self.events.append(
                Delivered(
                    id=self._id(),
                    at=departure,
                    vehicle=vid,
                    order_id=step.id,
                    proof=proof,
                )
            )
        self.events.append(
            StopDeparted(id=self._id(), at=departure, vehicle=vid, order_id=step.id)
        )
        self.records.append(
            StopRecord(
                vehicle=vid,
                order_id=step.id,
                kind=step.type.value,
                position=position,
                location=step.location,
                planned_arrival=step.arrival,
                planned_service_start=step.service_start,
                arrival=arrival,
                service_start=service_start,
                departure=departure,
                failed=failed,
                reason=reason,
            )
        )
        return departure
