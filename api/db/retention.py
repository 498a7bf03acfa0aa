"""Retention pricing fits on the service database (migration 0014).

Keyword-only functions taking an open session first, never committing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.tables_tracking import RetentionPricingRow
from api.jobs.payloads import RetentionFitResult

__all__ = ["current_fit", "save_fit"]


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


def current_fit(session: Session) -> RetentionPricingRow | None:
    """The newest successful fit: the deployment's current pricing."""
    return session.scalars(
        select(RetentionPricingRow)
        .where(RetentionPricingRow.status == "succeeded")
        .order_by(RetentionPricingRow.created_at.desc(), RetentionPricingRow.id.desc())
        .limit(1)
    ).first()
