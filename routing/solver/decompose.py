"""Large problems: split, solve the parts in parallel, improve across the seams.

A day of thousands of orders is too big to hand to one engine in one piece:
the dense data alone is ``N x N`` per travel band, and the engines are
strongest on a few hundred stops. :func:`solve_large` therefore

1. **splits** the orders into groups that share vehicles (by depot and shift
   type: the connected components of "this vehicle may carry this order"),
   then each group by an angular sweep around its depot into parts of about
   ``part_size`` orders, starting the sweep at the widest empty angle;
2. gives each part a share of its group's vehicles in proportion to its
   orders and demand, dealing early and late shifts alternately so every part
   gets both;
3. **solves** the parts in a pool of ``workers`` processes, or as tasks on a
   Dask cluster (``scheduler``, :mod:`routing.solver.pool`: the same
   submissions either way), each with PyVRP when its model fits and OR-Tools
   otherwise, each on its own small problem (per-part travel matrices; a
   problem with user matrices gets sub-matrices and local indices), and
   judges each part's plan with the checker; a part whose worker died or that
   raised is named in :attr:`LargeResult.failures` and its orders are left to
   the rescue;
4. **improves across the seams**: clusters of neighbouring routes (by the
   angle of their centre around the depot, with the cluster boundaries
   shifted every round so that each round straddles the previous seams) are
   solved again together with a share of the unused vehicles, and a
   cluster's new routes replace the old ones only when they pass the checker
   and are better;
5. inserts what the parts dropped into any route with room (cheapest
   feasible insertion, :mod:`routing.solver.insertion`), assembles one plan, and
   verifies it with :func:`~routing.solver.check.check` (in chunks of routes
   when the whole problem is too large for one travel matrix).

A search bounded by :attr:`~routing.solver.SolveParams.iterations` stops
its parts there and improves the seams :data:`BOUNDED_ROUNDS` times (or
``LargeParams.rounds``): the same day and seed then give the same plan on
local processes and on a cluster, as long as the time limit does not end
the search first.

No ``N x N`` matrix of the whole day is ever built for problems given by
coordinates; problems that bring their own matrices hold them anyway.
Without coordinates, the sweep uses a planar embedding of the travel matrix
(classical multidimensional scaling) or the ``coordinates`` the caller passes.
"""

from __future__ import annotations

import math
import resource
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from routing.access import road_access
from routing.model import (
    Job,
    Location,
    Order,
    Problem,
)
from routing.plan import Plan, Reason, Route, StepType, Unassigned
from routing.solver.check import CheckResult, check
from routing.solver.data import build_data, incompatibility
from routing.solver.engines import solve_one
from routing.solver.insertion import OPEN_VAN, LivePlan, assemble
from routing.solver.params import (
    ProgressCallback,
    SolveParams,
    fewest_vans,
    plan_reserve,
    usable_cores,
)
from routing.solver.parts import Matrix, Part, restore, subproblem, verify
from routing.solver.pool import PartPool, Pending, open_pool
from routing.solver.precheck import precheck
from routing.travel import HaversineTravel, TravelModel, plan_travel_spec

#: Orders per part: where PyVRP and OR-Tools are strong within seconds.
PART_SIZE = 200
#: Share of the time limit spent solving the first split.
PARTS_SHARE = 0.5
#: Up to this many orders the first pass solves the whole problem instead
#: (the engines are still strong here), in ``whole_runs`` processes with
#: different seeds: one by default, because on the reference machine two
#: engine processes share a core's throughput (1.2x of one, not 2x).
WHOLE_MAX = 1500
#: Share of the time limit the whole-problem first pass gets (seams would be
#: improved in the rest): all of it. On matrix-only problems PyVRP searches
#: the same path as on the instance file (same seed, same moves), so the
#: whole pass then ends where PyVRP alone would for the same wall time, less
#: the few seconds kept for the check; on Gehring-Homberger 1000 (300 s,
#: 2026-12-03) 70% of the time left C2_10_1 at 32 routes where PyVRP alone
#: reached 30 (benchmarks/RESULTS.md).
WHOLE_SHARE = 1.0
#: Seconds a part or cluster may overrun its limit (process and transfer).
OVERHEAD = 0.5
#: Improvement rounds of a search bounded by iterations (without
#: ``LargeParams.rounds``): the clock must not decide how many there are.
BOUNDED_ROUNDS = 3

_FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LargeParams:
    """How :func:`solve_large` splits and spends its time.

    ``workers`` is how many parts are solved at once: the split makes a
    multiple of it, and the parts share the time limit in waves of it. On a
    cluster give the cluster's worker count; the same ``workers`` splits a
    day the same way on a cluster and on local processes. ``scheduler`` is a
    Dask scheduler address (``"local"``: a ``LocalCluster`` of ``workers``
    processes for this solve; :mod:`routing.solver.pool`). ``rounds`` caps
    the improvement rounds (``None``: as many as the time allows, or
    :data:`BOUNDED_ROUNDS` when the search is bounded by iterations).
    """

    part_size: int = PART_SIZE
    workers: int = 2
    scheduler: str | None = None
    rounds: int | None = None
    parts_share: float = PARTS_SHARE
    improve: bool = True
    whole_max: int = WHOLE_MAX
    whole_share: float = WHOLE_SHARE
    whole_runs: int = 1
    cluster_size: int | None = None
    cluster_seconds: float | None = None


