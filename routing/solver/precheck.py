"""Orders no vehicle could ever serve, found before any search.

Each such order gets a named reason, so an overloaded or misconfigured day
reads as a list of causes instead of a silent drop.
"""

from __future__ import annotations

import itertools

from routing.model import Job, Problem, Shipment, Vehicle
from routing.plan import Reason, Unassigned
from routing.solver.data import ProblemData, fits_alone, incompatibility


def _reachable(data: ProblemData, v: int, order_id: str) -> bool:
    """Can vehicle ``v`` serve this order alone inside its shift and windows?"""
    vehicle: Vehicle = data.problem.vehicles[v]
    band = data.solve_band[v]
    t = vehicle.shift.start
    waited = 0
    prev = data.starts[v]
    for n in data.order_nodes[order_id]:
        node = data.nodes[n]
        ready = t + data.duration(prev, n, band) + data.setup_between(prev, n)
        if node.windows:
            open_w = next((w for w in node.windows if w[1] >= ready), None)
            if open_w is None:
                if data.orders[order_id].lateness_cost is None:
                    return False
                start = ready
            else:
                start = max(ready, open_w[0])
        else:
            start = ready
        waited += start - ready
        t, prev = start + node.service, n
    end = t + data.duration(prev, data.ends[v], band)
    if end > vehicle.shift.end:
        return False
    # Optimistic on purpose: the van may leave later instead of waiting.
    return vehicle.max_duration is None or (
        end - vehicle.shift.start - waited <= vehicle.max_duration
    )


def _connected(data: ProblemData, v: int, order_id: str) -> bool:
    """Is there a path depot -> order node(s) -> depot for vehicle ``v``?"""
    band = data.solve_band[v]
    path = [data.starts[v], *data.order_nodes[order_id], data.ends[v]]
    return all(data.reachable(a, b, band) for a, b in itertools.pairwise(path))


def _representatives(data: ProblemData) -> list[int]:
    """One vehicle of each kind: the rest would give every order the same answer.

    A fleet is mostly identical vans (250 on a Gehring-Homberger instance), and
    the checks above depend only on a vehicle's attributes, where its route
    starts and ends, and its travel band, never on its id.
    """
    seen: dict[tuple[object, ...], int] = {}
    for v, vehicle in enumerate(data.problem.vehicles):
        key = (
            vehicle.model_dump_json(exclude={"id"}),
            data.nodes[data.starts[v]].point,
            data.nodes[data.ends[v]].point,
            data.solve_band[v],
        )
        seen.setdefault(key, v)
    return list(seen.values())


def precheck(data: ProblemData) -> tuple[list[str], list[Unassigned]]:
    """Split orders into those worth optimising and those that cannot be served.

    Returns
    -------
    tuple
        Ids of serviceable orders, and :class:`Unassigned` entries (with the
        reason) for the rest.
    """
    problem: Problem = data.problem
    ok: list[str] = []
    out: list[Unassigned] = []
    kinds = _representatives(data)
    for order in problem.orders:
        reason = _reason(data, order, kinds)
        if reason is None:
            ok.append(order.id)
        else:
            out.append(
                Unassigned(
                    id=order.id,
                    reason=reason[0],
                    detail=reason[1],
                    penalty=problem.drop_penalty(order),
                )
            )
    return ok, out


def _reason(
    data: ProblemData, order: Job | Shipment, kinds: list[int]
) -> tuple[Reason, str] | None:
    problem = data.problem
    if (
        order.scheduled_date is not None
        and problem.date is not None
        and order.scheduled_date != problem.date
    ):
        return (
            Reason.SCHEDULED_OTHER_DAY,
            f"scheduled for {order.scheduled_date}, the plan is for {problem.date}",
        )
    if not problem.vehicles:
        return Reason.DEPOT, "the problem has no vehicles"
    causes = {v: incompatibility(problem.vehicles[v], order) for v in kinds}
    compatible = [v for v, cause in causes.items() if cause is None]
    if not compatible:
        found = {c for c in causes.values() if c is not None}
        skills = sorted(c for c in found if c.startswith("skills:"))
        if "night" in found and len(found) == 1:
            return Reason.NIGHT_SHIFT, "night order and no vehicle on a night shift"
        if "day" in found and len(found) == 1:
            return Reason.DAY_SHIFT, "day order and only night-shift vehicles"
        if "depot" in found and len(found) == 1:
            return Reason.DEPOT, f"no vehicle starts or ends at depot {order.depot!r}"
        if skills:
            return Reason.SKILLS, "no vehicle has skill " + skills[0].split(":", 1)[1]
        return Reason.NIGHT_SHIFT, "no vehicle works the shift this order needs"
    fitting = [v for v in compatible if fits_alone(order, problem.vehicles[v])]
    if fitting and not any(_connected(data, v, order.id) for v in fitting):
        return (
            Reason.UNREACHABLE,
            "no road path between it and the depots of the vehicles that "
            "could carry it",
        )
    if not fitting:
        biggest = max(problem.vehicles[v].capacity for v in compatible)
        amount = f"demand {list(order.demand)}"
        if isinstance(order, Job) and order.type == "exchange":
            amount += f" or collect {list(order.collect)}"
        return (
            Reason.CAPACITY,
            f"{amount} exceeds every vehicle's capacity (largest {list(biggest)})",
        )
    if not any(_reachable(data, v, order.id) for v in fitting):
        return (
            Reason.TIME_WINDOW,
            "no vehicle can reach it inside its time windows and return within "
            "its shift",
        )
    return None
