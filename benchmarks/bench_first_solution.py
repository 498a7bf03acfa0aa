"""First solution of large embedded-city days with OR-Tools alone.

Run through the shared lock (one measurement at a time on the machine)::

    flock /work/bench.lock .venv/bin/python benchmarks/bench_first_solution.py \\
        --orders 2000,5000 --time-limit 60,120 --json first.json

For each day size it plans the same embedded-city day
(:func:`scenarios.city.day_problem`, seed 0) with ``engine="ortools"`` and one
worker, at each time limit:

* ``own``: the construction switched off (``CONSTRUCT_FROM`` past the day),
  OR-Tools' own first solution (parallel cheapest insertion), through
  :func:`routing.solver.engines.solve_one` so the run stops where the search
  does (``solve()`` would go on to its fallbacks). Run once, at the longest
  limit: no first solution by then means none by any shorter one.
* ``constructed``: ``solve()`` as a user calls it, starting from
  :func:`routing.solver.construct.nearest_routes`.
* ``large`` (``--large``): the decomposition, which the simulator uses for
  these days, at the longest limit.

Each row: seconds to the first solution (from the call, model building
included), wall seconds, served orders, km, vans used, and the checker's
verdict on the plan.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import routing.solver.ortools_adapter as adapter
from routing.bench.vrptw import machine
from routing.model import Problem
from routing.plan import Plan
from routing.solver import SolveParams, solve
from routing.solver.check import check
from routing.solver.engines import solve_one
from routing.solver.result import NoPlanFound
from routing.travel import HaversineTravel


def _day(orders: int, seed: int) -> Problem:
    from scenarios.city import build_city, day_problem

    town = build_city(
        seed=seed, n_customers=max(2000, 2 * orders), end=date(2024, 1, 31)
    )
    return day_problem(town, date(2024, 2, 1), n_orders=orders, seed=seed)


def _run(problem: Problem, mode: str, time_limit: float) -> dict[str, Any]:
    travel = HaversineTravel()
    first: list[float] = []
    t0 = time.perf_counter()

    def progress(engine: str, seconds: float, objective: float) -> None:
        # seconds count from the search's start; the user waits from the call
        if not first:
            first.append(time.perf_counter() - t0)
            print(
                f"    {engine}: first solution after {first[0]:.1f} s "
                f"({seconds:.1f} s into the search), objective {objective:,.0f}",
                flush=True,
            )

    engine = "large" if mode == "large" else "ortools"
    params = SolveParams(engine=engine, time_limit=time_limit, workers=1)
    saved = adapter.CONSTRUCT_FROM
    plan: Plan | None = None
    failure = None
    try:
        if mode == "own":
            adapter.CONSTRUCT_FROM = 10**9
            plan = solve_one(
                problem, "ortools", travel=travel, params=params, progress=progress
            )
        else:
            plan = solve(problem, travel=travel, params=params, progress=progress)
    except NoPlanFound as exc:
        failure = exc.reason
    finally:
        adapter.CONSTRUCT_FROM = saved
    row: dict[str, Any] = {
        "orders": len(problem.jobs),
        "vans": len(problem.vehicles),
        "mode": mode,
        "time_limit": time_limit,
        "first_solution_s": round(first[0], 1) if first else None,
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    if plan is None:
        return {**row, "failure": failure}
    s = plan.summary
    return {
        **row,
        "served": s.served,
        "unassigned": s.unassigned,
        "km": round(s.distance / 1000, 1),
        "routes": s.routes,
        "cost": round(s.cost),
        "fallback": plan.fallback,
        "checker": str(check(problem, plan, travel)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", default="2000,5000")
    parser.add_argument("--time-limit", default="60,120")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modes", default="own,constructed")
    parser.add_argument("--large", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    limits = [float(x) for x in args.time_limit.split(",")]
    modes = args.modes.split(",") + (["large"] if args.large else [])
    rows: list[dict[str, Any]] = []
    for n in (int(x) for x in args.orders.split(",")):
        problem = _day(n, args.seed)
        for mode in modes:
            runs = limits if mode == "constructed" else [max(limits)]
            for limit in runs:
                print(f"{n} orders, {mode}, {limit:g} s", flush=True)
                row = _run(problem, mode, limit)
                print("   ", json.dumps(row), flush=True)
                rows.append(row)
                if args.json is not None:
                    report = {"machine": machine(), "rows": rows}
                    args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
