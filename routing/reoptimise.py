"""Re-optimising a plan in execution, and inserting an urgent order.

During the day the plan meets reality: vans are somewhere, some stops are
done, a van is driving to its next stop, orders arrive, are cancelled or
change, a van breaks down. :func:`reoptimise` takes the plan and an
:class:`ExecutionState` and plans **the rest of the day**:

* completed stops are gone; each van's committed next stop stays its first
  stop; a van on the road starts where it is, when it is there, with only
  the parcels it loaded (a delivery on board cannot change van; a new
  delivery goes to a van still at its depot) and with the returns it
  collected taking room;
* vans that are not out yet start at their depot, no earlier than now;
  the parcels on board a broken-down (unavailable) van are rescued as the
  dispatcher chooses (``rescue``): each becomes a shipment to its customer
  picked up at the van's position from now (``transfer``: another van
  meets it) or at its depot once back in stock (``depot``, the default);
  the rest of its orders are re-planned;
* the rest-of-day problem has a temporary depot ``@<vehicle>`` per van on
  the road at its position (the model's starts are depot ids).

How the new plan is chosen (stability first):

1. **Kept**: the current sequences, re-timed from the vans' real positions.
   If nothing happened (no order or vehicle event) and they still work, they
   are the answer: re-optimising an unchanged day changes nothing.
2. **Repair**: stops that can no longer be made in their windows come off;
   new, changed and displaced orders go in by cheapest feasible insertion
   (a shipment with both ends on one van, :mod:`routing.solver.pairs`).
3. **Search**: OR-Tools, warm-started from the repaired routes for the time
   limit, on the rest-of-day problem in which every order the repaired plan
   serves carries a prohibitive drop penalty.

A candidate wins over the repaired plan only when its cost plus its
stability cost is lower by more than ``min_gain`` (a share of the cost),
it passes the checker and it drops no order the repaired plan serves.

**Locked stops** (``ExecutionState.locked``, the dispatcher's locks) keep
their van and their place: each is pinned to its planned van (a skill only
that van has, in the rest-of-day problem; the plan returned carries none),
and a searched candidate that puts any other stop of the van on the other
side of a locked stop than before is not taken.

**Stability cost** (:class:`StabilityCost`), against the plan in execution:
``reassign`` (money, the problem's currency) for every order served by
another van than planned, plus ``eta_per_minute`` per minute an order's
service start moves beyond ``eta_tolerance`` from its promised time (the
plan's, or ``promised``). Left unset they are sized in driver-hours by the
problem's locale (:data:`REASSIGN_HOURS`, :data:`ETA_MINUTE_HOURS`).
New orders carry none. When the plan is judged by distance, the same numbers
count as metres.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from routing.base import FrozenModel
from routing.bounds import Real
from routing.io import InputError
from routing.locale import DEFAULT_LOCALE
from routing.model import (
    Break,
    Clock,
    DayClock,
    Depot,
    Id,
    Job,
    Locale,
    Location,
    Order,
    Problem,
    Seconds,
    Shipment,
    ShipmentStep,
    TimeWindow,
    Vehicle,
)
from routing.plan import Plan, Reason, Route, Step, StepType, Unassigned
from routing.solver.check import check
from routing.solver.data import ProblemData, build_data, incompatibility
from routing.solver.insertion import LivePlan, Objective, VisitKey, visit_keys
from routing.solver.pairs import insert_shipment
from routing.solver.params import SolveParams
from routing.solver.precheck import precheck
from routing.solver.timeline import BreakVisit, Visit
from routing.travel import TravelModel

#: Drop penalty (driver-hours) of an order the repaired plan serves, in the
#: search: 10^9 KRW, far above anything a route costs.
PROTECTED_PENALTY_HOURS = 50_000.0
#: Defaults of :class:`StabilityCost`, in driver-hours (the problem's
#: ``locale.amount``): 5,000, 100 and 1,000 KRW.
REASSIGN_HOURS = 0.25
ETA_MINUTE_HOURS = 0.005
LATE_COMMITTED_HOURS = 0.05
#: Prefix of the temporary depot at a van's position.
POSITION_DEPOT = "@"
DAY = 86_400


class VehicleProgress(FrozenModel):
    """How far a van is along its route: where it is now and what it has done.

    ``time`` is when it is at ``position`` (or leaves it); ``completed`` are
    the orders it has served (returns: collected; shipments: delivered);
    ``picked_up`` are the shipments it has collected and not yet delivered
    (on board); ``next`` is the stop it is driving to, which stays its next
    stop (a shipment's pickup, or its delivery when it is in ``picked_up``).
    (Not ``tracking.store.VehicleState``, the tracker's record of a van's
    shift and reported stop.)
    """

    vehicle: Id
    position: Location
    time: DayClock
    completed: tuple[Id, ...] = ()
    picked_up: tuple[Id, ...] = Field(
        default=(), description="shipments collected and not yet delivered"
    )
    next: Id | None = None
    breaks_taken: tuple[Id, ...] | None = Field(
        default=None,
        description="breaks the driver has taken today; when given, used "
        "instead of inferring them from the plan's times",
    )


#: What happens to the parcels on board a van that broke down: another van
#: meets it and takes them over (``transfer``), or they go back to the depot
#: and are re-planned from there (``depot``).
RescueMode = Literal["transfer", "depot"]
RESCUE_MODES: tuple[RescueMode, ...] = ("transfer", "depot")
#: Meeting a broken-down van: parking next to it (s), then per parcel (s).
TRANSFER_SETUP = 300
TRANSFER_SERVICE = 30
#: Parcels brought back to the depot: in its stock this long after now (s),
#: unless the state says when; loading them there: setup and per parcel (s).
DEPOT_RETURN = 5400
DEPOT_SETUP = 600
DEPOT_SERVICE = 30


class ExecutionState(FrozenModel):
    """The plan in execution and what happened since it was made."""

    time: DayClock = Field(
        description='now: seconds since midnight of the day, or "HH:MM", '
        "within the day + 2 days (0..259200)"
    )
    plan: Plan
    vehicles: tuple[VehicleProgress, ...] = ()
    new_orders: tuple[Job, ...] = ()
    cancelled: tuple[Id, ...] = ()
    changed: tuple[Order, ...] = Field(
        default=(), description="new versions of existing orders, by id"
    )
    unavailable: tuple[Id, ...] = Field(default=(), description="vehicle ids")
    rescue: dict[Id, RescueMode] = Field(
        default_factory=dict,
        description="per unavailable vehicle with parcels on board: transfer "
        "(another van fetches them at its position) or depot (they go back "
        "to its depot and are re-planned from there; the default)",
    )
    returned_at: dict[Id, Clock] = Field(
        default_factory=dict,
        description="per unavailable vehicle rescued to the depot: when its "
        "parcels are back in the depot's stock (default: now + 90 min)",
    )
    promised: dict[Id, Clock] = Field(
        default_factory=dict,
        description="promised service starts by order id (default: the plan's)",
    )
    locked: tuple[Id, ...] = Field(
        default=(),
        description="stops the dispatcher locked: each keeps its vehicle and its "
        "place among the vehicle's stops",
    )


class StabilityCost(FrozenModel):
    """What changing the plan in execution costs (see the module docstring).

    Amounts are in the problem's currency; unset, each is its driver-hours
    default in the problem's locale (``*_in(locale)``).
    """

    reassign: Real | None = Field(
        default=None,
        ge=0.0,
        description="money per order served by another van than planned "
        f"(default: {REASSIGN_HOURS} driver-hours)",
    )
    eta_per_minute: Real | None = Field(
        default=None,
        ge=0.0,
        description="money per minute a promised time moves beyond the "
        f"tolerance (default: {ETA_MINUTE_HOURS} driver-hours)",
    )
    eta_tolerance: Seconds = 900
    min_gain: Real = Field(default=0.01, ge=0.0)
    late_committed: Real | None = Field(
        default=None,
        ge=0.0,
        description="money per minute a committed stop is late when it can no "
        "longer be made in its window (its window turns soft; default: "
        f"{LATE_COMMITTED_HOURS} driver-hours)",
    )

    def reassign_in(self, locale: Locale) -> float:
        """``reassign`` in ``locale``'s currency."""
        return _given_or(self.reassign, REASSIGN_HOURS, locale)

    def eta_per_minute_in(self, locale: Locale) -> float:
        """``eta_per_minute`` in ``locale``'s currency."""
        return _given_or(self.eta_per_minute, ETA_MINUTE_HOURS, locale)

    def late_committed_in(self, locale: Locale) -> float:
        """``late_committed`` in ``locale``'s currency."""
        return _given_or(self.late_committed, LATE_COMMITTED_HOURS, locale)


def _given_or(amount: float | None, hours: float, locale: Locale) -> float:
    return locale.amount(hours) if amount is None else amount


class Move(FrozenModel):
    order: str
    before: str | None = Field(description="vehicle in the plan in execution")
    after: str | None


class EtaShift(FrozenModel):
    order: str
    vehicle: str
    before: int
    after: int

    @property
    def minutes(self) -> float:
        return (self.after - self.before) / 60.0


class Dropped(FrozenModel):
    order: str
    reason: Reason
    detail: str


class Rescued(FrozenModel):
    """A parcel on board a van that broke down, and what became of it.

    ``how`` is the dispatcher's choice; ``by`` the van that delivers it now
    (``None``: not delivered today, ``reason`` and ``detail`` say why).
    """

    order: str
    vehicle: str = Field(description="the van that broke down")
    how: RescueMode
    by: str | None = None
    reason: Reason | None = None
    detail: str = ""


class Changes(FrozenModel):
    """What the new plan changes, against the plan in execution.

    ``fixed`` is, per van, how many leading visits of its route are fixed
    (its committed stop and the breaks it takes on the way there).
    """

    moved: tuple[Move, ...] = ()
    inserted: tuple[Move, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    cancelled: tuple[str, ...] = ()
    completed: tuple[str, ...] = ()
    eta_shifts: tuple[EtaShift, ...] = ()
    late_committed: tuple[str, ...] = ()
    stability_cost: float = 0.0
    rescued: tuple[Rescued, ...] = ()
    fixed: dict[str, int] = Field(default_factory=dict)


class Reoptimisation(FrozenModel):
    """The rest of the day: its problem, its plan and what changed.

    ``source`` is ``kept`` (nothing to change), ``repair`` (insertions and
    removals only) or ``search`` (re-optimised).
    """

    problem: Problem
    plan: Plan
    changes: Changes
    committed: dict[str, str] = Field(description="vehicle id -> committed order")
    source: str
    seconds: float

    @property
    def fixed(self) -> dict[str, int]:
        """Per van, how many leading visits are fixed (committed)."""
        return self.changes.fixed


class UrgentInsertion(FrozenModel):
    """An urgent order inserted into a plan (or why it could not be)."""

    problem: Problem
    plan: Plan
    vehicle: str | None
    eta: int | None
    marginal_cost: float | None
    seconds: float


# -- validation ------------------------------------------------------------------


def state_errors(problem: Problem, state: ExecutionState) -> list[str]:
    """Field paths and reasons for an execution state that does not fit."""
    vehicles = {v.id for v in problem.vehicles}
    orders = {o.id for o in problem.orders}
    planned_on: dict[str, str] = {}
    for r in state.plan.routes:
        for s in r.steps:
            if s.id is not None and s.type != StepType.BREAK:
                planned_on[s.id] = r.vehicle
    errors: list[str] = []
    for i, r in enumerate(state.plan.routes):
        if r.vehicle not in vehicles:
            errors.append(f"plan.routes[{i}].vehicle: unknown vehicle {r.vehicle!r}")
    for oid in planned_on:
        if oid not in orders:
            errors.append(f"plan: order {oid!r} is not in the problem")
    done: set[str] = set()
    errors += _progress_errors(problem, state, vehicles, orders, planned_on, done)
    errors += _event_errors(state, vehicles, orders, done)
    for field_name, jobs in (
        ("new_orders", state.new_orders),
        ("changed", state.changed),
    ):
        for k, job in enumerate(jobs):
            errors += _job_errors(problem, job, f"{field_name}[{k}]")
    return errors


def _progress_errors(
    problem: Problem,
    state: ExecutionState,
    vehicles: set[str],
    orders: set[str],
    planned_on: Mapping[str, str],
    done: set[str],
) -> list[str]:
    """Each van's progress: known, once, placed, orders completed once."""
    errors: list[str] = []
    seen: set[str] = set()
    for i, vs in enumerate(state.vehicles):
        where = f"vehicles[{i}]"
        if vs.vehicle not in vehicles:
            errors.append(f"{where}.vehicle: unknown vehicle {vs.vehicle!r}")
        if vs.vehicle in seen:
            errors.append(f"{where}.vehicle: {vs.vehicle!r} appears twice")
        seen.add(vs.vehicle)
        if problem.matrices is not None and vs.position.index is None:
            errors.append(f"{where}.position.index: required when matrices are given")
        if problem.matrices is None and not vs.position.has_coordinates:
            errors.append(f"{where}.position: lat/lon required")
        for k, oid in enumerate(vs.completed):
            if oid not in orders:
                errors.append(f"{where}.completed[{k}]: unknown order {oid!r}")
            elif oid in done:
                errors.append(f"{where}.completed[{k}]: {oid!r} completed twice")
            done.add(oid)
        if vs.next is not None:
            if planned_on.get(vs.next) != vs.vehicle:
                errors.append(
                    f"{where}.next: {vs.next!r} is not on this vehicle's planned route"
                )
            elif vs.next in vs.completed:
                errors.append(f"{where}.next: {vs.next!r} is already completed")
        errors += _picked_up_errors(problem, vs, where, planned_on)
        errors += _breaks_taken_errors(problem, vs, where)
    return errors


def _breaks_taken_errors(
    problem: Problem, vs: VehicleProgress, where: str
) -> list[str]:
    """Breaks said to be taken: the van's own, each once."""
    van = next((v for v in problem.vehicles if v.id == vs.vehicle), None)
    if van is None or vs.breaks_taken is None:
        return []
    known = {b.id for b in van.breaks}
    errors: list[str] = []
    for k, bid in enumerate(vs.breaks_taken):
        if bid not in known:
            errors.append(
                f"{where}.breaks_taken[{k}]: {vs.vehicle} has no break {bid!r}"
            )
        elif bid in vs.breaks_taken[:k]:
            errors.append(f"{where}.breaks_taken[{k}]: {bid!r} appears twice")
    return errors


def _picked_up_errors(
    problem: Problem, vs: VehicleProgress, where: str, planned_on: Mapping[str, str]
) -> list[str]:
    """Shipments on board: this van's, and not delivered yet."""
    shipments = {s.id for s in problem.shipments}
    errors: list[str] = []
    for k, oid in enumerate(vs.picked_up):
        if oid not in shipments:
            errors.append(f"{where}.picked_up[{k}]: {oid!r} is not a shipment")
        elif planned_on.get(oid) != vs.vehicle:
            errors.append(
                f"{where}.picked_up[{k}]: {oid!r} is not on this vehicle's "
                "planned route"
            )
        elif oid in vs.completed:
            errors.append(f"{where}.picked_up[{k}]: {oid!r} is already delivered")
    return errors


def _event_errors(
    state: ExecutionState, vehicles: set[str], orders: set[str], done: set[str]
) -> list[str]:
    """New, cancelled and changed orders and unavailable vans are known."""
    errors: list[str] = []
    new_ids = [j.id for j in state.new_orders]
    for k, oid in enumerate(new_ids):
        if oid in orders:
            errors.append(f"new_orders[{k}].id: {oid!r} is already an order")
    for k, oid in enumerate(state.cancelled):
        if oid not in orders and oid not in new_ids:
            errors.append(f"cancelled[{k}]: unknown order {oid!r}")
    for k, job in enumerate(state.changed):
        if job.id not in orders:
            errors.append(f"changed[{k}].id: unknown order {job.id!r}")
        elif job.id in done:
            errors.append(f"changed[{k}].id: {job.id!r} is already completed")
    for k, vid in enumerate(state.unavailable):
        if vid not in vehicles:
            errors.append(f"unavailable[{k}]: unknown vehicle {vid!r}")
    for name in ("rescue", "returned_at"):
        for vid in getattr(state, name):
            if vid not in state.unavailable:
                errors.append(
                    f"{name}.{vid}: {vid!r} is not among the unavailable vehicles"
                )
    for vid, t in state.returned_at.items():
        if t < state.time:
            errors.append(f"returned_at.{vid}: {t} is before now ({state.time})")
    routed = {o for r in state.plan.routes for o in r.order_ids}
    for k, oid in enumerate(state.locked):
        if oid not in routed:
            errors.append(f"locked[{k}]: {oid!r} is on no route of the plan")
    return errors


def _job_errors(problem: Problem, job: Order, where: str) -> list[str]:
    """A new or changed order fits the problem: dimensions, places, locations."""
    errors: list[str] = []
    n_dims = problem.n_dims
    if len(job.demand) != n_dims:
        errors.append(f"{where}.demand: needs {n_dims} dimensions")
    if job.depot is not None and job.depot not in {d.id for d in problem.depots}:
        errors.append(f"{where}.depot: unknown depot id {job.depot!r}")
    places: list[tuple[str, Location | None]]
    if isinstance(job, Shipment):
        places = [
            ("pickup.location", job.pickup.location),
            ("delivery.location", job.delivery.location),
        ]
    else:
        if job.station is not None and job.station not in {
            s.id for s in problem.stations
        }:
            errors.append(f"{where}.station: unknown station id {job.station!r}")
        places = [("location", job.location)]
    for name, loc in places:
        if loc is not None and problem.matrices is not None and loc.index is None:
            errors.append(f"{where}.{name}.index: required with matrices")
        if loc is not None and problem.matrices is None and not loc.has_coordinates:
            errors.append(f"{where}.{name}: lat/lon required")
    return errors


# -- the rest of the day -------------------------------------------------------------


@dataclass
class RestOfDay:
    """The rest-of-day problem and where every order stands."""

    problem: Problem
    visits: dict[str, list[VisitKey]]
    committed: dict[str, str]
    pending: list[str]
    lost: dict[str, str]  # order -> why it is lost (detail)
    completed: list[str]
    cancelled: list[str]
    before: dict[str, tuple[str, int]]  # order -> (vehicle, promised start)
    on_road: list[str] = field(default_factory=list)
    unchanged: dict[str, Route] = field(default_factory=dict)
    left_before: set[str] = field(default_factory=set)
    other_day: dict[str, str] = field(default_factory=dict)  # order -> detail
    #: leading visits nothing may precede per van: the breaks it takes on the
    #: way to its committed stop, and that stop
    fixed: dict[str, int] = field(default_factory=dict)
    #: parcels on board a van that broke down: order -> (van, how rescued)
    rescued: dict[str, tuple[str, RescueMode]] = field(default_factory=dict)


def rest_of_day(problem: Problem, state: ExecutionState) -> RestOfDay:
    """Build the problem of what is left to do (see the module docstring).

    Raises
    ------
    InputError
        When the state does not fit the problem (field path and reason).
    """
    errors = state_errors(problem, state)
    if errors:
        raise InputError("state", errors)
    build = _RestBuilder.start(problem, state)
    for vehicle in problem.vehicles:
        build.add_vehicle(vehicle)
    return build.finish()


@dataclass
class _RestBuilder:
    """The rest of the day as it is put together, vehicle by vehicle."""

    problem: Problem
    state: ExecutionState
    #: orders still in the day (changed and new ones included, cancelled not)
    orders: dict[str, Order]
    #: every order ever in the day, for what vans already collected
    everything: dict[str, Order]
    changed_ids: set[str]
    cancelled: list[str]
    completed: list[str]
    #: per vehicle: its planned visits and when its breaks were planned
    planned: dict[str, list[VisitKey]]
    break_times: dict[str, dict[str, int]]  # vehicle -> break id -> start
    before: dict[str, tuple[str, int]]
    previously_left: list[str]
    depots: list[Depot]
    progress: dict[str, VehicleProgress]
    done: set[str]
    #: orders scheduled for another day: never on today's routes (detail)
    other_day: dict[str, str]
    vehicles: list[Vehicle] = field(default_factory=list)
    visits: dict[str, list[VisitKey]] = field(default_factory=dict)
    committed: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, int] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    lost: dict[str, str] = field(default_factory=dict)
    on_road: list[str] = field(default_factory=list)
    unchanged: dict[str, Route] = field(default_factory=dict)
    rescued: dict[str, tuple[str, RescueMode]] = field(default_factory=dict)
    #: per vehicle: the skills that pin its locked stops to it
    lock_skills: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def start(cls, problem: Problem, state: ExecutionState) -> _RestBuilder:
        """The orders as they stand now and the plan in execution, read."""
        orders: dict[str, Order] = {o.id: o for o in problem.orders}
        everything: dict[str, Order] = {
            **orders,
            **{j.id: j for j in state.new_orders},
        }
        for job in (*state.changed, *state.new_orders):
            orders[job.id] = job
        cancelled = [o for o in state.cancelled if o in orders]
        for oid in cancelled:
            orders.pop(oid)
        before: dict[str, tuple[str, int]] = {}
        planned: dict[str, list[VisitKey]] = {}
        break_times: dict[str, dict[str, int]] = {}
        for r in state.plan.routes:
            vehicle = next(v for v in problem.vehicles if v.id == r.vehicle)
            planned[r.vehicle] = visit_keys(vehicle, r)
            break_times[r.vehicle] = {
                s.id: s.service_start
                for s in r.steps
                if s.type == StepType.BREAK and s.id is not None
            }
            for s in r.steps:
                if s.type in (StepType.JOB, StepType.DELIVERY) and s.id is not None:
                    promised = state.promised.get(s.id, s.service_start)
                    before[s.id] = (r.vehicle, promised)
        completed = [o for s in state.vehicles for o in s.completed]
        lock_skills = _pin_locked(state, orders)
        return cls(
            problem=problem,
            state=state,
            orders=orders,
            everything=everything,
            changed_ids={j.id for j in state.changed},
            cancelled=cancelled,
            completed=completed,
            planned=planned,
            break_times=break_times,
            before=before,
            previously_left=[u.id for u in state.plan.unassigned],
            depots=list(problem.depots),
            progress={s.vehicle: s for s in state.vehicles},
            done=set(completed),
            other_day=_other_day(problem, orders.values()),
            lock_skills=lock_skills,
        )

    def add_vehicle(self, vehicle: Vehicle) -> None:
        """What is left of one vehicle's day: its shift, load and visits."""
        keys = self._on_board_shipments(vehicle, self.planned.get(vehicle.id, []))
        todo = [k for k in keys if self._still_to_do(k[0])]
        vs = self.progress.get(vehicle.id)
        start_loc = (
            None
            if vehicle.start is None
            else self.problem.depot(vehicle.start).location
        )
        served_here = [o for o in (vs.completed if vs else ()) if o]
        # a van at its depot with nothing done and no stop to drive to has
        # not left: it can still load parcels
        on_road = vs is not None and (
            vs.next is not None
            or bool(served_here)
            or bool(vs.picked_up)
            or vs.position != start_loc
        )
        deliveries = [k[0] for k in todo if _is_delivery(self.orders[k[0]])]
        t_free = max(
            vehicle.shift.start, vs.time if vs is not None else self.state.time
        )
        if vehicle.id in self.state.unavailable or t_free >= vehicle.shift.end:
            self._off_duty(vehicle, todo, vs, on_road, deliveries)
            return
        breaks, kept = self._breaks_left(vehicle, keys, todo, t_free, on_road)
        update: dict[str, object] = {
            "shift": TimeWindow(start=t_free, end=vehicle.shift.end),
            "breaks": tuple(breaks),
        }
        if on_road:
            assert vs is not None
            update |= self._from_position(vehicle, vs, served_here, deliveries)
            if vs.next is not None and any(k[0] == vs.next for k in todo):
                # its first visit: a job, a shipment's pickup, or the
                # delivery of a shipment on board (a job by now)
                nxt = (vs.next, 0)
                kept = _committed_first(kept, nxt)
                self.committed[vehicle.id] = vs.next
                self.fixed[vehicle.id] = kept.index(nxt) + 1
        if vehicle.id in self.lock_skills:
            update["skills"] = vehicle.skills | self.lock_skills[vehicle.id]
        self.vehicles.append(vehicle.model_copy(update=update))
        self.visits[vehicle.id] = kept
        plan_route = self.state.plan.route_of(vehicle.id)
        if (
            not on_road
            and plan_route is not None
            and kept == keys
            and plan_route.steps[0].departure >= t_free
            and not any(o in self.changed_ids for o, _ in kept)
        ):
            # a van not out yet whose route did not change keeps its times
            self.unchanged[vehicle.id] = plan_route

    def _still_to_do(self, oid: str) -> bool:
        """An order (not a break) still in the day, not done, for today."""
        return (
            bool(oid)
            and oid not in self.done
            and oid in self.orders
            and oid not in self.other_day
        )

    def _on_board_shipments(
        self, vehicle: Vehicle, keys: list[VisitKey]
    ) -> list[VisitKey]:
        """Shipments the van collected are deliveries of parcels on board (a
        job each, its visit key ``(id, 0)``); their pickups are done."""
        vs = self.progress.get(vehicle.id)
        loaded = {
            o
            for o in (vs.picked_up if vs is not None else ())
            if isinstance(self.orders.get(o), Shipment) and o not in self.done
        }
        for oid in loaded:
            shipment = self.orders[oid]
            assert isinstance(shipment, Shipment)
            self.orders[oid] = on_board_delivery(shipment, POSITION_DEPOT + vehicle.id)
        return [
            (o, 0) if o in loaded else (o, e)
            for o, e in keys
            if not (o in loaded and e == 0)
        ]

    def _off_duty(
        self,
        vehicle: Vehicle,
        todo: list[VisitKey],
        vs: VehicleProgress | None,
        on_road: bool,
        deliveries: list[str],
    ) -> None:
        """An unavailable van, or one whose shift is over: the parcels a
        broken-down van carries are rescued (:meth:`_rescue`); those of a van
        whose shift is over are lost (delivered from where it stands if at
        all); the rest wait."""
        if vehicle.id in self.state.unavailable and on_road and vs is not None:
            self._rescue(vehicle, todo, vs, deliveries)
            return
        why = (
            f"on board vehicle {vehicle.id}, which is unavailable"
            if vehicle.id in self.state.unavailable
            else f"on board vehicle {vehicle.id}, whose shift is over"
        )
        for oid, _ in todo:
            if on_road and oid in deliveries:
                self.lost[oid] = why
            else:
                self.pending.append(oid)
        if on_road and any(o in self.lost for o in deliveries):
            self._drop_depot(POSITION_DEPOT + vehicle.id)
            self.depots.append(
                Depot(
                    id=POSITION_DEPOT + vehicle.id,
                    location=vs.position if vs else self.problem.depots[0].location,
                )
            )
            for oid in deliveries:
                self.orders[oid] = self.orders[oid].model_copy(
                    update={"depot": POSITION_DEPOT + vehicle.id}
                )

    def _rescue(
        self,
        vehicle: Vehicle,
        todo: list[VisitKey],
        vs: VehicleProgress,
        deliveries: list[str],
    ) -> None:
        """The parcels on board a broken-down van become shipments to their
        customers: picked up at the van's position from now (``transfer``),
        or at its depot once they are back in stock (``depot``). Its other
        orders wait for another van."""
        how = self.state.rescue.get(vehicle.id, "depot")
        now = max(self.state.time, vs.time)
        if how == "transfer":
            place, ready = vs.position, now
            setup, service = TRANSFER_SETUP, TRANSFER_SERVICE
        else:
            place = self._home_depot(vehicle).location
            ready = self.state.returned_at.get(vehicle.id, now + DEPOT_RETURN)
            setup, service = DEPOT_SETUP, DEPOT_SERVICE
        for oid, _ in todo:
            self.pending.append(oid)
            order = self.orders[oid]
            if oid not in deliveries or not isinstance(order, Job):
                continue
            drop = _delivery_step(self.problem, order)
            last = max((w.end for w in drop.time_windows), default=ready + DAY)
            pickup = ShipmentStep(
                location=place,
                setup=setup,
                service=service,
                time_windows=(TimeWindow(start=ready, end=max(ready, last)),),
            )
            self.orders[oid] = rescue_shipment(order, pickup, drop)
            self.rescued[oid] = (vehicle.id, how)

    def _home_depot(self, vehicle: Vehicle) -> Depot:
        """Where a van's parcels were loaded: its start (else end) depot."""
        depot_id = vehicle.start or vehicle.end
        if depot_id is None:
            return self.problem.depots[0]
        return self.problem.depot(depot_id)

    def _breaks_left(
        self,
        vehicle: Vehicle,
        keys: list[VisitKey],
        todo: list[VisitKey],
        t_free: int,
        on_road: bool,
    ) -> tuple[list[Break], list[VisitKey]]:
        """Breaks not yet taken (renumbered), and the visits still to make."""
        # breaks already taken (planned before now, or before the van's
        # time when it is later) are gone; so are those whose windows closed
        now = max(t_free, self.state.time)
        vs = self.progress.get(vehicle.id)
        if vs is not None and vs.breaks_taken is not None:
            # the driver's own record wins over the plan's times
            taken = set(vs.breaks_taken)
        else:
            taken = {
                bid
                for bid, t in self.break_times.get(vehicle.id, {}).items()
                if t < now and on_road
            }
        breaks = [
            b
            for b in vehicle.breaks
            if b.id not in taken and b.time_windows[-1].end >= now
        ]
        new_index = {vehicle.breaks.index(b): k for k, b in enumerate(breaks)}
        kept: list[VisitKey] = []
        for k in keys:
            if not k[0]:
                if k[1] in new_index:
                    kept.append(("", new_index[k[1]]))
            elif k in todo:
                kept.append(k)
        return breaks, kept

    def _drop_depot(self, depot_id: str) -> None:
        """Forget the van's position depot of an earlier re-optimisation.

        A plan that was re-optimised before already has ``@<vehicle>``; the
        van's new position replaces it (its loaded parcels keep the id).
        """
        self.depots = [d for d in self.depots if d.id != depot_id]

    def _from_position(
        self,
        vehicle: Vehicle,
        vs: VehicleProgress,
        served_here: list[str],
        deliveries: list[str],
    ) -> dict[str, object]:
        """A van on the road starts where it is, with what room and limits
        it has left; the parcels it carries load there."""
        self.on_road.append(vehicle.id)
        depot_id = POSITION_DEPOT + vehicle.id
        self._drop_depot(depot_id)
        self.depots.append(Depot(id=depot_id, location=vs.position))
        update: dict[str, object] = {"start": depot_id}
        collected = [
            o
            for o in (self.everything.get(oid) for oid in vs.completed)
            if isinstance(o, Job) and any(o.collected)
        ]
        cap = list(vehicle.capacity)
        for job in collected:
            cap = [max(0, c - q) for c, q in zip(cap, job.collected, strict=True)]
        update["capacity"] = tuple(cap)
        plan_route = self.state.plan.route_of(vehicle.id)
        if vehicle.max_duration is not None and plan_route is not None:
            used = max(0, vs.time - plan_route.start)
            update["max_duration"] = max(0, vehicle.max_duration - used)
        if vehicle.max_orders is not None:
            update["max_orders"] = max(1, vehicle.max_orders - len(served_here))
        if vehicle.max_distance is not None and plan_route is not None:
            driven = max(
                (s.distance for s in plan_route.steps if s.id in set(served_here)),
                default=0,
            )
            update["max_distance"] = max(0, vehicle.max_distance - driven)
        for oid in deliveries:
            self.orders[oid] = self.orders[oid].model_copy(update={"depot": depot_id})
        return update

    def finish(self) -> RestOfDay:
        """The rest-of-day problem and the orders still waiting for a route."""
        done = self.done
        on_routes = {k[0] for ks in self.visits.values() for k in ks if k[0]}
        pending = list(self.pending)
        for oid in self.previously_left:
            if oid in self.orders and oid not in done and oid not in on_routes:
                pending.append(oid)
        for job in self.state.new_orders:
            if job.id in self.orders and job.id not in on_routes:
                pending.append(job.id)
        pending = [
            o
            for o in dict.fromkeys(pending)
            if o not in on_routes and o not in self.lost and o not in self.other_day
        ]
        remaining = [o for o in self.orders.values() if o.id not in done]
        rest = Problem(
            date=self.problem.date,
            matrices=self.problem.matrices,
            depots=tuple(self.depots),
            stations=self.problem.stations,
            vehicles=tuple(self.vehicles),
            jobs=tuple(o for o in remaining if isinstance(o, Job)),
            shipments=tuple(o for o in remaining if isinstance(o, Shipment)),
        )
        return RestOfDay(
            problem=rest,
            visits=self.visits,
            committed=self.committed,
            pending=pending,
            lost=self.lost,
            completed=self.completed,
            cancelled=self.cancelled,
            before=self.before,
            on_road=self.on_road,
            unchanged=self.unchanged,
            left_before=set(self.previously_left),
            fixed=self.fixed,
            other_day={o: why for o, why in self.other_day.items() if o not in done},
            rescued=self.rescued,
        )


def _other_day(problem: Problem, orders: Iterable[Order]) -> dict[str, str]:
    """Orders scheduled for another day than the problem's, with the detail."""
    if problem.date is None:
        return {}
    return {
        o.id: f"scheduled for {o.scheduled_date}, the plan is for {problem.date}"
        for o in orders
        if o.scheduled_date is not None and o.scheduled_date != problem.date
    }


def on_board_delivery(shipment: Shipment, depot: str) -> Job:
    """A shipment whose pickup is done: a delivery of a parcel on board of the
    van that starts at ``depot``, at the shipment's delivery."""
    step = shipment.delivery
    return Job(
        id=shipment.id,
        demand=shipment.demand,
        priority=shipment.priority,
        penalty=shipment.penalty,
        skills=shipment.skills,
        service_level=shipment.service_level,
        scheduled_date=shipment.scheduled_date,
        customer_id=shipment.customer_id,
        depot=depot,
        lateness_cost=shipment.lateness_cost,
        type="delivery",
        location=step.location,
        setup=step.setup,
        service=step.service,
        time_windows=step.time_windows,
    )


def _delivery_step(problem: Problem, job: Job) -> ShipmentStep:
    """Where and when a delivery job is served, as a shipment's end."""
    setup, service = job.setup, job.service
    if job.station is not None:
        station = problem.station(job.station)
        setup, service = station.service, station.per_parcel + job.service
    return ShipmentStep(
        location=problem.job_location(job),
        setup=setup,
        service=service,
        time_windows=job.time_windows,
    )


def rescue_shipment(job: Job, pickup: ShipmentStep, delivery: ShipmentStep) -> Shipment:
    """A parcel on board a broken-down van as a shipment: fetched at
    ``pickup`` (the van, or its depot) and delivered at ``delivery``."""
    return Shipment(
        id=job.id,
        demand=job.demand,
        priority=job.priority,
        penalty=job.penalty,
        skills=job.skills,
        service_level=job.service_level,
        scheduled_date=job.scheduled_date,
        customer_id=job.customer_id,
        lateness_cost=job.lateness_cost,
        pickup=pickup,
        delivery=delivery,
    )


def _committed_first(kept: list[VisitKey], nxt: VisitKey) -> list[VisitKey]:
    """The committed stop first, behind the breaks planned on the way to it
    (the van takes them before it gets there)."""
    lead = 0
    while lead < len(kept) and not kept[lead][0]:
        lead += 1
    return [*kept[:lead], nxt, *[k for k in kept[lead:] if k != nxt]]


def _is_delivery(order: Order) -> bool:
    return isinstance(order, Job) and order.loads_at_depot


def state_as_planned(problem: Problem, plan: Plan, now: int) -> ExecutionState:
    """Where every van would be at ``now`` if the day went exactly to plan.

    A van between stops has the last stop it left as position (at its
    departure) and the next stop as committed; a van not out yet has no
    state; a van back has its end as position.
    """
    states = []
    for route in plan.routes:
        steps = route.steps
        if steps[0].departure > now:
            continue
        done = [
            s for s in steps[1:-1] if s.departure <= now and s.type != StepType.BREAK
        ]
        last = done[-1] if done else steps[0]
        rest = [
            s
            for s in steps[1:-1]
            if s.departure > now and s.type != StepType.BREAK and s.id is not None
        ]
        location = last.location
        if steps[-1].arrival <= now:
            last, location = steps[-1], steps[-1].location
        if location is None:
            vehicle = next(v for v in problem.vehicles if v.id == route.vehicle)
            depot = vehicle.start or vehicle.end or problem.depots[0].id
            location = problem.depot(depot).location
        states.append(
            VehicleProgress(
                vehicle=route.vehicle,
                position=location,
                time=last.departure if last is not steps[-1] else last.arrival,
                completed=tuple(
                    s.id
                    for s in done
                    if s.id is not None and s.type in (StepType.JOB, StepType.DELIVERY)
                ),
                picked_up=_picked_up(done),
                next=rest[0].id if rest and steps[-1].arrival > now else None,
            )
        )
    return ExecutionState(time=now, plan=plan, vehicles=tuple(states))


def _picked_up(done: Sequence[Step]) -> tuple[str, ...]:
    """Shipments whose pickup is among ``done`` and whose delivery is not."""
    delivered = {s.id for s in done if s.type == StepType.DELIVERY}
    return tuple(
        s.id
        for s in done
        if s.type == StepType.PICKUP and s.id is not None and s.id not in delivered
    )


# -- choosing the new plan ---------------------------------------------------------


def reoptimise(
    problem: Problem,
    state: ExecutionState,
    travel: TravelModel,
    *,
    params: SolveParams | None = None,
    stability: StabilityCost | None = None,
    search: bool | None = None,
) -> Reoptimisation:
    """Plan the rest of the day from the plan in execution.

    Parameters
    ----------
    problem
        The day as planned (the plan in ``state`` is a plan of it).
    state
        Where the vans are and what happened.
    travel
        Travel model (the problem's own matrices win).
    params
        ``time_limit``: the wall-clock budget of the whole re-optimisation
        (0 skips the search); the search gets what reading the state, the
        repair and building its model leave of it (at least
        :data:`~routing.solver.ortools_adapter.MIN_SEARCH_SECONDS`), so a
        dispatcher waits about ``time_limit`` whatever the day's size.
        ``objective``, ``seed`` as for a solve.
    stability
        What changes cost (see the module docstring).
    search
        Force (``True``) or skip (``False``) the search; by default it runs
        when orders or vehicles changed or stops had to come off.

    Returns
    -------
    Reoptimisation
        The rest-of-day problem, its plan (verified by the checker) and the
        changes.

    Raises
    ------
    InputError
        When the state does not fit the problem.
    """
    t0 = time.perf_counter()
    params = params or SolveParams(time_limit=10.0)
    stability = stability or StabilityCost()
    rest = rest_of_day(problem, state)
    live = _live_plan(rest, travel, params)
    late, events, inserted_any = _repair(live, rest, state, stability)
    source = "repair" if (events or inserted_any or late) else "kept"
    best = live.plan(engine=source)
    run_search = events if search is None else search
    if run_search and params.time_limit > 0 and rest.problem.vehicles:
        found = _search(rest, live, travel, params, t0 + params.time_limit)
        if (
            found is not None
            and _better(found, best, rest, stability, live.by_cost)
            and _locks_kept(state, found)
        ):
            best, source = found, "search"
    changes = _changes(rest, best, stability, late)
    return Reoptimisation(
        problem=_unpinned(live.problem),
        plan=best.model_copy(update={"seconds": round(time.perf_counter() - t0, 3)}),
        changes=changes,
        committed=dict(rest.committed),
        source=source,
        seconds=round(time.perf_counter() - t0, 3),
    )


#: Prefix of the skill that pins a locked stop to its van (never returned).
LOCK_SKILL = "@lock:"


def _pin_locked(
    state: ExecutionState, orders: dict[str, Order]
) -> dict[str, frozenset[str]]:
    """Pin each locked stop to its planned van: a skill only that van gets.

    ``orders`` is updated in place; returns the skills to give each van. A
    stop on an unavailable van is not pinned (it has to move).
    """
    planned_on = {o: r.vehicle for r in state.plan.routes for o in r.order_ids}
    skills: dict[str, set[str]] = {}
    for oid in state.locked:
        vid = planned_on.get(oid)
        if vid is None or oid not in orders or vid in state.unavailable:
            continue
        skill = LOCK_SKILL + vid
        orders[oid] = orders[oid].model_copy(
            update={"skills": orders[oid].skills | {skill}}
        )
        skills.setdefault(vid, set()).add(skill)
    return {vid: frozenset(s) for vid, s in skills.items()}


def _unpinned(problem: Problem) -> Problem:
    """``problem`` without the skills that pinned locked stops."""

    def clean(skills: frozenset[str]) -> frozenset[str]:
        return frozenset(s for s in skills if not s.startswith(LOCK_SKILL))

    if not any(s.startswith(LOCK_SKILL) for v in problem.vehicles for s in v.skills):
        return problem
    return problem.model_copy(
        update={
            "vehicles": tuple(
                v.model_copy(update={"skills": clean(v.skills)})
                for v in problem.vehicles
            ),
            "jobs": tuple(
                j.model_copy(update={"skills": clean(j.skills)}) for j in problem.jobs
            ),
            "shipments": tuple(
                s.model_copy(update={"skills": clean(s.skills)})
                for s in problem.shipments
            ),
        }
    )


def _locks_kept(state: ExecutionState, candidate: Plan) -> bool:
    """Whether every locked stop is on its van with the same stops before it
    (of those the van still serves) as in the plan in execution."""
    for oid in state.locked:
        old_route = next((r for r in state.plan.routes if oid in r.order_ids), None)
        if old_route is None or old_route.vehicle in state.unavailable:
            continue
        new_route = candidate.route_of(old_route.vehicle)
        new = [] if new_route is None else list(new_route.order_ids)
        if oid not in new:
            return False
        old = list(old_route.order_ids)
        common = [o for o in old if o in new and o != oid]
        for o in common:
            if (old.index(o) < old.index(oid)) != (new.index(o) < new.index(oid)):
                return False
    return True


def _live_plan(rest: RestOfDay, travel: TravelModel, params: SolveParams) -> LivePlan:
    """The plan in execution on the rest-of-day problem, stops kept in order."""
    objective: Objective = params.objective
    live = LivePlan(
        rest.problem,
        travel,
        rest.unchanged,
        fixed=_fixed(rest),
        objective=objective,
        pinned=rest.on_road,
    )
    for vid, keys in rest.visits.items():
        if vid not in rest.unchanged and keys:
            live.set_visits(live.vehicle_index(vid), keys)
    return live


def _repair(
    live: LivePlan, rest: RestOfDay, state: ExecutionState, stability: StabilityCost
) -> tuple[list[str], bool, bool]:
    """Make the live plan feasible and insert what waits for a route.

    Returns the committed stops now served late, whether anything happened
    (orders or vans changed, stops came off), and whether anything was
    inserted.
    """
    late = _soften_late_committed(live, rest, stability)
    displaced = _make_feasible(live, rest)
    for oid, why in rest.lost.items():
        order = live.orders[oid]
        live.leave_out(order, _unassigned(live, order, Reason.DEPOT, why))
    for oid, why in rest.other_day.items():
        order = live.orders[oid]
        live.leave_out(order, _unassigned(live, order, Reason.SCHEDULED_OTHER_DAY, why))
    events = bool(
        state.new_orders
        or state.cancelled
        or state.changed
        or state.unavailable
        or rest.lost
        or displaced
    )
    # Orders the plan in execution left out are tried again only when
    # something happened: an unchanged day keeps its plan.
    left_before = rest.left_before
    pending = [o for o in rest.pending if events or o not in left_before]
    for oid in rest.pending:
        if oid not in pending:
            order = live.orders[oid]
            previous = next(u for u in state.plan.unassigned if u.id == oid)
            live.leave_out(order, previous)
    todo = list(dict.fromkeys([*pending, *displaced]))
    inserted = _insert_all(live, todo, first=set(rest.rescued))
    for oid in rest.rescued:
        if oid in live.unassigned:
            order = live.orders[oid]
            live.leave_out(
                order,
                _unassigned(live, order, Reason.DEPOT, _not_rescued(rest, oid)),
            )
    return late, events, inserted


def _not_rescued(rest: RestOfDay, oid: str) -> str:
    """Why a broken-down van's parcel is not delivered today."""
    vid, how = rest.rescued[oid]
    if how == "transfer":
        return (
            f"on board vehicle {vid}, which broke down: no van can take it over "
            "there and deliver it today; it goes back to the depot with the van"
        )
    return (
        f"on board vehicle {vid}, which broke down: back at its depot, no van "
        "can deliver it today"
    )


def _fixed(rest: RestOfDay) -> dict[str, int]:
    return {vid: rest.fixed.get(vid, 1) for vid in rest.committed}


def _unassigned(
    live: LivePlan, order: Order, reason: Reason, detail: str
) -> Unassigned:
    return Unassigned(
        id=order.id,
        reason=reason,
        detail=detail,
        penalty=live.problem.drop_penalty(order),
    )


def _soften_late_committed(
    live: LivePlan, rest: RestOfDay, stability: StabilityCost
) -> list[str]:
    """Committed stops that can no longer be made in their windows.

    They are served late at ``late_committed`` a minute (their windows turn
    soft) rather than broken off: the van is already on its way.
    """
    late = []
    per_minute = stability.late_committed_in(live.problem.locale)
    for vid, oid in rest.committed.items():
        v = live.vehicle_index(vid)
        route = live.routes[v]
        order = live.orders[oid]
        if route is None or order.lateness_cost is not None:
            continue
        # the committed visit: a job, or a shipment's pickup
        step = next(s for s in route.steps if s.id == oid)
        windows = _windows_of(order, step.type)
        if windows and not any(a <= step.service_start <= b for a, b in windows):
            live.replace(order.model_copy(update={"lateness_cost": per_minute}))
            late.append(oid)
    return late


def _make_feasible(live: LivePlan, rest: RestOfDay) -> list[str]:
    """Take stops off routes that no longer work, until they do.

    A stop past its window comes off first; when the route breaks its shift,
    duration or loads, its last stop does. Committed stops stay.
    """
    displaced: list[str] = []
    for v, vehicle in enumerate(live.vehicles):
        for _ in range(len(live.visits[v]) + 1):
            route = live.routes[v]
            if route is None or live.violation(v, route) is None:
                break
            keep = rest.committed.get(vehicle.id)
            victim = None
            for s in route.steps[1:-1]:
                if s.id is None or s.type == StepType.BREAK or s.id == keep:
                    continue
                order = live.orders[s.id]
                if order.lateness_cost is not None:
                    continue
                windows = _windows_of(order, s.type)
                if windows and not any(a <= s.service_start <= b for a, b in windows):
                    victim = s.id
                    break
            if victim is None:
                ids = [
                    s.id
                    for s in route.steps[1:-1]
                    if s.id is not None and s.type != StepType.BREAK and s.id != keep
                ]
                if not ids:
                    _give_up_committed(live, rest, v, displaced)
                    break
                # parcels on board come off last: only this van can take them
                others = [o for o in ids if not _on_board(live.orders[o])]
                victim = (others or ids)[-1]
            live.remove(victim)
            displaced.append(victim)
    return displaced


def _give_up_committed(
    live: LivePlan, rest: RestOfDay, v: int, displaced: list[str]
) -> None:
    """A route of its committed stop (and breaks) alone that still breaks
    the shift: the van cannot make that stop and get back in time, so the
    stop is no longer committed and comes off (a parcel on board goes back
    to the depot)."""
    vid = live.vehicles[v].id
    oid = rest.committed.pop(vid, None)
    if oid is None:
        return
    rest.fixed.pop(vid, None)
    live.fixed[v] = 0
    live.remove(oid)
    displaced.append(oid)


def _on_board(order: Order) -> bool:
    """A parcel loaded on a van on the road (its depot is the van's position)."""
    return (
        isinstance(order, Job)
        and order.loads_at_depot
        and order.depot is not None
        and order.depot.startswith(POSITION_DEPOT)
    )


def _windows_of(order: Order, kind: StepType) -> list[tuple[int, int]]:
    if isinstance(order, Job):
        tws = order.time_windows
    elif kind == StepType.PICKUP:
        tws = order.pickup.time_windows
    else:
        tws = order.delivery.time_windows
    return [(w.start, w.end) for w in tws]


def _insert_all(
    live: LivePlan, order_ids: Sequence[str], *, first: set[str] | None = None
) -> bool:
    """Cheapest feasible insertion, most important and tightest first.

    Parcels on board go first, then ``first`` (a broken-down van's parcels);
    a shipment goes in with both ends on one van (:func:`insert_shipment`).
    """
    first = first or set()

    def key(oid: str) -> tuple[bool, bool, int, int, str]:
        order = live.orders[oid]
        width = 10**9
        if isinstance(order, Job) and order.time_windows:
            width = sum(w.end - w.start for w in order.time_windows)
        elif isinstance(order, Shipment) and order.delivery.time_windows:
            width = sum(w.end - w.start for w in order.delivery.time_windows)
        return (not _on_board(order), oid not in first, -order.priority, width, oid)

    inserted = False
    for oid in sorted(order_ids, key=key):
        order = live.orders[oid]
        if isinstance(order, Job) and live.insert(order) is not None:
            inserted = True
            continue
        if isinstance(order, Shipment) and insert_shipment(live, order) is not None:
            inserted = True
            continue
        reason, detail = why_not(live, order)
        live.leave_out(order, _unassigned(live, order, reason, detail))
    return inserted


def why_not(live: LivePlan, order: Order) -> tuple[Reason, str]:
    """Why an order found no place: no vehicle could ever carry it, or no room."""
    if _on_board(order):
        assert order.depot is not None
        return (
            Reason.DEPOT,
            f"on board vehicle {order.depot[len(POSITION_DEPOT) :]}, which has "
            "no feasible position left for it today: it goes back to the depot",
        )
    if not live.vehicles:
        return Reason.DEPOT, "no van left today"
    causes = [incompatibility(v, order) for v in live.vehicles]
    if causes and None not in causes:
        found = {c for c in causes if c is not None}
        if found == {"night"}:
            return Reason.NIGHT_SHIFT, "night order and no night van left today"
        if found == {"day"}:
            return Reason.DAY_SHIFT, "day order and only night vans left today"
        if found == {"depot"}:
            return Reason.DEPOT, "no van still at its depot can load it"
        skills = sorted(c for c in found if c.startswith("skills:"))
        if skills:
            return Reason.SKILLS, "no van left has skill " + skills[0].split(":", 1)[1]
        return Reason.DEPOT, "no van left today can carry it"
    if not any(
        all(q <= c for q, c in zip(order.demand, v.capacity, strict=True))
        for v in live.vehicles
    ):
        return Reason.CAPACITY, "larger than the room left in any van"
    return (
        Reason.DROPPED,
        "no feasible position on the remaining routes (windows, shifts, loads)",
    )


def _engine_problem(live: LivePlan, rest: RestOfDay, protected: set[str]) -> Problem:
    """The rest of the day as the engine sees it.

    A van with a committed stop starts there, when it leaves it; that stop is
    not the engine's to move. Orders the current plan serves are protected
    by a prohibitive drop penalty.
    """
    problem = live.problem
    depots = list(problem.depots)
    vehicles = []
    carried: list[Job] = []
    committed = set(rest.committed.values())
    for v, vehicle in enumerate(live.vehicles):
        oid = rest.committed.get(vehicle.id)
        route = live.routes[v]
        if oid is None or route is None:
            vehicles.append(vehicle)
            continue
        step = next(s for s in route.steps if s.id == oid)
        assert step.location is not None
        depot_id = POSITION_DEPOT + vehicle.id
        depots = [d for d in depots if d.id != depot_id]
        depots.append(Depot(id=depot_id, location=step.location))
        before = route.steps[: route.steps.index(step)]
        taken = {s.id for s in before if s.type == StepType.BREAK}
        update: dict[str, object] = {
            "start": depot_id,
            "shift": TimeWindow(
                start=min(step.departure, vehicle.shift.end), end=vehicle.shift.end
            ),
            "breaks": tuple(b for b in vehicle.breaks if b.id not in taken),
        }
        order = live.orders[oid]
        if isinstance(order, Shipment):
            # collected at the committed stop: on board from there
            carried.append(on_board_delivery(order, depot_id))
        if isinstance(order, Job) and any(order.collected):
            update["capacity"] = tuple(
                max(0, c - q)
                for c, q in zip(vehicle.capacity, order.collected, strict=True)
            )
        if vehicle.max_orders is not None:
            update["max_orders"] = max(1, vehicle.max_orders - 1)
        vehicles.append(vehicle.model_copy(update=update))

    guard = _guard(protected, problem.locale.amount(PROTECTED_PENALTY_HOURS))
    return problem.model_copy(
        update={
            "depots": tuple(depots),
            "vehicles": tuple(vehicles),
            "jobs": tuple(
                guard(j)
                for j in (*problem.jobs, *carried)
                if j.id not in committed or j in carried
            ),
            "shipments": tuple(
                guard(s) for s in problem.shipments if s.id not in committed
            ),
        }
    )


def _guard(protected: set[str], penalty: float) -> Callable[[Order], Order]:
    """Orders in ``protected`` carry a prohibitive drop ``penalty``."""

    def guard(order: Order) -> Order:
        if order.id in protected:
            return order.model_copy(update={"penalty": penalty})
        return order

    return guard


def _search(
    rest: RestOfDay,
    live: LivePlan,
    travel: TravelModel,
    params: SolveParams,
    deadline: float,
) -> Plan | None:
    """OR-Tools warm-started from the current routes.

    ``None`` when its plan fails the checker or drops an order the current
    plan serves.
    """
    from routing.solver.ortools_adapter import solve_ortools

    served = set(live.where())
    engine_problem = _engine_problem(live, rest, served)
    data = build_data(engine_problem, travel)
    ids, impossible = precheck(data)
    initial: list[list[int]] = []
    for vehicle in engine_problem.vehicles:
        current = live.visits[live.vehicle_index(vehicle.id)]
        skip = rest.committed.get(vehicle.id)
        initial.append(
            [
                data.order_nodes[o][e]
                for o, e in current
                if o and o != skip and o in data.order_nodes
            ]
        )
    result = solve_ortools(data, ids, params, initial=initial, deadline=deadline)
    if not result.found:  # no solution: the current plan stands
        return None
    visits = _searched_visits(result.sequences, data, rest, live)
    left: dict[str, Unassigned] = {}
    for u in impossible:
        left[u.id] = live.unassigned.get(u.id) or _unassigned(
            live, live.orders[u.id], u.reason, u.detail
        )
    for oid in result.dropped:
        left[oid] = live.unassigned.get(oid) or _unassigned(
            live, live.orders[oid], *why_not(live, live.orders[oid])
        )
    searched = LivePlan.from_visits(
        live.problem,
        travel,
        visits,
        left.values(),
        objective=live.objective,
        pinned=rest.on_road,
    )
    plan = searched.plan(engine="search:ortools")
    if not served <= set(searched.where()):
        return None
    if not check(live.problem, plan, travel).ok:
        return None
    return plan


def _searched_visits(
    sequences: Sequence[Sequence[Visit]],
    data: ProblemData,
    rest: RestOfDay,
    live: LivePlan,
) -> dict[str, list[VisitKey]]:
    """The search's sequences as visit keys, each behind its committed stop."""
    visits: dict[str, list[VisitKey]] = {}
    for v, seq in enumerate(sequences):
        vid = data.problem.vehicles[v].id
        live_v = live.vehicle_index(vid)
        keys: list[VisitKey] = []
        if vid in rest.committed:
            keys += live.visits[live_v][: rest.fixed.get(vid, 1) - 1]
            keys.append((rest.committed[vid], 0))
        live_breaks = [b.id for b in live.vehicles[live_v].breaks]
        for n in seq:
            if isinstance(n, BreakVisit):
                bid = data.problem.vehicles[v].breaks[n.index].id
                keys.append(("", live_breaks.index(bid)))
                continue
            node = data.nodes[n]
            assert node.order is not None
            # a committed shipment's delivery was a job on board in the search
            shipment = isinstance(live.orders[node.order], Shipment)
            end = node.kind == "delivery" or (node.kind == "job" and shipment)
            keys.append((node.order, 1 if end else 0))
        visits[vid] = keys
    return visits


def stability_cost(
    plan: Plan,
    before: Mapping[str, tuple[str, int]],
    stability: StabilityCost,
    locale: Locale = DEFAULT_LOCALE,
) -> float:
    """What a plan's changes cost against the plan in execution, in
    ``locale``'s currency (the plan's problem's)."""
    reassign = stability.reassign_in(locale)
    per_minute = stability.eta_per_minute_in(locale)
    total = 0.0
    for route in plan.routes:
        for s in route.steps:
            if s.type not in (StepType.JOB, StepType.DELIVERY) or s.id is None:
                continue
            if s.id not in before:
                continue
            vehicle, promised = before[s.id]
            if vehicle != route.vehicle:
                total += reassign
            shift = abs(s.service_start - promised) - stability.eta_tolerance
            if shift > 0:
                total += per_minute * shift / 60.0
    return round(total, max(2, locale.minor_units))


def _value(plan: Plan, by_cost: bool) -> tuple[int, float]:
    if by_cost:
        return (0, plan.summary.cost)
    return (plan.summary.unassigned, float(plan.summary.distance))


def _better(
    candidate: Plan,
    current: Plan,
    rest: RestOfDay,
    stability: StabilityCost,
    by_cost: bool,
) -> bool:
    n_new, v_new = _value(candidate, by_cost)
    n_old, v_old = _value(current, by_cost)
    if n_new != n_old:
        return n_new < n_old
    locale = rest.problem.locale
    total_new = v_new + stability_cost(candidate, rest.before, stability, locale)
    total_old = v_old + stability_cost(current, rest.before, stability, locale)
    return total_new < total_old - stability.min_gain * abs(v_old)


def _changes(
    rest: RestOfDay,
    plan: Plan,
    stability: StabilityCost,
    late: Sequence[str],
) -> Changes:
    moved: list[Move] = []
    inserted: list[Move] = []
    shifts: list[EtaShift] = []
    served: set[str] = set()
    for route in plan.routes:
        for s in route.steps:
            if s.type not in (StepType.JOB, StepType.DELIVERY) or s.id is None:
                continue
            served.add(s.id)
            if s.id not in rest.before:
                inserted.append(Move(order=s.id, before=None, after=route.vehicle))
                continue
            vehicle, promised = rest.before[s.id]
            if vehicle != route.vehicle:
                moved.append(Move(order=s.id, before=vehicle, after=route.vehicle))
            if abs(s.service_start - promised) >= 60:
                shifts.append(
                    EtaShift(
                        order=s.id,
                        vehicle=route.vehicle,
                        before=promised,
                        after=s.service_start,
                    )
                )
    dropped = [
        Dropped(order=u.id, reason=u.reason, detail=u.detail)
        for u in plan.unassigned
        if u.id not in rest.left_before
    ]
    left = {u.id: u for u in plan.unassigned}
    carrier = {
        s.id: r.vehicle
        for r in plan.routes
        for s in r.steps
        if s.type in (StepType.JOB, StepType.DELIVERY) and s.id is not None
    }
    rescued = []
    for oid, (vid, how) in rest.rescued.items():
        u = left.get(oid)
        rescued.append(
            Rescued(
                order=oid,
                vehicle=vid,
                how=how,
                by=carrier.get(oid),
                reason=None if u is None else u.reason,
                detail="" if u is None else u.detail,
            )
        )
    return Changes(
        moved=tuple(moved),
        inserted=tuple(inserted),
        dropped=tuple(dropped),
        cancelled=tuple(rest.cancelled),
        completed=tuple(rest.completed),
        eta_shifts=tuple(shifts),
        late_committed=tuple(late),
        stability_cost=stability_cost(
            plan, rest.before, stability, rest.problem.locale
        ),
        rescued=tuple(rescued),
        fixed=_fixed(rest),
    )


class RescueOption(FrozenModel):
    """One rescue choice for the broken-down vans, planned: what it costs.

    ``cost`` is the rest-of-day plan's cost (routes plus the drop penalties
    of orders left out), ``stability_cost`` what its changes cost; ``parcels``
    the parcels on board the broken-down vans, ``delivered`` how many of them
    the plan delivers today; ``dropped`` every order the plan leaves out that
    the plan in execution served, with the reason.
    """

    rescue: RescueMode
    cost: float
    stability_cost: float
    served: int
    late: int
    parcels: int
    delivered: int
    dropped: tuple[Dropped, ...]
    source: str
    result: Reoptimisation


def compare_rescue(
    problem: Problem,
    state: ExecutionState,
    travel: TravelModel,
    *,
    params: SolveParams | None = None,
    stability: StabilityCost | None = None,
    search: bool | None = None,
) -> tuple[RescueOption, ...]:
    """Plan the rest of the day once per rescue choice (``transfer``, then
    ``depot``) for every unavailable van, and say what each costs.

    Raises
    ------
    InputError
        When the state does not fit the problem, or no van is unavailable.
    """
    if not state.unavailable:
        raise InputError("state", ["unavailable: no broken-down van to rescue"])
    options = []
    for how in RESCUE_MODES:
        chosen = state.model_copy(
            update={"rescue": dict.fromkeys(state.unavailable, how)}
        )
        result = reoptimise(
            problem, chosen, travel, params=params, stability=stability, search=search
        )
        summary = result.plan.summary
        rescued = result.changes.rescued
        options.append(
            RescueOption(
                rescue=how,
                cost=summary.cost,
                stability_cost=result.changes.stability_cost,
                served=summary.served,
                late=summary.late,
                parcels=len(rescued),
                delivered=sum(1 for r in rescued if r.by is not None),
                dropped=result.changes.dropped,
                source=result.source,
                result=result,
            )
        )
    return tuple(options)


def reoptimise_in_background(
    problem: Problem,
    state: ExecutionState,
    travel: TravelModel,
    *,
    params: SolveParams | None = None,
    stability: StabilityCost | None = None,
) -> Future[Reoptimisation]:
    """Start :func:`reoptimise` in another process; its future result."""
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("fork")
    )
    future = pool.submit(
        reoptimise, problem, state, travel, params=params, stability=stability
    )
    pool.shutdown(wait=False)
    return future


