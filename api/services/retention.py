"""The deployment's lateness pricing, learned from its own tracked days.

``POST /v1/retention/fit`` builds the observable order history of the
tracked days in a window (:func:`api.services.metrics.history_frame`) and
queues a ``retention_fit`` job with it (:mod:`api.jobs.retention_fit`);
when the job succeeds, :func:`store_fit` keeps the pricing, the fitted
coefficients with their intervals and the customers' values as a row of
``retention_pricing``. ``GET /v1/retention/pricing`` is the newest one.

Planning uses the newest fit (:func:`current_pricing`): :func:`priced`
gives every order of a problem the soft-window prices of its customer's
value, and :func:`retention_of` is the expected retention cost of a plan's
planned times. :func:`live_retention` sets each order's live cost beside
it (its delivery, failed attempts, or live ETA against the promised
window: :func:`live_minutes`) for the console's live view, and
:func:`outcome_costs` the realised cost of tracked days for the delivery
metrics; :func:`pricing_of` says how (or why not) they are priced.

With ``MILEPOST_RETENTION_FIT_AT=HH:MM`` each serving process runs a
:class:`RetentionFitSchedule`: once the shop's clock passes that time, it
queues the day's fit unless one was queued for that day already
(:func:`submit_nightly`; the day is a primary key, so several processes
queue one job a day).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import tzinfo
from functools import cached_property
from typing import Generic, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker

from api.db import retention as fits
from api.db import tracking as tracking_rows
from api.db.engine import locale_of
from api.jobs.kinds import JobKinds, OnSuccess
from api.jobs.payloads import (
    PlanPricing,
    RetentionCoefficient,
    RetentionFitPayload,
    RetentionFitResult,
)
from api.jobs.queue import JobPublic, JobQueue
from api.jobs.runner import JobHook
from api.services.errors import FieldError, Invalid, NotFound
from api.services.metrics import (
    MAX_DAYS,
    history_frame,
    observed_history,
    outcomes_between,
)
from api.services.tracking import LiveEtas, eta_clock, today
from api.settings import Settings
from routing.locale import DEFAULT_LOCALE, Locale
from routing.model import Problem, TimeWindow
from routing.plan import Plan
from routing.units import day_length
from tracking.eta import Eta
from tracking.feedback import (
    ORDER_MARGIN_HOURS,
    CustomerValue,
    LatenessPricing,
    expected_loss,
    price_problem,
    recent_late_counts,
)
from tracking.late_risk import order_windows, promised_window_end
from tracking.outcomes import DeliveryOutcome
from tracking.status import OrderState, OrderStatus

__all__ = [
    "DEFAULT_DAYS",
    "NO_FIT_YET",
    "CurrentPricing",
    "CustomerValueSummary",
    "DayCost",
    "DayRetention",
    "OrderRetention",
    "RetentionCost",
    "RetentionFitCreate",
    "RetentionFitJobPublic",
    "RetentionFitSchedule",
    "RetentionPricingPublic",
    "create_fit",
    "current_pricing",
    "day_cost",
    "live_minutes",
    "live_retention",
    "outcome_costs",
    "priced",
    "pricing_of",
    "read_fit",
    "read_pricing",
    "recent_lateness",
    "recent_lateness_by_day",
    "retention_hooks",
    "retention_of",
    "running_late",
    "store_fit",
    "submit_nightly",
]

log = logging.getLogger("milepost.retention")

#: Days of history a fit reads when no ``from`` is given (ending ``until``).
DEFAULT_DAYS = 365
NO_FIT = "no fit yet: POST /v1/retention/fit"
#: Why a plan or a day is not priced by a fit (uniform).
NO_FIT_YET = "no retention fit yet"


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
    """The customers' expected future margins (money, a year) of a fit."""

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


