"""Capacity planning: vans and driver-hours per depot and day from a demand forecast.

The fleet a depot needs for ``n`` orders is measured, not assumed: the
planner draws ``n`` orders of that depot from the city's customers (the mix
of :func:`~scenarios.city.day_problem`: windows, night and station orders,
returns, parcel sizes) and lets the routing engine
(:func:`routing.solver.solve`, cost objective, so every van's fixed cost
pushes the van count down, and unserved orders cost far more than a van)
serve every order, starting from a lean fleet and adding vans until nothing
is left out. Vans used, night vans used and driver-hours (route start to
end) are read off the plan.

Monotone by construction
------------------------
Per depot, the orders of a smaller demand are the first orders of a larger
one (one long i.i.d. draw, cut at each level), so a plan for the larger set
minus the extra stops serves the smaller set with no more vans. The planner
solves a ladder of demand levels and reports, for each level, the best plan
(fewest vans, then fewest hours) among the plans of that level and every
larger one: more demand never needs fewer vans, even though the solver is
a heuristic. A day's demand is rounded up to the next ladder level. Only a plan that
serves every order of its level stands in for smaller levels.

A level without a plan is an error, never "no vans"
----------------------------------------------------
A search that finds no plan at all (:class:`routing.solver.NoPlanFound`,
after :func:`routing.solver.solve`'s own fallbacks: more time, then
insertion) or a plan that serves none of a level's orders is no answer for
that level: the level is solved once more with twice the time, and if that
fails too, :class:`LevelUnplanned` names the depot, the day, the orders
and the reason. No level with positive demand is ever reported with 0 vans.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd

from routing.model import (
    Depot,
    Job,
    Location,
    PickupStation,
    Problem,
    ServiceLevel,
    Vehicle,
)
from routing.plan import Plan
from routing.solver import NoPlanFound, SolveParams, solve
from routing.solver.params import Engine
from routing.units import HOUR
from scenarios.city import City, day_problem
from scenarios.city.day import (
    CAPACITY,
    CITY_LOCALE,
    DAY_SHIFTS,
    NIGHT_SHIFT,
    NIGHT_STOPS_PER_VAN,
    STOPS_PER_VAN,
    FleetCosts,
)

__all__ = [
    "FLEET_COLUMNS",
    "CapacityParams",
    "DepotLadder",
    "LevelPlan",
    "LevelUnplanned",
    "OrderSite",
    "depot_orders",
    "depot_problem",
    "ladder_levels",
    "lean_fleet",
    "plan_capacity",
    "plan_depot_ladder",
    "solve_level",
]

#: Penalty of leaving an order unserved when sizing the fleet, in
#: driver-hours: far above a van's cost, so the solver adds vans rather than
#: drop orders.
SERVE_ALL_HOURS = 50_000.0
#: The same in the currency of the fleet's costs (:class:`FleetCosts`, KRW,
#: the city's currency): 10^9 KRW.
SERVE_ALL_PENALTY = CITY_LOCALE.amount(SERVE_ALL_HOURS)
#: A level whose search found no plan is solved again with this many times
#: the search time.
RETRY_FACTOR = 2.0
#: Weight (grams) and service time (s) of an order drawn from stored stops,
#: which say where but not what: a typical parcel of the embedded city.
SITE_ORDER_GRAMS = 2_500
SITE_SERVICE = 180


@dataclass(frozen=True)
class OrderSite:
    """An operation without a city: its depots and stops each depot delivered to.

    A depot's orders are drawn i.i.d. from its ``stops`` (``(lat, lon)``):
    one parcel each, any time of the day, :data:`SITE_SERVICE` seconds at
    the door. What the orders are is unknown, only where they went.
    """

    depots: tuple[Depot, ...]
    stops: Mapping[str, Sequence[tuple[float, float]]]
    stations: tuple[PickupStation, ...] = ()


#: Where a depot's orders come from: the embedded city, or stored stops.
Source = City | OrderSite


class LevelUnplanned(RuntimeError):
    """A demand level of a depot got no plan, even with more search time.

    Its message names the depot, the day, the orders and why; capacity
    planning stops here rather than report the level as needing no vans.
    """

    def __init__(self, depot: str, day: date, orders: int, reason: str) -> None:
        self.depot = depot
        self.day = day
        self.orders = orders
        self.reason = reason
        super().__init__(
            f"depot {depot} on {day}: no plan for {orders} orders ({reason})"
        )

    def __reduce__(
        self,
    ) -> tuple[type[LevelUnplanned], tuple[str, date, int, str]]:
        # Raised in job processes: rebuilt from its fields, not its message.
        return (type(self), (self.depot, self.day, self.orders, self.reason))


@dataclass(frozen=True, slots=True)
class CapacityParams:
    """How to size the fleet.

    Parameters
    ----------
    time_limit
        Seconds of route search per solve.
    step
        Relative spacing of the demand ladder (0.1: levels 10 % apart).
    min_step
        Smallest spacing in orders between two levels.
    engine
        Routing engine (see :class:`routing.solver.SolveParams`).
    seed
        Seed of the order draws and of the solver.
    """

    time_limit: float = 1.0
    step: float = 0.1
    min_step: int = 5
    engine: Engine = "ortools"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.time_limit <= 0:
            raise ValueError(f"time_limit must be > 0, got {self.time_limit}")
        if not 0 < self.step < 1 or self.min_step < 1:
            raise ValueError("step must be in (0, 1) and min_step >= 1")


@dataclass(frozen=True, slots=True)
class LevelPlan:
    """The fleet for one demand level of one depot."""

    orders: int
    vans: int
    night_vans: int
    driver_hours: float
    unassigned: int
    solved_at: int  # the level whose plan this is (>= orders)
    #: How the plan was found when not as asked (``more_time``, ``insertion``:
    #: :attr:`routing.plan.Plan.fallback`); None when it was.
    fallback: str | None = None

    def __post_init__(self) -> None:
        # The failure this guards against: a search without a plan read as
        # "this demand needs no van".
        if self.orders > 0 and (self.vans + self.night_vans <= 0):
            raise ValueError(f"{self.orders} orders planned with no van")
        if self.orders > 0 and self.driver_hours <= 0:
            raise ValueError(f"{self.orders} orders planned with no driver-hours")


@dataclass
class DepotLadder:
    """Solved demand levels of one depot, monotone in the van count."""

    depot: str
    plans: list[LevelPlan] = field(default_factory=list)

    def at(self, orders: float) -> LevelPlan:
        """The plan for ``orders`` (rounded up to the next level)."""
        need = math.ceil(orders - 1e-9)
        for plan in self.plans:
            if plan.orders >= need:
                return plan
        raise ValueError(
            f"{self.depot}: {need} orders is above the ladder's top "
            f"({self.plans[-1].orders if self.plans else 0})"
        )


def ladder_levels(demands: Sequence[float], params: CapacityParams) -> list[int]:
    """Demand levels covering every value of ``demands`` (rounded up).

    Levels grow by ``step`` (relative), at least ``min_step`` orders apart,
    from the smallest positive demand to the largest, which is always a
    level.
    """
    positive = [math.ceil(d - 1e-9) for d in demands if d > 0]
    if not positive:
        return []
    low, high = min(positive), max(positive)
    levels = [low]
    while levels[-1] < high:
        nxt = max(
            levels[-1] + params.min_step, math.ceil(levels[-1] * (1 + params.step))
        )
        levels.append(min(nxt, high))
    return levels


def _site_orders(site: OrderSite, depot: str, n: int, seed: int) -> list[Job]:
    """``n`` orders at stops drawn i.i.d. (seeded) from the depot's stops."""
    stops = site.stops.get(depot, ())
    if not stops:
        raise ValueError(f"depot {depot!r} has no stored stops to draw orders from")
    picks = np.random.default_rng(seed).integers(0, len(stops), size=n)
    return [
        Job(
            id=f"{depot}-{i + 1:05d}",
            location=Location(lat=stops[k][0], lon=stops[k][1]),
            demand=(SITE_ORDER_GRAMS, 1),
            service=SITE_SERVICE,
            depot=depot,
            penalty=SERVE_ALL_PENALTY,
        )
        for i, k in enumerate(picks.tolist())
    ]


