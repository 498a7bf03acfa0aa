"""Runs on the embedded city that planners ask for: a simulated day, a forecast.

Both are pure functions of a spec (a pydantic model) that return a result
model, so the service's jobs and the command line share one implementation:

* :func:`simulate_day` plans one day of the city end to end and executes it
  with the road's surprises: :func:`~scenarios.city.day_problem` ->
  :func:`routing.solver.solve` -> :func:`~scenarios.execution.execute_day`
  -> :func:`tracking.outcomes.delivery_outcomes` -> KPIs (:class:`DayKpis`).
* :func:`forecast_demand` forecasts orders per zone and deliveries per depot
  on the city's history with intervals, as ``milepost forecast`` does
  (:mod:`scenarios.forecast_report`: the same history frames, calendar
  columns and capacity planner), and sizes the fleet for the planned
  quantile (:class:`DemandForecast`).

Cities are cached per ``(seed, customers)`` in the process: building one is
cheap, but a worker running many jobs should not rebuild it every time.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from forecasting import ConformalIntervals, Fallback, Forecaster
from forecasting.core import (
    BACKLOG_SUFFIX,
    MODEL_HISTORY_DAYS,
    MODEL_SUFFIX,
    default_calibration,
)
from forecasting.exog import CLOSURE_COLUMN
from forecasting.models import LogLinear, Model, SeasonalNaive
from routing.base import FrozenModel
from routing.bounds import Real, Whole, not_a_bool
from routing.model import Problem, TimeWindow
from routing.plan import Plan
from routing.solver import SolveParams, choose_engine, solve
from routing.travel import DEFAULT_SPEED_BANDS, HaversineTravel, TravelModel
from routing.units import HOUR
from scenarios.capacity import (
    FLEET_COLUMNS,
    CapacityParams,
    OrderSite,
    Source,
    plan_capacity,
)
from scenarios.checkout import Checkout, checkout
from scenarios.city import (
    DEFAULT_END,
    DEFAULT_START,
    DISTRICTS,
    City,
    build_city,
    day_problem,
)
from scenarios.city.day import DAY_SHIFTS, ServicePolicy
from scenarios.disruption import WEATHER, Weather, ZonedTravel, ZoneSlowdown
from scenarios.execution import ExecutionSettings, execute_day
from scenarios.forecast_report import (
    carried_orders,
    city_exog,
    city_orders,
    depot_history,
    plan_column,
    stored_exog,
    zone_history,
)
from scenarios.history import WARM_UP_DAYS, DemandHistory
from scenarios.pricing import (
    Pricing,
    TrueRetention,
    learned_pricing,
    price_day,
    route_cost,
    true_retention_cost,
)
from tracking.events import Event
from tracking.learn import DayLearner, ExecutedDay
from tracking.outcomes import DeliveryOutcome, delivery_outcomes

__all__ = [
    "ETA_WARMUP_DAYS",
    "FORECAST_MODELS",
    "LATEST_FROM",
    "MAX_HORIZON",
    "MIN_HISTORY_DAYS",
    "STORED_MIN_DAYS",
    "DayKpis",
    "DaySpec",
    "DemandForecast",
    "DepotDay",
    "FleetDay",
    "ForecastSpec",
    "ModelFallback",
    "NightVans",
    "Progress",
    "Shift",
    "Shifts",
    "SimulatedDay",
    "Unsized",
    "ZoneDay",
    "check_day",
    "city",
    "earliest_from",
    "forecast_demand",
    "learned_eta",
    "model_fallbacks",
    "planner_travel",
    "run_day",
    "simulate_day",
    "stored_earliest_from",
]

#: ``progress(share done in 0..1, what is happening)``.
Progress = Callable[[float, str], None]

#: The first day after the embedded city's history: the default start of a
#: forecast and the default simulated day.
LATEST_FROM = DEFAULT_END + dt.timedelta(days=1)
#: Longest forecast horizon (days).
MAX_HORIZON = 90
#: Days of history the global model needs before its earliest calibration
#: fit (it forecasts series with a year of history; a month more to learn).
MIN_HISTORY_DAYS = MODEL_HISTORY_DAYS
#: Forecast models by the name clients use, and the output column they fill.
FORECAST_MODELS: dict[str, str] = {
    "lightgbm": "GlobalGBM",
    "seasonal_naive": "SeasonalNaive",
}
#: A customer's expected future margin (won) when a day's retention cost is
#: priced: about a year at the city's pace (a dozen orders at the default
#: 8,750 won margin of :class:`tracking.feedback.CustomerValue`).
CUSTOMER_VALUE = 100_000.0
#: Minutes before each arrival at which a simulated day's live ETA is judged.
ETA_HORIZON = 60
#: Finished days the ETA correction learns from before its window is
#: calibrated: the first teaches the leg and service factors, the second
#: the first residual tables (:class:`tracking.learn.DayLearner`).
ETA_WARMUP_DAYS = 2
#: Fewest calibration windows of the conformal intervals
#: (:func:`forecasting.core.default_calibration` uses up to 8, or a year of
#: them by month when the history is long enough).
MIN_WINDOWS = 2
#: Days of a stored history a forecast learns from at least (before its
#: calibration windows); a zone or depot with fewer is left out, by name.
STORED_MIN_DAYS = 28
#: Days after the stored history's last order a forecast may start at most:
#: the days between are forecast too, and the further out, the less sure.
MAX_GAP_DAYS = 31


def _quiet(_share: float, _message: str) -> None:
    """A progress callback that ignores everything."""


@functools.lru_cache(maxsize=4)
def city(seed: int, customers: int) -> City:
    """The embedded Seoul for a seed and size, built once per process."""
    return build_city(seed=seed, n_customers=customers)


# -- one simulated day ----------------------------------------------------------


def _shift(value: tuple[int, int]) -> tuple[int, int]:
    start, end = value
    if not 0 <= start < end <= 24 or end - start > 14:
        raise ValueError(
            f"shift ({start}, {end}) must be within 0..24 and at most 14 hours"
        )
    return value


#: A day van's shift ``(from_hour, to_hour)``.
Shift = Annotated[tuple[Whole, Whole], AfterValidator(_shift)]
#: Night vans per depot with night orders (None: sized from them).
NightVans = Annotated[
    Annotated[int, Field(ge=0, le=200), BeforeValidator(not_a_bool)] | None,
    Field(description="night vans per depot with night orders"),
]
#: Day-van shifts, spread evenly over each depot's vans.
Shifts = Annotated[
    tuple[Shift, ...],
    Field(
        min_length=1,
        max_length=6,
        description="day-van shifts [from_hour, to_hour], spread over the vans",
    ),
]
#: Day-van shifts: the city's early and late.
DEFAULT_SHIFTS: tuple[Shift, ...] = tuple(
    (w.start // HOUR, w.end // HOUR) for w in DAY_SHIFTS
)


class DaySpec(FrozenModel):
    """One simulated day of the embedded city (a scenario).

    ``travel_multiplier`` slows (> 1) or speeds up (< 1) the whole city: the
    planner's travel model and the road the vans then drive on alike; so
    does ``weather`` (:data:`scenarios.disruption.WEATHER`), which also
    lengthens service at the door and makes more attempts fail. Slowdowns
    by zone and hour reach the planner only when ``foreseen``.
    """

    orders: Whole = Field(ge=50, le=2000, description="orders of the day")
    vans: int | None = Field(
        default=None,
        ge=1,
        le=200,
        description="day vans per depot (default: sized from the orders)",
    )
    planned_orders: int | None = Field(
        default=None,
        ge=1,
        le=4000,
        description="size the fleet for this many orders, the forecast the "
        "vans were booked on (default: the day's orders)",
    )
    night_vans: NightVans = None
    shifts: Shifts = DEFAULT_SHIFTS
    policy: ServicePolicy = ServicePolicy()
    weather: Weather = "clear"
    slowdowns: tuple[ZoneSlowdown, ...] = Field(default=(), max_length=20)
    travel_multiplier: Real = Field(
        default=1.0, ge=0.25, le=4.0, description="travel times x this"
    )
    seed: Whole = Field(default=0, ge=0, le=2**31 - 1, description="seed of the day")
    city_seed: int | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="seed of the city (default: the day's seed); replications "
        "of a scenario keep one city and vary the day",
    )
    day: dt.date = Field(default=LATEST_FROM, description="delivery date")
    customers: Whole = Field(
        default=8_000,
        ge=1_000,
        le=40_000,
        description="customer slots of the embedded city",
    )
    time_limit: Real = Field(
        default=5.0, gt=0.0, le=120.0, description="seconds of route search"
    )
    iterations: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="also end the route search after this many solutions: "
        "the day is then the same on every run of the same seed",
    )
    customer_value: Real = Field(
        default=CUSTOMER_VALUE,
        ge=0.0,
        le=10_000_000.0,
        description="expected future margin of the average customer (won), "
        "for judging the day's retention cost (each customer's scaled by their "
        "true pace and mean basket; tracking.feedback.expected_loss)",
    )
    pricing: Pricing = Field(
        default="learned",
        description="learned: each order's lateness and drop prices from a "
        "retention fit on the city's observable history (scenarios.pricing); "
        "uniform: hard windows and the default drop penalty for every order",
    )

    @field_validator("day")
    @classmethod
    def _known_day(cls, value: dt.date) -> dt.date:
        return check_day(value)


def check_day(value: dt.date) -> dt.date:
    """``value`` if the embedded city can simulate it, else ValueError why."""
    # The city's calendar (and its customers' lives) span these years.
    first, last = DEFAULT_START, dt.date(DEFAULT_END.year + 1, 12, 31)
    if not first <= value <= last:
        raise ValueError(f"day must be within {first} .. {last}")
    return value


class DayKpis(FrozenModel):
    """What a simulated day achieved.

    Costs are in won and from the plan; ``km`` is the planned driving
    distance. On time means delivered with no minute past a promised
    window, among the delivered orders; the late-minute percentiles are
    over the orders delivered late (0 when none was).
    """

    day: dt.date
    orders: int
    served: int
    unassigned: int
    delivered: int
    failed_attempts: int
    cost: float
    cost_per_order: float | None
    km: float
    vehicles_used: int
    night_vehicles_used: int
    vehicles_available: int
    on_time_rate: float | None
    late_orders: int
    late_minutes_p50: float
    late_minutes_p95: float
    driver_hours: float
    customers: int = Field(default=0, description="customers whose order was attempted")
    customers_expected_lost: float = Field(
        default=0.0, description="expected customers who leave after a late day"
    )
    retention_loss: float = Field(
        default=0.0,
        description="expected future margin lost to the day (won), judged by "
        "the generator's truth; an order not delivered today counts as "
        "delivered tomorrow",
    )
    route_cost: float = Field(
        default=0.0,
        description="what the routes cost to drive (won: vans, hours, km), "
        "without lateness or drop prices",
    )
    pricing: Pricing = Field(
        default="uniform", description="how the day's orders were priced"
    )
    on_time_by_hour: dict[int, float] = Field(
        default_factory=dict,
        description="on-time rate of the deliveries arriving in each hour "
        "(hours from the day's midnight; 24 and on are the night after)",
    )
    eta_mae_minutes: float | None = Field(
        default=None, description="live ETA an hour ahead: mean absolute error"
    )
    eta_coverage: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="share of arrivals inside that ETA's P10-P90",
    )
    eta_days_learned: int = Field(
        default=0,
        ge=0,
        description="finished days the ETA correction had learned from "
        "(0: none, the default window)",
    )
    solve_seconds: float
    shoppers: int = Field(
        default=0, description="orders that chose a slot at checkout (quoted)"
    )
    first_choice_rate: float | None = Field(
        default=None, description="share of them offered the window they wanted"
    )
    lost_at_checkout: int = Field(
        default=0, description="shoppers who left: no acceptable slot offered"
    )


def _execution(weather: Weather) -> ExecutionSettings:
    """The road's surprises under ``weather`` (clear: the defaults)."""
    base, effect = ExecutionSettings(), WEATHER[weather]
    return base.model_copy(
        update={
            "failure_rate": min(1.0, base.failure_rate * effect.failures),
            "incident_share": min(1.0, base.incident_share * effect.incidents),
            "service_factor": effect.service,
        }
    )


