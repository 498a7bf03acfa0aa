"""``solve()``: one entry point for every engine."""

from __future__ import annotations

from collections.abc import Sequence

from routing.model import Problem
from routing.plan import Plan
from routing.solver.choice import LARGE_ORDERS, choose_engine
from routing.solver.decompose import solve_large
from routing.solver.engines import solve_one
from routing.solver.params import ProgressCallback, SolveParams
from routing.solver.result import plan_from_sequences
from routing.travel import HaversineTravel, TravelModel, plan_travel_spec

__all__ = ["LARGE_ORDERS", "plan_from_sequences", "solve"]


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
        Engine, time limit, objective and search settings; the engine a day
        gets is :func:`~routing.solver.choice.choose_engine`'s.
    progress
        Called with (engine, seconds, objective) on every improvement.
    coordinates
        Planar coordinates by matrix index, used only to split large problems
        whose locations are matrix indices (e.g. Solomon files); without them
        the split places locations by the travel matrix.

    Returns
    -------
    Plan
        Timed routes, and every order the plan leaves out with its reason;
        ``travel`` records the travel model they are timed with.
    """
    params = params or SolveParams()
    travel_model = travel or HaversineTravel()
    engine = choose_engine(
        len(problem.jobs) + len(problem.shipments),
        params.engine,
        bounded=params.iterations is not None,
    )
    if engine == "large":
        # Before any indexing: a large day never gets a dense matrix here.
        plan = solve_large(
            problem,
            params=params,
            travel=travel_model,
            progress=progress,
            coordinates=coordinates,
        )
    else:
        plan = solve_one(
            problem, engine, travel=travel_model, params=params, progress=progress
        )
    return plan.model_copy(update={"travel": plan_travel_spec(problem, travel_model)})
