"""Tracking in the service: plan registration, dispatch and live ETAs.

Live ETAs (:meth:`LiveEtas.eta`) read the order's status, its place on a
route and the van's events, and call the pure
:func:`tracking.eta.route_eta`. A :class:`LiveEtas` keeps the plans it
parsed (by ``(plan_id, version)``) and the ETAs of whole routes, because
parsing a day's plan on every request would cost more than the ETA itself;
``create_app`` makes one per app.

"Now" moves on for every route at once, every :data:`ETA_REFRESH` seconds.
A read of the new step that finds the route's ETAs of the step before (same
plan version, same route revision) is answered with those, and the route is
recomputed once, off the request path; an accepted event of the route still
changes what the next read sees (the revision is part of the key).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

from api.db import orders as order_rows
from api.db import tracking as rows
from api.db.tracking import RouteRef, SqlStore
from api.services.ingest import ingest
from api.services.travel import rebuild_travel
from routing.locale import DEFAULT_LOCALE, Locale
from routing.model import Job, Location, Problem, Shipment
from routing.plan import Plan, Route, Step, StepType
from routing.reoptimise import VehicleProgress
from routing.travel import TravelUnavailable
from routing.travel.haversine import HaversineTravel
from routing.units import to_datetime, to_seconds
from tracking.correction import Correction
from tracking.eta import Eta, LegTimes, WindowsByStop, route_eta, windows_of
from tracking.events import Event, OrderDispatched
from tracking.sensors import limits_of
from tracking.status import OFF_PLAN, OrderState, OrderStatus
from tracking.store import VehicleState
from tracking.tracker import Tracker
from tracking.zones import grid_zone

__all__ = [
    "DONE_AT_DOOR",
    "ETA_REFRESH",
    "LIVE_STATES",
    "LiveEtas",
    "RoutePlan",
    "RouteRef",
    "dispatch_plan",
    "eta_clock",
    "local_time",
    "now_seconds",
    "observed_progress",
    "off_plan_orders",
    "register_plan",
    "today",
]

#: States in which an order still has an ETA.
LIVE_STATES = frozenset(
    {
        OrderState.PLANNED,
        OrderState.DISPATCHED,
        OrderState.OUT_FOR_DELIVERY,
        OrderState.ARRIVING,
    }
)
#: States of a stop done at the door: delivered, or a failed attempt (also
#: once its parcel is back at the depot). A rescheduled or redirected order
#: is not done: it goes back into planning.
DONE_AT_DOOR = frozenset(
    {OrderState.DELIVERED, OrderState.FAILED_ATTEMPT, OrderState.RETURNED_TO_DEPOT}
)
#: Seconds a live ETA asked for "now" may be old: callers round the clock
#: down to this step, so a route's ETAs are computed once per step (or
#: sooner, when one of its events arrives).
ETA_REFRESH = 10


def now_seconds(day: dt.date, tz: tzinfo) -> int:
    """The current time in elapsed seconds since midnight of ``day`` in
    ``tz`` (the deployment's timezone)."""
    return to_seconds(dt.datetime.now(dt.UTC), day, tz)


def eta_clock(day: dt.date, tz: tzinfo) -> int:
    """ "Now" for live ETAs: :func:`now_seconds` down to :data:`ETA_REFRESH`."""
    return now_seconds(day, tz) // ETA_REFRESH * ETA_REFRESH


def local_time(seconds: int, day: dt.date, tz: tzinfo) -> dt.datetime:
    """Elapsed seconds since local midnight of ``day`` as an aware datetime
    in ``tz``, with the offset of that moment."""
    return to_datetime(seconds, day, tz)


def today(tz: tzinfo) -> dt.date:
    """The date now in ``tz`` (the deployment's operating day)."""
    return dt.datetime.now(tz).date()


# -- plans --------------------------------------------------------------------


def register_plan(
    session: Session,
    *,
    day: dt.date,
    plan_id: str,
    plan: Plan,
    problem: Problem,
    at: int,
) -> None:
    """Track a plan: its orders become ``planned`` on their vans.

    Orders not known yet are created; orders already off the plan
    (cancelled, delivered, a failed attempt: :data:`tracking.status.OFF_PLAN`)
    keep their state. The plan and problem are kept (in
    ``tracked_plans``) for live ETAs and delivery outcomes. Registering the
    same plan again changes nothing; a new plan id for the same orders (a
    re-optimised plan) moves them to their new routes. The orders' sensor
    limits (their ``handling``) are kept for the sensor readings of the day
    (``order_limits``). ``at`` is when, in
    seconds since local midnight of ``day``; the caller commits.
    """
    rows.save_tracked_plan(
        session,
        plan_id=plan_id,
        day=day,
        plan=plan.model_dump(mode="json"),
        problem=problem.model_dump(mode="json"),
    )
    rows.save_order_limits(
        session,
        limits={
            order.id: limits_of(order.handling)
            for order in (*problem.jobs, *problem.shipments)
        },
    )
    store = SqlStore(session, day, plan_id=plan_id)
    result = Tracker(store, namespace=day.isoformat()).register_plan(
        plan, at=at, plan_id=plan_id
    )
    store.bump_revisions()
    if result.rejected:
        reasons = "; ".join(r.reason for r in result.rejected[:3])
        raise ValueError(f"plan {plan_id} cannot be tracked: {reasons}")


def off_plan_orders(session: Session, *, order_ids: Sequence[str]) -> list[str]:
    """Those of ``order_ids`` no plan may route any more, in the given order.

    An order is off the plan once it is deleted (``DELETE /v1/orders/{id}``:
    its row is inactive) or once its tracked state is one of
    :data:`tracking.status.OFF_PLAN` (cancelled, delivered, a failed
    attempt not resolved yet).
    """
    off = order_rows.inactive_ids(session, ids=order_ids)
    for i in range(0, len(order_ids), 500):
        chunk = order_ids[i : i + 500]
        for _, status, _ in rows.tracked_orders(session, order_ids=chunk):
            if status.state in OFF_PLAN:
                off.add(status.order_id)
    return [o for o in order_ids if o in off]


# -- where the vans are -------------------------------------------------------


def observed_progress(
    session: Session,
    *,
    day: dt.date,
    problem: Problem,
    plan: Plan,
    time: int,
    vehicles: Collection[str] | None = None,
    reported: Collection[str] = (),
) -> list[VehicleProgress]:
    """How far each van of ``plan`` is along its route, as tracking knows it.

    For each van of the plan's routes (of ``vehicles``, when given) that
    tracking saw that day (a shift, position or stop report), the progress a
    re-optimisation at ``time`` starts from:

    * ``completed``: its stops tracked as delivered or failed at the door
      (:data:`DONE_AT_DOOR`), in route order; a failed pickup or exchange
      collected nothing and is left out (it is off the plan all the same);
    * ``picked_up``: its shipments whose pickup it reported leaving and that
      are not delivered yet;
    * ``next``: its stop tracked as ``arriving`` (the latest, if several);
    * ``position``: its latest report, a position or a stop (the depot for
      the stop it left at the start); with none, its last completed stop.
      A road position cannot stand for a matrix row, so on a problem with
      matrices only stops count;
    * ``time``: ``time``; ``breaks_taken``: unknown (the plan's times say).

    A van seen only at the start of its shift, with nothing done and no
    position, is left out: it has not left its depot. Orders in ``reported``
    (those the request speaks for) are left out of every list.
    """
    routes = [r for r in plan.routes if vehicles is None or r.vehicle in vehicles]
    seen = {
        v.vehicle: v
        for v in rows.vehicle_states(
            session, day=day, vehicles=[r.vehicle for r in routes]
        )
    }
    routes = [r for r in routes if r.vehicle in seen]
    ids = list(dict.fromkeys(o for r in routes for o in r.order_ids))
    statuses: dict[str, OrderStatus] = {}
    for i in range(0, len(ids), 500):
        for _, status, _ in rows.tracked_orders(session, order_ids=ids[i : i + 500]):
            statuses[status.order_id] = status
    shipments = {s.id for s in problem.shipments}
    on_routes = [o for o in ids if o in shipments]
    departed = (
        rows.departed_stops(session, day=day, order_ids=on_routes)
        if on_routes
        else set()
    )
    orders = {o.id: o for o in problem.orders}
    progress = []

    def state(oid: str) -> OrderState | None:
        found = statuses.get(oid)
        return None if found is None else found.state

    for route in routes:
        todo = [o for o in route.order_ids if o not in reported]
        completed = [o for o in todo if _done_at_door(orders.get(o), state(o))]
        picked_up = [
            o
            for o in todo
            if o in shipments
            and (route.vehicle, o) in departed
            and state(o) in LIVE_STATES
        ]
        arriving = [o for o in todo if state(o) is OrderState.ARRIVING]
        nxt = max(arriving, key=lambda o: statuses[o].updated_at, default=None)
        van = seen[route.vehicle]
        position = _last_seen(problem, plan, route, van, picked_up, statuses)
        if position is None and completed:
            position = _stop_location(plan, route, completed[-1], done=True)
        if position is None and (nxt is not None or picked_up):
            position = _start_location(problem, route)
        if position is None:
            continue
        progress.append(
            VehicleProgress(
                vehicle=route.vehicle,
                position=position,
                time=time,
                completed=tuple(completed),
                picked_up=tuple(picked_up),
                next=nxt,
            )
        )
    return progress


def _done_at_door(order: Job | Shipment | None, state: OrderState | None) -> bool:
    """A stop done: delivered, or failed (but a failed collection took nothing)."""
    if state not in DONE_AT_DOOR:
        return False
    if state is OrderState.DELIVERED:
        return True
    return not (isinstance(order, Job) and any(order.collected))


def _last_seen(
    problem: Problem,
    plan: Plan,
    route: Route,
    van: VehicleState,
    picked_up: Sequence[str],
    statuses: dict[str, OrderStatus],
) -> Location | None:
    """The van's latest reported place: its position, or a stop reported later."""
    at: Location | None = None
    when = -1
    if (
        problem.matrices is None
        and van.lat is not None
        and van.lon is not None
        and van.position_at is not None
    ):
        at, when = Location(lat=van.lat, lon=van.lon), van.position_at
    if van.stop_at is not None and van.stop_at > when:
        if van.stop is None:
            stop = _start_location(problem, route)
        else:
            status = statuses.get(van.stop)
            done = status is not None and status.state in DONE_AT_DOOR
            # at a shipment's delivery once it is on board and the van arrived
            done |= van.stop in picked_up and van.stop_event == "arrived"
            stop = _stop_location(plan, route, van.stop, done=done)
        if stop is not None:
            at = stop
    return at


def _stop_location(
    plan: Plan, route: Route, oid: str, *, done: bool
) -> Location | None:
    """Where an order's stop is on the plan (its van's route first); a
    shipment's delivery when ``done``, else its pickup."""
    for r in (route, *plan.routes):
        steps: list[Step] = [
            s for s in r.steps if s.id == oid and s.type != StepType.BREAK
        ]
        if steps:
            by_type = {s.type: s for s in steps}
            step = by_type.get(StepType.PICKUP) if not done else None
            return (step or steps[-1]).location
    return None


def _start_location(problem: Problem, route: Route) -> Location | None:
    """Where the van's route starts: its start depot, else its first step."""
    vehicle = next((v for v in problem.vehicles if v.id == route.vehicle), None)
    if vehicle is not None and vehicle.start is not None:
        return problem.depot(vehicle.start).location
    return route.steps[0].location if route.steps else None


def dispatch_plan(
    session: Session, *, day: dt.date, plan_id: str, plan: Plan, at: int
) -> int:
    """Release a plan: every routed, planned order becomes ``dispatched``.

    Returns how many orders this call moved (0 when repeated: the events'
    ids derive from the plan id, so a second call changes nothing). The
    caller commits.
    """
    events: list[Event] = [
        OrderDispatched(
            id=f"{plan_id}:dispatched:{order_id}",
            at=at,
            order_id=order_id,
            vehicle=route.vehicle,
        )
        for route in plan.routes
        for order_id in route.order_ids
    ]
    result = ingest(session, day, events)
    return len(result.accepted) - len(result.stale)


# -- live ETAs ----------------------------------------------------------------

log = logging.getLogger("milepost.eta")


@dataclass(frozen=True)
class RoutePlan:
    """A parsed route of a tracked plan, with what its ETAs need."""

    route: Route
    orders: tuple[str, ...]
    windows: WindowsByStop


#: Route ETAs are kept by ``(day, plan_id, version, vehicle, revision, now)``.
RouteKey = tuple[dt.date, str, int, str, int, int]
#: A route itself: ``(day, plan_id, vehicle)``.
RouteId = tuple[dt.date, str, str]
RouteEtas = tuple[RoutePlan, dict[str, Eta]]

#: Seconds a reader waits for another thread computing the same route's
#: ETAs before it computes them itself.
COMPUTE_WAIT = 5.0


class LiveEtas:
    """Live ETAs of tracked orders, with the parsed plans and route ETAs kept.

    Parameters
    ----------
    max_plans, max_routes
        Parsed plans and computed routes kept at most (emptied when full).
    sessions
        Sessions for recomputing a route in the background when the clock
        steps (see :meth:`eta`); without them the first reader of the new
        step recomputes it while the others get the step before.
    locale
        The deployment's (``Settings.locale``): its timezone is the clock of
        "now" (:attr:`zone`).
    """

    def __init__(
        self,
        max_plans: int = 256,
        max_routes: int = 4096,
        sessions: sessionmaker[Session] | None = None,
        locale: Locale = DEFAULT_LOCALE,
    ) -> None:
        #: The travel-time cache of the planner's default model (straight
        #: lines); a plan's ETAs use the model it records (:meth:`legs_for`).
        self.legs = LegTimes(HaversineTravel())
        self._legs: dict[tuple[object, ...], LegTimes] = {}
        self.correction = Correction()
        self.max_plans = max_plans
        self.max_routes = max_routes
        self.sessions = sessions
        #: The deployment's timezone: the clock of "now".
        self.zone = locale.zone
        self._plans: dict[str, tuple[int, Plan, WindowsByStop, LegTimes]] = {}
        self._plans_lock = threading.Lock()
        self._routes: dict[RouteKey, RouteEtas] = {}
        #: The latest ETAs of each route computed for a live clock.
        self._latest: dict[RouteId, tuple[RouteKey, RouteEtas]] = {}
        #: Keys being computed, each with the event set when it is done.
        self._computing: dict[RouteKey, threading.Event] = {}
        #: Keys to compute in the background, oldest first.
        self._queued: dict[RouteKey, None] = {}
        self._refreshing = False
        self._lock = threading.Lock()
        #: Route ETAs computed, in the background or not (for tests, metrics).
        self.computed = 0

    def remembered(
        self,
        day: dt.date,
        status: OrderStatus,
        now: int,
        ref: RouteRef | None,
        *,
        live: bool = False,
    ) -> Eta | Literal[False] | None:
        """:meth:`eta` from memory only, without a database session.

        The ETA (or None when the order is not coming), or False when this
        object has not computed the route's ETAs for this plan version,
        route revision and ``now``; with ``live`` (see :meth:`eta`) the
        ETAs of the step before will do while the route is recomputed in the
        background (when this object has ``sessions``).
        """
        key = _route_key(day, status, now, ref)
        if key is None:
            return None
        cached = self._routes.get(key)
        if cached is None and live and self.sessions is not None:
            cached = self._step_before(key)
            if cached is not None:
                self._refresh_later(key)
        elif cached is not None and live:
            self._ahead(key)
        if cached is None:
            return False
        return self._from_route(cached, status.order_id, now)

    def eta(
        self,
        session: Session,
        day: dt.date,
        status: OrderStatus,
        now: int,
        ref: RouteRef | None,
        *,
        live: bool = False,
    ) -> Eta | None:
        """The live ETA of a tracked order (None once it is no longer coming).

        ``ref`` comes from :func:`api.db.tracking.tracked_order`. The ETAs
        of a whole route are computed at once and kept, keyed by the plan's
        version, the route's revision and ``now``: every order on the route
        asking at the same second (callers round ``now``, see
        :data:`ETA_REFRESH`) gets them from memory, and an accepted event of
        the route, in any process, changes the revision and so the key.
        Readers of one key that is being computed wait for it rather than
        computing it again.

        ``live``: ``now`` is the service's clock (:func:`eta_clock`), not a
        time the caller asked for. When the clock has just stepped and the
        route's ETAs of the step before are kept for the same version and
        revision, those are returned (they say when they were made,
        ``made_at``) while the route is recomputed once: in the background
        with ``sessions``, else by this caller if no one else is already.
        """
        key = _route_key(day, status, now, ref)
        if key is None:
            return None
        cached = self._routes.get(key)
        if cached is not None and live:
            self._ahead(key)
        if cached is None and live:
            cached = self._step_before(key)
            if cached is not None:
                if self.sessions is not None:
                    self._refresh_later(key)
                elif self._claim(key):
                    fresh = self._compute_claimed(session, key, live=True)
                    cached = fresh if fresh is not None else cached
        if cached is None:
            cached = self._compute_once(session, key, live)
            if cached is None:
                return None
        return self._from_route(cached, status.order_id, now)

    def _ahead(self, key: RouteKey) -> None:
        """Compute the route's ETAs of the next clock step ahead of it.

        A few seconds into the step (2-7 s, spread over the routes by a hash
        of the route, so a day's routes do not all compute at once), the
        background thread computes the route for the next step's ``now``:
        from the events stored so far, exactly what a reader at the step
        would compute (an event stored meanwhile changes the revision and so
        the key). At the step the readers then find it made, and no route is
        recomputed on the request path or in a burst at the boundary.
        """
        if self.sessions is None:
            return
        day, now = key[0], key[5]
        into = now_seconds(day, self.zone) - now
        if not _ahead_offset(key) <= into < ETA_REFRESH:
            return
        ahead = (*key[:5], now + ETA_REFRESH)
        if ahead in self._routes or ahead in self._queued or ahead in self._computing:
            return
        self._refresh_later(ahead)

    def _step_before(self, key: RouteKey) -> RouteEtas | None:
        """The route's live ETAs of the clock step just before ``key``'s."""
        latest = self._latest.get(_route_id(key))
        if latest is None:
            return None
        before, cached = latest
        now = key[5]
        if before[:5] != key[:5] or not 0 < now - before[5] <= ETA_REFRESH:
            return None
        return cached

    def _claim(self, key: RouteKey) -> bool:
        """Whether this caller is the one to compute ``key`` (then it must)."""
        with self._lock:
            if key in self._computing or key in self._routes:
                return False
            self._computing[key] = threading.Event()
            return True

    def _compute_claimed(
        self, session: Session, key: RouteKey, live: bool
    ) -> RouteEtas | None:
        try:
            return self._compute(session, key, live)
        finally:
            with self._lock:
                done = self._computing.pop(key, None)
            if done is not None:
                done.set()

    def _compute_once(
        self, session: Session, key: RouteKey, live: bool
    ) -> RouteEtas | None:
        """The route's ETAs for ``key``, computed here unless another thread
        is computing them already (then waited for)."""
        while True:
            with self._lock:
                cached = self._routes.get(key)
                if cached is not None:
                    return cached
                running = self._computing.get(key)
                if running is None:
                    self._computing[key] = threading.Event()
            if running is None:
                return self._compute_claimed(session, key, live)
            if not running.wait(COMPUTE_WAIT):
                return self._compute(session, key, live)
            cached = self._routes.get(key)
            if cached is not None:
                return cached
            # Computed as "no such route" (or failed): find out here.
            if self._claim(key):
                return self._compute_claimed(session, key, live)

    def _refresh_later(self, key: RouteKey) -> None:
        """Compute ``key`` in the background thread (once; started if idle)."""
        with self._lock:
            if key in self._computing or key in self._queued or key in self._routes:
                return
            self._queued[key] = None
            if self._refreshing:
                return
            self._refreshing = True
        threading.Thread(
            target=self._refresh, name="milepost-eta-refresh", daemon=True
        ).start()

    def _refresh(self) -> None:
        """Compute the queued keys, one at a time; end when none is left."""
        assert self.sessions is not None
        while True:
            with self._lock:
                if not self._queued:
                    self._refreshing = False
                    return
                key = next(iter(self._queued))
                del self._queued[key]
                if key in self._computing or key in self._routes:
                    continue
                self._computing[key] = threading.Event()
            try:
                with self.sessions() as session:
                    self._compute_claimed(session, key, live=True)
            except Exception:
                # The readers go on with the step before, or compute it
                # themselves once it is too old.
                log.exception("route ETAs of %s could not be refreshed", key[3])

    def _compute(self, session: Session, key: RouteKey, live: bool) -> RouteEtas | None:
        """Compute and keep the route's ETAs (``live``: for the service's clock,
        kept as the route's latest too)."""
        day, plan_id, version, vehicle, _, now = key
        plan, windows, legs = self._parsed_plan(session, plan_id, version)
        found = plan.route_of(vehicle)
        if found is None:
            return None
        route = RoutePlan(route=found, orders=tuple(found.order_ids), windows=windows)
        events = rows.route_events(
            session, day=day, vehicle=vehicle, order_ids=route.orders, until=now
        )
        etas = route_eta(
            route.route,
            events,
            legs,
            now,
            self.correction,
            windows=route.windows,
            zone=grid_zone,
        )
        cached = (route, etas)
        with self._lock:
            self.computed += 1
            if len(self._routes) >= self.max_routes:
                self._routes.clear()
            self._routes[key] = cached
            route_id = _route_id(key)
            latest = self._latest.get(route_id)
            if live and (
                latest is None or latest[0][:5] != key[:5] or latest[0][5] < now
            ):
                if len(self._latest) >= self.max_routes:
                    self._latest.clear()
                self._latest[route_id] = (key, cached)
        return cached

    def _parsed_plan(
        self, session: Session, plan_id: str, version: int
    ) -> tuple[Plan, WindowsByStop, LegTimes]:
        hit = self._plans.get(plan_id)
        if hit is not None and hit[0] == version:
            return hit[1], hit[2], hit[3]
        row = rows.get_tracked_plan(session, plan_id=plan_id)
        assert row is not None
        plan = Plan.model_validate(row.plan)
        problem = Problem.model_validate(row.problem)
        windows = windows_of(problem)
        # Bands by the wall clock of the plan's day (a clock-change day).
        legs = self.legs_for(problem, plan, plan_id).on_day(problem)
        with self._plans_lock:
            if len(self._plans) >= self.max_plans:
                self._plans.clear()
            self._plans[plan_id] = (row.version, plan, windows, legs)
        return plan, windows, legs

    def legs_for(self, problem: Problem, plan: Plan, plan_id: str) -> LegTimes:
        """The travel-time cache of the model ``plan`` records (one per model).

        A model this process cannot rebuild (a road file gone) falls back to
        straight lines, logged as a warning naming the plan and the reason:
        a customer's ETA is still shown, the dispatcher is told why it is rough.
        """
        if plan.travel is None:
            return self.legs
        key = plan.travel.key()
        legs = self._legs.get(key)
        if legs is not None:
            return legs
        try:
            model = rebuild_travel(problem, plan)
        except TravelUnavailable as exc:
            log.warning(
                "plan %s: ETAs on straight lines, its travel model (%s) cannot "
                "be rebuilt: %s",
                plan_id,
                plan.travel.describe(),
                exc,
            )
            return self.legs
        legs = LegTimes(model)
        with self._plans_lock:
            self._legs[key] = legs
        return legs

    def _from_route(self, cached: RouteEtas, order_id: str, now: int) -> Eta | None:
        route, etas = cached
        got = etas.get(order_id)
        if got is not None:
            return got
        return self._planned(route, order_id, now)

    def _planned(self, route: RoutePlan, order_id: str, now: int) -> Eta | None:
        """Before the van starts: the planned arrival with the default spread."""
        for step in route.route.steps:
            if step.id == order_id and step.type in (StepType.JOB, StepType.DELIVERY):
                zone = grid_zone(step.location) if step.location is not None else "?"
                raw = step.arrival
                low, _, high = self.correction.residual_quantiles(raw - now, zone, raw)
                point = max(now, raw)
                return Eta(
                    order_id=order_id,
                    vehicle=route.route.vehicle,
                    point=point,
                    p10=max(now, min(point, round(raw + low))),
                    p90=max(point, round(raw + high)),
                    made_at=now,
                    zone=zone,
                )
        return None


def _route_id(key: RouteKey) -> RouteId:
    return key[0], key[1], key[3]


def _ahead_offset(key: RouteKey) -> int:
    """Seconds into a clock step after which a route's next step is computed."""
    return 2 + zlib.crc32(f"{key[1]}/{key[3]}".encode()) % (ETA_REFRESH - 4)


def _route_key(
    day: dt.date, status: OrderStatus, now: int, ref: RouteRef | None
) -> RouteKey | None:
    """The key of the order's route ETAs; None when it has no live ETA."""
    if status.state not in LIVE_STATES or ref is None or ref.plan_id is None:
        return None
    if ref.vehicle is None or ref.version is None:
        return None
    return (day, ref.plan_id, ref.version, ref.vehicle, ref.revision or 0, now)