def _roads(spec: DaySpec) -> tuple[TravelModel, TravelModel]:
    """The planner's travel model and the road's (with every slowdown)."""
    base = _travel(spec.travel_multiplier * WEATHER[spec.weather].travel)
    foreseen = tuple(s for s in spec.slowdowns if s.foreseen)
    planner: TravelModel = ZonedTravel(base, foreseen) if foreseen else base
    road: TravelModel = ZonedTravel(base, spec.slowdowns) if spec.slowdowns else base
    return planner, road


def _travel(multiplier: float) -> HaversineTravel:
    """Straight-line travel with every band speed divided by ``multiplier``."""
    base = HaversineTravel()
    return HaversineTravel(
        speed_kmh=base.speed_kmh / multiplier,
        bands=tuple((a, b, kmh / multiplier) for a, b, kmh in DEFAULT_SPEED_BANDS),
    )


@dataclass(frozen=True)
class SimulatedDay:
    """A simulated day: its KPIs and what a shop observed of it.

    ``problem``, ``plan`` and ``events`` (the tracking events, in time
    order) are all the ETA correction may learn from; never the road's
    hidden noise.
    """

    spec: DaySpec
    kpis: DayKpis
    problem: Problem
    plan: Plan
    events: tuple[Event, ...]


def simulate_day(spec: DaySpec, progress: Progress = _quiet) -> DayKpis:
    """Plan and execute one day of the embedded city; measure it.

    A day alone has no learned ETA correction: its ETAs have the default
    window (:func:`learned_eta` measures a day with one).

    Parameters
    ----------
    spec
        The day: orders, fleet, travel, seed.
    progress
        Called with the share done and a message at each stage.

    Returns
    -------
    DayKpis
    """
    return run_day(spec, progress).kpis


