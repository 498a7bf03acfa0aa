"""Our routes against the routes Amazon drivers actually drove (the
Amazon Last Mile Routing Research Challenge sample, read by
:mod:`routing.io.amazon`): distance, duration and window violations of both,
measured under one travel model.

Our route minimises distance with OR-Tools. By default the
  search starts from the driver's own sequence whenever that sequence is on
  time under the travel model (it is on all 13 sample routes), so our route is
  never longer than the driver's; ``warm_start=False`` searches from scratch
  (on the sample that is 0.9 % longer in total and still shorter than every
  driver).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from routing.io.amazon import AmazonRoute
from routing.model import Problem
from routing.plan import Plan, StepType
from routing.solver.check import check
from routing.solver.data import build_data
from routing.solver.params import SolveParams
from routing.solver.precheck import precheck
from routing.solver.result import NoPlanFound
from routing.solver.solve import plan_from_sequences, solve
from routing.solver.timeline import Visit
from routing.travel import TravelModel


@dataclass(frozen=True)
class RouteStats:
    """One route (ours or the driver's) measured the same way.

    Attributes
    ----------
    distance
        Metres driven, station to station.
    duration
        Seconds from leaving the station to returning (route end - start).
    driving
        Seconds spent driving.
    window_violations
        Stops whose service starts outside their window.
    minutes_late
        Total minutes past the window end over those stops.
    served
        Stops served.
    feasible
        The independent checker's verdict on the whole plan.
    checker
        The checker's verdict in words (``"feasible"`` or the violation kinds).
    """

    distance: int
    duration: int
    driving: int
    window_violations: int
    minutes_late: float
    served: int
    feasible: bool
    checker: str


@dataclass(frozen=True)
class Comparison:
    """Our plan against the driver's actual sequence, under one travel model.

    Attributes
    ----------
    route
        The route compared.
    ours, driver
        The two routes measured the same way.
    ours_plan, driver_plan
        The timed plans behind the numbers.
    warm_start
        Whether our search started from the driver's sequence.
    seconds
        Wall time spent planning our route.
    """

    route: AmazonRoute
    ours: RouteStats
    driver: RouteStats
    ours_plan: Plan = field(repr=False)
    driver_plan: Plan = field(repr=False)
    warm_start: bool = False
    seconds: float = 0.0

    @property
    def distance_ratio(self) -> float:
        """Our distance over the driver's (below 1 means ours is shorter)."""
        return _ratio(self.ours.distance, self.driver.distance)

    @property
    def duration_ratio(self) -> float:
        """Our route duration over the driver's."""
        return _ratio(self.ours.duration, self.driver.duration)

    @property
    def meets_target(self) -> bool:
        """Ours is feasible, on time everywhere and no longer than the driver's."""
        return (
            self.ours.feasible
            and self.ours.window_violations == 0
            and self.ours.served == self.route.n_stops
            and self.ours.distance <= self.driver.distance
        )


def _ratio(a: int, b: int) -> float:
    return a / b if b else math.inf if a else 1.0


def driver_plan(route: AmazonRoute, travel: TravelModel) -> Plan:
    """Time the driver's actual sequence by the same rule as our plans.

    Windows are hard in the problem, so a stop the driver reaches too late
    is served late (``Step.late``) and the checker reports it.

    Parameters
    ----------
    route
        The route and the driver's sequence.
    travel
        The travel model (the same one used for our plan).

    Returns
    -------
    Plan
        The driver's route, timed.
    """
    t0 = time.perf_counter()
    data = build_data(route.problem, travel)
    seq: list[Visit] = [data.order_nodes[sid][0] for sid in route.driver_sequence]
    return plan_from_sequences(
        data,
        [seq],
        dropped=[],
        impossible=[],
        engine="driver",
        seconds=time.perf_counter() - t0,
    )


def window_lateness(problem: Problem, plan: Plan) -> dict[str, int]:
    """Stops served outside their window, with the seconds past its end.

    Parameters
    ----------
    problem
        The problem the plan answers.
    plan
        A timed plan.

    Returns
    -------
    dict of str to int
        Job id -> seconds between the last window's end and the start of
        service (0 for a start before the first window opens).
    """
    jobs = {j.id: j for j in problem.jobs}
    late: dict[str, int] = {}
    for route in plan.routes:
        for step in route.steps:
            job = jobs.get(step.id or "") if step.type == StepType.JOB else None
            if job is None or not job.time_windows:
                continue
            if not any(w.contains(step.service_start) for w in job.time_windows):
                late[job.id] = max(0, step.service_start - job.time_windows[-1].end)
    return late


def route_stats(problem: Problem, plan: Plan, travel: TravelModel) -> RouteStats:
    """Measure a one-van plan: distance, times, lateness, checker verdict.

    Parameters
    ----------
    problem
        The problem the plan answers.
    plan
        A timed plan.
    travel
        The travel model the plan was timed with.

    Returns
    -------
    RouteStats
        The numbers the comparison reports.
    """
    verdict = check(problem, plan, travel)
    late = window_lateness(problem, plan)
    kinds: dict[str, int] = {}
    for v in verdict.violations:
        kinds[v.kind] = kinds.get(v.kind, 0) + 1
    words = ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items()))
    return RouteStats(
        distance=sum(r.distance for r in plan.routes),
        duration=sum(r.end - r.start for r in plan.routes),
        driving=sum(r.duration for r in plan.routes),
        window_violations=len(late),
        minutes_late=round(sum(late.values()) / 60.0, 1),
        served=plan.summary.served,
        feasible=verdict.ok,
        checker="feasible" if verdict.ok else f"infeasible ({words})",
    )


