"""What a device key's scope is checked against: routes and a depot's vans.

Keyword-only functions taking an open session first; they never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.tables_dispatch import VehicleRow
from api.db.tables_tracking import RouteStopRow

__all__ = ["depot_vehicle_ids", "route_vehicles"]

#: Bound parameters per ``IN (...)`` query.
_CHUNK = 500


def route_vehicles(
    session: Session, *, day: dt.date, order_ids: Sequence[str]
) -> dict[str, str]:
    """The van whose route holds each of ``order_ids`` on ``day`` (if any)."""
    found: dict[str, str] = {}
    ids = sorted(set(order_ids))
    for i in range(0, len(ids), _CHUNK):
        query = select(RouteStopRow.order_id, RouteStopRow.vehicle).where(
            RouteStopRow.day == day, RouteStopRow.order_id.in_(ids[i : i + _CHUNK])
        )
        for order_id, vehicle in session.execute(query):
            found[order_id] = vehicle
    return found


def depot_vehicle_ids(session: Session, *, depot_id: str) -> frozenset[str]:
    """The ids of the stored vehicles whose home is ``depot_id``."""
    query = select(VehicleRow.id).where(VehicleRow.depot_id == depot_id)
    return frozenset(session.scalars(query))