def run_day(
    spec: DaySpec, progress: Progress = _quiet, *, eta: bool = True
) -> SimulatedDay:
    """:func:`simulate_day` that also returns what was observed of the day.

    With ``eta`` false the live ETAs are not replayed (the ETA KPIs are
    None), for a caller that measures them with :func:`learned_eta`.
    """
    progress(0.0, "building the embedded city")
    town = city(spec.seed if spec.city_seed is None else spec.city_seed, spec.customers)
    progress(0.05, f"drawing {spec.orders} orders for {spec.day}")
    problem = _day_problem(spec, town)
    travel, road = _roads(spec)
    # The house rule (routing.solver.choose_engine): a search bounded by
    # solutions gets OR-Tools on the whole day up to 1,500 orders, so
    # scenarios on both sides of 1,000 orders get the same effort and a seed
    # the same day. No portfolio: a simulation shares the machine.
    engine = choose_engine(
        spec.orders, bounded=spec.iterations is not None, portfolio=False
    )
    # One worker: a simulation job shares the machine with the service.
    params = SolveParams(
        engine=engine,
        time_limit=spec.time_limit,
        seed=spec.seed,
        workers=1,
        iterations=spec.iterations,
    )
    shop = None
    if spec.pricing == "learned":
        progress(0.08, "learning lateness prices from the city's history")
        shop = learned_pricing(town, spec.day)
    booked = None
    if spec.policy.checkout == "quoted":
        progress(0.1, "checkout: quoting and booking the shoppers' slots")
        booked = checkout(problem, travel, spec.policy, params, spec.seed)
        problem = booked.problem
    progress(0.1 if booked is None else 0.4, f"planning routes ({spec.time_limit:g} s)")
    if shop is not None:
        problem = price_day(problem, shop)
    plan = solve(problem, travel=travel, params=params)
    if booked is not None and len(plan.unassigned) > len(booked.plan.unassigned):
        # Every booking fits the plan kept through checkout: never promise
        # a slot and then drop the order.
        plan = booked.plan
    progress(0.8, "driving the routes")
    execution = execute_day(
        problem, plan, road, settings=_execution(spec.weather), seed=spec.seed
    )
    progress(0.9, "replaying the live ETAs" if eta else "measuring the day")
    # The planner's travel model replays the ETA the storefront saw an hour
    # before each real arrival (no learned correction: one day has none).
    outcomes = delivery_outcomes(
        problem,
        plan,
        execution.events,
        travel=travel if eta else None,
        horizons=(ETA_HORIZON,),
    )
    progress(0.95, "measuring the day")
    retention = true_retention_cost(outcomes, town, spec.day, spec.customer_value)
    kpis = _day_kpis(spec, problem, plan, outcomes, retention, booked)
    progress(1.0, "done")
    return SimulatedDay(
        spec=spec, kpis=kpis, problem=problem, plan=plan, events=execution.events
    )


