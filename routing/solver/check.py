"""An independent feasibility checker.

It re-evaluates a :class:`~routing.plan.Plan` against its
:class:`~routing.model.Problem` from first principles: it shares no code with
the engines or with the timeline builder, reads travel from the travel model
itself, and recomputes loads, times and totals. Tests and benchmarks trust
its verdict, never an engine's own numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from routing.model import (
    Job,
    Location,
    Problem,
    ServiceLevel,
    Shipment,
    TimeWindow,
    Vehicle,
)
from routing.plan import Plan, Step, StepType
from routing.travel import (
    MatrixTravel,
    TravelMatrix,
    TravelModel,
    band_index,
    day_band_starts,
)


@dataclass(frozen=True)
class Violation:
    """One broken rule, located by vehicle and step position."""

    kind: str
    detail: str
    vehicle: str | None = None
    step: int | None = None


@dataclass
class CheckResult:
    """The checker's verdict and its own recomputed totals."""

    violations: list[Violation] = field(default_factory=list)
    distance: int = 0
    duration: int = 0
    served: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations

    def add(
        self,
        kind: str,
        detail: str,
        vehicle: str | None = None,
        step: int | None = None,
    ) -> None:
        self.violations.append(Violation(kind, detail, vehicle, step))

    def __str__(self) -> str:
        if self.ok:
            return "feasible"
        lines = [f"{len(self.violations)} violation(s):"]
        lines += [
            f"  {v.kind}: {v.detail}"
            + (f" (vehicle {v.vehicle}, step {v.step})" if v.vehicle else "")
            for v in self.violations[:20]
        ]
        return "\n".join(lines)


class _Travel:
    """Pairwise travel for the plan's locations, priced by departure band."""

    def __init__(self, problem: Problem, travel: TravelModel) -> None:
        if problem.matrices is not None:
            m = problem.matrices
            travel = MatrixTravel.from_lists(
                m.durations, m.distances if m.distances is not None else m.durations
            )
        self._model = travel
        self._starts = day_band_starts(problem, travel)
        self._wall_starts = tuple(travel.band_starts) or (0,)
        self._index: dict[Location, int] = {}
        self._points: list[Location] = []
        for _, loc in problem.locations():
            if loc not in self._index:
                self._index[loc] = len(self._points)
                self._points.append(loc)
        self._mats: dict[int, TravelMatrix] = {}

    def _matrix(self, depart: int) -> TravelMatrix:
        k = band_index(self._starts, depart)
        if k not in self._mats:
            self._mats[k] = self._model.matrix(
                self._points, depart=self._wall_starts[k]
            )
        return self._mats[k]

    def __call__(
        self, a: Location | None, b: Location | None, depart: int = 0
    ) -> tuple[int, int]:
        """(seconds, metres) leaving ``a`` for ``b`` at ``depart``."""
        if a is None or b is None or not self._points:
            return 0, 0
        m = self._matrix(depart)
        i, j = self._index[a], self._index[b]
        if not m.reachable(i, j):
            raise _Unreachable(a, b)
        return int(m.durations[i, j]), int(m.distances[i, j])


class _Unreachable(Exception):
    def __init__(self, a: Location, b: Location) -> None:
        super().__init__(f"no path from {a} to {b}")


def _in_any(t: int, windows: tuple[TimeWindow, ...]) -> bool:
    return not windows or any(w.start <= t <= w.end for w in windows)


def check(problem: Problem, plan: Plan, travel: TravelModel) -> CheckResult:
    """Re-evaluate ``plan`` against ``problem``; never raises on a bad plan."""
    result = CheckResult()
    lookup = _Travel(problem, travel)
    orders: dict[str, Job | Shipment] = {o.id: o for o in problem.orders}
    vehicles = {v.id: v for v in problem.vehicles}
    seen: Counter[str] = Counter()

    route_vehicles = Counter(r.vehicle for r in plan.routes)
    for vid, n in route_vehicles.items():
        if n > 1:
            result.add("vehicle", f"vehicle {vid} has {n} routes")
    for route in plan.routes:
        vehicle = vehicles.get(route.vehicle)
        if vehicle is None:
            result.add("vehicle", f"unknown vehicle {route.vehicle}")
            continue
        _check_route(problem, vehicle, route.steps, orders, lookup, result, seen)
        driving = _route_driving(route.steps, lookup)
        if route.duration != driving:
            result.add(
                "totals",
                f"route driving time {route.duration} differs from the "
                f"recomputed {driving}",
                vehicle.id,
            )
        if route.distance != _route_distance(route.steps, lookup):
            result.add(
                "totals",
                f"route distance {route.distance} differs from the recomputed "
                f"{_route_distance(route.steps, lookup)}",
                vehicle.id,
            )

    check_coverage(plan, orders, seen, result)
    return result


