"""The PyVRP engine: with :mod:`routing.solver.islands` (its search on several
cores), the only module that imports PyVRP.

Model (see docs/concepts.md for the vocabulary):

* every place a vehicle starts or ends at is a PyVRP depot (a free start or
  end is a depot that is zero away from everything); every job and shipment
  end is a PyVRP location of its own, so the setup of ``j`` can sit on the
  duration of every arc into ``j`` from another place, exactly as the timeline
  pays it;
* a job is a client (``delivery`` loaded at the depot, ``pickup`` brought
  back), a shipment is a PyVRP shipment; a job with several windows is a
  mutually exclusive group of copies, one per window;
* vehicles with the same attributes share a vehicle type (``num_available``);
  each vehicle travels in its solve band (the slowest its shift overlaps, as
  in every engine), and skills, night/day shift and depot restrictions and
  arcs with no road become routing profiles in which the forbidden arcs are
  long and take longer than any shift lasts (so a route through one is
  never feasible);
* ``max_orders`` is one more load dimension in which every job weighs 1;
* distance mode makes every order required (falling back to optional orders
  when no feasible solution turns up in the first half of the time limit);
  cost mode prices distance, duration and fixed costs and gives every order
  its drop penalty as prize.

Breaks, soft windows and shipments with several windows are outside
PyVRP 0.14's model: :func:`pyvrp_fit` names them.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyvrp
import vrplib  # type: ignore[import-untyped]
from pyvrp.stop import MaxRuntime
from scipy.sparse.linalg import eigsh

from routing.model import Job, Shipment
from routing.solver import islands
from routing.solver.data import ProblemData
from routing.solver.islands import quiet as _quiet
from routing.solver.params import (
    ProgressCallback,
    SolveParams,
    cost_scale,
    fewest_vans,
    in_plan_units,
    usable_cores,
    uses_costs,
    van_charge,
)
from routing.solver.result import EngineResult
from routing.solver.timeline import Visit

#: PyVRP's unit costs are integers per metre and per second; pricing in ten
#: engine units (thousandths of a KRW; :func:`cost_scale`) keeps a per-km
#: rate in whole KRW exact.
PYVRP_PER_ENGINE_UNIT = 10


def _units(data: ProblemData) -> float:
    """PyVRP units per unit of the problem's currency (1,000 for KRW)."""
    return PYVRP_PER_ENGINE_UNIT * cost_scale(data.problem.locale)


#: Share of the time limit spent looking for a solution that serves every
#: order (distance mode) before orders become optional.
REQUIRED_SHARE = 0.5

#: PyVRP's "no bound" for windows, and the cost it gives an infeasible solution.
_INT_MAX = int(np.iinfo(np.int64).max)
_IntMatrix = npt.NDArray[np.int64]


def pyvrp_fit(data: ProblemData, order_ids: Sequence[str]) -> str | None:
    """Why PyVRP 0.14 cannot model this problem, or ``None`` when it can.

    Parameters
    ----------
    data
        The dense problem.
    order_ids
        The orders to plan (those the precheck kept).

    Returns
    -------
    str or None
        A short reason (``"breaks"``, ``"soft windows"``, ``"several windows
        on a shipment"``, ``"max_orders with shipments"``), or ``None``.
    """
    if any(v.breaks for v in data.problem.vehicles):
        return "breaks"
    orders = [data.orders[oid] for oid in order_ids]
    if any(o.lateness_cost is not None and _windowed(o) for o in orders):
        return "soft windows"
    shipments = [o for o in orders if isinstance(o, Shipment)]
    if any(
        len(s.pickup.time_windows) > 1 or len(s.delivery.time_windows) > 1
        for s in shipments
    ):
        return "several windows on a shipment"
    if shipments and any(v.max_orders is not None for v in data.problem.vehicles):
        return "max_orders with shipments"
    return None


def _windowed(order: Job | Shipment) -> bool:
    if isinstance(order, Job):
        return bool(order.time_windows)
    return bool(order.pickup.time_windows or order.delivery.time_windows)