@dataclass
class LargeResult:
    """A large solve's plan and what it took.

    ``seconds`` holds the wall time per phase, ``peak_rss_mib`` the peak
    resident memory of this process, ``peak_worker_rss_mib`` that of the
    largest worker process and ``peak_rss_by_process`` each process's (on a
    cluster: the scheduler and every worker). ``where`` says where the parts
    ran; ``failures`` names each part or cluster whose worker died or that
    raised, with the reason (its orders went to the rescue).
    ``task_seconds`` holds the seconds each task took in its worker, in
    submission order: the first pass's ``"parts"``, each improvement round's
    clusters (``"round 1"``, ...).
    """

    plan: Plan
    verdict: CheckResult
    parts: int
    rounds: int
    improved: int
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mib: float = 0.0
    peak_worker_rss_mib: float = 0.0
    peak_rss_by_process: dict[str, float] = field(default_factory=dict)
    where: str = ""
    failures: list[str] = field(default_factory=list)
    task_seconds: dict[str, list[float]] = field(default_factory=dict)


def solve_large(
    problem: Problem,
    *,
    params: SolveParams | None = None,
    travel: TravelModel | None = None,
    part_size: int = PART_SIZE,
    workers: int = 2,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
    coordinates: Sequence[tuple[float, float]] | None = None,
) -> Plan:
    """Plan a large problem within ``params.time_limit`` seconds of wall time.

    Parameters
    ----------
    problem
        The day (or benchmark instance).
    params
        ``time_limit`` (the whole budget), ``seed`` and ``objective`` are used;
        the engine per part is chosen here.
    travel
        Travel model for problems without matrices (default haversine).
    part_size
        Orders per part.
    workers
        Processes solving parts at once (one per core).
    scheduler
        A Dask scheduler address to solve the parts on (``"local"``: a
        ``LocalCluster`` of ``workers`` processes); ``None``: local
        processes (:mod:`routing.solver.pool`).
    progress
        Called with ``(phase, seconds, objective)`` after each phase and
        each accepted improvement.
    coordinates
        Planar coordinates by matrix index, for problems whose locations
        have only an index (e.g. Solomon files).

    Returns
    -------
    Plan
        Verified by the checker (see :func:`decompose_solve` for the verdict).
    """
    return decompose_solve(
        problem,
        params=params,
        travel=travel,
        large=LargeParams(part_size=part_size, workers=workers, scheduler=scheduler),
        progress=progress,
        coordinates=coordinates,
    ).plan


# -- partition ----------------------------------------------------------------


@dataclass
class _Group:
    """Vehicles and the orders only they can carry."""

    vehicles: list[int]
    orders: list[str]
    centre: tuple[float, float]


def _order_key(order: Order) -> tuple[object, ...]:
    job = isinstance(order, Job)
    return (
        order.skills,
        order.service_level.value == "night",
        order.depot if job else None,
        order.type if isinstance(order, Job) and order.depot is not None else None,
    )


def _vehicle_key(problem: Problem, v: int) -> tuple[object, ...]:
    vehicle = problem.vehicles[v]
    return (vehicle.skills, vehicle.night, vehicle.start, vehicle.end)


def _groups(
    problem: Problem, xy: Mapping[str, tuple[float, float]], depot_xy: dict[str, Any]
) -> tuple[list[_Group], list[str]]:
    """Connected components of the vehicle-order compatibility graph.

    Returns the groups and the orders no vehicle can carry.
    """
    order_rep: dict[tuple[object, ...], Order] = {}
    order_keys: dict[str, tuple[object, ...]] = {}
    for o in problem.orders:
        key = _order_key(o)
        order_rep.setdefault(key, o)
        order_keys[o.id] = key
    veh_keys: dict[tuple[object, ...], list[int]] = {}
    for v in range(len(problem.vehicles)):
        veh_keys.setdefault(_vehicle_key(problem, v), []).append(v)
    parent: dict[object, object] = {}

    def find(x: object) -> object:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    compatible_any: set[tuple[object, ...]] = set()
    for okey, rep in order_rep.items():
        for vkey, members in veh_keys.items():
            vehicle = problem.vehicles[members[0]]
            if incompatibility(vehicle, rep) is None:
                parent[find(("o", okey))] = find(("v", vkey))
                compatible_any.add(okey)
    comps: dict[object, _Group] = {}
    for vkey, members in veh_keys.items():
        root = find(("v", vkey))
        comps.setdefault(root, _Group([], [], (0.0, 0.0))).vehicles.extend(members)
    orphans: list[str] = []
    for o in problem.orders:
        okey = order_keys[o.id]
        if okey not in compatible_any:
            orphans.append(o.id)
            continue
        comps[find(("o", okey))].orders.append(o.id)
    groups = [g for g in comps.values() if g.orders]
    for g in groups:
        g.vehicles.sort()
        starts = Counter(
            s for v in g.vehicles if (s := problem.vehicles[v].start) is not None
        )
        top = starts.most_common(1)[0][0] if starts else None
        if top is not None and top in depot_xy:
            g.centre = depot_xy[top]
        else:
            pts = np.array([xy[o] for o in g.orders])
            g.centre = (float(pts[:, 0].mean()), float(pts[:, 1].mean()))
    return groups, orphans


