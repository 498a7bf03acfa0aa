"""Delivery and retention metrics over the tracked days (``/v1/metrics``).

Outcomes are made on request from what tracking stored: each day's tracked
plans (with their problems) and events go through
:func:`tracking.outcomes.delivery_outcomes`; when a day was re-planned, an
order counts once, under the newest plan that holds it. Metrics then come
from :func:`tracking.outcomes.performance` and :mod:`tracking.retention`.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.db import orders as order_rows
from api.db import tracking as rows
from api.db.engine import locale_of
from api.db.tables_tracking import TrackedPlan
from api.jobs.payloads import PlanPricing, RetentionCoefficient
from api.jobs.retention_fit import RetentionFitError, fit_effect
from api.services.errors import Invalid
from api.services.tracking import today
from routing.locale import DEFAULT_LOCALE, Locale
from routing.model import Problem
from routing.plan import Plan
from tracking.crm import CrmMetrics, RatingEffect, crm_metrics
from tracking.eta import LegTimes
from tracking.events import Event
from tracking.outcomes import (
    DEFAULT_HORIZONS,
    DeliveryOutcome,
    delivery_outcomes,
    performance,
)
from tracking.retention import monthly_retention, repeat_purchase_rates

__all__ = [
    "DEFAULT_HORIZON_DAYS",
    "MAX_DAYS",
    "MAX_EFFECT_DELIVERIES",
    "ORDER_MARGIN",
    "AcquisitionRate",
    "CohortLtv",
    "CohortRatings",
    "DeliveryMetricsPublic",
    "DeliveryMetricsRow",
    "FirstRepeatRate",
    "FittedEffect",
    "HazardRatio",
    "MonthlyRetention",
    "RepeatRate",
    "RetentionMetricsPublic",
    "RetentionPoint",
    "delivery_metrics",
    "either_day",
    "history_frame",
    "observed_history",
    "outcomes_between",
    "range_effect",
    "rate",
    "retention_metrics",
    "retention_of",
]

#: The longest date range one request may ask for.
MAX_DAYS = 366
Grouping = Literal["day", "zone", "vehicle"]
#: LTV horizon (days after the first delivery) when none is asked for.
DEFAULT_HORIZON_DAYS = 90
#: The margin on a basket. A tracked order whose stored order has no
#: ``value`` (or that is not a stored order) is valued at the deployment's
#: default basket, :data:`tracking.retention.ORDER_VALUE_HOURS` in its
#: currency.
ORDER_MARGIN = 0.25


#: The travel times of one tracked plan: ``(problem, plan, plan_id)`` in.
LegsFor = Callable[[Problem, Plan, str], LegTimes]
#: Each outcome's expected retention cost (money) by order id
#: (:func:`api.services.retention.outcome_costs`).
OutcomeCosts = Callable[[Sequence[DeliveryOutcome]], Mapping[str, float]]


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
    legs: LegTimes | LegsFor | None = None,
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
    legs
        Travel times to replay the live ETA before each arrival with (costs
        time per order), or what gives them per plan (the travel model each
        plan records, :meth:`api.services.tracking.LiveEtas.legs_for`);
        None: no ETA accuracy.
    """
    plans: dict[dt.date, list[TrackedPlan]] = defaultdict(list)
    for row in rows.tracked_plans_between(session, start=start, end=end):
        plans[row.day].append(row)
    out: list[DeliveryOutcome] = []
    for day, day_plans in sorted(plans.items()):
        events = rows.day_events(session, day=day)
        out.extend(_day_outcomes(day, day_plans, events, legs))
    if zone is not None:
        out = [o for o in out if o.zone == zone]
    return out


def _day_outcomes(
    day: dt.date,
    plans: list[TrackedPlan],
    events: list[Event],
    legs: LegTimes | LegsFor | None,
) -> list[DeliveryOutcome]:
    """A day's outcomes; an order counts once, under the newest plan holding it."""
    out: list[DeliveryOutcome] = []
    seen: set[str] = set()
    for row in plans:
        problem = Problem.model_validate(row.problem)
        plan = Plan.model_validate(row.plan)
        fresh = problem.model_copy(
            update={
                "date": problem.date or day,
                "jobs": tuple(j for j in problem.jobs if j.id not in seen),
                "shipments": tuple(s for s in problem.shipments if s.id not in seen),
            }
        )
        seen.update(o.id for o in problem.orders)
        travel = legs(problem, plan, row.plan_id) if callable(legs) else legs
        out.extend(delivery_outcomes(fresh, plan, events, travel=travel))
    return out