@dataclass(frozen=True)
class _Built:
    """A PyVRP instance and the way back to our node indices."""

    instance: pyvrp.ProblemData
    vehicles_of_type: list[list[int]]
    client_node: list[int]
    shipment_nodes: list[tuple[int, int]]
    forbidden: list[set[int]]  # per vehicle: data nodes it may not visit
    copies_prize: int  # prizes of the copies a several-window job leaves unused
    penalties: pyvrp.PenaltyParams
    cost_unit: float  # our objective units (engine money or metres) per PyVRP unit

    def objective(self, solution: pyvrp.Solution) -> float:
        """Costs plus the prizes of orders left out, in our units."""
        cost = (
            solution.distance_cost()
            + solution.duration_cost()
            + solution.fixed_vehicle_cost()
            + solution.uncollected_prizes()
            - self.copies_prize
        )
        return float(cost * self.cost_unit)


def solve_pyvrp(
    data: ProblemData,
    order_ids: Sequence[str],
    params: SolveParams,
    *,
    progress: ProgressCallback | None = None,
) -> EngineResult:
    """Solve for the orders in ``order_ids`` with PyVRP (the rest are left out).

    Parameters
    ----------
    data
        The dense problem; :func:`pyvrp_fit` must have returned ``None``.
    order_ids
        The orders to plan.
    params
        ``time_limit``, ``seed``, ``objective``, ``iterations`` and
        ``workers`` are used: with more than one worker (and as many cores)
        the search runs as islands that share their best
        (:mod:`routing.solver.islands`), else as ``pyvrp.solve``.
    progress
        Called with ``("pyvrp", seconds, objective)`` on every feasible
        improvement, and with ``("pyvrp lost ...", seconds, inf)`` naming
        the islands lost, if any.

    Returns
    -------
    EngineResult
        Per vehicle, the data node indices in visiting order; the ids of the
        orders left out; PyVRP's objective in the OR-Tools engine's units;
        in ``lost`` the islands that dropped out, by name.

    Raises
    ------
    ValueError
        When the problem needs something PyVRP cannot model.
    """
    misfit = pyvrp_fit(data, order_ids)
    if misfit is not None:
        raise ValueError(f"PyVRP cannot model this problem: {misfit}")
    ids = list(order_ids)
    progress = in_plan_units(progress, data, params)
    n_veh = data.n_vehicles
    if not ids:
        return EngineResult([[] for _ in range(n_veh)], [], 0.0)
    t0 = time.perf_counter()
    with_costs = uses_costs(data, params)
    required = not with_costs
    budget = params.time_limit
    vans = fewest_vans(params)
    built = _build(data, ids, with_costs=with_costs, required=required, vans=vans)
    # The time limit covers building the instance (a quarter of a second at
    # 1,000 orders), as PyVRP alone on a file spends it reading.
    searching = max(0.1, budget - (time.perf_counter() - t0))
    search = _Search(params.seed, params.iterations, usable_cores(params.workers))
    best, gave_up, lost = _run(built, search, searching, required, progress, t0)
    if gave_up:
        built = _build(data, ids, with_costs=with_costs, required=False, vans=vans)
        remaining = max(0.1, budget - (time.perf_counter() - t0))
        best, _, more = _run(built, search, remaining, False, progress, t0)
        lost += more
    result = _to_result(data, built, best, ids)
    if lost and progress is not None:
        progress(f"pyvrp lost {'; '.join(lost)}", time.perf_counter() - t0, math.inf)
    return dataclasses.replace(result, lost=tuple(lost))


@dataclass(frozen=True)
class _Search:
    """How to search: seed, iteration bound, and islands (1: PyVRP's own)."""

    seed: int
    iterations: int | None
    islands: int


class _Stop:
    """Stop at the time limit, or early while nothing feasible is found.

    With ``iterations`` the search also ends after that many iterations, and
    giving up is counted in iterations too, so a run that ends there does
    not depend on the machine's speed.
    """

    def __init__(
        self, seconds: float, give_up_share: float | None, iterations: int | None
    ) -> None:
        self._start = time.perf_counter()
        self._seconds = seconds
        self._give_up_share = give_up_share
        self._iterations = iterations
        self._done = 0
        self.gave_up = False

    def __call__(self, best_cost: int) -> bool:
        elapsed = time.perf_counter() - self._start
        self._done += 1
        if elapsed > self._seconds:
            return True
        if self._iterations is not None and self._done > self._iterations:
            return True
        if self._give_up_share is not None and best_cost >= _INT_MAX:
            if self._iterations is not None:
                late = self._done > self._give_up_share * self._iterations
            else:
                late = elapsed > self._give_up_share * self._seconds
            if late:
                self.gave_up = True
                return True
        return False