def check_coverage(
    plan: Plan,
    orders: Mapping[str, Job | Shipment],
    seen: Counter[str],
    result: CheckResult,
) -> None:
    """Every order served (``seen``: times on a route) or listed unassigned
    exactly once, no unknown order, and the plan's distance equal to the
    recomputed one (``result.distance``)."""
    unassigned = Counter(u.id for u in plan.unassigned)
    for oid in orders:
        n = seen[oid] + unassigned[oid]
        if n != 1:
            where = "served" if seen[oid] else "listed"
            result.add(
                "coverage",
                f"order {oid} is {where} {n} times"
                if n
                else f"order {oid} is neither served nor unassigned",
            )
    for oid in set(seen) | set(unassigned):
        if oid not in orders:
            result.add("coverage", f"unknown order {oid} in the plan")
    if plan.summary.distance != result.distance:
        result.add(
            "totals",
            f"plan distance {plan.summary.distance} differs from the "
            f"recomputed {result.distance}",
        )


def _route_distance(steps: tuple[Step, ...], lookup: _Travel) -> int:
    return _route_sum(steps, lookup, 1)


def _route_driving(steps: tuple[Step, ...], lookup: _Travel) -> int:
    return _route_sum(steps, lookup, 0)


def _route_sum(steps: tuple[Step, ...], lookup: _Travel, which: int) -> int:
    total, prev, first, depart = 0, None, True, 0
    for s in steps:
        if s.type == StepType.BREAK:
            continue
        if not first:
            try:
                total += lookup(prev, s.location, depart)[which]
            except _Unreachable:
                return -1
        prev, first, depart = s.location, False, s.departure
    return total


def _expected_location(
    problem: Problem, order: Job | Shipment, kind: StepType
) -> tuple[Location, TimeWindow | None, tuple[TimeWindow, ...]]:
    if isinstance(order, Job):
        return problem.job_location(order), None, order.time_windows
    step = order.pickup if kind == StepType.PICKUP else order.delivery
    return step.location, None, step.time_windows


def _check_route(
    problem: Problem,
    vehicle: Vehicle,
    steps: tuple[Step, ...],
    orders: dict[str, Job | Shipment],
    lookup: _Travel,
    result: CheckResult,
    seen: Counter[str],
) -> None:
    """Walk one route step by step, adding what it breaks to ``result``."""
    if not _check_ends(problem, vehicle, steps, result):
        return
    walk = _RouteWalk(problem, vehicle, orders, lookup, result, seen, steps)
    for k, s in enumerate(steps[1:], start=1):
        if s.type == StepType.BREAK:
            walk.take_break(k, s)
            continue
        ready, same_place = walk.drive_to(k, s)
        if s.type == StepType.END:
            walk.arrive_at_end(k, s, ready)
            break
        walk.serve(k, s, ready, same_place)
    walk.finish()


def _check_ends(
    problem: Problem, vehicle: Vehicle, steps: tuple[Step, ...], result: CheckResult
) -> bool:
    """A route begins with start and ends with end, at the vehicle's depots."""
    vid = vehicle.id
    if (
        len(steps) < 2
        or steps[0].type != StepType.START
        or steps[-1].type != StepType.END
    ):
        result.add("shape", "a route must begin with start and finish with end", vid)
        return False
    for key, step in (("start", steps[0]), ("end", steps[-1])):
        depot_id = getattr(vehicle, key)
        want = None if depot_id is None else problem.depot(depot_id).location
        if depot_id is not None and step.location != want:
            result.add("depot", f"route {key} is not at depot {depot_id}", vid)
    return True


