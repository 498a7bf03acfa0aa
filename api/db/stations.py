"""Pickup stations: every query the service makes on them.

Keyword-only functions taking an open session first; they never commit.
Inserting and deleting share :func:`api.db.fleet.add_new` and
:func:`api.db.fleet.remove` with depots and vehicles.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.fleet import page
from api.db.tables_dispatch import OrderRow, StationRow

__all__ = [
    "count_active_using",
    "get_station",
    "list_stations",
    "station_ids",
    "stations_by_id",
]


def get_station(session: Session, *, station_id: str) -> StationRow | None:
    """The station with this id, if any."""
    return session.get(StationRow, station_id)


def list_stations(
    session: Session, *, limit: int, offset: int
) -> tuple[int, list[StationRow]]:
    """A page of stations by id, and how many there are."""
    return page(session, table=StationRow, filters=[], limit=limit, offset=offset)


def all_stations(session: Session) -> list[StationRow]:
    """Every stored station, by id."""
    return list(session.scalars(select(StationRow).order_by(StationRow.id)))


def station_ids(session: Session) -> set[str]:
    """The ids of every stored station."""
    return set(session.scalars(select(StationRow.id)))


def stations_by_id(session: Session, *, ids: Collection[str]) -> list[StationRow]:
    """The stored stations among ``ids``, by id."""
    query = (
        select(StationRow).where(StationRow.id.in_(sorted(ids))).order_by(StationRow.id)
    )
    return list(session.scalars(query))


def count_active_using(session: Session, *, station_id: str) -> int:
    """How many active orders are delivered to the station."""
    n = session.scalar(
        select(func.count())
        .select_from(OrderRow)
        .where(OrderRow.station_id == station_id, OrderRow.active)
    )
    return n or 0
