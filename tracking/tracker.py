"""Ingest of tracking events into order statuses and van states.

:meth:`Tracker.ingest` is **idempotent**: an event whose id was seen before
changes nothing and is reported as a duplicate (the same id with other
content is rejected). It is **tolerant of order**: within a batch events are
applied by time; across batches an event older than what is already known
never moves anything backwards. A late ping does not move a van; a late
``stop_departed`` for an order that is already delivered changes nothing
(reported as *stale*), but if it reports a change that was only *implied*
so far (the order jumped from ``out_for_delivery`` to ``delivered``), it
gives that change its real time and cause.

Vehicle events move the van's orders forward along the main chain:
``shift_start`` dispatches the planned orders (as ``order_dispatched`` does
for one order), leaving the depot puts them
out for delivery, and the stop after the one just left becomes
``arriving``. Order events (``delivered``, ``failed_attempt``) move their
order to the reported state through any skipped states. Operator events
(``attempt_resolved``, ``order_cancelled``) follow the transition table
strictly; an invalid one is rejected with the current and attempted state.
"""

from __future__ import annotations

from collections.abc import Iterable

from routing.base import FrozenModel
from routing.plan import Plan
from tracking.events import (
    AttemptResolved,
    Delivered,
    Event,
    FailedAttempt,
    OrderCancelled,
    OrderCreated,
    OrderDispatched,
    OrderPlanned,
    Position,
    SensorReading,
    ShiftEnded,
    ShiftStarted,
    StopArrived,
    StopDeparted,
    event_sort_key,
)
from tracking.sensors import ON_BOARD, SensorWatch
from tracking.status import (
    MAIN_CHAIN,
    OFF_PLAN,
    InvalidTransition,
    OrderState,
    OrderStatus,
)
from tracking.store import MemoryStore, Store, VehicleState

__all__ = ["IngestResult", "Rejection", "Tracker"]


class Rejection(FrozenModel):
    """An event that was not accepted, and why."""

    event_id: str
    reason: str


class IngestResult(FrozenModel):
    """What one :meth:`Tracker.ingest` call did with each event.

    ``stale`` lists accepted events that changed nothing because newer
    information was already known (a late ping, a late stop report).
    ``dead_lettered`` lists events the storage could not hold, kept aside
    with the error instead (the service's dead letters; never set by the
    tracker itself).
    """

    accepted: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    rejected: tuple[Rejection, ...] = ()
    stale: tuple[str, ...] = ()
    dead_lettered: tuple[str, ...] = ()

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            accepted=self.accepted + other.accepted,
            duplicates=self.duplicates + other.duplicates,
            rejected=self.rejected + other.rejected,
            stale=self.stale + other.stale,
            dead_lettered=self.dead_lettered + other.dead_lettered,
        )


class _Stale(Exception):
    """The event is older than what it would change."""


