"""Large problems: Gehring-Homberger 1000 against PyVRP alone, and a 10k city day.

Run by hand, alone on the machine (both use every core)::

    # gap and time per instance, decomposition and PyVRP alone in one run
    .venv/bin/python benchmarks/bench_large.py homberger --time-limit 300 \\
        --instances C1_10_1,C2_10_1,R1_10_1,R2_10_1,RC1_10_1,RC2_10_1 --json gh.json

    # a synthetic 10,000-order day of the embedded city
    .venv/bin/python benchmarks/bench_large.py city --orders 10000 --time-limit 600

Homberger runs use the DIMACS distance-only convention and the
``pyvrp_dimacs_bks`` best-known solutions, scored by the same harness and
checker as ``milepost bench routing``. ``large`` is :func:`solve_large` with
the full time limit as wall time (two worker processes); ``pyvrp-direct`` is
PyVRP on the instance file through its own reader for the same time, on one
core. The city run reports wall time, the peak memory of the main process
and of the largest worker, and the checker's verdict.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

from routing.bench import (
    bks_for,
    default_data_dir,
    failed_run,
    machine,
    run_instance,
    score,
    suite_instances,
)
from routing.solver import SolveParams
from routing.solver.decompose import LargeParams, decompose_solve
from routing.vrplib import read_solomon


def _large(path: Path, time_limit: float, seed: int, workers: int) -> dict[str, Any]:
    problem, info = read_solomon(path)
    t0 = time.perf_counter()
    result = decompose_solve(
        problem,
        params=SolveParams(objective="distance", time_limit=time_limit, seed=seed),
        large=LargeParams(workers=workers),
        coordinates=info["coordinates"],
    )
    seconds = time.perf_counter() - t0
    run = score(
        problem, result.plan, path.stem, "large", seconds, info["scale"], bks_for(path)
    )
    run["phases"] = result.seconds
    run["rounds"] = result.rounds
    run["improved"] = result.improved
    return run


def _line(run: dict[str, Any]) -> str:
    if run["distance"] is None:
        return f"{run['instance']:<10} {run['engine']:<13} {run['violations'][0]}"
    gap = "" if run["gap_pct"] is None else f"gap {run['gap_pct']:+6.2f}%"
    ok = "ok" if run["feasible"] else "INFEASIBLE"
    return (
        f"{run['instance']:<10} {run['engine']:<13} {run['distance']:>10.1f} "
        f"{gap:<13} routes {run['vehicles']:>3} {run['seconds']:7.1f} s  {ok}"
    )


def homberger(args: argparse.Namespace) -> dict[str, Any]:
    folder = args.data_dir or default_data_dir()
    names = [n for n in (args.instances or "").split(",") if n]
    files = suite_instances(folder, "homberger", names)
    runs: list[dict[str, Any]] = []
    for path in files:
        for engine in args.engines.split(","):
            try:
                if engine == "large":
                    run = _large(path, args.time_limit, args.seed, args.workers)
                else:
                    run = run_instance(path, engine, args.time_limit, args.seed)
            except Exception as exc:  # one failing run must not end the benchmark
                run = failed_run(path.stem, engine, f"{type(exc).__name__}: {exc}")
            run.pop("routes", None)
            runs.append(run)
            print(_line(run), flush=True)
            if args.json is not None:
                args.json.write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    summary: dict[str, Any] = {}
    for engine in args.engines.split(","):
        rows = [r for r in runs if r["engine"] == engine]
        gaps = [
            r["gap_pct"] for r in rows if r["feasible"] and r["gap_pct"] is not None
        ]
        summary[engine] = {
            "instances": len(rows),
            "feasible": sum(1 for r in rows if r["feasible"]),
            "mean_gap_pct": round(statistics.fmean(gaps), 2) if gaps else None,
            "max_gap_pct": round(max(gaps), 2) if gaps else None,
            "mean_seconds": round(
                statistics.fmean(r["seconds"] for r in rows if r["seconds"]), 1
            )
            if rows
            else None,
        }
    by_instance: dict[str, dict[str, float]] = {}
    for r in runs:
        if r["distance"] is not None and r["feasible"]:
            by_instance.setdefault(r["instance"], {})[r["engine"]] = r["distance"]
    wins = {
        name: d.get("large", float("inf")) <= d.get("pyvrp-direct", float("inf"))
        for name, d in by_instance.items()
    }
    summary["large_no_worse_than_pyvrp"] = wins
    return {"machine": machine(), "runs": runs, "summary": summary}


def _progress(what: str, seconds: float, value: float) -> None:
    print(f"  {what:<14} {seconds:7.1f} s  {value:,.0f}", flush=True)


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
        progress=lambda what, s, v: print(
            f"  {what:<14} {s:7.1f} s  {v:,.0f}", flush=True
        ),
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
    sub = parser.add_subparsers(dest="what", required=True)
    gh = sub.add_parser("homberger")
    gh.add_argument("--instances", default=None)
    gh.add_argument("--engines", default="large,pyvrp-direct")
    gh.add_argument("--time-limit", type=float, default=300.0)
    gh.add_argument("--data-dir", type=Path, default=None)
    cy = sub.add_parser("city")
    cy.add_argument("--orders", type=int, default=10_000)
    cy.add_argument("--time-limit", type=float, default=600.0)
    for p in (gh, cy):
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--workers", type=int, default=2)
        p.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    report = homberger(args) if args.what == "homberger" else city(args)
    if args.what == "homberger":
        print(json.dumps(report["summary"], indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