# -- urgent orders ---------------------------------------------------------------------


def insert_urgent(
    plan: Plan,
    problem: Problem,
    order: Job,
    travel: TravelModel,
    *,
    fixed: Mapping[str, int] | None = None,
    objective: str = "cost",
    neighbours: int | None = 200,
) -> UrgentInsertion:
    """Insert one order now by cheapest feasible insertion (no solve).

    Parameters
    ----------
    plan, problem
        The current plan and its problem; during the day, the rest-of-day
        pair of the last :func:`reoptimise` (its routes start where the vans
        are).
    order
        The new job.
    travel
        Travel model.
    fixed
        Leading visits per vehicle that nothing may precede (committed
        stops; :attr:`Reoptimisation.committed` gives one each).
    objective
        ``"cost"`` or ``"distance"``.
    neighbours
        Stops around the order whose neighbouring positions are tried
        (``None``: every stop of the day).

    Returns
    -------
    UrgentInsertion
        The plan with the order on a route, or listed as unassigned with the
        reason.

    Raises
    ------
    InputError
        When the order does not fit the problem (id taken, unknown depot or
        station, wrong demand dimensions).
    """
    t0 = time.perf_counter()
    errors = _order_errors(problem, order)
    if errors:
        raise InputError("order", errors)
    live = LivePlan.from_plan(
        problem,
        plan,
        travel,
        fixed=fixed,
        objective="distance" if objective == "distance" else "cost",
        neighbours=neighbours,
    )
    vehicle, eta, cost = _place(live, order)
    seconds = time.perf_counter() - t0
    return UrgentInsertion(
        problem=live.problem,
        plan=live.plan(engine="insertion", seconds=seconds),
        vehicle=vehicle,
        eta=eta,
        marginal_cost=cost,
        seconds=round(seconds, 4),
    )


