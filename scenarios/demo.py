"""The demo day: tomorrow's orders in the embedded Seoul, planned end to end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from routing.io import plan_geojson, plan_to_json, problem_to_json, write_json
from routing.model import Problem
from routing.plan import Plan
from routing.solver import CheckResult, SolveParams, check
from routing.travel import HaversineTravel, TravelModel
from scenarios.city import build_city, day_problem
from scenarios.city.day import CITY_LOCALE
from scenarios.city.roads import seoul_roads

Solver = Callable[[Problem, SolveParams, TravelModel], Plan]


@dataclass(frozen=True)
class DemoResult:
    problem: Problem
    plan: Plan
    verdict: CheckResult
    files: dict[str, Path]


def tomorrow() -> dt.date:
    """Tomorrow in Seoul."""
    return dt.datetime.now(CITY_LOCALE.zone).date() + dt.timedelta(days=1)


def run_demo(
    out_dir: Path,
    *,
    solver: Solver,
    day: dt.date | None = None,
    n_orders: int = 400,
    seed: int = 0,
    time_limit: float = 20.0,
    n_customers: int | None = None,
    travel: Literal["roads", "haversine"] = "roads",
    cache_dir: Path | None = None,
    on_stage: Callable[[str], None] = lambda _: None,
) -> DemoResult:
    """Build the city, take a day's orders, plan them and write the results.

    ``travel="roads"`` drives on the city's synthetic road network (one-way
    streets, rush hours); ``"haversine"`` on straight lines at band speeds.
    Writes ``problem.json``, ``plan.json`` and ``routes.geojson`` into
    ``out_dir``.
    """
    day = day or tomorrow()
    on_stage("building the embedded Seoul city")
    city = (
        build_city(seed=seed)
        if n_customers is None
        else build_city(seed=seed, n_customers=n_customers)
    )
    on_stage(f"sampling {n_orders} orders for {day.isoformat()}")
    problem = day_problem(city, day, n_orders, seed)
    model: TravelModel
    if travel == "roads":
        on_stage("loading the city's road network")
        model = seoul_roads(seed, cache_dir)
    else:
        model = HaversineTravel()
    params = SolveParams(engine="ortools", time_limit=time_limit, seed=seed)
    plan = solver(problem, params, model)
    on_stage("checking the plan independently")
    verdict = check(problem, plan, model)
    on_stage(f"writing results to {out_dir}")
    files = {
        "problem": write_json(problem_to_json(problem), out_dir / "problem.json"),
        "plan": write_json(plan_to_json(plan), out_dir / "plan.json"),
        "routes": write_json(
            plan_geojson(plan, problem, model), out_dir / "routes.geojson"
        ),
    }
    return DemoResult(problem, plan, verdict, files)