def history_frame(
    outcomes: list[DeliveryOutcome],
    orders: Mapping[str, tuple[float | None, str | None]] | None = None,
) -> pd.DataFrame:
    """The order history :mod:`tracking.retention` reads, from outcomes.

    Only attempted deliveries of known customers count; the order date is
    taken as the delivery date (the order's own date is not tracked).

    Parameters
    ----------
    outcomes
        Delivery outcomes (:func:`outcomes_between`).
    orders
        ``(value, promotion)`` of the stored orders by id
        (:func:`api.db.orders.order_values`). When any outcome is a stored
        order, the history gets a ``value`` column (money; NaN when not
        known, so LTV prices it at the locale's default basket) and a ``promotion``
        column (None: none); otherwise neither, and the metrics say
        promotions are not recorded.
    """
    rows = [
        {
            "customer_id": o.customer_id,
            "order_id": o.order_id,
            "ds": pd.Timestamp(o.day),
            "delivery_date": pd.Timestamp(o.day),
            "minutes_late": o.minutes_late,
            "failed_attempts": len(o.failure_reasons),
            "zone": o.zone,
        }
        for o in outcomes
        if o.customer_id is not None and o.day is not None and o.attempts > 0
    ]
    frame = pd.DataFrame(rows, columns=_HISTORY_COLUMNS)
    known = orders or {}
    ids = [str(r["order_id"]) for r in rows]
    if any(i in known for i in ids):
        facts = [known.get(i, (None, None)) for i in ids]
        frame["value"] = pd.Series(
            [math.nan if v is None else float(v) for v, _ in facts], dtype="float64"
        )
        frame["promotion"] = pd.Series([p for _, p in facts], dtype="object")
    return frame


def observed_history(
    session: Session, start: dt.date, end: dt.date, *, zone: str | None = None
) -> pd.DataFrame:
    """:func:`history_frame` of the tracked days ``start..end``, with the
    stored orders' value and promotion."""
    outcomes = outcomes_between(session, start, end, zone=zone)
    stored = order_rows.order_values(session, ids=(o.order_id for o in outcomes))
    return history_frame(outcomes, stored)


_HISTORY_COLUMNS = [
    "customer_id",
    "order_id",
    "ds",
    "delivery_date",
    "minutes_late",
    "failed_attempts",
    "zone",
]


# --- the metrics routes' answers ------------------------------------------------


class DeliveryMetricsRow(BaseModel):
    """Performance of one group (day, zone or van).

    ``eta_mae`` (minutes) and ``eta_coverage`` (share of arrivals inside the
    P10-P90 window) are by horizon in minutes before the arrival; they are
    filled only when asked for with ``eta_accuracy``. ``retention_cost``
    is the group's expected retention cost (in the answer's ``currency``):
    realised for delivered
    and failed orders, live for the rest (None without a retention fit).
    """

    group: str
    orders: int
    attempted: int
    on_time_rate: float | None
    failed_attempt_rate: float | None
    eta_mae: dict[int, float | None]
    eta_coverage: dict[int, float | None]
    retention_cost: float | None = None


class DeliveryMetricsPublic(BaseModel):
    """Delivery metrics over a date range."""

    start: dt.date
    end: dt.date
    zone: str | None
    by: str
    currency: str = Field(description="ISO 4217 code of retention_cost")
    data: list[DeliveryMetricsRow]
    count: int
    retention_pricing: PlanPricing | None = Field(
        default=None,
        description="how retention_cost is priced: the fit, or why not",
    )


class RepeatRate(BaseModel):
    """Share of deliveries followed by another order within ``days``."""

    experience: str
    days: int
    deliveries: int
    repeats: int
    rate: float | None
    low: float | None
    high: float | None


class MonthlyRetention(BaseModel):
    """Share of a month's customers who ordered again the next month."""

    month: str
    customers: int
    retained: int
    rate: float | None
    low: float | None
    high: float | None


class FirstRepeatRate(BaseModel):
    """Share of customers whose second order came within ``days`` of their
    first delivery, by that delivery's experience. Only customers observed
    for ``days`` count (``customers``); the others are ``censored``."""

    experience: str
    days: int
    customers: int
    repeats: int
    censored: int
    rate: float | None
    low: float | None
    high: float | None


class CohortLtv(BaseModel):
    """Mean margin (money) of a customer's orders in the ``horizon_days`` after
    their first delivery, by its experience (95 % interval, by customer)."""

    experience: str
    customers: int
    censored: int
    orders: float | None
    value: float | None
    low: float | None
    high: float | None


