"""One delivery day of the synthetic Seoul as a routing problem.

:func:`day_problem` draws "tomorrow's orders" from the city's customers and
sizes a fleet per depot so that a capacity and time-window solver has slack:
at most :data:`STOPS_PER_VAN` stops and 80 % of capacity per van, half the day
vans on a late shift so that evening windows can be served, and night vans
for dawn deliveries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import Field, field_validator, model_validator

from routing.base import FrozenModel
from routing.bounds import Real, Whole
from routing.locale import Locale
from routing.model import (
    Costs,
    Job,
    Location,
    Problem,
    ServiceLevel,
    TimeWindow,
    Vehicle,
)
from routing.units import DAY, HOUR
from scenarios.city.geography import (
    DISTRICTS,
    coordinates,
    known_districts,
    nearest,
)
from scenarios.city.history import BASKET_STREAM, order_baskets

if TYPE_CHECKING:
    from scenarios.city import City

__all__ = [
    "CAPACITY",
    "CITY_LOCALE",
    "DAY_MIX",
    "DAY_SHIFTS",
    "NIGHT_SHIFT",
    "STOPS_PER_VAN",
    "FleetCosts",
    "ServicePolicy",
    "day_baskets",
    "day_problem",
]

#: Van capacity: ``[grams, parcels]``.
CAPACITY: tuple[int, int] = (700_000, 120)
#: Day jobs per day van, and night jobs per night van, used to size the fleet.
STOPS_PER_VAN = 28
NIGHT_STOPS_PER_VAN = 22
#: Share of capacity a van is planned to use at most.
LOAD_FACTOR = 0.8
#: Shifts of the day vans (early, late) and of night vans, in seconds.
DAY_SHIFTS: tuple[TimeWindow, TimeWindow] = (
    TimeWindow(start=8 * HOUR, end=20 * HOUR),
    TimeWindow(start=10 * HOUR, end=22 * HOUR),
)
NIGHT_SHIFT = TimeWindow(start=23 * HOUR, end=31 * HOUR)

#: Mix of a day's orders: service level, plus ``"return"`` for customer
#: returns (``type="pickup"``, next-day level).
DAY_MIX: dict[str, float] = {
    ServiceLevel.NEXT_DAY.value: 0.55,
    ServiceLevel.SAME_DAY.value: 0.10,
    ServiceLevel.SCHEDULED.value: 0.07,
    ServiceLevel.NIGHT.value: 0.12,
    ServiceLevel.PICKUP_STATION.value: 0.10,
    "return": 0.06,
}

_PRIORITY = {
    ServiceLevel.SAME_DAY.value: 60,
    ServiceLevel.NIGHT.value: 60,
    ServiceLevel.SCHEDULED.value: 40,
    ServiceLevel.NEXT_DAY.value: 20,
    ServiceLevel.PICKUP_STATION.value: 20,
    "return": 0,
}

_NIGHT_WINDOW = TimeWindow(start=DAY, end=DAY + 7 * HOUR)  # 00:00-07:00 next morning
_STATION_WINDOW = TimeWindow(start=9 * HOUR, end=18 * HOUR)


#: The embedded city's locale: Seoul's clock, won and Korean holidays.
CITY_LOCALE = Locale(timezone="Asia/Seoul", currency="KRW", country="KR")

#: Default van costs (won, :data:`CITY_LOCALE`): a driver-day plus van
#: lease, the hourly wage and fuel and wear per km; night shifts pay a premium.
DAY_VAN_COSTS = Costs(fixed=150_000.0, per_hour=18_000.0, per_km=250.0)
NIGHT_VAN_COSTS = Costs(fixed=180_000.0, per_hour=24_000.0, per_km=250.0)


@dataclass(frozen=True, slots=True)
class FleetCosts:
    """Costs (won) of the day and night vans."""

    day: Costs = DAY_VAN_COSTS
    night: Costs = NIGHT_VAN_COSTS


#: Hours from which shoppers place the orders that ask for same-day
#: delivery, evenly (``[first, last)``): a cut-off at ``c`` catches the share
#: ``(c - first) / (last - first)`` of them; the rest get next-day delivery.
SAME_DAY_ORDER_HOURS = (7, 22)
#: Hours between a same-day cut-off and the first same-day window (picking,
#: loading and the drive out).
SAME_DAY_LEAD_HOURS = 2


class ServicePolicy(FrozenModel):
    """What the shop offers: windows, cut-off, service levels by district.

    The defaults are the embedded city's :data:`DAY_MIX` and windows (and
    draw exactly the same day). A level a customer's district is not offered
    (``night_districts``, ``same_day_districts``) becomes a next-day home
    delivery; so do the same-day orders placed after ``same_day_cutoff``.
    ``pickup_station_share`` moves orders between next-day home delivery and
    pickup stations. The windows offered are ``window_hours`` long and start
    from ``windows_from`` up to ``windows_to - window_hours``.
    """

    window_hours: Whole = Field(
        default=2, ge=1, le=6, description="length of the home windows offered"
    )
    windows_from: Whole = Field(
        default=9, ge=6, le=18, description="first hour a day window may start"
    )
    windows_to: Whole = Field(
        default=21, ge=10, le=23, description="hour the last day window ends"
    )
    same_day_cutoff: Whole = Field(
        default=12,
        ge=SAME_DAY_ORDER_HOURS[0] + 1,
        le=18,
        description="hour until which same-day orders are taken",
    )
    pickup_station_share: Real = Field(
        default=DAY_MIX[ServiceLevel.PICKUP_STATION.value],
        ge=0.0,
        le=0.5,
        description="share of orders sent to a pickup station",
    )
    night_districts: tuple[str, ...] | None = Field(
        default=None,
        max_length=len(DISTRICTS),
        description="districts offered night (dawn) delivery (default: all)",
    )
    same_day_districts: tuple[str, ...] | None = Field(
        default=None,
        max_length=len(DISTRICTS),
        description="districts offered same-day delivery (default: all)",
    )
    checkout: Literal["drawn", "quoted"] = Field(
        default="drawn",
        description="drawn: each order gets the window it wants; quoted: "
        "shoppers choose among the slots the plan can still take "
        "(scenarios.checkout)",
    )

    @field_validator("night_districts", "same_day_districts")
    @classmethod
    def _known_districts(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else known_districts(value)

    @model_validator(mode="after")
    def _windows_fit(self) -> ServicePolicy:
        if self.windows_to - self.windows_from < self.window_hours:
            raise ValueError(
                f"a {self.window_hours}-hour window does not fit in "
                f"{self.windows_from}:00-{self.windows_to}:00"
            )
        if self.same_day_cutoff + SAME_DAY_LEAD_HOURS + self.window_hours > (
            self.windows_to
        ):
            raise ValueError(
                f"same-day orders taken until {self.same_day_cutoff}:00 leave no "
                f"{self.window_hours}-hour window before {self.windows_to}:00"
            )
        return self

    def mix(self) -> dict[str, float]:
        """The order mix this policy draws from (sums to 1)."""
        mix = dict(DAY_MIX)
        first, last = SAME_DAY_ORDER_HOURS
        same = ServiceLevel.SAME_DAY.value
        caught = (self.same_day_cutoff - first) / (last - first)
        default = (ServicePolicy.model_fields["same_day_cutoff"].default - first) / (
            last - first
        )
        mix[same] = min(1.0, DAY_MIX[same] * caught / default)
        mix[ServiceLevel.PICKUP_STATION.value] = self.pickup_station_share
        rest = sum(v for k, v in mix.items() if k != ServiceLevel.NEXT_DAY.value)
        if rest > 1.0:
            raise ValueError("the policy's service levels take more than every order")
        mix[ServiceLevel.NEXT_DAY.value] = 1.0 - rest
        return mix

    def offers(self, level: str, district: str) -> bool:
        """Whether ``district`` is offered service level ``level``."""
        if level == ServiceLevel.NIGHT.value:
            allowed = self.night_districts
        elif level == ServiceLevel.SAME_DAY.value:
            allowed = self.same_day_districts
        else:
            return True
        return allowed is None or district in allowed


def _candidates(customers: pd.DataFrame, day: date) -> pd.DataFrame:
    """Customers signed up by ``day`` and not gone before it."""
    when = pd.Timestamp(day)
    since = customers["since"]
    churned = customers["churned"]
    alive = (since <= when) & (churned.isna() | (churned >= when))
    return customers[alive] if alive.any() else customers


def _windows(
    rng: np.random.Generator, kind: str, n: int, policy: ServicePolicy
) -> list[tuple[TimeWindow, ...]]:
    """Time windows of ``n`` jobs of one kind under ``policy``."""
    if kind == ServiceLevel.NIGHT.value:
        return [(_NIGHT_WINDOW,)] * n
    if kind == ServiceLevel.PICKUP_STATION.value:
        return [(_STATION_WINDOW,)] * n
    width = policy.window_hours
    last_start = policy.windows_to - width
    if kind == ServiceLevel.SAME_DAY.value:
        first_same = policy.same_day_cutoff + SAME_DAY_LEAD_HOURS
        starts = rng.integers(first_same, last_start + 1, n)
        return [(TimeWindow(start=s * HOUR, end=(s + width) * HOUR),) for s in starts]
    # next-day, scheduled and returns: 70 % one window, 10 % two (at least
    # two hours apart), 20 % none
    u = rng.random(n)
    first = rng.integers(policy.windows_from, last_start + 1, n)
    gap = width + 2
    early_end = min(policy.windows_from + 5, last_start - gap + 1)
    two = early_end > policy.windows_from
    early = rng.integers(
        policy.windows_from, max(early_end, policy.windows_from + 1), n
    )
    span = np.maximum(last_start + 1 - early - gap, 0)
    late = early + gap + np.floor(rng.random(n) * span).astype(np.int64)
    out: list[tuple[TimeWindow, ...]] = []
    for i in range(n):
        if u[i] < 0.7 or (u[i] < 0.8 and not two):
            out.append(
                (TimeWindow(start=first[i] * HOUR, end=(first[i] + width) * HOUR),)
            )
        elif u[i] < 0.8:
            out.append(
                (
                    TimeWindow(start=early[i] * HOUR, end=(early[i] + width) * HOUR),
                    TimeWindow(start=late[i] * HOUR, end=(late[i] + width) * HOUR),
                )
            )
        else:
            out.append(())
    return out


def _demand(
    rng: np.random.Generator, n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Grams and parcels of ``n`` orders: 1-3 parcels of about 1.5 kg each."""
    parcels = rng.choice([1, 2, 3], size=n, p=[0.8, 0.15, 0.05]).astype(np.int64)
    per_parcel = np.clip(rng.lognormal(np.log(1_500.0), 0.8, n), 100.0, 25_000.0)
    grams = np.round(parcels * per_parcel).astype(np.int64)
    return grams, parcels


