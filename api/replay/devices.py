"""Simulated vans: the truth of the road, told to the service as events.

Each :class:`Van` drives the route it was given, from where it is, in
simulated time, and writes the events its device would send
(``shift_start``, ``stop_departed``/``stop_arrived``, ``delivered`` or
``failed_attempt``, ``position`` pings, ``shift_end``). The truth is drawn
as in :mod:`scenarios.execution`: each leg takes the travel model's time
(here with the zone slowdowns the planner was not told of) times
``LogNormal(0, travel_sigma)``, each service the planned service times
``LogNormal(0, service_sigma)``. Door failures are decided by the replay's
schedule. A van is advanced slice by slice (:meth:`Van.advance`) and can be
handed a new route at any time (:meth:`Van.follow`): it finishes the stop it
is driving to or serving, then follows the new route.

Nothing here talks to the service; the replay sends the events.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from routing.model import Location, Problem
from routing.plan import Route, StepType
from routing.units import MINUTE
from tracking.eta import LegTimes
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
)

__all__ = ["DeviceSettings", "Stop", "Van", "VanState", "Visit"]

Point = tuple[float, float]


@dataclass(frozen=True)
class DeviceSettings:
    """How the road deviates from the plan, and how often vans ping."""

    travel_sigma: float = 0.25
    service_sigma: float = 0.4
    failed_service_share: float = 0.5
    ping_interval: int = 180


@dataclass(frozen=True)
class Stop:
    """One stop of a van's route: an order, a break (no place) or the end."""

    kind: str  # a plan StepType value
    order_id: str | None
    location: Point | None
    setup: int = 0
    service: int = 0
    windows: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Visit:
    """What happened at an order's stop (the truth, for scoring)."""

    order_id: str
    vehicle: str
    arrival: int
    departure: int
    failed: bool
    reason: FailureReason | None


class VanState(StrEnum):
    WAITING = "waiting"  # at its depot, not started
    DRIVING = "driving"
    SERVING = "serving"
    DONE = "done"
    BROKEN = "broken"


@dataclass
class _Track:
    times: list[int] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)

    def add(self, t: int, where: Point) -> None:
        if self.times and t < self.times[-1]:
            t = self.times[-1]
        self.times.append(t)
        self.points.append(where)

    def at(self, t: int) -> Point:
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


def _point(loc: Location | None) -> Point | None:
    if loc is None or loc.lat is None or loc.lon is None:
        return None
    return (loc.lat, loc.lon)


def stops_of(route: Route, problem: Problem) -> list[Stop]:
    """A plan route's stops after its start (orders, breaks, the end)."""
    windows = {
        j.id: tuple((w.start, w.end) for w in j.time_windows) for j in problem.jobs
    }
    out = []
    for step in route.steps[1:]:
        out.append(
            Stop(
                kind=step.type.value,
                order_id=step.id if step.type != StepType.END else None,
                location=_point(step.location),
                setup=step.setup,
                service=step.service,
                windows=windows.get(step.id or "", ()),
            )
        )
    return out