def planner_travel(spec: DaySpec) -> TravelModel:
    """The travel model the day was planned with (and its ETAs made with)."""
    return _roads(spec)[0]


def learned_eta(day: SimulatedDay, learner: DayLearner) -> DayKpis:
    """The day's KPIs with its ETAs corrected by what ``learner`` learned.

    The live ETA an hour before each arrival is replayed with the
    correction of the days ``learner`` has learned (none of them this day),
    then the day is learned, for the next. ``learner`` must have been made
    with the day's planner travel (:func:`planner_travel`).
    """
    correction = learner.correction()
    outcomes = delivery_outcomes(
        day.problem,
        day.plan,
        day.events,
        travel=learner.travel,
        correction=correction,
        horizons=(ETA_HORIZON,),
    )
    mae, coverage = _eta_quality(outcomes)
    learned = learner.days
    learner.learn(
        ExecutedDay(plan=day.plan, events=day.events, problem=day.problem),
        factors=correction,
    )
    return day.kpis.model_copy(
        update={
            "eta_mae_minutes": mae,
            "eta_coverage": coverage,
            "eta_days_learned": learned,
        }
    )


def _day_problem(spec: DaySpec, town: City) -> Problem:
    """The day's orders and fleet as :func:`simulate_day` plans them."""
    return day_problem(
        town,
        spec.day,
        spec.orders,
        spec.seed,
        vehicles_per_depot=spec.vans,
        night_vehicles_per_depot=spec.night_vans,
        shifts=tuple(TimeWindow(start=a * HOUR, end=b * HOUR) for a, b in spec.shifts),
        policy=spec.policy,
        planned_orders=spec.planned_orders,
    )


def _day_kpis(
    spec: DaySpec,
    problem: Problem,
    plan: Plan,
    outcomes: Sequence[DeliveryOutcome],
    retention: TrueRetention,
    booked: Checkout | None,
) -> DayKpis:
    """The day's KPIs from its plan, outcomes and checkout (if quoted)."""
    delivered = [o for o in outcomes if o.delivered]
    late = np.array([o.minutes_late for o in delivered if o.minutes_late > 0])
    served = plan.summary.served
    night = {v.id for v in problem.vehicles if v.night}
    hours = sum(r.end - r.start for r in plan.routes) / 3600.0
    shoppers = first_choice = lost = 0
    if booked is not None:
        shoppers, first_choice = booked.shoppers, booked.first_choice
        lost = len(booked.lost)
    eta_mae, eta_coverage = _eta_quality(outcomes)
    return DayKpis(
        day=spec.day,
        orders=len(problem.jobs),
        served=served,
        unassigned=len(plan.unassigned),
        delivered=len(delivered),
        failed_attempts=sum(len(o.failure_reasons) for o in outcomes),
        cost=round(plan.summary.cost, 2),
        cost_per_order=round(plan.summary.cost / served, 2) if served else None,
        km=round(plan.summary.distance / 1000.0, 3),
        vehicles_used=len(plan.routes),
        night_vehicles_used=sum(1 for r in plan.routes if r.vehicle in night),
        vehicles_available=len(problem.vehicles),
        on_time_rate=(
            round(sum(o.minutes_late == 0 for o in delivered) / len(delivered), 4)
            if delivered
            else None
        ),
        late_orders=len(late),
        late_minutes_p50=float(np.percentile(late, 50)) if len(late) else 0.0,
        late_minutes_p95=float(np.percentile(late, 95)) if len(late) else 0.0,
        driver_hours=round(hours, 2),
        customers=retention.customers,
        customers_expected_lost=retention.expected_lost,
        retention_loss=retention.loss,
        route_cost=route_cost(problem, plan),
        pricing=spec.pricing,
        on_time_by_hour=_on_time_by_hour(delivered),
        eta_mae_minutes=eta_mae,
        eta_coverage=eta_coverage,
        solve_seconds=round(plan.seconds, 2),
        shoppers=shoppers,
        first_choice_rate=round(first_choice / shoppers, 4) if shoppers else None,
        lost_at_checkout=lost,
    )


