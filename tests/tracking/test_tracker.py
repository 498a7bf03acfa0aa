"""Event ingest: statuses from events, idempotency, out-of-order tolerance."""

from __future__ import annotations

import random

import pytest

from routing.model import Problem
from routing.plan import Plan
from scenarios.execution import DayExecution
from tracking.events import (
    AttemptResolved,
    Delivered,
    Event,
    FailedAttempt,
    FailureReason,
    OrderCancelled,
    OrderCreated,
    OrderDispatched,
    OrderPlanned,
    Position,
    Proof,
    ShiftStarted,
    StopArrived,
    StopDeparted,
)
from tracking.status import MAIN_CHAIN, OrderState
from tracking.store import MemoryStore
from tracking.tracker import Tracker

S = OrderState


def _tracker(plan: Plan) -> Tracker:
    tracker = Tracker(MemoryStore())
    result = tracker.register_plan(plan, at=-7200)
    assert not result.rejected
    return tracker


def _snapshot(tracker: Tracker) -> tuple[object, ...]:
    """Every order's history and every van's state, for equality checks."""
    store = tracker.store
    orders = sorted((o.order_id, o.history) for o in store.orders())
    vans = [store.vehicle("v1")]
    return (orders, vans)


def _states(tracker: Tracker, plan: Plan) -> dict[str, OrderState]:
    out = {}
    for oid in plan.routes[0].order_ids:
        status = tracker.status(oid)
        assert status is not None
        out[oid] = status.state
    return out


def test_register_plan_creates_and_plans(line_day: tuple[Problem, Plan]) -> None:
    """Registering a plan creates its orders and puts them on the van's route."""
    _, plan = line_day
    tracker = _tracker(plan)
    assert set(_states(tracker, plan).values()) == {S.PLANNED}
    assert tracker.store.route("v1") == tuple(plan.routes[0].order_ids)
    again = tracker.register_plan(plan, at=-7200)
    assert not again.accepted
    assert len(again.duplicates) == len(plan.routes[0].order_ids)


def test_a_new_plan_moves_dispatched_orders_without_lowering_them(
    line_day: tuple[Problem, Plan],
) -> None:
    """Re-planning after dispatch: new van and position, still dispatched."""
    _, plan = line_day
    tracker = _tracker(plan)
    first, *rest = plan.routes[0].order_ids
    tracker.ingest(
        [OrderDispatched(id=f"d:{o}", at=-3600, order_id=o) for o in (first, *rest)]
    )
    moved = plan.routes[0].model_copy(
        update={"vehicle": "v2", "steps": plan.routes[0].steps}
    )
    result = tracker.register_plan(
        plan.model_copy(update={"routes": (moved,)}), at=-1800, plan_id="plan-2"
    )
    assert not result.rejected
    status = tracker.status(first)
    assert status is not None
    assert status.state is S.DISPATCHED and status.vehicle == "v2"
    assert tracker.store.route("v2") == tuple(plan.routes[0].order_ids)


def test_a_new_plan_leaves_off_plan_orders_alone(
    line_day: tuple[Problem, Plan],
) -> None:
    """Cancelled, delivered and failed orders a new plan still routes stay put."""
    _, plan = line_day
    tracker = _tracker(plan)
    cancelled, delivered, failed, *rest = plan.routes[0].order_ids
    result = tracker.ingest(
        [
            OrderCancelled(id="c", at=-3600, order_id=cancelled),
            OrderDispatched(id="d1", at=-3500, order_id=delivered),
            OrderDispatched(id="d2", at=-3500, order_id=failed),
            Delivered(
                id="ok",
                at=-3000,
                order_id=delivered,
                vehicle="v1",
                proof=Proof(recipient="Kim"),
            ),
            FailedAttempt(
                id="no",
                at=-3000,
                order_id=failed,
                vehicle="v1",
                reason=FailureReason.NOT_HOME,
            ),
        ]
    )
    assert not result.rejected, result.rejected
    before = {o: tracker.status(o) for o in (cancelled, delivered, failed)}
    moved = plan.routes[0].model_copy(update={"vehicle": "v2"})
    again = tracker.register_plan(
        plan.model_copy(update={"routes": (moved,)}), at=-1800, plan_id="plan-2"
    )
    assert not again.rejected
    assert {o: tracker.status(o) for o in before} == before
    states = {o: s.state for o, s in before.items() if s is not None}
    assert states == {
        cancelled: S.CANCELLED,
        delivered: S.DELIVERED,
        failed: S.FAILED_ATTEMPT,
    }
    for oid in rest:
        status = tracker.status(oid)
        assert status is not None and status.vehicle == "v2"