def depot_orders(city: Source, depot: str, day: date, n: int, seed: int) -> list[Job]:
    """The first ``n`` orders held by ``depot``, from one long i.i.d. draw.

    Orders come from :func:`~scenarios.city.day_problem` (customers active
    on ``day``, its service mix, windows and parcel sizes), kept if the
    depot holds them; the draw grows until ``n`` are found. Smaller demand
    levels take the first orders of this list (:func:`plan_depot_ladder`),
    so their order sets are nested.
    """
    if depot not in {d.id for d in city.depots}:
        raise ValueError(f"unknown depot {depot!r}")
    if n <= 0:
        return []
    if isinstance(city, OrderSite):
        return _site_orders(city, depot, n, seed)
    total = max(3 * n, 50)
    while True:
        problem = day_problem(city, day, total, seed, vehicles_per_depot=1)
        mine = [job for job in problem.jobs if job.depot == depot]
        if len(mine) >= n:
            return [
                job.model_copy(update={"penalty": SERVE_ALL_PENALTY})
                for job in mine[:n]
            ]
        total *= 2


def lean_fleet(jobs: Sequence[Job]) -> tuple[int, int]:
    """A first guess of (day vans, night vans): one per 28 day / 22 night orders."""
    night = sum(1 for j in jobs if j.service_level is ServiceLevel.NIGHT)
    day = len(jobs) - night
    return max(1, math.ceil(day / STOPS_PER_VAN)), math.ceil(
        night / NIGHT_STOPS_PER_VAN
    )