def _on_time_by_hour(delivered: Sequence[DeliveryOutcome]) -> dict[int, float]:
    """On-time rate of the delivered orders by hour of arrival."""
    by_hour: dict[int, list[bool]] = {}
    for o in delivered:
        if o.arrival is not None:
            by_hour.setdefault(o.arrival // 3600, []).append(o.minutes_late == 0)
    return {h: round(sum(v) / len(v), 4) for h, v in sorted(by_hour.items())}


def _eta_quality(
    outcomes: Sequence[DeliveryOutcome],
) -> tuple[float | None, float | None]:
    """MAE (minutes) and window coverage of the ETA an hour before arrival."""
    checks = [c for o in outcomes for c in o.eta if c.horizon == ETA_HORIZON]
    if not checks:
        return None, None
    mae = round(float(np.mean([abs(c.error) for c in checks])) / 60.0, 2)
    return mae, round(sum(c.inside for c in checks) / len(checks), 4)


# -- demand forecast -----------------------------------------------------------


def earliest_from(horizon: int) -> dt.date:
    """The earliest first forecast day for ``horizon`` days.

    Earlier starts leave too little history for the model plus its
    calibration windows.
    """
    # The depot history drops its first week (deliveries of older orders).
    days = MIN_HISTORY_DAYS + 7 + MIN_WINDOWS * horizon
    return DEFAULT_START + dt.timedelta(days=days)


def stored_earliest_from(history: DemandHistory, horizon: int) -> dt.date:
    """The earliest first forecast day of a stored history for ``horizon`` days.

    The depot counts start a week in (:data:`~scenarios.history.WARM_UP_DAYS`);
    then :data:`STORED_MIN_DAYS` days to learn from plus the calibration
    windows.
    """
    days = WARM_UP_DAYS + STORED_MIN_DAYS + MIN_WINDOWS * horizon
    return history.first + dt.timedelta(days=days)


def _stored_start(
    history: DemandHistory, value: dt.date | None, horizon: int
) -> dt.date:
    """``value`` (default: the day after the stored history), checked."""
    last = history.last
    value = value or last + dt.timedelta(days=1)
    gap = max(0, (value - last).days - 1)
    first = stored_earliest_from(history, horizon + gap)
    latest = last + dt.timedelta(days=1 + MAX_GAP_DAYS)
    span = f"the stored history runs {history.first} .. {last}"
    if value > latest:
        raise ValueError(
            f"must be at most {MAX_GAP_DAYS} days after the stored history "
            f"(by {latest}): {span}; import newer orders"
        )
    if value < first:
        raise ValueError(
            f"too little history before {value} for a {horizon}-day horizon: "
            f"{span}, and the first forecast day must be on or after {first} "
            f"({STORED_MIN_DAYS} days to learn from plus {MIN_WINDOWS} "
            "horizons to calibrate the intervals, after a week of warm-up)"
        )
    return value


class ForecastSpec(FrozenModel):
    """A demand forecast on the embedded city's history, or on a stored one.

    ``history`` (set by the service from its stored orders; None: the
    embedded city) is what the models learn from. ``start`` (``"from"`` in
    JSON) is the first forecast day: the history before it is used (default:
    the day after the whole history). ``total_orders`` of the result sums
    the reported zones.
    """

    model_config = ConfigDict(populate_by_name=True)

    history: DemandHistory | None = Field(
        default=None,
        description="the stored operation's daily counts (None: the embedded city)",
    )
    horizon: Whole = Field(ge=1, le=MAX_HORIZON, description="days to forecast")
    zones: tuple[str, ...] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="zones to report (default: all; the embedded city's 25 districts)",
    )
    model: Literal["lightgbm", "seasonal_naive"] = "lightgbm"
    start: dt.date | None = Field(
        default=None,
        alias="from",
        validate_default=True,
        description="first forecast day (default: the day after the history)",
    )
    level: Whole = Field(default=80, ge=1, le=99, description="interval level, %")
    plan_quantile: Whole = Field(
        default=80, ge=51, le=99, description="demand quantile the fleet is sized for"
    )
    seed: Whole = Field(default=0, ge=0, le=2**31 - 1)
    customers: Whole = Field(
        default=8_000,
        ge=1_000,
        le=40_000,
        description="customer slots of the embedded city",
    )
    time_limit: Real = Field(
        default=1.0, gt=0.0, le=30.0, description="seconds per fleet solve"
    )

    @field_validator("zones")
    @classmethod
    def _known_zones(
        cls, value: tuple[str, ...] | None, info: ValidationInfo
    ) -> tuple[str, ...] | None:
        if value is None:
            return None
        history = info.data.get("history")
        known = (
            set(history.zone_names())
            if isinstance(history, DemandHistory)
            else {d.name for d in DISTRICTS}
        )
        unknown = [z for z in value if z not in known]
        if unknown:
            names = sorted(known)
            more = f" and {len(names) - 30} more" if len(names) > 30 else ""
            raise ValueError(
                f"unknown zone {unknown[0]!r}; zones are {', '.join(names[:30])}{more}"
            )
        return tuple(dict.fromkeys(value))

    @field_validator("start")
    @classmethod
    def _enough_history(cls, value: dt.date | None, info: ValidationInfo) -> dt.date:
        horizon = info.data.get("horizon")
        days = horizon if isinstance(horizon, int) else 1
        history = info.data.get("history")
        if isinstance(history, DemandHistory):
            return _stored_start(history, value, days)
        value = value or LATEST_FROM
        first = earliest_from(days)
        if not first <= value <= LATEST_FROM:
            raise ValueError(
                f"must be within {first} .. {LATEST_FROM}"
                + (f" for a {horizon}-day horizon" if horizon else "")
            )
        return value

    @property
    def first_day(self) -> dt.date:
        """The first forecast day (``start``, filled in by validation)."""
        assert self.start is not None
        return self.start


#: What ``model_used`` says: the model that produced a row's numbers.
_MODEL_USED = Field(
    default=None,
    description="the model that produced the row: the one asked for "
    "(GlobalGBM, SeasonalNaive) or the fallback (LogLinear, see fallbacks)",
)


class ZoneDay(FrozenModel):
    """Orders forecast for one zone (district) and order day."""

    zone: str
    day: dt.date
    orders: float
    lo: float
    hi: float
    model_used: str | None = _MODEL_USED


class DepotDay(FrozenModel):
    """Deliveries forecast for one depot and delivery day (closed days: 0)."""

    depot: str
    day: dt.date
    orders: float
    lo: float
    hi: float
    planned: float = Field(description="the plan quantile of the day")
    model_used: str | None = _MODEL_USED
    carried: float = Field(
        default=0.0,
        description="of ``orders``, those taken while the depot was closed "
        "(the first open day after a closure; 0 on other days)",
    )


