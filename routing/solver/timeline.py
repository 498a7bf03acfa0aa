"""Turn visit sequences into timed routes and plans.

Every engine returns *sequences* (which vehicle visits which nodes, and where
its breaks fall); this module times them the same way for all engines:

* a vehicle leaves its start at its shift start, or later when it would only
  wait at the first stop;
* travel, then setup (only when arriving from another place), then service;
  a time window bounds the start of service; arriving early waits;
* with several windows the earliest one still open is used;
* a break may be taken while driving or waiting: it starts when its window
  opens (or when the previous stop is done, whichever is later);
* each leg is priced with the travel band of its departure time, so the
  same route has other times at 08:30 than at 02:00.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from routing.model import Job, Location, Vehicle
from routing.plan import (
    Plan,
    Route,
    Step,
    StepType,
    Unassigned,
    plan_from_routes,
)
from routing.solver.data import ProblemData

INF = 10**12


@dataclass(frozen=True)
class BreakVisit:
    """A vehicle's ``index``-th break, placed between two nodes."""

    index: int


Visit = int | BreakVisit


def _kind_to_step(kind: str) -> StepType:
    return {
        "job": StepType.JOB,
        "pickup": StepType.PICKUP,
        "delivery": StepType.DELIVERY,
        "start": StepType.START,
        "end": StepType.END,
    }[kind]


def _lateness_cost(data: ProblemData, order_id: str | None) -> float | None:
    if order_id is None:
        return None
    return data.orders[order_id].lateness_cost


def _buffer_cost(data: ProblemData, order_id: str | None, start: int) -> float:
    """What starting service at ``start`` inside the order's buffer costs."""
    if order_id is None:
        return 0.0
    order = data.orders[order_id]
    if not isinstance(order, Job):
        return 0.0
    soft_end = order.soft_end
    if soft_end is None or start <= soft_end:
        return 0.0
    return order.buffer_cost * (start - soft_end) / 60.0


def schedule_route(data: ProblemData, v: int, visits: Sequence[Visit]) -> Route:
    """Time the route of vehicle ``v`` visiting ``visits`` in order.

    The van leaves as late as it can without arriving anywhere later than its
    windows allow or returning later: waiting before the first window and
    waiting that later stops' window slack can absorb is spent at the depot,
    not on the road (legs re-priced in the bands of the later times).
    """
    vehicle = data.problem.vehicles[v]
    route = schedule(data, v, visits, vehicle.shift.start)
    if len(route.steps) <= 2 or any(s.type == StepType.BREAK for s in route.steps):
        return _first_stop_rule(data, v, visits, route)
    delay = _departure_slack(data, route)
    late = sum(s.late for s in route.steps)
    for _ in range(4):
        if delay <= 0:
            break
        retimed = schedule(data, v, visits, vehicle.shift.start + delay)
        if (
            sum(s.late for s in retimed.steps) <= late
            and retimed.end <= max(route.end, vehicle.shift.start)
            and _windows_kept(data, retimed)
        ):
            return retimed
        delay //= 2  # bands moved a leg: try a smaller push
    return _first_stop_rule(data, v, visits, route)


def _departure_slack(data: ProblemData, route: Route) -> int:
    """How far the departure may move later: min(W, min_k(W_k + slack_k)).

    ``W_k`` is the waiting up to stop ``k``; ``slack_k`` how long service at
    ``k`` may still slip inside its current window.
    """
    waited = 0
    best = INF
    for step in route.steps[1:-1]:
        waited += step.waiting_time
        if step.id is None or step.late > 0:
            continue
        windows = _node_of(data, step)
        w = next((w for w in windows if w[0] <= step.service_start <= w[1]), None)
        if w is not None:
            best = min(best, waited + w[1] - step.service_start)
    return int(min(waited, best))


def _windows_kept(data: ProblemData, route: Route) -> bool:
    for step in route.steps[1:-1]:
        if step.id is None or step.late > 0 or step.type == StepType.BREAK:
            continue
        windows = _node_of(data, step)
        if windows and not any(a <= step.service_start <= b for a, b in windows):
            return False
    return True