def _angles(
    ids: Sequence[str],
    xy: Mapping[str, tuple[float, float]],
    centre: tuple[float, float],
) -> _FloatArray:
    pts = np.array([xy[o] for o in ids], dtype=np.float64).reshape(-1, 2)
    return np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])


def sweep(angles: _FloatArray, k: int) -> list[list[int]]:
    """Split points into ``k`` arcs of about equal count.

    The sweep starts at the widest empty angle, so no natural cluster is cut
    at the seam between the last arc and the first.
    """
    n = len(angles)
    if k <= 1 or n <= 1:
        return [list(range(n))]
    order = np.argsort(angles, kind="stable")
    sorted_a = angles[order]
    gaps = np.diff(np.concatenate([sorted_a, sorted_a[:1] + 2 * math.pi]))
    first = (int(np.argmax(gaps)) + 1) % n
    rolled = np.roll(order, -first)
    bounds = [round(i * n / k) for i in range(k + 1)]
    return [rolled[bounds[i] : bounds[i + 1]].tolist() for i in range(k)]


def _part_counts(groups: Sequence[_Group], large: LargeParams) -> list[int]:
    """Parts per group: about ``part_size`` orders each, and a multiple of
    the workers in total when there are more parts than workers (so no
    worker idles through the last wave)."""
    counts = [
        max(1, min(len(g.vehicles), round(len(g.orders) / large.part_size)))
        for g in groups
    ]
    workers = max(1, large.workers)
    total = sum(counts)
    if total > workers and total % workers:
        for _ in range(workers - total % workers):
            i = max(
                range(len(groups)),
                key=lambda k: (len(groups[k].orders) / (counts[k] + 1), -k),
            )
            if counts[i] + 1 > len(groups[i].vehicles):
                break
            counts[i] += 1
    return counts


def _quotas(weights: Sequence[float], total: int) -> list[int]:
    """Largest-remainder integer split of ``total`` by ``weights``, each >= 1."""
    k = len(weights)
    if total < k:
        raise ValueError("fewer vehicles than parts")
    s = sum(weights) or 1.0
    raw = [total * w / s for w in weights]
    out = [max(1, math.floor(r)) for r in raw]
    while sum(out) > total:
        i = max(range(k), key=lambda j: (out[j] - raw[j], out[j]))
        out[i] -= 1
    while sum(out) < total:
        i = max(range(k), key=lambda j: raw[j] - out[j])
        out[i] += 1
    return out


def _deal(
    problem: Problem, vehicles: Sequence[int], quotas: Sequence[int]
) -> list[list[int]]:
    """Vehicles to parts by quota, alternating shifts so each part gets a mix."""
    ordered = sorted(
        vehicles,
        key=lambda v: (
            problem.vehicles[v].shift.start,
            problem.vehicles[v].shift.end,
            problem.vehicles[v].capacity,
            v,
        ),
    )
    parts: list[list[int]] = [[] for _ in quotas]
    for v in ordered:
        p = max(
            range(len(quotas)),
            key=lambda i: ((quotas[i] - len(parts[i])) / quotas[i], -i),
        )
        parts[p].append(v)
    return parts


def _weights(
    orders: Mapping[str, Order], parts: Sequence[Sequence[str]]
) -> list[float]:
    """Each part's share of vehicles: the larger of its stop and demand shares."""
    n = sum(len(p) for p in parts) or 1
    dims = len(next(iter(orders.values())).demand) if orders else 0
    totals = [sum(orders[o].demand[d] for p in parts for o in p) for d in range(dims)]
    out = []
    for p in parts:
        shares = [len(p) / n]
        for d in range(dims):
            if totals[d]:
                shares.append(sum(orders[o].demand[d] for o in p) / totals[d])
        out.append(max(shares))
    return out


# -- coordinates ----------------------------------------------------------------