class ModelFallback(FrozenModel):
    """A zone or depot the model asked for did not forecast, and why."""

    series: Literal["zone", "depot"]
    id: str = Field(description="the zone or depot")
    model: str = Field(description="the model asked for, e.g. GlobalGBM")
    used: str = Field(description="the fallback that forecast it, e.g. LogLinear")
    reason: str = Field(
        description="too little history, or the model's error when it failed "
        "to fit or predict"
    )


class FleetDay(FrozenModel):
    """Vans and driver-hours one depot needs for its planned demand of a day."""

    depot: str
    day: dt.date
    orders: float
    planned_orders: int
    vans: int
    night_vans: int
    driver_hours: float
    unassigned: int
    fallback: str | None = Field(
        default=None,
        description="how the sizing plan was found when not as asked: "
        "more_time or insertion (docs/concepts.md)",
    )


class Unsized(FrozenModel):
    """A depot (None: every depot) whose fleet was not sized, and why."""

    depot: str | None
    reason: str


class DemandForecast(FrozenModel):
    """A demand forecast with its intervals and the fleet it needs.

    ``lo``/``hi`` bound the ``level`` % interval; the fleet is sized for
    the ``plan_quantile`` of each depot-day.
    """

    start: dt.date
    horizon: int
    model: str
    model_name: str = Field(
        description="the model asked for as ``model_used`` and ``fallbacks`` "
        "name it, e.g. GlobalGBM"
    )
    level: int
    plan_quantile: int
    total_orders: float
    zones: tuple[ZoneDay, ...]
    depots: tuple[DepotDay, ...]
    fleet: tuple[FleetDay, ...]
    source: Literal["embedded", "stored"] = Field(
        default="embedded",
        description="what was forecast: the embedded city, or the stored history",
    )
    unsized: tuple[Unsized, ...] = Field(
        default=(), description="depots whose fleet was not sized, and why"
    )
    notes: tuple[str, ...] = Field(
        default=(), description="series left out of the forecast, and why"
    )
    fallbacks: tuple[ModelFallback, ...] = Field(
        default=(),
        description="zones and depots forecast by the fallback model instead "
        "of the one asked for (empty: none)",
    )

    @model_validator(mode="before")
    @classmethod
    def _name_the_model(cls, data: Any) -> Any:
        # Results stored before ``model_name`` existed name it by ``model``.
        if isinstance(data, dict) and "model_name" not in data:
            model = str(data.get("model"))
            data = {**data, "model_name": FORECAST_MODELS.get(model, model)}
        return data


def _models(
    model: str, horizon: int, conformal: ConformalIntervals, seed: int
) -> list[Model]:
    if model == "seasonal_naive":
        return [SeasonalNaive(7, prediction_intervals=conformal)]
    from forecasting.models.gbm import GlobalGBM

    return [GlobalGBM(horizon=horizon, seed=seed, prediction_intervals=conformal)]


def _forecast(
    history: pd.DataFrame,
    exog: pd.DataFrame,
    spec: ForecastSpec,
    levels: list[int],
    closed_col: str | None,
    orders: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, tuple[Fallback, ...]]:
    """Forecast the days of ``exog`` (which start the day after ``history``):
    one row per day for every series, or per series and day (``unique_id``).
    A depot's first open day after a closure carries ``orders`` taken over
    its block's days (:func:`~scenarios.forecast_report.carried_orders`).

    Also returns the series the fallback model forecast, with the reason.
    """
    h = int(exog["ds"].nunique())
    days = history["ds"].nunique()
    conformal = default_calibration(h, days)
    forecaster = Forecaster(
        _models(spec.model, h, conformal, spec.seed),
        fallback_model=LogLinear(prediction_intervals=conformal),
        closed_col=closed_col,
        # Depot deliveries: the first open day after a closure delivers its backlog.
        carry_backlog=closed_col is not None,
    )
    ids = sorted(history["unique_id"].unique().tolist())
    if "unique_id" in exog:
        future = exog[exog["unique_id"].isin(ids)].reset_index(drop=True)
    else:
        future = pd.DataFrame({"unique_id": np.repeat(ids, h)})
        future["ds"] = np.tile(exog["ds"].to_numpy(), len(ids))
        future = future.merge(exog, on="ds", how="left")
    out = forecaster.forecast(history, h, future, level=levels, orders=orders)
    return out, forecaster.fallbacks_


