"""Storage for the tracker: a small repository protocol and an in-memory one.

The tracker never touches a database; it is handed a :class:`Store`. The
service implements the protocol on SQL; tests and simulations use
:class:`MemoryStore`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

from pydantic import Field

from routing.base import FrozenModel
from routing.model import SensorLimits
from tracking.events import Event, event_sort_key
from tracking.exceptions import DispatchException
from tracking.excursion import Excursion
from tracking.status import OrderStatus

__all__ = ["MemoryStore", "Store", "VehicleState"]


class VehicleState(FrozenModel):
    """What is known about a van: shift, latest position, latest stop.

    Each part keeps the time it was reported, so an older report never
    overwrites a newer one.
    """

    vehicle: str
    on_shift: bool = False
    shift_start: int | None = None
    shift_end: int | None = None
    lat: float | None = None
    lon: float | None = None
    position_at: int | None = None
    stop: str | None = None
    stop_event: Literal["arrived", "departed"] | None = None
    stop_at: int | None = None
    door_open_since: int | None = Field(
        default=None, description="when the door opened on the road, if it is open"
    )
    sensor_at: dict[str, int] = Field(
        default_factory=dict,
        description="newest reading time per sensor kind (and parcel: kind:order)",
    )


class Store(Protocol):
    """Where the tracker keeps events, order statuses, vans and routes."""

    def prefetch(self, events: Sequence[Event]) -> None:
        """Load at once what a batch of events will read (a database-backed
        store would otherwise read each event, order and stop by itself)."""
        ...

    def event(self, event_id: str) -> Event | None:
        """The stored event with this id, if any."""
        ...

    def add_event(self, event: Event) -> None:
        """Keep an accepted event."""
        ...

    def events(
        self,
        *,
        vehicle: str | None = None,
        order_ids: Sequence[str] | None = None,
        until: int | None = None,
    ) -> list[Event]:
        """Stored events in time order, optionally of one van or some orders."""
        ...

    def order(self, order_id: str) -> OrderStatus | None:
        """An order's status, if the order is known."""
        ...

    def put_order(self, status: OrderStatus) -> None:
        """Create or replace an order's status."""
        ...

    def orders(self) -> list[OrderStatus]:
        """Every known order's status."""
        ...

    def vehicle(self, vehicle_id: str) -> VehicleState | None:
        """A van's state, if the van is known."""
        ...

    def put_vehicle(self, state: VehicleState) -> None:
        """Create or replace a van's state."""
        ...

    def assign(self, order_id: str, vehicle: str, position: int) -> None:
        """Put an order on a van's route at ``position`` (off any other route)."""
        ...

    def route(self, vehicle_id: str) -> tuple[str, ...]:
        """Order ids on the van's route, by position."""
        ...

    def limits(self, order_id: str) -> SensorLimits | None:
        """The order's sensor limits (:func:`tracking.sensors.limits_of`), if any."""
        ...

    def open_excursions(
        self, *, vehicle: str | None = None, order_id: str | None = None
    ) -> list[Excursion]:
        """Excursions still open, of one van or one order."""
        ...

    def put_excursion(self, excursion: Excursion) -> None:
        """Create or replace an excursion (by id)."""
        ...

    def open_exceptions(self, *, vehicle: str) -> list[DispatchException]:
        """The van's open exceptions."""
        ...

    def put_exception(self, exception: DispatchException) -> None:
        """Create or replace an exception (by id)."""
        ...


class MemoryStore:
    """A :class:`Store` in dictionaries (one process, no persistence).

    ``limits`` are the orders' sensor limits
    (:func:`tracking.sensors.limits_by_order`).
    """

    def __init__(self, limits: Mapping[str, SensorLimits] | None = None) -> None:
        self._limits: dict[str, SensorLimits] = dict(limits or {})
        self.excursions: dict[str, Excursion] = {}
        self.exceptions: dict[str, DispatchException] = {}
        self._events: dict[str, Event] = {}
        self._orders: dict[str, OrderStatus] = {}
        self._vehicles: dict[str, VehicleState] = {}
        self._routes: dict[str, dict[str, int]] = {}
        self._route_of: dict[str, str] = {}

    def prefetch(self, events: Sequence[Event]) -> None:
        """Nothing to load: everything is in memory."""

    def event(self, event_id: str) -> Event | None:
        """The stored event with this id, if any."""
        return self._events.get(event_id)

    def add_event(self, event: Event) -> None:
        """Keep an accepted event."""
        self._events[event.id] = event

    def events(
        self,
        *,
        vehicle: str | None = None,
        order_ids: Sequence[str] | None = None,
        until: int | None = None,
    ) -> list[Event]:
        """Stored events in time order, optionally of one van or some orders."""
        wanted = None if order_ids is None else set(order_ids)
        out = []
        for e in self._events.values():
            if until is not None and e.at > until:
                continue
            if vehicle is not None or wanted is not None:
                own = getattr(e, "vehicle", None)
                about = getattr(e, "order_id", None)
                by_vehicle = vehicle is not None and own == vehicle
                by_order = wanted is not None and about in wanted
                if not (by_vehicle or by_order):
                    continue
            out.append(e)
        return sorted(out, key=event_sort_key)

    def order(self, order_id: str) -> OrderStatus | None:
        """An order's status, if the order is known."""
        return self._orders.get(order_id)

    def put_order(self, status: OrderStatus) -> None:
        """Create or replace an order's status."""
        self._orders[status.order_id] = status

    def orders(self) -> list[OrderStatus]:
        """Every known order's status."""
        return list(self._orders.values())

    def vehicle(self, vehicle_id: str) -> VehicleState | None:
        """A van's state, if the van is known."""
        return self._vehicles.get(vehicle_id)

    def put_vehicle(self, state: VehicleState) -> None:
        """Create or replace a van's state."""
        self._vehicles[state.vehicle] = state

    def assign(self, order_id: str, vehicle: str, position: int) -> None:
        """Put an order on a van's route at ``position`` (off any other route)."""
        old = self._route_of.get(order_id)
        if old is not None:
            self._routes[old].pop(order_id, None)
        self._routes.setdefault(vehicle, {})[order_id] = position
        self._route_of[order_id] = vehicle

    def route(self, vehicle_id: str) -> tuple[str, ...]:
        """Order ids on the van's route, by position."""
        stops = self._routes.get(vehicle_id, {})
        return tuple(sorted(stops, key=lambda o: (stops[o], o)))

    def limits(self, order_id: str) -> SensorLimits | None:
        """The order's sensor limits, if any."""
        return self._limits.get(order_id)

    def open_excursions(
        self, *, vehicle: str | None = None, order_id: str | None = None
    ) -> list[Excursion]:
        """Excursions still open, of one van or one order."""
        return [
            e
            for e in self.excursions.values()
            if e.open
            and (vehicle is None or e.vehicle == vehicle)
            and (order_id is None or e.order_id == order_id)
        ]

    def put_excursion(self, excursion: Excursion) -> None:
        """Create or replace an excursion (by id)."""
        self.excursions[excursion.id] = excursion

    def open_exceptions(self, *, vehicle: str) -> list[DispatchException]:
        """The van's open exceptions."""
        return [e for e in self.exceptions.values() if e.open and e.vehicle == vehicle]

    def put_exception(self, exception: DispatchException) -> None:
        """Create or replace an exception (by id)."""
        self.exceptions[exception.id] = exception