class _Reporter(pyvrp.IteratedLocalSearchCallbacks):
    """Forwards PyVRP's new best solutions to a progress callback."""

    def __init__(self, progress: ProgressCallback, t0: float, built: _Built) -> None:
        self._progress = progress
        self._t0 = t0
        self._built = built

    def on_best(self, best: pyvrp.Solution) -> None:
        if best.is_feasible():
            elapsed = time.perf_counter() - self._t0
            self._progress("pyvrp", elapsed, self._built.objective(best))


def _run(
    built: _Built,
    search: _Search,
    seconds: float,
    required: bool,
    progress: ProgressCallback | None,
    t0: float,
) -> tuple[pyvrp.Solution, bool, list[str]]:
    """The best solution, whether the search gave up looking for a feasible
    one, and the islands lost (by name)."""
    if search.islands > 1:
        return _run_islands(built, search, seconds, required, progress, t0)
    instance = built.instance
    ils = pyvrp.IteratedLocalSearchParams()
    if progress is not None:
        ils = pyvrp.IteratedLocalSearchParams(callbacks=_Reporter(progress, t0, built))
    stop = _Stop(seconds, REQUIRED_SHARE if required else None, search.iterations)
    with _quiet():
        result = pyvrp.solve(
            instance,
            stop=stop,
            seed=search.seed,
            collect_stats=False,
            display=False,
            params=pyvrp.SolveParams(ils=ils, penalty=built.penalties),
        )
    return result.best, stop.gave_up and not result.is_feasible(), []


def _run_islands(
    built: _Built,
    search: _Search,
    seconds: float,
    required: bool,
    progress: ProgressCallback | None,
    t0: float,
) -> tuple[pyvrp.Solution, bool, list[str]]:
    """:func:`_run` on several cores (:mod:`routing.solver.islands`)."""
    on_best = None
    if progress is not None:
        on_best = _Reporter(progress, t0, built).on_best
    found = islands.search(
        built.instance,
        workers=search.islands,
        seed=search.seed,
        seconds=seconds,
        penalty=built.penalties,
        iterations=search.iterations,
        give_up_share=REQUIRED_SHARE if required else None,
        on_best=on_best,
    )
    gave_up = found.gave_up and not found.best.is_feasible()
    return found.best, gave_up, found.lost


@dataclass(frozen=True)
class _Places:
    """PyVRP locations: depots first, then one per job or shipment end."""

    reps: list[int]  # a data node standing for each PyVRP location
    n_depots: int
    depot_of_point: dict[int | None, int]
    location_of: dict[int, int]  # order node -> PyVRP location


@dataclass
class _Orders:
    """PyVRP clients, groups and shipments, and the data nodes they stand for."""

    clients: list[pyvrp.Client] = field(default_factory=list)
    client_node: list[int] = field(default_factory=list)
    groups: list[pyvrp.ClientGroup] = field(default_factory=list)
    shipments: list[pyvrp.Shipment] = field(default_factory=list)
    shipment_nodes: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class _Profiles:
    """Routing profiles: one per travel band and set of locations some
    vehicles may not visit."""

    forbidden: list[set[int]]  # per vehicle: data nodes it may not visit
    of_vehicle: list[int]  # per vehicle: its profile
    # PyVRP's stubs spell the matrices as ``np.ndarray[int]``.
    distances: list[Any]
    durations: list[Any]


@dataclass(frozen=True)
class _BandTables:
    """Distances and durations over PyVRP's locations per travel band in
    which some vehicle is planned (``main``: the band most are), and the
    arcs with no road in each."""

    main: int
    distances: dict[int, _IntMatrix]
    durations: dict[int, _IntMatrix]
    blocked: dict[int, npt.NDArray[np.bool_]]


