"""The operation's own history: import past orders, summarise them, count them.

An import reads a whole file (:func:`scenarios.history.read_history`),
checks every row, and stores all of it in one transaction or, with one bad
row, none of it: the refusal lists each problem as ``line N, field F:
reason``. Rows are keyed by order id, so importing the same file again
changes nothing and a row with a known id replaces the stored one. The code
behind ``milepost history import`` and ``POST /v1/history``.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.db import history as rows
from api.db.engine import locale_of
from api.db.fleet import list_depots
from api.services.errors import FieldError, Invalid
from forecasting.calendar import CalendarEntry, PublicHolidays
from routing.units import midnight
from scenarios.history import (
    DemandHistory,
    HistoryFormat,
    HistoryInvalid,
    OwnCalendar,
    PastOrder,
    demand_history,
)
from scenarios.history import read_history as parse_history

__all__ = [
    "MAX_HISTORY_BYTES",
    "CalendarStored",
    "HistoryDeleted",
    "HistoryImport",
    "HistorySummary",
    "NamedCount",
    "RowError",
    "decode_upload",
    "delete_history",
    "deployment_timezone",
    "import_history",
    "own_calendar",
    "put_calendar",
    "read_calendar",
    "read_summary",
    "stored_demand",
    "tomorrow",
]

#: Largest history upload (bytes, after gunzip): 100,000 orders of a CSV
#: take about 12 MB.
MAX_HISTORY_BYTES = 64 * 1024 * 1024


def deployment_timezone(session: Session) -> ZoneInfo:
    """The deployment's timezone (``MILEPOST_TIMEZONE``, carried by its
    sessions): naive history times are read in it, and a forecast's default
    start is tomorrow there."""
    return locale_of(session).zone


def tomorrow(tz: dt.tzinfo) -> dt.date:
    """The day after today in ``tz``."""
    return dt.datetime.now(tz).date() + dt.timedelta(days=1)


class RowError(FieldError):
    """A bad field of one line of an uploaded history file."""

    line: int = Field(description="line of the file (the CSV header is line 1)")


class HistoryImport(BaseModel):
    """What an import did: ``rows`` orders read, by what happened to each."""

    rows: int
    inserted: int
    updated: int = Field(description="known order ids whose row changed")
    unchanged: int = Field(description="known order ids already stored as given")


class NamedCount(BaseModel):
    """Stored orders of one zone, depot or outcome (``name`` None: not given)."""

    name: str | None
    orders: int


class HistorySummary(BaseModel):
    """The stored history: how many orders, from when to when, where."""

    rows: int
    first_day: dt.date | None = Field(description="first order day (local)")
    last_day: dt.date | None = Field(description="last order day (local)")
    last_imported: dt.datetime | None
    timezone: str = Field(description="the days are local days of this timezone")
    zones: list[NamedCount]
    depots: list[NamedCount]
    outcomes: list[NamedCount]
    source: Literal["stored", "embedded"] = Field(
        description="what a forecast runs on: the stored history, or the "
        "embedded city while none is stored"
    )


def decode_upload(data: bytes, limit: int = MAX_HISTORY_BYTES) -> str:
    """An uploaded file as text: gunzipped when it is gzip, then UTF-8.

    Raises
    ------
    Invalid
        On a broken gzip stream, more than ``limit`` bytes once unpacked,
        or bytes that are not UTF-8 (field ``body``).
    """
    if data[:2] == b"\x1f\x8b":
        try:
            unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = unpacker.decompress(data, limit + 1)
        except zlib.error as exc:
            raise Invalid.one("body", f"not a valid gzip file: {exc}") from None
        if len(data) > limit:
            raise Invalid.one("body", f"more than {limit} bytes once unzipped")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid.one(
            "body", f"not UTF-8 text (byte {exc.start}): save the file as UTF-8"
        ) from None


def _columns(order: PastOrder) -> dict[str, object]:
    return {
        "order_id": order.order_id,
        "created_at": order.created_at,
        "delivered_at": order.delivered_at,
        "zone": order.zone,
        "lat": order.lat,
        "lon": order.lon,
        "depot": order.depot,
        "promotions": list(order.promotions),
        "outcome": order.outcome.value,
    }


def import_history(
    session: Session, text: str, fmt: HistoryFormat, tz: dt.tzinfo
) -> HistoryImport:
    """Check every row of a history file, then store them all (upsert by id).

    Raises
    ------
    Invalid
        Listing the bad rows (:class:`RowError`: line, field, reason);
        nothing is stored.
    """
    try:
        orders = parse_history(text, fmt, tz)
    except HistoryInvalid as exc:
        errors = [
            RowError(line=p.line, field=p.field, reason=p.reason) for p in exc.problems
        ]
        raise Invalid(errors, str(exc)) from None
    counts = rows.upsert_orders(session, [_columns(o) for o in orders])
    return HistoryImport(
        rows=len(orders),
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
    )


class HistoryDeleted(BaseModel):
    """What deleting stored history did."""

    deleted: int = Field(description="past orders deleted")
    before: dt.date | None = Field(
        description="only orders placed before this local day (null: all)"
    )
    left: int = Field(description="past orders still stored")


def delete_history(
    session: Session, before: dt.date | None, tz: dt.tzinfo
) -> HistoryDeleted:
    """Delete the stored past orders placed before local midnight of
    ``before`` in ``tz`` (None: all of them). The calendar stays."""
    cutoff = None if before is None else midnight(before, tz)
    deleted = rows.delete_orders(session, before=cutoff)
    return HistoryDeleted(deleted=deleted, before=before, left=rows.count_rows(session))


def _named(counts: dict[str, int]) -> list[NamedCount]:
    return [NamedCount(name=k or None, orders=n) for k, n in counts.items()]


def read_summary(session: Session, tz: dt.tzinfo) -> HistorySummary:
    """Rows, local first and last order day, orders per zone, depot and outcome."""
    stats = rows.history_stats(session)
    first, last = stats.first_created, stats.last_created
    return HistorySummary(
        rows=stats.rows,
        first_day=None if first is None else first.astimezone(tz).date(),
        last_day=None if last is None else last.astimezone(tz).date(),
        last_imported=stats.last_imported,
        timezone=str(tz),
        zones=_named(stats.zones),
        depots=_named(stats.depots),
        outcomes=_named(stats.outcomes),
        source="stored" if stats.rows else "embedded",
    )


class CalendarStored(BaseModel):
    """The operation's calendar: what the stored forecast knows ahead.

    ``entries`` are the uploaded ones; ``public_holidays`` says whether they
    are merged with the public holidays of ``country`` (and
    ``subdivision``, the deployment's ``MILEPOST_COUNTRY`` /
    ``MILEPOST_SUBDIVISION``) or replace them.
    """

    entries: list[CalendarEntry]
    count: int
    public_holidays: PublicHolidays
    country: str
    subdivision: str | None


def parse_calendar(text: str) -> list[CalendarEntry]:
    """A calendar file's entries (``forecasting.calendar_io.load_calendar_file``:
    CSV or JSON lines, ``start,end,name,kind,scope,intensity`` or the older
    ``date,name,type``; the one place the service reads such a file).

    Raises
    ------
    Invalid
        Field ``body``, with the parser's line, column and reason.
    """
    import io

    from forecasting.calendar_io import load_calendar_file

    stream = io.StringIO(text)
    stream.name = "calendar"
    try:
        entries = load_calendar_file(stream)
    except ValueError as exc:
        raise Invalid.one("body", str(exc)) from None
    return list(entries)


def put_calendar(
    session: Session, text: str, public_holidays: PublicHolidays = "merge"
) -> CalendarStored:
    """Replace the stored calendar with a file's entries (all or nothing)."""
    entries = parse_calendar(text)
    rows.replace_calendar(
        session, [e.to_row() for e in entries], public_holidays=public_holidays
    )
    return _stored(session, entries, public_holidays)