def test_executed_day_ends_delivered_or_failed(
    line_day: tuple[Problem, Plan], noisy_run: DayExecution
) -> None:
    """After a whole day every order is delivered or failed, as executed."""
    _, plan = line_day
    tracker = _tracker(plan)
    result = tracker.ingest(noisy_run.events)
    assert not result.rejected
    assert len(result.accepted) == len(noisy_run.events)
    for stop in noisy_run.stops:
        status = tracker.status(stop.order_id)
        assert status is not None
        expected = S.FAILED_ATTEMPT if stop.failed else S.DELIVERED
        assert status.state is expected


def test_history_follows_the_main_chain(
    line_day: tuple[Problem, Plan], exact_run: DayExecution
) -> None:
    """A delivered order's history is the main chain with event times."""
    _, plan = line_day
    tracker = _tracker(plan)
    tracker.ingest(exact_run.events)
    second = plan.routes[0].order_ids[1]
    status = tracker.status(second)
    assert status is not None
    assert [c.target for c in status.history] == list(MAIN_CHAIN)
    assert not any(c.implied for c in status.history)
    stop = next(s for s in exact_run.stops if s.order_id == second)
    first = next(s for s in exact_run.stops if s.position == 0)
    times = {c.target: c.at for c in status.history}
    assert times[S.ARRIVING] == first.departure  # the van left the stop before
    assert times[S.DELIVERED] == stop.departure


def test_same_batch_twice_changes_nothing(
    line_day: tuple[Problem, Plan], noisy_run: DayExecution
) -> None:
    """Ingesting the same events again reports duplicates and changes nothing."""
    _, plan = line_day
    tracker = _tracker(plan)
    tracker.ingest(noisy_run.events)
    before = _snapshot(tracker)
    again = tracker.ingest(noisy_run.events)
    assert not again.accepted and not again.rejected
    assert set(again.duplicates) == {e.id for e in noisy_run.events}
    assert _snapshot(tracker) == before


def test_duplicate_inside_one_batch(line_day: tuple[Problem, Plan]) -> None:
    """An event repeated within one batch is applied once."""
    _, plan = line_day
    tracker = _tracker(plan)
    event = ShiftStarted(id="s1", at=30_000, vehicle="v1")
    result = tracker.ingest([event, event])
    assert result.accepted == ("s1",)
    assert result.duplicates == ("s1",)


def test_reused_id_with_other_content_is_rejected(
    line_day: tuple[Problem, Plan],
) -> None:
    """The same id with different content is rejected, the first one kept."""
    _, plan = line_day
    tracker = _tracker(plan)
    tracker.ingest([Position(id="p1", at=100, vehicle="v1", lat=37.5, lon=127.0)])
    result = tracker.ingest(
        [Position(id="p1", at=200, vehicle="v1", lat=37.6, lon=127.1)]
    )
    assert [r.event_id for r in result.rejected] == ["p1"]
    assert "already used" in result.rejected[0].reason
    van = tracker.vehicle("v1")
    assert van is not None and van.position_at == 100


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_order_of_arrival_does_not_matter(
    line_day: tuple[Problem, Plan], noisy_run: DayExecution, seed: int
) -> None:
    """Events shuffled into small batches give the same states and van."""
    _, plan = line_day
    in_order = _tracker(plan)
    in_order.ingest(noisy_run.events)
    events = list(noisy_run.events)
    random.Random(seed).shuffle(events)
    shuffled = _tracker(plan)
    for k in range(0, len(events), 7):
        result = shuffled.ingest(events[k : k + 7])
        assert not result.rejected
    assert _states(shuffled, plan) == _states(in_order, plan)
    assert shuffled.vehicle("v1") == in_order.vehicle("v1")


