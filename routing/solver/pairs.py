"""Cheapest feasible insertion of a shipment (pickup and delivery) into a plan.

:class:`~routing.solver.insertion.LivePlan` places one job at a time; a
shipment needs both of its ends on **one** vehicle, the pickup first, and
room for its parcel from the pickup to the delivery. :func:`insert_shipment`
places a shipment of the live plan's problem (one taken off a route, one
left out before, or the parcels of a broken-down van to be fetched):

1. **Screening.** Each end is screened on its own at every gap of the
   vehicles near either end (and one unused vehicle of each kind), as
   :class:`LivePlan` screens a job: the window from the stop before, the
   push within the slack of the stop after, limits on orders and distance;
   no amounts (a parcel picked up mid-route does not ride from the start).
2. **Pairing.** A pickup gap and a delivery gap of one vehicle, the delivery
   at the same gap or later, whose loads between the two leave room for the
   parcel; cheapest sum of the two screened costs first.
3. **Verification.** The cheapest pairs are re-timed by the common timeline
   and checked (windows, shift, breaks, loads, limits); the first that
   passes wins. Both ends go in at once; nothing is kept when none passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from routing.model import Shipment, ShipmentStep
from routing.plan import Route
from routing.solver.data import incompatibility
from routing.solver.insertion import INF, Insertion, LivePlan, NewStop, Probe

#: Screened pairs re-timed exactly before giving up on a shipment.
MAX_VERIFY_PAIRS = 16


@dataclass(frozen=True)
class PairInsertion:
    """Where a shipment went: vehicle index, the visit-list positions of its
    pickup and delivery (after insertion) and the screened marginal cost."""

    vehicle: int
    pickup: int
    delivery: int
    cost: float


def _end_stop(step: ShipmentStep, n_dims: int) -> NewStop:
    zero = (0,) * n_dims
    return NewStop(
        location=step.location,
        setup=step.setup,
        service=step.service,
        windows=tuple((w.start, w.end) for w in step.time_windows),
        delivery=zero,
        pickup=zero,
    )


def _gaps(live: LivePlan, v: int) -> list[tuple[int, int]]:
    """Every gap of vehicle ``v``'s route between two real steps."""
    view = live.view(v)
    n = len(view.locs)
    return [(k, view.next_real[k]) for k in range(n - 1) if view.real[k]]


def _screened(
    live: LivePlan, probe: Probe, stop: NewStop, v: int
) -> dict[int, Insertion]:
    out: dict[int, Insertion] = {}
    for a, b in _gaps(live, v):
        ins = live._screen(probe, stop, v, a, b)
        if ins is not None:
            out[a] = ins
    return out


def _probe(live: LivePlan, step: ShipmentStep, vehicles: list[int]) -> Probe:
    """A probe at ``step`` whose places include every stop of ``vehicles``."""
    probe = live.probe(step.location)
    for v in vehicles:
        if live.routes[v] is None:
            continue
        for loc in live.view(v).locs:
            if loc is not None:
                probe._index(loc)
    return probe


def insert_shipment(
    live: LivePlan, shipment: Shipment, *, max_verify: int = MAX_VERIFY_PAIRS
) -> PairInsertion | None:
    """Insert ``shipment`` (an order of ``live.problem``) on one vehicle at
    its cheapest feasible pair of positions; ``None`` when none passes.

    On success the shipment leaves ``live.unassigned``.
    """
    assert shipment.id in live.orders, "the shipment must be in the problem"
    n_dims = len(shipment.demand)
    pick = _end_stop(shipment.pickup, n_dims)
    drop = _end_stop(shipment.delivery, n_dims)
    compatible = {
        v
        for v, vehicle in enumerate(live.vehicles)
        if incompatibility(vehicle, shipment) is None
        and all(q <= c for q, c in zip(shipment.demand, vehicle.capacity, strict=True))
    }
    if not compatible:
        return None
    near_p = live.probe(shipment.pickup.location)
    near_d = live.probe(shipment.delivery.location)
    used = {v for v, _, _ in (*near_p.positions, *near_d.positions)} & compatible
    empty = near_p.empty_for(compatible)
    vehicles = sorted(used | set(empty))
    probe_p = _probe(live, shipment.pickup, vehicles)
    probe_d = _probe(live, shipment.delivery, vehicles)
    pairs: list[tuple[float, int, int, int]] = []
    for v in vehicles:
        p_ok = _screened(live, probe_p, pick, v)
        d_ok = _screened(live, probe_d, drop, v)
        if not p_ok or not d_ok:
            continue
        view = live.view(v)
        cap = live.vehicles[v].capacity
        for a_p, ins_p in p_ok.items():
            for a_d, ins_d in d_ok.items():
                if a_d < a_p:
                    continue
                peak = [
                    max(view.load[k][d] for k in range(a_p, a_d + 1))
                    for d in range(n_dims)
                ]
                if any(
                    m + q > c
                    for m, q, c in zip(peak, shipment.demand, cap, strict=True)
                ):
                    continue
                cost = ins_p.cost + ins_d.cost
                if cost >= INF:
                    continue
                pairs.append((cost, v, a_p, a_d))
    pairs.sort()
    for cost, v, a_p, a_d in pairs[:max_verify]:
        keys = list(live.visits[v])
        keys.insert(a_d, (shipment.id, 1))
        keys.insert(a_p, (shipment.id, 0))
        for placed in live.with_breaks(v, keys):
            route: Route = live.time_route(v, placed)
            if live.violation(v, route) is None:
                live._set_route(v, placed, route)
                live.unassigned.pop(shipment.id, None)
                return PairInsertion(
                    vehicle=v,
                    pickup=placed.index((shipment.id, 0)),
                    delivery=placed.index((shipment.id, 1)),
                    cost=round(cost, 2),
                )
    return None
