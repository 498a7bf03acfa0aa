"""Plans: solve a day, follow the solve, re-optimise, dispatch.

A solve is a job (:mod:`api.plan_jobs`). ``POST /v1/plans`` answers ``202``
at once with the job and the plan's URL; the plan's id is the job's id, so
``GET /v1/plans/{id}`` answers from the moment of submission: status
``queued`` or ``running`` (with the job's progress), then ``draft`` with the
plan, or ``failed`` with the job's error. Re-optimising makes a new plan
(new id, ``parent_id`` set) and leaves the old one ``superseded`` once the
new one is there. Dispatching freezes a plan: a dispatched plan is never
edited, only superseded.

Dispatchers call everything; planners may read.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import dispatch, tracking_service
from api.auth import Principal, Role, require
from api.db.base import utcnow
from api.deps import Offset, SessionDep, SettingsDep
from api.errors import FieldError, InvalidInput, check_max_items, problem_responses
from api.jobs import JobPublic, JobRow, job_public, job_row, submit
from api.plan_jobs import PLAN, PLAN_KINDS, REOPTIMIZE
from api.plans_store import PlanRow, child_of, plan_row
from routing.model import Id, Job, Problem, Seconds
from routing.plan import Plan, Summary
from routing.reoptimise import Changes, ExecutionState, VehicleState, state_errors
from routing.solver import SolveParams
from routing.units import TIMEZONE, to_seconds

__all__ = ["router"]

router = APIRouter(
    prefix="/plans", tags=["plans"], responses=problem_responses(401, 403)
)

Dispatcher = Annotated[Principal, Depends(require(Role.dispatcher))]
Reader = Annotated[Principal, Depends(require(Role.dispatcher, Role.planner))]

#: The longest solve a request may ask for, in seconds.
MAX_TIME_LIMIT = 600.0

PlanState = Literal["queued", "running", "failed", "draft", "dispatched", "superseded"]


class PlanParams(SolveParams):
    """How to solve (:class:`routing.solver.SolveParams`), time limit capped."""

    time_limit: float = Field(
        default=10.0, gt=0.0, le=MAX_TIME_LIMIT, description="seconds"
    )


class PlanCreate(BaseModel):
    """What to plan: a whole ``problem``, or the stored orders of ``day``.

    Give ``problem``, or ``day`` (with ``depot_id`` to plan one depot; without,
    every depot of the day at once), not both.
    """

    model_config = ConfigDict(extra="forbid")

    problem: Problem | None = None
    day: dt.date | None = None
    depot_id: Id | None = None
    params: PlanParams | None = None


class PlanReoptimize(BaseModel):
    """What happened since the plan was made (an ``ExecutionState`` minus the plan).

    Times are seconds since local midnight of the plan's day.
    """

    model_config = ConfigDict(extra="forbid")

    time: Seconds = Field(description="now, seconds since midnight of the day")
    vehicles: tuple[VehicleState, ...] = ()
    new_orders: tuple[Job, ...] = ()
    cancelled: tuple[Id, ...] = ()
    changed: tuple[Job, ...] = Field(
        default=(), description="new versions of existing orders, by id"
    )
    unavailable: tuple[Id, ...] = Field(default=(), description="vehicle ids")
    promised: dict[str, int] = Field(
        default_factory=dict,
        description="promised service starts by order id (default: the plan's)",
    )
    params: PlanParams | None = None


class PlanAccepted(BaseModel):
    """A plan being made: follow ``url`` until its status is not queued/running."""

    id: str
    job: JobPublic
    url: str


class PlanPublic(BaseModel):
    """A plan, or the state of the job making it.

    ``plan`` and ``summary`` are there once the job succeeded; ``changes``
    for a re-optimised plan (against ``parent_id``); ``superseded_by`` names
    the newest plan that replaced this one.
    """

    id: str
    status: PlanState
    day: dt.date | None = None
    depot_id: str | None = None
    job: JobPublic | None = None
    plan: Plan | None = None
    summary: Summary | None = None
    changes: Changes | None = None
    parent_id: str | None = None
    superseded_by: str | None = None
    created_at: dt.datetime
    dispatched_at: dt.datetime | None = None


class PlanDispatched(PlanPublic):
    """A dispatched plan and how many orders this call moved to ``dispatched``."""

    dispatched_orders: int = Field(description="0 when it was dispatched before")


class PlanItem(BaseModel):
    """A stored plan in a list (without its routes)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    status: Literal["draft", "dispatched", "superseded"]
    day: dt.date
    depot_id: str | None = None
    summary: Summary
    parent_id: str | None = None
    job_id: str | None = None
    created_at: dt.datetime
    dispatched_at: dt.datetime | None = None