def _planar(
    problem: Problem, coordinates: Sequence[tuple[float, float]] | None
) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """A planar point per order and per depot, for the sweep."""

    def order_loc(o: Order) -> Location:
        if isinstance(o, Job):
            return problem.job_location(o)
        return o.delivery.location

    locs = [order_loc(o) for o in problem.orders]
    depot_locs = [d.location for d in problem.depots]
    every = locs + depot_locs
    if all(loc.has_coordinates for loc in every):
        lat0 = float(np.mean([loc.lat for loc in every]))
        scale = math.cos(math.radians(lat0))

        def pt(loc: Location) -> tuple[float, float]:
            assert loc.lat is not None and loc.lon is not None
            return (loc.lon * scale, loc.lat)

    else:
        table = _embedding(problem, every, coordinates)

        def pt(loc: Location) -> tuple[float, float]:
            assert loc.index is not None
            return table[loc.index]

    xy = {o.id: pt(loc) for o, loc in zip(problem.orders, locs, strict=True)}
    depot_xy = {d.id: pt(d.location) for d in problem.depots}
    return xy, depot_xy


def _embedding(
    problem: Problem,
    locs: Sequence[Location],
    coordinates: Sequence[tuple[float, float]] | None,
) -> dict[int, tuple[float, float]]:
    """Matrix index -> plane: the caller's coordinates, else classical MDS."""
    indices = sorted({loc.index for loc in locs if loc.index is not None})
    if coordinates is not None:
        return {
            i: (float(coordinates[i][0]), float(coordinates[i][1])) for i in indices
        }
    if problem.matrices is None or len(indices) > 4000:
        return {i: (float(i), 0.0) for i in indices}
    full = np.asarray(problem.matrices.durations, dtype=np.float64)
    d = full[np.ix_(indices, indices)]
    d = (d + d.T) / 2.0
    n = len(indices)
    j = np.eye(n) - np.full((n, n), 1.0 / n)
    b = -0.5 * j @ (d * d) @ j
    values, vectors = np.linalg.eigh(b)
    top = np.argsort(values)[::-1][:2]
    coords = vectors[:, top] * np.sqrt(np.maximum(values[top], 0.0))
    return {
        i: (float(coords[k, 0]), float(coords[k, 1])) for k, i in enumerate(indices)
    }


# -- workers ------------------------------------------------------------------------

_TRAVEL: TravelModel | None = None


def _init_worker(travel: TravelModel) -> None:
    global _TRAVEL
    _TRAVEL = travel


@dataclass(frozen=True)
class _Outcome:
    plan: Plan | None
    feasible: bool
    engine: str
    error: str = ""
    seconds: float = 0.0  # in the worker, solve and check


def _solve_part(
    sub: Problem, params: SolveParams, travel: TravelModel | None = None
) -> _Outcome:
    """Worker: solve one part (PyVRP when its model fits) and check it.

    ``travel`` comes with the part on a cluster (scattered once per solve);
    local processes got it from the fork.
    """
    travel = travel or _TRAVEL or HaversineTravel()
    t0 = time.perf_counter()
    try:
        try:
            plan = solve_one(sub, "pyvrp", travel=travel, params=params)
        except ValueError:  # outside PyVRP's model: OR-Tools takes it
            plan = solve_one(sub, "ortools", travel=travel, params=params)
        verdict = check(sub, plan, travel)
        seconds = time.perf_counter() - t0
        return _Outcome(plan, verdict.ok, plan.engine, seconds=seconds)
    except Exception as exc:  # a failed part must not end the day
        error = f"{type(exc).__name__}: {exc}"
        return _Outcome(None, False, "", error, time.perf_counter() - t0)


# -- the solve ------------------------------------------------------------------------


def _value(
    routes: Iterable[Route],
    unserved: Iterable[str],
    orders: Mapping[str, Order],
    by_cost: bool,
    problem: Problem,
    *,
    vans: bool = False,
) -> tuple[float, float]:
    """Comparable value of some routes: (unserved, cost) or (unserved, metres);
    with ``vans`` the metres carry :data:`OPEN_VAN` per route, so fewer
    routes always rank first."""
    left = list(unserved)
    rs = list(routes)
    if vans:
        driven = sum(r.distance for r in rs) + OPEN_VAN * sum(1 for r in rs if r.steps)
        return (float(len(left)), float(driven))
    if by_cost:
        cost = sum(r.cost for r in rs) + sum(
            problem.drop_penalty(orders[o]) for o in left
        )
        return (0.0, cost)
    return (float(len(left)), float(sum(r.distance for r in rs)))


def _by_cost(problem: Problem, params: SolveParams) -> bool:
    if params.objective != "cost":
        return False
    return any(
        v.costs.fixed or v.costs.per_km or v.costs.per_hour for v in problem.vehicles
    )


def _rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0


def _collect(pending: Pending, name: str) -> _Outcome:
    """A part's outcome; a part whose worker died or that raised outside the
    engines (a broken pool, a lost task) comes back failed, under its name."""
    try:
        out: _Outcome = pending.result()
    except (Exception, CancelledError) as exc:
        return _Outcome(None, False, "", f"{name}: {type(exc).__name__}: {exc}")
    if out.error:
        error = f"{name}: {out.error}"
        return _Outcome(out.plan, out.feasible, out.engine, error, out.seconds)
    return out


