"""Live ETAs when "now" steps: one recompute per route, none on the request path.

Every ETA_REFRESH seconds the clock the live ETAs are asked for moves on for
every route at once. Reads of the new step are answered with the route's
ETAs of the step before (same plan version and route revision) while one
recompute runs; an accepted event of the route is still seen at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.db import tracking as rows
from api.services import tracking as service
from api.services.ingest import ingest_and_commit
from api.services.tracking import ETA_REFRESH, LiveEtas
from tests.api.tracking_fixtures import DAY, main_route, track_small_day
from tracking.events import Event, parse_events
from tracking.status import OrderStatus

#: Seconds a test waits for a thread it started before it fails.
WAIT = 30.0


class GatedEvents:
    """``route_events`` counting its calls, each held until ``release``."""

    def __init__(self) -> None:
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self._real = rows.route_events

    def __call__(self, session: Any, **kw: Any) -> list[Event]:
        self.calls += 1
        self.entered.set()
        assert self.release.wait(WAIT), "the test never released route_events"
        return self._real(session, **kw)


@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch) -> Iterator[GatedEvents]:
    gate = GatedEvents()
    monkeypatch.setattr(service.rows, "route_events", gate)
    yield gate
    gate.release.set()


def _order(app: FastAPI, order_id: str) -> tuple[Any, OrderStatus, rows.RouteRef]:
    with app.state.read_sessionmaker() as session:
        found = rows.tracked_order(session, order_id=order_id)
    assert found is not None
    return found


def _tracked(app: FastAPI) -> tuple[str, Sequence[str], int]:
    """The small day's main route, its van on its way: van, orders, a time."""
    _, plan = track_small_day(app)
    route = main_route(plan)
    start, van = route.steps[0].departure, route.vehicle
    events = parse_events(
        [
            {"type": "shift_start", "id": "s1", "at": start, "vehicle": van},
            {"type": "stop_departed", "id": "d0", "at": start + 60, "vehicle": van},
        ]
    )
    with app.state.sessionmaker() as session:
        ingest_and_commit(session, DAY, events)
    return van, route.order_ids, start + 600


def test_readers_at_a_clock_step_share_one_recompute(
    app: FastAPI, client: TestClient, gated: GatedEvents
) -> None:
    """Without a background thread: the first reader of the new step
    recomputes the route; readers meanwhile get the step before at once."""
    _, order_ids, t = _tracked(app)
    etas = LiveEtas()
    day, status, ref = _order(app, order_ids[0])
    with app.state.read_sessionmaker() as session:
        first = etas.eta(session, day, status, t, ref, live=True)
    assert first is not None and first.made_at == t
    assert gated.calls == 1

    gated.release.clear()
    gated.entered.clear()
    step = t + ETA_REFRESH
    got: dict[str, Any] = {}

    def read(name: str, order_id: str) -> None:
        d, s, r = _order(app, order_id)
        with app.state.read_sessionmaker() as session:
            got[name] = etas.eta(session, d, s, step, r, live=True)

    computing = threading.Thread(target=read, args=("computing", order_ids[0]))
    computing.start()
    assert gated.entered.wait(WAIT)
    # The route is being recomputed (held): other readers of the new step,
    # on any order of the route, are answered from the step before.
    readers = [
        threading.Thread(target=read, args=(f"r{k}", order_ids[k % len(order_ids)]))
        for k in range(8)
    ]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join(WAIT)
        assert not thread.is_alive(), "a reader waited for the recompute"
    assert gated.calls == 2
    assert all(got[f"r{k}"] is not None for k in range(8))
    # The order whose route ETA was computed at t gets that one (an order
    # the van has not started towards gets its planned time as of now).
    assert got["r0"].made_at == t
    gated.release.set()
    computing.join(WAIT)
    assert got["computing"] is not None and got["computing"].made_at == step
    assert gated.calls == 2
    # From now on the new step is served from memory.
    assert etas.remembered(day, status, step, ref) == got["computing"]