class PlansPublic(BaseModel):
    """A page of stored plans, newest first."""

    data: list[PlanItem]
    count: int


# --- helpers -----------------------------------------------------------------------


def _find(session: Session, plan_id: str) -> tuple[PlanRow | None, JobRow | None]:
    """The stored plan and the job that made (or is making) it."""
    row = plan_row(session, plan_id)
    job_id = plan_id if row is None else row.job_id
    job = None if job_id is None else job_row(session, job_id)
    if job is not None and job.kind not in PLAN_KINDS:
        job = None
    if row is None and job is not None and job.status == "succeeded":
        # Each read sees what was committed when it ran: the job finished
        # (and stored its plan, in the same transaction) between the two.
        row = plan_row(session, plan_id)
    if row is None and job is None:
        raise HTTPException(404, f"no plan {plan_id}")
    return row, job


def _public(session: Session, row: PlanRow | None, job: JobRow | None) -> PlanPublic:
    if row is None:
        assert job is not None
        # A succeeded job always has its plan row (the hook stores it in the
        # transaction that marks the job succeeded), so this is queued,
        # running or failed.
        return PlanPublic(
            id=job.id,
            status=job_public(job).status,
            day=_payload_day(job.payload),
            depot_id=job.payload.get("depot_id"),
            job=job_public(job),
            parent_id=job.payload.get("parent_id"),
            created_at=job.created_at,
        )
    child = child_of(session, row.id) if row.status == "superseded" else None
    return PlanPublic(
        id=row.id,
        status=row.status,
        day=row.day,
        depot_id=row.depot_id,
        job=None if job is None else job_public(job),
        plan=row.plan,
        summary=row.plan.summary,
        changes=row.changes,
        parent_id=row.parent_id,
        superseded_by=None if child is None else child.id,
        created_at=row.created_at,
        dispatched_at=row.dispatched_at,
    )


def _payload_day(payload: dict[str, Any]) -> dt.date | None:
    day = payload.get("day")
    return None if day is None else dt.date.fromisoformat(day)


def _not_ready(plan_id: str, job: JobRow | None) -> HTTPException:
    state = "unknown" if job is None else job.status
    return HTTPException(409, f"plan {plan_id} has no plan to use: its job is {state}")


def _check_problem_size(problem: Problem, field: str, max_items: int) -> None:
    check_max_items(problem.jobs, f"{field}.jobs", max_items)
    check_max_items(problem.shipments, f"{field}.shipments", max_items)
    check_max_items(problem.vehicles, f"{field}.vehicles", max_items)


def _accepted(response: Response, job: JobRow) -> PlanAccepted:
    url = f"/v1/plans/{job.id}"
    response.headers["Location"] = url
    return PlanAccepted(id=job.id, job=job_public(job, url), url=url)


# --- routes -----------------------------------------------------------------------


@router.post(
    "",
    response_model=PlanAccepted,
    status_code=202,
    responses=problem_responses(422),
)
def create_plan(
    body: PlanCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    _: Dispatcher,
) -> PlanAccepted:
    """Start solving a problem, or the stored orders of a day; 202 with the plan URL."""
    if (body.problem is None) == (body.day is None):
        reason = "give either problem or day (with an optional depot_id)"
        raise InvalidInput([FieldError(field="body.problem", reason=reason)])
    if body.problem is not None:
        if body.depot_id is not None:
            reason = "depot_id goes with day; a problem names its own depots"
            raise InvalidInput([FieldError(field="body.depot_id", reason=reason)])
        problem = body.problem
        _check_problem_size(problem, "body.problem", settings.max_list_items)
        day = problem.date or dt.datetime.now(TIMEZONE).date()
        depot_id = problem.depots[0].id if len(problem.depots) == 1 else None
    else:
        assert body.day is not None
        day, depot_id = body.day, body.depot_id
        try:
            problem = dispatch.problem_for(session, day, depot_id)
        except dispatch.NothingToPlan as exc:
            field = f"body.{exc.field}"
            raise InvalidInput([FieldError(field=field, reason=str(exc))]) from None
        except ValueError as exc:
            raise InvalidInput(
                [FieldError(field="body.day", reason=str(exc))]
            ) from None
    params = body.params or PlanParams()
    job = submit(
        session,
        PLAN,
        {
            "problem": problem.model_dump(mode="json"),
            "params": params.model_dump(mode="json"),
            "day": day.isoformat(),
            "depot_id": depot_id,
        },
    )
    return _accepted(response, job)


