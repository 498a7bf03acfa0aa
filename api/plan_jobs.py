"""The dispatchers' jobs: solving a day and re-optimising a plan in execution.

The job functions are pure (JSON in, JSON out, no database) so they can run
in a worker process or on a Dask cluster; the ``on_success`` hooks run in the
service and store the plan, then hand it to tracking. A solved plan's id is
its job's id: the URL a client gets at submission stays valid when the plan
is there.

Payloads:

* ``plan``: ``{"problem", "params", "day", "depot_id"}``
* ``reoptimize``: ``{"problem", "state", "params", "day", "depot_id",
  "parent_id"}``, where ``problem`` and ``state.plan`` are the parent plan's
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from api import tracking_service
from api.db.base import utcnow
from api.jobs import JobRow, Progress, on_success, register
from api.plans_store import PlanRow, save_plan
from routing.model import Problem
from routing.plan import Plan
from routing.reoptimise import Changes, ExecutionState, reoptimise
from routing.solver import SolveParams, solve
from routing.travel import HaversineTravel
from routing.units import to_seconds

__all__ = ["PLAN", "PLAN_KINDS", "REOPTIMIZE", "reoptimise_plan", "solve_plan"]

PLAN = "plan"
REOPTIMIZE = "reoptimize"
PLAN_KINDS = frozenset({PLAN, REOPTIMIZE})
_URL = "/v1/plans/{id}"


@register(PLAN, url=_URL)
def solve_plan(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Solve a day (:func:`routing.solver.solve`), reporting improvements.

    Parameters
    ----------
    payload
        ``problem`` (a :class:`~routing.model.Problem` as JSON) and ``params``
        (:class:`~routing.solver.SolveParams` fields).
    progress
        ``(share done, message)``; the share is the time limit used up.

    Returns
    -------
    dict
        ``{"plan": Plan JSON}``.
    """
    problem = Problem.model_validate(payload["problem"])
    params = SolveParams.model_validate(payload.get("params") or {})
    n = len(problem.jobs) + len(problem.shipments)
    progress(0.0, f"solving {n} orders, {params.time_limit:g} s at most")

    def improved(engine: str, seconds: float, objective: float) -> None:
        share = min(0.99, seconds / params.time_limit)
        progress(share, f"{engine}: objective {objective:,.0f} after {seconds:.1f} s")

    plan = solve(problem, params=params, progress=improved)
    return {"plan": plan.model_dump(mode="json")}


@register(REOPTIMIZE, url=_URL)
def reoptimise_plan(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Plan the rest of the day (:func:`routing.reoptimise.reoptimise`).

    Parameters
    ----------
    payload
        ``problem`` (the parent plan's), ``state`` (an
        :class:`~routing.reoptimise.ExecutionState` holding the parent plan)
        and ``params``.
    progress
        ``(share done, message)``: the start only (the search does not
        report).

    Returns
    -------
    dict
        ``problem`` (the rest of the day), ``plan``, ``changes`` and
        ``source`` (``kept``, ``repair`` or ``search``).
    """
    problem = Problem.model_validate(payload["problem"])
    state = ExecutionState.model_validate(payload["state"])
    params = SolveParams.model_validate(payload.get("params") or {})
    progress(0.0, "re-planning the rest of the day")
    result = reoptimise(problem, state, HaversineTravel(), params=params)
    return {
        "problem": result.problem.model_dump(mode="json"),
        "plan": result.plan.model_dump(mode="json"),
        "changes": result.changes.model_dump(mode="json"),
        "source": result.source,
    }


def _track(session: Session, row: PlanRow) -> None:
    """Hand a stored plan to tracking: its orders become ``planned``."""
    at = to_seconds(utcnow(), row.day)
    tracking_service.register_plan(
        session, day=row.day, plan_id=row.id, plan=row.plan, problem=row.problem, at=at
    )


@on_success(PLAN)
def store_solved_plan(session: Session, job: JobRow) -> None:
    """Store the plan of a finished ``plan`` job (id: the job's) and track it."""
    assert job.result is not None
    row = save_plan(
        session,
        day=dt.date.fromisoformat(job.payload["day"]),
        depot_id=job.payload.get("depot_id"),
        problem=Problem.model_validate(job.payload["problem"]),
        plan=Plan.model_validate(job.result["plan"]),
        parent_id=None,
        job_id=job.id,
        plan_id=job.id,
    )
    _track(session, row)


@on_success(REOPTIMIZE)
def store_reoptimised_plan(session: Session, job: JobRow) -> None:
    """Store the new plan of a ``reoptimize`` job; its parent is superseded."""
    assert job.result is not None
    row = save_plan(
        session,
        day=dt.date.fromisoformat(job.payload["day"]),
        depot_id=job.payload.get("depot_id"),
        problem=Problem.model_validate(job.result["problem"]),
        plan=Plan.model_validate(job.result["plan"]),
        parent_id=job.payload["parent_id"],
        job_id=job.id,
        plan_id=job.id,
        changes=Changes.model_validate(job.result["changes"]),
    )
    _track(session, row)
