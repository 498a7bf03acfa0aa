"""Cheapest feasible insertion into a timed plan, without solving again.

:class:`LivePlan` is a working copy of a plan that can take one more job at
a time. It answers "where would this job go, and what would it cost?" in
milliseconds for a day of a thousand orders, which is what a checkout quote
or an urgent order needs; the full re-optimisation runs elsewhere.

How one job is placed:

1. **Neighbourhood.** Only positions next to the ``neighbours`` stops nearest
   to the job (straight-line, or by travel time when the problem has no
   coordinates) are tried, plus one empty vehicle of each kind. Travel between
   the job and those stops is priced by the travel model in small chunks, per
   time band, never as a full matrix.
2. **Screening.** Every position is judged in constant time from the timed
   steps of the plan: the new stop's service start from the departure of the
   stop before it; the push it gives the stop after it must fit in that stop's
   ``slack``; the load must fit using prefix and suffix maxima of the loads
   (a delivery rides from the depot, a return to the end, an exchange both).
3. **Verification.** The cheapest screened positions are re-timed exactly
   with the common timeline (:func:`routing.solver.timeline.schedule_route`,
   on a problem of that one vehicle) and checked: windows, shift end,
   ``max_duration``, loads, order and distance limits. The first that passes
   wins. Screening is exact except where travel bands change under a push or
   a break sits in the gap; verification makes the answer exact.

Marginal cost, in the problem's currency: ``per_km`` x added distance +
``per_hour`` x added route time (the push that reaches the route's end;
waiting the van had anyway is free) + the vehicle's fixed cost when it
opens an unused vehicle. When the
vehicles carry no costs (or the objective is distance) it is the added
distance in metres; with ``"vans_then_distance"`` opening an unused vehicle
adds :data:`OPEN_VAN` metres, more than any day's distance, so a new van is
the last resort.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from routing.model import Job, Location, Order, Problem, Shipment, Vehicle
from routing.plan import Plan, Reason, Route, StepType, Unassigned, plan_from_routes
from routing.solver.data import (
    build_data,
    fits_alone,
    incompatibility,
    travel_model_for,
)
from routing.solver.precheck import precheck
from routing.solver.timeline import BreakVisit, Visit, schedule, schedule_route
from routing.travel import TravelModel, band_index, day_band_starts, plan_travel_spec

#: A visit on a route by key: ``(order id, end)`` with ``end`` 0 for a job or
#: a shipment's pickup and 1 for its delivery; ``("", k)`` is break ``k``.
VisitKey = tuple[str, int]
Objective = Literal["cost", "distance", "vans_then_distance"]

INF = 10**12
#: Metres charged for opening an unused vehicle when vans count first: more
#: than any day's distance (a million km), and exact in a float next to it.
OPEN_VAN = 1e9
#: Places priced per travel-model call when pricing legs to a new stop.
CHUNK = 64
#: Screened positions re-timed exactly before giving up on a job.
MAX_VERIFY = 8


@dataclass(frozen=True)
class Insertion:
    """Where a job goes and what it adds.

    ``vehicle`` indexes ``problem.vehicles``; ``position`` is the index in the
    vehicle's visit list the job takes (0 = first stop). ``cost`` is the
    marginal cost (see the module docstring), ``distance`` the added metres,
    ``span`` the added route seconds, ``work`` the added driving, setup and
    service seconds. ``service_start`` is the screened start of service.
    """

    vehicle: int
    position: int
    cost: float
    distance: int
    span: int
    work: int
    service_start: int
    opens_vehicle: bool = False


@dataclass(frozen=True)
class NewStop:
    """What screening needs to know about a job."""

    location: Location
    setup: int
    service: int
    windows: tuple[tuple[int, int], ...]
    delivery: tuple[int, ...]
    pickup: tuple[int, ...]


@dataclass
class _View:
    """Per-step arrays of a timed route (breaks included), for screening."""

    route: Route
    locs: list[Location | None]
    dep: list[int]
    start: list[int]
    arr: list[int]
    slack: list[int]
    node_setup: list[int]
    cdist: list[int]
    cdrive: list[int]
    wait_after: list[int]
    load: list[tuple[int, ...]]
    prefmax: list[tuple[int, ...]]
    sufmax: list[tuple[int, ...]]
    real: list[bool]
    next_real: list[int]
    prev_real: list[int]
    empty: bool
    breaks_between: list[bool] = field(default_factory=list)


def assemble(
    problem: Problem,
    routes: Iterable[Route],
    unassigned: Iterable[Unassigned],
    *,
    engine: str,
    seconds: float,
) -> Plan:
    """A :class:`Plan` from timed routes and unassigned orders.

    The same totals as :func:`routing.solver.timeline.assemble_plan`, without
    the dense problem (which large problems never build as a whole).
    """
    return plan_from_routes(
        routes,
        unassigned,
        orders=len(problem.jobs) + len(problem.shipments),
        engine=engine,
        seconds=seconds,
    )


def visit_keys(vehicle: Vehicle, route: Route) -> list[VisitKey]:
    """A timed route's visits (start and end excluded) as keys."""
    keys: list[VisitKey] = []
    for s in route.steps[1:-1]:
        if s.type == StepType.BREAK:
            index = next(k for k, b in enumerate(vehicle.breaks) if b.id == s.id)
            keys.append(("", index))
        else:
            assert s.id is not None
            keys.append((s.id, 1 if s.type == StepType.DELIVERY else 0))
    return keys