@dataclass
class _Run:
    """One large solve: the day, its split, its clock and the plan so far."""

    problem: Problem
    params: SolveParams
    large: LargeParams
    travel: TravelModel
    progress: ProgressCallback | None
    t0: float
    orders: dict[str, Order]
    by_cost: bool
    matrix: Matrix | None
    xy: dict[str, tuple[float, float]]
    groups: list[_Group]
    parts: list[tuple[int, list[int], list[str]]]  # (group, vehicles, orders)
    whole_first: bool
    reserve: float
    routes: dict[str, Route] = field(default_factory=dict)
    unassigned: dict[str, Unassigned] = field(default_factory=dict)
    phase: dict[str, float] = field(default_factory=dict)
    rounds: int = 0
    improved: int = 0
    failures: list[str] = field(default_factory=list)
    task_seconds: dict[str, list[float]] = field(default_factory=dict)

    @property
    def deadline(self) -> float:
        return self.t0 + self.params.time_limit

    def value(self) -> float:
        """The objective of the plan so far."""
        return _value(
            self.routes.values(),
            self.unassigned,
            self.orders,
            self.by_cost,
            self.problem,
            vans=fewest_vans(self.params),
        )[1]

    def say(self, what: str, value: float) -> None:
        if self.progress is not None:
            self.progress(what, time.perf_counter() - self.t0, value)

    def max_rounds(self) -> int | None:
        """Improvement rounds allowed (``None``: until the time is up)."""
        if self.large.rounds is not None:
            return self.large.rounds
        return BOUNDED_ROUNDS if self.params.iterations is not None else None

    def solve_in(
        self,
        pool: PartPool,
        vehicles: Sequence[int],
        order_ids: list[str],
        time_limit: float,
        seed: int,
    ) -> tuple[Pending, Part]:
        """Submit the part of these vehicles and orders to the pool."""
        sub = subproblem(self.problem, vehicles, order_ids, self.orders, self.matrix)
        # One core per part: the pool's workers are the cores.
        p = self.params.model_copy(
            update={"time_limit": time_limit, "seed": seed, "workers": 1}
        )
        return pool.submit(_solve_part, sub.problem, p), sub

    def collect(self, pending: Pending, name: str, kind: str) -> _Outcome:
        """:func:`_collect`, with a failure kept in :attr:`failures` and the
        worker's seconds in :attr:`task_seconds` under ``kind``."""
        out = _collect(pending, name)
        if out.error:
            self.failures.append(out.error)
        self.task_seconds.setdefault(kind, []).append(round(out.seconds, 2))
        return out

    def take(self, plan: Plan, sub: Part) -> None:
        """A part's routes and unassigned orders into the plan so far."""
        for r in plan.routes:
            self.routes[r.vehicle] = restore(r, sub.back)
        for u in plan.unassigned:
            self.unassigned[u.id] = u


def decompose_solve(
    problem: Problem,
    *,
    params: SolveParams | None = None,
    travel: TravelModel | None = None,
    large: LargeParams | None = None,
    progress: ProgressCallback | None = None,
    coordinates: Sequence[tuple[float, float]] | None = None,
) -> LargeResult:
    """:func:`solve_large` with its verdict, phase times and memory.

    Orders off the roads are left out before the split (:mod:`routing.access`).
    """
    access = road_access(problem, travel or HaversineTravel())
    run = _split(
        access.kept,
        params or SolveParams(),
        large or LargeParams(),
        travel or HaversineTravel(),
        progress,
        coordinates,
    )
    cap = run.max_rounds()
    with open_pool(
        run.large.scheduler, run.large.workers, run.travel, _init_worker
    ) as pool:
        whole = _first_pass(pool, run)
        t_improve = time.perf_counter()
        while (
            run.large.improve
            and (cap is None or run.rounds < cap)
            and _improve_round(pool, run)
        ):
            run.rounds += 1
            run.say("large:improve", run.value())
        run.phase["improve"] = time.perf_counter() - t_improve
    result = _finish(run, whole)
    result.plan = access.finish(result.plan)
    result.where = pool.where
    result.peak_rss_by_process = {"client": result.peak_rss_mib, **pool.peak_rss_mib}
    result.peak_worker_rss_mib = max(
        (mib for who, mib in pool.peak_rss_mib.items() if who.startswith("worker")),
        default=0.0,
    )
    return result


