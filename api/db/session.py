"""The per-request session: one unit of work, committed or rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

__all__ = ["SessionDep", "get_session"]


def get_session(request: Request) -> Iterator[Session]:
    """A session from ``app.state.sessionmaker``; commit on success.

    Any exception (an ``HTTPException`` included) rolls the work back.
    """
    with request.app.state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


# scope="function": commit before the response is sent, so a failed commit
# becomes an error response instead of a 200 for data that was never saved.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
