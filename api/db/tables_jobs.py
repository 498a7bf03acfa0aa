"""Tables: jobs and plans (migration 0003).

A *job* is work done off the request thread (a solve, a re-optimisation, a
forecast, a scenario run): its payload goes in, its progress and result or
error come out. A *plan* is a solved delivery day, kept with the problem it
answers so it can be checked, re-optimised and dispatched later.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import JSON, Float, Integer, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from api.db.base import Base, utcnow
from routing.model import Problem
from routing.plan import Plan
from routing.reoptimise import Changes

__all__ = ["JobRow", "PlanRow", "PydanticJSON", "new_id"]

M = TypeVar("M", bound=BaseModel)


def new_id() -> str:
    """A fresh random id: 32 hex digits (uuid4)."""
    return uuid.uuid4().hex


class PydanticJSON(TypeDecorator[M], Generic[M]):
    """A pydantic model stored as JSON and read back as the model.

    The database sees plain ``JSON``, so the migration declares ``sa.JSON()``.
    Rows are immutable records here: a changed model is assigned whole, never
    edited in place (the models are frozen anyway).
    """

    impl = JSON()
    cache_ok = True

    def __init__(self, model: type[M]) -> None:
        super().__init__()
        self.model = model

    def process_bind_param(
        self,
        value: M | None,
        dialect: Dialect,  # noqa: ARG002
    ) -> Any:
        """Dump the model to JSON-ready data."""
        return None if value is None else value.model_dump(mode="json")

    def process_result_value(
        self,
        value: Any,
        dialect: Dialect,  # noqa: ARG002
    ) -> M | None:
        """Validate the stored data as the model."""
        return None if value is None else self.model.model_validate(value)


class JobRow(Base):
    """One unit of background work and where it stands.

    ``status`` moves ``queued`` -> ``running`` -> ``succeeded`` | ``failed``
    (or ``cancelled`` from either of the first two);
    ``attempts`` counts how often a runner started it (a runner that dies
    mid-job leaves it ``running``; another re-queues it). ``worker_id`` is
    the runner holding a running job, ``heartbeat_at`` when it last renewed
    its lease (migration 0010).
    """

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    worker_id: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[dt.datetime | None]


class PlanRow(Base):
    """A plan of one day (at one depot, or of several), with its problem.

    ``status`` is ``draft`` (may be dispatched or re-optimised),
    ``dispatched`` (frozen: sent to the vans) or ``superseded`` (a
    re-optimisation replaced it; ``parent_id`` of the new plan points here).
    A plan solved by a job has the job's id as its own id. ``superseded_by``
    names the plan that replaced it, ``locks`` the orders whose stop keeps
    its van and place in later re-optimisations (migration 0013).
    """

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    day: Mapped[dt.date] = mapped_column(index=True)
    depot_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    problem: Mapped[Problem] = mapped_column(PydanticJSON(Problem))
    plan: Mapped[Plan] = mapped_column(PydanticJSON(Plan))
    changes: Mapped[Changes | None] = mapped_column(PydanticJSON(Changes))
    parent_id: Mapped[str | None] = mapped_column(String(32))
    job_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[dt.datetime | None]
    superseded_by: Mapped[str | None] = mapped_column(String(32))
    locks: Mapped[list[str] | None] = mapped_column(JSON)