def _place(live: LivePlan, order: Job) -> tuple[str | None, int | None, float | None]:
    """Insert ``order`` where it costs least: its vehicle, ETA and marginal
    cost; or leave it out with the reason (three ``None``)."""
    ins = live.insert(order)
    if ins is None:
        reason, detail = why_not(live, order)
        live.leave_out(order, _unassigned(live, order, reason, detail))
        return None, None, None
    route = live.routes[ins.vehicle]
    assert route is not None
    eta = next(s.service_start for s in route.steps if s.id == order.id)
    return live.vehicles[ins.vehicle].id, eta, ins.cost


def _order_errors(problem: Problem, order: Job) -> list[str]:
    errors = []
    if any(o.id == order.id for o in problem.orders):
        errors.append(f"id: {order.id!r} is already an order")
    if len(order.demand) != problem.n_dims:
        errors.append(f"demand: needs {problem.n_dims} dimensions")
    if order.depot is not None and order.depot not in {d.id for d in problem.depots}:
        errors.append(f"depot: unknown depot id {order.depot!r}")
    if order.station is not None and order.station not in {
        s.id for s in problem.stations
    }:
        errors.append(f"station: unknown station id {order.station!r}")
    if problem.matrices is not None and (
        order.location is not None and order.location.index is None
    ):
        errors.append("location.index: required when matrices are given")
    return errors


def served_orders(plan: Plan) -> set[str]:
    """Ids of the orders a plan serves."""
    return {
        s.id
        for r in plan.routes
        for s in r.steps
        if s.type in (StepType.JOB, StepType.DELIVERY) and s.id is not None
    }


def routes_by_vehicle(plan: Plan) -> dict[str, Route]:
    """A plan's routes by vehicle id."""
    return {r.vehicle: r for r in plan.routes}
