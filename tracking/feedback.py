"""Feedback into planning: what lateness and a missed delivery cost, per order.

A late delivery costs a customer in two ways (the coefficients are learned
from observable history by :func:`tracking.retention.experience_effect`,
:meth:`LatenessPricing.from_effect`; nothing here knows a true value):

* the next order comes later: the time to it is multiplied by ``G(m) =
  exp(s * lateness_coef * log1p(m))`` for ``m`` minutes late and a customer
  of sensitivity ``s`` (1 = average); at the customer's own pace that loses
  ``G(m) - 1`` orders, i.e. ``order_margin * (G(m) - 1)`` won;
* the customer may leave: a late delivery raises the chance of churn by
  ``s * churn_uplift``, which loses the customer's ``value`` (expected future
  margin, e.g. :func:`tracking.retention.customer_values`).

``expected_loss(m) = order_margin * (G(m) - 1) + [m > 0] * s * churn_uplift
* value``.

Routing prices lateness linearly (``Job.lateness_cost``, won per minute),
so the per-minute cost is the loss of a ``reference_minutes`` delay spread
over its minutes, capped at ``max_per_minute``. The failure cost
(``Job.penalty``, what leaving the order out costs) is the loss of a
delivery ``drop_minutes`` late (tomorrow) plus the effect of a failed
attempt and a re-delivery cost. :func:`apply_costs` writes both into a
:class:`routing.model.Problem` with ``model_copy``; the solver then keeps
the windows of the customers who would lose most.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field

from routing.base import FrozenModel
from routing.model import Job, Problem, Shipment

if TYPE_CHECKING:
    from tracking.retention import ExperienceEffect

__all__ = [
    "CustomerValue",
    "LatenessPricing",
    "OrderCost",
    "PricingInterval",
    "apply_costs",
    "expected_loss",
    "order_costs",
]


class CustomerValue(FrozenModel):
    """What a customer is worth and how much lateness moves them.

    Parameters
    ----------
    value
        Expected future margin (won), e.g. a lifetime value.
    order_margin
        Margin of one order (won).
    sensitivity
        Multiplier of the average lateness effect (1 = average customer).
    """

    value: float = Field(ge=0.0)
    order_margin: float = Field(default=8_750.0, ge=0.0)
    sensitivity: float = Field(default=1.0, ge=0.0)


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
    intervals
        Standard error and 95 % interval of each fitted coefficient, by name
        (empty when not fitted).
    reference_minutes
        Delay whose loss, spread over its minutes, is the per-minute cost.
    max_per_minute
        Cap on the per-minute cost (won).
    drop_minutes
        How late an order left out today arrives (a day).
    redelivery_cost
        Cost (won) of handling an order again.
    """

    lateness_coef: float = Field(ge=0.0)
    failure_coef: float = Field(ge=0.0)
    churn_uplift: float = Field(ge=0.0, le=1.0)
    intervals: dict[str, PricingInterval] = Field(default_factory=dict)
    reference_minutes: float = Field(default=30.0, gt=0.0)
    max_per_minute: float = Field(default=5_000.0, gt=0.0)
    drop_minutes: float = Field(default=1_440.0, gt=0.0)
    redelivery_cost: float = Field(default=3_000.0, ge=0.0)

    @classmethod
    def uniform(cls, **options: Any) -> LatenessPricing:
        """No learned effect: lateness and failures cost no retention.

        ``order_costs`` then gives every order a zero per-minute cost and a
        penalty of its margin plus the re-delivery cost (the plain window
        penalty). ``options`` set the other fields.
        """
        return cls(lateness_coef=0.0, failure_coef=0.0, churn_uplift=0.0, **options)

    @classmethod
    def from_effect(cls, effect: ExperienceEffect, **options: Any) -> LatenessPricing:
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
        return cls(
            lateness_coef=lateness,
            failure_coef=failure,
            churn_uplift=uplift,
            intervals=intervals,
            **options,
        )


class OrderCost(FrozenModel):
    """Soft-window prices of one order: won per late minute, and drop cost."""

    lateness_cost: float
    penalty: float


def expected_loss(
    customer: CustomerValue,
    minutes_late: float,
    pricing: LatenessPricing,
    *,
    failed_attempts: int = 0,
) -> float:
    """Expected lost margin (won) after a delivery ``minutes_late`` late.

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
        ``order_margin * (G - 1) + [late] * sensitivity * churn_uplift * value``.
    """
    s = customer.sensitivity
    m = max(0.0, minutes_late)
    log_gap = s * (
        pricing.lateness_coef * math.log1p(m) + pricing.failure_coef * failed_attempts
    )
    slower = customer.order_margin * math.expm1(log_gap)
    churn = s * pricing.churn_uplift * customer.value if m > 0 else 0.0
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
    out: dict[str, OrderCost] = {}
    for order in problem.orders:
        who = customers.get(order.customer_id or "", fallback)
        per_minute = min(
            pricing.max_per_minute,
            expected_loss(who, pricing.reference_minutes, pricing)
            / pricing.reference_minutes,
        )
        penalty = (
            expected_loss(who, pricing.drop_minutes, pricing, failed_attempts=1)
            + who.order_margin
            + pricing.redelivery_cost
        )
        out[order.id] = OrderCost(
            lateness_cost=round(per_minute, 2), penalty=round(penalty, 2)
        )
    return out


def apply_costs(problem: Problem, costs: Mapping[str, OrderCost]) -> Problem:
    """A copy of ``problem`` whose orders carry the given soft-window prices.

    Orders not in ``costs`` are left as they are.
    """
    jobs: list[Job] = []
    for job in problem.jobs:
        c = costs.get(job.id)
        jobs.append(
            job
            if c is None
            else job.model_copy(
                update={"lateness_cost": c.lateness_cost, "penalty": c.penalty}
            )
        )
    shipments: list[Shipment] = []
    for sh in problem.shipments:
        c = costs.get(sh.id)
        shipments.append(
            sh
            if c is None
            else sh.model_copy(
                update={"lateness_cost": c.lateness_cost, "penalty": c.penalty}
            )
        )
    return problem.model_copy(
        update={"jobs": tuple(jobs), "shipments": tuple(shipments)}
    )
