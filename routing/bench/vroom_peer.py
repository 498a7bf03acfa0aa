"""VROOM (``pyvroom``) as a benchmark peer: the only module that imports it.

VROOM gets the problem's own integer matrices (durations and distances), the
vehicles' shifts and capacities and the shipments' windows, services and
amounts; its routes come back as visit sequences that our timeline times and
our checker judges, like any engine's. Its search runs at its own default
exploration level (5, the ``vroom`` command's default) on ``threads``
threads and stops at ``timeout`` seconds if it has not finished by then.

With ``vans_first`` every vehicle carries a fixed cost above any plan's
distance (:func:`routing.solver.params.van_charge`), so VROOM, which
minimises cost, puts fewer routes first, as our ``vans_then_distance``
objective does. Its cost per unit of duration is its default (one per
second); travel time equals distance on the benchmark's instances.

Only problems with depots, one shipment per pair and hard windows are
modelled (what the PDPTW benchmark has); anything else is refused by name.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from routing.model import Problem, TimeWindow
from routing.plan import Plan
from routing.solver.data import build_data
from routing.solver.params import van_charge
from routing.solver.result import plan_from_sequences
from routing.solver.timeline import Visit
from routing.travel import HaversineTravel

#: VROOM's default exploration level (``vroom -x``, default 5).
EXPLORATION_LEVEL = 5
ENGINE = "vroom"


@dataclass(frozen=True)
class VroomRun:
    """A VROOM plan, the seconds its search took and its own summary."""

    plan: Plan
    search_seconds: float
    summary: dict[str, Any]


def _misfit(problem: Problem) -> str | None:
    if problem.matrices is None or problem.matrices.distances is None:
        return "the problem needs its own duration and distance matrices"
    if problem.jobs:
        return "only shipments are modelled"
    if any(s.lateness_cost is not None for s in problem.shipments):
        return "soft windows are not modelled"
    if any(v.breaks or v.start is None or v.end is None for v in problem.vehicles):
        return "vehicles need a start and an end depot and no breaks"
    return None


def _windows(windows: tuple[TimeWindow, ...]) -> list[Any]:
    import vroom

    return [vroom.TimeWindow(w.start, w.end) for w in windows]


def solve_vroom(
    problem: Problem,
    timeout: float | None,
    *,
    vans_first: bool,
    threads: int = 2,
    exploration_level: int = EXPLORATION_LEVEL,
) -> VroomRun:
    """Plan ``problem`` with VROOM and time its routes with our timeline.

    Raises
    ------
    ValueError
        When the problem has something the peer does not model.
    RuntimeError
        When ``pyvroom`` is not installed (``pip install -e '.[dev]'``).
    """
    misfit = _misfit(problem)
    if misfit is not None:
        raise ValueError(f"vroom peer: {misfit}")
    try:
        import vroom
    except ImportError:
        raise RuntimeError(
            "the vroom engine needs pyvroom: pip install -e '.[dev]'"
        ) from None
    t0 = time.perf_counter()
    assert problem.matrices is not None and problem.matrices.distances is not None
    durations = [list(row) for row in problem.matrices.durations]
    distances = [list(row) for row in problem.matrices.distances]
    inp = vroom.Input()
    inp.set_durations_matrix("car", durations)
    inp.set_distances_matrix("car", distances)
    depots = {d.id: d.location.index for d in problem.depots}
    longest = max(max(row) for row in distances)
    visits = 2 * len(problem.shipments)
    fixed = van_charge(longest, visits, len(problem.vehicles)) if vans_first else 0
    for k, v in enumerate(problem.vehicles):
        assert v.start is not None and v.end is not None
        inp.add_vehicle(
            vroom.Vehicle(
                k,
                start=depots[v.start],
                end=depots[v.end],
                capacity=vroom.Amount(list(v.capacity)),
                time_window=vroom.TimeWindow(v.shift.start, v.shift.end),
                costs=vroom.VehicleCosts(fixed=fixed),
            )
        )
    for k, sh in enumerate(problem.shipments):
        ends = []
        for step in (sh.pickup, sh.delivery):
            ends.append(
                vroom.ShipmentStep(
                    k,
                    step.location.index,
                    default_setup=step.setup,
                    default_service=step.service,
                    time_windows=_windows(step.time_windows),
                )
            )
        inp.add_shipment(*ends, amount=vroom.Amount(list(sh.demand)))
    limit = None if timeout is None else dt.timedelta(seconds=max(0.1, timeout))
    searched = time.perf_counter()
    solution = inp.solve(
        exploration_level=exploration_level, nb_threads=threads, timeout=limit
    )
    search_seconds = time.perf_counter() - searched
    answer: dict[str, Any] = solution.to_dict()
    plan = _plan(problem, answer, time.perf_counter() - t0)
    return VroomRun(plan, search_seconds, answer["summary"])


def _plan(problem: Problem, answer: dict[str, Any], seconds: float) -> Plan:
    """VROOM's routes as visit sequences of our data, timed by our timeline."""
    data = build_data(problem, HaversineTravel())
    ids = [sh.id for sh in problem.shipments]
    sequences: list[list[Visit]] = [[] for _ in problem.vehicles]
    for route in answer["routes"]:
        seq = sequences[int(route["vehicle"])]
        for step in route["steps"]:
            if step["type"] == "pickup":
                seq.append(data.order_nodes[ids[int(step["id"])]][0])
            elif step["type"] == "delivery":
                seq.append(data.order_nodes[ids[int(step["id"])]][-1])
    served = {
        data.nodes[n].order for seq in sequences for n in seq if isinstance(n, int)
    }
    dropped = [i for i in ids if i not in served]
    return plan_from_sequences(
        data,
        sequences,
        dropped=dropped,
        impossible=[],
        engine=ENGINE,
        seconds=round(seconds, 3),
    )
