"""Retention pricing in simulated days: learned like a shop, judged by the truth.

A simulated day is priced the way a deployment prices its own
(``POST /v1/retention/fit``, :mod:`api.services.retention`): the experience
effect is fitted on the city's **observable** history up to the evening
before the day (:func:`tracking.retention.experience_effect`, orders and
their delivery outcomes only), each customer's value is their expected
margin over a year at their observed pace
(:func:`tracking.retention.customer_values`) and their vulnerability the
late deliveries among their recent orders
(:func:`tracking.feedback.recent_late_counts`). :func:`price_day` gives
every order of the day its lateness and drop prices from these.

What the day then costs in retention is judged with the generator's
truth instead (:func:`true_retention_cost`): its coefficients
(:func:`scenarios.truth.truth_pricing`) and each customer's true pace and
mean basket (the latent ``base_rate`` and ``basket``), which no shop sees.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from routing.model import Problem
from routing.plan import Plan
from scenarios.city import City
from scenarios.city.day import CITY_LOCALE
from scenarios.truth import truth_pricing
from tracking.feedback import (
    ORDER_MARGIN_HOURS,
    CustomerValue,
    LatenessPricing,
    expected_loss,
    price_problem,
    recent_late_counts,
)
from tracking.outcomes import DeliveryOutcome
from tracking.retention import customer_values, experience_effect

__all__ = [
    "Pricing",
    "ShopPricing",
    "TrueRetention",
    "learned_pricing",
    "price_day",
    "route_cost",
    "true_retention_cost",
]

#: How a simulated day's orders are priced: ``learned`` from the city's
#: observable history (the default, as in the service once a fit exists),
#: ``uniform``: every order as the day was drawn (hard windows, the default
#: drop penalty).
Pricing = Literal["learned", "uniform"]

#: Basket and margin a shop without order values prices with (the service's
#: retention fit uses the same, api.jobs.retention_fit).
_ORDER_VALUE = 35_000.0
_MARGIN = 0.25

#: Days of history the fit reads, ending the evening before the day (the
#: service's default window, api.services.retention.DEFAULT_DAYS).
_FIT_DAYS = 365


@dataclass(frozen=True)
class ShopPricing:
    """What a shop learned from its history by the evening before a day."""

    pricing: LatenessPricing
    values: Mapping[str, float]
    recent_late: Mapping[str, int]
    fit_seconds: float

    @property
    def typical(self) -> float:
        """The median customer value: the value of a customer never seen."""
        if not self.values:
            return 0.0
        return float(np.median(np.fromiter(self.values.values(), dtype=np.float64)))

    def customer(self, customer_id: str | None) -> CustomerValue:
        """A customer's value and recent lateness (median value if unknown)."""
        key = customer_id or ""
        value = self.values.get(key)
        return CustomerValue(
            value=self.typical if value is None else float(value),
            order_margin=_ORDER_VALUE * _MARGIN,
            recent_late=self.recent_late.get(key, 0),
        )


def _observable(town: City, day: dt.date) -> pd.DataFrame:
    """The orders a shop has outcomes for on the evening before ``day``."""
    history = town.history
    delivered = pd.to_datetime(history["delivery_date"])
    first = pd.Timestamp(day - dt.timedelta(days=_FIT_DAYS))
    keep = (delivered < pd.Timestamp(day)) & (pd.to_datetime(history["ds"]) >= first)
    return history.loc[keep]


_CACHE: dict[tuple[int, int, dt.date, dt.date], ShopPricing] = {}
_CACHE_LOCK = threading.Lock()


def learned_pricing(town: City, day: dt.date) -> ShopPricing:
    """The shop's pricing for ``day``, fitted on what it could see (cached).

    Raises
    ------
    ValueError
        When the history before ``day`` is too short to fit (never taken as
        "no effect").
    """
    key = (town.seed, len(town.customers), town.end, day)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    history = _observable(town, day)
    if history.empty:
        raise ValueError(
            f"no delivered orders before {day}: nothing to learn lateness prices from"
        )
    started = time.perf_counter()
    effect = experience_effect(history, end=day - dt.timedelta(days=1))
    values = customer_values(history, order_value=_ORDER_VALUE, margin=_MARGIN)
    shop = ShopPricing(
        pricing=LatenessPricing.from_effect(effect),
        values={str(k): float(v) for k, v in values.items()},
        recent_late=recent_late_counts(history, day),
        fit_seconds=round(time.perf_counter() - started, 2),
    )
    with _CACHE_LOCK:
        while len(_CACHE) >= 8:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = shop
    return shop


def price_day(problem: Problem, shop: ShopPricing) -> Problem:
    """The day priced with the shop's learned prices.

    Every promise is kept (:func:`tracking.feedback.apply_costs`); the
    customers whose lateness would cost most get planning buffers
    (:func:`tracking.feedback.with_buffers`).
    """
    return price_problem(problem, shop.pricing, shop.customer)


def route_cost(problem: Problem, plan: Plan) -> float:
    """What the routes cost to drive (won): vans, hours and km.

    Without lateness or drop prices, so plans priced differently compare on
    what they spend on the road.
    """
    vehicles = {v.id: v for v in problem.vehicles}
    total = 0.0
    for r in plan.routes:
        costs = vehicles[r.vehicle].costs
        total += (
            costs.fixed
            + costs.per_hour * (r.end - r.start) / 3600.0
            + costs.per_km * r.distance / 1000.0
        )
    return round(total, 2)


@dataclass(frozen=True)
class TrueRetention:
    """A day's retention cost by the generator's truth."""

    customers: int
    expected_lost: float
    loss: float


def true_retention_cost(
    outcomes: Sequence[DeliveryOutcome],
    town: City,
    day: dt.date,
    customer_value: float,
) -> TrueRetention:
    """Customers served, customers expected to leave, margin expected lost.

    Each order of a known customer is priced with
    :func:`tracking.feedback.expected_loss` and the generator's coefficients:
    a delivery by its minutes late, an order not delivered today (failed or
    never attempted) as one delivered tomorrow. The customer's value is
    ``customer_value`` (the average customer's future margin) scaled by
    their true pace and their true mean basket against the average, and the
    margin of one of their orders is the default order margin scaled by that
    basket; their vulnerability is the late deliveries among their recent
    orders, which the history holds for generator and shop alike.
    """
    pricing = truth_pricing(town.truth)
    ids = town.customers["customer_id"].astype(str)
    rates = town.customers.set_index(ids)["base_rate"]
    baskets = town.customers.set_index(ids)["basket"]
    mean_rate = float(rates.mean()) or 1.0
    mean_basket = float(baskets.mean()) or 1.0
    order_margin = CITY_LOCALE.amount(ORDER_MARGIN_HOURS)
    recent = recent_late_counts(town.history, day)
    customers: set[str] = set()
    lost = loss = 0.0
    for o in outcomes:
        if o.customer_id is None:
            continue
        customers.add(o.customer_id)
        pace, basket = 1.0, 1.0
        if o.customer_id in rates.index:
            pace = float(rates[o.customer_id]) / mean_rate
            basket = float(baskets[o.customer_id]) / mean_basket
        who = CustomerValue(
            value=customer_value * pace * basket,
            order_margin=order_margin * basket,
            recent_late=recent.get(o.customer_id, 0),
        )
        late = o.minutes_late if o.delivered else pricing.drop_minutes
        loss += expected_loss(
            who, late, pricing, failed_attempts=len(o.failure_reasons)
        )
        if late > 0:
            lost += who.sensitivity * pricing.uplift(who.recent_late)
    return TrueRetention(len(customers), round(lost, 3), round(loss, 2))