def _van_count(stops: int, grams: int, parcels: int, stops_per_van: int) -> int:
    if stops == 0:
        return 0
    return max(
        math.ceil(stops / stops_per_van),
        math.ceil(grams / (LOAD_FACTOR * CAPACITY[0])),
        math.ceil(parcels / (LOAD_FACTOR * CAPACITY[1])),
    )


def _check_day_arguments(
    n_orders: int,
    vehicles_per_depot: int | None,
    night_vehicles_per_depot: int | None,
    shifts: Sequence[TimeWindow],
    planned_orders: int | None,
) -> None:
    if n_orders < 1:
        raise ValueError(f"n_orders must be >= 1, got {n_orders}")
    if vehicles_per_depot is not None and vehicles_per_depot < 1:
        raise ValueError(f"vehicles_per_depot must be >= 1, got {vehicles_per_depot}")
    if night_vehicles_per_depot is not None and night_vehicles_per_depot < 0:
        raise ValueError(
            f"night_vehicles_per_depot must be >= 0, got {night_vehicles_per_depot}"
        )
    if not shifts:
        raise ValueError("shifts must name at least one shift")
    if planned_orders is not None and planned_orders < 1:
        raise ValueError(f"planned_orders must be >= 1, got {planned_orders}")


@dataclass(frozen=True, slots=True)
class _Orders:
    """The drawn orders of a day, one entry per order."""

    picked: pd.DataFrame
    kind: npt.NDArray[np.str_]
    grams: npt.NDArray[np.int64]
    parcels: npt.NDArray[np.int64]
    service: npt.NDArray[np.int64]
    windows: list[tuple[TimeWindow, ...]]


