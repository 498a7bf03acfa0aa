"""``solve()``: one entry point for every engine.

Jobs with a planning buffer (``Job.buffer``) are planned in two steps: the
engine solves the day with each buffer as a hard end (so every engine keeps
the margin, and the search is not slowed by soft bounds), then the jobs this
left out are inserted into the routes with their full, promised windows
wherever the insertion costs less than leaving them out (the minutes started
inside a buffer priced at ``buffer_cost``). A buffer thus never costs an
order the plan could otherwise serve.

A search that finds no solution at all (OR-Tools without a first solution
in its time, PyVRP with nothing feasible) is never returned as an empty
plan. The day is searched again with twice the time (at most
:data:`RETRY_MAX_EXTRA` seconds more), then built by cheapest feasible
insertion (:func:`~routing.solver.insertion.insertion_plan`); the plan's
``fallback`` names the step that made it. When every step fails,
:class:`~routing.solver.result.NoPlanFound` says why.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from routing.access import road_access
from routing.model import Job, Problem, TimeWindow
from routing.plan import Plan, Reason
from routing.solver.choice import LARGE_ORDERS, choose_engine
from routing.solver.decompose import solve_large
from routing.solver.engines import solve_one
from routing.solver.insertion import insertion_plan
from routing.solver.params import Engine, ProgressCallback, SolveParams
from routing.solver.result import NoPlanFound, plan_from_sequences
from routing.travel import HaversineTravel, TravelModel, plan_travel_spec

__all__ = ["LARGE_ORDERS", "NoPlanFound", "plan_from_sequences", "solve"]

#: A search that found no solution is run again with this many times its
#: time limit ...
RETRY_FACTOR = 2.0
#: ... but at most this many seconds longer.
RETRY_MAX_EXTRA = 60.0


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
        ``travel`` records the travel model they are timed with, and
        ``fallback`` the fallback that made it, if the search asked for
        found no solution, and ``roads`` each order's snap on a road network
        (:mod:`routing.access`: orders off the roads are left out).

    Raises
    ------
    NoPlanFound
        When neither the search, nor the search with more time, nor
        insertion found a plan (the message names each attempt's failure).
    routing.access.DepotOffRoad
        If a vehicle's depot is off the road network or cut off from it.
    """
    params = params or SolveParams()
    travel_model = travel or HaversineTravel()
    # Orders off the roads, or cut off from them, never reach an engine.
    access = road_access(problem, travel_model)
    problem = access.kept
    tight = _buffers_as_ends(problem)
    if tight is not None:
        plan = solve(
            tight,
            travel=travel_model,
            params=params,
            progress=progress,
            coordinates=coordinates,
        )
        return access.finish(_release_buffers(problem, plan, travel_model, params))
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
        plan = _solve_or_fall_back(problem, engine, travel_model, params, progress)
    return access.finish(
        plan.model_copy(update={"travel": plan_travel_spec(problem, travel_model)})
    )


def _solve_or_fall_back(
    problem: Problem,
    engine: Engine,
    travel: TravelModel,
    params: SolveParams,
    progress: ProgressCallback | None,
) -> Plan:
    """:func:`solve_one`, and when its search finds no solution: the same
    search with more time, then insertion (module docstring)."""
    t0 = time.perf_counter()
    failures: list[str] = []
    try:
        return solve_one(
            problem, engine, travel=travel, params=params, progress=progress
        )
    except NoPlanFound as exc:
        failures.append(exc.reason)
    extra = min(params.time_limit * (RETRY_FACTOR - 1.0), RETRY_MAX_EXTRA)
    longer = params.model_copy(update={"time_limit": params.time_limit + extra})
    try:
        plan = solve_one(
            problem, engine, travel=travel, params=longer, progress=progress
        )
        return _fell_back(plan, "more_time", t0)
    except NoPlanFound as exc:
        failures.append(f"with {longer.time_limit:g} s: {exc.reason}")
    built = insertion_plan(problem, travel, objective=params.objective)
    if built is not None:
        return _fell_back(built, "insertion", t0)
    failures.append(
        "insertion: the day has shipments"
        if problem.shipments
        else "insertion: no order fits any van"
    )
    raise NoPlanFound(engine, params.time_limit, "; ".join(failures))


def _fell_back(plan: Plan, fallback: str, t0: float) -> Plan:
    """``plan`` marked as made by ``fallback``, timed from the first attempt."""
    seconds = round(time.perf_counter() - t0, 3)
    return plan.model_copy(update={"fallback": fallback, "seconds": seconds})


def _buffers_as_ends(problem: Problem) -> Problem | None:
    """``problem`` with each buffered job's window ending where its buffer
    starts (None: no job has a buffer)."""
    if not any(j.soft_end is not None for j in problem.jobs):
        return None
    jobs: list[Job] = []
    for job in problem.jobs:
        end = job.soft_end
        if end is None:
            jobs.append(job)
            continue
        *head, last = job.time_windows
        tight = TimeWindow(start=last.start, end=end)
        jobs.append(
            job.model_copy(
                update={"time_windows": (*head, tight), "buffer": 0, "buffer_cost": 0.0}
            )
        )
    return problem.model_copy(update={"jobs": tuple(jobs)})


def _release_buffers(
    problem: Problem, plan: Plan, travel: TravelModel, params: SolveParams
) -> Plan:
    """The plan of the buffered ends as a plan of ``problem``, with the jobs
    it left out inserted inside their buffers where that pays."""
    # Imported here: the insertion module imports the engines' modules.
    from routing.solver.insertion import LivePlan

    live = LivePlan.from_plan(
        problem,
        plan,
        travel,
        objective=params.objective,
        neighbours=120,
    )
    for u in plan.unassigned:
        job = live.orders.get(u.id)
        if not isinstance(job, Job):
            continue
        # Only what the search or the tightened window left out: an order
        # for another day, or without a fitting van, stays out.
        if u.reason != Reason.DROPPED and not (
            u.reason == Reason.TIME_WINDOW and job.soft_end is not None
        ):
            continue
        found = live.best(job)
        if found is not None and found[0].cost < problem.drop_penalty(job):
            live.insert(job, found=found)
    released = live.plan(engine=plan.engine, seconds=plan.seconds)
    return released.model_copy(update={"travel": plan.travel})
