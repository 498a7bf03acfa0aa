"""``solve()``: one entry point for every engine."""

from __future__ import annotations

import time
from collections.abc import Sequence

from routing.model import Problem
from routing.plan import Plan, Reason, Unassigned
from routing.solver.data import ProblemData, build_data
from routing.solver.params import ProgressCallback, SolveParams
from routing.solver.precheck import precheck
from routing.solver.result import EngineResult
from routing.solver.timeline import Visit, assemble_plan, schedule_route
from routing.travel import HaversineTravel, TravelModel

#: From this many orders ``auto`` splits the day (:mod:`routing.solver.decompose`):
#: one engine on the whole day would hold ``N x N`` matrices per travel band
#: and converge slowly.
LARGE_ORDERS = 1000


def solve(
    problem: Problem,
    *,
    travel: TravelModel | None = None,
    params: SolveParams | None = None,
    progress: ProgressCallback | None = None,
    coordinates: Sequence[tuple[float, float]] | None = None,
) -> Plan:
    """Plan routes for ``problem``.

    Parameters
    ----------
    travel
        Travel model for problems without their own matrices; defaults to
        :class:`~routing.travel.HaversineTravel`.
    params
        Engine, time limit, objective and search settings.
    progress
        Called with (engine, seconds, objective) on every improvement.
    coordinates
        Planar coordinates by matrix index, used only to split large problems
        whose locations are matrix indices (e.g. Solomon files); without them
        the split places locations by the travel matrix.

    Returns
    -------
    Plan
        Timed routes, and every order the plan leaves out with its reason.
    """
    params = params or SolveParams()
    t0 = time.perf_counter()
    travel_model = travel or HaversineTravel()
    large = params.engine == "large" or (
        params.engine == "auto"
        and len(problem.jobs) + len(problem.shipments) >= LARGE_ORDERS
    )
    if large:
        from routing.solver.decompose import solve_large

        # Before build_data: a large day never gets a dense matrix here.
        return solve_large(
            problem,
            params=params,
            travel=travel_model,
            progress=progress,
            coordinates=coordinates,
        )
    data = build_data(problem, travel_model)
    serviceable, impossible = precheck(data)

    def make_plan(
        data: ProblemData, result: EngineResult, engine: str, seconds: float
    ) -> Plan:
        return plan_from_sequences(
            data,
            result.sequences,
            dropped=result.dropped,
            impossible=impossible,
            engine=engine,
            seconds=seconds,
        )

    if params.engine == "auto":
        from routing.solver.portfolio import solve_auto

        return solve_auto(
            data,
            serviceable,
            params,
            travel_model,
            progress=progress,
            make_plan=make_plan,
        )
    # The limit is for the whole call: what indexing and the precheck took
    # is not the engine's to spend.
    left = max(0.1, params.time_limit - (time.perf_counter() - t0))
    params = params.model_copy(update={"time_limit": left})
    if params.engine == "pyvrp":
        from routing.solver.pyvrp_adapter import pyvrp_fit, solve_pyvrp

        misfit = pyvrp_fit(data, serviceable)
        if misfit is not None:
            raise ValueError(
                f"engine 'pyvrp' cannot model this problem ({misfit}); "
                "use 'ortools' or 'auto'"
            )
        result = solve_pyvrp(data, serviceable, params, progress=progress)
    else:
        from routing.solver.ortools_adapter import solve_ortools

        result = solve_ortools(data, serviceable, params, progress=progress)
    return make_plan(data, result, params.engine, time.perf_counter() - t0)


def plan_from_sequences(
    data: ProblemData,
    sequences: list[list[Visit]],
    *,
    dropped: list[str],
    impossible: list[Unassigned],
    engine: str,
    seconds: float,
) -> Plan:
    """Time every vehicle's sequence and collect the unassigned orders."""
    routes = [schedule_route(data, v, seq) for v, seq in enumerate(sequences) if seq]
    unassigned = list(impossible)
    for oid in dropped:
        order = data.orders[oid]
        unassigned.append(
            Unassigned(
                id=oid,
                reason=Reason.DROPPED,
                detail="left out by optimisation: serving it would cost more "
                "than its penalty or break another constraint",
                penalty=order.drop_penalty,
            )
        )
    return assemble_plan(data, routes, unassigned, engine=engine, seconds=seconds)
