"""A first solution that scales: time-oriented nearest neighbour per van.

OR-Tools' own first-solution strategies (parallel cheapest insertion, the
default) grow faster than the day: on a 2,000-order embedded-city day none
finishes within 120 s, and a search without a first solution has no plan
(docs/ortools-search.md). This construction builds one in about a second at
5,000 orders and hands it to OR-Tools as the start of its search.

Each van in turn drives from its start to the *next* order it can still
reach: of the orders not yet placed that it may serve, the cheapest by
travel time, half the wait for its window and :data:`PER_METRE` seconds a
metre driven. A stop is only taken
when, after it, the van can still drive back to its end within its shift,
``max_duration`` and ``max_distance``, and its load fits: deliveries are
loaded at the start, returns collected on the way, and what is on board
(deliveries still to make plus returns so far) never exceeds the capacity at
any point. Appending at the end of a route never moves an earlier stop, so
every route built this way is feasible by construction. Each step is one
vectorised pass over the open orders, so the whole day costs
``O(orders x stops)`` numpy work.

The tables are the OR-Tools model's own (time transit with service and setup
included, per solve band) so what is feasible here is feasible there.

Left to the search: shipments (a pickup and a delivery on one route), vans
with breaks, and every order no van could reach; they start unperformed and
OR-Tools inserts what it can.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from routing.model import Job
from routing.solver.data import ProblemData

I64 = npt.NDArray[np.int64]
#: Beyond any time or distance of a day (seconds, metres).
FAR = 10**15
#: Seconds a metre driven weighs in the choice of the next stop, beside the
#: travel time itself: distance costs money even where the clock is idle.
#: With :data:`WAIT_SHARE` measured on embedded-city days (construction
#: alone, 2026-12-07): 3,404 km and 46 vans at 2,000 orders where "soonest
#: service start, then the earliest window end" gave 4,698 km and 51 vans;
#: 6,351 km and 100 vans at 5,000 (8,872 km and 112).
PER_METRE = 0.3
#: Share of the wait for a window counted against a stop: waiting costs
#: driver time, but less than driving (no km, and the van is where it must be).
WAIT_SHARE = 0.5


def nearest_routes(
    data: ProblemData,
    order_ids: Sequence[str],
    local: Mapping[int, int],
    tables: Mapping[int, tuple[I64, I64]],
    blocked: Mapping[int, Mapping[int, Sequence[int]]] | None = None,
) -> list[list[int]]:
    """Per vehicle, the data nodes to visit in order (jobs only).

    Parameters
    ----------
    local
        Data node -> row of the tables (starts and ends included).
    tables
        Per solve band: (distance, time transit) over the local rows, time
        transit ``a -> b`` = service at ``a`` + travel + setup at ``b``.
    blocked
        Per solve band: local row -> local rows it has no road to.
    """
    problem = data.problem
    jobs = [
        oid
        for oid in order_ids
        if isinstance(data.orders[oid], Job) and len(data.order_nodes[oid]) == 1
    ]
    routes: list[list[int]] = [[] for _ in range(data.n_vehicles)]
    if not jobs:
        return routes
    node = np.array([data.order_nodes[o][0] for o in jobs], dtype=np.int64)
    row = np.array([local[int(n)] for n in node], dtype=np.int64)
    n_win = max(1, max(len(data.nodes[int(n)].windows) for n in node))
    w_start = np.full((len(jobs), n_win), FAR, dtype=np.int64)
    w_end = np.full((len(jobs), n_win), -1, dtype=np.int64)
    for i, n in enumerate(node):
        windows = data.nodes[int(n)].windows or ((0, FAR),)
        for k, (a, b) in enumerate(windows):
            w_start[i, k], w_end[i, k] = a, b
    deliver = np.array([data.nodes[int(n)].delivery for n in node], dtype=np.int64)
    collect = np.array([data.nodes[int(n)].pickup for n in node], dtype=np.int64)
    open_ = np.ones(len(jobs), dtype=bool)
    # Vans alike in what they may carry share one compatibility mask.
    masks: dict[tuple[object, ...], npt.NDArray[np.bool_]] = {}
    for v, vehicle in enumerate(problem.vehicles):
        if vehicle.breaks:
            continue
        kind = (vehicle.skills, vehicle.night, vehicle.start, vehicle.end)
        if kind not in masks:
            masks[kind] = np.array(
                [data.can_serve(vehicle, data.orders[o]) for o in jobs], dtype=bool
            )
        allowed = open_ & masks[kind]
        if not allowed.any():
            continue
        band = data.solve_band[v]
        dist, transit = tables[band]
        cut = (blocked or {}).get(band, {})
        start, end = local[data.starts[v]], local[data.ends[v]]
        # Rows with no road to the van's end can never be its last stop.
        stuck = [r for r, targets in cut.items() if end in targets]
        if stuck:
            allowed &= ~np.isin(row, stuck)
        cap = np.array(vehicle.capacity, dtype=np.int64)
        limit_end = vehicle.shift.end
        if vehicle.max_duration is not None:
            limit_end = min(limit_end, vehicle.shift.start + vehicle.max_duration)
        max_km = FAR if vehicle.max_distance is None else vehicle.max_distance
        max_stops = vehicle.max_orders or len(jobs)
        here, now, driven = start, vehicle.shift.start, 0
        loaded = np.zeros(len(cap), dtype=np.int64)  # deliveries on the route
        gain = np.zeros(len(cap), dtype=np.int64)  # collected - delivered so far
        peak = np.zeros(len(cap), dtype=np.int64)  # highest gain so far
        seq: list[int] = []
        while len(seq) < max_stops:
            cand = np.flatnonzero(allowed & open_)
            if not cand.size:
                break
            rows = row[cand]
            arrive = now + transit[here, rows]
            begin = np.maximum(arrive[:, None], w_start[cand])
            begin = np.where(begin <= w_end[cand], begin, FAR).min(axis=1)
            back = begin + transit[rows, end]
            km = driven + dist[here, rows] + dist[rows, end]
            new_loaded = loaded + deliver[cand]
            new_gain = gain + collect[cand] - deliver[cand]
            on_board = new_loaded + np.maximum(peak, new_gain)
            ok = (
                (begin < FAR)
                & (back <= limit_end)
                & (km <= max_km)
                & (on_board <= cap).all(axis=1)
            )
            if here in cut:
                ok[np.isin(rows, cut[here])] = False
            if not ok.any():
                break
            travel = arrive - now
            score = (
                travel + WAIT_SHARE * (begin - arrive) + PER_METRE * dist[here, rows]
            )
            pick = int(np.argmin(np.where(ok, score, np.inf)))
            i = int(cand[pick])
            seq.append(int(node[i]))
            open_[i] = False
            driven += int(dist[here, rows[pick]])
            here, now = int(rows[pick]), int(begin[pick])
            loaded, gain = new_loaded[pick], new_gain[pick]
            peak = np.maximum(peak, gain)
        routes[v] = seq
    return routes
