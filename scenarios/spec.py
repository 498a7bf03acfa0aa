"""Planners' scenarios: what-if days of the embedded city, written in TOML.

A scenario file names a day, the orders of an ordinary such day, what
changes (promotions, holidays, events raise demand by a factor), the fleet
(day and night vans per depot, shifts, drivers absent), the service policy
(windows offered, same-day cut-off, which districts get night or same-day
delivery, pickup-station share), disruptions (weather, the city's travel,
slowdowns by zone and hour, foreseen or not), the number of replications
and a seed. :func:`load_scenario` reads one and says
exactly what is wrong (file, key, reason); :meth:`Scenario.day_spec` turns a
replication into the :class:`~scenarios.run.DaySpec` that
:func:`~scenarios.run.simulate_day` runs. Replications keep one city and
vary the day's randomness (orders, travel, failed attempts).

::

    name = "Black Friday"
    day = 2025-11-28
    orders = 600
    replications = 20

    [[demand]]
    kind = "promotion"
    name = "Black Friday sale"
    uplift = 1.8

    [fleet]
    vans_per_depot = 8

``scenarios/library/`` ships ready-made scenarios.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from routing.base import FrozenModel
from routing.bounds import Flag, Real, Whole
from routing.io.files import error_reason
from scenarios.city.day import ServicePolicy
from scenarios.disruption import Weather, ZoneSlowdown
from scenarios.pricing import Pricing
from scenarios.run import (
    CUSTOMER_VALUE,
    DEFAULT_SHIFTS,
    LATEST_FROM,
    DaySpec,
    NightVans,
    Shifts,
    check_day,
)

__all__ = [
    "LIBRARY",
    "DemandChange",
    "Disruption",
    "FleetSpec",
    "Scenario",
    "ScenarioError",
    "ServicePolicy",
    "ZoneSlowdown",
    "load_scenario",
]

#: The scenarios shipped with milepost.
LIBRARY = Path(__file__).resolve().parent / "library"
#: Most orders one simulated day may have (the simulator's bound).
MAX_ORDERS = 2000
#: Route-search solutions per simulated day. OR-Tools finds about 1.5 a
#: second on a 600-order day of the embedded city (2026-12-03, this
#: project's 2-core machine), so 10 is roughly a 7-second search.
ITERATIONS = 10


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names file and key."""


class DemandChange(FrozenModel):
    """Something that moves the day's demand by a factor."""

    kind: Literal["promotion", "holiday", "event"]
    name: str = Field(min_length=1, max_length=200)
    uplift: Real = Field(gt=0.0, le=5.0, description="orders x this (1.8: +80%)")
    foreseen: Flag = Field(
        default=True,
        description="the forecast the fleet is booked on knows it (fleet sizing "
        "= forecast); a flash sale launched that morning does not",
    )


class FleetSpec(FrozenModel):
    """The vans on the road: day vans on their shifts, night vans."""

    vans_per_depot: int | None = Field(
        default=None, ge=1, le=200, description="day vans per depot (default: sized)"
    )
    night_vans_per_depot: NightVans = None
    shifts: Shifts = DEFAULT_SHIFTS
    absent_drivers: Whole = Field(
        default=0, ge=0, le=199, description="day vans per depot left without driver"
    )
    sizing: Literal["orders", "forecast"] = Field(
        default="orders",
        description="size unfixed fleets from the day's orders, or from the "
        "forecast (the expected orders) as booked the day before",
    )

    @model_validator(mode="after")
    def _absent_from_a_known_fleet(self) -> FleetSpec:
        if self.absent_drivers and self.vans_per_depot is None:
            raise ValueError("absent_drivers needs vans_per_depot")
        if self.vans_per_depot is not None and (
            self.absent_drivers >= self.vans_per_depot
        ):
            raise ValueError("absent_drivers must leave at least one van per depot")
        return self


class Disruption(FrozenModel):
    """The road: weather, the whole city's travel, slowdowns by zone and hour.

    ``weather`` (clear, rain, snow: :data:`scenarios.disruption.WEATHER`)
    and ``travel_multiplier`` are known to the planner; each of ``zones``
    only when it is ``foreseen``.
    """

    weather: Weather = "clear"
    travel_multiplier: Real = Field(default=1.0, ge=0.25, le=4.0)
    zones: tuple[ZoneSlowdown, ...] = Field(default=(), max_length=20)
    reason: str = Field(default="", max_length=200, description="e.g. snow")


class CitySpec(FrozenModel):
    """Which embedded city: its size and seed."""

    customers: Whole = Field(default=8_000, ge=1_000, le=40_000)
    seed: Whole = Field(default=0, ge=0, le=2**31 - 1)