def _split(
    problem: Problem,
    params: SolveParams,
    large: LargeParams,
    travel: TravelModel,
    progress: ProgressCallback | None,
    coordinates: Sequence[tuple[float, float]] | None,
) -> _Run:
    """Groups, and parts of each group by sweep with their share of vehicles."""
    t0 = time.perf_counter()
    orders: dict[str, Order] = {o.id: o for o in problem.orders}
    matrix = Matrix(problem) if problem.matrices is not None else None
    xy, depot_xy = _planar(problem, coordinates)
    groups, orphans = _groups(problem, xy, depot_xy)
    parts: list[tuple[int, list[int], list[str]]] = []
    counts = _part_counts(groups, large)
    for g_index, (g, k) in enumerate(zip(groups, counts, strict=True)):
        arcs = sweep(_angles(g.orders, xy, g.centre), k)
        ids = [[g.orders[i] for i in arc] for arc in arcs]
        quotas = _quotas(_weights(orders, ids), len(g.vehicles))
        for vs, os_ in zip(_deal(problem, g.vehicles, quotas), ids, strict=True):
            parts.append((g_index, vs, os_))
    # Kept back for the final rescue, assembly and check: a whole-problem
    # plan needs little (no seams to stitch), and every second kept back is
    # a second PyVRP alone would have searched.
    whole_first = len(orders) <= large.whole_max
    reserve = (
        plan_reserve(len(orders)) if whole_first else max(1.0, 0.03 * params.time_limit)
    )
    run = _Run(
        problem=problem,
        params=params,
        large=large,
        travel=travel,
        progress=progress,
        t0=t0,
        orders=orders,
        by_cost=_by_cost(problem, params),
        matrix=matrix,
        xy=xy,
        groups=groups,
        parts=parts,
        whole_first=whole_first,
        reserve=reserve,
    )
    run.phase["split"] = time.perf_counter() - t0
    if orphans:
        run.unassigned.update(_orphan_reasons(problem, orphans, orders, travel, matrix))
    return run


def _first_pass(pool: PartPool, run: _Run) -> bool:
    """The whole problem when it is small enough, else the parts; then the
    rescue. Returns whether the whole problem was solved in one piece."""
    whole = run.whole_first
    if whole:
        w_routes, w_left, whole = _whole(pool, run, run.deadline - run.reserve)
        if whole:
            run.routes, run.unassigned = w_routes, w_left
            run.phase["whole"] = time.perf_counter() - run.t0 - run.phase["split"]
    if not whole:
        _solve_parts(pool, run)
        run.phase["parts"] = time.perf_counter() - run.t0 - run.phase["split"]
    run.routes, run.unassigned = _rescue(
        run.problem, run.travel, run.routes, run.unassigned, run.params
    )
    run.say("large:first", run.value())
    return whole


def _solve_parts(pool: PartPool, run: _Run) -> None:
    """Every part in the pool, each with its share of the time."""
    large = run.large
    waves = math.ceil(len(run.parts) / max(1, large.workers))
    budget = run.params.time_limit * (large.parts_share if large.improve else 1.0)
    budget = min(budget, run.deadline - time.perf_counter() - run.reserve)
    per_part = max(1.0, budget / waves - OVERHEAD)
    futures = [
        (*run.solve_in(pool, vs, os_, per_part, run.params.seed + k), os_)
        for k, (_, vs, os_) in enumerate(run.parts)
    ]
    for k, (fut, sub, os_) in enumerate(futures):
        out = run.collect(fut, _part_name(run, k), "parts")
        if out.plan is None or not out.feasible:
            for o in os_:
                run.unassigned[o] = _dropped(
                    run.problem, run.orders[o], out.error or "part infeasible"
                )
            continue
        run.take(out.plan, sub)


def _part_name(run: _Run, k: int) -> str:
    """``part 3 of 50 (depot-west, 201 orders)``: how failures name a part."""
    _, vs, os_ = run.parts[k]
    depot = run.problem.vehicles[vs[0]].start if vs else None
    where = f"{depot}, " if depot is not None else ""
    return f"part {k + 1} of {len(run.parts)} ({where}{len(os_)} orders)"


def _improve_round(pool: PartPool, run: _Run) -> bool:
    """Solve clusters of neighbouring routes again; keep what got better.

    Returns ``False`` when there is nothing to cluster or no time for it, or
    when every cluster of the round failed (a broken pool would fail the next
    round too).
    """
    large = run.large
    left = run.deadline - time.perf_counter() - run.reserve
    clusters = _clusters(
        run.problem,
        run.groups,
        run.routes,
        run.unassigned,
        run.xy,
        large.cluster_size or large.part_size,
        run.rounds,
        large.workers,
    )
    if not clusters:
        return False
    waves = math.ceil(len(clusters) / max(1, large.workers))
    wanted = large.cluster_seconds or max(3.0, run.params.time_limit * 0.05)
    per = min(wanted, left / waves - OVERHEAD)
    if per < min(2.0, wanted):
        return False
    jobs = [
        (
            *run.solve_in(
                pool, vs, os_, per, run.params.seed + 1000 * (run.rounds + 1) + k
            ),
            os_,
            [run.problem.vehicles[v].id for v in vs],
        )
        for k, (vs, os_) in enumerate(clusters)
    ]
    lost = 0
    for k, (fut, sub, os_, names) in enumerate(jobs):
        name = f"round {run.rounds + 1} cluster {k + 1} of {len(jobs)}"
        out = run.collect(fut, name, f"round {run.rounds + 1}")
        lost += out.plan is None and bool(out.error)
        if out.plan is not None and out.feasible:
            _accept_if_better(run, out.plan, sub, os_, names)
    return lost < len(jobs)


