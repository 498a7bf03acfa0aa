"""Sensors on the way: per-order limits, excursions and their exceptions.

An order may carry handling requirements (:class:`routing.model.Handling`):
a preset (``cold_chain``: 0-4 °C; ``frozen``: at most -18 °C; both allow a
van door open at most 5 minutes outside a stop) and explicit limits, which
override the preset kind by kind (:func:`limits_of`).

An **excursion** is a stretch of time in which an order's readings are
outside its limits *while it is on board*: from dispatch (``shift_start``
or ``order_dispatched``) until it is delivered, fails or is cancelled
(:data:`ON_BOARD`). A van's reading (no ``order_id``) applies to every order
on board of that van that has limits; a parcel's reading to that order. An
excursion starts at the first reading outside, keeps the **peak** (the
reading furthest outside) and ends at the first reading of the same kind
and source back inside, or when the order leaves the van.

* temperature, humidity: outside ``min``/``max``;
* shock: above ``max``; an instant (it starts and ends at the reading);
* door open: the van's door has been open longer than ``door_open``
  seconds while the van is on the road (its latest stop report is a
  departure). Devices report ``door_open`` when it changes and again while
  it stays open; the excursion starts ``door_open`` seconds after the door
  opened and ends when it closes or the van reaches a stop. The peak is the
  seconds it was open.

Every excursion raises a :class:`~tracking.exceptions.DispatchException`
(kind ``sensor_excursion``) for the dispatcher. The orders of one van
breaching the same kind from the same source share one exception (key
``sensor:{van}:{kind}:{van|order}``); it closes when none of its excursions
is open any more (a shock exception: when all its orders have left the
van). Readings older than the newest of their kind and source change
nothing (like a late ping): excursions follow the sensor's newest value.

:class:`SensorWatch` applies readings to a :class:`~tracking.store.Store`;
the :class:`~tracking.tracker.Tracker` calls it in time order with the other
events, so an order's on-board state is the one at the reading's time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, NamedTuple

from routing.base import FrozenModel
from routing.model import Handling, Problem, SensorBounds, SensorLimits
from tracking.events import SensorKind, SensorReading
from tracking.exceptions import (
    DispatchException,
    ExceptionKind,
    Severity,
    exception_id,
)
from tracking.excursion import Excursion, Source
from tracking.status import OrderState, OrderStatus
from tracking.store import Store, VehicleState

__all__ = [
    "DOOR_OPEN_LIMIT",
    "ON_BOARD",
    "PRESETS",
    "Breach",
    "Excursion",
    "SensorKind",
    "SensorWatch",
    "breach",
    "exception_key",
    "limits_by_order",
    "limits_of",
    "on_board_at",
    "sensor_kind",
    "severity_of",
]

#: Seconds a door may stay open outside a stop under the presets.
DOOR_OPEN_LIMIT = 300

#: The presets of :attr:`routing.model.Handling.requirement`.
PRESETS: dict[str, SensorLimits] = {
    "cold_chain": SensorLimits(
        temperature=SensorBounds(min=0.0, max=4.0), door_open=DOOR_OPEN_LIMIT
    ),
    "frozen": SensorLimits(
        temperature=SensorBounds(max=-18.0), door_open=DOOR_OPEN_LIMIT
    ),
}

#: States in which an order is in the van.
ON_BOARD = frozenset(
    {OrderState.DISPATCHED, OrderState.OUT_FOR_DELIVERY, OrderState.ARRIVING}
)


def limits_of(handling: Handling | None) -> SensorLimits | None:
    """An order's limits: the preset, with the explicit limits over it."""
    if handling is None:
        return None
    base = PRESETS[handling.requirement] if handling.requirement else SensorLimits()
    given = {
        name: value
        for name, value in handling.limits
        if value is not None and name in SensorLimits.model_fields
    }
    return base.model_copy(update=given)