def _band_tables(data: ProblemData, reps: list[int]) -> _BandTables:
    main = Counter(data.solve_band).most_common(1)[0][0]
    bands = [main, *sorted(set(data.solve_band) - {main})]
    tables = _BandTables(main, {}, {}, {})
    for band in bands:
        dist, dur, blocked = _matrices(data, reps, band)
        tables.distances[band] = dist
        tables.durations[band] = dur
        tables.blocked[band] = blocked
    return tables


def _build(
    data: ProblemData,
    order_ids: list[str],
    *,
    with_costs: bool,
    required: bool,
    vans: bool = False,
) -> _Built:
    places = _places(data, order_ids)
    tables = _band_tables(data, places.reps)
    distances = tables.distances[tables.main]
    longest = max(int(d.max(initial=0)) for d in tables.distances.values())
    count_dim = any(v.max_orders is not None for v in data.problem.vehicles)
    # Fewest vans first: a van costs more than any plan's distance.
    charge = (
        van_charge(
            longest,
            sum(len(data.order_nodes[o]) for o in order_ids),
            data.n_vehicles,
        )
        if vans
        else 0
    )
    prize, cost_unit = _prizes(data, longest, with_costs=with_costs, charge=charge)
    orders = _orders(
        data, order_ids, places, prize, count_dim=count_dim, required=required
    )
    profiles = _profiles(data, order_ids, places, tables, 2 * longest + 1)
    types, vehicle_types = _vehicle_types(
        data,
        order_ids,
        places,
        profiles,
        count_dim=count_dim,
        with_costs=with_costs,
        charge=charge,
    )
    instance = pyvrp.ProblemData(
        locations=_locations(data, places.reps, distances),
        clients=orders.clients,
        depots=[pyvrp.Depot(location=k) for k in range(places.n_depots)],
        vehicle_types=vehicle_types,
        distance_matrices=profiles.distances,
        duration_matrices=profiles.durations,
        groups=orders.groups,
        shipments=orders.shipments,
    )
    return _Built(
        instance=instance,
        vehicles_of_type=types,
        client_node=orders.client_node,
        shipment_nodes=orders.shipment_nodes,
        forbidden=profiles.forbidden,
        penalties=_penalties(vehicle_types, orders),
        copies_prize=sum(
            (len(g) - 1) * instance.client(g.clients[0]).prize for g in orders.groups
        ),
        cost_unit=cost_unit,
    )


def _places(data: ProblemData, order_ids: list[str]) -> _Places:
    """Depots first (one per place of a start or end), then the order nodes."""
    depot_of_point: dict[int | None, int] = {}
    reps: list[int] = []
    for n in (*data.starts, *data.ends):
        point = data.nodes[n].point
        if point not in depot_of_point:
            depot_of_point[point] = len(reps)
            reps.append(n)
    n_depots = len(reps)
    location_of: dict[int, int] = {}
    for oid in order_ids:
        for n in data.order_nodes[oid]:
            location_of[n] = len(reps)
            reps.append(n)
    return _Places(reps, n_depots, depot_of_point, location_of)


def _prizes(
    data: ProblemData, longest: int, *, with_costs: bool, charge: int = 0
) -> tuple[Callable[[str], int], float]:
    """Each order's prize, and our objective units per PyVRP unit."""
    problem = data.problem
    if with_costs:
        units = _units(data)

        def prize(oid: str) -> int:
            return round(units * problem.drop_penalty(data.orders[oid]))

        return prize, 1 / PYVRP_PER_ENGINE_UNIT
    # Large enough to pay for any detour (and a van of its own when vans
    # count first), so only infeasibility drops.
    base = 2 * longest + 1 + charge

    def relative_prize(oid: str) -> int:
        dropping = problem.drop_penalty(data.orders[oid])
        return round(base * dropping / problem.base_drop_penalty)

    return relative_prize, 1.0


