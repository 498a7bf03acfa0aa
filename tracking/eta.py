"""Live ETAs: a pure function of the plan, the events so far, travel and time.

For every route whose van has started (a ``shift_start``, or any stop or
ping after it), :func:`eta` gives each order not yet served an :class:`Eta`:
a point and a P10-P90 window for the van's **arrival at the stop**.

How the point is made (:func:`route_eta`):

1. **Progress.** Fold the van's events up to ``now`` (:func:`progress_of`):
   stops done, the stop it is at, the last stop it left and the newest
   position ping after that. Events are read in time order, so a late old
   ping never moves the van backwards, and events after ``now`` are ignored.
2. **Re-time the rest of the route** in the plan's order from where the van
   is: at a stop, it leaves when the service (planned service times the
   learned service factor) is done, or ``now`` if that has passed; on the
   road, from its last ping (or last departure) to the next stop. Every leg
   is priced by the travel model in the band of its departure times the
   learned leg factor of that hour and destination zone; at each stop the
   van waits for the window the plan chose to open (:func:`service_opening`)
   and then serves. On the current leg the pace the van has kept so far is
   blended in (fully trusted once a quarter of the leg is behind it), with
   standstills left out; a van standing still on the road (pings at one
   place) resumes after the expected rest of a standstill of that length,
   learned from past days. The uncertainty of each leg and service
   (learned coefficients of variation) is carried along, so that the
   expected start at a stop that may or may not have to wait for its window
   is right, and a van that is overdue is expected later than ``now``, not
   at ``now``. The point is the expected arrival.
3. **The window** comes from learned residual quantiles
   (:class:`~tracking.correction.Correction`): how far real arrivals fell
   from such points on past days, by horizon (minutes to the predicted
   arrival), hour and zone. Residuals spread less at short horizons, so the
   window narrows as the stop approaches.

:func:`naive_eta` is the baseline the benchmark compares with: the planned
arrival shifted by the van's current delay.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from routing.base import FrozenModel
from routing.model import Job, Location, Problem, Shipment, TimeWindow
from routing.plan import Plan, Route, Step, StepType
from routing.travel import TravelModel, band_index, day_band_starts
from tracking.correction import Correction
from tracking.events import (
    Delivered,
    Event,
    FailedAttempt,
    Position,
    ShiftStarted,
    StopArrived,
    StopDeparted,
    event_sort_key,
)
from tracking.zones import ZoneFn, grid_zone

__all__ = [
    "Eta",
    "LegTimes",
    "RouteProgress",
    "WindowsByStop",
    "eta",
    "naive_eta",
    "naive_route_eta",
    "progress_of",
    "retimed_arrivals",
    "route_eta",
    "service_opening",
    "window_open",
    "windows_of",
]

#: Time windows by ``(order id, step type)``.
WindowsByStop = Mapping[tuple[str, str], Sequence[TimeWindow]]

LatLon = tuple[float, float]

_SERVED = (StepType.JOB, StepType.PICKUP, StepType.DELIVERY)
_SAME_PLACE = 1e-6  # degrees: two pings this close are the same place


class Eta(FrozenModel):
    """When the van is expected at an order's stop (seconds since midnight).

    ``arrived`` ETAs are facts: the van is at the stop (point = p10 = p90 =
    the arrival).
    """

    order_id: str
    vehicle: str
    point: int
    p10: int
    p90: int
    made_at: int
    zone: str = "?"
    arrived: bool = False

    @property
    def horizon(self) -> int:
        """Seconds from the prediction to the predicted arrival."""
        return self.point - self.made_at

    @property
    def width(self) -> int:
        """P90 minus P10, seconds."""
        return self.p90 - self.p10


class LegTimes:
    """Leg travel times from a travel model, cached per pair and time band.

    Purely a cache: the same model always answers the same, so sharing one
    across calls keeps :func:`eta` a pure function.

    Parameters
    ----------
    travel
        The travel model (the planner's).
    max_entries
        The cache is emptied when it grows past this.
    """

    def __init__(self, travel: TravelModel, max_entries: int = 500_000) -> None:
        self.travel = travel
        self.max_entries = max_entries
        self._model_starts = tuple(travel.band_starts) or (0,)
        #: Where each band starts in the day's elapsed seconds (the model's
        #: own starts but on a clock-change day: :meth:`on_day`).
        self._starts = self._model_starts
        self._cache: dict[tuple[float, float, float, float, int], int] = {}

    def on_day(self, problem: Problem) -> LegTimes:
        """These leg times for ``problem``'s day: on a day the clocks change
        a band begins when the wall clock says so
        (:func:`routing.travel.day_band_starts`). Shares the cache: band
        ``k`` costs the same on every day."""
        starts = day_band_starts(problem, self.travel)
        if starts == self._starts:
            return self
        view = copy.copy(self)
        view._starts = starts
        return view

    def seconds(self, a: LatLon, b: LatLon, depart: int) -> int:
        """Travel seconds from ``a`` to ``b`` (lat, lon) leaving at ``depart``."""
        if a == b:
            return 0
        band = band_index(self._starts, depart)
        key = (a[0], a[1], b[0], b[1], band)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        m = self.travel.matrix(
            [Location(lat=a[0], lon=a[1]), Location(lat=b[0], lon=b[1])],
            depart=self._model_starts[band],
        )
        value = int(m.durations[0, 1])
        self._cache[key] = value
        return value


def _legs(travel: TravelModel | LegTimes) -> LegTimes:
    return travel if isinstance(travel, LegTimes) else LegTimes(travel)


def windows_of(problem: Problem) -> dict[tuple[str, str], tuple[TimeWindow, ...]]:
    """Time windows of every stop of ``problem`` by ``(order id, step type)``."""
    out: dict[tuple[str, str], tuple[TimeWindow, ...]] = {}
    for order in problem.orders:
        if isinstance(order, Job):
            out[(order.id, StepType.JOB.value)] = order.time_windows
        elif isinstance(order, Shipment):
            out[(order.id, StepType.PICKUP.value)] = order.pickup.time_windows
            out[(order.id, StepType.DELIVERY.value)] = order.delivery.time_windows
    return out


@dataclass(frozen=True)
class RouteProgress:
    """What a van's events say about its route at one moment.

    Attributes
    ----------
    vehicle
        The van.
    started
        The shift began (or the van was seen moving).
    done
        Orders delivered or failed.
    visits, departures
        How many times the van reached / left a stop of each order (a
        shipment has two stops).
    arrivals
        Latest arrival time at a stop of each order.
    at_stop
        The order whose stop the van is at, if any.
    served_at
        When the service at ``at_stop`` ended, if reported.
    last_stop
        The order of the last stop left (``None``: the depot).
    departed_at
        When it left that stop (``None``: not yet).
    ping
        The newest ``(lat, lon, at)`` reported after the last stop event.
    halted
        Seconds the van has stood still on the road since the last stop
        event (consecutive pings at the same place).
    still_since
        When the current standstill began, if the van is standing still.
    finished
        The van is back at its depot.
    """

    vehicle: str
    started: bool = False
    done: frozenset[str] = frozenset()
    visits: Mapping[str, int] = field(default_factory=dict)
    departures: Mapping[str, int] = field(default_factory=dict)
    arrivals: Mapping[str, int] = field(default_factory=dict)
    at_stop: str | None = None
    served_at: int | None = None
    last_stop: str | None = None
    departed_at: int | None = None
    ping: tuple[float, float, int] | None = None
    halted: int = 0
    still_since: int | None = None
    finished: bool = False


def progress_of(route: Route, events: Iterable[Event], now: int) -> RouteProgress:
    """Fold the events of ``route``'s van (and its orders) up to ``now``.

    Parameters
    ----------
    route
        The planned route.
    events
        Any events; those of other vans and orders, and those after ``now``,
        are ignored.
    now
        The moment of the snapshot.

    Returns
    -------
    RouteProgress
    """
    vid = route.vehicle
    orders = {s.id for s in route.steps if s.id is not None}
    relevant = [
        e
        for e in events
        if e.at <= now
        and (getattr(e, "vehicle", None) == vid or getattr(e, "order_id", "") in orders)
    ]
    fold = _ProgressFold(vid)
    for e in sorted(relevant, key=event_sort_key):
        if isinstance(e, Position):
            fold.position(e)
        else:
            fold.stop_event(e)
    return fold.progress()


@dataclass(slots=True)
class _ProgressFold:
    """The running state of :func:`progress_of` (see :class:`RouteProgress`)."""

    vehicle: str
    started: bool = False
    finished: bool = False
    done: set[str] = field(default_factory=set)
    visits: dict[str, int] = field(default_factory=dict)
    departures: dict[str, int] = field(default_factory=dict)
    arrivals: dict[str, int] = field(default_factory=dict)
    at_stop: str | None = None
    served_at: int | None = None
    last_stop: str | None = None
    departed_at: int | None = None
    ping: tuple[float, float, int] | None = None
    halted: int = 0
    still_since: int | None = None
    on_road: bool = False  # the last stop event was a departure
    stop_time: int = -(10**9)

    def position(self, e: Position) -> None:
        """A ping: newer than the last one, and of this van, moves it."""
        ping = self.ping
        if e.vehicle != self.vehicle or (ping is not None and e.at <= ping[2]):
            return
        if (
            ping is not None
            and self.on_road
            and ping[2] > self.stop_time
            and abs(e.lat - ping[0]) < _SAME_PLACE
            and abs(e.lon - ping[1]) < _SAME_PLACE
        ):
            self.halted += e.at - ping[2]
            self.still_since = ping[2] if self.still_since is None else self.still_since
        else:
            self.still_since = None
        self.ping = (e.lat, e.lon, e.at)

    def stop_event(self, e: Event) -> None:
        """A shift start, stop arrival or departure, delivery or failure."""
        if isinstance(e, ShiftStarted):
            self.started = True
        elif isinstance(e, StopDeparted):
            self.started = True
            if e.order_id is not None:
                self.departures[e.order_id] = self.departures.get(e.order_id, 0) + 1
            self.last_stop, self.departed_at = e.order_id, e.at
            self.at_stop, self.served_at = None, None
            self._new_stop_event(e.at, on_road=True)
        elif isinstance(e, StopArrived):
            if e.order_id is None:
                if self.departed_at is not None:
                    self.finished = True
                self.at_stop = None
            else:
                self.visits[e.order_id] = self.visits.get(e.order_id, 0) + 1
                self.arrivals[e.order_id] = e.at
                self.at_stop, self.served_at = e.order_id, None
            self._new_stop_event(e.at, on_road=False)
        elif isinstance(e, Delivered | FailedAttempt):
            self.done.add(e.order_id)
            if e.order_id == self.at_stop:
                self.served_at = e.at

    def _new_stop_event(self, at: int, *, on_road: bool) -> None:
        self.stop_time, self.halted, self.still_since = at, 0, None
        self.on_road = on_road

    def progress(self) -> RouteProgress:
        ping, halted, still_since = self.ping, self.halted, self.still_since
        if ping is not None and ping[2] <= self.stop_time:
            ping, halted, still_since = None, 0, None
        return RouteProgress(
            vehicle=self.vehicle,
            started=self.started or ping is not None,
            done=frozenset(self.done),
            visits=self.visits,
            departures=self.departures,
            arrivals=self.arrivals,
            at_stop=self.at_stop,
            served_at=self.served_at,
            last_stop=self.last_stop,
            departed_at=self.departed_at,
            ping=ping,
            halted=halted,
            still_since=still_since,
            finished=self.finished,
        )


def _stops(route: Route, progress: RouteProgress) -> tuple[int | None, int, list[int]]:
    """Where the van is on ``route``.

    Returns the index of the step it is at (or ``None``), the index of the
    last step it reached (0: the start) and the indices of the served steps
    still to come, in plan order.
    """
    seen: dict[str, int] = {}
    finals = Counter(
        s.id for s in route.steps if s.type in _SERVED and s.id is not None
    )
    current: int | None = None
    last = 0
    rest: list[int] = []
    for k, step in enumerate(route.steps):
        if step.type not in _SERVED or step.id is None:
            continue
        c = seen[step.id] = seen.get(step.id, 0) + 1
        reached = max(
            progress.visits.get(step.id, 0), progress.departures.get(step.id, 0)
        )
        if reached >= c or (step.id in progress.done and c == finals[step.id]):
            last = k
            if (
                step.id == progress.at_stop
                and c == progress.visits.get(step.id, 0)
                and progress.departures.get(step.id, 0) < c
            ):
                current = k
        else:
            rest.append(k)
    return current, last, rest


def _latlon(loc: Location | None) -> LatLon | None:
    if loc is None or loc.lat is None or loc.lon is None:
        return None
    return (loc.lat, loc.lon)


def window_open(step: Step, windows: WindowsByStop | None = None) -> int | None:
    """When the window the plan chose for ``step`` opens (``None``: unknown).

    The chosen window is the one holding the planned start of service; a
    stop the plan serves late has none. Without ``windows`` the opening is
    known only where the plan waited for it.
    """
    if windows is not None and step.id is not None:
        ws = windows.get((step.id, step.type.value))
        if ws is not None:
            return next(
                (w.start for w in ws if w.start <= step.service_start <= w.end), None
            )
    if step.waiting_time > 0:
        return step.service_start
    return None


def service_opening(
    step: Step, ready: int, windows: WindowsByStop | None = None
) -> int:
    """When service starts at ``step`` for a van ready (arrival + setup) at ``ready``.

    Drivers keep to the window the plan chose (:func:`window_open`): early,
    they wait for it to open; late, they serve at once and never wait for a
    later window.
    """
    opening = window_open(step, windows)
    return ready if opening is None else max(ready, opening)


_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


def _pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / _SQRT2PI


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / _SQRT2))


def _max_with(mean: float, var: float, w: float) -> tuple[float, float]:
    """Mean and variance of ``max(X, w)`` for ``X ~ Normal(mean, var)``.

    Waiting for a window is a ``max``: with an uncertain arrival the van
    waits on some days and not on others, so the expected start is later
    than ``max(mean, w)`` (Clark's approximation keeps the chain normal).
    """
    if var <= 1e-9:
        return max(mean, w), 0.0
    sd = math.sqrt(var)
    a = (w - mean) / sd
    below, dens = _cdf(a), _pdf(a)
    m1 = w * below + mean * (1.0 - below) + sd * dens
    m2 = w * w * below + (mean * mean + var) * (1.0 - below) + sd * (mean + w) * dens
    return m1, max(0.0, m2 - m1 * m1)


def _after(mean: float, var: float, now: float) -> tuple[float, float]:
    """Mean and variance of ``X`` given ``X > now`` (the van is not there yet)."""
    if var <= 1e-9:
        return max(mean, now), 0.0
    sd = math.sqrt(var)
    a = (now - mean) / sd
    tail = 1.0 - _cdf(a)
    if tail < 1e-9:
        return now, 0.0
    lam = _pdf(a) / tail
    return mean + sd * lam, max(0.0, var * (1.0 + a * lam - lam * lam))


#: How fast trust moves from the model to the pace kept on the current leg:
#: full trust once a quarter of the leg (in model time) is covered.
PACE_WEIGHT = 4.0


def _paced(
    drive: float,
    origin: LatLon,
    departed: int,
    here: LatLon,
    moving: int,
    there: LatLon,
    legs: LegTimes,
) -> tuple[float, float]:
    """Blend the model's rest of a leg with the pace the van has kept on it.

    Having covered a share ``f`` of the leg (in model time) in ``moving``
    seconds on the move (standstills left out), the van at that pace needs
    ``moving * (1 - f) / f`` more; the blend gives the pace the weight
    ``min(1, PACE_WEIGHT * f)``. Returns the rest of the drive and the share
    of the leg's variance still open.
    """
    total = legs.seconds(origin, there, departed)
    rest = legs.seconds(here, there, departed)
    if total <= 0 or moving <= 0:
        return drive, 1.0
    f = min(1.0, max(0.0, 1.0 - rest / total))
    if f < 0.05:
        return drive, 1.0
    paced = moving * (1.0 - f) / f
    w = min(1.0, PACE_WEIGHT * f)
    return w * paced + (1.0 - w) * drive, 1.0 - w


#: The stop a van on the road left: ``(where, when, seconds moving since)``.
_Origin = tuple[LatLon | None, int, int]


def _leaving_stop(
    step: Step,
    progress: RouteProgress,
    now: int,
    correction: Correction,
    windows: WindowsByStop | None,
) -> tuple[LatLon | None, float, float]:
    """Where and when (mean, variance) a van at ``step`` will leave it."""
    assert step.id is not None
    var = 0.0
    if progress.served_at is not None:
        t = float(max(now, progress.served_at))
    else:
        arrived = progress.arrivals[step.id]
        service = step.service * correction.service_factor
        start = service_opening(step, arrived + step.setup, windows)
        service_cv2 = correction.service_cv**2
        t, var = _after(start + service, service * service * service_cv2, now)
    return _latlon(step.location), t, var


def _on_the_road(
    steps: Sequence[Step],
    last: int,
    progress: RouteProgress,
    now: int,
    correction: Correction,
) -> tuple[LatLon | None, float, _Origin | None]:
    """Where a van between stops is, from when, and the stop it left."""
    here: LatLon | None
    origin: _Origin | None = None
    left = steps[last] if progress.last_stop is not None else steps[0]
    if progress.ping is not None:
        here, t = (progress.ping[0], progress.ping[1]), float(progress.ping[2])
        if progress.departed_at is not None:
            moving = progress.ping[2] - progress.departed_at - progress.halted
            origin = (_latlon(left.location), progress.departed_at, moving)
        if progress.still_since is not None:
            # standing still on the road: resume after the expected rest
            t += correction.halt_remaining(progress.ping[2] - progress.still_since)
    elif progress.departed_at is not None:
        here, t = _latlon(left.location), float(progress.departed_at)
    else:
        here, t = _latlon(steps[0].location), float(max(now, steps[0].departure))
    return here, t, origin


def _drive(
    here: LatLon,
    there: LatLon,
    depart: int,
    z: str,
    origin: _Origin | None,
    legs: LegTimes,
    correction: Correction,
) -> tuple[float, float]:
    """Seconds of the leg from ``here`` to ``there`` and its variance factor.

    The leg is priced in its departure band times the learned leg factor; on
    the current leg (``origin`` given) the pace kept so far is blended in.
    """
    spread = 1.0
    drive: float = legs.seconds(here, there, depart)
    drive *= correction.leg_factor(z, depart)
    if origin is not None:
        start_at, when, moving = origin
        if start_at is not None:
            drive, spread = _paced(drive, start_at, when, here, moving, there, legs)
    return drive, spread


def retimed_arrivals(
    route: Route,
    progress: RouteProgress,
    legs: LegTimes,
    now: int,
    correction: Correction,
    windows: WindowsByStop | None,
    zone: ZoneFn,
) -> list[tuple[Step, int, str]]:
    """Re-timed arrivals of the stops still to come, before residual correction.

    Steps 1 and 2 of the module docstring: from the van's progress, the
    learned leg and service factors of ``correction`` (its residual tables
    are not used here).

    Returns
    -------
    list[tuple[Step, int, str]]
        ``(plan step, arrival, zone)`` in plan order.
    """
    steps = route.steps
    current, last, rest = _stops(route, progress)
    leg_cv2 = correction.leg_cv**2
    service_cv2 = correction.service_cv**2
    if current is not None:
        here, t, var = _leaving_stop(steps[current], progress, now, correction, windows)
        origin: _Origin | None = None
        truncate = False
    else:
        here, t, origin = _on_the_road(steps, last, progress, now, correction)
        var = 0.0
        truncate = True
    breaks = [k for k, s in enumerate(steps) if s.type == StepType.BREAK and k > last]
    out: list[tuple[Step, int, str]] = []
    prev = last
    for k in sorted(set(rest) | set(breaks)):
        step = steps[k]
        if step.type == StepType.BREAK:
            t += step.service
            continue
        there = _latlon(step.location)
        z = zone(step.location) if step.location is not None else "?"
        if here is None or there is None:
            drive, spread = float(max(0, step.duration - steps[prev].duration)), 1.0
        else:
            drive, spread = _drive(here, there, round(t), z, origin, legs, correction)
        origin = None
        mean, var = t + drive, var + spread * drive * drive * leg_cv2
        if truncate:
            mean, var = _after(mean, var, now)
            truncate = False
        out.append((step, round(mean), z))
        opening = window_open(step, windows)
        ready = mean + step.setup
        if opening is not None:
            ready, var = _max_with(ready, var, opening)
        service = step.service * correction.service_factor
        t, var = ready + service, var + service * service * service_cv2
        here, prev = there, k
    return out


def route_eta(
    route: Route,
    events: Iterable[Event],
    travel: TravelModel | LegTimes,
    now: int,
    correction: Correction | None = None,
    *,
    windows: WindowsByStop | None = None,
    zone: ZoneFn = grid_zone,
    progress: RouteProgress | None = None,
) -> dict[str, Eta]:
    """ETAs of the orders still to be served on one route.

    Parameters
    ----------
    route
        The planned route.
    events
        Events so far (others are ignored, see :func:`progress_of`).
    travel
        The planner's travel model (or a shared :class:`LegTimes` cache).
    now
        Time of the prediction, seconds since local midnight.
    correction
        Learned correction (default: none learned; a wide default window).
    windows
        Stop windows (:func:`windows_of`); without them the van waits
        where the plan waited.
    zone
        Zone of a location (must match the one the correction was fitted
        with).
    progress
        A precomputed :func:`progress_of` for ``now`` (skips the fold).

    Returns
    -------
    dict[str, Eta]
        By order id; empty when the van has not started or is done.
    """
    correction = correction or Correction()
    if progress is None:
        progress = progress_of(route, events, now)
    if not progress.started or progress.finished:
        return {}
    legs = _legs(travel)
    out: dict[str, Eta] = {}
    current, _, _ = _stops(route, progress)
    if current is not None and route.steps[current].id not in progress.done:
        step = route.steps[current]
        assert step.id is not None
        z = zone(step.location) if step.location is not None else "?"
        out[step.id] = _arrived(route.vehicle, step.id, progress, now, z)
    for step, raw, z in retimed_arrivals(
        route, progress, legs, now, correction, windows, zone
    ):
        assert step.id is not None
        out[step.id] = _corrected(route.vehicle, step.id, raw, now, z, correction)
    return out


def _arrived(
    vehicle: str, order: str, progress: RouteProgress, now: int, z: str
) -> Eta:
    """The fact of a van at the order's stop."""
    t = progress.arrivals[order]
    return Eta(
        order_id=order,
        vehicle=vehicle,
        point=t,
        p10=t,
        p90=t,
        made_at=now,
        zone=z,
        arrived=True,
    )


def _corrected(
    vehicle: str, order: str, raw: int, now: int, z: str, correction: Correction
) -> Eta:
    """The ETA of a re-timed arrival with its window from the residuals."""
    low, _, high = correction.residual_quantiles(raw - now, z, raw)
    point = max(now, raw)
    return Eta(
        order_id=order,
        vehicle=vehicle,
        point=point,
        p10=max(now, min(point, round(raw + low))),
        p90=max(point, round(raw + high)),
        made_at=now,
        zone=z,
    )


def eta(
    plan: Plan,
    events: Iterable[Event],
    travel: TravelModel | LegTimes,
    now: int,
    correction: Correction | None = None,
    *,
    problem: Problem | None = None,
    zone: ZoneFn = grid_zone,
) -> dict[str, Eta]:
    """ETAs of every undelivered order on every dispatched route.

    A pure function: the same plan, events, travel model, time and
    correction always give the same ETAs; events after ``now`` are ignored.

    Parameters
    ----------
    plan
        The day's plan.
    events
        Tracking events so far (any order; see :mod:`tracking.events`).
    travel
        The planner's travel model (or a shared :class:`LegTimes`).
    now
        Time of the prediction, seconds since local midnight.
    correction
        Learned correction (:func:`tracking.learn.fit_correction`).
    problem
        The plan's problem, for exact time windows.
    zone
        Zone function the correction was fitted with.

    Returns
    -------
    dict[str, Eta]
        By order id.
    """
    events = list(events)
    legs = _legs(travel)
    if problem is not None:
        legs = legs.on_day(problem)
    windows = windows_of(problem) if problem is not None else None
    out: dict[str, Eta] = {}
    for route in plan.routes:
        out.update(
            route_eta(route, events, legs, now, correction, windows=windows, zone=zone)
        )
    return out


def naive_route_eta(
    route: Route,
    events: Iterable[Event],
    now: int,
    *,
    progress: RouteProgress | None = None,
) -> dict[str, Eta]:
    """Baseline ETAs of one route: the plan shifted by the current delay.

    The delay is the last stop event's lateness against the plan (arrival at
    the stop the van is at, else departure from the last stop left, else
    the departure from the depot); when the van is already later than that
    for its next planned arrival, the delay grows to match ``now``.
    """
    if progress is None:
        progress = progress_of(route, events, now)
    if not progress.started or progress.finished:
        return {}
    steps = route.steps
    current, last, rest = _stops(route, progress)
    if current is not None:
        step = steps[current]
        assert step.id is not None
        delay = progress.arrivals[step.id] - step.arrival
    elif progress.departed_at is not None:
        planned = steps[0 if progress.last_stop is None else last].departure
        delay = progress.departed_at - planned
    else:
        delay = max(0, now - steps[0].departure)
    if rest and current is None:
        delay = max(delay, now - steps[rest[0]].arrival)
    out: dict[str, Eta] = {}
    if current is not None:
        step = steps[current]
        assert step.id is not None
        t = progress.arrivals[step.id]
        out[step.id] = Eta(
            order_id=step.id,
            vehicle=route.vehicle,
            point=t,
            p10=t,
            p90=t,
            made_at=now,
            arrived=True,
        )
    for k in rest:
        step = steps[k]
        assert step.id is not None
        point = max(now, step.arrival + delay)
        out[step.id] = Eta(
            order_id=step.id,
            vehicle=route.vehicle,
            point=point,
            p10=point,
            p90=point,
            made_at=now,
        )
    return out


def naive_eta(plan: Plan, events: Iterable[Event], now: int) -> dict[str, Eta]:
    """Baseline ETAs of every dispatched route (see :func:`naive_route_eta`)."""
    events = list(events)
    out: dict[str, Eta] = {}
    for route in plan.routes:
        out.update(naive_route_eta(route, events, now))
    return out
