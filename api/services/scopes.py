"""What a device may report: the one rule of ``POST /v1/events`` and MQTT.

A device key is bound to one vehicle or to the stored vehicles of one depot
(:class:`DeviceScope`). It may send only **device events**
(:data:`DEVICE_EVENTS`: positions, shift start and end, stop arrivals and
departures, deliveries, failed attempts, sensor readings), only for its own
vehicle(s), and only about orders on the route of one of them that operating
day. **Operator events** (an order created, planned, dispatched, a failed
attempt resolved, an order cancelled) need a dispatcher or admin key; their
keys are not limited to vans.

Over MQTT the scope is the topic's van: ``{root}/vehicles/{van}/events``.
:func:`refusal` is the rule itself (pure); :func:`screen` applies it to a
batch, looking up the routes of the orders named.

Device keys issued before keys were bound (migration 0009) have no scope and
may send nothing: :func:`device_scope` refuses them, saying to issue a new
key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.auth import Principal, Role
from api.db import scopes as scope_rows
from api.services.errors import Forbidden
from tracking.events import Event

__all__ = [
    "DEVICE_EVENTS",
    "DeviceScope",
    "check_events",
    "device_scope",
    "refusal",
    "screen",
]

#: Event types a device may send (for its own vans and their orders).
DEVICE_EVENTS = frozenset(
    {
        "position",
        "shift_start",
        "shift_end",
        "stop_arrived",
        "stop_departed",
        "delivered",
        "failed_attempt",
        "sensor",
    }
)


@dataclass(frozen=True)
class DeviceScope:
    """The vans a device may report for, and how to name them in a refusal."""

    vehicles: frozenset[str]
    name: str

    @classmethod
    def vehicle(cls, vehicle_id: str) -> DeviceScope:
        """One van's scope (a key bound to it, or its MQTT topic)."""
        return cls(frozenset({vehicle_id}), f"vehicle {vehicle_id!r}")


def refusal(
    event: Event, scope: DeviceScope, routes: Mapping[str, str] | None = None
) -> str | None:
    """Why a device of ``scope`` may not send ``event``; ``None`` if it may.

    Parameters
    ----------
    event
        The event.
    scope
        The device's vans.
    routes
        Order id -> the van whose route holds it that day, for the orders
        the events name (:func:`screen` looks them up). ``None`` leaves the
        order out of the check (a caller without the database checks it
        later).
    """
    if event.type not in DEVICE_EVENTS:
        return (
            f"event {event.id}: {event.type} is an operator event; "
            "it needs a dispatcher or admin key"
        )
    vehicle: str | None = getattr(event, "vehicle", None)
    if vehicle is not None and vehicle not in scope.vehicles:
        return (
            f"event {event.id}: vehicle {vehicle!r} is not this device's ({scope.name})"
        )
    order_id: str | None = getattr(event, "order_id", None)
    if order_id is None or routes is None:
        return None
    on = routes.get(order_id)
    if on is None:
        return f"event {event.id}: order {order_id!r} is on no route that day"
    if on not in scope.vehicles or (vehicle is not None and on != vehicle):
        return (
            f"event {event.id}: order {order_id!r} is on the route of vehicle "
            f"{on!r}, not {vehicle or scope.name!r}"
        )
    return None


def screen(
    session: Session, day: dt.date, events: Sequence[Event], scope: DeviceScope
) -> tuple[list[Event], list[str]]:
    """Split a batch into what the device may send and why the rest may not."""
    order_ids = [o for e in events if (o := getattr(e, "order_id", None))]
    routes = scope_rows.route_vehicles(session, day=day, order_ids=order_ids)
    allowed: list[Event] = []
    refused: list[str] = []
    for event in events:
        reason = refusal(event, scope, routes)
        if reason is None:
            allowed.append(event)
        else:
            refused.append(reason)
    return allowed, refused


def device_scope(session: Session, caller: Principal) -> DeviceScope | None:
    """The vans a device key may report for; ``None`` for other keys.

    Raises
    ------
    Forbidden
        A device key without a binding (issued before keys were bound).
    """
    if caller.role is not Role.device:
        return None
    if caller.vehicle_id is not None:
        return DeviceScope.vehicle(caller.vehicle_id)
    if caller.depot_id is not None:
        vans = scope_rows.depot_vehicle_ids(session, depot_id=caller.depot_id)
        return DeviceScope(vans, f"depot {caller.depot_id!r}'s vehicles")
    raise Forbidden(
        f"device key {caller.key_id} ({caller.name!r}) is bound to no vehicle: it "
        "was issued before device keys were bound; issue a new device key with "
        "vehicle_id or depot_id and revoke this one"
    )


def check_events(
    session: Session, caller: Principal, day: dt.date, events: Sequence[Event]
) -> None:
    """Refuse the whole batch (:class:`Forbidden`) if the caller may not send
    one of its events; dispatcher and admin keys may send any."""
    scope = device_scope(session, caller)
    if scope is None:
        return
    _, refused = screen(session, day, events, scope)
    if refused:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise Forbidden(refused[0] + more)