def test_a_clock_step_is_recomputed_in_the_background(
    app: FastAPI, client: TestClient, gated: GatedEvents
) -> None:
    """With sessions: memory answers the new step at once (no database) and
    one background recompute replaces it."""
    _, order_ids, t = _tracked(app)
    etas = LiveEtas(sessions=app.state.read_sessionmaker)
    day, status, ref = _order(app, order_ids[0])
    with app.state.read_sessionmaker() as session:
        etas.eta(session, day, status, t, ref, live=True)
    assert etas.computed == 1

    gated.release.clear()
    step = t + ETA_REFRESH
    for order_id in [*order_ids, *order_ids]:
        d, s, r = _order(app, order_id)
        assert etas.remembered(d, s, step, r, live=True) is not False
    old = etas.remembered(day, status, step, ref, live=True)
    assert old and old.made_at == t
    # Asked for a time (not the live clock), nothing old is good enough.
    assert etas.remembered(day, status, step, ref) is False
    assert gated.entered.wait(WAIT)
    gated.release.set()
    fresh: Any = False
    for _ in range(int(WAIT / 0.01)):
        fresh = etas.remembered(day, status, step, ref)
        if fresh is not False:
            break
        threading.Event().wait(0.01)
    assert fresh is not False and fresh is not None
    assert fresh.made_at == step
    assert gated.calls == 1 + 1
    assert etas.computed == 2
    # Two steps on, the ETAs are too old to stand in: recomputed here.
    later = step + 2 * ETA_REFRESH
    assert etas.remembered(day, status, later, ref, live=True) is False


def test_an_accepted_event_is_seen_at_the_next_read(
    app: FastAPI, client: TestClient
) -> None:
    """The step before stands in only for the same route revision: after an
    event of the route the next read computes its ETAs with it."""
    vehicle, order_ids, t = _tracked(app)
    etas = LiveEtas(sessions=app.state.read_sessionmaker)
    day, status, ref = _order(app, order_ids[-1])
    with app.state.read_sessionmaker() as session:
        before = etas.eta(session, day, status, t, ref, live=True)
    assert before is not None
    events = parse_events(
        [
            {
                "type": "stop_arrived",
                "id": "a1",
                "at": t - 60,
                "vehicle": vehicle,
                "order_id": order_ids[0],
            },
        ]
    )
    with app.state.sessionmaker() as session:
        ingest_and_commit(session, day, events)
    step = t + ETA_REFRESH
    day, status, moved = _order(app, order_ids[-1])
    assert moved.revision != ref.revision
    assert etas.remembered(day, status, step, moved, live=True) is False
    with app.state.read_sessionmaker() as session:
        after = etas.eta(session, day, status, step, moved, live=True)
    assert after is not None and after.made_at == step
    assert etas.computed == 2
    assert after != before
    assert day == DAY


def test_the_next_step_is_computed_ahead_of_the_boundary(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few seconds into a step (by route) the route's next step is computed
    in the background: at the boundary it is in memory, nothing recomputes."""
    _, order_ids, t = _tracked(app)
    etas = LiveEtas(sessions=app.state.read_sessionmaker)
    day, status, ref = _order(app, order_ids[0])
    key = service._route_key(day, status, t, ref)
    assert key is not None
    offset = service._ahead_offset(key)
    assert 2 <= offset < ETA_REFRESH - 2
    clock = {"now": t + offset - 1}
    monkeypatch.setattr(service, "now_seconds", lambda _day, _tz: clock["now"])
    with app.state.read_sessionmaker() as session:
        etas.eta(session, day, status, t, ref, live=True)
    assert etas.remembered(day, status, t, ref, live=True) is not False
    assert etas.computed == 1  # too early in the step: nothing ahead yet

    clock["now"] = t + offset
    assert etas.remembered(day, status, t, ref, live=True) is not False
    for _ in range(int(WAIT / 0.01)):
        if etas.computed == 2:
            break
        threading.Event().wait(0.01)
    assert etas.computed == 2
    step = t + ETA_REFRESH
    clock["now"] = step
    ahead = etas.remembered(day, status, step, ref)  # exact: not a stand-in
    assert ahead is not False and ahead is not None
    assert ahead.made_at == step
    with app.state.read_sessionmaker() as session:
        assert etas.eta(session, day, status, step, ref, live=True) == ahead
    assert etas.computed == 2
