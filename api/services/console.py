"""The dispatcher console's service: edits with a preview, exceptions fed
live, failed-attempt decisions.

**Edits.** ``POST /v1/plans/{id}/edits/preview`` applies a list of edits
(:mod:`routing.edits`: move an order, re-sequence a route, lock a stop) to
a stored plan, re-times it with the plan's own travel model and has the
independent checker judge it, without storing anything; ``POST
/v1/plans/{id}/edits`` does the same and stores the edited plan as a draft
child (:func:`api.services.plans.store_edited_plan`), refusing an
infeasible one unless forced. Stops already done (delivered, failed,
cancelled: off the plan) cannot be edited.

**Exceptions fed live.** :func:`evaluate_exceptions` applies the rules to
the *dispatched* plans of a day and opens or closes exceptions:

* ``late_risk``: an order's live ETA P90 is past the end of its promised
  window by more than the tolerance (:func:`tracking.late_risk.late_risk`,
  the replay's rule), for a window ending within the horizon;
* ``van_not_started``: a van of the plan with stops to serve sent nothing
  (no shift start, position, stop or sensor reading) by its shift start +
  ``MILEPOST_VAN_NOT_STARTED_MINUTES``;
* ``van_silent``: a van that has started, with stops left and on shift,
  sent nothing for ``MILEPOST_VAN_SILENT_MINUTES``;
* ``failed_attempt``: an order whose last attempt failed; it stays open
  until the dispatcher decides (:func:`decide_exception`) or the attempt is
  resolved otherwise.

Each closes when its condition ends. The conditions depend on the clock
(nobody sends an event when a van *stays* silent), so the rules run on
their own: every serving process's :class:`api.services.watch.ExceptionWatch`
evaluates today every ``MILEPOST_EXCEPTION_WATCH_SECONDS``, which is what
the console's live stream shows; ``GET /v1/exceptions`` also evaluates the
day it asks for before it reads (and a failed attempt is raised as it is
ingested, :mod:`api.services.failed_attempts`). Evaluating is
idempotent: an exception is keyed by its condition (``late_risk:<order>``,
``van_silent:<van>``...), so raising an open key again updates it, and the
times it opens at are those of the condition (the failure, the van's last
report + N minutes), so two processes evaluating at once make the same
exception.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import orders as order_rows
from api.db import plans as plan_rows
from api.db import tracking as rows
from api.db.engine import locale_of
from api.db.plans import PlanRow
from api.jobs.queue import JobQueue
from api.services import plans as plan_service
from api.services import tracking
from api.services.errors import (
    Conflict,
    FieldError,
    Invalid,
    NotFound,
    check_max_items,
)
from api.services.exceptions import (
    ExceptionPublic,
    close_exception,
    exception_public,
    raise_exception,
)
from api.services.failed_attempts import failed_attempt
from api.services.ingest import ingest
from api.services.plans import PlanPublic
from api.services.slots import keep_history_days
from api.services.tracking import LIVE_STATES, LiveEtas, eta_clock
from api.services.travel import plan_travel
from api.settings import Settings
from routing import edits as plan_edits
from routing.edits import Edit
from routing.io import InputError
from routing.plan import Plan, StepType, Summary
from routing.reoptimise import Changes
from routing.travel import HasGeometry
from routing.units import wall_clock
from tracking.events import AttemptResolved
from tracking.exceptions import Decision, ExceptionKind, Severity
from tracking.late_risk import late_risk, order_windows, promised_window_end
from tracking.status import OrderState
from tracking.store import VehicleState

__all__ = [
    "EditPreviewPublic",
    "ExceptionDecide",
    "PlanEdits",
    "PlanGeometry",
    "RouteGeometry",
    "apply_edits",
    "decide_exception",
    "evaluate_exceptions",
    "plan_geometry",
    "preview_edits",
    "refresh_exceptions",
]


log = logging.getLogger("milepost.console")


class ExceptionDecide(BaseModel):
    """The dispatcher's decision on a failed attempt."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision
    note: str = Field(default="", max_length=1000)


# -- edits with a preview ------------------------------------------------------------


class PlanEdits(BaseModel):
    """Edits to a plan, applied in order; ``force`` applies an infeasible one."""

    model_config = ConfigDict(extra="forbid")

    edits: list[Edit] = Field(min_length=1)
    force: bool = Field(
        default=False, description="store the edited plan even if infeasible"
    )


class EditPreviewPublic(BaseModel):
    """An edited plan, re-timed and judged by the checker; deltas: after - before.

    ``feasible`` false comes with the checker's ``violations``; ``locked``
    lists the stops locked after the edits.
    """

    plan_id: str
    feasible: bool
    violations: list[str]
    before: Summary
    after: Summary
    cost_delta: float
    distance_delta_m: int
    duration_delta_s: int
    late_delta: int
    changes: Changes
    locked: list[str]
    plan: Plan