def _draw_orders(
    rng: np.random.Generator, pool: pd.DataFrame, n_orders: int, policy: ServicePolicy
) -> _Orders:
    """Customers, kinds, demands, service times and windows, in draw order."""
    mix = policy.mix()
    weights = pool["base_rate"].to_numpy(dtype=np.float64)
    replace = n_orders > len(pool)
    picked = pool.iloc[
        rng.choice(len(pool), size=n_orders, replace=replace, p=weights / weights.sum())
    ]
    kinds = np.array(list(mix))
    kind = kinds[rng.choice(len(kinds), size=n_orders, p=list(mix.values()))]
    # A level the customer's district is not offered falls back to next day.
    district = picked["district"].astype(str).to_numpy()
    for i in range(n_orders):
        if not policy.offers(str(kind[i]), str(district[i])):
            kind[i] = ServiceLevel.NEXT_DAY.value
    grams, parcels = _demand(rng, n_orders)
    service = rng.integers(120, 241, n_orders)
    windows: list[tuple[TimeWindow, ...]] = [()] * n_orders
    for k in kinds:
        idx = np.flatnonzero(kind == k)
        for i, w in zip(
            idx.tolist(), _windows(rng, str(k), len(idx), policy), strict=True
        ):
            windows[i] = w
    return _Orders(picked, kind, grams, parcels, service, windows)


