"""Feedback into planning: what lateness and a missed delivery cost, per order.

A late delivery costs a customer in two ways (the coefficients are learned
from observable history by :func:`tracking.retention.experience_effect`,
:meth:`LatenessPricing.from_effect`; nothing here knows a true value):

* the next order comes later: the time to it is multiplied by ``G(m) =
  exp(s * lateness_coef * log1p(m))`` for ``m`` minutes late and a customer
  of sensitivity ``s`` (1 = average); at the customer's own pace that loses
  ``G(m) - 1`` orders, i.e. ``order_margin * (G(m) - 1)`` in money;
* the customer may leave: a late delivery raises the chance of churn by
  ``s * uplift(k)``, which loses the customer's ``value`` (expected future
  margin, e.g. :func:`tracking.retention.customer_values`). ``k`` is the
  customer's late deliveries among their recent orders before this one
  (``CustomerValue.recent_late``): a customer let down twice lately is far
  likelier to leave at the third (``LatenessPricing.churn_uplifts``).

``expected_loss(m) = order_margin * (G(m) - 1) + [m > 0] * s * uplift(k)
* value``.

Routing prices lateness linearly (``Job.lateness_cost``, money per minute),
so the per-minute cost is the loss of a ``reference_minutes`` delay spread
over its minutes, capped at ``max_per_minute``. The failure cost
(``Job.penalty``, what leaving the order out costs) is the loss of a
delivery ``drop_minutes`` late (tomorrow) plus the effect of a failed
attempt and a re-delivery cost.

Money is in the problem's currency. Amounts left unset (an order's margin,
the cap per minute, the re-delivery cost, the buffer steps) are sized in
driver-hours by the locale (:meth:`routing.locale.Locale.amount`).

How the prices reach a plan (:func:`apply_costs`, :func:`with_buffers`):

* a promised (hard) window stays hard: the loss is concave in the minutes
  (the first late minutes cost the most), so a linear price would trade
  many "slightly late" stops for a little driving, each of which costs far
  more than its price (measured: ``benchmarks/RESULTS.md``, "Retention-aware
  pricing"). Only orders that already have soft windows get the learned
  per-minute price;
* the drop cost is the learned one, never below the order's own penalty
  (what the shop says leaving it out costs);
* customers whose lateness would cost most get a planning **buffer**
  (``Job.buffer``, ``Job.buffer_cost``): the plan should reach them
  ``buffer`` before their window ends, so the road's surprises make them
  late less often, and pays for each minute it starts inside the buffer
  (on a day short of vans it uses the buffer rather than drop an order).
  The buffer grows with the loss of a ``risk_minutes`` delay
  (``buffers``); the promise itself is unchanged.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import Field

from routing.base import FrozenModel
from routing.locale import DEFAULT_LOCALE, Locale
from routing.model import Job, Problem, Shipment

if TYPE_CHECKING:
    from tracking.retention import ExperienceEffect

__all__ = [
    "CustomerValue",
    "LatenessPricing",
    "OrderCost",
    "PricingInterval",
    "apply_costs",
    "buffers_of",
    "expected_loss",
    "order_costs",
    "price_problem",
    "recent_late_counts",
    "with_buffers",
]


#: Default amounts, in driver-hours (8,750, 5,000, 3,000 KRW; the buffer
#: steps 5,000 and 15,000 KRW): a quarter of a 1.75 h basket is an order's
#: margin.
ORDER_MARGIN_HOURS = 0.4375
MAX_PER_MINUTE_HOURS = 0.25
REDELIVERY_HOURS = 0.15
BUFFER_HOURS: tuple[tuple[float, float], ...] = ((0.25, 15.0), (0.75, 30.0))


class CustomerValue(FrozenModel):
    """What a customer is worth and how much lateness moves them.

    Parameters
    ----------
    value
        Expected future margin (money), e.g. a lifetime value.
    order_margin
        Margin of one order (money; unset: :data:`ORDER_MARGIN_HOURS` in the
        locale's currency, :meth:`margin_in`).
    sensitivity
        Multiplier of the average lateness effect (1 = average customer).
    recent_late
        Late deliveries among the customer's recent orders before this one
        (:func:`recent_late_counts`): how vulnerable the
        customer is to one more.
    """

    value: float = Field(ge=0.0)
    order_margin: float | None = Field(default=None, ge=0.0)
    sensitivity: float = Field(default=1.0, ge=0.0)
    recent_late: int = Field(default=0, ge=0)

    def margin_in(self, locale: Locale) -> float:
        """``order_margin``, else its driver-hours default in ``locale``."""
        if self.order_margin is not None:
            return self.order_margin
        return locale.amount(ORDER_MARGIN_HOURS)


class PricingInterval(FrozenModel):
    """A fitted pricing coefficient's standard error and 95 % interval."""

    se: float = Field(ge=0.0)
    low: float
    high: float


_Z95 = 1.959963984540054


def _logistic(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


class LatenessPricing(FrozenModel):
    """How experience turns into money: coefficients learned from a fit.

    There is no default: :meth:`from_effect` derives them from an
    :class:`~tracking.retention.ExperienceEffect`, and :meth:`uniform`
    prices nothing beyond the plain window penalty (no fit yet).

    Parameters
    ----------
    lateness_coef
        Log of the next-order delay per ``log1p`` minute late (the negative
        of the experience effect's lateness coefficient).
    failure_coef
        Log of the next-order delay per failed attempt.
    churn_uplift
        Extra chance of leaving after a late delivery (average customer).
    churn_uplifts
        The extra chance of leaving after a late delivery by the customer's
        recent late deliveries before it: ``[0]`` the first, ``[1]`` the
        second, the last for that many or more (empty: ``churn_uplift``
        whatever the history).
    intervals
        Standard error and 95 % interval of each fitted coefficient, by name
        (empty when not fitted).
    reference_minutes
        Delay whose loss, spread over its minutes, is the per-minute cost.
    max_per_minute
        Cap on the per-minute cost (money; unset: sized by the locale).
    drop_minutes
        How late an order left out today arrives (a day).
    redelivery_cost
        Cost (money) of handling an order again (unset: sized by the locale).
    risk_minutes
        The delay whose expected loss sets an order's planning buffer.
    buffers
        ``(loss, minutes)`` steps: an order whose ``risk_minutes`` delay
        would lose at least ``loss`` (money) is planned ``minutes`` before
        its window ends (the largest step it reaches; unset: sized by the
        locale).

    :meth:`from_effect` and :meth:`uniform` size the unset amounts for the
    ``locale`` they are given; a pricing built bare sizes them for the
    problem it prices (``*_in(locale)``).
    """

    lateness_coef: float = Field(ge=0.0)
    failure_coef: float = Field(ge=0.0)
    churn_uplift: float = Field(ge=0.0, le=1.0)
    churn_uplifts: tuple[float, ...] = Field(default=(), max_length=8)
    intervals: dict[str, PricingInterval] = Field(default_factory=dict)
    reference_minutes: float = Field(default=30.0, gt=0.0)
    max_per_minute: float | None = Field(default=None, gt=0.0)
    drop_minutes: float = Field(default=1_440.0, gt=0.0)
    redelivery_cost: float | None = Field(default=None, ge=0.0)
    risk_minutes: float = Field(default=15.0, gt=0.0)
    buffers: tuple[tuple[float, float], ...] | None = Field(default=None, max_length=8)

    def max_per_minute_in(self, locale: Locale) -> float:
        """``max_per_minute``, else its driver-hours default in ``locale``."""
        if self.max_per_minute is not None:
            return self.max_per_minute
        return locale.amount(MAX_PER_MINUTE_HOURS)

    def redelivery_cost_in(self, locale: Locale) -> float:
        """``redelivery_cost``, else its driver-hours default in ``locale``."""
        if self.redelivery_cost is not None:
            return self.redelivery_cost
        return locale.amount(REDELIVERY_HOURS)

    def buffers_in(self, locale: Locale) -> tuple[tuple[float, float], ...]:
        """``buffers``, else the driver-hours steps in ``locale``."""
        if self.buffers is not None:
            return self.buffers
        return tuple((locale.amount(h), m) for h, m in BUFFER_HOURS)

    def sized(self, locale: Locale) -> LatenessPricing:
        """A copy with every unset amount sized for ``locale``."""
        return self.model_copy(
            update={
                "max_per_minute": self.max_per_minute_in(locale),
                "redelivery_cost": self.redelivery_cost_in(locale),
                "buffers": self.buffers_in(locale),
            }
        )

    @classmethod
    def uniform(
        cls, *, locale: Locale = DEFAULT_LOCALE, **options: Any
    ) -> LatenessPricing:
        """No learned effect: lateness and failures cost no retention.

        ``order_costs`` then gives every order a zero per-minute cost and a
        penalty of its margin plus the re-delivery cost (the plain window
        penalty). ``options`` set the other fields; amounts not given are
        sized for ``locale``.
        """
        return cls(
            lateness_coef=0.0, failure_coef=0.0, churn_uplift=0.0, **options
        ).sized(locale)

    def uplift(self, recent_late: int = 0) -> float:
        """Extra chance of leaving after a late delivery, given the recent ones."""
        if not self.churn_uplifts:
            return self.churn_uplift
        return self.churn_uplifts[min(recent_late, len(self.churn_uplifts) - 1)]

    @classmethod
    def from_effect(
        cls,
        effect: ExperienceEffect,
        *,
        locale: Locale = DEFAULT_LOCALE,
        **options: Any,
    ) -> LatenessPricing:
        """Pricing coefficients from a fitted experience effect.

        * ``lateness_coef`` = ``-coef["log1p_late"]``;
        * ``failure_coef`` = ``-coef["failed_attempts"]``;
        * ``churn_uplift`` = ``logistic(g0 + g_late) - logistic(g0)``, the
          fitted chance of leaving after a (first) late delivery minus after
          an on-time one (``g`` the churn coefficients).

        A covariate the fit left out (it never varied in the history) prices
        nothing; an estimate of the wrong sign (lateness that brings orders
        sooner) is clipped to 0, its interval is kept as fitted. The
        intervals are the fit's 95 % ones on the pricing scale (the churn
        uplift's by the delta method).

        Parameters
        ----------
        effect
            From :func:`tracking.retention.experience_effect`.
        locale
            Whose currency the amounts not in ``options`` are sized for.
        options
            The other fields (``reference_minutes``, ``max_per_minute``, ...).
        """
        intervals: dict[str, PricingInterval] = {}

        def hazard(name: str, field: str) -> float:
            if name not in effect.names:
                return 0.0
            k = effect.names.index(name)
            est, se = -float(effect.coef[k]), float(effect.se[k])
            intervals[field] = PricingInterval(
                se=se, low=est - _Z95 * se, high=est + _Z95 * se
            )
            return max(0.0, est)

        lateness = hazard("log1p_late", "lateness_coef")
        failure = hazard("failed_attempts", "failure_coef")
        uplift = 0.0
        names = effect.churn_names
        if "constant" in names and "late" in names:
            g0 = float(effect.churn_coef[names.index("constant")])
            j = names.index("late")
            g1 = float(effect.churn_coef[j])
            se1 = float(effect.churn_se[j])
            p0, p1 = _logistic(g0), _logistic(g0 + g1)
            est = p1 - p0
            se = p1 * (1.0 - p1) * se1  # delta method on the late coefficient
            intervals["churn_uplift"] = PricingInterval(
                se=se, low=est - _Z95 * se, high=est + _Z95 * se
            )
            uplift = min(1.0, max(0.0, est))
            # The second and third-or-more recent late delivery add their
            # own coefficients (tracking.retention.CHURN_COVARIATES).
            uplifts = [uplift]
            step = g0 + g1
            for extra in ("late_2nd_recent", "late_3rd_recent"):
                if extra not in names:
                    break
                step += float(effect.churn_coef[names.index(extra)])
                uplifts.append(min(1.0, max(0.0, _logistic(step) - p0)))
            options.setdefault(
                "churn_uplifts", tuple(uplifts) if len(uplifts) > 1 else ()
            )
        return cls(
            lateness_coef=lateness,
            failure_coef=failure,
            churn_uplift=uplift,
            intervals=intervals,
            **options,
        ).sized(locale)


def recent_late_counts(
    history: pd.DataFrame,
    day: dt.date,
    *,
    recent_orders: int = 5,
    recent_days: int = 60,
) -> dict[str, int]:
    """Each customer's late deliveries that a delivery on ``day`` would follow.

    Counted as the retention fit counts them (``recent_orders`` and
    ``recent_days`` of :func:`tracking.retention.spells`): late deliveries
    among the customer's last ``recent_orders - 1`` orders delivered within
    ``recent_days`` days before ``day``. Customers with none are left out.

    Parameters
    ----------
    history
        Observable orders with ``customer_id``, ``delivery_date`` and
        ``minutes_late``.
    day
        The delivery day the counts are for.
    """
    if history.empty:
        return {}
    delivered = pd.to_datetime(history["delivery_date"])
    when = pd.Timestamp(day)
    recent = history[
        (delivered < when) & (delivered >= when - pd.Timedelta(days=recent_days - 1))
    ]
    if recent.empty:
        return {}
    recent = recent.assign(_at=pd.to_datetime(recent["delivery_date"]))
    recent = recent.sort_values(["customer_id", "_at"])
    last = recent.groupby(recent["customer_id"].astype(str)).tail(
        max(recent_orders - 1, 0)
    )
    late = np.asarray(last["minutes_late"].fillna(0.0), dtype=np.float64) > 0
    counts = (
        pd.Series(late, index=last["customer_id"].astype(str)).groupby(level=0).sum()
    )
    return {str(k): int(v) for k, v in counts.items() if v > 0}


class OrderCost(FrozenModel):
    """Prices of one order: money per late minute, drop cost, planning buffer."""

    lateness_cost: float
    penalty: float
    buffer: int = Field(
        default=0, ge=0, description="seconds to plan ahead of the window's end"
    )
    risk: float = Field(
        default=0.0, ge=0.0, description="expected loss of a risk_minutes delay"
    )


def expected_loss(
    customer: CustomerValue,
    minutes_late: float,
    pricing: LatenessPricing,
    *,
    failed_attempts: int = 0,
    locale: Locale = DEFAULT_LOCALE,
) -> float:
    """Expected lost margin after a delivery ``minutes_late`` late, in
    ``locale``'s currency (which sizes an unset ``order_margin``).

    Parameters
    ----------
    customer
        The customer's value and sensitivity.
    minutes_late
        Minutes past the promise (0 when on time).
    pricing
        Coefficients (:meth:`LatenessPricing.from_effect`).
    failed_attempts
        Failed attempts before the delivery.

    Returns
    -------
    float
        ``order_margin * (G - 1) + [late] * sensitivity * uplift(recent_late)
        * value``.
    """
    s = customer.sensitivity
    m = max(0.0, minutes_late)
    log_gap = s * (
        pricing.lateness_coef * math.log1p(m) + pricing.failure_coef * failed_attempts
    )
    slower = customer.margin_in(locale) * math.expm1(log_gap)
    uplift = pricing.uplift(customer.recent_late)
    churn = s * uplift * customer.value if m > 0 else 0.0
    return slower + churn


def order_costs(
    problem: Problem,
    customers: Mapping[str, CustomerValue],
    pricing: LatenessPricing,
    *,
    default: CustomerValue | None = None,
) -> dict[str, OrderCost]:
    """Lateness cost per minute (capped) and failure cost of every order.

    Parameters
    ----------
    problem
        Orders with ``customer_id``.
    customers
        Value and sensitivity by customer id.
    pricing
        Coefficients.
    default
        For orders whose customer is unknown (default: value 0, average
        sensitivity).

    Returns
    -------
    dict[str, OrderCost]
        By order id.
    """
    fallback = default or CustomerValue(value=0.0)
    locale = problem.locale
    cap, redelivery = (
        pricing.max_per_minute_in(locale),
        pricing.redelivery_cost_in(locale),
    )
    steps = pricing.buffers_in(locale)
    out: dict[str, OrderCost] = {}
    for order in problem.orders:
        who = customers.get(order.customer_id or "", fallback)
        per_minute = min(
            cap,
            expected_loss(who, pricing.reference_minutes, pricing, locale=locale)
            / pricing.reference_minutes,
        )
        penalty = (
            expected_loss(
                who, pricing.drop_minutes, pricing, failed_attempts=1, locale=locale
            )
            + who.margin_in(locale)
            + redelivery
        )
        risk = expected_loss(who, pricing.risk_minutes, pricing, locale=locale)
        buffer = max((m for loss, m in steps if risk >= loss), default=0.0)
        out[order.id] = OrderCost(
            lateness_cost=round(per_minute, 2),
            penalty=round(penalty, 2),
            buffer=round(buffer * 60),
            risk=round(risk, 2),
        )
    return out


def apply_costs(problem: Problem, costs: Mapping[str, OrderCost]) -> Problem:
    """A copy of ``problem`` whose orders carry the given prices.

    An order with soft windows gets the per-minute lateness price; a hard
    window stays hard (module docstring). The drop penalty is the priced
    one, never below the order's own. Orders not in ``costs`` are left as
    they are.
    """

    def update(order: Job | Shipment, c: OrderCost) -> dict[str, Any]:
        out: dict[str, Any] = {"penalty": max(c.penalty, problem.drop_penalty(order))}
        if order.lateness_cost is not None:
            out["lateness_cost"] = c.lateness_cost
        return out

    jobs = tuple(
        job
        if (c := costs.get(job.id)) is None
        else job.model_copy(update=update(job, c))
        for job in problem.jobs
    )
    shipments = tuple(
        sh if (c := costs.get(sh.id)) is None else sh.model_copy(update=update(sh, c))
        for sh in problem.shipments
    )
    return problem.model_copy(update={"jobs": jobs, "shipments": shipments})


def price_problem(
    problem: Problem,
    pricing: LatenessPricing,
    customer: Callable[[str | None], CustomerValue],
) -> Problem:
    """``problem`` priced for its customers, as every planner prices it.

    ``customer(customer_id)`` gives an order's customer (``None``: an order
    without one). Promised windows stay hard, drop costs never fall below
    the order's own, the costliest customers get planning buffers
    (:func:`order_costs`, :func:`apply_costs`, :func:`with_buffers`).
    """
    customers = {
        o.customer_id: customer(o.customer_id)
        for o in problem.orders
        if o.customer_id is not None
    }
    costs = order_costs(problem, customers, pricing, default=customer(None))
    return with_buffers(apply_costs(problem, costs), buffers_of(costs), costs)


def buffers_of(costs: Mapping[str, OrderCost]) -> dict[str, int]:
    """The planning buffers (seconds) of the orders that have one."""
    return {k: c.buffer for k, c in costs.items() if c.buffer}


def with_buffers(
    problem: Problem,
    buffers: Mapping[str, int],
    costs: Mapping[str, OrderCost] | None = None,
) -> Problem:
    """``problem`` whose costly customers are planned ahead of their window.

    ``buffers`` are seconds by order id (``OrderCost.buffer``, see
    :func:`buffers_of`). Each job with a hard window and a buffer gets
    ``Job.buffer`` (at most a quarter of its last window) and a
    ``buffer_cost`` per minute of service started inside it: the expected
    loss of a ``risk_minutes`` delay spread over the buffer's minutes, from
    ``costs`` (without them, its per-minute lateness price). The window, the
    promise, is unchanged and stays hard: on a day short of vans the plan
    uses the buffer rather than leave an order out.
    """
    jobs: list[Job] = []
    for job in problem.jobs:
        buffer = buffers.get(job.id, 0)
        if not buffer or not job.time_windows or job.lateness_cost is not None:
            jobs.append(job)
            continue
        last = job.time_windows[-1]
        cut = min(buffer, (last.end - last.start) // 4)
        c = None if costs is None else costs.get(job.id)
        per_minute = 0.0 if c is None else c.risk / max(cut / 60.0, 1.0)
        jobs.append(
            job.model_copy(update={"buffer": cut, "buffer_cost": round(per_minute, 2)})
        )
    return problem.model_copy(update={"jobs": tuple(jobs)})
