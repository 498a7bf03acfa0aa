"""Which orders a road network can reach, decided before any search.

On roads every place joins the network at its nearest usable node
(:meth:`routing.travel.road.RoadTravel.snap`), and the gap is crawled at the
access speed. That crawl is a fair price for a kerb-side gap, and a guess
for an address a kilometre from any road or one whose nearest road is cut
off from the rest. Before the engines see a day, therefore:

* an order with a place farther than the model's ``max_snap_m`` from the
  roads is unassigned ``off_road``, the detail naming the distance and the
  limit (raise the limit to plan it: ``milepost plan --max-snap-m``);
* an order with a place on a road outside the main (largest strongly
  connected) component is unassigned ``unreachable``: a van could not get
  there and back. Only a model that keeps the other components
  (``largest_component=False``) snaps there at all;
* a depot a vehicle uses, off the road or outside the main component, is an
  error (:class:`DepotOffRoad`): no route could start or end there.

The engines never see the refused orders: :func:`road_access` gives the
problem without them, and :meth:`RoadAccess.finish` adds them to the plan's
unassigned orders and its totals, and attaches each order's and depot's snap
(``Plan.roads``). Straight lines and a problem's own matrices snap nothing:
nothing is refused and nothing is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routing.model import Job, Location, Order, Problem
from routing.plan import Plan, Reason, RoadReport, Snapped, Unassigned
from routing.travel.base import SnapsToRoads, TravelModel

__all__ = ["DepotOffRoad", "RoadAccess", "road_access"]


class DepotOffRoad(ValueError):
    """A depot a vehicle uses is off the road network or cut off from it.

    ``field`` is the depot's path in the problem (``depots[0].location``).
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class RoadAccess:
    """A day split into what the roads reach and what they do not.

    Attributes
    ----------
    kept
        The problem without the refused orders: what the engines solve.
    refused
        The orders left out, with reason ``off_road`` or ``unreachable``.
    report
        Every order's and used depot's snap; ``None`` off roads.
    """

    kept: Problem
    refused: tuple[Unassigned, ...] = ()
    report: RoadReport | None = None

    def finish(self, plan: Plan) -> Plan:
        """``plan`` of :attr:`kept` as a plan of the whole day: the refused
        orders unassigned (their penalties in the cost) and the snap report
        attached."""
        if self.report is None:
            return plan
        listed = {u.id for u in plan.unassigned}
        extra = tuple(u for u in self.refused if u.id not in listed)
        s = plan.summary
        summary = s.model_copy(
            update={
                "orders": s.orders + len(extra),
                "unassigned": s.unassigned + len(extra),
                "cost": round(s.cost + sum(u.penalty for u in extra), 2),
            }
        )
        return plan.model_copy(
            update={
                "summary": summary,
                "unassigned": plan.unassigned + extra,
                "roads": self.report,
            }
        )


def _places(problem: Problem, order: Order) -> list[Location]:
    if isinstance(order, Job):
        return [problem.job_location(order)]
    return [order.pickup.location, order.delivery.location]


def _used_depots(problem: Problem) -> list[int]:
    """Positions of the depots some vehicle starts or ends at."""
    used = {d for v in problem.vehicles for d in (v.start, v.end) if d is not None}
    return [i for i, d in enumerate(problem.depots) if d.id in used]


def road_access(problem: Problem, travel: TravelModel) -> RoadAccess:
    """Split ``problem`` into the orders ``travel``'s roads reach and the rest.

    Parameters
    ----------
    problem
        The day.
    travel
        The travel model; only one that snaps to roads
        (:class:`~routing.travel.base.SnapsToRoads`) refuses anything, and
        only when the problem has no matrices of its own.

    Returns
    -------
    RoadAccess
        The problem to solve, the refused orders and the snap report.

    Raises
    ------
    DepotOffRoad
        If a depot a vehicle uses is farther than the limit from the roads
        or outside the main component.
    ValueError
        If a place has neither coordinates nor a node of the road graph.
    """
    if problem.matrices is not None or not isinstance(travel, SnapsToRoads):
        return RoadAccess(kept=problem)
    limit = travel.max_snap_m
    orders = list(problem.orders)
    depots = _used_depots(problem)
    places = [problem.depots[i].location for i in depots]
    owner: list[int] = []  # order position per place after the depots
    for k, order in enumerate(orders):
        found = _places(problem, order)
        places += found
        owner += [k] * len(found)
    snap = travel.snap(places)
    metres = np.rint(snap.metres).astype(np.int64)

    def snapped(i: int) -> Snapped:
        return Snapped(metres=int(metres[i]), component=int(snap.component[i]))

    for slot, i in enumerate(depots):
        reason = _off(int(metres[slot]), int(snap.component[slot]), limit)
        if reason is not None:
            raise DepotOffRoad(
                f"depots[{i}].location",
                f"depot {problem.depots[i].id!r}: {reason[1]}; no route can start "
                "or end there: correct its coordinates"
                + (" or raise the snap limit" if reason[0] is Reason.OFF_ROAD else ""),
            )
    # Per order: the worst of its places (the farther, or the cut-off one).
    worst: dict[int, int] = {}
    for j, k in enumerate(owner):
        i = len(depots) + j
        best = worst.get(k)
        if best is None or (snap.component[i] > 0, metres[i]) > (
            snap.component[best] > 0,
            metres[best],
        ):
            worst[k] = i
    refused: list[Unassigned] = []
    refused_ids: set[str] = set()
    for k, order in enumerate(orders):
        i = worst[k]
        reason = _off(int(metres[i]), int(snap.component[i]), limit)
        if reason is None:
            continue
        refused.append(
            Unassigned(
                id=order.id,
                reason=reason[0],
                detail=reason[1],
                penalty=problem.drop_penalty(order),
            )
        )
        refused_ids.add(order.id)
    kept = problem
    if refused_ids:
        kept = problem.model_copy(
            update={
                "jobs": tuple(j for j in problem.jobs if j.id not in refused_ids),
                "shipments": tuple(
                    s for s in problem.shipments if s.id not in refused_ids
                ),
            }
        )
    report = RoadReport(
        max_snap_m=limit,
        components=travel.n_components,
        orders={order.id: snapped(worst[k]) for k, order in enumerate(orders)},
        depots={problem.depots[i].id: snapped(s) for s, i in enumerate(depots)},
    )
    return RoadAccess(kept=kept, refused=tuple(refused), report=report)


def _off(metres: int, component: int, limit: float | None) -> tuple[Reason, str] | None:
    """Why a place ``metres`` (rounded, as the access legs and the matrices
    count them) from its road node in ``component`` cannot be served on
    these roads, or ``None`` when it can."""
    if limit is not None and metres > limit:
        return (
            Reason.OFF_ROAD,
            f"{metres:,} m from the nearest road, beyond the snap limit of "
            f"{limit:,g} m",
        )
    if component != 0:
        return (
            Reason.UNREACHABLE,
            f"its nearest road ({metres:,} m away) is cut off from the main "
            f"road network (component {component})",
        )
    return None