#: Per depot: ``[stops, grams, parcels]``.
_Loads = dict[str, list[int]]


def _jobs(city: City, day: date, orders: _Orders) -> tuple[list[Job], _Loads, _Loads]:
    """The jobs of the drawn orders, and the day and night load of each depot."""
    picked = orders.picked
    depot_ids = [d.id for d in city.depots]
    station_ids = [s.id for s in city.stations]
    lat = picked["lat"].to_numpy(dtype=np.float64)
    lon = picked["lon"].to_numpy(dtype=np.float64)
    home_depot = nearest(lat, lon, city.depots)
    station = nearest(lat, lon, city.stations)
    station_depot = nearest(*coordinates(city.stations), city.depots)
    customer_ids = picked["customer_id"].astype(str).tolist()

    jobs: list[Job] = []
    day_load: _Loads = {d: [0, 0, 0] for d in depot_ids}
    night_load: _Loads = {d: [0, 0, 0] for d in depot_ids}
    for i in range(len(picked)):
        k = str(orders.kind[i])
        at_station = k == ServiceLevel.PICKUP_STATION.value
        depot = depot_ids[station_depot[station[i]] if at_station else home_depot[i]]
        level = ServiceLevel.NEXT_DAY if k == "return" else ServiceLevel(k)
        job = Job(
            id=f"{day:%Y%m%d}-{i + 1:05d}",
            type="pickup" if k == "return" else "delivery",
            demand=(int(orders.grams[i]), int(orders.parcels[i])),
            priority=_PRIORITY[k],
            service_level=level,
            scheduled_date=day if level is ServiceLevel.SCHEDULED else None,
            customer_id=customer_ids[i],
            depot=depot,
            location=None if at_station else Location(lat=lat[i], lon=lon[i]),
            station=station_ids[station[i]] if at_station else None,
            service=0 if at_station else int(orders.service[i]),
            time_windows=orders.windows[i],
        )
        jobs.append(job)
        load = night_load if level is ServiceLevel.NIGHT else day_load
        load[depot][0] += 1
        load[depot][1] += job.demand[0]
        load[depot][2] += job.demand[1]
    return jobs, day_load, night_load