def stop_of(problem: Problem, job: Job) -> NewStop:
    """Screening data of a job: place, times and amounts as the timeline uses."""
    setup, service = job.setup, job.service
    if job.station is not None:
        station = problem.station(job.station)
        setup, service = station.service, station.per_parcel + job.service
    return NewStop(
        location=problem.job_location(job),
        setup=setup,
        service=service,
        windows=tuple((w.start, w.end) for w in job.time_windows),
        delivery=job.delivered,
        pickup=job.collected,
    )


def route_violation(
    orders: Mapping[str, Order], vehicle: Vehicle, route: Route
) -> str | None:
    """The first rule a timed route breaks, or ``None`` (windows hard)."""
    steps = route.steps
    if steps[0].departure < vehicle.shift.start:
        return "leaves before the shift"
    if steps[-1].arrival > vehicle.shift.end:
        return "returns after the shift"
    if (
        vehicle.max_duration is not None
        and steps[-1].arrival - steps[0].departure > vehicle.max_duration
    ):
        return "longer than max_duration"
    if vehicle.max_distance is not None and route.distance > vehicle.max_distance:
        return "longer than max_distance"
    if vehicle.max_orders is not None and route.orders > vehicle.max_orders:
        return "more orders than max_orders"
    if route.orders > 0:
        taken = {s.id for s in steps if s.type == StepType.BREAK}
        missing = [b.id for b in vehicle.breaks if b.id not in taken]
        if missing:
            return f"break {missing[0]} missing"
    for s in steps:
        if any(q > c or q < 0 for q, c in zip(s.load, vehicle.capacity, strict=True)):
            return f"load {list(s.load)} exceeds the capacity"
        if s.type == StepType.BREAK:
            if s.late > 0:
                return f"break {s.id} outside its windows"
            continue
        if s.id is None:
            continue
        order = orders[s.id]
        if order.lateness_cost is not None:
            continue
        windows = _step_windows(order, s.type)
        if windows and not any(a <= s.service_start <= b for a, b in windows):
            return f"order {s.id} outside its windows"
    return None


def _step_windows(order: Order, kind: StepType) -> tuple[tuple[int, int], ...]:
    if isinstance(order, Job):
        tws = order.time_windows
    else:
        tws = (
            order.pickup.time_windows
            if kind == StepType.PICKUP
            else order.delivery.time_windows
        )
    return tuple((w.start, w.end) for w in tws)


def _node_setup(problem: Problem, order: Order, kind: StepType) -> int:
    if isinstance(order, Job):
        if order.station is not None:
            return problem.station(order.station).service
        return order.setup
    return order.pickup.setup if kind == StepType.PICKUP else order.delivery.setup


def _by_cost(problem: Problem, objective: Objective) -> bool:
    if objective != "cost":
        return False
    return any(
        v.costs.fixed or v.costs.per_km or v.costs.per_hour for v in problem.vehicles
    )


def _vehicle_kind(vehicle: Vehicle) -> tuple[object, ...]:
    """Vehicles with the same kind are interchangeable when unused."""
    return (
        vehicle.start,
        vehicle.end,
        vehicle.capacity,
        vehicle.shift,
        vehicle.costs,
        vehicle.skills,
        vehicle.breaks,
        vehicle.max_duration,
        vehicle.max_distance,
        vehicle.max_orders,
        vehicle.night,
        vehicle.profile,
    )


