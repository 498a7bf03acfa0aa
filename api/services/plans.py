"""Plans: solve a day, follow the solve, re-optimise, dispatch.

A solve is a job (``plan`` kind). Its plan's id is the job's id, so the plan
can be read from the moment of submission: ``queued`` or ``running`` (with
the job's progress), then ``draft`` with the plan, or ``failed`` with the
job's error. Re-optimising (or editing, :mod:`api.services.console`) makes
a new plan (``parent_id`` set, ``changes`` against the parent).

Review, then dispatch: a *draft* parent is ``superseded`` as soon as its
child is stored, and tracking follows the child at once. A *dispatched*
parent stays dispatched, live and tracked (its orders keep their routes,
live ETAs and the console's live stream follow it) while the dispatcher
reviews the child, a ``draft``; dispatching the child supersedes the parent
and moves tracking to the child. A second solve of a day and depot replaces
its earlier drafts (``superseded``, ``superseded_by`` the new plan);
``DELETE /v1/plans/{id}`` discards a draft (``superseded``, with no
``superseded_by``). Dispatching freezes a plan: a dispatched plan is never
edited, only superseded.

Solving and re-optimising price the problem with the deployment's newest
retention fit unless ``params.pricing`` is ``"uniform"``
(:func:`api.services.retention.priced`); the job's payload carries the
priced problem and how it was priced, and a stored plan's view adds the
expected retention cost of its planned times.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.orm import Session

from api.db import jobs as job_rows
from api.db import plans as plan_rows
from api.db import tracking as tracking_rows
from api.db.base import utcnow
from api.db.engine import locale_of
from api.db.plans import PlanRow, PlanStatus
from api.db.tables_jobs import JobRow
from api.jobs.kinds import JobKinds, MalformedJob, OnSuccess
from api.jobs.payloads import (
    PlanPayload,
    PlanPricing,
    PlanResult,
    ReoptimisePayload,
    ReoptimiseResult,
)
from api.jobs.queue import JobPublic, JobQueue
from api.jobs.runner import JobHook
from api.services import tracking
from api.services.errors import (
    Conflict,
    FieldError,
    Invalid,
    NotFound,
    check_max_items,
    validation_errors,
)
from api.services.problems import problem_for
from api.services.retention import (
    RetentionCost,
    current_pricing,
    priced,
    recent_lateness,
    retention_of,
)
from api.services.travel import plan_travel
from routing.bounds import PLANNING_MARGIN, Day, Real, Whole
from routing.io import InputError
from routing.locale import Locale
from routing.model import ClockReadings, Id, Problem
from routing.plan import Plan, Summary
from routing.reoptimise import (
    Changes,
    Dropped,
    ExecutionState,
    RescueMode,
    compare_rescue,
    state_errors,
)
from routing.solver import SolveParams, check
from routing.travel.spec import TravelSpec
from routing.units import to_seconds

__all__ = [
    "MAX_TIME_LIMIT",
    "PlanAccepted",
    "PlanCreate",
    "PlanDispatched",
    "PlanItem",
    "PlanParams",
    "PlanPublic",
    "PlanReoptimize",
    "PlansPublic",
    "RescueComparison",
    "compare_rescue_options",
    "create_plan",
    "discard_plan",
    "dispatch_plan",
    "editable_plan",
    "list_plans",
    "plan_hooks",
    "read_plan",
    "reoptimise_plan",
    "store_edited_plan",
    "stored_plan",
]

#: The longest solve a request may ask for, in seconds.
MAX_TIME_LIMIT = 600.0

PlanState = Literal[
    "queued", "running", "failed", "cancelled", "draft", "dispatched", "superseded"
]


#: Why a ``learned`` plan was priced uniformly.
NO_FIT_YET = "no retention fit yet"


class PlanParams(SolveParams):
    """How to solve (:class:`routing.solver.SolveParams`), time limit capped.

    ``pricing="learned"`` (the default) prices each order's lateness and drop
    by its customer's value with the deployment's newest retention fit
    (:mod:`api.services.retention`), once there is one; ``"uniform"`` keeps
    the problem's own prices.
    """

    time_limit: Real = Field(
        default=10.0, gt=0.0, le=MAX_TIME_LIMIT, description="seconds"
    )
    pricing: Literal["learned", "uniform"] = Field(
        default="learned",
        description="learned: price orders with the newest retention fit",
    )

    def solve_params(self) -> SolveParams:
        """The solver's parameters (without the service's options)."""
        return SolveParams.model_validate(self.model_dump(exclude={"pricing"}))


def _priced(
    session: Session, problem: Problem, params: PlanParams, day: dt.date
) -> tuple[Problem, PlanPricing]:
    """``problem`` priced as ``params.pricing`` asks, and how it was."""
    if params.pricing == "uniform":
        return problem, PlanPricing(source="uniform", reason="asked for")
    current = current_pricing(session)
    if current is None:
        return problem, PlanPricing(source="uniform", reason=NO_FIT_YET)
    out = priced(problem, current, recent_lateness(session, day))
    return out, PlanPricing(source="learned", fit=current.job_id)


class PlanCreate(BaseModel):
    """What to plan: a whole ``problem``, or the stored orders of ``day``.

    Give ``problem``, or ``day`` (with ``depot_id`` to plan one depot; without,
    every depot of the day at once), not both.
    """

    model_config = ConfigDict(extra="forbid")

    problem: Problem | None = None
    day: Day | None = None
    depot_id: Id | None = None
    params: PlanParams | None = None


class PlanReoptimize(ExecutionState, ClockReadings):
    """What happened since the plan was made (an ``ExecutionState`` minus the plan).

    Times are seconds since local midnight of the plan's day; ``"HH:MM"``
    strings are clock readings of that day (elapsed seconds on a day the
    clocks change: :func:`routing.model.clock_readings`). On a plan
    tracking follows, a van left out of ``vehicles`` starts from what
    tracking knows of it (its last position, its stops delivered or failed,
    the stop it is arriving at); a van listed is taken as sent.
    """

    model_config = ConfigDict(frozen=False, extra="forbid")

    # The plan is the stored one: a request cannot send it.
    plan: SkipJsonSchema[Plan | None] = Field(  # type: ignore[assignment]
        default=None, exclude=True
    )
    params: PlanParams | None = None

    @field_validator("plan", mode="before")
    @classmethod
    def _no_plan(cls, value: object) -> None:
        if value is not None:
            raise ValueError("Extra inputs are not permitted")

    def state(self, plan: Plan, problem: Problem) -> ExecutionState:
        """The execution state of ``plan`` of ``problem`` (fields sent, the
        rest default), its clock readings read on the problem's day.

        Raises :class:`Invalid` when a reading makes a field invalid on that
        day (a window from inside a skipped hour to just after it).
        """
        try:
            request = self.on_day(problem.date, problem.locale.zone)
        except ValidationError as exc:
            raise Invalid(validation_errors(exc, "")) from None
        sent = request.model_dump(exclude={"params", "plan"}, exclude_unset=True)
        return ExecutionState(plan=plan, **sent)


#: Seconds of search per rescue option when a comparison gives no params.
COMPARE_TIME_LIMIT = 2.0


class RescueOptionPublic(BaseModel):
    """One rescue choice planned (not stored): what it costs and serves.

    ``offered`` is false when the independent checker rejects the plan
    (``checker`` says why); such a plan is never offered for dispatch.
    """

    rescue: RescueMode
    cost: Real = Field(description="rest-of-day cost: routes and drop penalties")
    stability_cost: float
    served: int
    late: int
    parcels: Whole = Field(description="parcels on board the broken-down vans")
    delivered: Whole = Field(description="of those, delivered today")
    dropped: list[Dropped]
    source: str
    summary: Summary
    changes: Changes
    offered: bool
    checker: str


class RescueComparison(BaseModel):
    """Every rescue choice for the plan's broken-down vans, planned."""

    plan_id: str
    options: list[RescueOptionPublic]