def _window(request: RetentionFitCreate, tz: tzinfo) -> tuple[dt.date, dt.date]:
    until = request.until or today(tz)
    if request.start is not None:
        start = request.start
    elif until.toordinal() > DEFAULT_DAYS:
        start = until - dt.timedelta(days=DEFAULT_DAYS - 1)
    else:
        start = dt.date.min
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
    history = observed_history(session, start, end)
    values = history.get("value")
    return RetentionFitPayload(
        start=start,
        end=end,
        order_id=tuple(history["order_id"].astype(str)),
        customer_id=tuple(history["customer_id"].astype(str)),
        day=tuple(d.date() for d in history["ds"]),
        minutes_late=tuple(float(m) for m in history["minutes_late"]),
        failed_attempts=tuple(int(f) for f in history["failed_attempts"]),
        value=None
        if values is None
        else tuple(None if math.isnan(v) else float(v) for v in values),
        locale=locale_of(session),
    )


def create_fit(
    session: Session, *, queue: JobQueue, request: RetentionFitCreate
) -> JobPublic:
    """Queue a fit of the tracked days' history (422 naming a bad window)."""
    start, end = _window(request, locale_of(session).zone)
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


# --- pricing plans ----------------------------------------------------------------


class CurrentPricing(BaseModel):
    """The newest fit's pricing and customers' values, and its job; money
    in ``locale``'s currency (the deployment's), which sizes a customer's
    default order margin."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    pricing: LatenessPricing
    values: Mapping[str, float]
    locale: Locale = DEFAULT_LOCALE

    @cached_property
    def typical(self) -> float:
        """The median customer value: the value of a customer the fit never saw."""
        if not self.values:
            return 0.0
        return float(np.median(np.array(list(self.values.values()), dtype=np.float64)))

    def customer(self, customer_id: str | None, recent_late: int = 0) -> CustomerValue:
        """A customer's value (the median one when the fit has none for it)."""
        value = self.values.get(customer_id or "")
        return CustomerValue(
            value=self.typical if value is None else float(value),
            order_margin=self.locale.amount(ORDER_MARGIN_HOURS),
            recent_late=recent_late,
        )

    def customers(
        self, recent_late: Mapping[str, int] | None = None
    ) -> Callable[[str | None], CustomerValue]:
        """Each customer as a day's orders are priced: their value and their
        late deliveries among their recent orders (``recent_late``, by
        customer id: :func:`recent_lateness`). Plans, their planned and live
        retention costs and the delivery metrics all price customers so."""
        recent = recent_late or {}
        return lambda cid: self.customer(cid, recent.get(cid or "", 0))


#: The last fit read by this process, by database and job id: every read of a plan
#: prices it, and a fit's customer values can run to megabytes of JSON.
_LAST_FIT: dict[tuple[str, str], CurrentPricing] = {}
_LAST_FIT_LOCK = threading.Lock()


def current_pricing(session: Session) -> CurrentPricing | None:
    """The newest successful fit's pricing and customer values (None: no fit).

    Only the newest fit's job id is read each time; its pricing and values are
    loaded once per process and fit.
    """
    job_id = fits.current_fit_job(session)
    if job_id is None:
        return None
    key = (str(session.get_bind().engine.url), job_id)
    with _LAST_FIT_LOCK:
        kept = _LAST_FIT.get(key)
    if kept is not None:
        return kept
    row = fits.current_fit(session)
    if row is None:
        return None
    current = CurrentPricing(
        job_id=row.job_id,
        pricing=LatenessPricing.model_validate(row.pricing),
        values={str(k): float(v) for k, v in row.customer_values.items()},
        locale=locale_of(session),
    )
    with _LAST_FIT_LOCK:
        _LAST_FIT.clear()
        _LAST_FIT[key] = current
    return current


T = TypeVar("T")