def _edit_error(line: str) -> FieldError:
    path, _, reason = line.partition(": ")
    return FieldError(field=path, reason=reason or line)


def _preview(session: Session, row: PlanRow, request: PlanEdits) -> EditPreviewPublic:
    travel = plan_travel(row.problem, row.plan, f"plan {row.id}")
    ids = [o for r in row.plan.routes for o in r.order_ids]
    ids += [u.id for u in row.plan.unassigned]
    done = tracking.off_plan_orders(session, order_ids=list(dict.fromkeys(ids)))
    try:
        found = plan_edits.preview_edits(
            row.problem,
            row.plan,
            travel,
            request.edits,
            done=done,
            locked=row.locks or (),
        )
    except InputError as exc:
        raise Invalid([_edit_error(line) for line in exc.lines]) from None
    return EditPreviewPublic(
        plan_id=row.id,
        feasible=found.feasible,
        violations=found.violations,
        before=found.before,
        after=found.after,
        cost_delta=found.cost_delta,
        distance_delta_m=found.distance_delta_m,
        duration_delta_s=found.duration_delta_s,
        late_delta=found.late_delta,
        changes=found.changes,
        locked=list(found.locked),
        plan=found.plan,
    )


def preview_edits(
    session: Session,
    *,
    queue: JobQueue,
    plan_id: str,
    request: PlanEdits,
    max_items: int,
) -> EditPreviewPublic:
    """What the edits would make of the plan: nothing is stored.

    Infeasible edits are answered (``feasible`` false); malformed ones are
    :class:`Invalid` naming ``edits[i].<field>``; a superseded plan is a
    :class:`Conflict`.
    """
    check_max_items(request.edits, "edits", max_items)
    row = plan_service.editable_plan(session, queue=queue, plan_id=plan_id)
    return _preview(session, row, request)


def apply_edits(
    session: Session,
    *,
    queue: JobQueue,
    plan_id: str,
    request: PlanEdits,
    max_items: int,
) -> PlanPublic:
    """Store the edited plan as a new draft child (``changes`` set).

    An infeasible result is a :class:`Conflict` with the checker's reasons
    unless ``force``.
    """
    check_max_items(request.edits, "edits", max_items)
    row = plan_service.editable_plan(session, queue=queue, plan_id=plan_id)
    found = _preview(session, row, request)
    if not found.feasible and not request.force:
        reasons = "; ".join(found.violations[:5])
        raise Conflict(
            f"the edited plan is infeasible ({reasons}); send force: true to "
            "store it anyway"
        )
    return plan_service.store_edited_plan(
        session,
        queue=queue,
        parent=row,
        plan=found.plan,
        changes=found.changes,
        locks=found.locked,
    )


# -- routes along the roads -----------------------------------------------------------

LatLon = tuple[float, float]


class RouteGeometry(BaseModel):
    """A route drawn leg by leg: depot -> stop 1 -> ... -> depot."""

    vehicle: str
    legs: list[list[LatLon]] = Field(description="one [[lat, lon], ...] per leg")


class PlanGeometry(BaseModel):
    """A plan's routes as polylines; ``along_roads`` false: straight legs."""

    plan_id: str
    along_roads: bool
    routes: list[RouteGeometry]


#: Plans whose geometry is kept (a stored plan never changes).
GEOMETRY_CACHE = 64
_geometry_cache: dict[tuple[str, dt.datetime], PlanGeometry] = {}
_geometry_lock = threading.Lock()


def _legs(plan: Plan, drawer: HasGeometry | None) -> list[RouteGeometry]:
    routes: list[RouteGeometry] = []
    for route in plan.routes:
        places = [
            s
            for s in route.steps
            if s.type != StepType.BREAK
            and s.location is not None
            and s.location.has_coordinates
        ]
        legs: list[list[LatLon]] = []
        for a, b in itertools.pairwise(places):
            assert a.location is not None and b.location is not None
            start = (float(a.location.lat or 0.0), float(a.location.lon or 0.0))
            end = (float(b.location.lat or 0.0), float(b.location.lon or 0.0))
            line: list[LatLon] = []
            if drawer is not None:
                try:
                    drawn = drawer.geometry(a.location, b.location, depart=a.departure)
                except ValueError:  # no road path: a straight leg
                    drawn = []
                line = [(lat, lon) for lon, lat in drawn]
            if not line:
                line = [start, end]
            legs.append(line)
        routes.append(RouteGeometry(vehicle=route.vehicle, legs=legs))
    return routes


