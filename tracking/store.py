"""Storage for the tracker: a small repository protocol and an in-memory one.

The tracker never touches a database; it is handed a :class:`Store`. The
service implements the protocol on SQL; tests and simulations use
:class:`MemoryStore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from routing.base import FrozenModel
from tracking.events import Event, event_sort_key
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


class Store(Protocol):
    """Where the tracker keeps events, order statuses, vans and routes."""

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


class MemoryStore:
    """A :class:`Store` in dictionaries (one process, no persistence)."""

    def __init__(self) -> None:
        self._events: dict[str, Event] = {}
        self._orders: dict[str, OrderStatus] = {}
        self._vehicles: dict[str, VehicleState] = {}
        self._routes: dict[str, dict[str, int]] = {}
        self._route_of: dict[str, str] = {}

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