def _orders(
    data: ProblemData,
    order_ids: list[str],
    places: _Places,
    prize: Callable[[str], int],
    *,
    count_dim: bool,
    required: bool,
) -> _Orders:
    """Clients (a group of copies for a job with several windows) and shipments."""
    out = _Orders()
    for oid in order_ids:
        order = data.orders[oid]
        gain = 0 if required else prize(oid)
        if isinstance(order, Shipment):
            out.shipments.append(
                _shipment(data, order, places, gain, count_dim, required)
            )
            own = data.order_nodes[oid]
            out.shipment_nodes.append((own[0], own[1]))
            continue
        n = data.order_nodes[oid][0]
        node = data.nodes[n]
        count = [1] if count_dim else []
        no_count = [0] if count_dim else []
        windows = node.windows or ((0, _INT_MAX),)
        group = None
        if len(windows) > 1:
            group = len(out.groups)
            first = len(out.clients)
            out.groups.append(
                pyvrp.ClientGroup(
                    list(range(first, first + len(windows))),
                    required=required,
                    name=oid,
                )
            )
        for early, late in windows:
            out.clients.append(
                pyvrp.Client(
                    location=places.location_of[n],
                    delivery=[*node.delivery, *count],
                    pickup=[*node.pickup, *no_count],
                    service_duration=node.service,
                    tw_early=early,
                    tw_late=late,
                    prize=gain,
                    required=required and group is None,
                    group=group,
                    name=oid,
                )
            )
            out.client_node.append(n)
    return out


def _shipment(
    data: ProblemData,
    order: Shipment,
    places: _Places,
    prize: int,
    count_dim: bool,
    required: bool,
) -> pyvrp.Shipment:
    """A shipment: its pickup and delivery with one window each."""
    own = data.order_nodes[order.id]
    p, d = (data.nodes[n] for n in own)
    p_early, p_late = _window(p.windows)
    d_early, d_late = _window(d.windows)
    return pyvrp.Shipment(
        pickup_location=places.location_of[own[0]],
        delivery_location=places.location_of[own[1]],
        pickup_tw_early=p_early,
        pickup_tw_late=p_late,
        pickup_service_duration=p.service,
        delivery_tw_early=d_early,
        delivery_tw_late=d_late,
        delivery_service_duration=d.service,
        amount=[*order.demand, *([0] if count_dim else [])],
        prize=prize,
        required=required,
        name=order.id,
    )


def _profiles(
    data: ProblemData,
    order_ids: list[str],
    places: _Places,
    tables: _BandTables,
    far: int,
) -> _Profiles:
    """Per vehicle, its travel band and the order nodes it may not visit, as
    routing profiles (the main band with no location forbidden first).

    Each vehicle travels in its own solve band, as in every engine. A
    forbidden arc (into a location the vehicle may not visit, or with no
    road) takes longer than any shift, so a route using it is late; its
    length ``far`` only steers the search away (PyVRP's MAX_VALUE would
    overflow once multiplied by a distance penalty).
    """
    nodes = data.nodes
    never = (
        1
        + max(v.shift.end for v in data.problem.vehicles)
        + max((w[1] for n in places.location_of for w in nodes[n].windows), default=0)
    )
    profiles = _Profiles([], [], [], [])
    profile_of: dict[tuple[int, tuple[int, ...]], int] = {}

    def add(band: int, banned: tuple[int, ...]) -> int:
        if (band, banned) not in profile_of:
            profile_of[band, banned] = len(profiles.distances)
            blocked = tables.blocked[band]
            dist = np.where(blocked, far, tables.distances[band])
            dur = np.where(blocked, never, tables.durations[band])
            profiles.distances.append(_forbid(dist, banned, far))
            profiles.durations.append(_forbid(dur, banned, never))
        return profile_of[band, banned]

    add(tables.main, ())
    # What a vehicle may not carry depends on these attributes only
    # (incompatibility); a fleet of identical vans asks once.
    banned_of: dict[tuple[object, ...], set[int]] = {}
    for v, vehicle in enumerate(data.problem.vehicles):
        kind = (vehicle.skills, vehicle.night, vehicle.start, vehicle.end)
        if kind not in banned_of:
            banned_of[kind] = {
                n
                for oid in order_ids
                if not data.can_serve(vehicle, data.orders[oid])
                for n in data.order_nodes[oid]
            }
        banned_nodes = banned_of[kind]
        profiles.forbidden.append(banned_nodes)
        banned = tuple(sorted(places.location_of[n] for n in banned_nodes))
        profiles.of_vehicle.append(add(data.solve_band[v], banned))
    return profiles


