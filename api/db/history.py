"""Past orders: every query the service makes on the order history table.

Keyword-only functions taking an open session first; they never commit, so
an import is one transaction: all of a file or none of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.tables_history import CalendarOptionsRow, CalendarRow, HistoryRow
from scenarios.history import COLUMNS

__all__ = [
    "HistoryCounts",
    "HistoryStats",
    "calendar_entries",
    "count_rows",
    "delete_orders",
    "history_frame",
    "history_stats",
    "replace_calendar",
    "upsert_orders",
]

#: Order ids per ``IN (...)`` lookup, and rows per INSERT/UPDATE batch.
_CHUNK = 1_000
#: The columns an imported order fills (``imported_at`` aside): the file's.
_FIELDS = COLUMNS


@dataclass(frozen=True)
class HistoryCounts:
    """What an import did: new ids, changed rows, rows already as given."""

    inserted: int
    updated: int
    unchanged: int


def _same(row: Sequence[Any], new: dict[str, Any]) -> bool:
    """Whether a stored row (``_FIELDS`` order) already holds ``new``."""
    return all(stored == new[name] for name, stored in zip(_FIELDS, row, strict=True))


def _existing(session: Session, ids: list[str]) -> dict[str, Sequence[Any]]:
    """Stored rows of ``ids`` (``_FIELDS`` order), by order id."""
    found: dict[str, Sequence[Any]] = {}
    columns = [getattr(HistoryRow, name) for name in _FIELDS]
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        query = select(*columns).where(HistoryRow.order_id.in_(chunk))
        for row in session.execute(query):
            found[row[0]] = tuple(row)
    return found


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert new orders in batches; an id another import added meanwhile is
    overwritten (insert ... on conflict do update), never an error."""
    dialect = session.get_bind().dialect.name
    for i in range(0, len(rows), _CHUNK):
        chunk = rows[i : i + _CHUNK]
        if dialect in ("postgresql", "sqlite"):
            make = postgresql.insert if dialect == "postgresql" else sqlite.insert
            stmt = make(HistoryRow)
            changes = {n: stmt.excluded[n] for n in (*_FIELDS[1:], "imported_at")}
            session.execute(
                stmt.on_conflict_do_update(index_elements=["order_id"], set_=changes),
                chunk,
            )
        else:
            session.execute(insert(HistoryRow), chunk)


def upsert_orders(session: Session, orders: list[dict[str, Any]]) -> HistoryCounts:
    """Store ``orders`` (dicts of the columns): new ids inserted, known ids
    replaced when they differ, the rest left as they are.

    Each order's ``order_id`` must be unique in ``orders``.
    """
    now = utcnow()
    stored = _existing(session, [o["order_id"] for o in orders])
    new = [{**o, "imported_at": now} for o in orders if o["order_id"] not in stored]
    changed = [
        {**o, "imported_at": now}
        for o in orders
        if o["order_id"] in stored and not _same(stored[o["order_id"]], o)
    ]
    _insert(session, new)
    for i in range(0, len(changed), _CHUNK):
        session.execute(update(HistoryRow), changed[i : i + _CHUNK])
    return HistoryCounts(
        inserted=len(new),
        updated=len(changed),
        unchanged=len(orders) - len(new) - len(changed),
    )


def count_rows(session: Session) -> int:
    """How many past orders are stored."""
    return session.scalar(select(func.count()).select_from(HistoryRow)) or 0


def delete_orders(session: Session, *, before: dt.datetime | None) -> int:
    """Delete the past orders placed before ``before`` (None: every one);
    how many were deleted."""
    query = delete(HistoryRow)
    if before is not None:
        query = query.where(HistoryRow.created_at < before)
    result = session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class HistoryStats:
    """Aggregates of the stored history (empty table: zero rows, no dates)."""

    rows: int
    first_created: dt.datetime | None
    last_created: dt.datetime | None
    last_imported: dt.datetime | None
    zones: dict[str, int]
    depots: dict[str, int]
    outcomes: dict[str, int]


def _grouped(session: Session, column: Any) -> dict[str, int]:
    """Rows per value of ``column`` by value, the rows without one ("") last
    (the databases sort NULL differently)."""
    query = select(column, func.count()).group_by(column)
    found = {
        ("" if key is None else str(key)): int(n) for key, n in session.execute(query)
    }
    return dict(sorted(found.items(), key=lambda kv: (kv[0] == "", kv[0])))


def history_stats(session: Session) -> HistoryStats:
    """Rows, the span of creation times, and the orders per zone, depot and outcome."""
    rows, first, last, imported = session.execute(
        select(
            func.count(),
            func.min(HistoryRow.created_at),
            func.max(HistoryRow.created_at),
            func.max(HistoryRow.imported_at),
        )
    ).one()
    return HistoryStats(
        rows=int(rows),
        first_created=_aware(first),
        last_created=_aware(last),
        last_imported=_aware(imported),
        zones=_grouped(session, HistoryRow.zone),
        depots=_grouped(session, HistoryRow.depot),
        outcomes=_grouped(session, HistoryRow.outcome),
    )


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Aggregates skip the column type: SQLite's come back naive (UTC) or as text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def history_frame(session: Session) -> pd.DataFrame:
    """Every stored order as plain columns: ``created_at``, ``delivered_at``
    (aware UTC), ``zone``, ``depot``, ``lat``, ``lon``, ``outcome``."""
    names = ("created_at", "delivered_at", "zone", "depot", "lat", "lon", "outcome")
    query = select(*(getattr(HistoryRow, n) for n in names))
    frame = pd.DataFrame(session.execute(query).all(), columns=list(names))
    for name in ("created_at", "delivered_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


_ENTRY = ("start", "end", "name", "kind", "scope", "intensity")


def replace_calendar(
    session: Session, entries: list[dict[str, Any]], public_holidays: str
) -> None:
    """The calendar becomes ``entries`` (``start, end, name, kind, scope,
    intensity``) with ``public_holidays`` (merge or replace): the old one goes."""
    session.execute(delete(CalendarRow))
    session.execute(delete(CalendarOptionsRow))
    session.add(CalendarOptionsRow(id=1, public_holidays=public_holidays))
    rows = [{k: e[k] for k in _ENTRY} for e in entries]
    for i in range(0, len(rows), _CHUNK):
        session.execute(insert(CalendarRow), rows[i : i + _CHUNK])


def calendar_entries(session: Session) -> tuple[list[dict[str, Any]], str]:
    """The stored calendar's entries in upload order, and how it meets the
    public holidays (``merge`` while none was uploaded)."""
    query = select(*(getattr(CalendarRow, k) for k in _ENTRY)).order_by(CalendarRow.id)
    entries = [dict(zip(_ENTRY, row, strict=True)) for row in session.execute(query)]
    option = session.scalar(select(CalendarOptionsRow.public_holidays))
    return entries, option or "merge"