class _RouteWalk:
    """Where a checked route stands: load, clock, breaks, what it served."""

    def __init__(
        self,
        problem: Problem,
        vehicle: Vehicle,
        orders: dict[str, Job | Shipment],
        lookup: _Travel,
        result: CheckResult,
        seen: Counter[str],
        steps: tuple[Step, ...],
    ) -> None:
        self.problem, self.vehicle, self.orders = problem, vehicle, orders
        self.lookup, self.result, self.seen = lookup, result, seen
        self.vid = vehicle.id
        self.n_dims = len(vehicle.capacity)
        # Loads: deliveries are on board from the start.
        self.load = [0] * self.n_dims
        for s in steps:
            o = orders.get(s.id or "")
            if isinstance(o, Job) and s.type == StepType.JOB:
                for d, q in enumerate(_job_amounts(o)[0]):
                    self.load[d] += q
        self.picked: set[str] = set()
        self.served_here = 0
        self.breaks_seen: Counter[str] = Counter()
        self.first = steps[0]
        self.prev_loc = steps[0].location
        self.last_dep = steps[0].departure  # departure of the last non-break step
        self.break_end = self.last_dep  # when the last break (if any) ended
        self.latest_break_end = self.break_end
        self.break_total = 0  # break time since last_dep
        self.distance = self.driving = 0
        if steps[0].departure < vehicle.shift.start:
            result.add("shift", "leaves before the shift starts", self.vid, 0)
        _check_load(self.load, vehicle, result, self.vid, 0)

    def take_break(self, k: int, s: Step) -> None:
        """A break: known, long enough, in its windows, after what came before."""
        add, vid = self.result.add, self.vid
        brk = next((b for b in self.vehicle.breaks if b.id == s.id), None)
        if brk is None:
            add("break", f"unknown break {s.id}", vid, k)
            return
        self.breaks_seen[brk.id] += 1
        if s.service < brk.service:
            add("break", f"break {brk.id} shorter than {brk.service}s", vid, k)
        if not _in_any(s.service_start, brk.time_windows):
            add("break", f"break {brk.id} starts outside its windows", vid, k)
        if s.service_start < self.break_end:
            add("break", f"break {brk.id} overlaps the previous stop or break", vid, k)
        self.break_total += brk.service
        self.break_end = s.service_start + brk.service

    def drive_to(self, k: int, s: Step) -> tuple[int, bool]:
        """Travel to ``s``: when the vehicle is ready there, and whether it
        stayed at the same place."""
        try:
            tt, dd = self.lookup(self.prev_loc, s.location, self.last_dep)
        except _Unreachable as exc:
            self.result.add("unreachable", str(exc), self.vid, k)
            tt, dd = 0, 0
        self.distance += dd
        self.driving += tt
        same_place = self.prev_loc is not None and self.prev_loc == s.location
        # Breaks may be taken while driving or waiting, but add to the time.
        ready = self.last_dep + tt + self.break_total
        self.latest_break_end = self.break_end
        self.break_total = 0
        return ready, same_place

    def arrive_at_end(self, k: int, s: Step, ready: int) -> None:
        """The end: not sooner than travel allows, within shift and duration."""
        add, vid, vehicle = self.result.add, self.vid, self.vehicle
        end_time = max(s.arrival, ready, self.latest_break_end)
        if s.arrival < ready:
            add(
                "time",
                f"arrives at the end {ready - s.arrival}s sooner "
                "than travel and breaks allow",
                vid,
                k,
            )
        if end_time > vehicle.shift.end:
            add(
                "shift",
                f"returns {end_time - vehicle.shift.end}s after the shift ends",
                vid,
                k,
            )
        if (
            vehicle.max_duration is not None
            and end_time - self.first.departure > vehicle.max_duration
        ):
            add("duration", "route longer than max_duration", vid, k)

    def serve(self, k: int, s: Step, ready: int, same_place: bool) -> None:
        """An order's stop: right vehicle and place, loads, then its times."""
        order = self.orders.get(s.id or "")
        if order is None:
            self.result.add("coverage", f"unknown order {s.id}", self.vid, k)
            return
        _check_compat(self.problem, self.vehicle, order, self.result, k)
        loc, _, windows = _expected_location(self.problem, order, s.type)
        if s.location != loc:
            self.result.add(
                "location", f"order {order.id} served at the wrong place", self.vid, k
            )
        if isinstance(order, Job):
            setup, service = self._job(k, s, order, same_place)
        else:
            setup, service = self._shipment(k, s, order, same_place)
        self._times(k, s, order, ready + setup, service, windows)
        _check_load(self.load, self.vehicle, self.result, self.vid, k)
        self.last_dep = self.break_end = max(s.departure, s.service_start + service)
        self.prev_loc = s.location

    def _job(self, k: int, s: Step, order: Job, same_place: bool) -> tuple[int, int]:
        """A job's setup and service; its load comes off or goes on."""
        setup = 0 if same_place else order.setup
        service = order.service
        if order.station is not None:
            st = self.problem.station(order.station)
            setup = 0 if same_place else st.service
            service = st.per_parcel + order.service
        if s.type != StepType.JOB:
            self.result.add("shape", f"job {order.id} appears as {s.type}", self.vid, k)
        self.seen[order.id] += 1
        self.served_here += 1
        # an exchange's new item comes off and its old item goes on
        off, on = _job_amounts(order)
        for d in range(self.n_dims):
            self.load[d] += on[d] - off[d]
        return setup, service

    def _shipment(
        self, k: int, s: Step, order: Shipment, same_place: bool
    ) -> tuple[int, int]:
        """A shipment end's setup and service; picked up before delivered."""
        end = order.pickup if s.type == StepType.PICKUP else order.delivery
        setup = 0 if same_place else end.setup
        if s.type == StepType.PICKUP:
            self.picked.add(order.id)
            for d in range(self.n_dims):
                self.load[d] += order.demand[d]
        elif s.type == StepType.DELIVERY:
            if order.id not in self.picked:
                self.result.add(
                    "precedence",
                    f"shipment {order.id} delivered before "
                    "pickup or on another vehicle",
                    self.vid,
                    k,
                )
            self.picked.discard(order.id)
            self.seen[order.id] += 1
            self.served_here += 1
            for d in range(self.n_dims):
                self.load[d] -= order.demand[d]
        else:
            self.result.add(
                "shape", f"shipment {order.id} appears as {s.type}", self.vid, k
            )
        return setup, end.service

    def _times(
        self,
        k: int,
        s: Step,
        order: Job | Shipment,
        earliest: int,
        service: int,
        windows: tuple[TimeWindow, ...],
    ) -> None:
        """Service after travel, setup and breaks, long enough, in a window."""
        add, vid, oid = self.result.add, self.vid, order.id
        if s.service_start < self.latest_break_end:
            add("break", f"order {oid} starts during a break", vid, k)
        if s.service_start < earliest:
            add(
                "time",
                f"order {oid} starts {earliest - s.service_start}s "
                "before the vehicle can be there",
                vid,
                k,
            )
        if s.service < service:
            add(
                "service",
                f"order {oid} served for {s.service}s, needs {service}s",
                vid,
                k,
            )
        if not _in_any(s.service_start, windows) and order.lateness_cost is None:
            add(
                "window",
                f"order {oid} starts at {s.service_start}, outside its windows",
                vid,
                k,
            )
        if s.departure < s.service_start + service:
            add("time", f"order {oid} departs before service ends", vid, k)

    def finish(self) -> None:
        """What the whole route must meet, and its totals into the result."""
        add, vid, vehicle = self.result.add, self.vid, self.vehicle
        if self.picked:
            add(
                "precedence",
                f"shipments picked but not delivered: {sorted(self.picked)}",
                vid,
            )
        for brk in vehicle.breaks:
            if self.breaks_seen[brk.id] != 1 and self.served_here > 0:
                add(
                    "break",
                    f"break {brk.id} taken {self.breaks_seen[brk.id]} times",
                    vid,
                )
        served = self.served_here
        if vehicle.max_orders is not None and served > vehicle.max_orders:
            add("max_orders", f"{served} orders > {vehicle.max_orders}", vid)
        if vehicle.max_distance is not None and self.distance > vehicle.max_distance:
            add("max_distance", f"{self.distance} m > {vehicle.max_distance} m", vid)
        self.result.distance += self.distance
        self.result.duration += self.driving
        self.result.served += served