def _before(frame: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    return frame[frame["ds"] < pd.Timestamp(day)].reset_index(drop=True)


def _num(value: object) -> float:
    """A finite rounded float (NaN, e.g. from a closed day, becomes 0)."""
    number = float(value)  # type: ignore[arg-type]
    return round(number, 2) if math.isfinite(number) else 0.0


@dataclass(frozen=True)
class _Columns:
    """The output columns of a forecast: point, interval ends, planned quantile."""

    alias: str
    lo: str
    hi: str
    plan: str
    levels: list[int]

    @classmethod
    def of(cls, spec: ForecastSpec) -> _Columns:
        alias = FORECAST_MODELS[spec.model]
        column, plan_level = plan_column(spec.plan_quantile, alias)
        levels = sorted({spec.level} | ({plan_level} if plan_level else set()))
        lo, hi = f"{alias}-lo-{spec.level}", f"{alias}-hi-{spec.level}"
        return cls(alias, lo, hi, column, levels)


def forecast_demand(spec: ForecastSpec, progress: Progress = _quiet) -> DemandForecast:
    """Forecast the zones and depots and size the fleet.

    On the embedded city, or on ``spec.history`` (the stored operation)
    when given (:func:`forecast_stored`).

    Parameters
    ----------
    spec
        Horizon, model, first day, interval level and plan quantile.
    progress
        Called with the share done and a message at each stage.

    Returns
    -------
    DemandForecast
    """
    if spec.history is not None:
        return forecast_stored(spec, spec.history, progress)
    cols = _Columns.of(spec)
    start = spec.first_day
    town = _town(spec, progress)
    exog = city_exog(town, start, _last_day(spec))

    progress(0.1, f"forecasting orders per zone for {spec.horizon} days")
    zones, zone_fallbacks = _forecast(
        _before(zone_history(town), start), exog, spec, cols.levels, None
    )
    deliveries = _before(depot_history(town), start)
    orders = city_orders(town, deliveries, start, spec.horizon, zones, cols.alias)
    if spec.zones is not None:
        zones = zones[zones["unique_id"].isin(spec.zones)]

    progress(0.4, "forecasting deliveries per depot")
    depots, depot_fallbacks = _forecast(
        deliveries, exog, spec, cols.levels, CLOSURE_COLUMN, orders
    )

    progress(0.6, f"sizing the fleet for the P{spec.plan_quantile} demand")
    demand = depots[["unique_id", "ds", cols.plan]].rename(
        columns={cols.plan: "orders"}
    )
    fleet = _size_fleet(town, demand, spec, progress)
    progress(1.0, "done")
    fallbacks = (
        *model_fallbacks(zone_fallbacks, "zone", spec.zones),
        *model_fallbacks(depot_fallbacks, "depot"),
    )
    return _result(spec, cols, zones, depots, fleet, fallbacks=fallbacks)


def _town(spec: ForecastSpec, progress: Progress) -> City:
    progress(0.0, "building the embedded city")
    return city(spec.seed, spec.customers)


def _last_day(spec: ForecastSpec) -> dt.date:
    return spec.first_day + dt.timedelta(days=spec.horizon - 1)


def _result(
    spec: ForecastSpec,
    cols: _Columns,
    zones: pd.DataFrame,
    depots: pd.DataFrame,
    fleet: pd.DataFrame,
    **extra: Any,
) -> DemandForecast:
    return DemandForecast(
        start=spec.first_day,
        horizon=spec.horizon,
        model=spec.model,
        model_name=cols.alias,
        level=spec.level,
        plan_quantile=spec.plan_quantile,
        total_orders=_num(zones[cols.alias].sum()),
        zones=tuple(
            ZoneDay(
                zone=str(r["unique_id"]),
                day=r["ds"].date(),
                orders=_num(r[cols.alias]),
                lo=_num(r[cols.lo]),
                hi=_num(r[cols.hi]),
                model_used=str(r[cols.alias + MODEL_SUFFIX]),
            )
            for _, r in zones.sort_values(["unique_id", "ds"]).iterrows()
        ),
        depots=_depot_days(depots, cols.alias, cols.lo, cols.hi, cols.plan),
        fleet=_fleet_days(fleet),
        **extra,
    )


# -- the stored operation -------------------------------------------------------


def _usable(
    frame: pd.DataFrame, cutoff: dt.date, what: str
) -> tuple[pd.DataFrame, list[str]]:
    """The series of ``frame`` before ``cutoff`` with enough days, and notes
    naming the ones left out."""
    frame = _before(frame, cutoff)
    days = frame.groupby("unique_id")["ds"].nunique()
    short = days[days < STORED_MIN_DAYS]
    notes = [
        f"{what} {name}: {int(n)} days of history before {cutoff}, "
        f"{STORED_MIN_DAYS} needed; not forecast"
        for name, n in short.items()
    ]
    return frame[~frame["unique_id"].isin(short.index)], notes


def _stored_series(
    frame: pd.DataFrame,
    spec: ForecastSpec,
    cols: _Columns,
    cutoff: dt.date,
    what: Literal["zone", "depot"],
    closed_col: str | None,
    orders: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame | None] | None = None,
) -> tuple[pd.DataFrame, list[str], tuple[ModelFallback, ...]]:
    """Forecast the stored series from ``cutoff`` to the last day. Also:
    notes on the series left out, and the series the fallback model
    forecast. ``orders`` gives the orders a depot forecast's closures carry
    from its history and future frames."""
    history, notes = _usable(frame, cutoff, what)
    if history.empty:
        return pd.DataFrame(columns=["unique_id", "ds", cols.alias]), notes, ()
    first = history["ds"].min().date()
    own = spec.history.calendar if spec.history is not None else None
    ids = sorted(history["unique_id"].unique().tolist())
    exog = stored_exog(ids, first, _last_day(spec), own)
    history = history.merge(exog, on=["unique_id", "ds"], how="left")
    future = exog[exog["ds"] >= pd.Timestamp(cutoff)].reset_index(drop=True)
    carried = None if orders is None else orders(history, future)
    out, fallbacks = _forecast(history, future, spec, cols.levels, closed_col, carried)
    only = spec.zones if what == "zone" else None
    return out, notes, model_fallbacks(fallbacks, what, only)