def limits_by_order(problem: Problem) -> dict[str, SensorLimits]:
    """The limits of every order of ``problem`` that has handling requirements."""
    out: dict[str, SensorLimits] = {}
    for order in (*problem.jobs, *problem.shipments):
        limits = limits_of(order.handling)
        if limits is not None:
            out[order.id] = limits
    return out


class Breach(FrozenModel):
    """Which limit a reading crosses, and on which side."""

    limit: float
    side: Literal["below", "above"]


def breach(limits: SensorLimits, kind: SensorKind, value: float) -> Breach | None:
    """The limit ``value`` crosses, if any (temperature, humidity, shock).

    A door reading is judged by how long the door stays open
    (:class:`SensorWatch`), never by one value: None.
    """
    bounds = {
        SensorKind.TEMPERATURE: limits.temperature,
        SensorKind.HUMIDITY: limits.humidity,
        SensorKind.SHOCK: limits.shock,
    }.get(kind)
    if bounds is None:
        return None
    if bounds.min is not None and value < bounds.min:
        return Breach(limit=bounds.min, side="below")
    if bounds.max is not None and value > bounds.max:
        return Breach(limit=bounds.max, side="above")
    return None


#: How far past the limit is critical: °C, %RH, x the shock limit, x the
#: door limit.
_CRITICAL = {
    SensorKind.TEMPERATURE: 2.0,
    SensorKind.HUMIDITY: 10.0,
}


def severity_of(kind: SensorKind, peak: float, limit: float) -> Severity:
    """``critical`` when far outside, else ``warning``.

    Temperature 2 °C or more past the limit, humidity 10 points, a shock or
    a door open twice the limit or more.
    """
    if kind in _CRITICAL:
        far = abs(peak - limit) >= _CRITICAL[kind]
    else:
        far = peak >= 2 * limit
    return Severity.CRITICAL if far else Severity.WARNING


class Aboard(NamedTuple):
    """An order on board at a reading, and when it left the van since."""

    limits: SensorLimits
    left_at: int | None


def on_board_at(status: OrderStatus, at: int) -> tuple[int, int | None] | None:
    """When the order came on board and left, if it was on board at ``at``.

    From the status history: the state in force at ``at`` is one of
    :data:`ON_BOARD`. ``(since, left)``; ``left`` is None while it is still
    on board.
    """
    since: int | None = None
    left: int | None = None
    for change in status.history:
        if change.at <= at:
            if change.target in ON_BOARD:
                since = change.at if since is None else since
            else:
                since = None
        elif since is not None and change.target not in ON_BOARD:
            left = change.at
            break
    return None if since is None else (since, left)


def exception_key(vehicle: str, kind: SensorKind, order_id: str | None) -> str:
    """The key of the exception of a van's (or a parcel's) readings of a kind."""
    return f"sensor|{kind.value}|{vehicle}|{order_id or '*van*'}"


def sensor_kind(exception: DispatchException) -> SensorKind | None:
    """The sensor kind of a sensor exception (None for other exceptions)."""
    parts = exception.key.split("|")
    if parts[0] != "sensor" or len(parts) < 2:
        return None
    return SensorKind(parts[1])


