"""Stored plans: every query the service makes on them.

Every plan is kept with the problem it answers. A plan is never edited once
dispatched; a re-optimisation (or an edit) stores a *new* plan whose
``parent_id`` names the old one. A draft parent becomes ``superseded`` at
once; a dispatched parent stays dispatched (and live) until its child is
dispatched. ``superseded_by`` names the plan that replaced a superseded one.
The *current* plan of a day (at a depot) is the newest one that is not
superseded.

Keyword-only functions taking an open session first; they never commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.tables_jobs import PlanRow, new_id
from routing.model import Problem
from routing.plan import Plan
from routing.reoptimise import Changes

__all__ = [
    "PlanRow",
    "PlanStatus",
    "child_of",
    "current_plan",
    "dispatched_plans",
    "dispatched_plans_of_day",
    "get_plan",
    "list_plans",
    "plan_stamp",
    "save_plan",
    "supersede",
    "supersede_draft",
    "supersede_drafts",
]

PlanStatus = Literal["draft", "dispatched", "superseded"]


def save_plan(
    session: Session,
    *,
    day: dt.date,
    depot_id: str | None,
    problem: Problem,
    plan: Plan,
    parent_id: str | None,
    job_id: str | None,
    plan_id: str | None = None,
    changes: Changes | None = None,
    locks: list[str] | None = None,
) -> PlanRow:
    """Store a new ``draft`` plan; a draft parent, if named, becomes ``superseded``.

    A dispatched parent stays dispatched: the new plan is its draft under
    review, and dispatching it supersedes the parent. ``plan_id`` defaults
    to a fresh random id (a solved plan gets its job's id, so the job URL
    becomes the plan's); ``changes`` are what a re-optimisation or an edit
    changes against its parent; ``locks`` the locked orders.
    """
    row = PlanRow(
        id=plan_id or new_id(),
        day=day,
        depot_id=depot_id,
        status="draft",
        problem=problem,
        plan=plan,
        changes=changes,
        parent_id=parent_id,
        job_id=job_id,
        created_at=utcnow(),
        locks=locks or None,
    )
    session.add(row)
    if parent_id is not None:
        parent = get_plan(session, plan_id=parent_id)
        if parent is not None and parent.status != "dispatched":
            supersede(parent, by=row.id)
    session.flush()
    return row


def supersede(row: PlanRow, *, by: str | None) -> None:
    """Mark a plan superseded by plan ``by`` (None: discarded); keeps the first."""
    row.status = "superseded"
    if row.superseded_by is None:
        row.superseded_by = by


def _depot_is(depot_id: str | None) -> Any:
    return (
        PlanRow.depot_id.is_(None)
        if depot_id is None
        else (PlanRow.depot_id == depot_id)
    )


def supersede_drafts(
    session: Session, *, day: dt.date, depot_id: str | None, by: str
) -> list[str]:
    """Supersede (by plan ``by``) the other drafts of ``day`` at ``depot_id``.

    ``depot_id=None`` means the plans made for several depots at once.
    Returns the ids of the drafts it superseded.
    """
    rows = session.scalars(
        select(PlanRow).where(
            PlanRow.day == day,
            _depot_is(depot_id),
            PlanRow.status == "draft",
            PlanRow.id != by,
        )
    )
    taken = []
    for row in rows:
        supersede(row, by=by)
        taken.append(row.id)
    session.flush()
    return taken


def dispatched_plans(
    session: Session, *, day: dt.date, depot_id: str | None
) -> list[PlanRow]:
    """The dispatched (live) plans of ``day`` at ``depot_id``, newest first."""
    return list(
        session.scalars(
            select(PlanRow)
            .where(
                PlanRow.day == day,
                _depot_is(depot_id),
                PlanRow.status == "dispatched",
            )
            .order_by(PlanRow.created_at.desc(), PlanRow.id.desc())
        )
    )


def get_plan(session: Session, *, plan_id: str) -> PlanRow | None:
    """The stored plan with this id, if any."""
    return session.get(PlanRow, plan_id)


def plan_stamp(session: Session, *, plan_id: str) -> dt.datetime | None:
    """When the plan was stored (None: no such plan), read alone: a cheap key
    for what is computed from a plan, which never changes once stored."""
    return session.scalar(select(PlanRow.created_at).where(PlanRow.id == plan_id))


def current_plan(
    session: Session, *, day: dt.date, depot_id: str | None
) -> PlanRow | None:
    """The newest plan of ``day`` at ``depot_id`` that is not superseded.

    ``depot_id=None`` means the plans made for several depots at once, not
    "any depot".
    """
    return session.scalar(
        select(PlanRow)
        .where(PlanRow.day == day, _depot_is(depot_id), PlanRow.status != "superseded")
        .order_by(PlanRow.created_at.desc(), PlanRow.id.desc())
        .limit(1)
    )


def child_of(session: Session, *, plan_id: str) -> PlanRow | None:
    """The plan that replaced ``plan_id`` (else its newest child), if any."""
    row = get_plan(session, plan_id=plan_id)
    if row is not None and row.superseded_by is not None:
        return get_plan(session, plan_id=row.superseded_by)
    return session.scalar(
        select(PlanRow)
        .where(PlanRow.parent_id == plan_id)
        .order_by(PlanRow.created_at.desc(), PlanRow.id.desc())
        .limit(1)
    )


def dispatched_plans_of_day(session: Session, *, day: dt.date) -> list[PlanRow]:
    """Every dispatched (live) plan of ``day``, whatever its depot."""
    return list(
        session.scalars(
            select(PlanRow)
            .where(PlanRow.day == day, PlanRow.status == "dispatched")
            .order_by(PlanRow.created_at, PlanRow.id)
        )
    )


def list_plans(
    session: Session,
    *,
    day: dt.date | None,
    depot_id: str | None,
    status: PlanStatus | None,
    skip: int,
    limit: int,
) -> tuple[int, list[PlanRow]]:
    """A page of stored plans, newest first, and how many match."""
    filters: list[Any] = []
    if day is not None:
        filters.append(PlanRow.day == day)
    if depot_id is not None:
        filters.append(PlanRow.depot_id == depot_id)
    if status is not None:
        filters.append(PlanRow.status == status)
    count = session.scalar(select(func.count()).select_from(PlanRow).where(*filters))
    rows = session.scalars(
        select(PlanRow)
        .where(*filters)
        .order_by(PlanRow.created_at.desc(), PlanRow.id.desc())
        .offset(skip)
        .limit(limit)
    )
    return count or 0, list(rows)


def supersede_draft(session: Session, *, plan_id: str) -> bool:
    """Mark a plan superseded if it is still a draft; whether it was."""
    taken = session.execute(
        update(PlanRow)
        .where(PlanRow.id == plan_id, PlanRow.status == "draft")
        .values(status="superseded")
    )
    return getattr(taken, "rowcount", 0) == 1
