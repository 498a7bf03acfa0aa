"""Plans: solve a day, follow the solve, re-optimise, dispatch.

A solve is a job (:mod:`api.jobs`). ``POST /v1/plans`` answers ``202``
at once with the job and the plan's URL; the plan's id is the job's id, so
``GET /v1/plans/{id}`` answers from the moment of submission (see
:mod:`api.services.plans`). Dispatchers call everything; planners may read.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import (
    DeprecatedSkip,
    JobQueueDep,
    OptionalOffset,
    Principal,
    Role,
    SessionDep,
    SettingsDep,
    page_offset,
    require,
)
from api.errors import problem_responses
from api.services import console, plans
from api.services.console import EditPreviewPublic, PlanEdits, PlanGeometry
from api.services.errors import fields_under
from api.services.plans import (
    PlanAccepted,
    PlanCreate,
    PlanDispatched,
    PlanParams,
    PlanPublic,
    PlanReoptimize,
    PlansPublic,
    RescueComparison,
)
from api.services.travel import deployment_travel
from routing.bounds import Day

__all__ = ["PlanCreate", "PlanParams", "PlanReoptimize", "router"]

router = APIRouter(
    prefix="/plans", tags=["plans"], responses=problem_responses(401, 403)
)

Dispatcher = Annotated[Principal, Depends(require(Role.dispatcher))]
Reader = Annotated[Principal, Depends(require(Role.dispatcher, Role.planner))]


def _located(response: Response, accepted: PlanAccepted) -> PlanAccepted:
    response.headers["Location"] = accepted.url
    return accepted


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
    queue: JobQueueDep,
    _: Dispatcher,
) -> PlanAccepted:
    """Start solving a problem, or the stored orders of a day; 202 with the plan URL."""
    with fields_under("body"):
        roads = deployment_travel(settings)
        accepted = plans.create_plan(
            session,
            queue=queue,
            request=body,
            max_items=settings.max_list_items,
            travel=None if roads is None else roads.spec(),
        )
    return _located(response, accepted)


@router.get("", response_model=PlansPublic, responses=problem_responses(422))
def read_plans(
    session: SessionDep,
    _: Reader,
    day: Day | None = None,
    depot_id: Annotated[str | None, Query(max_length=128)] = None,
    status: Literal["draft", "dispatched", "superseded"] | None = None,
    offset: OptionalOffset = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    skip: DeprecatedSkip = None,
) -> PlansPublic:
    """List stored plans, newest first, by day, depot and status."""
    start = page_offset(offset, skip)
    return plans.list_plans(
        session, day=day, depot_id=depot_id, status=status, skip=start, limit=limit
    )


@router.get("/{plan_id}", response_model=PlanPublic, responses=problem_responses(404))
def read_plan(
    plan_id: str, session: SessionDep, queue: JobQueueDep, _: Reader
) -> PlanPublic:
    """A plan with its status and job progress; the plan itself once solved."""
    return plans.read_plan(session, queue=queue, plan_id=plan_id)


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
    queue: JobQueueDep,
    _: Dispatcher,
) -> PlanAccepted:
    """Start re-planning the rest of the day; 202 with the new plan's URL."""
    with fields_under("body"):
        accepted = plans.reoptimise_plan(
            session,
            queue=queue,
            plan_id=plan_id,
            request=body,
            max_items=settings.max_list_items,
        )
    return _located(response, accepted)


@router.post(
    "/{plan_id}/reoptimize/compare",
    response_model=RescueComparison,
    responses=problem_responses(404, 409, 422),
)
def compare_rescue(
    plan_id: str,
    body: PlanReoptimize,
    session: SessionDep,
    settings: SettingsDep,
    queue: JobQueueDep,
    _: Dispatcher,
) -> RescueComparison:
    """Plan each rescue choice for the broken-down vans and show what each costs."""
    with fields_under("body"):
        return plans.compare_rescue_options(
            session,
            queue=queue,
            plan_id=plan_id,
            request=body,
            max_items=settings.max_list_items,
        )


@router.get(
    "/{plan_id}/geometry",
    response_model=PlanGeometry,
    responses=problem_responses(404, 409),
)
def read_geometry(
    plan_id: str, session: SessionDep, queue: JobQueueDep, _: Reader
) -> PlanGeometry:
    """The plan's routes as polylines, one per leg: along the roads when its
    travel model is a road network, else straight (``along_roads`` false)."""
    return console.plan_geometry(session, queue=queue, plan_id=plan_id)


@router.post(
    "/{plan_id}/edits/preview",
    response_model=EditPreviewPublic,
    responses=problem_responses(404, 409, 422),
)
def preview_edits(
    plan_id: str,
    body: PlanEdits,
    session: SessionDep,
    settings: SettingsDep,
    queue: JobQueueDep,
    _: Dispatcher,
) -> EditPreviewPublic:
    """Move, re-sequence or lock stops and see the result: feasibility, cost and
    the change list (nothing is stored)."""
    with fields_under("body"):
        return console.preview_edits(
            session,
            queue=queue,
            plan_id=plan_id,
            request=body,
            max_items=settings.max_list_items,
        )


@router.post(
    "/{plan_id}/edits",
    response_model=PlanPublic,
    status_code=201,
    responses=problem_responses(404, 409, 422),
)
def apply_edits(
    plan_id: str,
    body: PlanEdits,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    queue: JobQueueDep,
    _: Dispatcher,
) -> PlanPublic:
    """Store the edited plan as a new draft (409 when infeasible, unless forced)."""
    with fields_under("body"):
        public = console.apply_edits(
            session,
            queue=queue,
            plan_id=plan_id,
            request=body,
            max_items=settings.max_list_items,
        )
    response.headers["Location"] = f"/v1/plans/{public.id}"
    return public


@router.delete(
    "/{plan_id}", response_model=PlanPublic, responses=problem_responses(404, 409)
)
def discard_plan(
    plan_id: str, session: SessionDep, queue: JobQueueDep, _: Dispatcher
) -> PlanPublic:
    """Discard a draft (it becomes superseded); 409 for a dispatched plan."""
    return plans.discard_plan(session, queue=queue, plan_id=plan_id)


@router.post(
    "/{plan_id}/dispatch",
    response_model=PlanDispatched,
    responses=problem_responses(404, 409),
)
def dispatch_plan(
    plan_id: str, session: SessionDep, queue: JobQueueDep, _: Dispatcher
) -> PlanDispatched:
    """Freeze a plan and move its orders to dispatched; repeating it changes nothing."""
    return plans.dispatch_plan(session, queue=queue, plan_id=plan_id)
