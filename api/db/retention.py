"""Retention pricing fits on the service database (migration 0014).

Keyword-only functions taking an open session first, never committing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.tables_tracking import NightlyFitRow, RetentionPricingRow
from api.jobs.payloads import RetentionFitResult

__all__ = ["claim_night", "current_fit", "save_fit"]


def save_fit(
    session: Session, *, job_id: str, result: RetentionFitResult
) -> RetentionPricingRow:
    """Store a successful fit of job ``job_id``."""
    data = result.model_dump(mode="json")
    row = RetentionPricingRow(
        job_id=job_id,
        status="succeeded",
        start=result.start,
        end=result.end,
        pricing=data["pricing"],
        coefficients=data["coefficients"],
        customer_values=data["customer_values"],
        n_spells=result.n_spells,
        n_events=result.n_events,
        n_customers=result.n_customers,
        n_orders=result.n_orders,
    )
    session.add(row)
    session.flush()
    return row


def current_fit_job(session: Session) -> str | None:
    """The job id of the newest successful fit (a cheap read: no JSON loaded)."""
    return session.scalars(
        select(RetentionPricingRow.job_id)
        .where(RetentionPricingRow.status == "succeeded")
        .order_by(RetentionPricingRow.created_at.desc(), RetentionPricingRow.id.desc())
        .limit(1)
    ).first()


def current_fit(session: Session) -> RetentionPricingRow | None:
    """The newest successful fit: the deployment's current pricing."""
    return session.scalars(
        select(RetentionPricingRow)
        .where(RetentionPricingRow.status == "succeeded")
        .order_by(RetentionPricingRow.created_at.desc(), RetentionPricingRow.id.desc())
        .limit(1)
    ).first()


def claim_night(session: Session, *, day: dt.date) -> NightlyFitRow | None:
    """Claim the nightly fit of shop ``day`` (set its ``job_id`` once the job
    exists); None when it was claimed already, by this process or another."""
    if session.get(NightlyFitRow, day) is not None:
        return None
    row = NightlyFitRow(day=day, job_id="")
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row