def _accept_if_better(
    run: _Run, plan: Plan, sub: Part, order_ids: list[str], names: list[str]
) -> None:
    """A cluster's new routes replace its old ones when they are better."""
    old_routes = [run.routes[name] for name in names if name in run.routes]
    old_left = [o for o in order_ids if o in run.unassigned]
    new_left = [u.id for u in plan.unassigned]
    vans = fewest_vans(run.params)
    before = _value(
        old_routes, old_left, run.orders, run.by_cost, run.problem, vans=vans
    )
    after = _value(
        plan.routes, new_left, run.orders, run.by_cost, run.problem, vans=vans
    )
    if after < before and len(new_left) <= len(old_left):
        for name in names:
            run.routes.pop(name, None)
        for o in old_left:
            run.unassigned.pop(o, None)
        run.take(plan, sub)
        run.improved += 1


def _finish(run: _Run, whole: bool) -> LargeResult:
    """Rescue what is left, assemble one plan and verify it."""
    t_final = time.perf_counter()
    problem = run.problem
    run.routes, run.unassigned = _rescue(
        problem, run.travel, run.routes, run.unassigned, run.params
    )
    plan = assemble(
        problem,
        _vehicle_order(problem, run.routes),
        _problem_order(problem, run.unassigned),
        engine="large:whole" if whole else f"large:{len(run.parts)} parts",
        seconds=time.perf_counter() - run.t0,
    )
    verdict = verify(problem, plan, run.travel)
    run.phase["final"] = time.perf_counter() - t_final
    plan = plan.model_copy(
        update={
            "seconds": round(time.perf_counter() - run.t0, 3),
            "travel": plan_travel_spec(problem, run.travel),
        }
    )
    run.say("large:done", run.value())
    return LargeResult(
        plan=plan,
        verdict=verdict,
        parts=len(run.parts),
        rounds=run.rounds,
        improved=run.improved,
        seconds={k: round(v, 2) for k, v in run.phase.items()},
        peak_rss_mib=round(_rss_mib(resource.RUSAGE_SELF), 1),
        failures=list(run.failures),
        task_seconds=run.task_seconds,
    )


def _whole(
    pool: PartPool, run: _Run, end: float
) -> tuple[dict[str, Route], dict[str, Unassigned], bool]:
    """The whole problem in ``whole_runs`` processes; the best checked plan.

    One run is solved in this process, as ``params.workers`` PyVRP islands
    (:mod:`routing.solver.islands`, forked here): a pool worker would cost
    a fork and the plan's way back (a quarter of a second at 1,000 orders)
    that PyVRP alone spends searching.
    """
    problem, orders, params, large = run.problem, run.orders, run.params, run.large
    matrix, by_cost, travel = run.matrix, run.by_cost, run.travel
    runs = max(1, min(large.whole_runs, large.workers))
    sub = subproblem(problem, range(len(problem.vehicles)), orders, orders, matrix)
    left = end - time.perf_counter()
    budget = params.time_limit * (large.whole_share if large.improve else 1.0)
    limit = max(1.0, min(budget, left) - (OVERHEAD if runs > 1 else 0.0))
    # One run searches here on every core the solve may use (PyVRP's
    # islands); several runs take a pool worker, and so a core, each.
    cores = usable_cores(params.workers) if runs == 1 else 1
    seeded = [
        params.model_copy(
            update={"time_limit": limit, "seed": params.seed + k, "workers": cores}
        )
        for k in range(runs)
    ]
    outcomes: list[_Outcome]
    if runs == 1:
        outcomes = [_solve_part(sub.problem, seeded[0], travel)]
    else:
        futures = [pool.submit(_solve_part, sub.problem, p) for p in seeded]
        outcomes = [
            run.collect(fut, f"whole-day run {k + 1} of {runs}", "whole")
            for k, fut in enumerate(futures)
        ]
    best: tuple[tuple[float, float], Plan] | None = None
    for out in outcomes:
        if out.plan is None or not out.feasible:
            continue
        value = _value(
            out.plan.routes,
            (u.id for u in out.plan.unassigned),
            orders,
            by_cost,
            problem,
            vans=fewest_vans(params),
        )
        if best is None or value < best[0]:
            best = (value, out.plan)
    if best is None:
        return {}, {}, False
    plan = best[1]
    routes = {r.vehicle: restore(r, sub.back) for r in plan.routes}
    return routes, {u.id: u for u in plan.unassigned}, True


