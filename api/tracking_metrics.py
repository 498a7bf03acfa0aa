"""Delivery and retention metrics over the tracked days.

Outcomes are made on request from what tracking stored: each day's tracked
plans (with their problems) and events go through
:func:`tracking.outcomes.delivery_outcomes`; when a day was re-planned, an
order counts once, under the newest plan that holds it. Metrics then come
from :func:`tracking.outcomes.performance` and :mod:`tracking.retention`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.tables_tracking import EventRow, TrackedPlan
from api.tracking_service import legs
from routing.model import Problem
from routing.plan import Plan
from tracking.events import Event, parse_event
from tracking.outcomes import DeliveryOutcome, delivery_outcomes

__all__ = ["history_frame", "outcomes_between", "rate"]


def rate(value: object) -> float | None:
    """A number for JSON: NaN and missing become None."""
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def outcomes_between(
    session: Session,
    start: dt.date,
    end: dt.date,
    *,
    zone: str | None = None,
    eta_accuracy: bool = False,
) -> list[DeliveryOutcome]:
    """Delivery outcomes of the tracked days ``start..end`` (inclusive).

    Parameters
    ----------
    session
        Open session.
    start, end
        Operating days.
    zone
        Keep only orders of this zone (:func:`tracking.zones.grid_zone`).
    eta_accuracy
        Replay the live ETA before each arrival (costs time per order).
    """
    plans: dict[dt.date, list[TrackedPlan]] = defaultdict(list)
    for row in session.scalars(
        select(TrackedPlan)
        .where(TrackedPlan.day >= start, TrackedPlan.day <= end)
        .order_by(TrackedPlan.day, TrackedPlan.registered_at.desc())
    ):
        plans[row.day].append(row)
    out: list[DeliveryOutcome] = []
    for day, rows in sorted(plans.items()):
        events: list[Event] = [
            parse_event(body)
            for body in session.scalars(
                select(EventRow.body).where(EventRow.day == day)
            )
        ]
        seen: set[str] = set()
        for row in rows:
            problem = Problem.model_validate(row.problem)
            plan = Plan.model_validate(row.plan)
            fresh = problem.model_copy(
                update={
                    "date": problem.date or day,
                    "jobs": tuple(j for j in problem.jobs if j.id not in seen),
                    "shipments": tuple(
                        s for s in problem.shipments if s.id not in seen
                    ),
                }
            )
            seen.update(o.id for o in problem.orders)
            out.extend(
                delivery_outcomes(
                    fresh, plan, events, travel=legs() if eta_accuracy else None
                )
            )
    if zone is not None:
        out = [o for o in out if o.zone == zone]
    return out


def history_frame(outcomes: list[DeliveryOutcome]) -> pd.DataFrame:
    """The order history :mod:`tracking.retention` reads, from outcomes.

    Only attempted deliveries of known customers count; the order date is
    taken as the delivery date (the order's own date is not tracked).
    """
    rows = [
        {
            "customer_id": o.customer_id,
            "order_id": o.order_id,
            "ds": pd.Timestamp(o.day),
            "delivery_date": pd.Timestamp(o.day),
            "minutes_late": o.minutes_late,
            "failed_attempts": len(o.failure_reasons),
        }
        for o in outcomes
        if o.customer_id is not None and o.day is not None and o.attempts > 0
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "order_id",
            "ds",
            "delivery_date",
            "minutes_late",
            "failed_attempts",
        ],
    )