def _from(frame: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    return frame[frame["ds"] >= pd.Timestamp(day)]


def forecast_stored(
    spec: ForecastSpec, history: DemandHistory, progress: Progress = _quiet
) -> DemandForecast:
    """Forecast the stored operation: orders per zone, deliveries per depot.

    The models learn from the days before ``spec.start`` (or before the
    history's end: the days between are forecast too). Calendar columns
    come from the default retail calendar. The fleet is sized at the
    stored depots from the stops they delivered to; depots that cannot be
    sized are listed in ``unsized``.
    """
    cols = _Columns.of(spec)
    cutoff = min(spec.first_day, history.last + dt.timedelta(days=1))
    zone_frame, depot_frame = history.frames()

    progress(0.1, f"forecasting stored orders per zone for {spec.horizon} days")
    every_zone, notes, zone_fallbacks = _stored_series(
        zone_frame, spec, cols, cutoff, "zone", None
    )
    zones = _from(every_zone, spec.first_day)
    if spec.zones is not None:
        zones = zones[zones["unique_id"].isin(spec.zones)]

    def orders(deliveries: pd.DataFrame, future: pd.DataFrame) -> pd.DataFrame | None:
        return carried_orders(
            deliveries,
            future,
            _before(history.intake_frame(), cutoff),
            every_zone.rename(columns={cols.alias: "y"}),
            history.shares(),
        )

    progress(0.4, "forecasting stored deliveries per depot")
    every_depot, more, depot_fallbacks = _stored_series(
        depot_frame, spec, cols, cutoff, "depot", CLOSURE_COLUMN, orders
    )
    depots = _from(every_depot, spec.first_day)

    progress(0.6, f"sizing the fleet for the P{spec.plan_quantile} demand")
    fleet, unsized = _size_stored(history, depots, cols, spec, progress)
    progress(1.0, "done")
    return _result(
        spec,
        cols,
        zones,
        depots,
        fleet,
        source="stored",
        unsized=tuple(unsized),
        notes=tuple(notes + more),
        fallbacks=(*zone_fallbacks, *depot_fallbacks),
    )


def _size_stored(
    history: DemandHistory,
    depots: pd.DataFrame,
    cols: _Columns,
    spec: ForecastSpec,
    progress: Progress,
) -> tuple[pd.DataFrame, list[Unsized]]:
    """The fleet of each depot that has a location and stops; the others, by name."""
    empty = pd.DataFrame(columns=list(FLEET_COLUMNS))
    if history.unsized is not None:
        return empty, [Unsized(depot=None, reason=history.unsized)]
    sites = {s.depot.id: s for s in history.sites}
    unsized = []
    for name in sorted(depots["unique_id"].unique().tolist()):
        if name not in sites:
            reason = "not a depot stored in the service (PUT /v1/depots)"
        elif not sites[name].stops:
            reason = "no delivered order of the history has a location (lat, lon)"
        else:
            continue
        unsized.append(Unsized(depot=str(name), reason=reason))
    sized = {s for s in sites if s not in {u.depot for u in unsized}}
    demand = depots[depots["unique_id"].isin(sized)]
    if demand.empty:
        return empty, unsized
    demand = demand[["unique_id", "ds", cols.plan]].rename(
        columns={cols.plan: "orders"}
    )
    site = OrderSite(
        depots=tuple(s.depot for s in history.sites),
        stops={s.depot.id: s.stops for s in history.sites},
    )
    return _size_fleet(site, demand, spec, progress), unsized


def _size_fleet(
    town: Source, demand: pd.DataFrame, spec: ForecastSpec, progress: Progress
) -> pd.DataFrame:
    """Plan each depot's fleet for ``demand``, reporting depot by depot."""
    n_depots = max(1, demand["unique_id"].nunique())
    sized: list[str] = []

    def on_depot(depot: str, levels: int) -> None:
        share = 0.6 + 0.4 * len(sized) / n_depots
        sized.append(depot)
        progress(share, f"sizing the fleet of {depot} ({levels} demand levels)")

    return plan_capacity(
        town,
        demand,
        params=CapacityParams(time_limit=spec.time_limit, seed=spec.seed),
        on_depot=on_depot,
    )


def _depot_days(
    depots: pd.DataFrame, alias: str, lo: str, hi: str, column: str
) -> tuple[DepotDay, ...]:
    return tuple(
        DepotDay(
            depot=str(r["unique_id"]),
            day=r["ds"].date(),
            orders=_num(r[alias]),
            lo=_num(r[lo]),
            hi=_num(r[hi]),
            planned=_num(r[column]),
            model_used=str(r[alias + MODEL_SUFFIX]),
            carried=_num(r.get(alias + BACKLOG_SUFFIX, 0.0)),
        )
        for _, r in depots.sort_values(["unique_id", "ds"]).iterrows()
    )


def model_fallbacks(
    fallbacks: Sequence[Fallback],
    series: Literal["zone", "depot"],
    only: Sequence[str] | None = None,
) -> tuple[ModelFallback, ...]:
    """The forecaster's fallbacks as result rows (of the ``only`` series, if given)."""
    return tuple(
        ModelFallback(
            series=series, id=f.unique_id, model=f.model, used=f.used, reason=f.reason
        )
        for f in fallbacks
        if only is None or f.unique_id in only
    )


def _fleet_days(fleet: pd.DataFrame) -> tuple[FleetDay, ...]:
    return tuple(
        FleetDay(
            depot=str(r["depot"]),
            day=pd.Timestamp(r["ds"]).date(),
            orders=_num(r["orders"]),
            planned_orders=int(r["planned_orders"]),
            vans=int(r["vans"]),
            night_vans=int(r["night_vans"]),
            driver_hours=_num(r["driver_hours"]),
            unassigned=int(r["unassigned"]),
            fallback=None if pd.isna(r["fallback"]) else str(r["fallback"]),
        )
        for _, r in fleet.iterrows()
    )
