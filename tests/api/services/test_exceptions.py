"""The exception service other code calls: raise by key, update, close."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from api.db.engine import make_engine, make_sessionmaker
from api.db.migrate import upgrade
from api.services import exceptions
from tracking.exceptions import ExceptionKind, Severity

DAY = dt.date(2026, 12, 3)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated database (SQLite and PostgreSQL)."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_raise_update_close_by_key(sessions: sessionmaker[Session]) -> None:
    """Raising an open key again updates it (orders added, worse severity
    kept); closing ends it; the same key later opens a new exception."""
    key = "late_risk|van-3"
    with sessions.begin() as session:
        first = exceptions.raise_exception(
            session,
            day=DAY,
            kind=ExceptionKind.LATE_RISK,
            key=key,
            at=36_000,
            vehicle="van-3",
            order_ids=["o1"],
            severity=Severity.CRITICAL,
            detail="o1 will be 25 minutes late",
        )
    with sessions.begin() as session:
        again = exceptions.raise_exception(
            session,
            day=DAY,
            kind=ExceptionKind.LATE_RISK,
            key=key,
            at=36_600,
            vehicle="van-3",
            order_ids=["o2"],
            severity=Severity.WARNING,
            detail="o1, o2 late",
        )
    assert again.id == first.id
    assert again.order_ids == ("o1", "o2")
    assert again.severity is Severity.CRITICAL and again.detail == "o1, o2 late"
    with sessions.begin() as session:
        page = exceptions.list_exceptions(
            session, is_open=True, day=DAY, kind=None, vehicle=None, limit=10, offset=0
        )
        assert [e.id for e in page.data] == [first.id] and page.count == 1
        assert page.data[0].opened_at == dt.datetime.fromisoformat(
            "2026-12-03T10:00:00+09:00"
        )
        closed = exceptions.close_exception(session, day=DAY, key=key, at=37_000)
        assert closed is not None and closed.closed_at == 37_000
        assert exceptions.close_exception(session, day=DAY, key=key, at=37_100) is None
    with sessions.begin() as session:
        assert (
            exceptions.list_exceptions(
                session,
                is_open=True,
                day=DAY,
                kind=None,
                vehicle=None,
                limit=10,
                offset=0,
            ).count
            == 0
        )
        later = exceptions.raise_exception(
            session, day=DAY, kind=ExceptionKind.LATE_RISK, key=key, at=40_000
        )
        assert later.id != first.id
        assert exceptions.read_exception(session, exception_id=first.id).open is False
        by_kind = exceptions.list_exceptions(
            session,
            is_open=None,
            day=None,
            kind=ExceptionKind.SENSOR_EXCURSION,
            vehicle=None,
            limit=10,
            offset=0,
        )
        assert by_kind.count == 0