def plan_route(
    route: AmazonRoute,
    travel: TravelModel,
    params: SolveParams,
    *,
    warm_start: bool = True,
) -> tuple[Plan, bool]:
    """Plan ``route``, optionally starting the search from the driver's sequence.

    Without ``warm_start`` (or with another engine) this is exactly
    :func:`routing.solver.solve`. With OR-Tools and ``warm_start``, the
    driver's sequence (restricted to the stops the precheck keeps) is offered
    as the first solution whenever it is on time and inside the shift under
    ``travel``; the search then only returns something at least as good in
    distance. If OR-Tools rejects the routes it searches from scratch.

    Parameters
    ----------
    route
        The route to plan.
    travel
        The travel model.
    params
        Engine, objective and time limit.
    warm_start
        Try the driver's sequence as the first solution.

    Returns
    -------
    tuple of (Plan, bool)
        Our plan, and whether the search started from the driver's sequence.
    """
    if params.engine != "ortools" or not warm_start:
        return solve(route.problem, travel=travel, params=params), False
    from routing.solver.ortools_adapter import solve_ortools

    t0 = time.perf_counter()
    data = build_data(route.problem, travel)
    serviceable, impossible = precheck(data)
    keep = set(serviceable)
    initial = [data.order_nodes[s][0] for s in route.driver_sequence if s in keep]
    start: list[Visit] = list(initial)
    driver = plan_from_sequences(
        data, [start], dropped=[], impossible=[], engine="", seconds=0.0
    )
    feasible_start = driver.summary.late == 0 and all(
        r.end <= route.problem.vehicles[0].shift.end for r in driver.routes
    )
    result = solve_ortools(
        data, serviceable, params, initial=[initial] if feasible_start else None
    )
    if result.failure is not None:  # a route without a plan is not scored
        raise NoPlanFound(params.engine, params.time_limit, result.failure)
    plan = plan_from_sequences(
        data,
        result.sequences,
        dropped=result.dropped,
        impossible=impossible,
        engine=params.engine,
        seconds=time.perf_counter() - t0,
    )
    return plan, feasible_start and result.warm_started


def compare(
    route: AmazonRoute,
    travel: TravelModel,
    *,
    time_limit: float,
    engine: str = "ortools",
    warm_start: bool = True,
    seed: int = 0,
) -> Comparison:
    """Plan ``route`` and compare the plan with the driver's actual sequence.

    Parameters
    ----------
    route
        The route to plan.
    travel
        The travel model timing both routes.
    time_limit
        Seconds of search.
    engine
        The engine (see :class:`~routing.solver.params.SolveParams`).
    warm_start
        Start the search from the driver's sequence when it is on time (see
        :func:`plan_route`); ``False`` searches from scratch.
    seed
        Random seed of the search.

    Returns
    -------
    Comparison
        Both routes measured the same way, and the plans behind them.
    """
    params = SolveParams.model_validate(
        {
            "engine": engine,
            "time_limit": time_limit,
            "objective": "distance",
            "seed": seed,
        }
    )
    t0 = time.perf_counter()
    ours, warm = plan_route(route, travel, params, warm_start=warm_start)
    seconds = time.perf_counter() - t0
    theirs = driver_plan(route, travel)
    return Comparison(
        route=route,
        ours=route_stats(route.problem, ours, travel),
        driver=route_stats(route.problem, theirs, travel),
        ours_plan=ours,
        driver_plan=theirs,
        warm_start=warm,
        seconds=round(seconds, 2),
    )


def comparison_to_json(c: Comparison) -> dict[str, Any]:
    """A comparison as JSON-ready data: metadata, both routes' numbers, sequences.

    Parameters
    ----------
    c
        The comparison.

    Returns
    -------
    dict
        ``route``, ``ours``, ``driver``, ratios and both stop sequences.
    """
    r = c.route

    def stats(s: RouteStats, plan: Plan) -> dict[str, Any]:
        return {
            "distance_m": s.distance,
            "duration_s": s.duration,
            "driving_s": s.driving,
            "window_violations": s.window_violations,
            "minutes_late": s.minutes_late,
            "served": s.served,
            "checker": s.checker,
            "sequence": _sequence(plan),
        }

    return {
        "route_id": r.route_id,
        "station_code": r.station_code,
        "date": r.date.isoformat(),
        "timezone": r.timezone,
        "departure_utc": r.departure_utc.isoformat(),
        "departure_local_s": r.departure,
        "capacity_cm3": r.capacity_cm3,
        "stops": r.n_stops,
        "packages": r.n_packages,
        "windowed_packages": r.n_windowed_packages,
        "window_conflicts": list(r.window_conflicts),
        "ours": stats(c.ours, c.ours_plan),
        "driver": stats(c.driver, c.driver_plan),
        "distance_ratio": round(c.distance_ratio, 4),
        "duration_ratio": round(c.duration_ratio, 4),
        "warm_start": c.warm_start,
        "seconds": c.seconds,
        "meets_target": c.meets_target,
    }


def _sequence(plan: Plan) -> list[str]:
    return [s for route in plan.routes for s in route.order_ids]