class LivePlan:
    """A plan that takes one job at a time by cheapest feasible insertion.

    Parameters
    ----------
    problem
        The problem the routes serve. Jobs added by :meth:`insert` are
        appended to it (see :attr:`problem`).
    travel
        Travel model (the problem's own matrices win, as in ``solve()``).
    routes
        Timed routes by vehicle id (vehicles without one are unused).
    unassigned
        Orders the plan leaves out.
    fixed
        Per vehicle id, how many leading visits are fixed (a committed stop):
        nothing is inserted before them.
    objective
        ``"cost"`` (money) or ``"distance"`` (metres) for marginal costs.
    neighbours
        How many nearby stops a job is tried next to (``None``: all).
    pinned
        Vehicle ids that leave their start exactly at their shift start (a
        van already on the road), instead of as late as the timeline allows.
    """

    def __init__(
        self,
        problem: Problem,
        travel: TravelModel,
        routes: Mapping[str, Route],
        unassigned: Iterable[Unassigned] = (),
        *,
        fixed: Mapping[str, int] | None = None,
        objective: Objective = "cost",
        neighbours: int | None = 60,
        pinned: Iterable[str] = (),
    ) -> None:
        self._problem = problem
        self._jobs: list[Job] = list(problem.jobs)
        self._travel = travel_model_for(problem, travel)
        # Band k starts at elapsed _band_starts[k], priced at _wall_starts[k].
        self._band_starts = day_band_starts(problem, self._travel)
        self._wall_starts = tuple(self._travel.band_starts) or (0,)
        self.orders: dict[str, Order] = {o.id: o for o in problem.orders}
        self.vehicles = problem.vehicles
        self._vindex = {v.id: k for k, v in enumerate(problem.vehicles)}
        self.routes: list[Route | None] = [routes.get(v.id) for v in self.vehicles]
        self.visits: list[list[VisitKey]] = [
            [] if r is None else visit_keys(v, r)
            for v, r in zip(self.vehicles, self.routes, strict=True)
        ]
        self.unassigned: dict[str, Unassigned] = {u.id: u for u in unassigned}
        fixed = fixed or {}
        self.fixed = [fixed.get(v.id, 0) for v in self.vehicles]
        pins = set(pinned)
        self.pinned = [v.id in pins for v in self.vehicles]
        self.objective: Objective = objective
        self.by_cost = _by_cost(problem, objective)
        self.open_van = OPEN_VAN if objective == "vans_then_distance" else 0.0
        self.neighbours = neighbours
        self._views: dict[int, _View] = {}
        self._empty_views: dict[int, _View] = {}
        self._coords: tuple[npt.NDArray[np.float64], list[tuple[int, int]]] | None = (
            None
        )
        self._has_coords = all(loc.has_coordinates for _, loc in problem.locations())

    # -- construction ---------------------------------------------------------

    @classmethod
    def from_plan(
        cls,
        problem: Problem,
        plan: Plan,
        travel: TravelModel,
        *,
        fixed: Mapping[str, int] | None = None,
        objective: Objective = "cost",
        neighbours: int | None = 60,
        pinned: Iterable[str] = (),
    ) -> LivePlan:
        """Wrap a timed plan of ``problem`` (its routes are used as they are)."""
        return cls(
            problem,
            travel,
            {r.vehicle: r for r in plan.routes},
            plan.unassigned,
            fixed=fixed,
            objective=objective,
            neighbours=neighbours,
            pinned=pinned,
        )

    @classmethod
    def from_visits(
        cls,
        problem: Problem,
        travel: TravelModel,
        visits: Mapping[str, Sequence[VisitKey]],
        unassigned: Iterable[Unassigned] = (),
        *,
        fixed: Mapping[str, int] | None = None,
        objective: Objective = "cost",
        neighbours: int | None = 60,
        pinned: Iterable[str] = (),
    ) -> LivePlan:
        """Time each vehicle's visits with the common timeline."""
        live = cls(
            problem,
            travel,
            {},
            unassigned,
            fixed=fixed,
            objective=objective,
            neighbours=neighbours,
            pinned=pinned,
        )
        for vid, keys in visits.items():
            if keys:
                v = live._vindex[vid]
                live._set_route(v, list(keys), live.time_route(v, keys))
        return live

    # -- public queries -------------------------------------------------------

    @property
    def problem(self) -> Problem:
        """The problem with every job inserted so far."""
        if len(self._jobs) != len(self._problem.jobs):
            self._problem = self._problem.model_copy(update={"jobs": tuple(self._jobs)})
        return self._problem

    @property
    def travel(self) -> TravelModel:
        return self._travel

    def vehicle_index(self, vehicle_id: str) -> int:
        return self._vindex[vehicle_id]

    def plan(self, *, engine: str = "insertion", seconds: float = 0.0) -> Plan:
        """The current routes and unassigned orders as a :class:`Plan`, with
        the travel model they are timed with."""
        plan = assemble(
            self.problem,
            (r for r in self.routes if r is not None),
            self.unassigned.values(),
            engine=engine,
            seconds=seconds,
        )
        return plan.model_copy(
            update={"travel": plan_travel_spec(self.problem, self._travel)}
        )

    def where(self) -> dict[str, tuple[str, int]]:
        """Per served order: (vehicle id, service start)."""
        out: dict[str, tuple[str, int]] = {}
        for route in self.routes:
            if route is None:
                continue
            for s in route.steps:
                if s.type in (StepType.JOB, StepType.DELIVERY) and s.id is not None:
                    out[s.id] = (route.vehicle, s.service_start)
        return out

    def time_route(
        self, v: int, visits: Sequence[VisitKey], extra: Job | None = None
    ) -> Route:
        """Time vehicle ``v`` visiting ``visits`` with the common timeline.

        Builds the dense data of a one-vehicle problem (its own orders only),
        so the cost grows with the route, not with the day. ``extra`` is a
        job not yet in the problem.
        """
        vehicle = self.vehicles[v]
        ids = list(dict.fromkeys(o for o, _ in visits if o))
        jobs: list[Job] = []
        shipments: list[Shipment] = []
        for oid in ids:
            order = extra if extra is not None and oid == extra.id else self.orders[oid]
            if isinstance(order, Job):
                jobs.append(order)
            else:
                shipments.append(order)
        sub = self._problem.model_copy(
            update={
                "vehicles": (vehicle,),
                "jobs": tuple(jobs),
                "shipments": tuple(shipments),
                "matrices": None,
            }
        )
        data = build_data(sub, self._travel)
        seq: list[Visit] = [
            BreakVisit(end) if not oid else data.order_nodes[oid][end]
            for oid, end in visits
        ]
        if self.pinned[v]:
            # the van is on the road: it leaves where it is when it is there
            return schedule(data, 0, seq, vehicle.shift.start)
        return schedule_route(data, 0, seq)

    def violation(self, v: int, route: Route, extra: Job | None = None) -> str | None:
        """What a timed route of vehicle ``v`` breaks, or ``None``."""
        orders: Mapping[str, Order] = self.orders
        if extra is not None:
            orders = {**self.orders, extra.id: extra}
        return route_violation(orders, self.vehicles[v], route)

    # -- insertion ------------------------------------------------------------

    def candidates(
        self,
        jobs: Sequence[Job],
        *,
        vehicles: Iterable[int] | None = None,
        probe: Probe | None = None,
    ) -> list[list[Insertion]]:
        """Screened feasible positions for each job, cheapest first.

        All ``jobs`` must share one place (they differ in windows or service
        level): the travel to and from it is priced once.
        """
        if not jobs:
            return []
        stop = stop_of(self.problem, jobs[0])
        probe = probe or self.probe(stop.location)
        allowed = None if vehicles is None else set(vehicles)
        out: list[list[Insertion]] = []
        for job in jobs:
            st = stop_of(self.problem, job)
            compat = [
                v
                for v, vehicle in enumerate(self.vehicles)
                if (allowed is None or v in allowed)
                and incompatibility(vehicle, job) is None
                and fits_alone(job, vehicle)
            ]
            found: list[Insertion] = []
            compat_set = set(compat)
            for v, a, b in probe.positions:
                if v in compat_set:
                    ins = self._screen(probe, st, v, a, b)
                    if ins is not None:
                        found.append(ins)
            for v in probe.empty_for(compat_set):
                ins = self._screen(probe, st, v, 0, 1)
                if ins is not None:
                    found.append(ins)
            found.sort(key=lambda i: (i.cost, i.span, i.vehicle, i.position))
            out.append(found)
        return out

    def best(
        self,
        job: Job,
        *,
        vehicles: Iterable[int] | None = None,
        probe: Probe | None = None,
        screened: Sequence[Insertion] | None = None,
        max_verify: int = MAX_VERIFY,
    ) -> tuple[Insertion, Route] | None:
        """The cheapest position that passes exact re-timing, and its route."""
        if screened is None:
            screened = self.candidates([job], vehicles=vehicles, probe=probe)[0]
        extra = None if job.id in self.orders else job
        for ins in screened[:max_verify]:
            keys = list(self.visits[ins.vehicle])
            keys.insert(ins.position, (job.id, 0))
            for placed in self.with_breaks(ins.vehicle, keys):
                route = self.time_route(ins.vehicle, placed, extra)
                if self.violation(ins.vehicle, route, extra) is None:
                    return ins, route
        return None

    def with_breaks(self, v: int, keys: list[VisitKey]) -> list[list[VisitKey]]:
        """``keys``, or, when they hold none of vehicle ``v``'s breaks (an
        unused van taking its first stops), ``keys`` with the breaks put in
        at each gap in turn, all together: the timeline takes a break only
        where the sequence has it."""
        breaks = [("", k) for k in range(len(self.vehicles[v].breaks))]
        if not breaks or any(not o for o, _ in keys):
            return [keys]
        return [[*keys[:i], *breaks, *keys[i:]] for i in range(len(keys), -1, -1)]

    def insert(
        self,
        job: Job,
        *,
        vehicles: Iterable[int] | None = None,
        found: tuple[Insertion, Route] | None = None,
    ) -> Insertion | None:
        """Insert ``job`` at its cheapest feasible position; ``None`` if none.

        A job not yet in the problem is added to it; one listed as unassigned
        leaves that list.
        """
        if found is None:
            found = self.best(job, vehicles=vehicles)
        if found is None:
            return None
        ins, route = found
        if job.id not in self.orders:
            self._jobs.append(job)
            self.orders[job.id] = job
        keys = visit_keys(self.vehicles[ins.vehicle], route)
        self._set_route(ins.vehicle, keys, route)
        self.unassigned.pop(job.id, None)
        return ins

    def leave_out(self, order: Order, unassigned: Unassigned) -> None:
        """Record an order as unassigned (adding a new job to the problem)."""
        if order.id not in self.orders:
            assert isinstance(order, Job)
            self._jobs.append(order)
            self.orders[order.id] = order
        self.unassigned[order.id] = unassigned

    def replace(self, order: Order) -> None:
        """Put a new version of an order in the problem; its route is re-timed."""
        if isinstance(order, Job):
            self._jobs = [order if j.id == order.id else j for j in self._jobs]
            update: dict[str, object] = {"jobs": tuple(self._jobs)}
        else:
            shipments = self._problem.shipments
            update = {
                "shipments": tuple(order if s.id == order.id else s for s in shipments)
            }
        self._problem = self._problem.model_copy(update=update)
        self.orders[order.id] = order
        for v, keys in enumerate(self.visits):
            if any(oid == order.id for oid, _ in keys):
                self._set_route(v, keys, self.time_route(v, keys))

    def remove(self, order_id: str) -> int | None:
        """Take an order off its route (re-timed); returns the vehicle index."""
        for v, keys in enumerate(self.visits):
            if any(oid == order_id for oid, _ in keys):
                rest = [k for k in keys if k[0] != order_id]
                if any(oid for oid, _ in rest):
                    self._set_route(v, rest, self.time_route(v, rest))
                else:
                    self._set_route(v, [], None)
                return v
        return None

    def set_visits(self, v: int, keys: Sequence[VisitKey]) -> Route | None:
        """Replace a vehicle's visits (re-timed)."""
        route = self.time_route(v, keys) if any(o for o, _ in keys) else None
        self._set_route(v, list(keys), route)
        return route

    def _set_route(self, v: int, keys: list[VisitKey], route: Route | None) -> None:
        if route is not None and not any(o for o, _ in keys):
            route = None
        self.visits[v] = keys if route is not None else []
        self.routes[v] = route
        self._views.pop(v, None)
        self._coords = None

    # -- screening ------------------------------------------------------------

    def probe(self, location: Location) -> Probe:
        """Positions near ``location`` and lazy travel to and from it."""
        return Probe(self, location)

    def view(self, v: int) -> _View:
        """Screening arrays of vehicle ``v``'s route (an empty route if unused)."""
        route = self.routes[v]
        if route is None:
            if v not in self._empty_views:
                self._empty_views[v] = self._make_view(self.time_route(v, []), True)
            return self._empty_views[v]
        if v not in self._views:
            self._views[v] = self._make_view(route, False)
        return self._views[v]

    def _make_view(self, route: Route, empty: bool) -> _View:
        steps = route.steps
        n = len(steps)
        n_dims = len(steps[0].load) if steps[0].load else 0
        node_setup = []
        for s in steps:
            if s.id is not None and s.type != StepType.BREAK:
                node_setup.append(_node_setup(self._problem, self.orders[s.id], s.type))
            else:
                node_setup.append(0)
        wait_after = [0] * n
        for k in range(n - 2, -1, -1):
            wait_after[k] = wait_after[k + 1] + steps[k + 1].waiting_time
        loads = [s.load if s.load else (0,) * n_dims for s in steps]
        prefmax: list[tuple[int, ...]] = []
        cur = tuple(-INF for _ in range(n_dims))
        for q in loads:
            cur = tuple(max(a, b) for a, b in zip(cur, q, strict=True))
            prefmax.append(cur)
        sufmax: list[tuple[int, ...]] = [()] * n
        cur = tuple(-INF for _ in range(n_dims))
        for k in range(n - 1, -1, -1):
            cur = tuple(max(a, b) for a, b in zip(cur, loads[k], strict=True))
            sufmax[k] = cur
        real = [s.type != StepType.BREAK for s in steps]
        next_real = [n - 1] * n
        nxt = n - 1
        for k in range(n - 1, -1, -1):
            next_real[k] = nxt
            if real[k]:
                nxt = k
        prev_real = [0] * n
        prv = 0
        for k in range(n):
            prev_real[k] = prv
            if real[k]:
                prv = k
        return _View(
            route=route,
            locs=[s.location for s in steps],
            dep=[s.departure for s in steps],
            start=[s.service_start for s in steps],
            arr=[s.arrival for s in steps],
            slack=[s.slack for s in steps],
            node_setup=node_setup,
            cdist=[s.distance for s in steps],
            cdrive=[s.duration for s in steps],
            wait_after=wait_after,
            load=loads,
            prefmax=prefmax,
            sufmax=sufmax,
            real=real,
            next_real=next_real,
            prev_real=prev_real,
            empty=empty,
            breaks_between=[not r for r in real],
        )

    def stop_coordinates(
        self,
    ) -> tuple[npt.NDArray[np.float64], list[tuple[int, int]]]:
        """Planar coordinates of every order stop and its (vehicle, step)."""
        if self._coords is None:
            xy: list[tuple[float, float]] = []
            refs: list[tuple[int, int]] = []
            for v, route in enumerate(self.routes):
                if route is None:
                    continue
                for k, s in enumerate(route.steps):
                    if s.id is None or s.type == StepType.BREAK or s.location is None:
                        continue
                    loc = s.location
                    if loc.lat is not None and loc.lon is not None:
                        xy.append((loc.lon, loc.lat))
                    else:
                        xy.append((math.nan, math.nan))
                    refs.append((v, k))
            self._coords = (np.asarray(xy, dtype=np.float64).reshape(-1, 2), refs)
        return self._coords

    def _screen(
        self, probe: Probe, st: NewStop, v: int, a: int, b: int
    ) -> Insertion | None:
        view = self.view(v)
        vehicle = self.vehicles[v]
        if a < self.fixed[v]:
            return None  # never before a committed stop
        a_loc, b_loc = view.locs[a], view.locs[b]
        dep_a = view.dep[a]
        t1, d1 = probe.leg_to(a_loc, dep_a)
        setup_n = 0 if a_loc is not None and a_loc == st.location else st.setup
        ready = dep_a + t1 + setup_n
        start = ready
        opening = 0
        if st.windows:
            w = next((w for w in st.windows if w[1] >= ready), None)
            if w is None and a == 0 and dep_a > vehicle.shift.start:
                # the van may leave earlier than the plan's late departure
                dep_a = vehicle.shift.start
                t1, d1 = probe.leg_to(a_loc, dep_a)
                ready = dep_a + t1 + setup_n
                w = next((w for w in st.windows if w[1] >= ready), None)
            if w is None:
                return None
            start = max(ready, w[0])
            opening = w[0]
        dep_n = start + st.service
        t2, d2 = probe.leg_from(b_loc, dep_n)
        last = b == len(view.locs) - 1
        if last:
            setup_b = 0
            ready_b = dep_n + t2
            base_b = view.arr[b]
        else:
            setup_b = (
                0
                if b_loc is not None and b_loc == st.location
                else (view.node_setup[b])
            )
            ready_b = dep_n + t2 + setup_b
            base_b = view.start[b]
        push = max(0, ready_b - base_b)
        early = 0
        if push > view.slack[b] and a == 0 and not self.pinned[v]:
            # the van may leave earlier than the plan's late departure: the
            # new stop (down to its window's opening) and all after it move
            # up by as much
            room = max(0, min(dep_a - vehicle.shift.start, start - opening))
            early = min(push - view.slack[b], room)
            push -= early
        if push > view.slack[b]:
            return None
        # loads: a delivery rides from the start up to the new stop, a return
        # from the new stop to the end (an exchange: its new item the first,
        # its old item the second)
        cap = vehicle.capacity
        if any(st.delivery) and any(
            m + q > c for m, q, c in zip(view.prefmax[a], st.delivery, cap, strict=True)
        ):
            return None
        if any(st.pickup) and any(
            max(la, mb) + q > c
            for la, mb, q, c in zip(
                view.load[a], view.sufmax[b], st.pickup, cap, strict=True
            )
        ):
            return None
        route = view.route
        if vehicle.max_orders is not None and route.orders + 1 > vehicle.max_orders:
            return None
        added = d1 + d2 - (view.cdist[b] - view.cdist[a])
        if (
            vehicle.max_distance is not None
            and route.distance + added > vehicle.max_distance
        ):
            return None
        old_leg = view.cdrive[b] - view.cdrive[a]
        old_setup = 0 if last else view.route.steps[b].setup
        work = t1 + setup_n + st.service + t2 + setup_b - old_leg - old_setup
        span = work if view.empty else early + max(0, push - view.wait_after[b])
        if self.by_cost:
            costs = vehicle.costs
            cost = costs.per_km * added / 1000.0 + costs.per_hour * span / 3600.0
            if view.empty:
                cost += costs.fixed
        else:
            cost = float(added) + (self.open_van if view.empty else 0.0)
        return Insertion(
            vehicle=v,
            position=a,
            cost=round(cost, 2),
            distance=added,
            span=span,
            work=work,
            service_start=start - early,
            opens_vehicle=view.empty,
        )