def depot_problem(
    city: Source,
    depot: str,
    jobs: Sequence[Job],
    day: date,
    *,
    day_vans: int,
    night_vans: int,
    costs: FleetCosts | None = None,
) -> Problem:
    """One depot's orders and a fleet of ``day_vans`` and ``night_vans``.

    Day vans alternate between the early and late shifts of
    :data:`~scenarios.city.day.DAY_SHIFTS`; night vans take the dawn
    deliveries. With the cost objective the solver leaves the vans it does
    not need unused.
    """
    costs = costs or FleetCosts()
    n_day, n_night = day_vans, night_vans
    vans = [
        Vehicle(
            id=f"{depot}-van-{v + 1:02d}",
            start=depot,
            end=depot,
            capacity=CAPACITY,
            shift=DAY_SHIFTS[v % 2],
            costs=costs.day,
        )
        for v in range(n_day)
    ]
    vans += [
        Vehicle(
            id=f"{depot}-night-{v + 1:02d}",
            start=depot,
            end=depot,
            capacity=CAPACITY,
            shift=NIGHT_SHIFT,
            costs=costs.night,
            night=True,
        )
        for v in range(n_night)
    ]
    return Problem(
        date=day,
        depots=city.depots,
        stations=city.stations,
        vehicles=tuple(vans),
        jobs=tuple(jobs),
    )


def _measure(plan: Plan, problem: Problem, orders: int) -> LevelPlan | None:
    """The fleet of ``plan``; None when it serves none of the orders (no
    answer for a positive demand)."""
    night_ids = {v.id for v in problem.vehicles if v.night}
    used = [r for r in plan.routes if r.orders > 0]
    if orders > 0 and not used:
        return None
    return LevelPlan(
        orders=orders,
        vans=sum(1 for r in used if r.vehicle not in night_ids),
        night_vans=sum(1 for r in used if r.vehicle in night_ids),
        driver_hours=sum(r.end - r.start for r in used) / HOUR,
        unassigned=len(plan.unassigned),
        solved_at=orders,
        fallback=plan.fallback,
    )


