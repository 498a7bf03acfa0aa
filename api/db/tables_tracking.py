"""Tables: tracking events, order statuses, vehicle states, route stops (0004),
route revisions (0005), order limits, sensor excursions and dispatcher
exceptions (0007), dead letters (0008), order ratings (0012), retention
pricing fits (0014).

They hold what :class:`tracking.store.Store` keeps, per operating day: the
bodies are the tracking library's own models as JSON (``Event``,
``OrderStatus``, ``VehicleState``), with the columns queries filter on
copied out beside them. ``tracked_plans`` keeps a copy of each registered
plan and its problem, so live ETAs need no other area's tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow

__all__ = [
    "DeadLetterRow",
    "EventRow",
    "ExceptionRow",
    "ExcursionRow",
    "NightlyFitRow",
    "OrderLimitsRow",
    "OrderRatingRow",
    "OrderStatusRow",
    "RetentionPricingRow",
    "RouteRevision",
    "RouteStopRow",
    "TrackedPlan",
    "VehicleStateRow",
]

ID = 128  # tracking.events.Id: at most 128 characters


class EventRow(Base):
    """An accepted tracking event; ids are unique per operating day."""

    __tablename__ = "events"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[int]
    vehicle: Mapped[str | None] = mapped_column(String(ID), index=True)
    order_id: Mapped[str | None] = mapped_column(String(ID), index=True)
    body: Mapped[dict[str, Any]]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OrderStatusRow(Base):
    """An order's status with its history (``tracking.status.OrderStatus``)."""

    __tablename__ = "order_statuses"

    order_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    day: Mapped[dt.date] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(32))
    vehicle: Mapped[str | None] = mapped_column(String(ID))
    updated_at: Mapped[int]
    status: Mapped[dict[str, Any]]


class VehicleStateRow(Base):
    """A van's shift, position and stop (``tracking.store.VehicleState``)."""

    __tablename__ = "vehicle_states"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    vehicle: Mapped[str] = mapped_column(String(ID), primary_key=True)
    state: Mapped[dict[str, Any]]


class RouteStopRow(Base):
    """An order's place on a van's route that day, and the plan that put it there."""

    __tablename__ = "route_stops"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    vehicle: Mapped[str] = mapped_column(String(ID), index=True)
    position: Mapped[int]
    plan_id: Mapped[str | None] = mapped_column(String(ID))


class TrackedPlan(Base):
    """A registered plan and its problem, for live ETAs and outcomes.

    ``version`` grows whenever the stored plan changes, so parsed copies
    cached in memory can be keyed by ``(plan_id, version)``.
    """

    __tablename__ = "tracked_plans"

    plan_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    day: Mapped[dt.date] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(default=1)
    plan: Mapped[dict[str, Any]]
    problem: Mapped[dict[str, Any]]
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RouteRevision(Base):
    """How often a van's route changed that day (migration 0005).

    Every ingest that accepts an event of the van, or of an order on its
    route, adds one in the same transaction, so a live ETA computed at
    revision ``r`` is still right while the revision is ``r``, in any process.
    """

    __tablename__ = "route_revisions"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    vehicle: Mapped[str] = mapped_column(String(ID), primary_key=True)
    revision: Mapped[int] = mapped_column(default=1)


class OrderLimitsRow(Base):
    """An order's sensor limits (``tracking.sensors.limits_of`` of its
    handling), written when a plan routing it is registered (migration 0007)."""

    __tablename__ = "order_limits"

    order_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    limits: Mapped[dict[str, Any]]


class ExcursionRow(Base):
    """A sensor excursion of an order (``tracking.sensors.Excursion``, 0007)."""

    __tablename__ = "excursions"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(2 * ID), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(ID), index=True)
    vehicle: Mapped[str] = mapped_column(String(ID), index=True)
    open: Mapped[bool]
    body: Mapped[dict[str, Any]]


class ExceptionRow(Base):
    """An exception for the dispatcher (``tracking.exceptions.DispatchException``,
    0007); times in the body count from local midnight of ``day``."""

    __tablename__ = "dispatch_exceptions"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    day: Mapped[dt.date] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(2 * ID), index=True)
    vehicle: Mapped[str | None] = mapped_column(String(ID), index=True)
    open: Mapped[bool] = mapped_column(index=True)
    opened_at: Mapped[int]
    body: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeadLetterRow(Base):
    """An event the database could not store, kept with why (0008).

    ``payload`` is the raw event as received (JSON text; characters the
    database cannot hold, such as NUL, written as ``\\uXXXX`` escapes),
    ``source`` ``http`` or ``mqtt``, ``error`` the database's message.
    """

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(8))
    day: Mapped[dt.date | None]
    event_id: Mapped[str | None] = mapped_column(String(ID))
    vehicle: Mapped[str | None] = mapped_column(String(ID))
    payload: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)


class OrderRatingRow(Base):
    """The customer's rating of a delivered order (0012): CSAT 1-5, NPS 0-10
    (optional) and a comment (optional); one per order, a new one replaces it."""

    __tablename__ = "order_ratings"

    order_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    csat: Mapped[int]
    nps: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RetentionPricingRow(Base):
    """One fit of the deployment's lateness pricing (0014).

    Written when a ``retention_fit`` job succeeds (``job_id``): the pricing
    (:class:`tracking.feedback.LatenessPricing` as JSON), the experience
    effect's coefficients with their intervals, the customers' expected
    future margins, how much history it saw and its window. The newest
    ``succeeded`` row is the deployment's current pricing; a fit that could
    not run is a failed job, not a row.
    """

    __tablename__ = "retention_pricing"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(16), default="succeeded")
    start: Mapped[dt.date]
    end: Mapped[dt.date]
    pricing: Mapped[dict[str, Any]]
    coefficients: Mapped[list[Any]]
    customer_values: Mapped[dict[str, Any]]
    n_spells: Mapped[int]
    n_events: Mapped[int]
    n_customers: Mapped[int]
    n_orders: Mapped[int]


class NightlyFitRow(Base):
    """The nightly retention fit queued for a shop day (0014): one per day,
    whichever serving process queued it (the primary key keeps it one)."""

    __tablename__ = "retention_nightly_fits"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