def _job_amounts(job: Job) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """What a job drops (loaded at the start) and what it takes on, read
    from the order here rather than shared with the engines: a delivery
    drops ``demand``, a return takes it, an exchange drops ``demand`` and
    takes ``collect``."""
    zero = (0,) * len(job.demand)
    if job.type == "pickup":
        return zero, job.demand
    if job.type == "exchange":
        return job.demand, job.collect
    return job.demand, zero


def _check_load(
    load: list[int], vehicle: Vehicle, result: CheckResult, vid: str, k: int
) -> None:
    for d, (q, cap) in enumerate(zip(load, vehicle.capacity, strict=True)):
        if q > cap:
            result.add(
                "capacity", f"load {q} > capacity {cap} in dimension {d}", vid, k
            )
        if q < 0:
            result.add("capacity", f"negative load {q} in dimension {d}", vid, k)


def _check_compat(
    problem: Problem,
    vehicle: Vehicle,
    order: Job | Shipment,
    result: CheckResult,
    k: int,
) -> None:
    vid = vehicle.id
    if not order.skills <= vehicle.skills:
        result.add("skills", f"order {order.id} needs skills the vehicle lacks", vid, k)
    night = order.service_level is ServiceLevel.NIGHT
    if night != vehicle.night:
        result.add(
            "shift_type",
            f"order {order.id} ({order.service_level}) on a "
            f"{'night' if vehicle.night else 'day'} vehicle",
            vid,
            k,
        )
    if (
        order.scheduled_date is not None
        and problem.date is not None
        and order.scheduled_date != problem.date
    ):
        result.add("date", f"order {order.id} is scheduled for another day", vid, k)
    if isinstance(order, Job) and order.depot is not None:
        depot = vehicle.end if order.type == "pickup" else vehicle.start
        if depot != order.depot:
            result.add(
                "depot", f"order {order.id} belongs to depot {order.depot}", vid, k
            )