def test_late_old_ping_never_moves_the_van_back(
    line_day: tuple[Problem, Plan],
) -> None:
    """A ping older than the newest known position is stale and ignored."""
    _, plan = line_day
    tracker = _tracker(plan)
    tracker.ingest([Position(id="new", at=2_000, vehicle="v1", lat=37.51, lon=127.05)])
    result = tracker.ingest(
        [Position(id="old", at=1_000, vehicle="v1", lat=37.50, lon=127.00)]
    )
    assert result.accepted == ("old",) and result.stale == ("old",)
    van = tracker.vehicle("v1")
    assert van is not None
    assert (van.lat, van.lon, van.position_at) == (37.51, 127.05, 2_000)


def test_late_stop_event_explains_an_implied_change(
    line_day: tuple[Problem, Plan],
) -> None:
    """A late report of leaving the previous stop gives 'arriving' its real time."""
    _, plan = line_day
    first, second = plan.routes[0].order_ids[:2]
    tracker = _tracker(plan)
    tracker.ingest(
        [
            ShiftStarted(id="s", at=35_000, vehicle="v1"),
            StopDeparted(id="d0", at=35_100, vehicle="v1"),
            Delivered(
                id="x2",
                at=36_600,
                vehicle="v1",
                order_id=second,
                proof=Proof(photo="p.jpg"),
            ),
        ]
    )
    status = tracker.status(second)
    assert status is not None and status.state is S.DELIVERED
    assert status.history[-2].implied and status.history[-2].at == 36_600
    tracker.ingest([StopDeparted(id="d1", at=36_300, vehicle="v1", order_id=first)])
    status = tracker.status(second)
    assert status is not None
    arriving = status.history[-2]
    assert arriving.target is S.ARRIVING
    assert (arriving.at, arriving.implied, arriving.event_id) == (36_300, False, "d1")
    assert status.state is S.DELIVERED


def test_cancelling_a_delivered_order_is_rejected(
    line_day: tuple[Problem, Plan], exact_run: DayExecution
) -> None:
    """An invalid operator change is rejected naming both states."""
    _, plan = line_day
    tracker = _tracker(plan)
    tracker.ingest(exact_run.events)
    oid = plan.routes[0].order_ids[0]
    result = tracker.ingest([OrderCancelled(id="c", at=50_000, order_id=oid)])
    assert [r.event_id for r in result.rejected] == ["c"]
    assert "from delivered to cancelled" in result.rejected[0].reason


def test_cancel_before_dispatch_then_shift_skips_it(
    line_day: tuple[Problem, Plan],
) -> None:
    """A cancelled order stays cancelled when its van's shift starts."""
    _, plan = line_day
    oid = plan.routes[0].order_ids[0]
    tracker = _tracker(plan)
    result = tracker.ingest(
        [
            OrderCancelled(id="c", at=30_000, order_id=oid, reason="customer"),
            ShiftStarted(id="s", at=35_000, vehicle="v1"),
        ]
    )
    assert not result.rejected
    states = _states(tracker, plan)
    assert states[oid] is S.CANCELLED
    assert {s for o, s in states.items() if o != oid} == {S.DISPATCHED}