def read_calendar(session: Session) -> CalendarStored:
    """The stored calendar, in upload order."""
    found, public_holidays = rows.calendar_entries(session)
    entries = [CalendarEntry.from_row(e) for e in found]
    return _stored(
        session, entries, "replace" if public_holidays == "replace" else "merge"
    )


def _stored(
    session: Session, entries: list[CalendarEntry], public_holidays: PublicHolidays
) -> CalendarStored:
    locale = locale_of(session)
    return CalendarStored(
        entries=entries,
        count=len(entries),
        public_holidays=public_holidays,
        country=locale.country,
        subdivision=locale.subdivision,
    )


def own_calendar(session: Session) -> OwnCalendar:
    """The stored calendar as the stored forecast uses it."""
    stored = read_calendar(session)
    return OwnCalendar(
        entries=tuple(stored.entries),
        public_holidays=stored.public_holidays,
        locale=locale_of(session),
    )


def stored_demand(
    session: Session, tz: dt.tzinfo, *, seed: int
) -> DemandHistory | None:
    """The stored orders counted per zone and depot and day, with the
    service's depots to size fleets at; None while no history is stored."""
    if rows.count_rows(session) == 0:
        return None
    _, found = list_depots(session, limit=10_000, offset=0)
    depots = [row.depot for row in found]
    return demand_history(
        rows.history_frame(session),
        tz,
        depots,
        seed=seed,
        calendar=own_calendar(session),
    )