def _depot_vans(
    depot: str,
    day_load: list[int],
    night_load: list[int],
    *,
    vehicles_per_depot: int | None,
    night_vehicles_per_depot: int | None,
    shifts: Sequence[TimeWindow],
    costs: FleetCosts,
) -> list[Vehicle]:
    """The day vans (spread over ``shifts``) and night vans of one depot."""
    vehicles: list[Vehicle] = []
    stops, g, p = day_load
    if vehicles_per_depot is not None:
        n_day = vehicles_per_depot
    elif stops == 0:
        n_day = 0
    else:
        n_day = max(_van_count(stops, g, p, STOPS_PER_VAN) + 1, 2)
    for v in range(n_day):
        shift = shifts[v * len(shifts) // n_day]
        vehicles.append(
            Vehicle(
                id=f"{depot}-van-{v + 1:02d}",
                start=depot,
                end=depot,
                capacity=CAPACITY,
                shift=shift,
                costs=costs.day,
            )
        )
    stops, g, p = night_load
    n_night = _van_count(stops, g, p, NIGHT_STOPS_PER_VAN)
    if night_vehicles_per_depot is not None and stops:
        n_night = night_vehicles_per_depot
    for v in range(n_night):
        vehicles.append(
            Vehicle(
                id=f"{depot}-night-{v + 1:02d}",
                start=depot,
                end=depot,
                capacity=CAPACITY,
                shift=NIGHT_SHIFT,
                costs=costs.night,
                night=True,
            )
        )
    return vehicles


def day_problem(
    city: City,
    day: date,
    n_orders: int,
    seed: int,
    *,
    vehicles_per_depot: int | None = None,
    night_vehicles_per_depot: int | None = None,
    shifts: Sequence[TimeWindow] = DAY_SHIFTS,
    costs: FleetCosts | None = None,
    policy: ServicePolicy | None = None,
    planned_orders: int | None = None,
) -> Problem:
    """Tomorrow's orders in the city as a routing :class:`~routing.model.Problem`.

    Orders come from customers active on ``day`` (weighted by their order
    rate) with the mix :data:`DAY_MIX`: next-day home deliveries (70 % with one
    2-hour window between 09:00 and 21:00, 10 % with two, 20 % any time),
    same-day deliveries (a 2-hour evening window), scheduled deliveries
    (``scheduled_date=day``), night deliveries (00:00-07:00 the next morning,
    i.e. seconds 86 400-111 600, served by night vans), pickup-station
    deliveries (the station nearest the customer, by 18:00) and returns
    (``type="pickup"``). Demands are ``[grams, parcels]``; home service takes
    120-240 s. Each order is held by the depot nearest its stop.

    Each depot gets day vans on :data:`DAY_SHIFTS` (half early, half late)
    and, if it has night orders, night vans on :data:`NIGHT_SHIFT`. The
    count is the largest of ``stops / STOPS_PER_VAN`` (night:
    ``NIGHT_STOPS_PER_VAN``) and demand over 80 % of :data:`CAPACITY`, plus
    one spare day van and at least two (one per shift).

    Parameters
    ----------
    city
        The city (:func:`~scenarios.city.build_city`).
    day
        Delivery date; also ``Problem.date``.
    n_orders
        Number of jobs.
    seed
        Seed; with ``day`` it fixes the problem.
    vehicles_per_depot
        Fix the number of day vans per depot (night vans are still sized from
        the night orders).
    night_vehicles_per_depot
        Fix the number of night vans of each depot that has night orders.
    shifts
        Shifts of the day vans, spread evenly over each depot's vans in order
        (default :data:`DAY_SHIFTS`: the first half early, the rest late).
    costs
        Van costs (default :class:`FleetCosts`).
    policy
        Windows, cut-off and service levels offered (default
        :class:`ServicePolicy`: the mix and windows above).
    planned_orders
        Size the vans for this many orders (the forecast the fleet was
        booked on) instead of the day's ``n_orders``: each depot's loads are
        scaled by ``planned_orders / n_orders`` before sizing.

    Returns
    -------
    routing.model.Problem
    """
    _check_day_arguments(
        n_orders, vehicles_per_depot, night_vehicles_per_depot, shifts, planned_orders
    )
    costs = costs or FleetCosts()
    policy = policy or ServicePolicy()
    rng = np.random.default_rng([seed, day.toordinal()])
    orders = _draw_orders(rng, _candidates(city.customers, day), n_orders, policy)
    jobs, day_load, night_load = _jobs(city, day, orders)
    if planned_orders is not None:
        # The fleet was booked on the forecast: size it for that many orders.
        scale = planned_orders / n_orders
        for totals in (*day_load.values(), *night_load.values()):
            totals[:] = [math.ceil(x * scale) for x in totals]
    vehicles: list[Vehicle] = []
    for depot in (d.id for d in city.depots):
        vehicles += _depot_vans(
            depot,
            day_load[depot],
            night_load[depot],
            vehicles_per_depot=vehicles_per_depot,
            night_vehicles_per_depot=night_vehicles_per_depot,
            shifts=shifts,
            costs=costs,
        )
    return Problem(
        date=day,
        locale=CITY_LOCALE,
        depots=city.depots,
        stations=city.stations,
        vehicles=tuple(vehicles),
        jobs=tuple(jobs),
    )


def day_baskets(city: City, problem: Problem, seed: int) -> dict[str, float]:
    """The basket (won) of each delivery of a day of ``city``, by order id.

    Each is drawn around its customer's mean basket (``city.customers``
    ``basket``; :func:`~scenarios.city.history.order_baskets`) from a stream
    of its own, seeded by ``seed`` and the problem's date, so the problem
    itself is what :func:`day_problem` drew. Returns (pickups) and orders of
    customers the city does not know have no basket.

    Raises
    ------
    ValueError
        If ``problem`` has no date.
    """
    if problem.date is None:
        raise ValueError("problem.date is needed to draw the day's baskets")
    means = pd.Series(
        city.customers["basket"].to_numpy(dtype=np.float64),
        index=city.customers["customer_id"].astype(str),
    )
    orders = list(problem.orders)
    mean = means.reindex([o.customer_id or "" for o in orders]).to_numpy()
    rng = np.random.default_rng([seed, problem.date.toordinal(), BASKET_STREAM])
    # One draw per order, whatever its kind, so a basket does not depend on
    # which other orders are deliveries.
    drawn = order_baskets(np.nan_to_num(mean, nan=1.0), rng, city.truth)
    return {
        o.id: float(v)
        for o, m, v in zip(orders, mean, drawn, strict=True)
        if not np.isnan(m) and not (isinstance(o, Job) and o.type == "pickup")
    }
