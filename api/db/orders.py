"""Orders: every query the service makes on them.

Keyword-only functions taking an open session first; they never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.errors import DuplicateId
from api.db.fleet import page
from api.db.tables_dispatch import OrderRow

__all__ = [
    "active_orders",
    "add_orders",
    "count_active_at",
    "deactivate",
    "get_order",
    "inactive_ids",
    "list_orders",
    "order_by_token",
    "order_values",
    "taken_ids",
]

#: Bound parameters per ``IN (...)`` query (SQLite allows 32,766 in all).
_CHUNK = 500


def get_order(session: Session, *, order_id: str) -> OrderRow | None:
    """The order with this id (active or cancelled), if any."""
    return session.get(OrderRow, order_id)


def order_by_token(session: Session, *, token: str) -> OrderRow | None:
    """The order a customer tracking token belongs to, if any."""
    if not token or len(token) > 64:
        return None
    return session.scalar(select(OrderRow).where(OrderRow.tracking_token == token))


def list_orders(
    session: Session,
    *,
    day: dt.date | None,
    depot_id: str | None,
    customer_id: str | None,
    active: bool | None,
    limit: int,
    offset: int,
) -> tuple[int, list[OrderRow]]:
    """A page of orders by day then id, filtered; and how many match."""
    filters: list[Any] = []
    if day is not None:
        filters.append(OrderRow.day == day)
    if depot_id is not None:
        filters.append(OrderRow.depot_id == depot_id)
    if customer_id is not None:
        filters.append(OrderRow.customer_id == customer_id)
    if active is not None:
        filters.append(OrderRow.active.is_(active))
    return page(
        session,
        table=OrderRow,
        filters=filters,
        limit=limit,
        offset=offset,
        order_by=[OrderRow.day],
    )


def taken_ids(session: Session, *, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` that stored orders have already."""
    taken: set[str] = set()
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        taken.update(session.scalars(select(OrderRow.id).where(OrderRow.id.in_(chunk))))
    return taken


def order_values(
    session: Session, *, ids: Iterable[str]
) -> dict[str, tuple[float | None, str | None]]:
    """``(value, promotion)`` of those of ``ids`` that are stored orders."""
    wanted = sorted(set(ids))
    found: dict[str, tuple[float | None, str | None]] = {}
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        query = select(OrderRow.id, OrderRow.value, OrderRow.promotion).where(
            OrderRow.id.in_(chunk)
        )
        found.update(
            (id_, (value, promotion))
            for id_, value, promotion in session.execute(query)
        )
    return found


def inactive_ids(session: Session, *, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` that are stored orders, cancelled (deleted)."""
    found: set[str] = set()
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        query = select(OrderRow.id).where(OrderRow.id.in_(chunk), ~OrderRow.active)
        found.update(session.scalars(query))
    return found


def deactivate(session: Session, *, order_ids: Sequence[str]) -> None:
    """Mark those of ``order_ids`` that are stored orders inactive (cancelled)."""
    ids = sorted(set(order_ids))
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        for row in session.scalars(
            select(OrderRow).where(OrderRow.id.in_(chunk), OrderRow.active)
        ):
            row.active = False
    session.flush()


def add_orders(session: Session, *, rows: Iterable[OrderRow]) -> None:
    """Insert new order rows.

    Raises
    ------
    DuplicateId
        A concurrent insert took an id first (roll the session back).
    """
    rows = list(rows)
    session.add_all(rows)
    try:
        session.flush()
    except IntegrityError as exc:
        raise DuplicateId("order", [r.id for r in rows]) from exc


def count_active_at(session: Session, *, depot_id: str) -> int:
    """How many active orders wait at the depot."""
    n = session.scalar(
        select(func.count())
        .select_from(OrderRow)
        .where(OrderRow.depot_id == depot_id, OrderRow.active)
    )
    return n or 0


def active_orders(
    session: Session, *, day: dt.date, depot_id: str | None
) -> list[OrderRow]:
    """The active orders of a day (at one depot, if given), oldest first."""
    query = (
        select(OrderRow)
        .where(OrderRow.day == day, OrderRow.active)
        .order_by(OrderRow.created_at, OrderRow.id)
    )
    if depot_id is not None:
        query = query.where(OrderRow.depot_id == depot_id)
    return list(session.scalars(query))
