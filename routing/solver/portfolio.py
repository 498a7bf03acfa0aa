"""The ``auto`` engine: PyVRP and OR-Tools side by side, the best checked plan wins.

* When the problem fits PyVRP's model, PyVRP runs in a second process for
  the whole time limit while OR-Tools runs here; both use one core each.
  With more cores than that race uses (:data:`RACE_CORES`), PyVRP's search
  runs on all of them as islands that share their best
  (:mod:`routing.solver.islands`) instead. On two cores the race stays: the
  islands' pilot on this machine did not beat PyVRP alone
  (benchmarks/RESULTS.md, "PyVRP on both cores"), and OR-Tools wins some
  instances on the hierarchical objective.
* When it needs constraints PyVRP lacks (breaks, soft windows, ...), the
  second process runs PyVRP on the problem without them for part of the
  time, then OR-Tools warm-started from PyVRP's routes on the full model;
  OR-Tools also runs cold here.

Every candidate is timed by the same timeline and judged by the independent
checker; the cheapest feasible plan wins (infeasible ones only if nothing
else is left).

With ``objective="vans_then_distance"`` the race gets ``1 - ROUTE_SHARE`` of
the time (all of it on a day with shipments, :func:`route_share`); the rest
goes to route minimisation (:func:`_fewer_routes`): the
shortest route's van is taken away and the race runs again on the remaining
fleet, OR-Tools warm-started from the other routes. The result replaces the
plan only when the checker passes it, it serves every order the plan served,
and it has fewer routes; then the next shortest route is tried while time is
left.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection

from routing.model import Problem
from routing.plan import Plan, StepType, Unassigned
from routing.solver.check import check
from routing.solver.data import ProblemData, build_data
from routing.solver.params import (
    ProgressCallback,
    SolveParams,
    fewest_vans,
    plan_reserve,
    usable_cores,
    uses_costs,
)
from routing.solver.result import (
    EngineResult,
    NoPlanFound,
    engine_label,
    plan_from_result,
)
from routing.solver.timeline import BreakVisit, Visit
from routing.travel import TravelModel

#: Share of the time limit PyVRP gets before OR-Tools polishes its routes.
WARM_START_SHARE = 0.4
#: Seconds kept back for process start-up and result transfer.
OVERHEAD = 0.4
#: Seconds past the time limit the second process may take to answer.
SECOND_GRACE = 30.0
#: Share of the time limit route minimisation gets when vans count first.
ROUTE_SHARE = 0.3
#: Share of the time limit route minimisation gets on a day with shipments:
#: none. Its cold race on a smaller fleet dropped no route of a 500-pair day
#: in 36 s nor in 108 s, while PyVRP in the race lost 30% of its search; the
#: race alone for 120 s left 56 routes (+2.1% distance over the reference)
#: where the race and the phase left 57 (+6.4%) (benchmarks/RESULTS.md,
#: "Shipments at scale", 2026-12-08).
SHIPMENT_ROUTE_SHARE = 0.0
#: Fewest seconds worth a route-minimisation attempt.
MIN_ROUTE_SECONDS = 0.5


#: Cores the race of OR-Tools and one PyVRP search uses: the islands take
#: over only on a solve with more.
RACE_CORES = 2


def relax_for_pyvrp(problem: Problem) -> Problem:
    """The problem without what PyVRP cannot model, for a warm start only.

    Breaks go; soft windows become no windows; shipments with several windows
    at one end and order limits on days with shipments go (everything else,
    setup times and stations included, PyVRP models itself).
    """
    jobs = [
        job.model_copy(update={"time_windows": (), "lateness_cost": None})
        if job.lateness_cost is not None
        else job
        for job in problem.jobs
    ]
    shipments = tuple(
        sh
        for sh in problem.shipments
        if len(sh.pickup.time_windows) <= 1
        and len(sh.delivery.time_windows) <= 1
        and sh.lateness_cost is None
    )
    drop_limits = bool(problem.shipments)
    vehicles = [
        v.model_copy(
            update={"breaks": (), "max_orders": None if drop_limits else v.max_orders}
        )
        for v in problem.vehicles
    ]
    return problem.model_copy(
        update={
            "jobs": tuple(jobs),
            "shipments": shipments,
            "vehicles": tuple(vehicles),
        }
    )


def _nodes_in_order(
    simple: ProblemData, data: ProblemData, seq: list[Visit]
) -> list[int]:
    """A relaxed route's visits as node indices of the full problem."""
    out = []
    for n in seq:
        if isinstance(n, BreakVisit):
            continue
        node = simple.nodes[n]
        if node.order is None:
            continue
        full = data.order_nodes[node.order]
        out.append(full[-1] if node.kind == "delivery" else full[0])
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

    initial = [_nodes_in_order(simple, data, seq) for seq in warm.sequences]
    rest = max(0.1, params.time_limit - first - OVERHEAD)
    return "pyvrp+ortools", solve_ortools(
        data,
        order_ids,
        params.model_copy(update={"time_limit": rest}),
        initial=initial,
    )


