"""Dense, index-based view of a problem: the one place ids become integers.

Engines work on :class:`ProblemData`; nothing index-based leaves the solver
package. A *node* is one place a vehicle must be at: a vehicle's start or
end, a job, or one end of a shipment.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np

from routing.model import Job, Location, Problem, ServiceLevel, Shipment, Vehicle
from routing.travel import MatrixTravel, TravelMatrix, TravelModel

NodeKind = Literal["start", "end", "job", "pickup", "delivery"]


@dataclass(frozen=True)
class Node:
    """One place on a route.

    ``delivery`` is loaded at the depot and dropped here; ``pickup`` is
    collected here (negative at a shipment's delivery end). ``point`` indexes
    the travel matrix; ``None`` is a free start/end (no travel to or from it).
    """

    kind: NodeKind
    order: str | None
    point: int | None
    setup: int
    service: int
    windows: tuple[tuple[int, int], ...]
    delivery: tuple[int, ...]
    pickup: tuple[int, ...]


def travel_model_for(problem: Problem, default: TravelModel) -> TravelModel:
    """The problem's own matrices when it has them, else ``default``."""
    if problem.matrices is None:
        return default
    m = problem.matrices
    distances = m.distances if m.distances is not None else m.durations
    return MatrixTravel.from_lists(m.durations, distances)


@dataclass(frozen=True)
class ProblemData:
    problem: Problem
    points: tuple[Location, ...]
    matrix: TravelMatrix
    nodes: tuple[Node, ...]
    order_nodes: dict[str, tuple[int, ...]]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @property
    def n_vehicles(self) -> int:
        return len(self.problem.vehicles)

    @property
    def n_dims(self) -> int:
        return self.problem.n_dims

    def duration(self, i: int, j: int) -> int:
        a, b = self.nodes[i].point, self.nodes[j].point
        if a is None or b is None:
            return 0
        return int(self.matrix.durations[a, b])

    def distance(self, i: int, j: int) -> int:
        a, b = self.nodes[i].point, self.nodes[j].point
        if a is None or b is None:
            return 0
        return int(self.matrix.distances[a, b])

    def setup_between(self, i: int, j: int) -> int:
        """Setup at ``j`` is paid only when arriving from another place."""
        a, b = self.nodes[i].point, self.nodes[j].point
        if a is not None and a == b:
            return 0
        return self.nodes[j].setup

    @cached_property
    def orders(self) -> dict[str, Job | Shipment]:
        return {o.id: o for o in self.problem.orders}

    def can_serve(self, vehicle: Vehicle, order: Job | Shipment) -> bool:
        """Static compatibility: skills, shift type, date, depot."""
        return incompatibility(self.problem, vehicle, order) is None


def incompatibility(
    problem: Problem, vehicle: Vehicle, order: Job | Shipment
) -> str | None:
    """Why ``vehicle`` can never carry ``order``, or ``None`` if it could."""
    if not order.skills <= vehicle.skills:
        missing = ", ".join(sorted(order.skills - vehicle.skills))
        return f"skills:{missing}"
    is_night = order.service_level is ServiceLevel.NIGHT
    if is_night and not vehicle.night:
        return "night"
    if vehicle.night and not is_night:
        return "day"
    if order.depot is not None and isinstance(order, Job):
        # A delivery is loaded where the van starts; a return ends where it ends.
        depot = vehicle.start if order.type == "delivery" else vehicle.end
        if depot != order.depot:
            return "depot"
    del problem
    return None


def _windows(windows: tuple[object, ...]) -> tuple[tuple[int, int], ...]:
    return tuple((w.start, w.end) for w in windows)  # type: ignore[attr-defined]


def build_data(problem: Problem, travel: TravelModel) -> ProblemData:
    """Index every place of ``problem`` and price travel between them."""
    travel = travel_model_for(problem, travel)
    points: list[Location] = []
    seen: dict[Location, int] = {}

    def point(loc: Location) -> int:
        if loc not in seen:
            seen[loc] = len(points)
            points.append(loc)
        return seen[loc]

    zero = (0,) * problem.n_dims
    nodes: list[Node] = []
    starts: list[int] = []
    ends: list[int] = []
    for v in problem.vehicles:
        for key, kind, store in (("start", "start", starts), ("end", "end", ends)):
            ref = getattr(v, key)
            p = None if ref is None else point(problem.depot(ref).location)
            store.append(len(nodes))
            nodes.append(Node(kind, None, p, 0, 0, (), zero, zero))  # type: ignore[arg-type]

    order_nodes: dict[str, tuple[int, ...]] = {}
    for job in problem.jobs:
        order_nodes[job.id] = (len(nodes),)
        deliver = job.type == "delivery"
        setup, service = job.setup, job.service
        if job.station is not None:
            station = problem.station(job.station)
            setup, service = station.service, station.per_parcel + job.service
        nodes.append(
            Node(
                "job",
                job.id,
                point(problem.job_location(job)),
                setup,
                service,
                _windows(job.time_windows),
                job.demand if deliver else zero,
                zero if deliver else job.demand,
            )
        )
    for sh in problem.shipments:
        order_nodes[sh.id] = (len(nodes), len(nodes) + 1)
        neg = tuple(-q for q in sh.demand)
        for kind, step, amount in (
            ("pickup", sh.pickup, sh.demand),
            ("delivery", sh.delivery, neg),
        ):
            nodes.append(
                Node(
                    kind,  # type: ignore[arg-type]
                    sh.id,
                    point(step.location),
                    step.setup,
                    step.service,
                    _windows(step.time_windows),
                    zero,
                    amount,
                )
            )
    if not points:
        matrix = TravelMatrix(
            np.zeros((0, 0), dtype=np.int64), np.zeros((0, 0), dtype=np.int64)
        )
    else:
        matrix = travel.matrix(points)
    return ProblemData(
        problem=problem,
        points=tuple(points),
        matrix=matrix,
        nodes=tuple(nodes),
        order_nodes=order_nodes,
        starts=tuple(starts),
        ends=tuple(ends),
    )
