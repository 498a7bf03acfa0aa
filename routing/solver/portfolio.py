"""The ``auto`` engine: PyVRP and OR-Tools side by side, the best checked plan wins.

* When the problem fits PyVRP's model, PyVRP runs in a second process for the
  whole time limit while OR-Tools runs here; both use one core each.
* When it needs constraints PyVRP lacks (breaks, soft windows, ...), the
  second process runs PyVRP on the problem without them for part of the
  time, then OR-Tools warm-started from PyVRP's routes on the full model;
  OR-Tools also runs cold here.

Every candidate is timed by the same timeline and judged by the independent
checker; the cheapest feasible plan wins (infeasible ones only if nothing
else is left).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Protocol

from routing.model import Problem, ServiceLevel
from routing.plan import Plan
from routing.solver.check import check
from routing.solver.data import ProblemData, build_data
from routing.solver.params import ProgressCallback, SolveParams, uses_costs
from routing.solver.result import EngineResult
from routing.solver.timeline import BreakVisit
from routing.travel import TravelModel


class PlanMaker(Protocol):
    """Times an engine's sequences into a plan."""

    def __call__(
        self, data: ProblemData, result: EngineResult, engine: str, seconds: float
    ) -> Plan: ...


#: Share of the time limit PyVRP gets before OR-Tools polishes its routes.
WARM_START_SHARE = 0.4
#: Seconds kept back for process start-up and result transfer.
OVERHEAD = 0.4


def relax_for_pyvrp(problem: Problem) -> Problem:
    """The problem without what PyVRP cannot model, for a warm start only.

    Breaks, order limits and shipments go; soft windows become no windows;
    setup and station times fold into service; station orders become plain
    stops at the station.
    """
    jobs = []
    for job in problem.jobs:
        update: dict[str, object] = {"setup": 0, "service": job.setup + job.service}
        if job.station is not None:
            st = problem.station(job.station)
            update.update(
                location=st.location,
                station=None,
                service_level=ServiceLevel.NEXT_DAY,
                service=st.per_parcel + job.service,
            )
        if job.lateness_cost is not None:
            update.update(time_windows=(), lateness_cost=None)
        jobs.append(job.model_copy(update=update))
    vehicles = [
        v.model_copy(update={"breaks": (), "max_orders": None})
        for v in problem.vehicles
    ]
    return problem.model_copy(
        update={"jobs": tuple(jobs), "shipments": (), "vehicles": tuple(vehicles)}
    )


def _by_order_ids(data: ProblemData, result: EngineResult) -> list[list[str]]:
    out = []
    for seq in result.sequences:
        ids: list[str] = []
        for n in seq:
            if isinstance(n, BreakVisit):
                continue
            oid = data.nodes[n].order
            if oid is not None and (not ids or ids[-1] != oid):
                ids.append(oid)
        out.append(ids)
    return out


def _pyvrp_then_ortools(
    data: ProblemData,
    order_ids: list[str],
    params: SolveParams,
    travel: TravelModel,
    relaxed: bool,
) -> tuple[str, EngineResult]:
    """Second-process job: PyVRP, then (if needed) OR-Tools from its routes."""
    from routing.solver.pyvrp_adapter import solve_pyvrp

    if not relaxed:
        limit = max(0.1, params.time_limit - OVERHEAD)
        return "pyvrp", solve_pyvrp(
            data, order_ids, params.model_copy(update={"time_limit": limit})
        )
    first = max(0.1, params.time_limit * WARM_START_SHARE)
    simple = build_data(relax_for_pyvrp(data.problem), travel)
    keep = set(order_ids)
    simple_ids = [o.id for o in simple.problem.orders if o.id in keep]
    warm = solve_pyvrp(
        simple, simple_ids, params.model_copy(update={"time_limit": first})
    )
    from routing.solver.ortools_adapter import solve_ortools

    initial = [
        [data.order_nodes[oid][0] for oid in ids] for ids in _by_order_ids(simple, warm)
    ]
    rest = max(0.1, params.time_limit - first - OVERHEAD)
    return "pyvrp+ortools", solve_ortools(
        data,
        order_ids,
        params.model_copy(update={"time_limit": rest}),
        initial=initial,
    )


def solve_auto(
    data: ProblemData,
    order_ids: Sequence[str],
    params: SolveParams,
    travel: TravelModel,
    *,
    progress: ProgressCallback | None = None,
    make_plan: PlanMaker,
) -> Plan:
    """Run the portfolio and return the best plan that passes the checker."""
    from routing.solver.ortools_adapter import solve_ortools
    from routing.solver.pyvrp_adapter import pyvrp_fit

    ids = list(order_ids)
    t0 = time.perf_counter()
    misfit = pyvrp_fit(data, ids)
    context = multiprocessing.get_context("fork")
    candidates: list[tuple[str, EngineResult]] = []
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future: Future[tuple[str, EngineResult]] = pool.submit(
            _pyvrp_then_ortools, data, ids, params, travel, misfit is not None
        )
        candidates.append(
            ("ortools", solve_ortools(data, ids, params, progress=progress))
        )
        try:
            candidates.append(future.result(timeout=params.time_limit * 2 + 30))
        except Exception as exc:  # a crashed helper must not lose the day
            if progress is not None:
                progress(f"pyvrp failed: {exc}", time.perf_counter() - t0, float("inf"))
    by_distance = not uses_costs(data, params)
    ranked = []
    for engine, result in candidates:
        plan = make_plan(data, result, engine, time.perf_counter() - t0)
        verdict = check(data.problem, plan, travel)
        value = float(plan.summary.distance) if by_distance else plan.summary.cost
        ranked.append((not verdict.ok, plan.summary.unassigned, value, engine, plan))
        if progress is not None:
            progress(engine, time.perf_counter() - t0, value)
    ranked.sort(key=lambda item: item[:3])
    best, engine = ranked[0][4], ranked[0][3]
    return best.model_copy(
        update={
            "engine": f"auto:{engine}",
            "seconds": round(time.perf_counter() - t0, 3),
        }
    )
