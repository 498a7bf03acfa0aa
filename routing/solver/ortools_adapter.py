"""The OR-Tools routing engine: the only module that imports OR-Tools.

Model (see docs/concepts.md for the vocabulary):

* ``time`` dimension: transit ``i -> j`` = service at ``i`` + travel + setup at
  ``j`` (when ``j`` is elsewhere); cumul = start of service; slack = waiting.
  Windows are cumul ranges with the gaps between several windows removed;
  soft windows add a per-second cost above the last window's end, and a
  job's ``buffer`` one above ``soft_end`` inside its hard window. Shifts bound
  start and end cumuls, ``max_duration`` bounds the span, per-hour costs are
  span costs, and breaks are interval variables on the dimension.
* ``deliver<d>`` dimensions count, per amount dimension ``d``, what is still on
  board to deliver (start free, end fixed at 0: the van leaves full); the
  ``collect<d>`` dimensions count what has been picked up (returns and
  shipments). Their sum at every node is bounded by the vehicle's capacity.
* every order is optional at its drop penalty, so an overloaded day degrades
  into unassigned orders instead of failing.

Search (docs/ortools-search.md has the measurements behind the defaults):

* ``ITERATED_LOCAL_SEARCH`` (the default) is OR-Tools' iterated local search:
  a first solution, then rounds of SISR ruin (strings of nearby visits
  removed) and cheapest-insertion recreate, each followed by a local-search
  descent, accepted by simulated annealing. Its temperatures are shares of the
  mean arc cost, so they do not depend on units.
* any other ``metaheuristic`` is an OR-Tools ``LocalSearchMetaheuristic`` name.
* with ``workers > 1`` forked helper processes run differently configured
  searches (iterated local search with larger ruins) for the same time, and
  the result with the lowest objective wins. Helpers run only from a main
  process with cores to spare, never from inside another process pool.
* a warm start (``initial``) is searched from with guided local search (the
  iterated local search cannot start from given routes in OR-Tools 9.15);
  helpers still search cold, so the result is never worse than the start.
* from :data:`CONSTRUCT_FROM` orders OR-Tools' own first solution does not
  come in time (none within 120 s at 2,000 orders), so a day that size
  without a warm start (and not a search bounded by ``iterations`` of at
  most :data:`~routing.solver.choice.BOUNDED_MAX` orders) starts from
  :func:`~routing.solver.construct.nearest_routes` instead, searched like a
  warm start by one process (a cold helper would find nothing in time).
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection

import numpy as np
import numpy.typing as npt
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_ils_pb2

from routing.model import Job
from routing.solver.choice import BOUNDED_MAX
from routing.solver.construct import nearest_routes
from routing.solver.data import ProblemData
from routing.solver.params import (
    ProgressCallback,
    SolveParams,
    cost_scale,
    fewest_vans,
    in_plan_units,
    uses_costs,
    van_charge,
)
from routing.solver.result import EngineResult
from routing.solver.timeline import BreakVisit, Visit

#: Penalty (cost units) for dropping an order when optimising distance only.
DISTANCE_DROP_PENALTY = 10**9
#: The ``metaheuristic`` value that selects OR-Tools' iterated local search.
ITERATED_LOCAL_SEARCH = "ITERATED_LOCAL_SEARCH"
#: What a warm-started search uses when iterated local search was asked for.
WARM_METAHEURISTIC = "GUIDED_LOCAL_SEARCH"
#: Simulated-annealing temperatures of the iterated local search, as shares of
#: the mean arc cost: early on a plan a quarter of an arc longer is often
#: accepted, at the end practically nothing worse is.
START_TEMPERATURE = 0.25
FINAL_TEMPERATURE = 2.5e-5
#: SISR's share of split-string removals that keep a longer middle part.
SISR_BYPASS = 0.01
#: Seconds a helper may take beyond the main search to hand its result back.
HELPER_GRACE = 30.0
#: From this many orders a day without a warm start starts from our own
#: construction: OR-Tools' parallel cheapest insertion took 32 s for the
#: first solution of a 1,000-order city day and found none of a 2,000-order
#: day in 120 s (benchmarks/RESULTS.md, "First solution at 2,000 and 5,000
#: orders"). With 60 s its start ends 1.4% cheaper at 1,000 orders; with
#: less than about 30 s it gives no plan at all.
CONSTRUCT_FROM = 1000


@dataclasses.dataclass(frozen=True)
class _Search:
    """One OR-Tools search: metaheuristic, SISR ruin size, warm start or not."""

    metaheuristic: str
    ruin_visits: int
    warm: bool


def solve_ortools(
    data: ProblemData,
    order_ids: Sequence[str],
    params: SolveParams,
    *,
    initial: Sequence[Sequence[int]] | None = None,
    progress: ProgressCallback | None = None,
    deadline: float | None = None,
) -> EngineResult:
    """Solve for the orders in ``order_ids`` (the rest are left out).

    Parameters
    ----------
    deadline
        A :func:`time.perf_counter` instant the caller's whole work should
        end by: the search gets what is left of it once the model is built,
        less as long again as building took (for reading the result back),
        at least :data:`MIN_SEARCH_SECONDS` and at most
        ``params.time_limit``. Without it the search runs
        ``params.time_limit``.
    initial
        Optional warm start: per vehicle, the data node indices to visit in
        order (breaks excluded). ``warm_started`` in the result says whether
        it was used; the result is then never worse than the start.
    progress
        Called on every solution of the search in this process.

    Returns
    -------
    EngineResult
        The sequences of the search with the lowest objective.
    """
    ids = list(order_ids)
    progress = in_plan_units(progress, data, params)
    if initial is None and _constructs(len(ids), params):
        spec = _searches(params, True, 1)[0]
        return _solve_once(
            data, ids, params, spec, None, progress, deadline, construct=True
        )
    searches = _searches(params, initial is not None, _search_count(params.workers))
    if len(searches) == 1:
        return _solve_once(data, ids, params, searches[0], initial, progress, deadline)
    t0 = time.perf_counter()
    main, results = _with_helpers(
        data, ids, params, searches, initial, progress, deadline
    )
    best = min(results, key=lambda r: r.objective)  # the main search wins ties
    if best is not main and progress is not None:
        progress("ortools", time.perf_counter() - t0, best.objective)
    return dataclasses.replace(best, warm_started=main.warm_started)


def _constructs(n_orders: int, params: SolveParams) -> bool:
    """Whether the search starts from our construction (module docstring).

    A search bounded by ``iterations`` up to :data:`BOUNDED_MAX` orders keeps
    OR-Tools' own start: it waits for its solutions anyway, and the
    simulator's repeatable days of 1,000 to 1,500 orders were measured with
    it (a few solutions from the construction would be little more than the
    construction).
    """
    if n_orders < CONSTRUCT_FROM:
        return False
    return params.iterations is None or n_orders > BOUNDED_MAX


def _with_helpers(
    data: ProblemData,
    ids: list[str],
    params: SolveParams,
    searches: list[_Search],
    initial: Sequence[Sequence[int]] | None,
    progress: ProgressCallback | None,
    deadline: float | None,
) -> tuple[EngineResult, list[EngineResult]]:
    """The first search here, the others in forked helpers.

    Returns the main result and every result that came back (main first).
    """
    context = multiprocessing.get_context("fork")
    helpers: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    try:
        for search in searches[1:]:
            receive, send = context.Pipe(duplex=False)
            proc = context.Process(
                target=_helper,
                args=(send, data, ids, params, search, deadline),
                daemon=True,
            )
            proc.start()
            send.close()
            helpers.append((proc, receive))
        main = _solve_once(data, ids, params, searches[0], initial, progress, deadline)
        results = [main]
        deadline = time.perf_counter() + HELPER_GRACE
        for _, receive in helpers:
            if receive.poll(max(0.0, deadline - time.perf_counter())):
                try:
                    got = receive.recv()
                except (EOFError, OSError):  # a crashed helper loses only itself
                    got = None
                if isinstance(got, EngineResult):
                    results.append(got)
    finally:
        for helper, pipe in helpers:
            pipe.close()
            helper.join(timeout=1.0)
            if helper.is_alive():
                helper.kill()
                helper.join()
    return main, results


def _search_count(workers: int) -> int:
    """How many searches to run at once: ``workers``, capped by idle cores.

    Only a main process forks helpers: inside someone else's worker process
    (a process pool) the cores are already spoken for.
    """
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if multiprocessing.parent_process() is not None:
        return 1
    if hasattr(os, "sched_getaffinity"):
        cpus = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - platforms without affinity masks
        cpus = os.cpu_count() or 1
    idle = cpus - 1 - len(multiprocessing.active_children())
    return max(1, min(workers, 1 + idle))


def _searches(params: SolveParams, warm: bool, count: int) -> list[_Search]:
    """The main search, then helpers: iterated local search, larger ruins."""
    first = params.metaheuristic
    if warm and first == ITERATED_LOCAL_SEARCH:
        first = WARM_METAHEURISTIC
    searches = [_Search(first, params.ruin_visits, warm)]
    ils_runs = int(first == ITERATED_LOCAL_SEARCH)
    while len(searches) < count:
        # Ruins of 1, 1.5, 2, ... times ruin_visits keep the searches apart.
        size = params.ruin_visits * (2 + ils_runs) // 2
        searches.append(_Search(ITERATED_LOCAL_SEARCH, size, False))
        ils_runs += 1
    return searches


def _helper(
    send: Connection,
    data: ProblemData,
    order_ids: list[str],
    params: SolveParams,
    search: _Search,
    deadline: float | None,
) -> None:
    """Forked helper: run one cold search and send its result back."""
    result: EngineResult | None
    try:
        result = _solve_once(data, order_ids, params, search, None, None, deadline)
    except Exception:  # the main process carries on with its own result
        result = None
    send.send(result)
    send.close()


#: The shortest search a deadline leaves (seconds): a warm start then has
#: time for its first improvements even when building the model ran late.
MIN_SEARCH_SECONDS = 1.0

#: Distance and time tables over a model's nodes, blocked arcs, mean arc.
_Tables = tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int64], dict[int, list[int]], float
]


@dataclasses.dataclass
class _Model:
    """One OR-Tools routing model over the data, as it is being built.

    OR-Tools node ``i`` is data node ``ours[i]``; ``local`` maps back. Starts
    and ends come first, and those at the same place share one node (they
    differ in nothing else), so identical vehicles fall into one OR-Tools
    vehicle class and the search does not try every empty route separately.
    """

    data: ProblemData
    order_ids: list[str]
    ours: list[int]
    local: dict[int, int]
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    solver: pywrapcp.Solver
    #: per solve band: distance and time tables, blocked arcs, mean arc
    tables: dict[int, _Tables]
    #: registered time-transit matrices per solve band
    time_cb: dict[int, int]
    #: registered distance matrices per solve band, made on first use: a
    #: 2,000-node table costs about a second to hand to OR-Tools
    dist_cb: dict[int, int] = dataclasses.field(default_factory=dict)
    #: solve band -> the first band with an equal distance table (memo: the
    #: comparison of two 2,000-node tables is asked once per vehicle)
    _same: dict[int, int] = dataclasses.field(default_factory=dict)

    def same_distances(self, band: int) -> int:
        """The first solve band with the same distance table as ``band``
        (straight lines differ between bands in time only): one table is
        handed to OR-Tools once."""
        if band not in self._same:
            self._same[band] = next(
                k
                for k in sorted(self.tables)
                if k == band or np.array_equal(self.tables[k][0], self.tables[band][0])
            )
        return self._same[band]

    def distance_callback(self, band: int) -> int:
        """The registered distance matrix of a solve band."""
        band = self.same_distances(band)
        if band not in self.dist_cb:
            self.dist_cb[band] = self.routing.RegisterTransitMatrix(
                self.tables[band][0].tolist()
            )
        return self.dist_cb[band]

    def node_of(self, index: int) -> int:
        """The data node of a routing index."""
        return self.ours[int(self.manager.IndexToNode(index))]

    def index_of(self, node: int) -> int:
        """The routing index of a data node."""
        return int(self.manager.NodeToIndex(self.local[node]))


def _solve_once(
    data: ProblemData,
    order_ids: list[str],
    params: SolveParams,
    search_spec: _Search,
    initial: Sequence[Sequence[int]] | None,
    progress: ProgressCallback | None,
    deadline: float | None = None,
    *,
    construct: bool = False,
) -> EngineResult:
    """Build the model and run one search (warm when the spec says so).

    With ``construct`` the warm start is :func:`nearest_routes` on the
    model's own tables (built here, so its time comes out of the search's).
    """
    started = time.perf_counter()
    model = _new_model(data, order_ids)
    with_costs = uses_costs(data, params)
    charge = _van_charge(model) if fewest_vans(params) else 0
    arc_costs = _add_costs(model, with_costs, charge)
    _remove_blocked_arcs(model)
    time_dim = _add_time(model, with_costs)
    _add_breaks(data, model.routing, model.solver, time_dim, model.node_of)
    _add_loads(data, model.routing, model.solver, model.ours)
    _add_limits(model)
    _add_orders(model, time_dim, with_costs, charge)
    if construct:
        initial = nearest_routes(
            data,
            order_ids,
            model.local,
            {k: (t[0], t[1]) for k, t in model.tables.items()},
            {k: t[2] for k, t in model.tables.items()},
        )
    if deadline is not None:
        # Reading the result back (re-timing, the checker) grows with the
        # day as building the model does: leave as much for it.
        now = time.perf_counter()
        left = deadline - now - (now - started)
        limit = min(params.time_limit, max(MIN_SEARCH_SECONDS, left))
        params = params.model_copy(update={"time_limit": limit})
    search = _search_parameters(
        params, search_spec, float(np.mean(arc_costs)) if arc_costs else 0.0
    )
    solution, warm = _search(model, search, search_spec, initial, progress)
    if solution is None:
        # No solution at all, not even "leave everything out": no answer.
        n_veh = data.n_vehicles
        return EngineResult(
            [[] for _ in range(n_veh)],
            list(order_ids),
            float("inf"),
            failure=f"OR-Tools found no first solution ({params.first_solution}) "
            f"in {params.time_limit:.2g} s",
        )
    result = _read_result(model, solution, time_dim, warm)
    return dataclasses.replace(result, constructed=construct and warm)


def _new_model(data: ProblemData, order_ids: list[str]) -> _Model:
    """Indices, the routing model and its travel callbacks per solve band."""
    ours: list[int] = []
    local: dict[int, int] = {}
    depot_node: dict[int | None, int] = {}
    for n in (*data.starts, *data.ends):
        point = data.nodes[n].point
        if point not in depot_node:
            depot_node[point] = len(ours)
            ours.append(n)
        local[n] = depot_node[point]
    for oid in order_ids:
        for n in data.order_nodes[oid]:
            local[n] = len(ours)
            ours.append(n)
    manager = pywrapcp.RoutingIndexManager(
        len(ours),
        data.n_vehicles,
        [local[n] for n in data.starts],
        [local[n] for n in data.ends],
    )
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()
    # Dense local tables: the matrices live on the C++ side, no Python call
    # per arc evaluation.
    tables = {k: _local_tables(data, ours, k) for k in sorted(set(data.solve_band))}
    time_cb = {
        k: routing.RegisterTransitMatrix(transit.tolist())
        for k, (_, transit, _, _) in tables.items()
    }
    return _Model(
        data, order_ids, ours, local, manager, routing, solver, tables, time_cb
    )


def _van_charge(model: _Model) -> int:
    """The fixed cost of a van when vans count first (:func:`van_charge`)."""
    longest = 0
    for dist, _, blocked, _ in model.tables.values():
        reach = dist.copy()
        for a, bs in blocked.items():  # no road: never driven
            reach[a, bs] = 0
        longest = max(longest, int(reach.max(initial=0)))
    visits = sum(len(model.data.order_nodes[o]) for o in model.order_ids)
    return van_charge(longest, visits, model.data.n_vehicles)


def _add_costs(model: _Model, with_costs: bool, charge: int = 0) -> list[float]:
    """Arc and fixed costs per vehicle; the mean arc cost of each vehicle.

    ``charge`` is the fixed cost of every van when vans count before
    distance (then ``with_costs`` is false).
    """
    data, routing, tables = model.data, model.routing, model.tables
    priced_cb: dict[tuple[int, float], int] = {}
    scale = cost_scale(data.problem.locale)
    arc_costs: list[float] = []  # mean arc cost per vehicle (for temperatures)
    for v, vehicle in enumerate(data.problem.vehicles):
        k = data.solve_band[v]
        if not with_costs:
            routing.SetArcCostEvaluatorOfVehicle(model.distance_callback(k), v)
            if charge:
                routing.SetFixedCostOfVehicle(charge, v)
            arc_costs.append(tables[k][3])
            continue
        rate = vehicle.costs.per_km
        arc_costs.append(scale * rate / 1000.0 * tables[k][3])
        k = model.same_distances(k)
        if (k, rate) not in priced_cb:
            factor = scale * rate / 1000.0
            # Vectorised: rounding 4 million arcs one by one took seconds.
            priced = np.rint(factor * tables[k][0]).astype(np.int64)
            priced_cb[(k, rate)] = routing.RegisterTransitMatrix(priced.tolist())
        routing.SetArcCostEvaluatorOfVehicle(priced_cb[(k, rate)], v)
        routing.SetFixedCostOfVehicle(round(scale * vehicle.costs.fixed), v)
    return arc_costs


def _remove_blocked_arcs(model: _Model) -> None:
    """Arcs without a road path are removed, never priced as free or long."""
    manager, routing = model.manager, model.routing
    for _, _, blocked, _ in model.tables.values():
        for a_local, b_locals in blocked.items():
            index = manager.NodeToIndex(a_local)
            if index < 0 or routing.IsEnd(index):
                continue
            targets = [manager.NodeToIndex(b) for b in b_locals]
            routing.NextVar(index).RemoveValues([t for t in targets if t >= 0])


def _add_time(model: _Model, with_costs: bool) -> pywrapcp.RoutingDimension:
    """The time dimension: shifts, durations, hourly costs and order windows."""
    data, routing = model.data, model.routing
    horizon = max(v.shift.end for v in data.problem.vehicles)
    for oid in model.order_ids:
        for n in data.order_nodes[oid]:
            for w in data.nodes[n].windows:
                horizon = max(horizon, w[1])
    horizon += 1
    routing.AddDimensionWithVehicleTransits(
        [model.time_cb[data.solve_band[v]] for v in range(data.n_vehicles)],
        horizon,
        horizon,
        False,
        "time",
    )
    time_dim = routing.GetDimensionOrDie("time")
    scale = cost_scale(data.problem.locale)
    for v, vehicle in enumerate(data.problem.vehicles):
        s, e = vehicle.shift.start, vehicle.shift.end
        time_dim.CumulVar(routing.Start(v)).SetRange(s, e)
        time_dim.CumulVar(routing.End(v)).SetRange(s, e)
        if vehicle.max_duration is not None:
            time_dim.SetSpanUpperBoundForVehicle(vehicle.max_duration, v)
        if with_costs and vehicle.costs.per_hour:
            time_dim.SetSpanCostCoefficientForVehicle(
                round(scale * vehicle.costs.per_hour / 3600.0), v
            )
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))
    _add_windows(model, time_dim, horizon)
    return time_dim


def _add_windows(
    model: _Model, time_dim: pywrapcp.RoutingDimension, horizon: int
) -> None:
    """Hard windows (gaps removed), or a soft end priced by lateness."""
    data = model.data
    scale = cost_scale(data.problem.locale)
    for oid in model.order_ids:
        order = data.orders[oid]
        for n in data.order_nodes[oid]:
            windows = data.nodes[n].windows
            if not windows:
                continue
            idx = model.index_of(n)
            cumul = time_dim.CumulVar(idx)
            if order.lateness_cost is None:
                cumul.SetRange(windows[0][0], windows[-1][1])
                if isinstance(order, Job) and order.soft_end is not None:
                    # The buffer: inside the window, but priced.
                    coef = max(1, round(scale * order.buffer_cost / 60.0))
                    time_dim.SetCumulVarSoftUpperBound(idx, order.soft_end, coef)
            else:
                cumul.SetRange(windows[0][0], horizon)
                coef = max(1, round(scale * order.lateness_cost / 60.0))
                time_dim.SetCumulVarSoftUpperBound(idx, windows[-1][1], coef)
            for (_, a_end), (b_start, _) in itertools.pairwise(windows):
                if b_start - a_end > 1:
                    cumul.RemoveInterval(a_end + 1, b_start - 1)


def _add_limits(model: _Model) -> None:
    """Per-vehicle limits on orders and distance."""
    data, routing, ours = model.data, model.routing, model.ours
    vehicles = data.problem.vehicles
    if any(v.max_orders is not None for v in vehicles):
        counts = [1 if data.nodes[n].kind in ("job", "delivery") else 0 for n in ours]
        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterUnaryTransitVector(counts),
            0,
            [v.max_orders or len(ours) for v in vehicles],
            True,
            "orders",
        )
    if any(v.max_distance is not None for v in vehicles):
        big = 10**12
        routing.AddDimensionWithVehicleTransitAndCapacity(
            [
                model.distance_callback(data.solve_band[v])
                for v in range(data.n_vehicles)
            ],
            0,
            [v.max_distance if v.max_distance is not None else big for v in vehicles],
            True,
            "distance",
        )


def _add_orders(
    model: _Model,
    time_dim: pywrapcp.RoutingDimension,
    with_costs: bool,
    charge: int = 0,
) -> None:
    """Which vehicle may serve which order, pickups before deliveries, penalties."""
    data, routing, solver = model.data, model.routing, model.solver
    n_veh = data.n_vehicles
    scale = cost_scale(data.problem.locale)
    base = data.problem.base_drop_penalty
    for oid in model.order_ids:
        order = data.orders[oid]
        allowed = [
            v
            for v, vehicle in enumerate(data.problem.vehicles)
            if data.can_serve(vehicle, order)
        ]
        dropping = data.problem.drop_penalty(order)
        if with_costs:
            penalty = round(scale * dropping)
        else:
            # Relative penalties still rank orders (priority) by distance;
            # above a van's charge, so no order is dropped to save a van.
            penalty = round((DISTANCE_DROP_PENALTY + charge) * dropping / base)
        idxs = [model.index_of(n) for n in data.order_nodes[oid]]
        for idx in idxs:
            if len(allowed) < n_veh:
                # -1 keeps "unperformed" possible (the disjunction decides).
                routing.VehicleVar(idx).SetValues([-1, *allowed])
        if len(idxs) == 2:
            p, d = idxs
            routing.AddPickupAndDelivery(p, d)
            solver.Add(routing.VehicleVar(p) == routing.VehicleVar(d))
            solver.Add(time_dim.CumulVar(p) <= time_dim.CumulVar(d))
            routing.AddDisjunction([p], penalty)
            routing.AddDisjunction([d], 0)
        else:
            routing.AddDisjunction(idxs, penalty)


def _search(
    model: _Model,
    search: pywrapcp.RoutingSearchParameters,
    search_spec: _Search,
    initial: Sequence[Sequence[int]] | None,
    progress: ProgressCallback | None,
) -> tuple[pywrapcp.Assignment | None, bool]:
    """Run the search, warm from ``initial`` when the spec says so.

    Also says whether the warm start was read (a search that fails from it
    runs cold, still marked warm).
    """
    routing = model.routing
    warm = False
    t0 = time.perf_counter()
    if progress is not None:
        report = progress

        def on_solution() -> None:
            report("ortools", time.perf_counter() - t0, routing.CostVar().Max())

        routing.AddAtSolutionCallback(on_solution)
    if initial is not None and search_spec.warm:
        routing.CloseModelWithParameters(search)
        # Routes are read as routing *indices*, not manager node numbers.
        routes = [
            [model.index_of(n) for n in seq if n in model.local] for seq in initial
        ]
        start = routing.ReadAssignmentFromRoutes(routes, True)
        if start is not None:
            warm = True
            solution = routing.SolveFromAssignmentWithParameters(start, search)
            if solution is not None:
                return solution, warm
    if search.use_iterated_local_search:
        return routing.SolveWithIteratedLocalSearch(search), warm
    return routing.SolveWithParameters(search), warm


def _read_result(
    model: _Model,
    solution: pywrapcp.Assignment,
    time_dim: pywrapcp.RoutingDimension,
    warm: bool,
) -> EngineResult:
    """The visit sequences (with breaks placed) and the dropped orders."""
    data, routing = model.data, model.routing
    sequences: list[list[Visit]] = []
    served: set[str] = set()
    intervals = solution.IntervalVarContainer()
    for v in range(data.n_vehicles):
        visits: list[tuple[int, int]] = []  # (service start, data node)
        idx = solution.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(idx):
            n = model.node_of(idx)
            visits.append((solution.Value(time_dim.CumulVar(idx)), n))
            order_id = data.nodes[n].order
            if order_id is not None:
                served.add(order_id)
            idx = solution.Value(routing.NextVar(idx))
        seq: list[Visit] = [n for _, n in visits]
        if visits and data.problem.vehicles[v].breaks:
            seq = _place_breaks(data, v, visits, intervals, solution)
        sequences.append(seq)
    dropped = [oid for oid in model.order_ids if oid not in served]
    return EngineResult(
        sequences, dropped, float(solution.ObjectiveValue()), warm_started=warm
    )


def _search_parameters(
    params: SolveParams, spec: _Search, arc_cost: float
) -> pywrapcp.RoutingSearchParameters:
    """OR-Tools search parameters for one search.

    ``arc_cost`` is the mean cost of an arc; iterated local search scales its
    annealing temperatures by it.
    """
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, params.first_solution
    )
    search.time_limit.FromMilliseconds(max(1, round(params.time_limit * 1000)))
    if params.iterations is not None:
        search.solution_limit = params.iterations
    if spec.metaheuristic != ITERATED_LOCAL_SEARCH:
        search.local_search_metaheuristic = getattr(
            routing_enums_pb2.LocalSearchMetaheuristic, spec.metaheuristic
        )
        return search
    # Each perturbed solution is improved by a plain descent.
    search.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    )
    search.use_iterated_local_search = True
    ils = search.iterated_local_search_parameters
    ils.perturbation_strategy = routing_ils_pb2.PerturbationStrategy.RUIN_AND_RECREATE
    ils.improve_perturbed_solution = True
    rr = ils.ruin_recreate_parameters
    del rr.ruin_strategies[:]
    sisr = rr.ruin_strategies.add().sisr
    sisr.avg_num_removed_visits = spec.ruin_visits
    sisr.max_removed_sequence_size = params.ruin_sequence
    sisr.bypass_factor = SISR_BYPASS
    rr.recreate_strategy.heuristic = (
        routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
    )
    annealing = ils.reference_solution_acceptance_strategy.simulated_annealing
    annealing.cooling_schedule_strategy = (
        routing_ils_pb2.CoolingScheduleStrategy.EXPONENTIAL
    )
    annealing.automatic_temperatures = False
    scale = max(arc_cost, 1.0)
    annealing.initial_temperature = START_TEMPERATURE * scale
    annealing.final_temperature = FINAL_TEMPERATURE * scale
    ils.best_solution_acceptance_strategy.greedy_descent.SetInParent()
    return search


def _local_tables(data: ProblemData, ours: list[int], band: int) -> _Tables:
    """Distance and time-transit tables over the model's nodes, blocked arcs,
    and the mean distance of an arc between two different reachable places.

    Time transit ``a -> b`` = service at ``a`` + travel + setup at ``b`` when
    ``b`` is elsewhere. Free starts/ends (no place) cost nothing to leave or
    reach.
    """
    matrix = data.matrices[band]
    assert matrix is not None
    pts = np.array(
        [-1 if data.nodes[n].point is None else data.nodes[n].point for n in ours],
        dtype=np.int64,
    )
    free = pts < 0
    safe = np.where(free, 0, pts)
    grid = np.ix_(safe, safe)
    dist = matrix.distances[grid]  # fancy indexing copies
    dur = matrix.durations[grid]
    anywhere = free[:, None] | free[None, :]
    dist[anywhere] = 0
    dur[anywhere] = 0
    service = np.array([data.nodes[n].service for n in ours], dtype=np.int64)
    setup = np.array([data.nodes[n].setup for n in ours], dtype=np.int64)
    same_place = (pts[:, None] == pts[None, :]) & ~free[:, None]
    transit = service[:, None] + dur + np.where(same_place, 0, setup[None, :])
    blocked: dict[int, list[int]] = {}
    real = ~anywhere & ~same_place
    if matrix.unreachable is not None:
        mask = matrix.unreachable[grid] & ~anywhere
        real &= ~mask
        for a, b in zip(*np.nonzero(mask), strict=True):
            blocked.setdefault(int(a), []).append(int(b))
    mean = float(dist[real].mean()) if real.any() else 0.0
    return dist, transit, blocked, mean


def _add_breaks(
    data: ProblemData,
    routing: pywrapcp.RoutingModel,
    solver: pywrapcp.Solver,
    time_dim: pywrapcp.RoutingDimension,
    node_of: Callable[[int], int],
) -> None:
    """Breaks as intervals of each vehicle, never overlapping a service."""
    if not any(v.breaks for v in data.problem.vehicles):
        return
    # Breaks may not overlap service; indexed by routing index.
    visit_transits = [
        data.nodes[node_of(index)].service for index in range(routing.Size())
    ]
    for v, vehicle in enumerate(data.problem.vehicles):
        if not vehicle.breaks:
            continue
        intervals = []
        for b, brk in enumerate(vehicle.breaks):
            first, last = brk.time_windows[0], brk.time_windows[-1]
            interval = solver.FixedDurationIntervalVar(
                first.start, last.end, brk.service, False, f"break {v} {b}"
            )
            start = interval.SafeStartExpr(0).Var()
            for a, c in zip(brk.time_windows, brk.time_windows[1:], strict=False):
                if c.start - a.end > 1:
                    start.RemoveInterval(a.end + 1, c.start - 1)
            intervals.append(interval)
        time_dim.SetBreakIntervalsOfVehicle(intervals, v, visit_transits)


def _place_breaks(
    data: ProblemData,
    v: int,
    visits: list[tuple[int, int]],
    intervals: pywrapcp.IntervalVarContainer,
    solution: pywrapcp.Assignment,
) -> list[Visit]:
    """Put each break before the first stop whose service starts after it."""
    starts: dict[int, int] = {}
    for k in range(intervals.Size()):
        element = intervals.Element(k)
        name = element.Var().Name()
        parts = name.split()
        if len(parts) == 3 and parts[0] == "break" and int(parts[1]) == v:
            starts[int(parts[2])] = solution.StartValue(element.Var())
    order = sorted(starts, key=lambda b: starts[b])
    seq: list[Visit] = []
    k = 0
    for service_start, n in visits:
        while (
            k < len(order)
            and starts[order[k]] + data.problem.vehicles[v].breaks[order[k]].service
            <= service_start
        ):
            seq.append(BreakVisit(order[k]))
            k += 1
        seq.append(n)
    seq.extend(BreakVisit(b) for b in order[k:])
    return seq


def _add_loads(
    data: ProblemData,
    routing: pywrapcp.RoutingModel,
    solver: pywrapcp.Solver,
    ours: list[int],
) -> None:
    problem = data.problem
    nodes = data.nodes
    has_deliveries = any(any(n.delivery) for n in nodes)
    has_pickups = any(any(n.pickup) for n in nodes)
    for d in range(data.n_dims):
        caps = [v.capacity[d] for v in problem.vehicles]
        deliver_dim = collect_dim = None
        if has_deliveries and not has_pickups:
            # Deliveries only: the classic "delivered so far" count from 0 is
            # the same constraint and propagates far better than a free start.
            routing.AddDimensionWithVehicleCapacity(
                routing.RegisterUnaryTransitVector(
                    [nodes[n].delivery[d] for n in ours]
                ),
                0,
                caps,
                True,
                f"deliver{d}",
            )
            continue
        if has_deliveries:
            routing.AddDimensionWithVehicleCapacity(
                routing.RegisterUnaryTransitVector(
                    [-nodes[n].delivery[d] for n in ours]
                ),
                0,
                caps,
                False,
                f"deliver{d}",
            )
            deliver_dim = routing.GetDimensionOrDie(f"deliver{d}")
            for v in range(data.n_vehicles):
                deliver_dim.CumulVar(routing.End(v)).SetValue(0)
        if has_pickups:
            routing.AddDimensionWithVehicleCapacity(
                routing.RegisterUnaryTransitVector([nodes[n].pickup[d] for n in ours]),
                0,
                caps,
                True,
                f"collect{d}",
            )
            collect_dim = routing.GetDimensionOrDie(f"collect{d}")
        if deliver_dim is None or collect_dim is None:
            continue
        # Both kinds: what is on board is the sum, bounded by the capacity.
        padded = [max(caps), *caps]  # VehicleVar is -1 for unperformed nodes
        for index in range(routing.Size()):
            cap = solver.Element(padded, routing.VehicleVar(index) + 1)
            solver.Add(deliver_dim.CumulVar(index) + collect_dim.CumulVar(index) <= cap)
        for v in range(data.n_vehicles):
            end = routing.End(v)
            solver.Add(deliver_dim.CumulVar(end) + collect_dim.CumulVar(end) <= caps[v])
