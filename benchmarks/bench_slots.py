"""Latency of slot quotes and urgent insertions on a 1,000-order day.

Run by hand, alone on the machine::

    .venv/bin/python benchmarks/bench_slots.py --orders 1000 --quotes 500

Builds a day of the embedded city, plans it with PyVRP, then

* quotes every slot for random customer addresses (``--quotes`` times),
  booking an offered slot after every ``--book-every`` quotes so the plan
  keeps changing, and reports p50 / p95 / max of one quote (all slots of one
  address);
* inserts single urgent orders into the original plan (``--urgent`` times)
  and reports p50 / p95 / max;
* checks the plan kept through the bookings with the checker.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import date
from pathlib import Path

from routing.io import load_json, parse_model, plan_to_json, write_json
from routing.model import Job, Location, Problem, TimeWindow
from routing.plan import Plan
from routing.reoptimise import insert_urgent
from routing.slotting import SlotBook
from routing.solver import SolveParams, check, solve
from routing.travel import HaversineTravel
from scenarios.city import build_city, day_problem

DAY = date(2024, 2, 1)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(values: list[float]) -> dict[str, float]:
    ms = [1000.0 * v for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(_pct(ms, 0.95), 2),
        "max_ms": round(max(ms), 2),
    }


def _quote_and_book(
    slots: SlotBook, places: list[Location], rng: random.Random, book_every: int
) -> tuple[list[float], int]:
    """Quote every place (timed); book a random offered slot every few."""
    quote_times: list[float] = []
    booked = 0
    for k, place in enumerate(places):
        t0 = time.perf_counter()
        quotes = slots.quote(place, DAY)
        quote_times.append(time.perf_counter() - t0)
        offered = [q for q in quotes if q.available]
        if offered and k % book_every == 0:
            slots.book(place, rng.choice(offered).slot.id)
            booked += 1
    return quote_times, booked


def _insert_urgent(
    problem: Problem,
    plan: Plan,
    places: list[Location],
    rng: random.Random,
    travel: HaversineTravel,
) -> tuple[list[float], int]:
    """Insert an urgent order at each place into the plan (timed)."""
    urgent_times: list[float] = []
    inserted = 0
    for k, place in enumerate(places):
        start = rng.randrange(9, 19) * 3600
        order = Job(
            id=f"urgent-{k}",
            location=place,
            demand=(1500, 1),
            service=180,
            time_windows=(TimeWindow(start=start, end=start + 7200),),
        )
        t0 = time.perf_counter()
        result = insert_urgent(plan, problem, order, travel)
        urgent_times.append(time.perf_counter() - t0)
        inserted += result.vehicle is not None
    return urgent_times, inserted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--quotes", type=int, default=500)
    parser.add_argument("--book-every", type=int, default=5)
    parser.add_argument("--urgent", type=int, default=100)
    parser.add_argument("--solve-seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plan-cache", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    travel = HaversineTravel()
    city = build_city(
        seed=args.seed, n_customers=max(2000, 2 * args.orders), end=date(2024, 1, 31)
    )
    problem = day_problem(city, DAY, n_orders=args.orders, seed=args.seed)
    if args.plan_cache is not None and args.plan_cache.is_file():
        plan = parse_model(Plan, load_json(args.plan_cache), str(args.plan_cache))
    else:
        params = SolveParams(engine="pyvrp", time_limit=args.solve_seconds)
        plan = solve(problem, travel=travel, params=params)
        if args.plan_cache is not None:
            write_json(plan_to_json(plan), args.plan_cache)
    print(
        f"day: {len(problem.jobs)} orders, {len(problem.vehicles)} vans, "
        f"plan serves {plan.summary.served} on {plan.summary.routes} routes"
    )

    rng = random.Random(args.seed)
    rows = city.customers.sample(n=args.quotes + args.urgent, random_state=args.seed)
    places = [Location(lat=float(r.lat), lon=float(r.lon)) for r in rows.itertuples()]

    slots = SlotBook(problem, plan, travel)
    quote_times, booked = _quote_and_book(
        slots, places[: args.quotes], rng, args.book_every
    )
    verdict = check(slots.problem, slots.plan(), travel)
    urgent_times, inserted = _insert_urgent(
        problem, plan, places[args.quotes :], rng, travel
    )

    report = {
        "orders": len(problem.jobs),
        "quote": _summary(quote_times),
        "bookings": booked,
        "plan_after_bookings": str(verdict),
        "urgent_insertion": _summary(urgent_times),
        "urgent_inserted": inserted,
    }
    print(json.dumps(report, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