Solver = Callable[[Problem, SolveParams], Plan]


def _default_solver(problem: Problem, params: SolveParams) -> Plan:
    return solve(problem, params=params)


def solve_level(
    city: Source,
    depot: str,
    jobs: Sequence[Job],
    day: date,
    params: SolveParams,
    *,
    solver: Solver = _default_solver,
    costs: FleetCosts | None = None,
    max_rounds: int = 8,
) -> LevelPlan:
    """The fleet one depot needs to serve ``jobs``.

    Starts from a lean fleet (:func:`lean_fleet`) and adds a day van (and a
    night van while night orders are left out) until the solver serves
    every order, at most ``max_rounds`` times; a lean start keeps the
    search from spreading the orders over idle vans.

    Raises
    ------
    ValueError
        When ``jobs`` is empty (no demand needs no plan).
    LevelUnplanned
        When a fleet got no plan (the solver raised
        :class:`~routing.solver.NoPlanFound` or served no order), even when
        solved again with :data:`RETRY_FACTOR` times the search time.
    """
    if not jobs:
        raise ValueError(f"depot {depot} on {day}: no orders to plan")
    day_vans, night_vans = lean_fleet(jobs)
    night_ids = {j.id for j in jobs if j.service_level is ServiceLevel.NIGHT}
    result: LevelPlan | None = None
    for _ in range(max_rounds):
        problem = depot_problem(
            city,
            depot,
            jobs,
            day,
            day_vans=day_vans,
            night_vans=night_vans,
            costs=costs,
        )
        plan, result = _planned(problem, params, solver, depot, len(jobs))
        if result.unassigned == 0:
            return result
        left = {u.id for u in plan.unassigned}
        if left - night_ids:
            day_vans += max(1, day_vans // 4)
        if left & night_ids:
            night_vans += 1
    assert result is not None  # max_rounds >= 1
    return result


def _planned(
    problem: Problem,
    params: SolveParams,
    solver: Solver,
    depot: str,
    orders: int,
) -> tuple[Plan, LevelPlan]:
    """Solve one fleet; once more with more time if the search found no
    plan; else :class:`LevelUnplanned`."""
    reasons: list[str] = []
    for attempt in (params, _longer(params)):
        try:
            plan = solver(problem, attempt)
        except NoPlanFound as exc:
            reasons.append(str(exc))
            continue
        measured = _measure(plan, problem, orders)
        if measured is not None:
            if attempt is not params and measured.fallback is None:
                measured = replace(measured, fallback="more_time")
            return plan, measured
        reasons.append(
            f"the {attempt.time_limit:g} s search served none of the orders "
            f"with {len(problem.vehicles)} vans"
        )
    assert problem.date is not None  # depot_problem dates every problem
    raise LevelUnplanned(depot, problem.date, orders, "; then ".join(reasons))


def _longer(params: SolveParams) -> SolveParams:
    return params.model_copy(update={"time_limit": params.time_limit * RETRY_FACTOR})


def plan_depot_ladder(
    city: Source,
    depot: str,
    levels: Sequence[int],
    *,
    day: date,
    params: CapacityParams | None = None,
    solver: Solver = _default_solver,
    costs: FleetCosts | None = None,
) -> DepotLadder:
    """Solve every demand level of one depot; make the van counts monotone.

    Parameters
    ----------
    city
        The city whose customers the orders come from.
    depot
        Depot id.
    levels
        Demand levels (orders), any order; duplicates are ignored.
    day
        Day whose active customers the orders are drawn from.
    params
        Search time, ladder spacing, seed.
    solver
        ``solver(problem, params)`` returning a plan (default
        :func:`routing.solver.solve`).
    costs
        Van costs (default :class:`~scenarios.city.day.FleetCosts`).

    Returns
    -------
    DepotLadder
        One plan per level, sorted by orders.
    """
    params = params or CapacityParams()
    wanted = sorted({int(n) for n in levels if n > 0})
    ladder = DepotLadder(depot)
    if not wanted:
        return ladder
    pool = depot_orders(city, depot, day, wanted[-1], params.seed)
    solve_params = SolveParams(
        engine=params.engine,
        time_limit=params.time_limit,
        seed=params.seed,
        objective="cost",
    )
    solved = [
        solve_level(
            city, depot, pool[:n], day, solve_params, solver=solver, costs=costs
        )
        for n in wanted
    ]
    ladder.plans = _monotone(solved)
    return ladder


def _monotone(solved: Sequence[LevelPlan]) -> list[LevelPlan]:
    """Each level takes the best plan among it and every larger level.

    A superset's plan minus the extra stops serves the smaller set, but only
    if it served the superset: a larger level's plan that left orders out
    never stands in for a smaller one.
    """
    best: LevelPlan | None = None
    out: list[LevelPlan] = []
    for plan in reversed(solved):
        if (
            best is None
            or best.unassigned > 0
            or (plan.vans + plan.night_vans, plan.driver_hours)
            <= (best.vans + best.night_vans, best.driver_hours)
        ):
            best = plan
        out.append(
            LevelPlan(
                orders=plan.orders,
                vans=best.vans,
                night_vans=best.night_vans,
                driver_hours=best.driver_hours,
                unassigned=plan.unassigned,
                solved_at=best.orders,
                fallback=best.fallback,
            )
        )
    return out[::-1]


def plan_capacity(
    city: Source,
    demand: pd.DataFrame,
    *,
    column: str = "orders",
    params: CapacityParams | None = None,
    solver: Solver = _default_solver,
    on_depot: Callable[[str, int], None] = lambda _depot, _levels: None,
) -> pd.DataFrame:
    """Vans and driver-hours per depot and day for a demand forecast.

    Parameters
    ----------
    city
        The city (customers, depots), or an :class:`OrderSite` (depots and
        their stored stops).
    demand
        ``unique_id`` (depot id), ``ds`` and ``column``: the orders to plan
        for, typically a forecast quantile such as P80.
    column
        The demand column.
    params
        Search time, ladder spacing, seed.
    solver
        The routing call (see :func:`plan_depot_ladder`).
    on_depot
        Progress callback ``(depot, number of levels)``.

    Returns
    -------
    pandas.DataFrame
        ``depot, ds, orders`` (the demand), ``planned_orders`` (the ladder
        level used), ``vans``, ``night_vans``, ``driver_hours``,
        ``unassigned``.
    """
    params = params or CapacityParams()
    rows = []
    first_day = pd.Timestamp(demand["ds"].min()).date()
    for depot, group in demand.groupby("unique_id", sort=True):
        values = group[column].to_numpy(dtype=np.float64)
        levels = ladder_levels(values.tolist(), params)
        on_depot(str(depot), len(levels))
        ladder = plan_depot_ladder(
            city, str(depot), levels, day=first_day, params=params, solver=solver
        )
        rows += [
            _fleet_row(str(depot), ds, value, ladder)
            for ds, value in zip(group["ds"], values, strict=True)
        ]
    return pd.DataFrame(rows, columns=list(FLEET_COLUMNS))


#: The columns of :func:`plan_capacity`'s frame.
FLEET_COLUMNS = (
    "depot",
    "ds",
    "orders",
    "planned_orders",
    "vans",
    "night_vans",
    "driver_hours",
    "unassigned",
    "fallback",
)


def _fleet_row(
    depot: str, ds: object, value: float, ladder: DepotLadder
) -> tuple[object, ...]:
    """One row of :func:`plan_capacity` (:data:`FLEET_COLUMNS`)."""
    if value <= 0:
        return (depot, ds, value, 0, 0, 0, 0.0, 0, None)
    plan = ladder.at(value)
    return (
        depot,
        ds,
        value,
        plan.orders,
        plan.vans,
        plan.night_vans,
        plan.driver_hours,
        plan.unassigned,
        plan.fallback,
    )