class PlanAccepted(BaseModel):
    """A plan being made: follow ``url`` until its status is not queued/running."""

    id: str
    job: JobPublic
    url: str


class PlanPublic(BaseModel):
    """A plan, or the state of the job making it.

    ``plan`` and ``summary`` are there once the job succeeded; ``changes``
    for a re-optimised or edited plan (against ``parent_id``); ``pricing``
    how its orders were priced (None for an edited plan); ``retention`` the
    expected retention cost of its planned times with the newest retention
    fit (None before the first fit);
    ``superseded_by`` names the plan that replaced this one (None for a
    discarded draft); ``locked`` the orders whose stop keeps its van and
    place when the plan is re-optimised. ``currency`` is the ISO 4217 code
    of its costs (the deployment's).
    """

    id: str
    status: PlanState
    currency: str = Field(description="ISO 4217 code of the plan's costs")
    day: Day | None = None
    depot_id: str | None = None
    job: JobPublic | None = None
    plan: Plan | None = None
    summary: Summary | None = None
    changes: Changes | None = None
    parent_id: str | None = None
    superseded_by: str | None = None
    locked: list[str] = Field(default_factory=list)
    pricing: PlanPricing | None = None
    retention: RetentionCost | None = None
    created_at: dt.datetime
    dispatched_at: dt.datetime | None = None


