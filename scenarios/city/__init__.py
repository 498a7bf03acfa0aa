"""The embedded default city: a synthetic Seoul with two years of orders.

:func:`build_city` assembles the geography (:mod:`.geography`), a simulated
order history with a known ground truth (:mod:`.history`) and the calendar it
was drawn from; :func:`day_problem` (:mod:`.day`) turns the city into one
day's routing problem and :func:`day_baskets` gives its orders their
baskets. Everything is deterministic for a seed. See
``docs/synthetic-city.md``.

Examples
--------
>>> from datetime import date
>>> city = build_city(seed=1, n_customers=300, end=date(2024, 1, 31))
>>> len(city.districts)
25
>>> problem = day_problem(city, date(2024, 2, 1), n_orders=40, seed=1)
>>> len(problem.jobs)
40
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from forecasting.calendar import Promotion, RetailCalendar, default_promotions
from routing.model import Depot, PickupStation
from scenarios.city.day import day_baskets, day_problem
from scenarios.city.geography import (
    DEPOTS,
    DISTRICTS,
    METRO_DEPOTS,
    STATIONS,
    District,
    districts_frame,
)
from scenarios.city.history import (
    HISTORY_COLUMNS,
    GroundTruth,
    History,
    daily_counts,
    simulate_history,
    time_to_next_order,
)

__all__ = [
    "DEFAULT_CUSTOMERS",
    "DEFAULT_END",
    "DEFAULT_START",
    "DEPOTS",
    "DISTRICTS",
    "HISTORY_COLUMNS",
    "METRO_DEPOTS",
    "STATIONS",
    "City",
    "District",
    "GroundTruth",
    "History",
    "build_city",
    "daily_counts",
    "day_baskets",
    "day_problem",
    "districts_frame",
    "simulate_history",
    "time_to_next_order",
    "with_depots",
]

#: Customer slots of the default city (about 2,000 orders a day).
DEFAULT_CUSTOMERS = 40_000
DEFAULT_START = date(2024, 1, 1)
DEFAULT_END = date(2025, 12, 31)


@dataclass(frozen=True, eq=False)
class City:
    """A synthetic Seoul: places, customers, order history and its truth.

    Attributes
    ----------
    seed
        Seed it was built from.
    start, end
        Inclusive range of order dates in ``history``.
    districts
        :func:`~scenarios.city.geography.districts_frame`.
    depots, stations
        Routing depots and pickup stations.
    customers
        One row per customer that ever existed (see :class:`History`).
    history
        One row per order (:data:`HISTORY_COLUMNS`).
    features
        Daily calendar features of the history with the true ``demand``
        multiplier and ``load``.
    calendar, promotions
        What the history was drawn from (extend them to forecast ahead).
    truth
        The generator's parameters.
    """

    seed: int
    start: date
    end: date
    districts: pd.DataFrame
    depots: tuple[Depot, ...]
    stations: tuple[PickupStation, ...]
    customers: pd.DataFrame
    history: pd.DataFrame
    features: pd.DataFrame
    calendar: RetailCalendar
    promotions: tuple[Promotion, ...]
    truth: GroundTruth


#: Days simulated before the history starts (see :func:`simulate_history`).
_BURN_IN_DAYS = 60


def build_city(
    seed: int = 0,
    *,
    n_customers: int = DEFAULT_CUSTOMERS,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    truth: GroundTruth | None = None,
    promotions: Sequence[Promotion] | None = None,
    calendar_years: Sequence[int] | None = None,
) -> City:
    """Build the synthetic Seoul.

    Parameters
    ----------
    seed
        Seed of everything random; same seed, same city.
    n_customers
        Customer slots. The default gives roughly 2,000 orders a day; 2,000
        slots (about 100 a day) is a fast city for tests.
    start, end
        Inclusive range of the order history; extend ``end`` for a longer
        one.
    truth
        Generator parameters (default :class:`GroundTruth`).
    promotions
        Campaign plan (default
        :func:`~forecasting.calendar.default_promotions` over the history
        and the following year, with ``seed``).
    calendar_years
        Years the calendar covers (default: from the year before ``start``,
        for the burn-in, to the year after ``end``, for forecasting).

    Returns
    -------
    City
    """
    truth = truth or GroundTruth()
    calendar = RetailCalendar(calendar_years or range(start.year - 1, end.year + 2))
    if promotions is None:
        # from the burn-in to the end of the calendar
        promotions = default_promotions(
            start - timedelta(days=_BURN_IN_DAYS),
            date(max(calendar.years), 12, 31),
            seed=seed,
        )
    history = simulate_history(
        n_customers,
        start,
        end,
        seed=seed,
        truth=truth,
        calendar=calendar,
        promotions=promotions,
        burn_in_days=_BURN_IN_DAYS,
    )
    return _city(seed, start, end, history, calendar, tuple(promotions), truth)


def _city(
    seed: int,
    start: date,
    end: date,
    history: History,
    calendar: RetailCalendar,
    promotions: tuple[Promotion, ...],
    truth: GroundTruth,
) -> City:
    return City(
        seed=seed,
        start=start,
        end=end,
        districts=districts_frame(),
        depots=DEPOTS,
        stations=STATIONS,
        customers=history.customers,
        history=history.orders,
        features=history.features,
        calendar=calendar,
        promotions=promotions,
        truth=truth,
    )


def with_depots(city: City, depots: Sequence[Depot]) -> City:
    """The same city whose days are held by ``depots``.

    :func:`day_problem` gives each order to the nearest of them and sizes
    each one's vans, so ``with_depots(city, METRO_DEPOTS)`` makes a metro
    operator's day over ten hubs. The order history keeps the three depots
    it was drawn with (its ``depot`` column).

    Raises
    ------
    ValueError
        When ``depots`` is empty or repeats an id.
    """
    ids = [d.id for d in depots]
    if not ids or len(set(ids)) != len(ids):
        raise ValueError(f"depots: need at least one and unique ids, got {ids}")
    return dataclasses.replace(city, depots=tuple(depots))
