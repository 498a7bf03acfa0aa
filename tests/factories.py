"""Small problem builders for tests: hand-checkable and seeded-random ones."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from routing.model import Problem
from routing.plan import Plan
from routing.solver import check
from routing.solver.data import build_data
from routing.solver.solve import plan_from_sequences
from routing.solver.timeline import BreakVisit
from routing.travel import HaversineTravel

SPEED = 10  # metres per second on the test grids


def grid_problem(
    coords: Sequence[tuple[int, int]],
    jobs: Sequence[dict[str, Any]],
    vehicles: Sequence[dict[str, Any]],
    **extra: Any,
) -> Problem:
    """A problem on a Manhattan grid given by ``coords`` (metres).

    ``coords[0]`` is the depot ``d``. Jobs and vehicles are partial dicts;
    a job's ``at`` key is its coordinate index. Travel is Manhattan distance
    at :data:`SPEED`.
    """
    n = len(coords)
    dist = [[abs(a[0] - b[0]) + abs(a[1] - b[1]) for b in coords] for a in coords]
    dur = [[d // SPEED for d in row] for row in dist]
    data: dict[str, Any] = {
        "depots": [{"id": "d", "location": {"index": 0}}],
        "vehicles": [
            {"start": "d", "end": "d", "capacity": [100], "shift": [0, 100_000], **v}
            for v in vehicles
        ],
        "jobs": [
            {
                "demand": [1],
                **{k: v for k, v in j.items() if k != "at"},
                "location": {"index": j["at"]},
            }
            for j in jobs
        ],
        "matrices": {"durations": dur, "distances": dist},
        **extra,
    }
    assert n == len(dur)
    return Problem.model_validate(data)


def brute_force(problem: Problem) -> tuple[int, Plan] | None:
    """Shortest feasible plan serving every order, by enumeration.

    Tries every assignment of orders to vehicles, every visiting order of each
    route's nodes (shipments contribute two) and every position of a
    vehicle's break; use with at most ~7 nodes and 2 vehicles.
    """
    data = build_data(problem, HaversineTravel())
    travel = HaversineTravel()
    orders = [o.id for o in problem.orders]
    n_veh = len(problem.vehicles)
    best: tuple[int, Plan] | None = None
    for assign in itertools.product(range(n_veh), repeat=len(orders)):
        per_vehicle = []
        for v in range(n_veh):
            nodes = [
                n
                for oid, k in zip(orders, assign, strict=True)
                if k == v
                for n in data.order_nodes[oid]
            ]
            options: list[list[Any]] = []
            for perm in itertools.permutations(nodes):
                if not problem.vehicles[v].breaks or not perm:
                    options.append(list(perm))
                    continue
                for pos in range(len(perm) + 1):
                    options.append([*perm[:pos], BreakVisit(0), *perm[pos:]])
            per_vehicle.append(options)
        for seqs in itertools.product(*per_vehicle):
            plan = plan_from_sequences(
                data,
                list(seqs),
                dropped=[],
                impossible=[],
                engine="brute",
                seconds=0,
            )
            if best is not None and plan.summary.distance >= best[0]:
                continue
            if check(problem, plan, travel).ok:
                best = (plan.summary.distance, plan)
    return best


def random_problem(seed: int, n_jobs: int = 25, n_vehicles: int = 4) -> Problem:
    """A seeded random Seoul-sized day with windows, returns and a break."""
    rng = np.random.default_rng(seed)
    jobs = []
    for i in range(n_jobs):
        start = int(rng.integers(9, 18)) * 3600
        windows: list[list[int]] = []
        if rng.random() < 0.7:
            windows = [[start, start + 7200]]
        if rng.random() < 0.15:
            windows = [[9 * 3600, 11 * 3600], [17 * 3600, 19 * 3600]]
        jobs.append(
            {
                "id": f"j{i}",
                "type": "pickup" if rng.random() < 0.15 else "delivery",
                "location": {
                    "lat": float(37.55 + rng.normal(0, 0.03)),
                    "lon": float(127.0 + rng.normal(0, 0.04)),
                },
                "demand": [int(rng.integers(500, 20_000)), int(rng.integers(1, 4))],
                "service": int(rng.integers(60, 300)),
                "time_windows": windows,
            }
        )
    vehicles = []
    for v in range(n_vehicles):
        vehicle: dict[str, Any] = {
            "id": f"v{v}",
            "start": "a" if v % 2 == 0 else "b",
            "end": "a" if v % 2 == 0 else "b",
            "capacity": [150_000, 30],
            "shift": [8 * 3600, 20 * 3600],
            "costs": {"fixed": 50_000, "per_km": 300, "per_hour": 15_000},
        }
        if v == 0:
            vehicle["breaks"] = [
                {
                    "id": "lunch",
                    "time_windows": [[12 * 3600, 14 * 3600]],
                    "service": 1800,
                }
            ]
        vehicles.append(vehicle)
    shipments = [
        {
            "id": f"s{k}",
            "demand": [2000, 1],
            "pickup": {
                "location": {
                    "lat": float(37.55 + rng.normal(0, 0.03)),
                    "lon": float(127.0 + rng.normal(0, 0.04)),
                },
                "service": 120,
            },
            "delivery": {
                "location": {
                    "lat": float(37.55 + rng.normal(0, 0.03)),
                    "lon": float(127.0 + rng.normal(0, 0.04)),
                },
                "service": 120,
                "time_windows": [[13 * 3600, 19 * 3600]],
            },
        }
        for k in range(2)
    ]
    return Problem.model_validate(
        {
            "depots": [
                {"id": "a", "location": {"lat": 37.56, "lon": 126.90}},
                {"id": "b", "location": {"lat": 37.51, "lon": 127.10}},
            ],
            "vehicles": vehicles,
            "jobs": jobs,
            "shipments": shipments,
        }
    )