class DayMemo(Generic[T]):
    """What recent tracked days say about a day, by database and day, kept
    ``ttl`` seconds: the days before it are done, so one count serves the
    plans, re-optimisations and quotes of the next minutes (a late event of
    last night still lands in time for the next count)."""

    def __init__(self, ttl: float, size: int = 8) -> None:
        self.ttl, self.size = ttl, size
        self._kept: dict[tuple[str, dt.date], tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, day: dt.date, count: Callable[[], T]) -> T:
        """The kept value of ``day`` in ``session``'s database, or ``count()``."""
        key = (str(session.get_bind().engine.url), day)
        now = time.monotonic()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self.ttl:
            return kept[1]
        value = count()
        with self._lock:
            while len(self._kept) >= self.size:
                self._kept.pop(next(iter(self._kept)))
            self._kept.pop(key, None)
            self._kept[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


#: Days back a customer's recent late deliveries are counted over (the
#: retention fit's churn window, tracking.retention.spells).
RECENT_DAYS = 60
RECENT_TTL = 600.0
_RECENT: DayMemo[dict[str, int]] = DayMemo(RECENT_TTL)


def recent_lateness(session: Session, day: dt.date) -> dict[str, int]:
    """Each customer's late deliveries among their recent orders before ``day``.

    From the tracked days of the :data:`RECENT_DAYS` before it
    (:func:`recent_lateness_by_day`); counted at most once per
    :data:`RECENT_TTL` per process and day.
    """
    return _RECENT.get(
        session, day, lambda: recent_lateness_by_day(session, [day])[day]
    )


def recent_lateness_by_day(
    session: Session, days: Collection[dt.date]
) -> dict[dt.date, dict[str, int]]:
    """:func:`recent_lateness` of each of ``days``, from one read of the
    tracked days of the :data:`RECENT_DAYS` before the first to the eve of the
    last (:func:`tracking.feedback.recent_late_counts`)."""
    if not days:
        return {}
    start = min(days) - dt.timedelta(days=RECENT_DAYS)
    end = max(days) - dt.timedelta(days=1)
    history = history_frame(outcomes_between(session, start, end))
    return {day: recent_late_counts(history, day) for day in days}


#: Tracked days a stop's late running is learned from, the fewest stops
#: that make it learned (fewer: the assumed delay), and the sample kept.
RUNNING_DAYS = 28
RUNNING_MIN_STOPS = 50
RUNNING_SAMPLE = 201
_RUNNING: DayMemo[tuple[int, ...]] = DayMemo(RECENT_TTL)


def running_late(session: Session, day: dt.date) -> tuple[int, ...]:
    """How far stops started after their planned start on the tracked days
    of the :data:`RUNNING_DAYS` before ``day`` (seconds, negative when
    early): :data:`RUNNING_SAMPLE` evenly spaced quantiles, or ``()`` with
    fewer than :data:`RUNNING_MIN_STOPS` stops (the quotes then assume a
    delay, :class:`routing.slotting.SlotPricing`)."""

    def count() -> tuple[int, ...]:
        start = day - dt.timedelta(days=RUNNING_DAYS)
        outcomes = outcomes_between(session, start, day - dt.timedelta(days=1))
        behind = [
            o.service_start - o.planned_service_start
            for o in outcomes
            if o.service_start is not None and o.planned_service_start is not None
        ]
        if len(behind) < RUNNING_MIN_STOPS:
            return ()
        q = np.quantile(
            np.asarray(behind, dtype=float), np.linspace(0, 1, RUNNING_SAMPLE)
        )
        return tuple(int(v) for v in np.rint(q))

    return _RUNNING.get(session, day, count)


def priced(
    problem: Problem,
    current: CurrentPricing,
    recent_late: Mapping[str, int] | None = None,
) -> Problem:
    """``problem`` whose orders carry their customers' drop and lateness prices.

    Each order is priced by its ``customer_id``'s value and recent late
    deliveries; a customer the fit has no value for (or an order without
    one) gets the median value. Promised windows stay hard; the customers
    whose lateness would cost most get a planning buffer
    (:func:`tracking.feedback.apply_costs`, ``with_buffers``).
    """
    return price_problem(problem, current.pricing, current.customers(recent_late))


class RetentionCost(BaseModel):
    """Expected retention cost (money) of a plan's planned times, by order.

    Each served order's loss is :func:`tracking.feedback.expected_loss` of
    its customer at the minutes its planned service start is past its
    window's end (0 when on time, or without a window).
    """

    fit: str = Field(description="the retention fit (job id) it is priced with")
    total: float
    orders: dict[str, float]


def _minutes_late(at: int, windows: Sequence[TimeWindow]) -> float:
    """Minutes a service start at ``at`` is past the window it missed."""
    if any(w.start <= at <= w.end for w in windows):
        return 0.0
    ends = [w.end for w in windows if w.start <= at]
    return 0.0 if not ends else (at - max(ends)) / 60


def retention_of(
    problem: Problem,
    plan: Plan,
    current: CurrentPricing,
    recent_late: Mapping[str, int] | None = None,
) -> RetentionCost:
    """The expected retention cost of each served order's planned time, its
    customer priced by value and recent late deliveries (as the plan was:
    :func:`priced`)."""
    customers = current.customers(recent_late)
    windows: dict[str, tuple[str | None, Sequence[TimeWindow]]] = {}
    for job in problem.jobs:
        windows[job.id] = (job.customer_id, job.time_windows)
    for sh in problem.shipments:
        windows[sh.id] = (sh.customer_id, sh.delivery.time_windows)
    orders: dict[str, float] = {}
    for route in plan.routes:
        for step in route.steps:
            if step.type not in ("job", "delivery") or step.id not in windows:
                continue
            customer_id, tws = windows[step.id]
            late = _minutes_late(step.service_start, tws)
            loss = expected_loss(customers(customer_id), late, current.pricing)
            orders[step.id] = round(loss, 2)
    return RetentionCost(
        fit=current.job_id, total=round(sum(orders.values()), 2), orders=orders
    )


def pricing_of(current: CurrentPricing | None) -> PlanPricing:
    """How retention costs are priced: by ``current``'s fit, or uniform
    (:data:`NO_FIT_YET`) when there is none, so nothing is priced."""
    if current is None:
        return PlanPricing(source="uniform", reason=NO_FIT_YET)
    return PlanPricing(source="learned", fit=current.job_id)


# --- the live day -----------------------------------------------------------------

#: States of an order still to be served today: its live ETA is its arrival.
_PENDING = frozenset(
    {
        OrderState.CREATED,
        OrderState.PLANNED,
        OrderState.DISPATCHED,
        OrderState.OUT_FOR_DELIVERY,
        OrderState.ARRIVING,
    }
)


class OrderRetention(BaseModel):
    """Expected retention cost (money) of one order: planned and live.

    ``planned`` is that of its planned service start (as
    :class:`RetentionCost`); ``live`` that of ``minutes_late`` and
    ``failed_attempts`` as :func:`live_minutes` reads them now.
    """

    planned: float
    live: float
    minutes_late: float = Field(description="past the promised window, live")
    failed_attempts: int = 0


class DayRetention(BaseModel):
    """The expected retention cost (money) of a plan's day: the planned times'
    and the live one, each the sum over its routed orders."""

    fit: str = Field(description="the retention fit (job id) it is priced with")
    planned: float
    live: float
    orders: dict[str, OrderRetention]


def live_minutes(
    status: OrderStatus | None,
    eta: Eta | None,
    window_end: int | None,
    planned_start: int | None,
    now: int,
    *,
    cap: float,
) -> tuple[float, int]:
    """Minutes an order is (expected to be) past its promised window, and its
    failed attempts, as tracking knows them at ``now`` (seconds since local
    midnight of its day).

    * delivered: when it was handed over (the on-time KPI's time);
    * still to be served: its live ETA's P50 (the planned service start
      without one), or ``now`` once that has passed: the minutes late so
      far;
    * not served today after a failed attempt, moved, returned or
      cancelled: no minutes, only its failed attempts (as the fit's history
      counts a failed order).

    Minutes are whole (rounded up, as :func:`tracking.outcomes.minutes_late`)
    and capped at ``cap`` (an order not served today is as late as
    one left out: ``LatenessPricing.drop_minutes``). No window: never late.
    """
    failed = (
        0
        if status is None
        else sum(c.target is OrderState.FAILED_ATTEMPT for c in status.history)
    )
    if window_end is None:
        return 0.0, failed
    state = OrderState.PLANNED if status is None else status.state
    if state is OrderState.DELIVERED:
        assert status is not None
        at = status.history[-1].at
    elif state in _PENDING:
        expected = eta.point if eta is not None else planned_start
        at = now if expected is None else max(expected, now)
    else:
        return 0.0, failed
    # Whole minutes, as outcomes count them: the live view's stream redraws
    # on a change, and its ETA windows change to the minute.
    return min(cap, float(max(0, math.ceil((at - window_end) / 60)))), failed


def live_retention(
    problem: Problem,
    plan: Plan,
    tracked: Mapping[str, tuple[OrderStatus, Eta | None]],
    now: int,
    current: CurrentPricing,
    *,
    moved: Collection[str] = (),
    recent_late: Mapping[str, int] | None = None,
) -> DayRetention:
    """Each routed order's expected retention cost, planned and live.

    Parameters
    ----------
    problem, plan
        A stored plan and the problem it solved.
    tracked
        Routed orders' statuses and live ETAs, by order id; an order left
        out (not tracked yet) is live as planned.
    moved
        Orders tracked on another day now: only their failed attempts count
        here (their new day prices their delivery).
    now
        Seconds since local midnight of the plan's day.
    current
        The fit to price with.
    recent_late
        Customers' recent late deliveries (:func:`recent_lateness`).
    """
    planned = retention_of(problem, plan, current, recent_late).orders
    customers = current.customers(recent_late)
    by_id = {o.id: o for o in problem.orders}
    orders: dict[str, OrderRetention] = {}
    for route in plan.routes:
        for step in route.steps:
            if step.type not in ("job", "delivery") or step.id not in by_id:
                continue
            order = by_id[step.id]
            windows = order_windows(order)
            end = promised_window_end(windows, step.service_start)
            status, eta = tracked.get(step.id, (None, None))
            if step.id in moved:
                end = None  # not served today: only its failed attempts count
            minutes, failed = live_minutes(
                status,
                eta,
                end,
                step.service_start,
                now,
                cap=current.pricing.drop_minutes,
            )
            loss = expected_loss(
                customers(order.customer_id),
                minutes,
                current.pricing,
                failed_attempts=failed,
            )
            orders[step.id] = OrderRetention(
                planned=planned.get(step.id, 0.0),
                live=round(loss, 2),
                minutes_late=round(minutes, 1),
                failed_attempts=failed,
            )
    return DayRetention(
        fit=current.job_id,
        planned=round(sum(o.planned for o in orders.values()), 2),
        live=round(sum(o.live for o in orders.values()), 2),
        orders=orders,
    )


def outcome_costs(
    session: Session, etas: LiveEtas, current: CurrentPricing
) -> Callable[[Sequence[DeliveryOutcome]], dict[str, float]]:
    """What prices tracked days' outcomes for the delivery metrics.

    An attempted order (delivered or failed) costs its realised
    ``expected_loss`` at the outcome's minutes late and failed attempts (as
    the fit learned from them); a routed one not attempted yet costs its
    live one (:func:`live_minutes`: its live ETA while its day is on, the
    minutes late so far once the day is over), nothing once moved or
    cancelled. Orders on no route (left out of the plan) cost nothing, as
    in the plan's own retention cost. Each customer is priced as the plans of
    the outcome's day are: by value and the late deliveries among their
    recent orders before that day (:meth:`CurrentPricing.customers`,
    :func:`recent_lateness_by_day`).
    """
    pricing = current.pricing

    def costs(outcomes: Sequence[DeliveryOutcome]) -> dict[str, float]:
        days = {o.day for o in outcomes if o.day is not None}
        # One day (the console's, the gauge's): the count the plans use, kept.
        recent_by_day = (
            {day: recent_lateness(session, day) for day in days}
            if len(days) == 1
            else recent_lateness_by_day(session, days)
        )
        by_day = {day: current.customers(r) for day, r in recent_by_day.items()}
        no_day = current.customers()
        waiting = [o.order_id for o in outcomes if o.attempts == 0]
        statuses = {
            status.order_id: (day, status, ref)
            for day, status, ref in tracking_rows.tracked_orders(
                session, order_ids=waiting
            )
        }
        out: dict[str, float] = {}
        for o in outcomes:
            who = no_day if o.day is None else by_day.get(o.day, no_day)
            customer = who(o.customer_id)
            if o.attempts > 0:
                minutes, failed = float(o.minutes_late), len(o.failure_reasons)
            else:
                found = statuses.get(o.order_id)
                off = o.planned_service_start is None  # on no route of the day
                if off or found is None or found[0] != o.day:
                    out[o.order_id] = 0.0
                    continue
                day, status, ref = found
                now = eta_clock(day, etas.zone)
                eta = (
                    etas.eta(session, day, status, now, ref, live=True)
                    if now < day_length(day, etas.zone) and status.state in _PENDING
                    else None
                )
                minutes, failed = live_minutes(
                    status,
                    eta,
                    promised_window_end(o.windows, o.planned_service_start),
                    o.planned_service_start,
                    now,
                    cap=pricing.drop_minutes,
                )
            loss = expected_loss(customer, minutes, pricing, failed_attempts=failed)
            out[o.order_id] = round(loss, 2)
        return out

    return costs


class DayCost(BaseModel):
    """A day's expected retention cost (money) with a fit: of its tracked
    orders' planned times, and live (the delivery metrics' figure)."""

    day: dt.date
    fit: str
    planned: float
    live: float


def day_cost(
    session: Session, etas: LiveEtas, day: dt.date, current: CurrentPricing
) -> DayCost:
    """The expected retention cost of ``day``'s tracked orders, each under
    the newest plan holding it: ``live`` as :func:`outcome_costs` prices
    them (``GET /v1/metrics/delivery``), ``planned`` at their planned
    service starts as :func:`retention_of` prices a plan's; each customer by
    value and recent late deliveries before the day."""
    outcomes = outcomes_between(session, day, day)
    live = outcome_costs(session, etas, current)(outcomes)
    customers = current.customers(recent_lateness(session, day))
    planned = [
        round(
            expected_loss(
                customers(o.customer_id),
                _minutes_late(o.planned_service_start, o.windows),
                current.pricing,
            ),
            2,
        )
        for o in outcomes
        if o.planned_service_start is not None
    ]
    return DayCost(
        day=day,
        fit=current.job_id,
        planned=round(sum(planned), 2),
        live=round(sum(live.values()), 2),
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


# --- the nightly fit ------------------------------------------------------------


def fit_time(value: str | None) -> dt.time | None:
    """``MILEPOST_RETENTION_FIT_AT`` as a time (None: no nightly fit)."""
    if not value:
        return None
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def submit_nightly(
    session: Session, *, queue: JobQueue, now: dt.datetime, at: dt.time
) -> JobPublic | None:
    """Queue the shop day's nightly fit if ``at`` (shop time) has passed at
    ``now`` and none was queued for that day yet; the job, or None.

    The day is claimed first in ``retention_nightly_fits`` (its primary
    key), so of several processes only one queues it: the others' claim
    fails (at once, or when the first commits) and they queue nothing. The
    fit reads the default window (:data:`DEFAULT_DAYS` days to the shop's
    day). The caller commits.
    """
    tz = locale_of(session).zone
    local = now.astimezone(tz)
    day = local.date()
    if local < dt.datetime.combine(day, at, tzinfo=tz):
        return None
    claim = fits.claim_night(session, day=day)
    if claim is None:
        return None
    job = create_fit(session, queue=queue, request=RetentionFitCreate(until=day))
    claim.job_id = job.id
    return job


class RetentionFitSchedule:
    """Queues the nightly retention fit (``MILEPOST_RETENTION_FIT_AT``).

    A daemon thread that every ``poll`` seconds calls :meth:`tick`; off (its
    :meth:`start` does nothing) when the setting is unset.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        queue: JobQueue,
        settings: Settings,
        *,
        poll: float = 60.0,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.sessions = sessions
        self.queue = queue
        self.at = fit_time(settings.retention_fit_at)
        self.poll = poll
        self.now = now
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        """Whether a nightly time is set."""
        return self.at is not None

    def start(self) -> None:
        """Start the thread (no-op when off or already running)."""
        if not self.enabled or self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name="retention-fit-schedule", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def tick(self) -> JobPublic | None:
        """Queue the day's fit if it is due; the job queued, if any.

        Never raises: a failure is logged with its traceback.
        """
        if self.at is None:
            return None
        try:
            with self.sessions.begin() as session:
                job = submit_nightly(
                    session, queue=self.queue, now=self.now(), at=self.at
                )
        except Exception:
            log.exception("nightly retention fit: queueing failed")
            return None
        if job is not None:
            log.info("nightly retention fit queued", extra={"job_id": job.id})
        return job

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.tick()
            self._stopping.wait(self.poll)