def _vehicle_types(
    data: ProblemData,
    order_ids: list[str],
    places: _Places,
    profiles: _Profiles,
    *,
    count_dim: bool,
    with_costs: bool,
    charge: int = 0,
) -> tuple[list[list[int]], list[pyvrp.VehicleType]]:
    """Vehicles with equal attributes as one type: members and the types."""
    nodes = data.nodes
    types: dict[tuple[object, ...], list[int]] = {}
    attrs: dict[tuple[object, ...], dict[str, object]] = {}
    units = _units(data)
    for v, vehicle in enumerate(data.problem.vehicles):
        costs = vehicle.costs
        capacity = list(vehicle.capacity)
        if count_dim:
            capacity.append(vehicle.max_orders or len(order_ids))
        kwargs: dict[str, object] = {
            "capacity": capacity,
            "start_depot": places.depot_of_point[nodes[data.starts[v]].point],
            "end_depot": places.depot_of_point[nodes[data.ends[v]].point],
            "tw_early": vehicle.shift.start,
            "tw_late": vehicle.shift.end,
            "profile": profiles.of_vehicle[v],
            "fixed_cost": round(units * costs.fixed) if with_costs else charge,
            "unit_distance_cost": (
                round(units * costs.per_km / 1000) if with_costs else 1
            ),
            "unit_duration_cost": (
                round(units * costs.per_hour / 3600) if with_costs else 0
            ),
        }
        if vehicle.max_duration is not None:
            # PyVRP measures a route from its best departure time, as the
            # timeline does (legs re-timed in faster bands only shorten it).
            kwargs["shift_duration"] = vehicle.max_duration
        if vehicle.max_distance is not None:
            kwargs["max_distance"] = vehicle.max_distance
        key = tuple(
            tuple(value) if isinstance(value, list) else value
            for value in kwargs.values()
        )
        types.setdefault(key, []).append(v)
        attrs[key] = kwargs
    vehicle_types = [
        pyvrp.VehicleType(
            num_available=len(members),
            name=",".join(data.problem.vehicles[v].id for v in members),
            **attrs[key],  # type: ignore[arg-type]
        )
        for key, members in types.items()
    ]
    return list(types.values()), vehicle_types


def _penalties(
    vehicle_types: list[pyvrp.VehicleType], orders: _Orders
) -> pyvrp.PenaltyParams:
    """Penalty bounds scaled to our units.

    PyVRP's penalty bounds suit a cost of 1 per unit of distance. With money
    they grow with the largest unit cost, and the top bound must outweigh a
    prize or a vehicle's fixed cost, else one unit of excess load or time
    warp stays cheaper than dropping an order or adding a vehicle, and the
    search never turns feasible.
    """
    unit = max(1, *(t.unit_distance_cost + t.unit_duration_cost for t in vehicle_types))
    stake = max((c.prize for c in orders.clients), default=0)
    if orders.shipments:
        stake = max(stake, *(sh.prize for sh in orders.shipments))
    stake += max(t.fixed_cost for t in vehicle_types)
    defaults = pyvrp.PenaltyParams()
    return pyvrp.PenaltyParams(
        min_penalty=defaults.min_penalty * unit,
        max_penalty=max(defaults.max_penalty * unit, 10.0 * stake),
    )