def _second_process(
    send: Connection,
    data: ProblemData,
    order_ids: list[str],
    params: SolveParams,
    travel: TravelModel,
    relaxed: bool,
) -> None:
    """Forked: run the PyVRP side and send ``(engine, result)`` or the error."""
    try:
        got: tuple[str, EngineResult] | str = _pyvrp_then_ortools(
            data, order_ids, params, travel, relaxed
        )
    except Exception as exc:  # reported by the parent, which carries on
        got = f"{type(exc).__name__}: {exc}"
    send.send(got)
    send.close()


def solve_auto(
    data: ProblemData,
    order_ids: Sequence[str],
    impossible: Sequence[Unassigned],
    params: SolveParams,
    travel: TravelModel,
    *,
    progress: ProgressCallback | None = None,
) -> Plan:
    """Run the portfolio and return the best plan that passes the checker.

    Raises
    ------
    NoPlanFound
        When neither side found a solution, naming why each failed.
    """
    ids = list(order_ids)
    t0 = time.perf_counter()
    vans = fewest_vans(params)
    racing = params
    if vans:
        share = params.time_limit * (1.0 - route_share(data.problem))
        racing = params.model_copy(update={"time_limit": share})
    candidates, failure = _race(data, ids, racing, travel, progress)
    if failure and progress is not None:
        progress(f"pyvrp failed: {failure}", time.perf_counter() - t0, float("inf"))
    failures = [f"{e}: {r.failure}" for e, r in candidates if r.failure is not None]
    candidates = [(engine_label(e, r), r) for e, r in candidates if r.failure is None]
    if not candidates:
        if failure:  # the second side gave no result at all
            failures.append(f"pyvrp: {failure}")
        raise NoPlanFound("auto", params.time_limit, "; ".join(failures))
    ranked = _ranked(data, candidates, impossible, params, travel, t0, progress)
    ok, best, engine = ranked[0][0] is False, ranked[0][4], ranked[0][3]
    if vans and ok:
        deadline = t0 + params.time_limit - OVERHEAD
        best, engine = _fewer_routes(
            data, ids, impossible, best, engine, params, travel, deadline
        )
    return best.model_copy(
        update={
            "engine": f"auto:{engine}",
            "seconds": round(time.perf_counter() - t0, 3),
        }
    )


def route_share(problem: Problem) -> float:
    """Share of the time route minimisation gets when vans count first."""
    return SHIPMENT_ROUTE_SHARE if problem.shipments else ROUTE_SHARE


_Ranked = tuple[bool, int, tuple[int, float], str, Plan]


def _ranked(
    data: ProblemData,
    candidates: list[tuple[str, EngineResult]],
    impossible: Sequence[Unassigned],
    params: SolveParams,
    travel: TravelModel,
    t0: float,
    progress: ProgressCallback | None,
) -> list[_Ranked]:
    """The candidates as checked plans, best first: feasible, fewest left out,
    then (routes when vans count first) cost or distance."""
    by_distance = not uses_costs(data, params)
    vans = fewest_vans(params)
    ranked: list[_Ranked] = []
    for engine, result in candidates:
        plan = plan_from_result(
            data,
            result,
            impossible=impossible,
            engine=engine,
            seconds=time.perf_counter() - t0,
        )
        verdict = check(data.problem, plan, travel)
        value = float(plan.summary.distance) if by_distance else plan.summary.cost
        key = (routes_of(plan) if vans else 0, value)
        ranked.append((not verdict.ok, plan.summary.unassigned, key, engine, plan))
        if progress is not None:
            progress(engine, time.perf_counter() - t0, value)
    ranked.sort(key=lambda item: item[:3])
    return ranked


def routes_of(plan: Plan) -> int:
    """Routes that serve at least one order."""
    return sum(1 for r in plan.routes if r.orders > 0)