def plan_geometry(session: Session, *, queue: JobQueue, plan_id: str) -> PlanGeometry:
    """A stored plan's routes along the roads of its travel model, when it
    has roads (``along_roads``), else as straight legs. Kept per plan."""
    stamp = plan_rows.plan_stamp(session, plan_id=plan_id)
    cached = None
    if stamp is not None:
        with _geometry_lock:
            cached = _geometry_cache.get((plan_id, stamp))
    if cached is not None:
        return cached
    row = plan_service.stored_plan(session, queue=queue, plan_id=plan_id)
    travel = plan_travel(row.problem, row.plan, f"plan {plan_id}")
    drawer = travel if isinstance(travel, HasGeometry) else None
    found = PlanGeometry(
        plan_id=row.id, along_roads=drawer is not None, routes=_legs(row.plan, drawer)
    )
    with _geometry_lock:
        while len(_geometry_cache) >= GEOMETRY_CACHE:
            _geometry_cache.pop(next(iter(_geometry_cache)))
        _geometry_cache[(row.id, row.created_at)] = found
    return found


# -- evaluating the rules -----------------------------------------------------------


def _last_seen(van: VehicleState | None) -> int | None:
    """When the van last sent anything (None: never)."""
    if van is None:
        return None
    times = [
        t
        for t in (van.shift_start, van.shift_end, van.position_at, van.stop_at)
        if t is not None
    ]
    times += van.sensor_at.values()
    return max(times, default=None)


def evaluate_exceptions(
    session: Session,
    *,
    day: dt.date,
    etas: LiveEtas,
    settings: Settings,
    now: int | None = None,
) -> None:
    """Open and close the rule-based exceptions of ``day``'s dispatched plans.

    ``now`` is seconds since local midnight of ``day`` (default: the
    service's clock); the caller commits.
    """
    at = eta_clock(day, etas.zone) if now is None else now
    for row in plan_rows.dispatched_plans_of_day(session, day=day):
        _evaluate_plan(session, row, etas, settings, at, live=now is None)


def refresh_exceptions(
    session: Session, *, day: dt.date, etas: LiveEtas, settings: Settings
) -> None:
    """:func:`evaluate_exceptions` now: before a read of the day's exceptions,
    and at each tick of the exception watch.

    Its writes are kept apart (a savepoint): when another process opened
    the same exception at the same moment, this evaluation gives way to it
    and the read goes on.
    """
    try:
        with session.begin_nested():
            evaluate_exceptions(session, day=day, etas=etas, settings=settings)
    except IntegrityError:
        log.info("exceptions of %s evaluated by another request meanwhile", day)


def _evaluate_plan(
    session: Session,
    row: PlanRow,
    etas: LiveEtas,
    settings: Settings,
    now: int,
    *,
    live: bool,
) -> None:
    day, plan = row.day, row.plan
    order_ids = [o for r in plan.routes for o in r.order_ids]
    orders = {o.id: o for o in row.problem.orders}
    starts = {
        s.id: s.service_start
        for r in plan.routes
        for s in r.steps
        if s.id is not None and s.type in (StepType.JOB, StepType.DELIVERY)
    }
    busy: set[str] = set()
    for _, status, ref in rows.tracked_orders(session, order_ids=order_ids):
        if ref.plan_id != row.id:
            continue  # another plan tracks it now
        oid = status.order_id
        if status.state in LIVE_STATES and status.vehicle is not None:
            busy.add(status.vehicle)
        failed_attempt(session, day, status, now)
        key = f"late_risk:{oid}"
        risky = False
        order = orders.get(oid)
        if status.state in LIVE_STATES and order is not None:
            eta = etas.eta(session, day, status, now, ref, live=live)
            end = promised_window_end(order_windows(order), starts.get(oid))
            if eta is not None and late_risk(eta.p90, end, now=now):
                risky = True
                assert end is not None
                late = (eta.p90 - end) // 60
                raise_exception(
                    session,
                    day=day,
                    kind=ExceptionKind.LATE_RISK,
                    key=key,
                    at=now,
                    vehicle=status.vehicle,
                    order_ids=[oid],
                    severity=Severity.WARNING,
                    detail=f"ETA P90 {_hhmm(session, day, eta.p90)} is {late} "
                    f"min past the promised window end {_hhmm(session, day, end)}",
                )
        if not risky:
            close_exception(session, day=day, key=key, at=now)
    vans = {
        v.vehicle: v
        for v in rows.vehicle_states(
            session, day=day, vehicles=[r.vehicle for r in plan.routes]
        )
    }
    shifts = {v.id: v.shift.start for v in row.problem.vehicles}
    for route in plan.routes:
        vid = route.vehicle
        _van_rules(
            session,
            day,
            vid,
            vans.get(vid),
            shifts.get(vid, 0),
            vid in busy,
            settings,
            now,
        )