class RetentionPoint(BaseModel):
    """One step of a Kaplan-Meier curve: share of a cohort's customers
    without a second order ``day`` days after the first delivery."""

    experience: str
    day: int
    at_risk: int
    events: int
    survival: float
    low: float | None
    high: float | None


class HazardRatio(BaseModel):
    """Second orders per customer-day at risk after a first delivery of this
    experience, over that after an on-time one (constant hazard; 95 %
    interval). Below 1: customers come back more slowly."""

    experience: str
    customers: int
    events: int
    days_at_risk: float
    rate: float | None
    hazard_ratio: float | None
    low: float | None
    high: float | None


class AcquisitionRate(BaseModel):
    """Next-order rate within ``days`` of a delivery, by acquisition cohort:
    ``stage`` (first_purchase or repurchase), ``promotion`` (whether the
    order was promoted) and its ``promotion_kind`` (the stored order's
    promotion, ``none`` if not promoted), and the delivery's experience."""

    stage: str
    promotion: bool
    promotion_kind: str = "none"
    experience: str
    days: int
    deliveries: int
    repeats: int
    censored: int
    rate: float | None
    low: float | None
    high: float | None


class CohortRatings(BaseModel):
    """Ratings of a cohort's deliveries: mean CSAT (1-5) and the NPS score
    (% promoters - % detractors, -100..100), 95 % intervals by customer."""

    experience: str
    rated: int
    csat: float | None
    csat_low: float | None
    csat_high: float | None
    nps_answers: int
    promoters: int
    detractors: int
    nps: float | None
    nps_low: float | None
    nps_high: float | None


class FittedEffect(BaseModel):
    """The estimator's effect of a delivery's experience on the customer's
    next order (``part`` ``hazard``: log hazard ratio per unit of the
    covariate) and on leaving (``churn``: logit), with 95 % intervals,
    fitted on the deliveries of the range and zone asked for
    (:func:`tracking.retention.experience_effect`, checked as the retention
    fit job's: :func:`api.jobs.retention_fit.fit_effect`).

    A range of more than :data:`MAX_EFFECT_DELIVERIES` deliveries is fitted
    on every delivery of a sample of its customers (``customers_fitted`` of
    ``customers``). When it cannot be fitted, ``reason`` says why and there
    are no coefficients. The plans are priced by the stored fit instead
    (``GET /v1/retention/pricing``), whose window may differ."""

    start: dt.date = Field(description="first day of the deliveries fitted")
    end: dt.date = Field(
        description="last day: the range's end, or today when it ends later"
    )
    deliveries: int = Field(description="deliveries fitted")
    customers: int = Field(description="customers with a delivery in the range")
    customers_fitted: int = Field(description="customers fitted (a sample if fewer)")
    n_spells: int | None = None
    n_events: int | None = None
    coefficients: list[RetentionCoefficient] = []
    reason: str | None = Field(
        default=None, description="why there are no coefficients (None: fitted)"
    )


class RetentionMetricsPublic(BaseModel):
    """Retention by delivery experience, over a date range.

    ``repeat`` and ``monthly`` count every delivery; the other lists are by
    the experience of each customer's first delivery in the range.
    """

    start: dt.date
    end: dt.date
    zone: str | None
    currency: str = Field(
        default=DEFAULT_LOCALE.currency,
        description="ISO 4217 code of the lifetime values (ltv)",
    )
    deliveries: int
    customers: int
    repeat: list[RepeatRate]
    monthly: list[MonthlyRetention]
    horizon_days: int = DEFAULT_HORIZON_DAYS
    first_repeat: list[FirstRepeatRate] = []
    ltv: list[CohortLtv] = []
    curves: list[RetentionPoint] = []
    hazard: list[HazardRatio] = []
    acquisition: list[AcquisitionRate] = []
    promotion_recorded: bool = False
    ratings: list[CohortRatings] = []
    rating_effect: RatingEffect | None = None
    experience_effect: FittedEffect | None = None


def either_day(
    value: dt.date | None, alias: dt.date | None, names: tuple[str, str]
) -> dt.date:
    """One of two names for the same day; both or neither is a 422."""
    if value is not None and alias is not None:
        raise Invalid.one(f"query.{names[1]}", f"give {names[0]} or {names[1]}")
    day = value if value is not None else alias
    if day is None:
        raise Invalid.one(f"query.{names[0]}", f"required (or {names[1]})")
    return day


