"""Simulated days: time per day at two sizes, and sweep throughput by workers.

Run by hand, alone on the machine::

    .venv/bin/python benchmarks/bench_simulate.py --json simulate.json

* one simulated day of the embedded city (``scenarios/library/baseline.toml``
  with ``--orders`` changed) at 500 and 2,000 orders: wall seconds, and the
  solve's share;
* a sweep of ``--units`` replications of the baseline with 1 and with 2
  worker processes: days per minute and parallel efficiency
  (``t1 / (2 * t2)``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from routing.bench.vrptw import machine
from scenarios.spec import LIBRARY, load_scenario
from scenarios.sweep import run_sweep, run_unit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="500,2000")
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--sweep-orders", type=int, default=500)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    base = load_scenario(LIBRARY / "baseline.toml")
    report: dict[str, Any] = {
        "machine": machine(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "iterations": base.iterations,
        "days": [],
    }
    for size in (int(s) for s in args.sizes.split(",")):
        scenario = base.model_copy(update={"orders": size})
        t0 = time.perf_counter()
        kpis = run_unit(scenario.model_dump(mode="json"), 0)
        seconds = time.perf_counter() - t0
        row = {
            "orders": size,
            "seconds": round(seconds, 1),
            "solve_seconds": kpis["solve_seconds"],
            "served": kpis["served"],
            "on_time_rate": kpis["on_time_rate"],
        }
        report["days"].append(row)
        print(row, flush=True)
    scenario = base.model_copy(
        update={"orders": args.sweep_orders, "replications": args.units}
    )
    # Warm the city cache of this process out of the timing.
    run_unit(scenario.model_dump(mode="json"), 0)
    times = {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        run_sweep([scenario], workers=workers)
        times[workers] = time.perf_counter() - t0
        print(f"{workers} worker(s): {times[workers]:.1f} s", flush=True)
    report["sweep"] = {
        "units": args.units,
        "orders": args.sweep_orders,
        "seconds_1": round(times[1], 1),
        "seconds_2": round(times[2], 1),
        "days_per_minute_1": round(60 * args.units / times[1], 2),
        "days_per_minute_2": round(60 * args.units / times[2], 2),
        "efficiency": round(times[1] / (2 * times[2]), 3),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