def _fewer_routes(
    data: ProblemData,
    ids: list[str],
    impossible: Sequence[Unassigned],
    plan: Plan,
    engine: str,
    params: SolveParams,
    travel: TravelModel,
    deadline: float,
) -> tuple[Plan, str]:
    """Route minimisation: race again without the shortest route's van.

    Each attempt keeps the vans of the other routes (so ``k - 1`` of them)
    and starts OR-Tools from their routes; PyVRP searches cold beside it. A
    result is taken only when the checker passes it on the whole problem,
    it leaves out no more orders than ``plan`` and it has fewer routes:
    otherwise ``plan`` stands, so this never returns a worse plan.
    """
    problem = data.problem
    while True:
        left = deadline - time.perf_counter()
        used = [r for r in plan.routes if r.orders > 0]
        if left < MIN_ROUTE_SECONDS or len(used) <= 1:
            return plan, engine
        # Fewest orders first: the easiest route to spread over the others.
        shortest = min(used, key=lambda r: (r.orders, r.distance))
        keep = {r.vehicle for r in used if r is not shortest}
        fleet = tuple(v for v in problem.vehicles if v.id in keep)
        smaller = build_data(problem.model_copy(update={"vehicles": fleet}), travel)
        initial = [_warm_route(smaller, plan, v.id) for v in fleet]
        attempt = params.model_copy(update={"time_limit": left})
        candidates, _ = _race(smaller, ids, attempt, travel, None, initial=initial)
        t0 = time.perf_counter()
        found = [
            (engine_, result)
            for engine_, result in candidates
            if result.failure is None
        ]
        better = None
        for ranked in _ranked(smaller, found, impossible, params, travel, t0, None):
            failed, unassigned, (routes, _), name, candidate = ranked
            if (
                not failed
                and unassigned <= plan.summary.unassigned
                and routes < len(used)
                and check(problem, candidate, travel).ok
            ):
                better = (candidate, f"{name}+fewer-routes")
                break
        if better is None:
            return plan, engine
        plan, engine = better


def _warm_route(smaller: ProblemData, plan: Plan, vehicle: str) -> list[int]:
    """A route of ``plan`` as node indices of the smaller fleet's data."""
    route = next((r for r in plan.routes if r.vehicle == vehicle), None)
    if route is None:
        return []
    nodes: list[int] = []
    for step in route.steps:
        if step.id is None or step.type not in (
            StepType.JOB,
            StepType.PICKUP,
            StepType.DELIVERY,
        ):
            continue
        own = smaller.order_nodes[step.id]
        nodes.append(own[-1] if step.type == StepType.DELIVERY else own[0])
    return nodes


def _race(
    data: ProblemData,
    ids: list[str],
    params: SolveParams,
    travel: TravelModel,
    progress: ProgressCallback | None,
    *,
    initial: Sequence[Sequence[int]] | None = None,
) -> tuple[list[tuple[str, EngineResult]], str]:
    """OR-Tools here, the PyVRP side in a forked process, side by side.

    With more than :data:`RACE_CORES` cores and a problem PyVRP models whole
    (and no warm start for OR-Tools), PyVRP's islands run here on all of
    them instead.

    Returns the results by engine (OR-Tools first) and, when the second
    process gave none, why (else ``""``).
    """
    from routing.solver.ortools_adapter import solve_ortools
    from routing.solver.pyvrp_adapter import pyvrp_fit

    t0 = time.perf_counter()
    misfit = pyvrp_fit(data, ids)
    if misfit is None and initial is None and usable_cores(params.workers) > RACE_CORES:
        return [("pyvrp-islands", _islands(data, ids, params, progress))], ""
    # The second process is one PyVRP search (or its warm start): the
    # islands above are the way to more cores.
    single = params.model_copy(update={"workers": 1})
    # A forked process starts running at once with the data it inherits. A
    # process pool would pickle the data on a feeder thread, which can wait
    # for the GIL until OR-Tools returns here, so PyVRP would start 10 s late.
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    second = context.Process(
        target=_second_process,
        args=(send, data, ids, single, travel, misfit is not None),
        daemon=True,
    )
    candidates: list[tuple[str, EngineResult]] = []
    failure = "no result in time"
    try:
        second.start()
        send.close()
        candidates.append(
            (
                "ortools",
                solve_ortools(data, ids, params, initial=initial, progress=progress),
            )
        )
        deadline = t0 + params.time_limit + SECOND_GRACE
        try:
            if receive.poll(max(0.0, deadline - time.perf_counter())):
                got = receive.recv()
                if isinstance(got, str):
                    failure = got
                else:
                    candidates.append(got)
                    failure = ""
        except (EOFError, OSError) as exc:  # it died: carry on without it
            failure = f"its process died ({type(exc).__name__})"
    finally:
        receive.close()
        second.join(timeout=1.0)
        if second.is_alive():
            second.kill()
            second.join()
    return candidates, failure


def _islands(
    data: ProblemData,
    ids: list[str],
    params: SolveParams,
    progress: ProgressCallback | None,
) -> EngineResult:
    """PyVRP's islands here, on every core, leaving time to make the plan."""
    from routing.solver.pyvrp_adapter import solve_pyvrp

    limit = max(0.1, params.time_limit - plan_reserve(len(ids)))
    return solve_pyvrp(
        data, ids, params.model_copy(update={"time_limit": limit}), progress=progress
    )