def _check_range(start: dt.date, end: dt.date) -> None:
    if start > end:
        raise Invalid.one("query.start", "start is after end")
    if (end - start).days >= MAX_DAYS:
        raise Invalid.one("query.end", f"at most {MAX_DAYS} days at once")


def _group(value: object) -> str:
    """A group key as text; a missing one (an order on no route) is ``?``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def delivery_metrics(
    session: Session,
    *,
    start: dt.date,
    end: dt.date,
    zone: str | None,
    by: Grouping,
    legs: LegTimes | LegsFor | None,
    costs: OutcomeCosts | None = None,
    pricing: PlanPricing | None = None,
) -> DeliveryMetricsPublic:
    """On-time rate, failed-attempt rate, ETA accuracy (with ``legs``) and
    the expected retention cost (with ``costs``, priced as ``pricing`` says)
    per group."""
    _check_range(start, end)
    outcomes = outcomes_between(session, start, end, zone=zone, legs=legs)
    table = performance(outcomes, by=by)
    retention: dict[str, float] | None = None
    if costs is not None:
        retention = defaultdict(float)
        by_order = costs(outcomes)
        for o in outcomes:
            key = _group(o.day if by == "day" else getattr(o, by))
            retention[key] += by_order.get(o.order_id, 0.0)
    data = [
        DeliveryMetricsRow(
            group=_group(r[by]),
            orders=int(r["orders"]),
            attempted=int(r["attempted"]),
            on_time_rate=rate(r["on_time_rate"]),
            failed_attempt_rate=rate(r["failed_attempt_rate"]),
            eta_mae={h: rate(r[f"eta_mae_{h}"]) for h in DEFAULT_HORIZONS},
            eta_coverage={h: rate(r[f"eta_coverage_{h}"]) for h in DEFAULT_HORIZONS},
            retention_cost=None
            if retention is None
            else round(retention.get(_group(r[by]), 0.0), 2),
        )
        for r in table.to_dict("records")
    ]
    return DeliveryMetricsPublic(
        start=start,
        end=end,
        zone=zone,
        by=by,
        currency=locale_of(session).currency,
        data=data,
        count=len(data),
        retention_pricing=pricing,
    )


def retention_metrics(
    session: Session,
    *,
    start: dt.date,
    end: dt.date,
    zone: str | None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> RetentionMetricsPublic:
    """Repeat-purchase rates, monthly retention and the CRM metrics
    (:mod:`tracking.crm`) by delivery experience."""
    _check_range(start, end)
    history = observed_history(session, start, end, zone=zone)
    ratings = pd.DataFrame(
        rows.ratings_of(session, order_ids=history["order_id"]),
        columns=["order_id", "csat", "nps"],
    )
    answer = retention_of(
        history,
        ratings,
        start=start,
        end=end,
        zone=zone,
        horizon_days=horizon_days,
        locale=locale_of(session),
    )
    answer.currency = locale_of(session).currency
    # Days still to come are no days at risk, but every delivery is inside.
    last = start if history.empty else max(history["ds"]).date()
    answer.experience_effect = range_effect(
        history,
        start=start,
        end=max(min(end, today(locale_of(session).zone)), last),
        zone=zone,
        key=str(session.get_bind().engine.url),
    )
    return answer


#: Most deliveries a range's experience effect is fitted on in a request
#: (benchmarks/RESULTS.md); a longer range is fitted on a sample of its
#: customers.
MAX_EFFECT_DELIVERIES = 200_000
_EFFECTS: dict[tuple[object, ...], FittedEffect] = {}
_EFFECTS_LOCK = threading.Lock()
_EFFECTS_KEPT = 16


def _sample(history: pd.DataFrame, most: int) -> pd.DataFrame:
    """Every delivery of the customers that fit in ``most`` deliveries, taken
    in the order of a fixed hash of their id (the same range, the same
    sample, in every process)."""
    counts = history["customer_id"].astype(str).value_counts()
    ids = counts.index.to_numpy(dtype=object)
    order = np.argsort(pd.util.hash_array(ids), kind="stable")
    taken = np.cumsum(counts.to_numpy()[order]) <= most
    keep = set(ids[order][taken])
    return history[history["customer_id"].astype(str).isin(keep)]


def range_effect(
    history: pd.DataFrame,
    *,
    start: dt.date,
    end: dt.date,
    zone: str | None,
    key: str = "",
) -> FittedEffect:
    """The experience effect of ``history`` (:func:`history_frame`, the range
    ``start..end``), as :class:`FittedEffect`; at most
    :data:`MAX_EFFECT_DELIVERIES` deliveries are fitted (a sample of
    customers beyond). Kept per ``key`` (the database), range, zone and
    history: asking again for unchanged days does not fit again."""
    columns = ["customer_id", "order_id", "ds", "minutes_late", "failed_attempts"]
    digest = int(pd.util.hash_pandas_object(history[columns], index=False).sum())
    cache_key = (key, start, end, zone, len(history), digest)
    with _EFFECTS_LOCK:
        kept = _EFFECTS.get(cache_key)
    if kept is not None:
        return kept
    fitted = (
        history
        if len(history) <= MAX_EFFECT_DELIVERIES
        else _sample(history, MAX_EFFECT_DELIVERIES)
    )
    window = f"{start}..{end}" + ("" if zone is None else f" (zone {zone})")
    base = {
        "start": start,
        "end": end,
        "deliveries": len(fitted),
        "customers": int(history["customer_id"].nunique()),
        "customers_fitted": int(fitted["customer_id"].nunique()),
    }
    try:
        effect, coefficients = fit_effect(fitted, end, window)
    except RetentionFitError as exc:
        answer = FittedEffect(**base, reason=str(exc))
    else:
        answer = FittedEffect(
            **base,
            n_spells=effect.n_spells,
            n_events=effect.n_events,
            coefficients=list(coefficients),
        )
    with _EFFECTS_LOCK:
        while len(_EFFECTS) >= _EFFECTS_KEPT:
            _EFFECTS.pop(next(iter(_EFFECTS)))
        _EFFECTS[cache_key] = answer
    return answer


def retention_of(
    history: pd.DataFrame,
    ratings: pd.DataFrame,
    *,
    start: dt.date,
    end: dt.date,
    zone: str | None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    locale: Locale = DEFAULT_LOCALE,
) -> RetentionMetricsPublic:
    """The answer of :func:`retention_metrics` for an order history
    (:func:`history_frame`) and its ratings (``order_id``, ``csat``, ``nps``);
    money in ``locale``'s currency."""
    repeat: list[RepeatRate] = []
    monthly: list[MonthlyRetention] = []
    crm: dict[str, object] = {}
    if not history.empty:
        rates = repeat_purchase_rates(history, by="experience", end=end)
        repeat = [
            RepeatRate(
                experience=str(r["group"]),
                days=int(r["days"]),
                deliveries=int(r["deliveries"]),
                repeats=int(r["repeats"]),
                rate=rate(r["rate"]),
                low=rate(r["low"]),
                high=rate(r["high"]),
            )
            for r in rates.to_dict("records")
        ]
        monthly = [
            MonthlyRetention(
                month=str(r["month"]),
                customers=int(r["customers"]),
                retained=int(r["retained"]),
                rate=rate(r["rate"]),
                low=rate(r["low"]),
                high=rate(r["high"]),
            )
            for r in monthly_retention(history).to_dict("records")
        ]
        crm = _crm_fields(
            crm_metrics(
                history,
                ratings,
                horizon_days=horizon_days,
                margin=ORDER_MARGIN,
                end=end,
                locale=locale,
            )
        )
    return RetentionMetricsPublic.model_validate(
        {
            "start": start,
            "end": end,
            "zone": zone,
            "deliveries": len(history),
            "customers": int(history["customer_id"].nunique()),
            "repeat": repeat,
            "monthly": monthly,
            "horizon_days": horizon_days,
            **crm,
        }
    )


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts: NaN becomes None, numpy scalars Python ones."""
    out: list[dict[str, object]] = []
    for record in frame.to_dict("records"):
        row: dict[str, object] = {}
        for key, value in record.items():
            if isinstance(value, float) and math.isnan(value):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            row[str(key)] = value
        out.append(row)
    return out


def _crm_fields(m: CrmMetrics) -> dict[str, object]:
    """The CRM parts of :class:`RetentionMetricsPublic`."""
    effect = m.rating_effect
    return {
        "first_repeat": _records(m.repeat),
        "ltv": _records(m.ltv),
        "curves": _records(m.curves),
        "hazard": _records(m.hazard),
        "acquisition": _records(
            m.acquisition.drop(columns="promotion_recorded").astype({"promotion": bool})
        ),
        "promotion_recorded": bool(m.acquisition["promotion_recorded"].any()),
        "ratings": _records(m.ratings),
        "rating_effect": effect,
    }
