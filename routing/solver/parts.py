"""Parts of a day: a problem restricted to some vehicles and orders, and the
checker run part by part.

:func:`subproblem` is how the decomposition (:mod:`routing.solver.decompose`)
cuts a day; :func:`verify` is the checker's verdict on a whole plan, in
chunks of routes when the day is too large for one travel matrix, for every
engine whose plan the model alone does not vouch for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from routing.model import (
    Depot,
    Job,
    Location,
    Matrices,
    Order,
    PickupStation,
    Problem,
    Shipment,
    Vehicle,
)
from routing.plan import Plan, Route, StepType
from routing.solver.check import CheckResult, check, check_coverage
from routing.solver.insertion import assemble
from routing.travel import TravelModel

__all__ = [
    "CHECK_AT_ONCE",
    "CHECK_CHUNK",
    "Matrix",
    "Part",
    "restore",
    "subproblem",
    "verify",
]

#: Up to this many places the plan is verified with one travel matrix.
CHECK_AT_ONCE = 3000
#: Orders per chunk when verifying larger plans route by route.
CHECK_CHUNK = 600


# -- sub-problems ------------------------------------------------------------------


class Matrix:
    """The problem's own matrices as arrays, for sub-matrices per part."""

    def __init__(self, problem: Problem) -> None:
        m = problem.matrices
        assert m is not None
        self.durations = np.asarray(m.durations, dtype=np.int64)
        dist = m.distances if m.distances is not None else m.durations
        self.distances = (
            self.durations if dist is m.durations else np.asarray(dist, dtype=np.int64)
        )
        self.same = dist is m.durations


@dataclass(frozen=True)
class Part:
    """A part's problem and how its places map back to the whole problem."""

    problem: Problem
    back: dict[int, Location] | None  # local matrix index -> original location


def subproblem(
    problem: Problem,
    vehicles: Sequence[int],
    order_ids: Iterable[str],
    orders: Mapping[str, Order],
    matrix: Matrix | None,
) -> Part:
    """The problem restricted to some vehicles and orders.

    With user matrices, the part gets its own sub-matrices and local indices.
    """
    chosen = [orders[o] for o in order_ids]
    vs = [problem.vehicles[v] for v in vehicles]
    depot_ids = {v.start for v in vs} | {v.end for v in vs}
    depot_ids |= {o.depot for o in chosen if o.depot is not None}
    depots = tuple(d for d in problem.depots if d.id in depot_ids) or problem.depots[:1]
    station_ids = {o.station for o in chosen if isinstance(o, Job) and o.station}
    stations = tuple(s for s in problem.stations if s.id in station_ids)
    jobs = tuple(o for o in chosen if isinstance(o, Job))
    shipments = tuple(o for o in chosen if isinstance(o, Shipment))
    if matrix is None:
        sub = problem.model_copy(
            update={
                "depots": depots,
                "stations": stations,
                "vehicles": tuple(vs),
                "jobs": jobs,
                "shipments": shipments,
            }
        )
        return Part(sub, None)
    return _with_local_matrix(
        problem, matrix, depots, stations, tuple(vs), jobs, shipments
    )


def _with_local_matrix(
    problem: Problem,
    matrix: Matrix,
    depots: tuple[Depot, ...],
    stations: tuple[PickupStation, ...],
    vehicles: tuple[Vehicle, ...],
    jobs: tuple[Job, ...],
    shipments: tuple[Shipment, ...],
) -> Part:
    """A part with its own sub-matrices: its places get local indices."""
    used: dict[int, int] = {}
    back: dict[int, Location] = {}

    def local(loc: Location) -> Location:
        assert loc.index is not None
        if loc.index not in used:
            used[loc.index] = len(used)
            back[used[loc.index]] = loc
        return loc.model_copy(update={"index": used[loc.index]})

    depots = tuple(d.model_copy(update={"location": local(d.location)}) for d in depots)
    stations = tuple(
        s.model_copy(update={"location": local(s.location)}) for s in stations
    )
    new_jobs = tuple(
        j
        if j.location is None
        else j.model_copy(update={"location": local(j.location)})
        for j in jobs
    )
    new_ships = tuple(
        s.model_copy(
            update={
                "pickup": s.pickup.model_copy(
                    update={"location": local(s.pickup.location)}
                ),
                "delivery": s.delivery.model_copy(
                    update={"location": local(s.delivery.location)}
                ),
            }
        )
        for s in shipments
    )
    idx = np.fromiter(used, dtype=np.int64, count=len(used))
    grid = np.ix_(idx, idx)
    durations = tuple(map(tuple, matrix.durations[grid].tolist()))
    distances = (
        None if matrix.same else tuple(map(tuple, matrix.distances[grid].tolist()))
    )
    sub = problem.model_copy(
        update={
            "matrices": Matrices.model_construct(
                durations=durations, distances=distances
            ),
            "depots": depots,
            "stations": stations,
            "vehicles": vehicles,
            "jobs": new_jobs,
            "shipments": new_ships,
        }
    )
    return Part(sub, back)


def restore(route: Route, back: Mapping[int, Location] | None) -> Route:
    """A part's route with the whole problem's locations."""
    if back is None:
        return route
    steps = tuple(
        s
        if s.location is None or s.location.index is None
        else s.model_copy(update={"location": back[s.location.index]})
        for s in route.steps
    )
    return route.model_copy(update={"steps": steps})


# -- verification ---------------------------------------------------------------


def verify(
    problem: Problem,
    plan: Plan,
    travel: TravelModel,
    *,
    at_once: int = CHECK_AT_ONCE,
    chunk_orders: int = CHECK_CHUNK,
) -> CheckResult:
    """The checker's verdict, in chunks of routes when the day is large.

    Routes are independent given the travel model, so checking them in
    chunks (each chunk a problem of its vehicles and orders) finds the same
    violations as one check; coverage and totals are checked over the whole
    plan here.
    """
    n_places = len(problem.depots) + len(problem.stations)
    n_places += sum(1 for j in problem.jobs if j.location is not None)
    n_places += 2 * len(problem.shipments)
    if n_places <= at_once:
        return check(problem, plan, travel)
    result = CheckResult()
    orders = {o.id: o for o in problem.orders}
    vindex = {v.id: k for k, v in enumerate(problem.vehicles)}
    chunk: list[Route] = []
    size = 0

    def flush() -> None:
        nonlocal chunk, size
        if not chunk:
            return
        ids = [s.id for r in chunk for s in r.steps if s.id in orders]
        vs = [vindex[r.vehicle] for r in chunk if r.vehicle in vindex]
        sub = subproblem(problem, vs, dict.fromkeys(ids), orders, None)
        sub_plan = assemble(sub.problem, chunk, (), engine=plan.engine, seconds=0.0)
        part = check(sub.problem, sub_plan, travel)
        result.violations.extend(part.violations)
        result.distance += part.distance
        result.duration += part.duration
        result.served += part.served
        chunk, size = [], 0

    for r in plan.routes:
        if r.vehicle not in vindex:
            result.add("vehicle", f"unknown vehicle {r.vehicle}")
            continue
        chunk.append(r)
        size += r.orders
        if size >= chunk_orders:
            flush()
    flush()
    # The chunks check routes only: coverage and totals over the whole plan.
    seen = Counter(
        s.id
        for r in plan.routes
        for s in r.steps
        if s.type in (StepType.JOB, StepType.DELIVERY) and s.id is not None
    )
    check_coverage(plan, orders, seen, result)
    return result
