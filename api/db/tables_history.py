"""Tables: the operation's past orders and its calendar (migration 0017).

One row per order id, as imported from a history file
(:mod:`scenarios.history`); a forecast of the stored operation counts them
per zone and day. Re-importing an order id replaces its row. The calendar
holds the named days of the last uploaded calendar file (``PUT
/v1/calendar``), which the stored forecast's calendar columns add to the
default retail calendar.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow

__all__ = ["CalendarRow", "HistoryRow"]


class HistoryRow(Base):
    """A past order: when it was placed and delivered, where, and how it ended.

    ``promotions`` is a sorted JSON list of flags; ``outcome`` one of
    :class:`scenarios.history.Outcome`.
    """

    __tablename__ = "order_history"
    __table_args__ = (Index("ix_order_history_created_at", "created_at"),)

    order_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[dt.datetime]
    delivered_at: Mapped[dt.datetime | None]
    zone: Mapped[str | None] = mapped_column(String(128))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    depot: Mapped[str | None] = mapped_column(String(128))
    promotions: Mapped[list[Any]]
    outcome: Mapped[str] = mapped_column(String(16))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CalendarRow(Base):
    """An entry of the uploaded calendar (``forecasting.calendar.CalendarEntry``):
    a named stretch of days of one kind, national (``scope`` empty) or in one
    zone or region."""

    __tablename__ = "calendar_entries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(128))
    intensity: Mapped[float] = mapped_column(Float)


class CalendarOptionsRow(Base):
    """How the uploaded calendar meets the country's public holidays (one row)."""

    __tablename__ = "calendar_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_holidays: Mapped[str] = mapped_column(String(8))
