"""Tables: depots, vehicles and orders (migration 0002; order value and
promotion, 0015; pickup stations and an order's station, 0016).

Each row keeps the routing model it stands for (``routing.model.Depot``,
``PickupStation``, ``Vehicle`` or ``Job``) as JSON in ``spec``, dumped with
``mode="json"``; the columns beside it are the ones queries filter on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, Numeric, String
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow
from routing.model import Depot, Job, PickupStation, Vehicle

__all__ = ["DepotRow", "OrderRow", "StationRow", "VehicleRow"]

#: Longest id the routing models accept (``routing.model.Id``).
ID_LENGTH = 128


def _created_at(context: DefaultExecutionContext) -> dt.datetime:
    """A new row was last updated when it was created, to the microsecond."""
    # SQLAlchemy ships this method untyped.
    params = context.get_current_parameters()  # type: ignore[no-untyped-call]
    created: dt.datetime = params["created_at"]
    return created


class DepotRow(Base):
    """A depot; ``spec`` is its :class:`routing.model.Depot`."""

    __tablename__ = "depots"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=_created_at, onupdate=utcnow
    )

    @property
    def depot(self) -> Depot:
        """The routing depot."""
        return Depot.model_validate(self.spec)

    @depot.setter
    def depot(self, depot: Depot) -> None:
        self.spec = depot.model_dump(mode="json")


class StationRow(Base):
    """A pickup station; ``spec`` is its :class:`routing.model.PickupStation`."""

    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=_created_at, onupdate=utcnow
    )

    @property
    def station(self) -> PickupStation:
        """The routing pickup station."""
        return PickupStation.model_validate(self.spec)

    @station.setter
    def station(self, station: PickupStation) -> None:
        self.spec = station.model_dump(mode="json")


class VehicleRow(Base):
    """A vehicle; ``depot_id`` is its home (start, else end) depot."""

    __tablename__ = "vehicles"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    depot_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=_created_at, onupdate=utcnow
    )

    @property
    def vehicle(self) -> Vehicle:
        """The routing vehicle."""
        return Vehicle.model_validate(self.spec)

    @vehicle.setter
    def vehicle(self, vehicle: Vehicle) -> None:
        self.spec = vehicle.model_dump(mode="json")


class OrderRow(Base):
    """A customer order for one day; cancelling clears ``active``, never deletes.

    ``tracking_token`` is random (not derived from the id): whoever holds it
    may follow this one order, and nothing else. ``value`` (money) and
    ``promotion`` (a :class:`forecasting.calendar.PromotionType` value) are
    what the CRM metrics read; null when not given. ``station_id`` copies
    ``job.station`` so that a station in use can be found without reading
    every order's JSON.
    """

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_day_depot_id", "day", "depot_id"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    day: Mapped[dt.date]
    depot_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    station_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    #: Decimals since migration 0018 (a currency's cents).
    value: Mapped[float | None] = mapped_column(Numeric(20, 4, asdecimal=False))
    promotion: Mapped[str | None] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]]
    tracking_token: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=_created_at, onupdate=utcnow
    )

    @property
    def job(self) -> Job:
        """The routing job (the stop, its windows and demand)."""
        return Job.model_validate(self.spec)

    @job.setter
    def job(self, job: Job) -> None:
        self.spec = job.model_dump(mode="json")
        self.station_id = job.station