def test_order_dispatched_releases_planned_orders(
    line_day: tuple[Problem, Plan],
) -> None:
    """order_dispatched moves a planned order on; later it is stale, and an
    order that was never planned cannot be released."""
    _, plan = line_day
    oid = plan.routes[0].order_ids[0]
    tracker = _tracker(plan)
    result = tracker.ingest(
        [
            OrderDispatched(id="d1", at=20_000, order_id=oid, vehicle="v1"),
            OrderCreated(id="n", at=20_000, order_id="new"),
            OrderDispatched(id="d2", at=20_001, order_id="new"),
        ]
    )
    assert result.accepted == ("d1", "n")
    assert "from created to dispatched" in result.rejected[0].reason
    status = tracker.status(oid)
    assert status is not None
    assert status.state is S.DISPATCHED
    assert status.history[-1].cause == "plan released to v1"
    again = tracker.ingest(
        [
            ShiftStarted(id="s", at=30_000, vehicle="v1"),
            OrderDispatched(id="d3", at=31_000, order_id=oid),
        ]
    )
    assert again.stale == ("d3",)
    assert tracker.status(oid) == status


def test_failed_attempt_resolved_and_delivered_next_day(
    line_day: tuple[Problem, Plan],
) -> None:
    """Failed, rescheduled, planned again and delivered: all in the history."""
    _, plan = line_day
    oid = plan.routes[0].order_ids[0]
    tracker = _tracker(plan)
    result = tracker.ingest(
        [
            ShiftStarted(id="s", at=35_000, vehicle="v1"),
            StopDeparted(id="d0", at=35_100, vehicle="v1"),
            StopArrived(id="a1", at=36_000, vehicle="v1", order_id=oid),
            FailedAttempt(
                id="f1",
                at=36_200,
                vehicle="v1",
                order_id=oid,
                reason=FailureReason.NOT_HOME,
            ),
            AttemptResolved(id="r1", at=40_000, order_id=oid, outcome="rescheduled"),
            OrderPlanned(id="p2", at=80_000, order_id=oid, vehicle="v2", position=0),
            Delivered(
                id="x2",
                at=120_000,
                vehicle="v2",
                order_id=oid,
                proof=Proof(recipient="Park"),
            ),
        ]
    )
    assert not result.rejected
    status = tracker.status(oid)
    assert status is not None
    targets = [c.target for c in status.history]
    assert targets[targets.index(S.FAILED_ATTEMPT) :] == [
        S.FAILED_ATTEMPT,
        S.RESCHEDULED,
        S.PLANNED,
        S.DISPATCHED,
        S.OUT_FOR_DELIVERY,
        S.ARRIVING,
        S.DELIVERED,
    ]
    assert status.vehicle == "v2"
    assert "not_home" in status.history[targets.index(S.FAILED_ATTEMPT)].cause


@pytest.mark.parametrize(
    "event",
    [
        AttemptResolved(id="r", at=50_000, order_id="o0", outcome="rescheduled"),
        Delivered(id="x", at=50_000, order_id="nope", proof=Proof(recipient="A")),
        StopArrived(id="a", at=50_000, vehicle="v1", order_id="nope"),
    ],
    ids=["resolve-unfailed", "unknown-order", "unknown-stop"],
)
def test_impossible_events_are_rejected(
    line_day: tuple[Problem, Plan], event: Event
) -> None:
    """Events about unknown orders or impossible changes are rejected with reasons."""
    _, plan = line_day
    tracker = _tracker(plan)
    result = tracker.ingest([event])
    assert [r.event_id for r in result.rejected] == [event.id]
    assert result.rejected[0].reason
    assert tracker.store.event(event.id) is None


def test_second_delivery_is_rejected(line_day: tuple[Problem, Plan]) -> None:
    """A later second 'delivered' for a delivered order is rejected."""
    _, plan = line_day
    oid = plan.routes[0].order_ids[0]
    tracker = _tracker(plan)
    first = Delivered(id="x1", at=40_000, order_id=oid, proof=Proof(recipient="A"))
    second = Delivered(id="x2", at=41_000, order_id=oid, proof=Proof(recipient="B"))
    result = tracker.ingest([first, second])
    assert result.accepted == ("x1",)
    assert "from delivered to delivered" in result.rejected[0].reason