def _window(windows: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    if not windows:
        return 0, _INT_MAX
    return windows[0][0], windows[-1][1]


def _locations(
    data: ProblemData, reps: list[int], distances: _IntMatrix
) -> list[pyvrp.Location]:
    """Where PyVRP's geometric operators think each location is.

    PyVRP's SWAP* only exchanges between routes whose angular sectors around
    the depot overlap; with every place at (0, 0) all routes overlap and
    each iteration tries every pair of routes (on 1,000-customer instances
    about 1.75x the time per iteration, the same moves found). Places
    without lat/lon (matrix-only problems) therefore get planar coordinates
    recovered from the distances by classical multidimensional scaling,
    exact for Euclidean instances up to a rotation, which sectors ignore.
    """
    located: list[pyvrp.Location] = []
    for n in reps:
        point = data.nodes[n].point
        loc = None if point is None else data.points[point]
        if loc is None or loc.lon is None or loc.lat is None:
            break
        located.append(pyvrp.Location(x=loc.lon, y=loc.lat))
    else:
        return located
    xy = planar_embedding(distances)
    return [pyvrp.Location(x=float(x), y=float(y)) for x, y in xy]


#: Up to this many places the embedding takes the full eigendecomposition.
SMALL_EMBEDDING = 50


def planar_embedding(distances: _IntMatrix) -> npt.NDArray[np.float64]:
    """Two-dimensional coordinates whose distances approximate ``distances``.

    Classical (Torgerson) scaling of the symmetrised matrix; its two largest
    eigenvectors. One or two places get (0, 0).
    """
    n = distances.shape[0]
    if n < 3:
        return np.zeros((n, 2))
    d = distances.astype(np.float64)
    d = (d + d.T) / 2.0
    finite = d[np.isfinite(d)]
    d = np.minimum(d, finite.max(initial=0.0))
    sq = d**2
    # Double centring: B = -1/2 J D^2 J without forming J.
    b = -0.5 * (sq - sq.mean(axis=0)[None, :] - sq.mean(axis=1)[:, None] + sq.mean())
    # Only the two largest eigenpairs: Lanczos, not a full decomposition
    # (0.01 s instead of 0.15 s at 1,000 places); a fixed start vector keeps
    # the layout, and so the search, the same run to run.
    if n > SMALL_EMBEDDING:
        values, vectors = eigsh(b, k=2, which="LA", v0=np.ones(n))
    else:
        values, vectors = np.linalg.eigh(b)
    top = np.argsort(values)[::-1][:2]
    scale = np.sqrt(np.clip(values[top], 0.0, None))
    return np.asarray(vectors[:, top] * scale[None, :], dtype=np.float64)


def _matrices(
    data: ProblemData, reps: list[int], band: int
) -> tuple[_IntMatrix, _IntMatrix, npt.NDArray[np.bool_]]:
    """Distances, durations with the setup of ``j`` on every arc into it,
    and the arcs with no road, in ``band``.

    Setup is paid only when arriving from another place, as in
    :meth:`ProblemData.setup_between`.
    """
    points = np.array(
        [-1 if data.nodes[n].point is None else data.nodes[n].point for n in reps],
        dtype=np.int64,
    )
    free = points < 0
    idx = np.where(free, 0, points)
    matrix = data.matrices[band]
    assert matrix is not None
    blocked = np.zeros((len(reps), len(reps)), dtype=bool)
    if matrix.size:
        grid = np.ix_(idx, idx)
        dist = matrix.distances[grid].astype(np.int64)
        dur = matrix.durations[grid].astype(np.int64)
        if matrix.unreachable is not None:
            blocked = matrix.unreachable[grid]
    else:
        dist = np.zeros((len(reps), len(reps)), dtype=np.int64)
        dur = dist.copy()
    dist[free, :] = 0
    dist[:, free] = 0
    dur[free, :] = 0
    dur[:, free] = 0
    blocked[free, :] = False
    blocked[:, free] = False
    setup = np.array([data.nodes[n].setup for n in reps], dtype=np.int64)
    same = (points[:, None] == points[None, :]) & ~free[:, None]
    dur = dur + np.where(same, 0, setup[None, :])
    np.fill_diagonal(dist, 0)
    np.fill_diagonal(dur, 0)
    np.fill_diagonal(blocked, False)
    return dist, dur, blocked


def _forbid(matrix: _IntMatrix, banned: tuple[int, ...], value: int) -> _IntMatrix:
    out = matrix.copy()
    out[list(banned), :] = value
    out[:, list(banned)] = value
    np.fill_diagonal(out, 0)
    return out


def _to_result(
    data: ProblemData, built: _Built, best: pyvrp.Solution, order_ids: list[str]
) -> EngineResult:
    n_veh = data.n_vehicles
    sequences: list[list[Visit]] = [[] for _ in range(n_veh)]
    free = [list(members) for members in built.vehicles_of_type]
    for route in best.routes():
        v = free[route.vehicle_type()].pop(0)
        seq: list[Visit] = []
        for activity in route:
            if activity.is_client():
                seq.append(built.client_node[activity.idx])
            elif activity.is_pickup():
                seq.append(built.shipment_nodes[activity.idx][0])
            elif activity.is_delivery():
                seq.append(built.shipment_nodes[activity.idx][1])
        visited = {n for n in seq if isinstance(n, int)}
        if not route.is_feasible() or visited & built.forbidden[v]:
            continue  # only an infeasible search result gets here: leave it out
        sequences[v] = seq
    served = {
        data.nodes[n].order for seq in sequences for n in seq if isinstance(n, int)
    }
    dropped = [oid for oid in order_ids if oid not in served]
    if not best.is_feasible():
        # The feasible routes are kept for a warm start, but they are no
        # answer: the search ended without a feasible solution.
        return EngineResult(
            sequences,
            dropped,
            float("inf"),
            failure="PyVRP found no feasible solution in its time",
        )
    return EngineResult(sequences, dropped, built.objective(best))


# -- the anchor: PyVRP on an instance file, straight through its own reader --


@dataclass(frozen=True)
class DirectResult:
    """PyVRP's own answer for an instance file.

    ``routes`` hold, per route, the visited locations as rows of the file
    (the depot is row 0, so for Solomon files a row is the customer number).
    ``distance`` is PyVRP's total in the rounded units of ``round_func``.
    """

    routes: list[list[int]]
    distance: int
    feasible: bool
    seconds: float


def solve_file_direct(
    path: str | Path,
    *,
    time_limit: float,
    seed: int = 0,
    round_func: str = "dimacs",
) -> DirectResult:
    """Run PyVRP on an instance file the way PyVRP's own tools do.

    Solomon / Gehring-Homberger text files are rewritten as VRPLIB first
    (same rows, ``EUC_2D``), then read by ``pyvrp.read`` with ``round_func``
    and solved by ``pyvrp.solve`` with ``MaxRuntime`` for what is left of
    ``time_limit``: reading is part of the wall time, as it is for every
    other engine (our model's solve counts its own indexing and checks).

    Parameters
    ----------
    path
        A VRPLIB file, or a Solomon-format text file.
    time_limit
        Seconds of wall time, reading included.
    seed
        Random seed.
    round_func
        PyVRP's rounding: ``"dimacs"`` truncates 10 x every value.

    Returns
    -------
    DirectResult
        The best solution's routes, distance and feasibility.
    """
    path = Path(path)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        source = path
        if _is_solomon(path):
            source = Path(tmp) / (path.stem + ".vrp")
            _solomon_to_vrplib(path, source)
        instance = pyvrp.read(source, round_func=round_func)
    with _quiet():
        result = pyvrp.solve(
            instance,
            stop=MaxRuntime(max(0.0, time_limit - (time.perf_counter() - t0))),
            seed=seed,
            collect_stats=False,
            display=False,
        )
    routes = [
        [instance.client(a.idx).location for a in route if a.is_client()]
        for route in result.best.routes()
    ]
    return DirectResult(
        routes=routes,
        distance=int(result.best.distance()),
        feasible=bool(result.best.is_feasible()),
        seconds=time.perf_counter() - t0,
    )


def _is_solomon(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as fh:
        head = [line.strip().upper() for _, line in zip(range(12), fh, strict=False)]
    return "VEHICLE" in head and "CUSTOMER" in head


def _solomon_to_vrplib(source: Path, target: Path) -> None:
    raw = vrplib.read_instance(source, instance_format="solomon")
    n = len(raw["node_coord"])
    vrplib.write_instance(
        target,
        {
            "NAME": str(raw["name"]),
            "TYPE": "VRPTW",
            "DIMENSION": n,
            "VEHICLES": int(raw["vehicles"]),
            "CAPACITY": int(raw["capacity"]),
            "EDGE_WEIGHT_TYPE": "EUC_2D",
            "NODE_COORD_SECTION": raw["node_coord"],
            "DEMAND_SECTION": raw["demand"],
            "TIME_WINDOW_SECTION": raw["time_window"],
            "SERVICE_TIME_SECTION": raw["service_time"],
            "DEPOT_SECTION": [1, -1],
        },
    )
