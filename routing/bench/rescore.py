"""Re-score VRPTW route lists in double precision, without the solver.

The SINTEF (hierarchical) convention measures distance as the Euclidean
distance of the integer coordinates in IEEE doubles, travel time = distance,
service starts within [ready, due], early arrival waits, and the van is back
at the depot by the depot's due date. This module reads the instance text
itself and walks the routes with exactly those rules, so a benchmark's route
lists can be judged by something that shares no code with the planner or
its checker (:func:`routing.solver.check`). It needs only the standard
library; ``python -m routing.bench.rescore INSTANCE.txt ROUTES.sol`` prints
the verdict of a solution file written by ``milepost bench routing
--routes-dir``.

A solution file has one line per route, ``Route #k: c1 c2 ...`` with customer
numbers as in the instance (depot 0 omitted), as CVRPLIB ``.sol`` files.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Customer:
    """One row of the instance: place, demand, window and service time."""

    x: float
    y: float
    demand: float
    ready: float
    due: float
    service: float


@dataclass(frozen=True)
class Instance:
    """The depot (row 0), the customers by number, capacity and fleet size."""

    name: str
    vehicles: int
    capacity: float
    rows: dict[int, Customer]


def read_instance(path: str | Path) -> Instance:
    """A Solomon / Gehring-Homberger instance file."""
    lines = [ln.strip() for ln in Path(path).read_text().splitlines()]
    name = next(ln for ln in lines if ln)
    k = next(i for i, ln in enumerate(lines) if ln.upper().startswith("NUMBER"))
    vehicles, capacity = (float(v) for v in lines[k + 1].split()[:2])
    start = next(i for i, ln in enumerate(lines) if ln.upper().startswith("CUST NO"))
    rows: dict[int, Customer] = {}
    for ln in lines[start + 1 :]:
        parts = ln.split()
        if len(parts) < 7 or not parts[0].isdigit():
            continue
        no, x, y, demand, ready, due, service = (float(p) for p in parts[:7])
        rows[int(no)] = Customer(x, y, demand, ready, due, service)
    return Instance(name, int(vehicles), capacity, rows)


def read_routes(path: str | Path) -> list[list[int]]:
    """The routes of a ``Route #k: ...`` solution file."""
    routes = []
    for ln in Path(path).read_text().splitlines():
        if ln.strip().lower().startswith("route"):
            routes.append([int(c) for c in ln.split(":", 1)[1].split()])
    return routes


def write_routes(
    path: str | Path, routes: Sequence[Sequence[int]], cost: float
) -> None:
    """A solution file: one ``Route #k:`` line per route and the distance."""
    lines = [
        f"Route #{k}: {' '.join(str(c) for c in route)}"
        for k, route in enumerate(routes, start=1)
    ]
    Path(path).write_text("\n".join([*lines, f"Cost {cost:.4f}"]) + "\n")


@dataclass(frozen=True)
class Verdict:
    """The distance in doubles, the route count and every rule broken."""

    distance: float
    routes: int
    arcs: int
    violations: tuple[str, ...]

    @property
    def feasible(self) -> bool:
        return not self.violations


def rescore(instance: Instance, routes: Sequence[Sequence[int]]) -> Verdict:
    """Walk ``routes`` (empty ones ignored) under the SINTEF rules."""
    depot = instance.rows[0]
    seen: dict[int, int] = {}
    problems: list[str] = []
    total = 0.0
    arcs = 0
    used = [list(r) for r in routes if r]
    for k, route in enumerate(used, start=1):
        t, load, here = depot.ready, 0.0, depot
        for c in route:
            if c == 0 or c not in instance.rows:
                problems.append(f"route {k}: {c} is no customer")
                continue
            seen[c] = seen.get(c, 0) + 1
            row = instance.rows[c]
            leg = math.hypot(row.x - here.x, row.y - here.y)
            total += leg
            arcs += 1
            t = max(t + leg, row.ready)
            if t > row.due:
                problems.append(f"route {k}: customer {c} starts {t:.4f} > {row.due:g}")
            t += row.service
            load += row.demand
            here = row
        leg = math.hypot(depot.x - here.x, depot.y - here.y)
        total += leg
        arcs += 1
        if t + leg > depot.due:
            problems.append(f"route {k}: back {t + leg:.4f} > {depot.due:g}")
        if load > instance.capacity:
            problems.append(f"route {k}: load {load:g} > {instance.capacity:g}")
    missing = [c for c in instance.rows if c != 0 and c not in seen]
    twice = [c for c, n in seen.items() if n > 1]
    if missing:
        problems.append(f"{len(missing)} customer(s) not visited, e.g. {missing[:3]}")
    if twice:
        problems.append(f"customer(s) visited more than once: {twice[:3]}")
    if len(used) > instance.vehicles:
        problems.append(f"{len(used)} routes > {instance.vehicles} vehicles")
    return Verdict(total, len(used), arcs, tuple(problems))


def main(argv: Sequence[str]) -> int:
    """``INSTANCE ROUTES``: print the verdict as JSON; exit 1 if infeasible."""
    if len(argv) != 2:
        sys.stderr.write("usage: python -m routing.bench.rescore INSTANCE ROUTES\n")
        return 2
    verdict = rescore(read_instance(argv[0]), read_routes(argv[1]))
    doc = {
        "routes": verdict.routes,
        "distance": round(verdict.distance, 4),
        "feasible": verdict.feasible,
        "violations": list(verdict.violations),
    }
    sys.stdout.write(json.dumps(doc) + "\n")
    return 0 if verdict.feasible else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
