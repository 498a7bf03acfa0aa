"""One engine on one problem: index it, precheck it, search, time the plan.

:func:`solve_one` is what :func:`routing.solver.solve` runs for a day that is
not split, and what :mod:`routing.solver.decompose` runs for each part. The
engine is ``"ortools"``, ``"pyvrp"`` or ``"auto"`` (the portfolio of both,
:mod:`routing.solver.portfolio`); which one a day gets is decided by
:func:`routing.solver.choice.choose_engine`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from routing.model import Problem
from routing.plan import Plan
from routing.solver.data import ProblemData, build_data
from routing.solver.params import Engine, ProgressCallback, SolveParams
from routing.solver.parts import verify
from routing.solver.precheck import precheck
from routing.solver.result import (
    EngineResult,
    NoPlanFound,
    engine_label,
    plan_from_result,
    plan_from_sequences,
)
from routing.travel import TravelModel


class EngineMisfit(ValueError):
    """The chosen engine cannot model the problem (its message says why)."""


def solve_one(
    problem: Problem,
    engine: Engine,
    *,
    travel: TravelModel,
    params: SolveParams,
    progress: ProgressCallback | None = None,
) -> Plan:
    """Plan ``problem`` with ``engine`` on the whole of it.

    Raises
    ------
    ValueError
        When ``engine`` is ``"pyvrp"`` and the problem needs constraints
        PyVRP does not model, or ``engine`` is ``"large"``.
    NoPlanFound
        When the search found no solution at all (see
        :class:`~routing.solver.result.NoPlanFound`); :func:`routing.solver.solve`
        then tries its fallbacks.
    """
    if engine == "large":
        raise ValueError("solve_one runs one engine; 'large' splits the day")
    t0 = time.perf_counter()
    data = build_data(problem, travel)
    serviceable, impossible = precheck(data)
    if not problem.vehicles:  # no engine models an empty fleet
        return plan_from_sequences(
            data,
            [],
            dropped=[],
            impossible=impossible,
            engine=engine,
            seconds=time.perf_counter() - t0,
        )
    if engine == "auto":
        from routing.solver.portfolio import solve_auto

        return solve_auto(
            data, serviceable, impossible, params, travel, progress=progress
        )
    # The limit is for the whole call: what indexing and the precheck took
    # is not the engine's to spend.
    left = max(0.1, params.time_limit - (time.perf_counter() - t0))
    result = run_engine(
        data,
        serviceable,
        engine,
        params.model_copy(update={"time_limit": left}),
        progress=progress,
    )
    if result.failure is not None:
        raise NoPlanFound(engine, params.time_limit, result.failure)
    plan = plan_from_result(
        data,
        result,
        impossible=impossible,
        engine=engine_label(engine, result),
        seconds=time.perf_counter() - t0,
    )
    if result.constructed:
        # Our construction, not OR-Tools', made the start: the checker, not
        # the model alone, says the plan holds before anyone gets it.
        verdict = verify(problem, plan, travel)
        if not verdict.ok:
            raise NoPlanFound(
                engine,
                params.time_limit,
                f"the search from the constructed start broke the plan: {verdict}",
            )
    return plan


def run_engine(
    data: ProblemData,
    order_ids: Sequence[str],
    engine: Engine,
    params: SolveParams,
    *,
    progress: ProgressCallback | None = None,
) -> EngineResult:
    """Search with OR-Tools or PyVRP for ``params.time_limit`` seconds."""
    if engine == "pyvrp":
        from routing.solver.pyvrp_adapter import pyvrp_fit, solve_pyvrp

        misfit = pyvrp_fit(data, order_ids)
        if misfit is not None:
            raise EngineMisfit(
                f"engine 'pyvrp' cannot model this problem ({misfit}); "
                "use 'ortools' or 'auto'"
            )
        return solve_pyvrp(data, order_ids, params, progress=progress)
    if engine != "ortools":
        raise ValueError(f"run_engine runs 'ortools' or 'pyvrp', not {engine!r}")
    from routing.solver.ortools_adapter import solve_ortools

    return solve_ortools(data, order_ids, params, progress=progress)
