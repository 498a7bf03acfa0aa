"""The order lifecycle: states, the transition table and the status history.

An order moves along the main chain ``created -> planned -> dispatched ->
out_for_delivery -> arriving -> delivered``. At the door it may instead end
in ``failed_attempt``, which an operator resolves as ``rescheduled``,
``redirected_to_pickup_station`` or ``returned_to_depot``; those lead back
into planning (or to ``cancelled``). :data:`TRANSITIONS` is the whole table;
anything not in it is rejected with :class:`InvalidTransition`, which names
the current and the attempted state.

:class:`OrderStatus` keeps every change (:class:`StatusChange`) with its time,
cause and the event that caused it, not only the latest state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from pydantic import Field

from routing.base import FrozenModel

__all__ = [
    "MAIN_CHAIN",
    "OFF_PLAN",
    "TERMINAL",
    "TRANSITIONS",
    "InvalidTransition",
    "OrderState",
    "OrderStatus",
    "StatusChange",
    "can_transition",
]


class OrderState(StrEnum):
    """Where an order is in its life."""

    CREATED = "created"
    PLANNED = "planned"
    DISPATCHED = "dispatched"
    OUT_FOR_DELIVERY = "out_for_delivery"
    ARRIVING = "arriving"
    DELIVERED = "delivered"
    FAILED_ATTEMPT = "failed_attempt"
    RESCHEDULED = "rescheduled"
    REDIRECTED_TO_PICKUP_STATION = "redirected_to_pickup_station"
    RETURNED_TO_DEPOT = "returned_to_depot"
    CANCELLED = "cancelled"


S = OrderState

#: Every allowed ``from -> to`` change. ``failed_attempt`` must be resolved
#: before anything else happens to the order; ``delivered`` and
#: ``cancelled`` are final. A cancellation is possible until the van is on
#: its way to the door (then it is a failed attempt with reason ``refused``).
TRANSITIONS: Mapping[OrderState, frozenset[OrderState]] = MappingProxyType(
    {
        S.CREATED: frozenset({S.PLANNED, S.CANCELLED}),
        S.PLANNED: frozenset({S.DISPATCHED, S.CANCELLED}),
        S.DISPATCHED: frozenset({S.OUT_FOR_DELIVERY, S.CANCELLED}),
        S.OUT_FOR_DELIVERY: frozenset({S.ARRIVING, S.CANCELLED}),
        S.ARRIVING: frozenset({S.DELIVERED, S.FAILED_ATTEMPT}),
        S.DELIVERED: frozenset(),
        S.FAILED_ATTEMPT: frozenset(
            {S.RESCHEDULED, S.REDIRECTED_TO_PICKUP_STATION, S.RETURNED_TO_DEPOT}
        ),
        S.RESCHEDULED: frozenset({S.PLANNED, S.CANCELLED}),
        S.REDIRECTED_TO_PICKUP_STATION: frozenset({S.PLANNED, S.CANCELLED}),
        S.RETURNED_TO_DEPOT: frozenset({S.RESCHEDULED, S.CANCELLED}),
        S.CANCELLED: frozenset(),
    }
)

#: States nothing leaves.
TERMINAL: frozenset[OrderState] = frozenset(
    s for s, targets in TRANSITIONS.items() if not targets
)

#: States a plan leaves alone: the final ones, and a failed attempt (or a
#: parcel back at the depot) until an operator resolves it. A plan (or a
#: re-optimised one) never puts such an order back on a route.
OFF_PLAN: frozenset[OrderState] = TERMINAL | {
    S.FAILED_ATTEMPT,
    S.RETURNED_TO_DEPOT,
}

#: The happy path, in order; vehicle events move orders forward along it.
MAIN_CHAIN: tuple[OrderState, ...] = (
    S.CREATED,
    S.PLANNED,
    S.DISPATCHED,
    S.OUT_FOR_DELIVERY,
    S.ARRIVING,
    S.DELIVERED,
)


def can_transition(current: OrderState, target: OrderState) -> bool:
    """Whether the table allows ``current -> target``."""
    return target in TRANSITIONS[current]


class InvalidTransition(ValueError):
    """A change the transition table does not allow.

    Parameters
    ----------
    order_id
        The order concerned.
    current, attempted
        The order's state and the state it was asked to move to.
    """

    def __init__(
        self, order_id: str, current: OrderState, attempted: OrderState
    ) -> None:
        self.order_id = order_id
        self.current = current
        self.attempted = attempted
        allowed = ", ".join(sorted(t.value for t in TRANSITIONS[current])) or "none"
        super().__init__(
            f"order {order_id}: cannot go from {current.value} to "
            f"{attempted.value} (allowed from {current.value}: {allowed})"
        )


class StatusChange(FrozenModel):
    """One change of an order's state.

    ``at`` is in seconds since local midnight of the operating day (see
    :mod:`tracking.events`): ``day`` when given, else the order's current
    day (a change made before the order moved to another day keeps its own,
    see :meth:`OrderStatus.dated`). ``implied`` marks a change that no event reported
    directly but a later one proves (a ``delivered`` event for an order still
    ``out_for_delivery`` implies it was ``arriving``); a late event that
    reports it replaces the implied time and cause.
    """

    source: OrderState | None = Field(description="None for the first state")
    target: OrderState
    at: int
    cause: str
    event_id: str | None = None
    implied: bool = False
    day: dt.date | None = Field(
        default=None,
        description="the operating day ``at`` counts from (None: the order's day)",
    )


class OrderStatus(FrozenModel):
    """An order's current state and every change that led to it."""

    order_id: str
    history: tuple[StatusChange, ...] = Field(min_length=1)
    vehicle: str | None = None

    @classmethod
    def new(
        cls,
        order_id: str,
        *,
        at: int,
        cause: str = "order created",
        event_id: str | None = None,
    ) -> OrderStatus:
        """A freshly ``created`` order."""
        first = StatusChange(
            source=None,
            target=OrderState.CREATED,
            at=at,
            cause=cause,
            event_id=event_id,
        )
        return cls(order_id=order_id, history=(first,))

    @property
    def state(self) -> OrderState:
        """The current state."""
        return self.history[-1].target

    @property
    def updated_at(self) -> int:
        """Time of the latest change."""
        return self.history[-1].at

    def advance(
        self,
        target: OrderState,
        *,
        at: int,
        cause: str,
        event_id: str | None = None,
        implied: bool = False,
    ) -> OrderStatus:
        """The status after one change to ``target``.

        Raises
        ------
        InvalidTransition
            If the table does not allow ``state -> target``.
        """
        if not can_transition(self.state, target):
            raise InvalidTransition(self.order_id, self.state, target)
        change = StatusChange(
            source=self.state,
            target=target,
            at=at,
            cause=cause,
            event_id=event_id,
            implied=implied,
        )
        return self.model_copy(update={"history": (*self.history, change)})

    def reach(
        self, target: OrderState, *, at: int, cause: str, event_id: str | None = None
    ) -> OrderStatus:
        """Move forward along :data:`MAIN_CHAIN` to ``target``.

        Every state skipped on the way is recorded as an ``implied`` change
        at the same time; the last one is the reported change. From a
        resolved failure (``rescheduled``, ``redirected_to_pickup_station``)
        the chain restarts at ``planned``.

        Raises
        ------
        InvalidTransition
            If ``target`` is not ahead of the current state on the chain.
        """
        path = _path(self.state, target)
        if path is None:
            raise InvalidTransition(self.order_id, self.state, target)
        status = self
        for k, step in enumerate(path):
            last = k == len(path) - 1
            status = status.advance(
                step,
                at=at,
                cause=cause if last else f"implied by: {cause}",
                event_id=event_id,
                implied=not last,
            )
        return status

    def explain(
        self, target: OrderState, *, at: int, cause: str, event_id: str | None
    ) -> OrderStatus | None:
        """Replace an ``implied`` change to ``target`` by the event reporting it.

        A late event (older than the change it explains, not older than the
        change before it) gives the change its real time and cause. Returns
        ``None`` when there is no such implied change.
        """
        history = list(self.history)
        for k, change in enumerate(history):
            if change.target is not target or not change.implied:
                continue
            before = history[k - 1].at if k > 0 else at
            if before <= at <= change.at:
                history[k] = change.model_copy(
                    update={
                        "at": at,
                        "cause": cause,
                        "event_id": event_id,
                        "implied": False,
                    }
                )
                return self.model_copy(update={"history": tuple(history)})
        return None

    def dated(self, day: dt.date) -> OrderStatus:
        """The status with every change not dated yet dated ``day``: what an
        order keeps of ``day`` when it moves to another day."""
        history = tuple(
            c if c.day is not None else c.model_copy(update={"day": day})
            for c in self.history
        )
        return self.model_copy(update={"history": history})

    def rank(self) -> int | None:
        """Position on :data:`MAIN_CHAIN` (``failed_attempt`` counts as the
        end of the chain), or ``None`` for states off the chain."""
        if self.state is OrderState.FAILED_ATTEMPT:
            return len(MAIN_CHAIN) - 1
        if self.state in MAIN_CHAIN:
            return MAIN_CHAIN.index(self.state)
        return None


def _path(current: OrderState, target: OrderState) -> list[OrderState] | None:
    """States to pass through from ``current`` to ``target`` (``target`` last)."""
    if target is OrderState.FAILED_ATTEMPT:
        head = _path(current, OrderState.ARRIVING)
        if current is OrderState.ARRIVING:
            head = []
        return None if head is None else [*head, OrderState.FAILED_ATTEMPT]
    if target not in MAIN_CHAIN:
        return [target] if can_transition(current, target) else None
    if current in (
        OrderState.RESCHEDULED,
        OrderState.REDIRECTED_TO_PICKUP_STATION,
    ):
        rest = _path(OrderState.PLANNED, target) if target != S.PLANNED else []
        return None if rest is None else [OrderState.PLANNED, *rest]
    if current not in MAIN_CHAIN:
        return None
    i, j = MAIN_CHAIN.index(current), MAIN_CHAIN.index(target)
    if j <= i:
        return None
    return list(MAIN_CHAIN[i + 1 : j + 1])
