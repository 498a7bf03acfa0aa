"""A synthetic 10,000-order day of the embedded city: time, memory, verdict.

Run by hand, alone on the machine (it uses every core)::

    .venv/bin/python benchmarks/bench_large.py --orders 10000 --time-limit 600

It reports wall time, the peak memory of the main process and of the largest
worker, and the checker's verdict. Gehring-Homberger 1000-customer instances
against PyVRP alone run through the routing benchmark (``auto`` hands them to
the decomposition)::

    milepost bench routing --suite homberger --engine auto,pyvrp-direct \\
        --time-limit 300 --instances C1_10_1,C2_10_1,R1_10_1,R2_10_1,RC1_10_1,RC2_10_1
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from routing.bench.vrptw import machine
from routing.solver import SolveParams
from routing.solver.decompose import LargeParams, decompose_solve


def _progress(engine: str, seconds: float, objective: float) -> None:
    print(f"  {engine:<14} {seconds:7.1f} s  {objective:,.0f}", flush=True)


def city(args: argparse.Namespace) -> dict[str, Any]:
    from routing.travel import HaversineTravel
    from scenarios.city import build_city, day_problem

    t0 = time.perf_counter()
    town = build_city(
        seed=args.seed, n_customers=max(2000, 2 * args.orders), end=date(2024, 1, 31)
    )
    problem = day_problem(town, date(2024, 2, 1), n_orders=args.orders, seed=args.seed)
    built = time.perf_counter() - t0
    print(
        f"city day: {len(problem.jobs)} orders, {len(problem.vehicles)} vans, "
        f"{len(problem.depots)} depots (built in {built:.1f} s)",
        flush=True,
    )
    t1 = time.perf_counter()
    result = decompose_solve(
        problem,
        params=SolveParams(time_limit=args.time_limit, seed=args.seed),
        travel=HaversineTravel(),
        large=LargeParams(workers=args.workers),
        progress=_progress,
    )
    seconds = time.perf_counter() - t1
    s = result.plan.summary
    report = {
        "machine": machine(),
        "orders": len(problem.jobs),
        "vehicles": len(problem.vehicles),
        "time_limit": args.time_limit,
        "seconds": round(seconds, 1),
        "phases": result.seconds,
        "parts": result.parts,
        "rounds": result.rounds,
        "improved": result.improved,
        "served": s.served,
        "unassigned": s.unassigned,
        "routes": s.routes,
        "cost": s.cost,
        "distance_km": round(s.distance / 1000, 1),
        "checker": str(result.verdict),
        "peak_rss_mib_main": result.peak_rss_mib,
        "peak_rss_mib_worker": result.peak_worker_rss_mib,
        "peak_rss_mib_bound": round(
            result.peak_rss_mib + args.workers * result.peak_worker_rss_mib, 1
        ),
    }
    print(json.dumps(report, indent=2))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    report = city(args)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