def _vehicle_order(problem: Problem, routes: Mapping[str, Route]) -> list[Route]:
    return [routes[v.id] for v in problem.vehicles if v.id in routes]


def _problem_order(
    problem: Problem, unassigned: Mapping[str, Unassigned]
) -> list[Unassigned]:
    return [unassigned[o.id] for o in problem.orders if o.id in unassigned]


def _dropped(problem: Problem, order: Order, detail: str) -> Unassigned:
    return Unassigned(
        id=order.id,
        reason=Reason.DROPPED,
        detail=detail,
        penalty=problem.drop_penalty(order),
    )


def _orphan_reasons(
    problem: Problem,
    orphans: Sequence[str],
    orders: Mapping[str, Order],
    travel: TravelModel,
    matrix: Matrix | None,
) -> dict[str, Unassigned]:
    """Reasons for orders no vehicle can carry (the precheck's, on a tiny problem)."""
    sub = subproblem(problem, range(len(problem.vehicles)), orphans, orders, matrix)
    _, impossible = precheck(build_data(sub.problem, travel))
    return {u.id: u for u in impossible}


def _rescue(
    problem: Problem,
    travel: TravelModel,
    routes: dict[str, Route],
    unassigned: dict[str, Unassigned],
    params: SolveParams,
) -> tuple[dict[str, Route], dict[str, Unassigned]]:
    """Insert dropped jobs wherever they fit (cheapest feasible insertion)."""
    jobs = {j.id for j in problem.jobs}
    dropped = [
        u.id for u in unassigned.values() if u.reason == Reason.DROPPED and u.id in jobs
    ]
    if not dropped:
        return routes, unassigned
    live = LivePlan(
        problem,
        travel,
        routes,
        unassigned.values(),
        objective=params.objective,
        neighbours=120,
    )
    for oid in dropped:
        job = live.orders[oid]
        assert isinstance(job, Job)
        live.insert(job)
    new_routes = {r.vehicle: r for r in live.routes if r is not None}
    return new_routes, dict(live.unassigned)


def _clusters(
    problem: Problem,
    groups: Sequence[_Group],
    routes: Mapping[str, Route],
    unassigned: Mapping[str, Unassigned],
    xy: Mapping[str, tuple[float, float]],
    size: int,
    round_no: int,
    workers: int = 1,
) -> list[tuple[list[int], list[str]]]:
    """Clusters of neighbouring routes (and spare vehicles) to solve again.

    Routes are ordered by the angle of their centre around the group's depot
    and cut into runs of about ``size`` orders (a multiple of ``workers``
    runs). Each round starts the cut elsewhere (by the golden ratio of a run),
    so its clusters straddle the previous seams.
    """
    vindex = {v.id: k for k, v in enumerate(problem.vehicles)}
    out: list[tuple[list[int], list[str]]] = []
    for g in groups:
        members = set(g.orders)
        mine = set(g.vehicles)
        used = [(vindex[name], r) for name, r in routes.items() if vindex[name] in mine]
        if not used:
            continue
        spare = [v for v in g.vehicles if problem.vehicles[v].id not in routes]
        centres = []
        for _, r in used:
            ids = [
                s.id for s in r.steps if s.id is not None and s.type != StepType.BREAK
            ]
            pts = np.array([xy[i] for i in ids if i in xy]).reshape(-1, 2)
            c = pts.mean(axis=0) if len(pts) else np.array(g.centre)
            centres.append(math.atan2(c[1] - g.centre[1], c[0] - g.centre[0]))
        order = np.argsort(np.asarray(centres), kind="stable").tolist()
        total = sum(r.orders for _, r in used)
        k = max(1, round(total / size))
        if k > 1 and workers > 1 and k % workers:
            k += workers - k % workers
        k = min(k, len(order))
        offset = round(round_no * 0.618 * len(order) / k) % len(order)
        order = order[offset:] + order[:offset]
        chunks: list[list[int]] = [[] for _ in range(k)]
        seen = 0
        for i in order:
            c_index = min(k - 1, int(k * seen / max(1, total)))
            chunks[c_index].append(i)
            seen += used[i][1].orders
        chunks = [c for c in chunks if c]
        left = [
            u
            for u in unassigned
            if u in members and unassigned[u].reason == Reason.DROPPED
        ]
        spare_share = _quotas([1.0] * len(chunks), max(len(spare), len(chunks)))
        pos = 0
        for c_index, chunk in enumerate(chunks):
            vs = [used[i][0] for i in chunk]
            take = min(spare_share[c_index], len(spare) - pos)
            vs += spare[pos : pos + max(0, take)]
            pos += max(0, take)
            ids = [
                s.id
                for i in chunk
                for s in used[i][1].steps
                if s.id is not None and s.type in (StepType.JOB, StepType.DELIVERY)
            ]
            if c_index == 0:
                ids += left
            out.append((sorted(vs), ids))
    return out