class Van:
    """One van and its device.

    Parameters
    ----------
    vehicle
        The van's id.
    home, end
        Where it starts and where its day ends (depot positions).
    start_at
        When it leaves its depot (the plan's departure, plus any delay).
    stops
        Its route after the start.
    legs
        Travel times of the road (the truth, slowdowns included).
    settings
        Noise and ping interval.
    rng
        The van's own generator (its draws do not depend on other vans).
    fails
        Whether the attempt at an order fails (and why), asked on arrival.
    cancelled
        Whether an order was called off (it is passed without a stop).
    """

    def __init__(
        self,
        vehicle: str,
        *,
        home: Point,
        end: Point,
        start_at: int,
        stops: list[Stop],
        legs: LegTimes,
        settings: DeviceSettings,
        rng: np.random.Generator,
        fails: Callable[[str], FailureReason | None],
        cancelled: Callable[[str], bool],
    ) -> None:
        self.vehicle = vehicle
        self.here = home
        self.end = end
        self.start_at = start_at
        self.earliest_start = start_at
        self.stops = list(stops)
        self.legs = legs
        self.settings = settings
        self.rng = rng
        self.fails = fails
        self.cancelled = cancelled
        self.state = VanState.WAITING
        self.target: Stop | None = None
        self.until = 0  # arrival (driving) or departure (serving)
        self.completed: list[str] = []  # orders finished (delivered or failed)
        self.on_board: list[str] = []  # shipments picked up, not yet delivered
        self.visits: list[Visit] = []
        self.events: list[Event] = []
        self.track = _Track()
        self.next_ping: int | None = None
        self.last_ping: tuple[Point, int] | None = None
        self._arrived = 0
        self._seq = 0

    # -- what the dispatcher sees ------------------------------------------------

    @property
    def started(self) -> bool:
        return self.state is not VanState.WAITING

    @property
    def next_order(self) -> str | None:
        """The order the van is driving to or serving (committed)."""
        busy = self.state in (VanState.DRIVING, VanState.SERVING)
        if busy and self.target and self.target.kind in ("job", "pickup", "delivery"):
            return self.target.order_id
        return None

    def reported(self, now: int) -> tuple[Point, int]:
        """Where the service last heard the van was, and when."""
        if self.state is VanState.SERVING and self.target and self.target.location:
            return self.target.location, now
        if self.last_ping is not None:
            return self.last_ping
        return self.here, now

    def open_orders(self) -> list[str]:
        """Orders still ahead of the van (its target included)."""
        ahead = [s.order_id for s in self.stops if s.order_id and s.kind != "break"]
        nxt = self.next_order
        return ([nxt] if nxt else []) + [o for o in ahead if o]

    # -- orders from the dispatcher --------------------------------------------

    def follow(self, stops: list[Stop] | None, start_at: int | None, now: int) -> None:
        """Take a new route: ``stops`` after the current target (None: go home).

        A van that is back (or was never used) and gets orders again leaves
        from where it is at ``start_at``, not before ``now``.
        """
        if self.state is VanState.BROKEN:
            return
        if self.state is VanState.DONE:
            if not stops or not any(s.order_id and s.kind != "break" for s in stops):
                return
            self.state = VanState.WAITING
            self.earliest_start = max(self.earliest_start, now)
            self.start_at = self.earliest_start
        if stops is None:
            if self.state is VanState.WAITING:
                self.state = VanState.DONE
                self.stops = []
                return
            self.stops = [Stop(kind="end", order_id=None, location=self.end)]
            return
        nxt = self.next_order
        done = set(self.completed)
        carried = set(self.on_board)
        # A shipment on board keeps its delivery; only its pickup is behind.
        self.stops = [
            s
            for s in stops
            if s.kind == "break"
            or s.order_id is None
            or not (
                s.order_id in done
                or s.order_id == nxt
                or (s.order_id in carried and s.kind == "pickup")
            )
        ]
        if self.state is VanState.WAITING and start_at is not None:
            self.start_at = max(start_at, self.earliest_start)

    def delay_start(self, minutes: int) -> None:
        """The driver is ``minutes`` late: the van cannot leave before then."""
        self.earliest_start = self.start_at + minutes * MINUTE
        self.start_at = self.earliest_start

    def break_down(self, at: int) -> None:
        """The van stops where it is at ``at`` and goes no further."""
        if self.state in (VanState.DONE, VanState.BROKEN, VanState.WAITING):
            return
        self._ping_until(at)
        self.here = self.track.at(at)
        self.state = VanState.BROKEN
        self.target = None
        self.stops = []

    # -- driving ----------------------------------------------------------------

    def _id(self) -> str:
        self._seq += 1
        return f"{self.vehicle}:{self._seq:05d}"

    def _leg(self, t: int) -> None:
        """Leave ``here`` at ``t`` for the next stop (breaks are taken here)."""
        while self.stops:
            stop = self.stops.pop(0)
            if stop.kind == "break":
                t += stop.service
                self.track.add(t, self.here)
                continue
            if stop.order_id is not None and self.cancelled(stop.order_id):
                continue
            there = stop.location or self.end
            factor = float(np.exp(self.rng.normal(0.0, self.settings.travel_sigma)))
            drive = round(self.legs.seconds(self.here, there, t) * factor)
            self.target = stop
            self.state = VanState.DRIVING
            self.until = t + drive
            self.track.add(t, self.here)
            self.track.add(self.until, there)
            return
        # Nothing left: home.
        self.stops = [Stop(kind="end", order_id=None, location=self.end)]
        self._leg(t)

    def _service_start(self, stop: Stop, ready: int) -> int:
        for start, end in stop.windows:
            if ready <= end:
                return max(ready, start)
        return ready

    def advance(self, until: int) -> None:
        """Drive up to ``until``; new events go to :attr:`events`."""
        while True:
            if self.state is VanState.WAITING:
                if self.start_at > until:
                    break
                t = self.start_at
                self.track.add(t, self.here)
                self.next_ping = t
                self.events.append(
                    ShiftStarted(id=self._id(), at=t, vehicle=self.vehicle)
                )
                self.events.append(
                    StopDeparted(id=self._id(), at=t, vehicle=self.vehicle)
                )
                self._leg(t)
            elif self.state is VanState.DRIVING:
                if self.until > until:
                    break
                self._arrive()
            elif self.state is VanState.SERVING:
                if self.until > until:
                    break
                self._depart()
            else:
                break
        self._ping_until(until)

    def _arrive(self) -> None:
        stop, t, vid = self.target, self.until, self.vehicle
        assert stop is not None
        self.here = stop.location or self.end
        if stop.kind == "end":
            self._ping_until(t)
            self.events.append(StopArrived(id=self._id(), at=t, vehicle=vid))
            self.events.append(ShiftEnded(id=self._id(), at=t, vehicle=vid))
            self.state = VanState.DONE
            self.target = None
            return
        order = stop.order_id
        assert order is not None
        if self.cancelled(order):
            # Called off while the van was on its way: it drives on.
            self.target = None
            self._leg(t)
            return
        self.events.append(
            StopArrived(id=self._id(), at=t, vehicle=vid, order_id=order)
        )
        self._arrived = t
        start = self._service_start(stop, t + stop.setup)
        noise = float(np.exp(self.rng.normal(0.0, self.settings.service_sigma)))
        service = stop.service * noise
        if self.fails(order) is not None:
            service *= self.settings.failed_service_share
        self.state = VanState.SERVING
        self.until = start + round(service)

    def _depart(self) -> None:
        stop, t, vid = self.target, self.until, self.vehicle
        assert stop is not None and stop.order_id is not None
        order = stop.order_id
        self._ping_until(t)
        reason = self.fails(order)
        if reason is not None:
            self.events.append(
                FailedAttempt(
                    id=self._id(), at=t, vehicle=vid, order_id=order, reason=reason
                )
            )
        elif stop.kind != "pickup":  # a shipment's pickup is not handed over
            proof = Proof(recipient="customer") if self.rng.random() < 0.5 else None
            self.events.append(
                Delivered(
                    id=self._id(),
                    at=t,
                    vehicle=vid,
                    order_id=order,
                    proof=proof or Proof(photo=f"photo/{order}.jpg"),
                )
            )
        self.events.append(
            StopDeparted(id=self._id(), at=t, vehicle=vid, order_id=order)
        )
        shipment = any(s.order_id == order and s.kind == "delivery" for s in self.stops)
        if stop.kind == "pickup" and shipment and reason is None:
            self.on_board.append(order)
        elif order not in self.completed:
            if shipment:  # nothing collected: nothing to deliver
                self.stops = [s for s in self.stops if s.order_id != order]
            if order in self.on_board:
                self.on_board.remove(order)
            self.completed.append(order)
        self.visits.append(
            Visit(order, vid, self._arrived, t, reason is not None, reason)
        )
        self.target = None
        self._leg(t)

    def _ping_until(self, t: int) -> None:
        """Position pings up to ``t`` along the track."""
        if self.next_ping is None or self.state is VanState.BROKEN:
            return
        while self.next_ping <= t:
            lat, lon = self.track.at(self.next_ping)
            self.events.append(
                Position(
                    id=f"{self.vehicle}:ping:{self.next_ping}",
                    at=self.next_ping,
                    vehicle=self.vehicle,
                    lat=lat,
                    lon=lon,
                )
            )
            self.last_ping = ((lat, lon), self.next_ping)
            self.next_ping += self.settings.ping_interval
            if self.state is VanState.DONE:
                self.next_ping = None
                return

    def take_events(self) -> list[Event]:
        """The events written since the last call."""
        out, self.events = self.events, []
        return out
