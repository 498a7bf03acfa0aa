"""The operation's own history: upload past orders, read a summary.

``POST /v1/history`` takes a whole history file as the request body (CSV or
JSON lines, optionally gzipped; up to ``MILEPOST_MAX_HISTORY_BYTES``, 64 MiB
by default, instead of the 5 MiB of other routes) and imports all of it or,
with one bad row, none of it (422 listing ``line``, ``field`` and
``reason`` per problem). It runs in the request: 100,000 rows take seconds
(benchmarks/RESULTS.md), not a job's minutes. ``GET /v1/history`` sums up
what is stored; a forecast runs on it once it holds any order.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from api.deps import Principal, Role, SessionDep, SettingsDep, require
from api.errors import problem_responses
from api.services import history
from api.services.errors import Invalid
from api.services.history import CalendarStored, HistoryImport, HistorySummary
from forecasting.calendar import PublicHolidays
from scenarios.history import HistoryFormat, history_format

__all__ = ["calendar_router", "router"]

router = APIRouter(
    prefix="/history", tags=["history"], responses=problem_responses(401, 403)
)
calendar_router = APIRouter(
    prefix="/calendar", tags=["history"], responses=problem_responses(401, 403)
)

Planner = Annotated[Principal, Depends(require(Role.planner))]

#: Content types that name a format (parameters such as charset aside).
_TYPES: dict[str, HistoryFormat] = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json-lines": "jsonl",
    "application/x-jsonlines": "jsonl",
}


async def _raw_body(request: Request) -> bytes:
    """The request body as sent (read here: the route takes no JSON)."""
    return await request.body()


def _format(given: str | None, content_type: str | None) -> HistoryFormat:
    """``format`` if given, else the content type's; 422 naming ``query.format``."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    choice = given or _TYPES.get(media)
    try:
        return history_format(None, choice)
    except ValueError:
        raise Invalid.one(
            "query.format",
            "give format=csv or format=jsonl, or send Content-Type text/csv or "
            f"application/x-ndjson (got {media or 'none'!r})",
        ) from None


@router.post(
    "",
    response_model=HistoryImport,
    responses=problem_responses(413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                # JSON lines go as application/x-ndjson (or ?format=jsonl).
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
def import_history(
    request: Request,
    body: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    settings: SettingsDep,
    _: Planner,
    format: Annotated[
        Literal["csv", "jsonl"] | None,
        Query(description="csv or jsonl (default: from the Content-Type)"),
    ] = None,
) -> HistoryImport:
    """Import past orders: every row checked first, then all stored or none.

    Rows are keyed by ``order_id``: importing the same file again changes
    nothing, and a known id with other values replaces the stored row. The
    body may be gzipped (its first bytes tell). Times without an offset are
    read in the deployment's timezone.
    """
    fmt = _format(format, request.headers.get("content-type"))
    text = history.decode_upload(body, settings.max_history_bytes)
    return history.import_history(
        session, text, fmt, history.deployment_timezone(session)
    )


@router.get("", response_model=HistorySummary)
def read_history(session: SessionDep, _: Planner) -> HistorySummary:
    """The stored history: rows, first and last order day, per zone, depot, outcome."""
    return history.read_summary(session, history.deployment_timezone(session))


@router.delete("", response_model=history.HistoryDeleted)
def delete_history(
    session: SessionDep,
    _: Planner,
    before: Annotated[
        dt.date | None,
        Query(
            description="delete only the orders placed before this day "
            "(YYYY-MM-DD, the deployment's timezone); left out: every one"
        ),
    ] = None,
) -> history.HistoryDeleted:
    """Delete stored past orders (all, or those placed before a day): to
    replace a wrong import. The calendar stays; forecasts run on what is
    left, or on the embedded city once nothing is."""
    return history.delete_history(session, before, history.deployment_timezone(session))


@calendar_router.put(
    "",
    response_model=CalendarStored,
    responses=problem_responses(422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
def put_calendar(
    body: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    settings: SettingsDep,
    _: Planner,
    public_holidays: Annotated[
        PublicHolidays,
        Query(
            description="merge: the entries join the public holidays of the "
            "deployment's country (MILEPOST_COUNTRY, _SUBDIVISION); replace: "
            "they are the only holidays"
        ),
    ] = "merge",
) -> CalendarStored:
    """Replace the operation's calendar with a file (CSV or JSON lines).

    Each entry: ``start``, ``end`` (optional, inclusive), ``name``, ``kind``
    (``holiday``, ``closure``, ``promotion`` or ``event``), ``scope``
    (empty: national; else the zone or depot it applies to) and
    ``intensity`` (promotions; default 1). The older ``date,name,type`` CSV
    is read too. The stored forecast knows these days ahead; a bad file (422
    naming the line and field) leaves the stored calendar as it was.
    """
    text = history.decode_upload(body, settings.max_body_bytes)
    return history.put_calendar(session, text, public_holidays)


@calendar_router.get("", response_model=CalendarStored)
def read_calendar(session: SessionDep, _: Planner) -> CalendarStored:
    """The operation's calendar, by day."""
    return history.read_calendar(session)