@router.get("", response_model=PlansPublic, responses=problem_responses(422))
def read_plans(
    session: SessionDep,
    _: Reader,
    day: dt.date | None = None,
    depot_id: Annotated[str | None, Query(max_length=128)] = None,
    status: Literal["draft", "dispatched", "superseded"] | None = None,
    skip: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PlansPublic:
    """List stored plans, newest first, by day, depot and status."""
    filters = []
    if day is not None:
        filters.append(PlanRow.day == day)
    if depot_id is not None:
        filters.append(PlanRow.depot_id == depot_id)
    if status is not None:
        filters.append(PlanRow.status == status)
    count = session.scalar(select(func.count()).select_from(PlanRow).where(*filters))
    rows = session.scalars(
        select(PlanRow)
        .where(*filters)
        .order_by(PlanRow.created_at.desc(), PlanRow.id.desc())
        .offset(skip)
        .limit(limit)
    )
    data = [
        PlanItem(
            id=r.id,
            status=r.status,
            day=r.day,
            depot_id=r.depot_id,
            summary=r.plan.summary,
            parent_id=r.parent_id,
            job_id=r.job_id,
            created_at=r.created_at,
            dispatched_at=r.dispatched_at,
        )
        for r in rows
    ]
    return PlansPublic(data=data, count=count or 0)


@router.get("/{plan_id}", response_model=PlanPublic, responses=problem_responses(404))
def read_plan(plan_id: str, session: SessionDep, _: Reader) -> PlanPublic:
    """A plan with its status and job progress; the plan itself once solved."""
    row, job = _find(session, plan_id)
    return _public(session, row, job)


@router.post(
    "/{plan_id}/reoptimize",
    response_model=PlanAccepted,
    status_code=202,
    responses=problem_responses(404, 409, 422),
)
def reoptimize_plan(
    plan_id: str,
    body: PlanReoptimize,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    _: Dispatcher,
) -> PlanAccepted:
    """Start re-planning the rest of the day; 202 with the new plan's URL."""
    row, job = _find(session, plan_id)
    if row is None:
        raise _not_ready(plan_id, job)
    if row.status == "superseded":
        child = child_of(session, row.id)
        newer = "" if child is None else f" by plan {child.id}"
        raise HTTPException(
            409, f"plan {plan_id} is superseded{newer}; re-optimise the newest plan"
        )
    for name in ("vehicles", "new_orders", "cancelled", "changed", "unavailable"):
        check_max_items(getattr(body, name), f"body.{name}", settings.max_list_items)
    state = ExecutionState(
        plan=row.plan, **body.model_dump(exclude={"params"}, exclude_unset=True)
    )
    errors = state_errors(row.problem, state)
    if errors:
        raise InvalidInput([_state_error(line) for line in errors])
    params = body.params or PlanParams()
    new = submit(
        session,
        REOPTIMIZE,
        {
            "problem": row.problem.model_dump(mode="json"),
            "state": state.model_dump(mode="json"),
            "params": params.model_dump(mode="json"),
            "day": row.day.isoformat(),
            "depot_id": row.depot_id,
            "parent_id": row.id,
        },
    )
    return _accepted(response, new)


def _state_error(line: str) -> FieldError:
    """``"vehicles[0].vehicle: unknown ..."`` -> a field error under ``body``."""
    path, _, reason = line.partition(": ")
    return FieldError(field=f"body.{path}", reason=reason or line)


@router.post(
    "/{plan_id}/dispatch",
    response_model=PlanDispatched,
    responses=problem_responses(404, 409),
)
def dispatch_plan(plan_id: str, session: SessionDep, _: Dispatcher) -> PlanDispatched:
    """Freeze a plan and move its orders to dispatched; repeating it changes nothing."""
    row, job = _find(session, plan_id)
    if row is None:
        raise _not_ready(plan_id, job)
    if row.status == "superseded":
        raise HTTPException(409, f"plan {plan_id} is superseded; dispatch the newest")
    now = utcnow()
    if row.status != "dispatched":
        row.status = "dispatched"
        row.dispatched_at = now
    moved = tracking_service.dispatch_plan(
        session,
        day=row.day,
        plan_id=row.id,
        plan=row.plan,
        at=to_seconds(now, row.day),
    )
    session.flush()
    public = _public(session, row, job)
    return PlanDispatched(**dict(public), dispatched_orders=moved)
