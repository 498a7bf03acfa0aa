"""A synthetic large day of the embedded city: time, memory, verdict.

Run by hand, alone on the machine (it uses every core)::

    .venv/bin/python benchmarks/bench_large.py --orders 10000 --time-limit 480

It reports wall time, the peak memory of each process, the checker's verdict
and the seconds each part took in its worker. ``--local-cluster`` solves the
parts on a Dask ``LocalCluster`` of ``--workers`` single-threaded processes,
started in a process of its own (so the scheduler's memory is its own);
``--dask ADDRESS`` uses a running cluster. ``--depots 10`` plans a metro day
over ten hubs (:data:`scenarios.city.METRO_DEPOTS`). The Coupang-sized metro
day (50,000 orders, 10 depots, on a cluster of two workers)::

    .venv/bin/python benchmarks/bench_large.py --orders 50000 --depots 10 \\
        --time-limit 2400 --local-cluster --json large-50k.json

Each run also projects its wall time onto ``--project`` workers (default 8
and 32): the measured part and cluster seconds dealt to that many workers
in order (each free worker takes the next task), plus what the client did
around them, as measured. A projection, not a measurement: with the same
time limit the decomposition would spend the extra workers on longer part
searches rather than finish sooner, and the split makes a multiple of the
workers.

Gehring-Homberger 1000-customer instances against PyVRP alone run through
the routing benchmark (``auto`` hands them to the decomposition)::

    milepost bench routing --suite homberger --engine auto,pyvrp-direct \\
        --time-limit 300 --instances C1_10_1,C2_10_1,R1_10_1,R2_10_1,RC1_10_1,RC2_10_1
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from routing.bench.vrptw import machine
from routing.solver import SolveParams
from routing.solver.decompose import LargeParams, LargeResult, decompose_solve

#: A LocalCluster in a process of its own: prints its address, ends with stdin.
_CLUSTER = """
import sys
from distributed import LocalCluster

if __name__ == "__main__":
    with LocalCluster(
        n_workers=int(sys.argv[1]),
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
    ) as cluster:
        print(cluster.scheduler_address, flush=True)
        sys.stdin.read()
"""


def _progress(engine: str, seconds: float, objective: float) -> None:
    print(f"  {engine:<14} {seconds:7.1f} s  {objective:,.0f}", flush=True)


@contextlib.contextmanager
def _cluster(args: argparse.Namespace) -> Iterator[str | None]:
    """The scheduler address to solve on (``None``: local processes)."""
    if not args.local_cluster:
        yield args.dask
        return
    holder = subprocess.Popen(
        [sys.executable, "-c", _CLUSTER, str(args.workers)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        address = holder.stdout.readline().strip()
        if not address:
            raise RuntimeError("the LocalCluster process printed no address")
        print(f"LocalCluster of {args.workers} workers at {address}", flush=True)
        yield address
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def makespan(seconds: Sequence[float], workers: int) -> float:
    """Wall time of tasks taken in order by whichever of ``workers`` is free."""
    free = [0.0] * max(1, workers)
    for s in seconds:
        heapq.heappush(free, heapq.heappop(free) + s)
    return max(free)


def projection(
    result: LargeResult, workers: int, targets: Sequence[int]
) -> dict[str, float]:
    """Wall seconds of the same tasks on each of ``targets`` workers.

    What the client did beside the tasks of a phase (building the parts,
    taking their plans) is the phase's measured wall time less the tasks'
    makespan on the measured ``workers``; it is kept as it is.
    """
    phases = result.seconds
    tasks = result.task_seconds
    rounds = [k for k in tasks if k.startswith("round ")]
    parts = tasks.get("parts", [])
    client_parts = phases.get("parts", 0.0) - makespan(parts, workers)
    client_rounds = phases.get("improve", 0.0) - sum(
        makespan(tasks[r], workers) for r in rounds
    )
    fixed = phases.get("split", 0.0) + phases.get("final", 0.0)
    return {
        f"{w} workers": round(
            fixed
            + client_parts
            + makespan(parts, w)
            + client_rounds
            + sum(makespan(tasks[r], w) for r in rounds),
            1,
        )
        for w in targets
    }


def _summary(seconds: Sequence[float]) -> dict[str, float]:
    if not seconds:
        return {"n": 0}
    return {
        "n": len(seconds),
        "mean": round(statistics.fmean(seconds), 2),
        "max": round(max(seconds), 2),
        "sum": round(sum(seconds), 1),
    }


def city(args: argparse.Namespace) -> dict[str, Any]:
    from routing.travel import HaversineTravel
    from scenarios.city import METRO_DEPOTS, build_city, day_problem, with_depots

    t0 = time.perf_counter()
    town = build_city(
        seed=args.seed, n_customers=max(2000, 2 * args.orders), end=date(2024, 1, 31)
    )
    if args.depots == 10:
        town = with_depots(town, METRO_DEPOTS)
    problem = day_problem(town, date(2024, 2, 1), n_orders=args.orders, seed=args.seed)
    built = time.perf_counter() - t0
    print(
        f"city day: {len(problem.jobs)} orders, {len(problem.vehicles)} vans, "
        f"{len(problem.depots)} depots (built in {built:.1f} s)",
        flush=True,
    )
    params = SolveParams(
        time_limit=args.time_limit, seed=args.seed, iterations=args.iterations
    )
    with _cluster(args) as scheduler:
        t1 = time.perf_counter()
        result = decompose_solve(
            problem,
            params=params,
            travel=HaversineTravel(),
            large=LargeParams(workers=args.workers, scheduler=scheduler),
            progress=_progress,
        )
        seconds = time.perf_counter() - t1
    s = result.plan.summary
    report = {
        "machine": machine(),
        "orders": len(problem.jobs),
        "depots": len(problem.depots),
        "vehicles": len(problem.vehicles),
        "time_limit": args.time_limit,
        "iterations": args.iterations,
        "where": result.where,
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
        "failures": result.failures,
        "peak_rss_mib": result.peak_rss_by_process,
        "task_seconds": {k: _summary(v) for k, v in result.task_seconds.items()},
        "projection_s": projection(result, args.workers, args.project),
    }
    print(json.dumps(report, indent=2))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--depots", type=int, choices=(3, 10), default=3)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--dask", default=None, help="a running scheduler")
    where.add_argument("--local-cluster", action="store_true")
    parser.add_argument("--project", type=int, nargs="*", default=[8, 32])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    report = city(args)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