def _first_stop_rule(
    data: ProblemData, v: int, visits: Sequence[Visit], route: Route
) -> Route:
    """Leave later only by the waiting at the first stop."""
    vehicle = data.problem.vehicles[v]
    first = route.steps[1] if len(route.steps) > 2 else None
    if first is None or first.type == StepType.BREAK or first.waiting_time <= 0:
        return route
    node = visits[0]
    assert not isinstance(node, BreakVisit)
    later = route.steps[0].departure + first.waiting_time
    for _ in range(3):
        tt = data.travel(data.starts[v], node, data.band_at(later))[0]
        later = min(later, first.service_start - first.setup - tt)
        if later <= vehicle.shift.start:
            return route
        retimed = schedule(data, v, visits, later)
        if retimed.steps[1].service_start == first.service_start:
            return retimed
    return route


def schedule(data: ProblemData, v: int, visits: Sequence[Visit], t0: int) -> Route:
    """Time vehicle ``v`` visiting ``visits`` in order, leaving its start at ``t0``.

    No departure is moved here (:func:`schedule_route` chooses ``t0``); every
    step gets its slack, the time it may slip without breaking later ones.
    """
    vehicle: Vehicle = data.problem.vehicles[v]
    start_node, end_node = data.starts[v], data.ends[v]
    load = _loaded_at_start(data, visits)
    steps: list[Step] = [
        Step(
            type=StepType.START,
            location=_location(data, start_node),
            arrival=t0,
            service_start=t0,
            departure=t0,
            load=tuple(load),
        )
    ]
    prev, dep, dist, drive = start_node, t0, 0, 0
    pending: list[int] = []
    late_cost = 0.0
    for item in [*visits, end_node]:
        if isinstance(item, BreakVisit):
            pending.append(item.index)
            continue
        # Each leg is priced in the band of its actual departure.
        tt, dd = data.travel(prev, item, data.band_at(dep))
        dist += dd
        drive += tt
        so_far = _Leg(tuple(load), dist, drive)
        arrival = _take_breaks(vehicle, pending, dep, tt, so_far, steps)
        pending = []
        if item == end_node:
            steps.append(
                Step(
                    type=StepType.END,
                    location=_location(data, end_node),
                    arrival=arrival,
                    service_start=arrival,
                    departure=arrival,
                    load=tuple(load),
                    distance=dist,
                    duration=drive,
                )
            )
            break
        step, cost = _serve(data, prev, item, arrival, load, dist, drive)
        steps.append(step)
        late_cost += cost
        prev, dep = item, step.departure
    return _route(vehicle, _with_slack(data, vehicle, steps), dist, drive, late_cost)


@dataclass(frozen=True)
class _Leg:
    """The load on board and the distance and driving so far, at a leg."""

    load: tuple[int, ...]
    distance: int
    duration: int


def _loaded_at_start(data: ProblemData, visits: Sequence[Visit]) -> list[int]:
    """What the vehicle carries out: every delivery on the route."""
    load = [0] * data.n_dims
    for item in visits:
        if not isinstance(item, BreakVisit):
            for d, q in enumerate(data.nodes[item].delivery):
                load[d] += q
    return load


def _location(data: ProblemData, node: int) -> Location | None:
    p = data.nodes[node].point
    return None if p is None else data.points[p]


def _take_breaks(
    vehicle: Vehicle,
    pending: list[int],
    dep: int,
    tt: int,
    leg: _Leg,
    steps: list[Step],
) -> int:
    """Breaks taken on a leg of ``tt`` seconds leaving at ``dep``: their steps
    go to ``steps``; returns the arrival at the leg's end."""
    cur, left = dep, tt
    for b_index in pending:
        brk = vehicle.breaks[b_index]
        window = next(
            (w for w in brk.time_windows if w.end >= cur), brk.time_windows[-1]
        )
        b = max(cur, window.start)
        left -= min(left, b - cur)
        steps.append(
            Step(
                type=StepType.BREAK,
                id=brk.id,
                arrival=cur,
                waiting_time=max(0, window.start - cur - tt),
                service=brk.service,
                service_start=b,
                departure=b + brk.service,
                load=leg.load,
                distance=leg.distance,
                duration=leg.duration,
                late=max(0, b - window.end),
            )
        )
        cur = b + brk.service
    return cur + left