class Scenario(FrozenModel):
    """A what-if day, replicated."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    day: dt.date = LATEST_FROM
    orders: Whole = Field(ge=50, le=MAX_ORDERS, description="an ordinary day's orders")
    city: CitySpec = CitySpec()
    demand: tuple[DemandChange, ...] = ()
    fleet: FleetSpec = FleetSpec()
    policy: ServicePolicy = ServicePolicy()
    disruption: Disruption = Disruption()
    demand_noise: Real = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="coefficient of variation of a day's orders around the "
        "expected (the forecast); 0: every day has exactly the expected orders",
    )
    replications: Whole = Field(default=10, ge=1, le=1000)
    seed: Whole = Field(default=0, ge=0, le=2**31 - 1)
    time_limit: Real = Field(
        default=60.0, gt=0.0, le=120.0, description="cap on each day's search"
    )
    customer_value: Real = Field(
        default=CUSTOMER_VALUE,
        ge=0.0,
        le=10_000_000.0,
        description="a customer's expected future margin (won)",
    )
    pricing: Pricing = Field(
        default="learned",
        description="learned: each order priced from a retention fit on the "
        "city's observable history; uniform: every order alike",
    )
    iterations: int | None = Field(
        default=ITERATIONS,
        ge=1,
        le=100_000,
        description="search solutions per day: ends the search before the "
        "time cap, so a seed gives the same day on every run (None: time only)",
    )

    @field_validator("day")
    @classmethod
    def _known_day(cls, value: dt.date) -> dt.date:
        # The simulator's bound, checked when the file is read.
        return check_day(value)

    @model_validator(mode="after")
    def _demand_fits(self) -> Scenario:
        if self.expected_orders() > MAX_ORDERS:
            raise ValueError(
                f"orders x uplift is {self.expected_orders()}, over {MAX_ORDERS}"
            )
        return self

    def expected_orders(self) -> int:
        """The day's orders after every demand change."""
        factor = math.prod(change.uplift for change in self.demand)
        return max(50, round(self.orders * factor))

    def forecast_orders(self) -> int:
        """The orders the fleet is booked on: the foreseen changes only."""
        factor = math.prod(c.uplift for c in self.demand if c.foreseen)
        return max(50, round(self.orders * factor))

    def realised_orders(self, replication: int) -> int:
        """The orders replication ``replication`` really gets.

        Gamma-Poisson (negative binomial) around :meth:`expected_orders` with
        coefficient of variation ``demand_noise`` (on top of Poisson's own),
        drawn from the scenario's seed and the replication, within
        50 .. :data:`MAX_ORDERS`.
        """
        expected = self.expected_orders()
        if self.demand_noise == 0.0:
            return expected
        rng = np.random.default_rng([self.seed, replication, 11])
        shape = 1.0 / self.demand_noise**2
        rate = float(rng.gamma(shape, expected / shape))
        return int(min(MAX_ORDERS, max(50, rng.poisson(rate))))

    def day_spec(self, replication: int) -> DaySpec:
        """Replication ``replication`` (from 0) as one simulated day."""
        if not 0 <= replication < self.replications:
            raise ValueError(
                f"replication {replication} is not in 0..{self.replications - 1}"
            )
        vans = self.fleet.vans_per_depot
        if vans is not None:
            vans -= self.fleet.absent_drivers
        return DaySpec(
            orders=self.realised_orders(replication),
            planned_orders=(
                self.forecast_orders() if self.fleet.sizing == "forecast" else None
            ),
            vans=vans,
            night_vans=self.fleet.night_vans_per_depot,
            shifts=self.fleet.shifts,
            policy=self.policy,
            weather=self.disruption.weather,
            slowdowns=self.disruption.zones,
            travel_multiplier=self.disruption.travel_multiplier,
            seed=self.seed + replication,
            city_seed=self.city.seed,
            day=self.day,
            customers=self.city.customers,
            time_limit=self.time_limit,
            iterations=self.iterations,
            customer_value=self.customer_value,
            pricing=self.pricing,
        )


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


#: Deepest chain of ``base`` files one scenario may build on.
MAX_BASES = 8


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: tables merge key by key, the rest replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The file's table with every ``base`` it names merged underneath."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        where = f"{chain[-1]}: base: " if chain else ""
        raise ScenarioError(f"{where}{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise ScenarioError(f"{path}: base: must be the path of another scenario file")
    target = (path.parent / base).resolve()
    if target in chain or target == path.resolve():
        raise ScenarioError(f"{path}: base: {base} builds on itself")
    if len(chain) >= MAX_BASES:
        raise ScenarioError(f"{path}: base: more than {MAX_BASES} files deep")
    return _merge(_read(target, (*chain, path.resolve())), data)


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file.

    A file may start from another with ``base = "baseline.toml"`` (a path
    relative to the file): its tables are merged key by key under this
    file's, and anything else this file sets replaces the base's (a
    ``[[demand]]`` list replaces the whole list).

    Raises
    ------
    ScenarioError
        ``"<file>: <key>: <reason>"`` for a missing file, bad TOML (with its
        line) or a value the scenario does not allow (every such key).
    """
    path = Path(path)
    data = _read(path)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        reasons = [
            f"{path}: {_where(tuple(err['loc']))}: {error_reason(err)}"
            for err in exc.errors(include_url=False)
        ]
        raise ScenarioError("\n".join(reasons)) from None
