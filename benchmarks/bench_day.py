"""The operator-day replay at benchmark sizes: 600 and 2,000 orders.

Run by hand, alone on the machine (PostgreSQL on 127.0.0.1:5432 and
Mosquitto on 127.0.0.1:1883 must run)::

    .venv/bin/python benchmarks/bench_day.py --json day.json

For each size it runs the same code as ``milepost replay --orders N``
(:func:`api.replay.run_replay`: a real ``milepost serve`` on a fresh
database, the day loaded, planned and dispatched through the API, driven by
simulated vans over HTTP and MQTT with the seeded disruptions), prints the
table, and appends one line per run to ``benchmarks/RESULTS.md`` (with
``--results``) under the "Operator-day replay" heading.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from api.replay import DEFAULT_SERVER, ReplayConfig, run_replay
from routing.bench.vrptw import machine

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Operator-day replay (`benchmarks/bench_day.py`)"
COLUMNS = (
    "| date | orders | simulated until | wall s | versions | violations | lost parcels "
    "| events lost / dup | served | on time | ETA MAE min | P10-P90 | re-opts | "
    "re-opt p50 / p95 s | exceptions |\n"
    "|---|--:|---|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|---|--:|\n"
)


def _line(f: dict[str, Any]) -> str:
    events, eta, reopt = f["events"], f["eta"], f["reoptimisations"]

    def num(value: float | None, digits: int = 2) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    today = dt.datetime.now(dt.UTC).date().isoformat()
    return (
        f"| {today} | {f['orders']} | {f['simulated_until']} "
        f"| {f['wall_seconds']:.0f} | {f['plan_versions']} | {f['checker_violations']} "
        f"| {f['parcels_lost']} | {events['lost']} / {events['duplicated']} "
        f"| {f['orders_served']} | {num(f['on_time_share'], 3)} "
        f"| {num(eta['mae_minutes'])} | {num(eta['p10_p90_coverage'], 3)} "
        f"| {reopt['count']} | {num(reopt['p50_seconds'])} / "
        f"{num(reopt['p95_seconds'])} | {f['late_risk']['raised']} |\n"
    )


def _append(lines: list[str]) -> None:
    text = RESULTS.read_text()
    if HEADING not in text:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\nMachine: {machine()}\n\n{COLUMNS}"
    RESULTS.write_text(text + "".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", default="600,2000", help="sizes, comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--until", type=int, help="stop the day at this second")
    parser.add_argument("--plan-seconds", type=float, default=30.0)
    parser.add_argument("--reoptimize-seconds", type=float, default=5.0)
    parser.add_argument("--database-url", default=DEFAULT_SERVER)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--results", action="store_true", help="append the lines to RESULTS.md"
    )
    args = parser.parse_args()
    runs = []
    for n in (int(x) for x in args.orders.split(",")):
        config = ReplayConfig(
            orders=n,
            seed=args.seed,
            until=args.until,
            plan_seconds=args.plan_seconds,
            reoptimize_seconds=args.reoptimize_seconds,
        )
        report = run_replay(
            config,
            server=args.database_url,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
        figures = report.as_dict()
        runs.append(figures)
        print(_line(figures), end="", flush=True)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2, default=str) + "\n")
    if args.results:
        _append([_line(f) for f in runs])


if __name__ == "__main__":
    main()