class Probe:
    """Positions near one place, and lazily priced travel to and from it.

    Travel is priced per band of the departure time, between the new place
    and only the places of the candidate positions, ``CHUNK`` at a time.
    """

    def __init__(self, live: LivePlan, location: Location) -> None:
        self.live = live
        self.location = location
        refs = self._nearest(live, location)
        positions: set[tuple[int, int, int]] = set()
        for v, k in refs:
            view = live.view(v)
            if k > 0:
                positions.add((v, view.prev_real[k], k))
            if k < len(view.locs) - 1:
                positions.add((v, k, view.next_real[k]))
        self.positions = sorted(positions)
        places: dict[Location, int] = {}
        for v, a, b in self.positions:
            view = live.view(v)
            for loc in (view.locs[a], view.locs[b]):
                if loc is not None and loc not in places:
                    places[loc] = len(places)
        self._unused_kinds: dict[tuple[object, ...], list[int]] = {}
        for v, route in enumerate(live.routes):
            if route is None:
                kind = _vehicle_kind(live.vehicles[v])
                self._unused_kinds.setdefault(kind, []).append(v)
        for vs in self._unused_kinds.values():
            view = live.view(vs[0])
            for loc in (view.locs[0], view.locs[-1]):
                if loc is not None and loc not in places:
                    places[loc] = len(places)
        self._places = places
        self._legs: dict[int, tuple[list[int], list[int], list[int], list[int]]] = {}

    @staticmethod
    def _nearest(live: LivePlan, location: Location) -> list[tuple[int, int]]:
        xy, refs = live.stop_coordinates()
        if not refs:
            return []
        k = live.neighbours
        if k is None or k >= len(refs):
            return refs
        if live._has_coords and location.has_coordinates:
            assert location.lat is not None and location.lon is not None
            scale = math.cos(math.radians(location.lat))
            dx = (xy[:, 0] - location.lon) * scale
            dy = xy[:, 1] - location.lat
            dist = dx * dx + dy * dy
        else:
            locs = []
            for v, s in refs:
                route = live.routes[v]
                assert route is not None
                loc = route.steps[s].location
                assert loc is not None
                locs.append(loc)
            to, back = _legs(live.travel, location, locs, None)
            dist = (np.asarray(to[0]) + np.asarray(back[0])).astype(np.float64)
        nearest = np.argpartition(dist, k)[:k]
        return [refs[int(i)] for i in nearest]

    def empty_for(self, compatible: set[int]) -> list[int]:
        """One unused compatible vehicle of each kind."""
        out = []
        for vs in self._unused_kinds.values():
            v = next((x for x in vs if x in compatible), None)
            if v is not None:
                out.append(v)
        return out

    def _band(self, depart: int) -> tuple[list[int], list[int], list[int], list[int]]:
        starts = self.live._band_starts
        k = band_index(starts, depart) if len(starts) > 1 else 0
        if k not in self._legs:
            locs = list(self._places)
            (to_t, to_d), (back_t, back_d) = _legs(
                self.live.travel, self.location, locs, self.live._wall_starts[k]
            )
            self._legs[k] = (to_t, to_d, back_t, back_d)
        return self._legs[k]

    def leg_to(self, a: Location | None, depart: int) -> tuple[int, int]:
        """(seconds, metres) from ``a`` to the new place, leaving at ``depart``."""
        if a is None:
            return 0, 0
        i = self._index(a)
        to_t, to_d, _, _ = self._band(depart)
        return to_t[i], to_d[i]

    def leg_from(self, b: Location | None, depart: int) -> tuple[int, int]:
        """(seconds, metres) from the new place to ``b``, leaving at ``depart``."""
        if b is None:
            return 0, 0
        i = self._index(b)
        _, _, back_t, back_d = self._band(depart)
        return back_t[i], back_d[i]

    def _index(self, loc: Location) -> int:
        i = self._places.get(loc)
        if i is None:  # a place outside the screened set (e.g. an added depot)
            i = self._places[loc] = len(self._places)
            self._legs.clear()
        return i