class Tracker:
    """Order statuses and van states, kept from events.

    Parameters
    ----------
    store
        Where events, statuses, vans and routes live (default: a new
        :class:`~tracking.store.MemoryStore`).
    namespace
        Separates the exception ids of operating days (the service passes
        the day).
    """

    def __init__(self, store: Store | None = None, *, namespace: str = "") -> None:
        self.store: Store = store if store is not None else MemoryStore()
        #: Sensor readings, excursions and their exceptions (tracking.sensors).
        self.sensors = SensorWatch(self.store, namespace)

    # -- queries -----------------------------------------------------------

    def status(self, order_id: str) -> OrderStatus | None:
        """The order's status and history, if known."""
        return self.store.order(order_id)

    def vehicle(self, vehicle_id: str) -> VehicleState | None:
        """The van's state, if known."""
        return self.store.vehicle(vehicle_id)

    def events(
        self, *, vehicle: str | None = None, until: int | None = None
    ) -> list[Event]:
        """Accepted events in time order (optionally one van's, up to ``until``).

        A van's events include those about the orders on its route.
        """
        if vehicle is None:
            return self.store.events(until=until)
        return self.store.events(
            vehicle=vehicle, order_ids=self.store.route(vehicle), until=until
        )

    # -- ingest ------------------------------------------------------------

    def register_plan(
        self, plan: Plan, *, at: int, plan_id: str = "plan"
    ) -> IngestResult:
        """Create (if new) and plan every routed order of ``plan``.

        Event ids are ``{plan_id}:created:{order}`` and
        ``{plan_id}:planned:{order}``, so registering the same plan twice
        changes nothing. Orders in an :data:`~tracking.status.OFF_PLAN`
        state (cancelled, delivered, a failed attempt not resolved yet) are
        left as they are: a plan that still routes one does not move it.
        """
        events: list[Event] = []
        self.store.prefetch(
            [
                OrderPlanned(
                    id=f"{plan_id}:planned:{order_id}",
                    at=at,
                    order_id=order_id,
                    vehicle=route.vehicle,
                    position=k,
                )
                for route in plan.routes
                for k, order_id in enumerate(route.order_ids)
            ]
        )
        for route in plan.routes:
            for k, order_id in enumerate(route.order_ids):
                status = self.store.order(order_id)
                if status is not None and status.state in OFF_PLAN:
                    continue
                if status is None:
                    events.append(
                        OrderCreated(
                            id=f"{plan_id}:created:{order_id}", at=at, order_id=order_id
                        )
                    )
                events.append(
                    OrderPlanned(
                        id=f"{plan_id}:planned:{order_id}",
                        at=at,
                        order_id=order_id,
                        vehicle=route.vehicle,
                        position=k,
                    )
                )
        return self.ingest(events)

    def ingest(self, events: Iterable[Event]) -> IngestResult:
        """Apply a batch of events.

        Parameters
        ----------
        events
            Events in any order; they are applied by time (ties by id).

        Returns
        -------
        IngestResult
            Accepted, duplicate, rejected (with reasons) and stale event ids.
        """
        accepted: list[str] = []
        duplicates: list[str] = []
        rejected: list[Rejection] = []
        stale: list[str] = []
        seen: dict[str, Event] = {}
        batch = sorted(events, key=event_sort_key)
        self.store.prefetch(batch)
        for event in batch:
            known = self.store.event(event.id) or seen.get(event.id)
            if known is not None:
                if known == event:
                    duplicates.append(event.id)
                else:
                    rejected.append(
                        Rejection(
                            event_id=event.id,
                            reason=f"event id {event.id} was already used "
                            "for a different event",
                        )
                    )
                continue
            try:
                changed = self._apply(event)
            except (InvalidTransition, ValueError) as exc:
                rejected.append(Rejection(event_id=event.id, reason=str(exc)))
                continue
            seen[event.id] = event
            self.store.add_event(event)
            accepted.append(event.id)
            if not changed:
                stale.append(event.id)
        return IngestResult(
            accepted=tuple(accepted),
            duplicates=tuple(duplicates),
            rejected=tuple(rejected),
            stale=tuple(stale),
        )

    # -- application -------------------------------------------------------

    def _apply(self, event: Event) -> bool:
        """Apply one new event; ``False`` when it was stale.

        An order that leaves its van (delivered, failed, cancelled) ends its
        open sensor excursions there.
        """
        order_id: str | None = getattr(event, "order_id", None)
        aboard = False
        if order_id is not None and not isinstance(event, SensorReading):
            before = self.store.order(order_id)
            aboard = before is not None and before.state in ON_BOARD
        changed = self._apply_event(event)
        if aboard and order_id is not None:
            after = self.store.order(order_id)
            if after is not None and after.state not in ON_BOARD:
                self.sensors.left(order_id, event.at)
        return changed

    def _apply_event(self, event: Event) -> bool:
        if isinstance(event, OrderCreated):
            if self.store.order(event.order_id) is not None:
                raise ValueError(f"order {event.order_id} already exists")
            self.store.put_order(
                OrderStatus.new(
                    event.order_id,
                    at=event.at,
                    cause="order created",
                    event_id=event.id,
                )
            )
            return True
        if isinstance(event, OrderPlanned):
            return self._planned(event)
        if isinstance(event, OrderDispatched):
            return self._dispatched(event)
        if isinstance(event, ShiftStarted | ShiftEnded):
            return self._shift(event)
        if isinstance(event, Position):
            return self._position(event)
        if isinstance(event, StopArrived | StopDeparted):
            return self._stop(event)
        if isinstance(event, Delivered):
            return self._order_event(
                event, OrderState.DELIVERED, self._delivered_cause(event)
            )
        if isinstance(event, FailedAttempt):
            return self._order_event(
                event,
                OrderState.FAILED_ATTEMPT,
                f"failed attempt: {event.reason.value}",
            )
        if isinstance(event, SensorReading):
            return self.sensors.reading(event)
        if isinstance(event, AttemptResolved):
            cause = f"attempt resolved: {event.outcome}"
            if event.station:
                cause += f" ({event.station})"
            return self._command(event, OrderState(event.outcome), cause)
        return self._command(
            event,
            OrderState.CANCELLED,
            f"cancelled: {event.reason}" if event.reason else "cancelled",
        )

    @staticmethod
    def _delivered_cause(event: Delivered) -> str:
        proof = event.proof
        if proof.recipient is not None:
            return f"delivered to {proof.recipient}"
        return f"delivered, photo {proof.photo}"

    def _known(self, order_id: str) -> OrderStatus:
        status = self.store.order(order_id)
        if status is None:
            raise ValueError(f"unknown order {order_id}")
        return status

    def _planned(self, event: OrderPlanned) -> bool:
        """Put the order on a route; planned unless it is already further on.

        A re-optimised plan moves dispatched orders (or ones out for
        delivery) to their new route and position without lowering them.
        """
        status = self._known(event.order_id)
        rank = status.rank()
        further = rank is not None and rank > _rank(OrderState.PLANNED)
        if status.state is not OrderState.PLANNED and not further:
            status = status.advance(
                OrderState.PLANNED,
                at=event.at,
                cause=f"planned on {event.vehicle} as stop {event.position + 1}",
                event_id=event.id,
            )
        self.store.assign(event.order_id, event.vehicle, event.position)
        self.store.put_order(status.model_copy(update={"vehicle": event.vehicle}))
        return True

    def _dispatched(self, event: OrderDispatched) -> bool:
        """Planned -> dispatched; stale when the order is already further on.

        Unlike ``shift_start`` it follows the table strictly below
        ``dispatched``: an order that was never planned cannot be released.
        """
        status = self._known(event.order_id)
        rank = status.rank()
        if rank is not None and rank >= _rank(OrderState.DISPATCHED):
            return False
        cause = "plan released to " + (event.vehicle or status.vehicle or "its van")
        try:
            moved = status.advance(
                OrderState.DISPATCHED, at=event.at, cause=cause, event_id=event.id
            )
        except InvalidTransition:
            if event.at < status.updated_at:
                return False
            raise
        self.store.put_order(moved)
        return True

    def _vehicle(self, vehicle_id: str) -> VehicleState:
        return self.store.vehicle(vehicle_id) or VehicleState(vehicle=vehicle_id)

    def _shift(self, event: ShiftStarted | ShiftEnded) -> bool:
        state = self._vehicle(event.vehicle)
        if isinstance(event, ShiftEnded):
            newer = state.shift_end is None or event.at >= state.shift_end
            if newer:
                self.store.put_vehicle(
                    state.model_copy(update={"on_shift": False, "shift_end": event.at})
                )
            return newer
        update: dict[str, object] = {
            "shift_start": event.at
            if state.shift_start is None
            else min(state.shift_start, event.at)
        }
        if state.shift_end is None or event.at > state.shift_end:
            update["on_shift"] = True
        self.store.put_vehicle(state.model_copy(update=update))
        changed = self._advance_route(
            event.vehicle,
            OrderState.DISPATCHED,
            at=event.at,
            cause=f"shift of {event.vehicle} started",
            event_id=event.id,
        )
        return changed or state.shift_start is None

    def _position(self, event: Position) -> bool:
        state = self._vehicle(event.vehicle)
        if state.position_at is not None and event.at <= state.position_at:
            return False
        self.store.put_vehicle(
            state.model_copy(
                update={"lat": event.lat, "lon": event.lon, "position_at": event.at}
            )
        )
        return True

    def _stop(self, event: StopArrived | StopDeparted) -> bool:
        if event.order_id is not None:
            self._known(event.order_id)
        state = self._vehicle(event.vehicle)
        kind = "arrived" if isinstance(event, StopArrived) else "departed"
        newest = state.stop_at is None or event.at >= state.stop_at
        if newest:
            self.store.put_vehicle(
                state.model_copy(
                    update={
                        "stop": event.order_id,
                        "stop_event": kind,
                        "stop_at": event.at,
                    }
                )
            )
        route = self.store.route(event.vehicle)
        changed = False
        if isinstance(event, StopDeparted) and event.order_id is None:
            changed |= self._advance_route(
                event.vehicle,
                OrderState.OUT_FOR_DELIVERY,
                at=event.at,
                cause=f"{event.vehicle} left the depot",
                event_id=event.id,
            )
            following = self._next_open(route, 0)
        elif isinstance(event, StopDeparted):
            assert event.order_id is not None
            position = route.index(event.order_id) + 1 if event.order_id in route else 0
            following = self._next_open(route, position)
        else:
            following = event.order_id
        if following is not None:
            changed |= self._move(
                following,
                OrderState.ARRIVING,
                at=event.at,
                cause=(
                    f"{event.vehicle} at the stop"
                    if isinstance(event, StopArrived)
                    else f"{event.vehicle} on the way, next stop"
                ),
                event_id=event.id,
                strict=False,
            )
        return changed or newest

    def _next_open(self, route: tuple[str, ...], start: int) -> str | None:
        """The first order from ``start`` on that is still on the main chain.

        Cancelled or rescheduled orders are skipped; a delivered one is not,
        so that a late report can explain its implied ``arriving``.
        """
        for order_id in route[start:]:
            status = self.store.order(order_id)
            if status is not None and status.rank() is not None:
                return order_id
        return None

    def _advance_route(
        self, vehicle: str, target: OrderState, *, at: int, cause: str, event_id: str
    ) -> bool:
        changed = False
        for order_id in self.store.route(vehicle):
            changed |= self._move(
                order_id, target, at=at, cause=cause, event_id=event_id, strict=False
            )
        return changed

    def _move(
        self,
        order_id: str,
        target: OrderState,
        *,
        at: int,
        cause: str,
        event_id: str,
        strict: bool,
    ) -> bool:
        """Move one order forward along the chain; ``False`` if nothing changed.

        Raises
        ------
        InvalidTransition
            When ``strict`` and the order cannot reach ``target`` and the event
            is not older than the order's last change.
        """
        status = self._known(order_id)
        rank, goal = status.rank(), _rank(target)
        if rank is None and not strict:
            return False
        if rank is not None and rank >= goal:
            explained = status.explain(target, at=at, cause=cause, event_id=event_id)
            if explained is not None:
                self.store.put_order(explained)
                return True
            return False
        try:
            moved = status.reach(target, at=at, cause=cause, event_id=event_id)
        except InvalidTransition:
            if strict and at >= status.updated_at:
                raise
            return False
        self.store.put_order(moved)
        return True

    def _order_event(
        self, event: Delivered | FailedAttempt, target: OrderState, cause: str
    ) -> bool:
        status = self._known(event.order_id)
        rank = status.rank()
        if rank is not None and rank >= _rank(target) and event.at >= status.updated_at:
            raise InvalidTransition(event.order_id, status.state, target)
        return self._move(
            event.order_id,
            target,
            at=event.at,
            cause=cause,
            event_id=event.id,
            strict=True,
        )

    def _command(
        self, event: AttemptResolved | OrderCancelled, target: OrderState, cause: str
    ) -> bool:
        status = self._known(event.order_id)
        try:
            moved = status.advance(target, at=event.at, cause=cause, event_id=event.id)
        except InvalidTransition:
            if event.at < status.updated_at:
                return False
            raise
        self.store.put_order(moved)
        return True


def _rank(state: OrderState) -> int:
    if state is OrderState.FAILED_ATTEMPT:
        return len(MAIN_CHAIN) - 1
    return MAIN_CHAIN.index(state)
