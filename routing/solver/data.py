"""Dense, index-based view of a problem: the one place ids become integers.

Engines work on :class:`ProblemData`; nothing index-based leaves the solver
package. A *node* is one place a vehicle must be at: a vehicle's start or
end, a job, or one end of a shipment.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np

from routing.model import Job, Location, Problem, ServiceLevel, Shipment, Vehicle
from routing.travel import (
    MatrixTravel,
    TravelMatrix,
    TravelModel,
    band_index,
    day_band_starts,
)
from routing.units import DAY

NodeKind = Literal["start", "end", "job", "pickup", "delivery"]


@dataclass(frozen=True)
class Node:
    """One place on a route.

    ``delivery`` is loaded at the depot and dropped here; ``pickup`` is
    collected here (negative at a shipment's delivery end). An exchange has
    both: the new item comes off and the old one goes on at the same stop.
    ``point`` indexes the travel matrix; ``None`` is a free start/end (no
    travel to or from it).
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
    """Dense problem view.

    Travel may depend on the time of day: ``band_starts`` are the travel
    model's bands as elapsed seconds of the problem's day
    (:func:`routing.travel.day_band_starts`) and ``matrices[k]`` prices band
    ``k`` (``None`` for bands no shift touches). Engines plan vehicle ``v``
    with ``matrices[solve_band[v]]``, the slowest band its shift overlaps, so
    the plan stays feasible when the timeline re-times every leg with the
    band of its actual departure.
    """

    problem: Problem
    points: tuple[Location, ...]
    matrices: tuple[TravelMatrix | None, ...]
    band_starts: tuple[int, ...]
    solve_band: tuple[int, ...]
    nodes: tuple[Node, ...]
    order_nodes: dict[str, tuple[int, ...]]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @property
    def matrix(self) -> TravelMatrix:
        """The matrix most vehicles are planned with."""
        band = Counter(self.solve_band).most_common(1)[0][0]
        m = self.matrices[band]
        assert m is not None
        return m

    def band_at(self, depart: int) -> int:
        """The band of a departure, falling back to a priced neighbour."""
        k = band_index(self.band_starts, depart)
        if self.matrices[k] is not None:
            return k
        return next(i for i, m in enumerate(self.matrices) if m is not None)

    def travel(self, i: int, j: int, band: int) -> tuple[int, int]:
        """(seconds, metres) from node ``i`` to node ``j`` in ``band``."""
        a, b = self.nodes[i].point, self.nodes[j].point
        if a is None or b is None:
            return 0, 0
        m = self.matrices[band]
        assert m is not None
        return int(m.durations[a, b]), int(m.distances[a, b])

    def reachable(self, i: int, j: int, band: int) -> bool:
        a, b = self.nodes[i].point, self.nodes[j].point
        if a is None or b is None:
            return True
        m = self.matrices[band]
        return m is not None and m.reachable(a, b)

    @property
    def n_vehicles(self) -> int:
        return len(self.problem.vehicles)

    @property
    def n_dims(self) -> int:
        return self.problem.n_dims

    def duration(self, i: int, j: int, band: int | None = None) -> int:
        """Seconds from node ``i`` to ``j`` (default: the main solve band)."""
        return self.travel(i, j, self._band(band))[0]

    def distance(self, i: int, j: int, band: int | None = None) -> int:
        """Metres from node ``i`` to ``j`` (default: the main solve band)."""
        return self.travel(i, j, self._band(band))[1]

    def _band(self, band: int | None) -> int:
        if band is not None:
            return band
        return Counter(self.solve_band).most_common(1)[0][0]

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
        return incompatibility(vehicle, order) is None


def incompatibility(vehicle: Vehicle, order: Job | Shipment) -> str | None:
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
        # A delivery (or an exchange's new item) is loaded where the van
        # starts; a return ends where it ends.
        depot = vehicle.start if order.loads_at_depot else vehicle.end
        if depot != order.depot:
            return "depot"
    return None


def fits_alone(order: Job | Shipment, vehicle: Vehicle) -> bool:
    """Whether the order alone fits the vehicle: an exchange's new item
    and its old one each (they are never on board together)."""
    amounts: tuple[tuple[int, ...], ...] = (order.demand,)
    if isinstance(order, Job):
        amounts = (order.delivered, order.collected)
    return all(
        q <= c for a in amounts for q, c in zip(a, vehicle.capacity, strict=True)
    )


def _shift_bands(band_starts: tuple[int, ...], vehicle: Vehicle) -> set[int]:
    """Bands a vehicle's shift overlaps (the day repeats)."""
    if len(band_starts) == 1:
        return {0}
    start, end = vehicle.shift.start, vehicle.shift.end
    if end - start >= DAY:
        return set(range(len(band_starts)))
    out = {band_index(band_starts, start)}
    for day in range(start // DAY, end // DAY + 1):
        for k, b in enumerate(band_starts):
            t = day * DAY + b
            if start < t <= end:
                out.add(k)
    return out


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
                job.delivered,
                job.collected,
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
    band_starts = day_band_starts(problem, travel)
    wall_starts = tuple(travel.band_starts) or (0,)
    per_vehicle = [_shift_bands(band_starts, v) for v in problem.vehicles]
    needed = sorted(set().union(*per_vehicle))
    matrices: list[TravelMatrix | None] = [None] * len(band_starts)
    for k in needed:
        if not points:
            empty = np.zeros((0, 0), dtype=np.int64)
            matrices[k] = TravelMatrix(empty, empty)
        else:
            matrices[k] = travel.matrix(points, depart=wall_starts[k])
    load = {k: int(m.durations.sum()) for k, m in enumerate(matrices) if m is not None}
    solve_band = tuple(max(bands, key=lambda k: (load[k], -k)) for bands in per_vehicle)
    return ProblemData(
        problem=problem,
        points=tuple(points),
        matrices=tuple(matrices),
        band_starts=band_starts,
        solve_band=solve_band,
        nodes=tuple(nodes),
        order_nodes=order_nodes,
        starts=tuple(starts),
        ends=tuple(ends),
    )
