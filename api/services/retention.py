"""The deployment's lateness pricing, learned from its own tracked days.

``POST /v1/retention/fit`` builds the observable order history of the
tracked days in a window (:func:`api.services.metrics.history_frame`) and
queues a ``retention_fit`` job with it (:mod:`api.jobs.retention_fit`);
when the job succeeds, :func:`store_fit` keeps the pricing, the fitted
coefficients with their intervals and the customers' values as a row of
``retention_pricing``. ``GET /v1/retention/pricing`` is the newest one.
Nothing here feeds planning yet.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.db import retention as fits
from api.jobs.kinds import JobKinds, OnSuccess
from api.jobs.payloads import (
    RetentionCoefficient,
    RetentionFitPayload,
    RetentionFitResult,
)
from api.jobs.queue import JobPublic, JobQueue
from api.jobs.runner import JobHook
from api.services.errors import FieldError, Invalid, NotFound
from api.services.metrics import MAX_DAYS, history_frame, outcomes_between
from api.services.watch import shop_today
from tracking.feedback import LatenessPricing

__all__ = [
    "DEFAULT_DAYS",
    "CustomerValueSummary",
    "RetentionFitCreate",
    "RetentionFitJobPublic",
    "RetentionPricingPublic",
    "create_fit",
    "read_fit",
    "read_pricing",
    "retention_hooks",
    "store_fit",
]

#: Days of history a fit reads when no ``from`` is given (ending ``until``).
DEFAULT_DAYS = 365
NO_FIT = "no fit yet: POST /v1/retention/fit"


class RetentionFitCreate(BaseModel):
    """The tracked days to learn from: ``from..until`` (inclusive).

    ``until`` defaults to today (the shop's), ``from`` to
    :data:`DEFAULT_DAYS` days before it; at most ``MAX_DAYS`` days.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: dt.date | None = Field(default=None, alias="from")
    until: dt.date | None = None


class RetentionFitJobPublic(JobPublic):
    """A retention fit job; ``result`` is set once it has succeeded."""

    result: RetentionFitResult | None = None


class CustomerValueSummary(BaseModel):
    """The customers' expected future margins (won, a year) of a fit."""

    customers: int
    mean: float | None
    median: float | None
    p90: float | None


class RetentionPricingPublic(BaseModel):
    """The deployment's current lateness pricing and the fit it came from."""

    model_config = ConfigDict(populate_by_name=True)

    job_id: str
    created_at: dt.datetime
    status: str
    start: dt.date = Field(serialization_alias="from")
    until: dt.date
    pricing: LatenessPricing
    coefficients: list[RetentionCoefficient]
    n_spells: int
    n_events: int
    n_customers: int
    n_orders: int
    customer_values: CustomerValueSummary


def _window(request: RetentionFitCreate) -> tuple[dt.date, dt.date]:
    until = request.until or shop_today()
    start = request.start or until - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start > until:
        raise Invalid([FieldError(field="from", reason=f"after until ({until})")])
    if (until - start).days + 1 > MAX_DAYS:
        raise Invalid(
            [
                FieldError(
                    field="from",
                    reason=f"{(until - start).days + 1} days before until; "
                    f"at most {MAX_DAYS}",
                )
            ]
        )
    return start, until


def fit_payload(session: Session, start: dt.date, end: dt.date) -> RetentionFitPayload:
    """The observable order history of the tracked days ``start..end``."""
    history = history_frame(outcomes_between(session, start, end))
    return RetentionFitPayload(
        start=start,
        end=end,
        order_id=tuple(history["order_id"].astype(str)),
        customer_id=tuple(history["customer_id"].astype(str)),
        day=tuple(d.date() for d in history["ds"]),
        minutes_late=tuple(float(m) for m in history["minutes_late"]),
        failed_attempts=tuple(int(f) for f in history["failed_attempts"]),
    )


def create_fit(
    session: Session, *, queue: JobQueue, request: RetentionFitCreate
) -> JobPublic:
    """Queue a fit of the tracked days' history (422 naming a bad window)."""
    start, end = _window(request)
    payload = fit_payload(session, start, end)
    return queue.public(queue.submit(session, queue.kinds.retention_fit, payload))


def read_fit(
    session: Session, *, queue: JobQueue, job_id: str
) -> RetentionFitJobPublic:
    """A fit job: status and progress (the reason if it failed), the fit when done."""
    kind = queue.kinds.retention_fit
    found = queue.result(session, job_id, kind)
    if found is None:
        raise NotFound(f"no {kind.name} {job_id}")
    row, result = found
    return RetentionFitJobPublic(**queue.public(row).model_dump(), result=result)


def read_pricing(session: Session) -> RetentionPricingPublic:
    """The newest successful fit (:class:`NotFound` before the first)."""
    row = fits.current_fit(session)
    if row is None:
        raise NotFound(NO_FIT)
    values = np.array(list(row.customer_values.values()), dtype=np.float64)
    have = len(values) > 0
    return RetentionPricingPublic(
        job_id=row.job_id,
        created_at=row.created_at,
        status=row.status,
        start=row.start,
        until=row.end,
        pricing=LatenessPricing.model_validate(row.pricing),
        coefficients=[RetentionCoefficient.model_validate(c) for c in row.coefficients],
        n_spells=row.n_spells,
        n_events=row.n_events,
        n_customers=row.n_customers,
        n_orders=row.n_orders,
        customer_values=CustomerValueSummary(
            customers=len(values),
            mean=round(float(values.mean()), 2) if have else None,
            median=round(float(np.median(values)), 2) if have else None,
            p90=round(float(np.quantile(values, 0.9)), 2) if have else None,
        ),
    )


def store_fit(
    session: Session,
    job_id: str,
    payload: RetentionFitPayload,  # noqa: ARG001
    result: RetentionFitResult,
) -> None:
    """Keep a succeeded fit: it becomes the current pricing."""
    fits.save_fit(session, job_id=job_id, result=result)


def retention_hooks(kinds: JobKinds) -> list[tuple[str, JobHook]]:
    """The hook that stores the pricing of finished retention fits."""
    return [(kinds.retention_fit.name, OnSuccess(kinds.retention_fit, store_fit))]