class PlanDispatched(PlanPublic):
    """A dispatched plan and how many orders this call moved to ``dispatched``."""

    dispatched_orders: Whole = Field(description="0 when it was dispatched before")


class PlanItem(BaseModel):
    """A stored plan in a list (without its routes)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    status: PlanStatus
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


# --- reading -----------------------------------------------------------------


def _find(
    session: Session, queue: JobQueue, plan_id: str
) -> tuple[PlanRow | None, JobRow | None]:
    """The stored plan and the job that made (or is making) it."""
    row = plan_rows.get_plan(session, plan_id=plan_id)
    job_id = plan_id if row is None else row.job_id
    job = (
        None if job_id is None else job_rows.get_job(session, job_id=job_id, light=True)
    )
    if job is not None and job.kind not in queue.kinds.plan_kinds:
        job = None
    if row is None and job is not None and job.status == "succeeded":
        # Each read sees what was committed when it ran: the job finished
        # (and stored its plan, in the same transaction) between the two.
        row = plan_rows.get_plan(session, plan_id=plan_id)
    if row is None and job is None:
        raise NotFound(f"no plan {plan_id}")
    return row, job


def stored_plan(session: Session, *, queue: JobQueue, plan_id: str) -> PlanRow:
    """A stored plan (:class:`NotFound`, or :class:`Conflict` while its job runs)."""
    row, _ = _stored(session, queue, plan_id)
    return row


def editable_plan(session: Session, *, queue: JobQueue, plan_id: str) -> PlanRow:
    """A stored plan that may be edited or re-optimised (not superseded)."""
    row, _ = _stored(session, queue, plan_id)
    if row.status == "superseded":
        child = plan_rows.child_of(session, plan_id=row.id)
        newer = "" if child is None else f" by plan {child.id}"
        raise Conflict(f"plan {plan_id} is superseded{newer}; edit the newest plan")
    return row


def store_edited_plan(
    session: Session,
    *,
    queue: JobQueue,
    parent: PlanRow,
    plan: Plan,
    changes: Changes,
    locks: list[str],
) -> PlanPublic:
    """Store an edited plan as a draft child of ``parent`` (the rule of
    re-optimisation: a draft parent is superseded and tracking follows the
    child; a dispatched parent stays live until the child is dispatched)."""
    row = plan_rows.save_plan(
        session,
        day=parent.day,
        depot_id=parent.depot_id,
        problem=parent.problem,
        plan=plan,
        parent_id=parent.id,
        job_id=None,
        changes=changes,
        locks=locks,
    )
    if parent.status != "dispatched":
        _track(session, row)
    return _public(session, queue, row, None)


def _stored(
    session: Session, queue: JobQueue, plan_id: str
) -> tuple[PlanRow, JobRow | None]:
    """The stored plan and its job; :class:`Conflict` while the job has not made it."""
    row, job = _find(session, queue, plan_id)
    if row is None:
        state = "unknown" if job is None else job.status
        raise Conflict(f"plan {plan_id} has no plan to use: its job is {state}")
    return row, job


class _PayloadHead(BaseModel):
    """What a plan's view needs of its job's payload.

    Read alone, by the database: a client polling a 2,000-order
    re-optimisation every 0.1 s made the service read and parse its whole
    1.6 MB payload each time.
    """

    model_config = ConfigDict(extra="ignore")

    day: dt.date
    depot_id: str | None = None
    parent_id: str | None = None
    pricing: PlanPricing | None = None

    @field_validator("pricing", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        # The database gives a nested field as its JSON text.
        return json.loads(value) if isinstance(value, str) else value


def _head(session: Session, job: JobRow) -> _PayloadHead:
    fields = job_rows.payload_fields(
        session, job_id=job.id, keys=list(_PayloadHead.model_fields)
    )
    try:
        return _PayloadHead.model_validate(fields)
    except (ValidationError, json.JSONDecodeError) as exc:
        raise MalformedJob(f"malformed payload of a {job.kind} job: {exc}") from None


def _job_view(session: Session, queue: JobQueue, job: JobRow) -> PlanPublic:
    """A plan whose job has not stored it: queued, running or failed."""
    head = _head(session, job)
    public = queue.public(job)
    return PlanPublic(
        id=job.id,
        status=public.status,
        currency=locale_of(session).currency,
        day=head.day,
        depot_id=head.depot_id,
        job=public,
        parent_id=head.parent_id,
        pricing=head.pricing,
        created_at=job.created_at,
    )


def _public(
    session: Session, queue: JobQueue, row: PlanRow | None, job: JobRow | None
) -> PlanPublic:
    if row is None:
        # A succeeded job always has its plan row (the hook stores it in the
        # transaction that marks the job succeeded).
        assert job is not None
        return _job_view(session, queue, job)
    child = None
    if row.status == "superseded":
        child = plan_rows.child_of(session, plan_id=row.id)
    current = current_pricing(session)
    return PlanPublic(
        id=row.id,
        status=row.status,
        currency=locale_of(session).currency,
        day=row.day,
        depot_id=row.depot_id,
        job=None if job is None else queue.public(job),
        plan=row.plan,
        summary=row.plan.summary,
        changes=row.changes,
        parent_id=row.parent_id,
        superseded_by=None if child is None else child.id,
        locked=list(row.locks or ()),
        pricing=None if job is None else _head(session, job).pricing,
        retention=None
        if current is None
        else retention_of(
            row.problem, row.plan, current, recent_lateness(session, row.day)
        ),
        created_at=row.created_at,
        dispatched_at=row.dispatched_at,
    )


def read_plan(session: Session, *, queue: JobQueue, plan_id: str) -> PlanPublic:
    """A plan with its status and job progress; the plan itself once solved."""
    row, job = _find(session, queue, plan_id)
    return _public(session, queue, row, job)


def list_plans(
    session: Session,
    *,
    day: dt.date | None,
    depot_id: str | None,
    status: PlanStatus | None,
    skip: int,
    limit: int,
) -> PlansPublic:
    """Stored plans, newest first, by day, depot and status."""
    count, rows = plan_rows.list_plans(
        session, day=day, depot_id=depot_id, status=status, skip=skip, limit=limit
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
    return PlansPublic(data=data, count=count)


# --- solving and re-optimising -------------------------------------------------


def _accepted(queue: JobQueue, job: JobRow) -> PlanAccepted:
    url = f"/v1/plans/{job.id}"
    return PlanAccepted(id=job.id, job=queue.public(job, url), url=url)


def _problem_of(
    session: Session, request: PlanCreate, max_items: int
) -> tuple[Problem, dt.date, str | None]:
    """The problem to solve, its day and its depot (None: several)."""
    if (request.problem is None) == (request.day is None):
        reason = "give either problem or day (with an optional depot_id)"
        raise Invalid.one("problem", reason)
    if request.problem is None:
        assert request.day is not None
        day, depot_id = request.day, request.depot_id
        return problem_for(session, day=day, depot_id=depot_id), day, depot_id
    if request.depot_id is not None:
        reason = "depot_id goes with day; a problem names its own depots"
        raise Invalid.one("depot_id", reason)
    problem = _in_the_deployment(request.problem, locale_of(session))
    for name in ("jobs", "shipments", "vehicles"):
        check_max_items(getattr(problem, name), f"problem.{name}", max_items)
    day = problem.date or tracking.today(problem.locale.zone)
    depot_id = problem.depots[0].id if len(problem.depots) == 1 else None
    return problem, day, depot_id


def _in_the_deployment(problem: Problem, locale: Locale) -> Problem:
    """A posted problem in the deployment's ``locale``: one that names none
    gets it; one that names another timezone or currency is refused (the
    service tracks, reports and prices in the deployment's)."""
    if "locale" not in problem.model_fields_set:
        return problem.model_copy(update={"locale": locale})
    for name in ("timezone", "currency"):
        given, ours = getattr(problem.locale, name), getattr(locale, name)
        if given != ours:
            raise Invalid.one(
                f"problem.locale.{name}",
                f"{given!r} differs from the deployment's {ours!r} "
                f"(MILEPOST_{name.upper()}); leave locale out to use it",
            )
    if problem.locale.hour_cost is None and locale.hour_cost is not None:
        # Default amounts follow the deployment's driver-hour, not the table's.
        fitted = problem.locale.model_copy(update={"hour_cost": locale.hour_cost})
        return problem.model_copy(update={"locale": fitted})
    return problem


def create_plan(
    session: Session,
    *,
    queue: JobQueue,
    request: PlanCreate,
    max_items: int,
    travel: TravelSpec | None = None,
) -> PlanAccepted:
    """Start solving a problem, or the stored orders of a day, on ``travel``
    (the deployment's roads; None: straight lines).

    Field errors name the request's fields (``problem``, ``day``).
    """
    problem, day, depot_id = _problem_of(session, request, max_items)
    params = request.params or PlanParams()
    problem, pricing = _priced(session, problem, params, day)
    payload = PlanPayload(
        problem=problem,
        params=params.solve_params(),
        day=day,
        depot_id=depot_id,
        pricing=pricing,
        travel=travel,
    )
    return _accepted(queue, queue.submit(session, queue.kinds.plan, payload))


def reoptimise_plan(
    session: Session,
    *,
    queue: JobQueue,
    plan_id: str,
    request: PlanReoptimize,
    max_items: int,
) -> PlanAccepted:
    """Start re-planning the rest of a plan's day (a new plan, its child)."""
    row, _ = _stored(session, queue, plan_id)
    if row.status == "superseded":
        child = plan_rows.child_of(session, plan_id=row.id)
        newer = "" if child is None else f" by plan {child.id}"
        raise Conflict(
            f"plan {plan_id} is superseded{newer}; re-optimise the newest plan"
        )
    for name in ("vehicles", "new_orders", "cancelled", "changed", "unavailable"):
        check_max_items(getattr(request, name), name, max_items)
    # Re-timed with the plan's own travel model: refused when it is gone.
    plan_travel(row.problem, row.plan, f"plan {plan_id}")
    state = _with_observed(session, row, request.state(row.plan, row.problem))
    state = _with_locks(row, _off_plan_cancelled(session, state))
    errors = state_errors(row.problem, state)
    if errors:
        raise Invalid([_state_error(line) for line in errors])
    params = request.params or PlanParams()
    # Re-optimisation keeps no planning buffers: its problem becomes the
    # child plan's, whose windows are the promises.
    problem, pricing = _priced(session, row.problem, params, row.day)
    payload = ReoptimisePayload(
        problem=problem,
        state=state,
        params=params.solve_params(),
        day=row.day,
        depot_id=row.depot_id,
        parent_id=row.id,
        pricing=pricing,
    )
    return _accepted(queue, queue.submit(session, queue.kinds.reoptimize, payload))


def compare_rescue_options(
    session: Session,
    *,
    queue: JobQueue,
    plan_id: str,
    request: PlanReoptimize,
    max_items: int,
) -> RescueComparison:
    """Plan the rest of a plan's day once per rescue choice (nothing stored).

    Choose one by re-optimising with ``rescue``; each option's plan is
    checked, and one the checker rejects is marked not offered, with why.
    """
    row, _ = _stored(session, queue, plan_id)
    for name in ("vehicles", "new_orders", "cancelled", "changed", "unavailable"):
        check_max_items(getattr(request, name), name, max_items)
    if not request.unavailable:
        reason = "name the broken-down vans whose rescue to compare"
        raise Invalid.one("unavailable", reason)
    state = _with_observed(session, row, request.state(row.plan, row.problem))
    state = _with_locks(row, _off_plan_cancelled(session, state))
    errors = state_errors(row.problem, state)
    if errors:
        raise Invalid([_state_error(line) for line in errors])
    params = request.params or PlanParams(time_limit=COMPARE_TIME_LIMIT)
    travel = plan_travel(row.problem, row.plan, f"plan {plan_id}")
    # Priced as the re-optimisation that follows the choice will be.
    problem, _ = _priced(session, row.problem, params, row.day)
    try:
        options = compare_rescue(problem, state, travel, params=params.solve_params())
    except InputError as exc:
        raise Invalid([_state_error(line) for line in exc.lines]) from None
    public = []
    for o in options:
        verdict = check(o.result.problem, o.result.plan, travel)
        public.append(
            RescueOptionPublic(
                rescue=o.rescue,
                cost=o.cost,
                stability_cost=o.stability_cost,
                served=o.served,
                late=o.late,
                parcels=o.parcels,
                delivered=o.delivered,
                dropped=list(o.dropped),
                source=o.source,
                summary=o.result.plan.summary,
                changes=o.result.changes,
                offered=verdict.ok,
                checker=str(verdict),
            )
        )
    return RescueComparison(plan_id=row.id, options=public)


def _with_observed(
    session: Session, row: PlanRow, state: ExecutionState
) -> ExecutionState:
    """``state`` with tracking's view of every van the request does not report.

    Only for a plan tracking follows (a dispatched plan, or a draft tracked
    while no plan of its day and depot is dispatched): each van of it that
    tracking saw and the request leaves out gets its progress from tracking
    (:func:`api.services.tracking.observed_progress`: its position, stops
    done, parcels picked up and the stop it is arriving at). A van the
    request reports is taken as sent, and so are the orders it speaks for
    (done, on board, next, cancelled or changed).
    """
    if row.status == "superseded":
        return state
    if tracking_rows.get_tracked_plan(session, plan_id=row.id) is None:
        return state
    sent = {v.vehicle for v in state.vehicles}
    reported = {
        o for v in state.vehicles for o in (*v.completed, *v.picked_up, v.next) if o
    }
    reported.update(state.cancelled)
    reported.update(j.id for j in state.changed)
    observed = tracking.observed_progress(
        session,
        day=row.day,
        problem=row.problem,
        plan=row.plan,
        time=state.time,
        vehicles=[r.vehicle for r in row.plan.routes if r.vehicle not in sent],
        reported=reported,
    )
    if not observed:
        return state
    return state.model_copy(update={"vehicles": (*state.vehicles, *observed)})


def _with_locks(row: PlanRow, state: ExecutionState) -> ExecutionState:
    """``state`` with the plan's locked stops (those still on its routes)."""
    routed = {o for r in row.plan.routes for o in r.order_ids}
    locks = [o for o in row.locks or () if o in routed]
    if not locks:
        return state
    locked = tuple(dict.fromkeys((*state.locked, *locks)))
    return state.model_copy(update={"locked": locked})


def _off_plan_cancelled(session: Session, state: ExecutionState) -> ExecutionState:
    """``state`` with the plan's orders that are off it now among ``cancelled``.

    An order cancelled (by an event or ``DELETE /v1/orders/{id}``), delivered
    or failed at the door since the plan was made is not planned again; the
    re-optimisation sees it as cancelled. Orders the request reports as
    completed or as a van's next stop are left to it.
    """
    reported = {o for v in state.vehicles for o in (*v.completed, v.next) if o}
    reported.update(state.cancelled)
    plan = state.plan
    ids = [o for r in plan.routes for o in r.order_ids]
    ids += [u.id for u in plan.unassigned]
    off = tracking.off_plan_orders(
        session, order_ids=[o for o in dict.fromkeys(ids) if o not in reported]
    )
    if not off:
        return state
    return state.model_copy(update={"cancelled": (*state.cancelled, *off)})


def _state_error(line: str) -> FieldError:
    """``"vehicles[0].vehicle: unknown ..."`` -> a field error of the request."""
    path, _, reason = line.partition(": ")
    return FieldError(field=path, reason=reason or line)


def dispatch_plan(session: Session, *, queue: JobQueue, plan_id: str) -> PlanDispatched:
    """Freeze a plan and move its orders to dispatched; repeating changes nothing.

    The plan it replaces (its dispatched parent, or any other dispatched plan
    of its day and depot) becomes ``superseded``, and tracking follows this
    plan from now on.
    """
    row, job = _stored(session, queue, plan_id)
    if row.status == "superseded":
        raise Conflict(f"plan {plan_id} is superseded; dispatch the newest")
    now = utcnow()
    if row.status != "dispatched":
        for live in plan_rows.dispatched_plans(
            session, day=row.day, depot_id=row.depot_id
        ):
            plan_rows.supersede(live, by=row.id)
        row.status = "dispatched"
        row.dispatched_at = now
        session.flush()
        if tracking_rows.get_tracked_plan(session, plan_id=row.id) is None:
            # a draft reviewed while another plan was live: tracked from now
            _track(session, row)
    moved = tracking.dispatch_plan(
        session,
        day=row.day,
        plan_id=row.id,
        plan=row.plan,
        at=_order_clock(session, row.day, now),
    )
    session.flush()
    public = _public(session, queue, row, job)
    return PlanDispatched(**dict(public), dispatched_orders=moved)


def discard_plan(session: Session, *, queue: JobQueue, plan_id: str) -> PlanPublic:
    """Discard a draft: it becomes ``superseded`` (no ``superseded_by``).

    Discarding a superseded plan changes nothing; a dispatched plan is a
    :class:`Conflict` (dispatch another to replace it), and so is a plan
    whose job has not made it yet (cancel the job).
    """
    row, job = _stored(session, queue, plan_id)
    if row.status == "dispatched":
        raise Conflict(
            f"plan {plan_id} is dispatched; dispatch a new plan to replace it"
        )
    if row.status == "draft":
        plan_rows.supersede(row, by=None)
        session.flush()
    return _public(session, queue, row, job)


# --- what a finished job stores ---------------------------------------------------


def _track(session: Session, row: PlanRow) -> None:
    """Hand a stored plan to tracking: its orders become ``planned``."""
    tracking.register_plan(
        session,
        day=row.day,
        plan_id=row.id,
        plan=row.plan,
        problem=row.problem,
        at=_order_clock(session, row.day, utcnow()),
    )


def _order_clock(session: Session, day: dt.date, now: dt.datetime) -> int:
    """``now`` in seconds since midnight of ``day``, for an order's life event.

    Such events lie within a year of their day; a plan of a day further away
    (a past day planned again, a what-if) is stamped at that margin rather
    than refused after the search.
    """
    at = to_seconds(now, day, locale_of(session).zone)
    return max(-PLANNING_MARGIN, min(at, PLANNING_MARGIN))


def store_solved_plan(
    session: Session, job_id: str, payload: PlanPayload, result: PlanResult
) -> None:
    """Store the plan of a finished ``plan`` job (id: the job's) and track it.

    Earlier drafts of its day and depot are superseded by it. While a plan of
    that day and depot is dispatched, tracking keeps following that one
    until this plan is dispatched.
    """
    row = plan_rows.save_plan(
        session,
        day=payload.day,
        depot_id=payload.depot_id,
        problem=payload.problem,
        plan=result.plan,
        parent_id=None,
        job_id=job_id,
        plan_id=job_id,
    )
    plan_rows.supersede_drafts(
        session, day=payload.day, depot_id=payload.depot_id, by=row.id
    )
    if not plan_rows.dispatched_plans(
        session, day=payload.day, depot_id=payload.depot_id
    ):
        _track(session, row)


def store_reoptimised_plan(
    session: Session, job_id: str, payload: ReoptimisePayload, result: ReoptimiseResult
) -> None:
    """Store the new plan of a ``reoptimize`` job.

    A draft parent is superseded and tracking follows the new plan; a
    dispatched parent stays live until the new plan is dispatched.
    """
    parent = plan_rows.get_plan(session, plan_id=payload.parent_id)
    row = plan_rows.save_plan(
        session,
        day=payload.day,
        depot_id=payload.depot_id,
        problem=result.problem,
        plan=result.plan,
        parent_id=payload.parent_id,
        job_id=job_id,
        plan_id=job_id,
        changes=result.changes,
        locks=None if parent is None else parent.locks,
    )
    if parent is None or parent.status != "dispatched":
        _track(session, row)


#: Told of each plan a hook stored: the job kind's name and the plan.
PlanStored = Callable[[str, Plan], None]


def plan_hooks(
    kinds: JobKinds, stored: PlanStored | None = None
) -> list[tuple[str, JobHook]]:
    """The hooks that store the plans of finished plan jobs, by kind name;
    ``stored`` is told of each plan once stored (the process's metrics count
    those a fallback made: :meth:`api.telemetry.Metrics.plan_stored`)."""

    def solved(
        session: Session, job_id: str, payload: PlanPayload, result: PlanResult
    ) -> None:
        store_solved_plan(session, job_id, payload, result)
        if stored is not None:
            stored(kinds.plan.name, result.plan)

    def reoptimised(
        session: Session,
        job_id: str,
        payload: ReoptimisePayload,
        result: ReoptimiseResult,
    ) -> None:
        store_reoptimised_plan(session, job_id, payload, result)
        if stored is not None:
            stored(kinds.reoptimize.name, result.plan)

    return [
        (kinds.plan.name, OnSuccess(kinds.plan, solved)),
        (kinds.reoptimize.name, OnSuccess(kinds.reoptimize, reoptimised)),
    ]
