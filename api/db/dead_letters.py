"""Dead letters: events the database could not store, and reading them back.

Keyword-only functions taking a session first; they never commit.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.tables_tracking import ID, DeadLetterRow

__all__ = ["MAX_PAYLOAD", "add_dead_letter", "list_dead_letters", "storable"]

#: Longest payload kept (characters); longer ones are cut, saying so.
MAX_PAYLOAD = 1_000_000
_MAX_ERROR = 4_000


def storable(text: str, limit: int) -> str:
    """``text`` as any database holds it: control characters (NUL...) and
    lone surrogates as ``\\uXXXX`` escapes, cut to ``limit`` characters."""
    out = []
    for char in text:
        if char not in "\t\n\r" and unicodedata.category(char) in ("Cc", "Cs"):
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    kept = "".join(out)
    if len(kept) > limit:
        cut = len(kept) - limit
        kept = f"{kept[:limit]}... ({cut} characters cut)"
    return kept


def add_dead_letter(
    session: Session,
    *,
    source: str,
    payload: str,
    error: str,
    day: dt.date | None = None,
    event_id: str | None = None,
    vehicle: str | None = None,
) -> DeadLetterRow:
    """Keep an event the database would not store (the caller commits)."""
    row = DeadLetterRow(
        source=source,
        day=day,
        event_id=None if event_id is None else storable(event_id, ID)[:ID],
        vehicle=None if vehicle is None else storable(vehicle, ID)[:ID],
        payload=storable(payload, MAX_PAYLOAD),
        error=storable(error, _MAX_ERROR),
    )
    session.add(row)
    session.flush()
    return row


def list_dead_letters(
    session: Session, *, skip: int, limit: int
) -> tuple[int, list[DeadLetterRow]]:
    """How many dead letters there are, and a page of them, newest first."""
    count = session.scalar(select(func.count()).select_from(DeadLetterRow)) or 0
    rows = session.scalars(
        select(DeadLetterRow)
        .order_by(DeadLetterRow.id.desc())
        .offset(skip)
        .limit(limit)
    )
    return count, list(rows)
