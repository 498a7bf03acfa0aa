"""Stored plans: save a plan of a day, find the current one.

Every plan is kept with the problem it answers. A plan is never edited once
dispatched; a re-optimisation stores a *new* plan whose ``parent_id`` names
the old one, and the old one becomes ``superseded``. The *current* plan of a
day (at a depot) is the newest one that is not superseded.

These functions take an open session and never commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import select
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
    "plan_row",
    "save_plan",
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
) -> PlanRow:
    """Store a new ``draft`` plan; a parent, if named, becomes ``superseded``.

    Parameters
    ----------
    session
        Open session; the caller commits.
    day
        The delivery date the plan is for.
    depot_id
        The depot it plans, or None for a plan of several depots.
    problem
        What was solved (the plan refers to its ids).
    plan
        The solution.
    parent_id
        The plan this one replaces (a re-optimisation or a booking inserted
        into it), or None.
    job_id
        The job that made it, if any.
    plan_id
        The new plan's id; a fresh random id when not given (the plan routes
        give a solved plan its job's id, so the job URL becomes the plan's).
    changes
        What it changes against its parent (re-optimisations).

    Returns
    -------
    PlanRow
        The stored row.
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
    )
    session.add(row)
    if parent_id is not None:
        parent = plan_row(session, parent_id)
        if parent is not None:
            parent.status = "superseded"
    session.flush()
    return row


def plan_row(session: Session, plan_id: str) -> PlanRow | None:
    """The stored plan with this id, if any."""
    return session.get(PlanRow, plan_id)


def current_plan(
    session: Session, day: dt.date, depot_id: str | None
) -> PlanRow | None:
    """The newest plan of ``day`` at ``depot_id`` that is not superseded.

    ``depot_id=None`` means the plans made for several depots at once, not
    "any depot".
    """
    depot = (
        PlanRow.depot_id.is_(None)
        if depot_id is None
        else (PlanRow.depot_id == depot_id)
    )
    return session.scalar(
        select(PlanRow)
        .where(PlanRow.day == day, depot, PlanRow.status != "superseded")
        .order_by(PlanRow.created_at.desc(), PlanRow.id.desc())
        .limit(1)
    )


def child_of(session: Session, plan_id: str) -> PlanRow | None:
    """The newest plan that replaced ``plan_id``, if any."""
    return session.scalar(
        select(PlanRow)
        .where(PlanRow.parent_id == plan_id)
        .order_by(PlanRow.created_at.desc(), PlanRow.id.desc())
        .limit(1)
    )