def _van_rules(
    session: Session,
    day: dt.date,
    vid: str,
    van: VehicleState | None,
    shift_start: int,
    busy: bool,
    settings: Settings,
    now: int,
) -> None:
    """``van_not_started`` and ``van_silent`` of one van."""
    seen = _last_seen(van)
    late_by = shift_start + settings.van_not_started_minutes * 60
    key = f"van_not_started:{vid}"
    if seen is None and busy and now >= late_by:
        raise_exception(
            session,
            day=day,
            kind=ExceptionKind.VAN_NOT_STARTED,
            key=key,
            at=late_by,
            vehicle=vid,
            severity=Severity.WARNING,
            detail=f"no report from {vid} since its shift start at "
            f"{_hhmm(session, day, shift_start)}",
        )
    else:
        close_exception(session, day=day, key=key, at=now)
    key = f"van_silent:{vid}"
    silent_at = None if seen is None else seen + settings.van_silent_minutes * 60
    ended = van is not None and van.shift_end is not None and not van.on_shift
    if silent_at is not None and busy and not ended and now >= silent_at:
        assert seen is not None
        raise_exception(
            session,
            day=day,
            kind=ExceptionKind.VAN_SILENT,
            key=key,
            at=silent_at,
            vehicle=vid,
            severity=Severity.WARNING,
            detail=f"no report from {vid} since {_hhmm(session, day, seen)}, "
            "with stops left",
        )
    else:
        close_exception(session, day=day, key=key, at=now)


# -- deciding a failed attempt --------------------------------------------------------

#: What each decision does to the order's tracked state.
_OUTCOME = {
    Decision.REATTEMPT_TODAY: "rescheduled",
    Decision.NEXT_DAY: "rescheduled",
    Decision.RETURN_TO_SENDER: "returned_to_depot",
}


def decide_exception(
    session: Session,
    *,
    exception_id: str,
    request: ExceptionDecide,
    by: str,
    now: int | None = None,
) -> ExceptionPublic:
    """Decide what becomes of a failed attempt's order; the decision closes it.

    ``reattempt_today``: the order is ``rescheduled`` and back among the
    day's orders to plan (re-optimise to route it); ``next_day``: also
    ``rescheduled``, and the stored order moves to the next day;
    ``return_to_sender``: ``returned_to_depot``, which no plan routes. 422
    for another kind of exception, 409 when it is decided already or the
    order is no longer a failed attempt. The caller commits.
    """
    found = rows.get_exception(session, exception_id=exception_id)
    if found is None:
        raise NotFound(f"exception {exception_id} not found")
    day, exception = found
    if exception.kind is not ExceptionKind.FAILED_ATTEMPT:
        reason = f"only a failed attempt takes a decision; this is {exception.kind}"
        raise Invalid.one("decision", reason)
    if exception.decision is not None:
        raise Conflict(
            f"exception {exception_id} was decided already: {exception.decision}"
        )
    (order_id,) = exception.order_ids[:1] or ("",)
    tracked = rows.tracked_order(session, order_id=order_id)
    if tracked is None or tracked[1].state is not OrderState.FAILED_ATTEMPT:
        state = "untracked" if tracked is None else str(tracked[1].state)
        raise Conflict(f"order {order_id} is no longer a failed attempt ({state})")
    tz = locale_of(session).zone
    at = eta_clock(day, tz) if now is None else now
    at = max(at, tracked[1].history[-1].at)
    decision = request.decision
    note = request.note or f"dispatcher decided: {decision}"
    event = AttemptResolved(
        id=f"{exception.id}:decision",
        at=at,
        order_id=order_id,
        outcome=_OUTCOME[decision],
        note=note,
    )
    result = ingest(session, day, [event])
    if result.rejected:
        raise Conflict(f"order {order_id}: {result.rejected[0].reason}")
    if decision is Decision.NEXT_DAY:
        # The order as accepted, a day later: its windows (clock times) and
        # every other field stay; a date it was scheduled for moves along,
        # and its status changes so far keep their day.
        keep_history_days(session, order_id=order_id)
        row = order_rows.get_order(session, order_id=order_id)
        if row is not None:
            row.day = day + dt.timedelta(days=1)
            if row.job.scheduled_date is not None:
                row.job = row.job.model_copy(update={"scheduled_date": row.day})
    decided = exception.decided(decision, by=by, at=at, note=request.note)
    rows.put_exception(session, day=day, exception=decided)
    session.flush()
    return exception_public(day, decided, tz)


def _hhmm(session: Session, day: dt.date, seconds: int) -> str:
    """A time of the day as the deployment's wall clock reads it."""
    return wall_clock(seconds, day, locale_of(session).zone)
