"""One delivery day of the synthetic Seoul as a routing problem.

:func:`day_problem` draws "tomorrow's orders" from the city's customers and
sizes a fleet per depot so that a capacity and time-window solver has slack:
at most :data:`STOPS_PER_VAN` stops and 80 % of capacity per van, half the day
vans on a late shift so that evening windows can be served, and night vans
for dawn deliveries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

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
from scenarios.city.geography import coordinates, nearest

if TYPE_CHECKING:
    from scenarios.city import City

__all__ = [
    "CAPACITY",
    "DAY_MIX",
    "DAY_SHIFTS",
    "NIGHT_SHIFT",
    "STOPS_PER_VAN",
    "FleetCosts",
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


#: Default van costs (won): a driver-day plus van lease, the hourly wage and
#: fuel and wear per km; night shifts pay a premium.
DAY_VAN_COSTS = Costs(fixed=150_000.0, per_hour=18_000.0, per_km=250.0)
NIGHT_VAN_COSTS = Costs(fixed=180_000.0, per_hour=24_000.0, per_km=250.0)


@dataclass(frozen=True, slots=True)
class FleetCosts:
    """Costs (won) of the day and night vans."""

    day: Costs = DAY_VAN_COSTS
    night: Costs = NIGHT_VAN_COSTS


def _candidates(customers: pd.DataFrame, day: date) -> pd.DataFrame:
    """Customers signed up by ``day`` and not gone before it."""
    when = pd.Timestamp(day)
    since = customers["since"]
    churned = customers["churned"]
    alive = (since <= when) & (churned.isna() | (churned >= when))
    return customers[alive] if alive.any() else customers


def _windows(
    rng: np.random.Generator, kind: str, n: int
) -> list[tuple[TimeWindow, ...]]:
    """Time windows of ``n`` jobs of one kind."""
    if kind == ServiceLevel.NIGHT.value:
        return [(_NIGHT_WINDOW,)] * n
    if kind == ServiceLevel.PICKUP_STATION.value:
        return [(_STATION_WINDOW,)] * n
    if kind == ServiceLevel.SAME_DAY.value:
        starts = rng.integers(14, 20, n)
        return [(TimeWindow(start=s * HOUR, end=(s + 2) * HOUR),) for s in starts]
    # next-day, scheduled and returns: 70 % one 2-hour window, 10 % two, 20 % none
    u = rng.random(n)
    first = rng.integers(9, 20, n)
    early = rng.integers(9, 14, n)
    late = early + 4 + np.floor(rng.random(n) * (20 - early - 4)).astype(np.int64)
    out: list[tuple[TimeWindow, ...]] = []
    for i in range(n):
        if u[i] < 0.7:
            out.append((TimeWindow(start=first[i] * HOUR, end=(first[i] + 2) * HOUR),))
        elif u[i] < 0.8:
            out.append(
                (
                    TimeWindow(start=early[i] * HOUR, end=(early[i] + 2) * HOUR),
                    TimeWindow(start=late[i] * HOUR, end=(late[i] + 2) * HOUR),
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


def day_problem(
    city: City,
    day: date,
    n_orders: int,
    seed: int,
    *,
    vehicles_per_depot: int | None = None,
    costs: FleetCosts | None = None,
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
    costs
        Van costs (default :class:`FleetCosts`).

    Returns
    -------
    routing.model.Problem
    """
    if n_orders < 1:
        raise ValueError(f"n_orders must be >= 1, got {n_orders}")
    if vehicles_per_depot is not None and vehicles_per_depot < 1:
        raise ValueError(f"vehicles_per_depot must be >= 1, got {vehicles_per_depot}")
    costs = costs or FleetCosts()
    rng = np.random.default_rng([seed, day.toordinal()])
    pool = _candidates(city.customers, day)
    weights = pool["base_rate"].to_numpy(dtype=np.float64)
    replace = n_orders > len(pool)
    picked = pool.iloc[
        rng.choice(len(pool), size=n_orders, replace=replace, p=weights / weights.sum())
    ]
    kinds = np.array(list(DAY_MIX))
    kind = kinds[rng.choice(len(kinds), size=n_orders, p=list(DAY_MIX.values()))]
    grams, parcels = _demand(rng, n_orders)
    service = rng.integers(120, 241, n_orders)
    windows: list[tuple[TimeWindow, ...]] = [()] * n_orders
    for k in kinds:
        idx = np.flatnonzero(kind == k)
        for i, w in zip(idx.tolist(), _windows(rng, str(k), len(idx)), strict=True):
            windows[i] = w

    depot_ids = [d.id for d in city.depots]
    station_ids = [s.id for s in city.stations]
    lat = picked["lat"].to_numpy(dtype=np.float64)
    lon = picked["lon"].to_numpy(dtype=np.float64)
    home_depot = nearest(lat, lon, city.depots)
    station = nearest(lat, lon, city.stations)
    station_depot = nearest(*coordinates(city.stations), city.depots)
    customer_ids = picked["customer_id"].astype(str).tolist()

    jobs: list[Job] = []
    day_load: dict[str, list[int]] = {d: [0, 0, 0] for d in depot_ids}
    night_load: dict[str, list[int]] = {d: [0, 0, 0] for d in depot_ids}
    for i in range(n_orders):
        k = str(kind[i])
        at_station = k == ServiceLevel.PICKUP_STATION.value
        depot = depot_ids[station_depot[station[i]] if at_station else home_depot[i]]
        level = ServiceLevel.NEXT_DAY if k == "return" else ServiceLevel(k)
        job = Job(
            id=f"{day:%Y%m%d}-{i + 1:05d}",
            type="pickup" if k == "return" else "delivery",
            demand=(int(grams[i]), int(parcels[i])),
            priority=_PRIORITY[k],
            service_level=level,
            scheduled_date=day if level is ServiceLevel.SCHEDULED else None,
            customer_id=customer_ids[i],
            depot=depot,
            location=None if at_station else Location(lat=lat[i], lon=lon[i]),
            station=station_ids[station[i]] if at_station else None,
            service=0 if at_station else int(service[i]),
            time_windows=windows[i],
        )
        jobs.append(job)
        load = night_load if level is ServiceLevel.NIGHT else day_load
        load[depot][0] += 1
        load[depot][1] += job.demand[0]
        load[depot][2] += job.demand[1]

    vehicles: list[Vehicle] = []
    for depot in depot_ids:
        stops, g, p = day_load[depot]
        if vehicles_per_depot is not None:
            n_day = vehicles_per_depot
        elif stops == 0:
            n_day = 0
        else:
            n_day = max(_van_count(stops, g, p, STOPS_PER_VAN) + 1, 2)
        for v in range(n_day):
            shift = DAY_SHIFTS[0] if v < math.ceil(n_day / 2) else DAY_SHIFTS[1]
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
        stops, g, p = night_load[depot]
        for v in range(_van_count(stops, g, p, NIGHT_STOPS_PER_VAN)):
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
    return Problem(
        date=day,
        depots=city.depots,
        stations=city.stations,
        vehicles=tuple(vehicles),
        jobs=tuple(jobs),
    )