def _serve(
    data: ProblemData,
    prev: int,
    item: int,
    arrival: int,
    load: list[int],
    dist: int,
    drive: int,
) -> tuple[Step, float]:
    """The stop at ``item`` (``load`` changes by it) and its lateness cost."""
    node = data.nodes[item]
    setup = data.setup_between(prev, item)
    ready = arrival + setup
    service_start, late, late_cost = ready, 0, 0.0
    if node.windows:
        open_w = next((w for w in node.windows if w[1] >= ready), None)
        if open_w is not None:
            service_start = max(ready, open_w[0])
        else:
            late = ready - node.windows[-1][1]
            cost = _lateness_cost(data, node.order)
            if cost is not None:
                late_cost = cost * late / 60.0
        if not late:
            late_cost = _buffer_cost(data, node.order, service_start)
    for d in range(data.n_dims):
        load[d] += node.pickup[d] - node.delivery[d]
    step = Step(
        type=_kind_to_step(node.kind),
        id=node.order,
        location=_location(data, item),
        arrival=arrival,
        waiting_time=service_start - ready,
        setup=setup,
        service=node.service,
        service_start=service_start,
        departure=service_start + node.service,
        load=tuple(load),
        distance=dist,
        duration=drive,
        late=late,
    )
    return step, late_cost


def _route(
    vehicle: Vehicle, steps: list[Step], dist: int, drive: int, late_cost: float
) -> Route:
    """The timed steps as a route with its totals and cost."""
    start, end = steps[0].departure, steps[-1].arrival
    service = sum(s.service + s.setup for s in steps if s.type != StepType.BREAK)
    waiting = sum(s.waiting_time for s in steps)
    costs = vehicle.costs
    cost = (
        costs.fixed
        + costs.per_hour * (end - start) / 3600.0
        + costs.per_km * dist / 1000.0
        + late_cost
    )
    return Route(
        vehicle=vehicle.id,
        steps=tuple(steps),
        cost=round(cost, 2),
        distance=dist,
        duration=drive,
        service=service,
        waiting_time=waiting,
        start=start,
        end=end,
        orders=sum(1 for s in steps if s.type in (StepType.JOB, StepType.DELIVERY)),
    )


def _with_slack(data: ProblemData, vehicle: Vehicle, steps: list[Step]) -> list[Step]:
    """Backward pass: how far each step may slip without breaking later ones."""
    end = steps[-1]
    limit_end = vehicle.shift.end - end.arrival
    if vehicle.max_duration is not None:
        limit_end = min(
            limit_end, steps[0].departure + vehicle.max_duration - end.arrival
        )
    slack = [0] * len(steps)
    slack[-1] = max(0, limit_end)
    for k in range(len(steps) - 2, 0, -1):
        s = steps[k]
        limit = INF
        if s.type == StepType.BREAK:
            brk = next(b for b in vehicle.breaks if b.id == s.id)
            w = next(
                (w for w in brk.time_windows if w.start <= s.service_start <= w.end),
                None,
            )
            limit = 0 if w is None else w.end - s.service_start
        elif s.id is not None and s.late == 0:
            node = _node_of(data, s)
            w2 = next(
                (w for w in node if w[0] <= s.service_start <= w[1]),
                None,
            )
            if w2 is not None:
                limit = w2[1] - s.service_start
        slack[k] = max(0, min(limit, steps[k + 1].waiting_time + slack[k + 1]))
    slack[0] = slack[1] if len(steps) > 1 else 0
    return [
        s.model_copy(update={"slack": int(x)})
        for s, x in zip(steps, slack, strict=True)
    ]


def _node_of(data: ProblemData, step: Step) -> tuple[tuple[int, int], ...]:
    assert step.id is not None
    idx = data.order_nodes[step.id]
    node = data.nodes[idx[-1] if step.type == StepType.DELIVERY else idx[0]]
    return node.windows


def assemble_plan(
    data: ProblemData,
    routes: Sequence[Route],
    unassigned: Sequence[Unassigned],
    *,
    engine: str,
    seconds: float,
) -> Plan:
    """Summarise routes and unassigned orders into a :class:`Plan`."""
    return plan_from_routes(
        routes, unassigned, orders=len(data.orders), engine=engine, seconds=seconds
    )