class SensorWatch:
    """Excursions and their exceptions, kept in a tracker's store.

    Parameters
    ----------
    store
        The tracker's store (orders, routes, vans, excursions, exceptions).
    namespace
        Separates exception ids of different operating days
        (:func:`~tracking.exceptions.exception_id`).
    """

    def __init__(self, store: Store, namespace: str = "") -> None:
        self.store = store
        self.namespace = namespace

    # -- readings ------------------------------------------------------------

    def reading(self, event: SensorReading) -> bool:
        """Apply one reading; ``False`` when an newer one of its kind was known."""
        van = self.store.vehicle(event.vehicle) or VehicleState(vehicle=event.vehicle)
        channel = event.kind.value + (
            f":{event.order_id}" if event.order_id is not None else ""
        )
        last = van.sensor_at.get(channel)
        if last is not None and event.at < last:
            return False
        van = van.model_copy(update={"sensor_at": {**van.sensor_at, channel: event.at}})
        source: Source = "van" if event.order_id is None else "parcel"
        aboard = self._on_board(event)
        if event.kind is SensorKind.DOOR_OPEN:
            van, new = self._door(event, van, aboard)
        elif aboard:
            new = self._value(event, source, aboard)
        else:
            # Nothing on board with limits: no excursion can open, and none is
            # open (an order's excursions end when it leaves the van).
            new = []
        self.store.put_vehicle(van)
        if aboard or new:
            self._sync(event, new)
        return True

    def _on_board(self, event: SensorReading) -> dict[str, Aboard]:
        """The orders the reading is about that were on board at its time and
        have limits, with when they left the van since (None: still on)."""
        if event.order_id is not None:
            candidates: Iterable[str] = (event.order_id,)
        else:
            candidates = self.store.route(event.vehicle)
        out: dict[str, Aboard] = {}
        for order_id in candidates:
            status = self.store.order(order_id)
            if status is None:
                if event.order_id is not None:
                    raise ValueError(f"unknown order {order_id}")
                continue
            if event.order_id is None and status.vehicle != event.vehicle:
                continue
            aboard = on_board_at(status, event.at)
            limits = self.store.limits(order_id)
            if aboard is not None and limits is not None:
                out[order_id] = Aboard(limits, aboard[1])
        return out

    def _open(self, vehicle: str) -> dict[tuple[str, SensorKind, Source], Excursion]:
        return {
            (e.order_id, e.kind, e.source): e
            for e in self.store.open_excursions(vehicle=vehicle)
        }

    def _value(
        self, event: SensorReading, source: Source, aboard: Mapping[str, Aboard]
    ) -> list[Excursion]:
        """Temperature, humidity, shock; the excursions this reading began."""
        new: list[Excursion] = []
        current = self._open(event.vehicle)
        for order_id, (limits, left_at) in aboard.items():
            crossed = breach(limits, event.kind, event.value)
            known = current.get((order_id, event.kind, source))
            if crossed is None:
                if known is not None:
                    self.store.put_excursion(known.model_copy(update={"end": event.at}))
                continue
            if known is not None:
                update: dict[str, object] = {"readings": known.readings + 1}
                if known.further(event.value):
                    update["peak"] = event.value
                self.store.put_excursion(known.model_copy(update=update))
                continue
            end = event.at if event.kind is SensorKind.SHOCK else left_at
            new.append(
                Excursion(
                    id=f"{order_id}:{event.kind.value}:{source}:{event.at}",
                    order_id=order_id,
                    vehicle=event.vehicle,
                    kind=event.kind,
                    source=source,
                    start=event.at,
                    end=end,
                    peak=event.value,
                    limit=crossed.limit,
                    side=crossed.side,
                )
            )
        return new

    def _door(
        self,
        event: SensorReading,
        van: VehicleState,
        aboard: Mapping[str, Aboard],
    ) -> tuple[VehicleState, list[Excursion]]:
        """Door readings: how long the door has stood open on the road."""
        new: list[Excursion] = []
        on_road = van.stop_event == "departed"
        since = van.door_open_since
        if event.value and on_road and since is None:
            since = event.at
        current = self._open(event.vehicle)
        open_for = 0 if since is None else event.at - since
        still_open = bool(event.value) and on_road
        for order_id, (limits, left_at) in aboard.items():
            known = current.get((order_id, SensorKind.DOOR_OPEN, "van"))
            limit = limits.door_open
            if known is not None:
                update: dict[str, object] = {
                    "peak": max(known.peak, float(open_for)),
                    "readings": known.readings + 1,
                }
                if not still_open:
                    update["end"] = event.at
                self.store.put_excursion(known.model_copy(update=update))
            elif limit is not None and since is not None and open_for > limit:
                new.append(
                    Excursion(
                        id=f"{order_id}:door_open:van:{since + limit}",
                        order_id=order_id,
                        vehicle=event.vehicle,
                        kind=SensorKind.DOOR_OPEN,
                        source="van",
                        start=since + limit,
                        end=left_at if still_open else event.at,
                        peak=float(open_for),
                        limit=float(limit),
                        side="above",
                    )
                )
        van = van.model_copy(update={"door_open_since": since if still_open else None})
        return van, new

    # -- orders leaving the van --------------------------------------------

    def left(self, order_id: str, at: int) -> None:
        """The order left the van (delivered, failed, cancelled) at ``at``.

        Its open excursions end there, and exceptions with nothing open
        left close.
        """
        vans: set[str] = set()
        for excursion in self.store.open_excursions(order_id=order_id):
            self.store.put_excursion(
                excursion.model_copy(update={"end": max(at, excursion.start)})
            )
            vans.add(excursion.vehicle)
        status = self.store.order(order_id)
        if status is not None and status.vehicle is not None:
            vans.add(status.vehicle)
        for vehicle in sorted(vans):
            for exception in self.store.open_exceptions(vehicle=vehicle):
                if order_id in exception.order_ids:
                    self._maybe_close(exception, at)

    # -- exceptions --------------------------------------------------------

    def _sync(self, event: SensorReading, new: list[Excursion]) -> None:
        """Open or update the exception of the reading's van, kind and source,
        store the excursions the reading began, and close what is over."""
        key = exception_key(event.vehicle, event.kind, event.order_id)
        exception = self._open_exception(event.vehicle, key)
        if new:
            worst = max(new, key=lambda e: abs(e.peak - e.limit))
            severity = severity_of(event.kind, worst.peak, worst.limit)
            orders = tuple(sorted({e.order_id for e in new}))
            detail = f"{event.vehicle}: {worst.detail()}"
            if exception is None:
                start = min(e.start for e in new)
                exception = DispatchException(
                    id=exception_id(key, start, self.namespace),
                    kind=ExceptionKind.SENSOR_EXCURSION,
                    key=key,
                    vehicle=event.vehicle,
                    order_ids=orders,
                    opened_at=start,
                    severity=severity,
                    detail=detail,
                )
            else:
                exception = exception.updated(
                    order_ids=orders, severity=severity, detail=detail
                )
            self.store.put_exception(exception)
            for e in new:
                self.store.put_excursion(
                    e.model_copy(update={"exception_id": exception.id})
                )
        if exception is not None:
            self._refresh(exception)
            ends = [e.end for e in new if e.end is not None]
            self._maybe_close(exception, max([event.at, *ends]))

    def _open_exception(self, vehicle: str, key: str) -> DispatchException | None:
        return next(
            (e for e in self.store.open_exceptions(vehicle=vehicle) if e.key == key),
            None,
        )

    def _linked(self, exception: DispatchException) -> list[Excursion]:
        return [
            e
            for e in self.store.open_excursions(vehicle=exception.vehicle)
            if e.exception_id == exception.id
        ]

    def _refresh(self, exception: DispatchException) -> None:
        """Raise the severity and detail of an open exception as peaks grow."""
        linked = self._linked(exception)
        if not linked:
            return
        kind = linked[0].kind
        worst = max(linked, key=lambda e: abs(e.peak - e.limit))
        updated = exception.updated(
            severity=severity_of(kind, worst.peak, worst.limit),
            detail=f"{exception.vehicle}: {worst.detail()}",
        )
        if updated != exception:
            self.store.put_exception(updated)

    def _maybe_close(self, exception: DispatchException, at: int) -> None:
        if exception.vehicle is None:
            return
        current = self._open_exception(exception.vehicle, exception.key)
        if current is None:
            return
        if sensor_kind(current) is SensorKind.SHOCK:
            done = all(
                (s := self.store.order(o)) is None or s.state not in ON_BOARD
                for o in current.order_ids
            )
        else:
            done = not self._linked(current)
        if done:
            self.store.put_exception(current.closed(at))