def _legs(
    travel: TravelModel, new: Location, others: Sequence[Location], depart: int | None
) -> tuple[tuple[list[int], list[int]], tuple[list[int], list[int]]]:
    """Travel from each of ``others`` to ``new`` and back, priced in chunks."""
    to_t: list[int] = []
    to_d: list[int] = []
    back_t: list[int] = []
    back_d: list[int] = []
    for i in range(0, len(others), CHUNK):
        chunk = others[i : i + CHUNK]
        m = travel.matrix([new, *chunk], depart=depart)
        if m.unreachable is not None:
            to_blocked = m.unreachable[1:, 0]
            back_blocked = m.unreachable[0, 1:]
        else:
            to_blocked = back_blocked = np.zeros(len(chunk), dtype=bool)
        # an arc with no road path is priced so that nothing fits through it
        to_t += np.where(to_blocked, INF, m.durations[1:, 0]).tolist()
        to_d += np.where(to_blocked, INF, m.distances[1:, 0]).tolist()
        back_t += np.where(back_blocked, INF, m.durations[0, 1:]).tolist()
        back_d += np.where(back_blocked, INF, m.distances[0, 1:]).tolist()
    return (to_t, to_d), (back_t, back_d)


def insertion_plan(
    problem: Problem,
    travel: TravelModel,
    *,
    objective: Objective = "cost",
    neighbours: int | None = 120,
) -> Plan | None:
    """A plan built by cheapest feasible insertion alone, no search.

    The construction of last resort when a search found no solution in its
    time: it has no time limit to run out of, so a day whose orders fit
    some van gets a plan. Jobs go in by the end of their last window (the
    tightest first, so late, loose orders fill the gaps); one that fits no
    route and no unused van is left out.

    Returns
    -------
    Plan or None
        ``engine="insertion"``; None when the day has shipments (this places
        jobs one stop at a time, not pickup-delivery pairs) or when no order
        the precheck found serviceable could be placed.
    """
    if problem.shipments:
        return None
    t0 = time.perf_counter()
    serviceable, impossible = precheck(build_data(problem, travel))
    live = LivePlan(
        problem, travel, {}, impossible, objective=objective, neighbours=neighbours
    )
    jobs = [live.orders[oid] for oid in serviceable]
    placed = 0
    for job in sorted(jobs, key=_window_end):
        assert isinstance(job, Job)
        if live.insert(job) is not None:
            placed += 1
            continue
        live.leave_out(
            job,
            Unassigned(
                id=job.id,
                reason=Reason.DROPPED,
                detail="no route or unused van had room for it when the plan "
                "was built by insertion",
                penalty=problem.drop_penalty(job),
            ),
        )
    if jobs and not placed:
        return None
    return live.plan(engine="insertion", seconds=time.perf_counter() - t0)


def _window_end(order: Order) -> tuple[int, str]:
    """Sort key: where the order's last window ends (no window: the day's end)."""
    windows = order.time_windows if isinstance(order, Job) else ()
    return (windows[-1].end if windows else INF, order.id)
