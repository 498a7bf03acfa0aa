"""The tracking routes: live ETA, status history, the customer's link, streams."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import Role
from api.services.ingest import ingest_and_commit
from api.services.tracking import local_time
from routing.locale import DEFAULT_LOCALE
from routing.plan import Plan, StepType
from tests.api.conftest import auth, device_key
from tests.api.tracking_fixtures import (
    BEFORE,
    DAY,
    batch,
    main_route,
    small_day,
    track_small_day,
)
from tracking.events import parse_events

Tracked = tuple[Plan, dict[str, str]]


@pytest.fixture
def tracked(client: TestClient, keys: dict[Role, str]) -> Tracked:
    """The small day's orders stored (with their links) and its plan tracked."""
    problem, _ = small_day()
    tokens = {}
    for job in problem.jobs:
        if job.station is not None:
            continue  # its stations are not stored here
        got = client.post(
            "/v1/orders",
            json={"day": DAY.isoformat(), "job": job.model_dump(mode="json")},
            headers=auth(keys[Role.dispatcher]),
        )
        assert got.status_code == 201, got.text
        tokens[job.id] = got.json()["tracking_token"]
    _, plan = track_small_day(client.app)  # type: ignore[arg-type]
    return plan, tokens


def _home_jobs(plan: Plan) -> list[str]:
    """The main route's home deliveries, in visiting order."""
    return [
        step.id
        for step in main_route(plan).steps
        if step.type is StepType.JOB and step.id is not None
    ]


def _arrival(plan: Plan, order_id: str) -> int:
    for route in plan.routes:
        for step in route.steps:
            if step.id == order_id and step.type is StepType.JOB:
                return step.arrival
    raise AssertionError(f"{order_id} is not routed")


def _eta(client: TestClient, key: str, order_id: str, at: int) -> dict[str, Any]:
    got = client.get(f"/v1/orders/{order_id}/eta", params={"at": at}, headers=auth(key))
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def test_planned_order_has_the_plans_eta(
    client: TestClient, keys: dict[Role, str], tracked: Tracked
) -> None:
    """Before the van leaves, the ETA is the planned arrival, inside its window."""
    plan, _ = tracked
    route = main_route(plan)
    order_id = _home_jobs(plan)[-1]
    body = _eta(client, keys[Role.storefront], order_id, BEFORE)
    assert body["status"] == "planned"
    eta = body["eta"]
    assert eta["point"] == max(BEFORE, _arrival(plan, order_id))
    assert eta["p10"] <= eta["point"] <= eta["p90"]
    assert eta["vehicle"] == route.vehicle
    window = body["window"]
    expected = local_time(eta["point"], DAY, DEFAULT_LOCALE.zone).isoformat()
    assert window["expected"] == expected
    assert window["earliest"] <= window["expected"] <= window["latest"]


def test_eta_reads_take_one_query(
    client: TestClient, keys: dict[Role, str], tracked: Tracked
) -> None:
    """Once a route's ETAs are computed, an ETA read is one query.

    On PostgreSQL it runs on the event loop (``app.state.async_reads``: no
    worker thread, no ``BEGIN`` or ``ROLLBACK`` round trips); on SQLite it is
    one statement through the engine.
    """
    from sqlalchemy import event

    plan, _ = tracked
    order_id = _home_jobs(plan)[-1]
    key = keys[Role.storefront]
    first = _eta(client, key, order_id, BEFORE)  # computes the route's ETAs
    state = client.app.state  # type: ignore[attr-defined]
    engines = {state.engine, state.read_sessionmaker.kw["bind"]}
    statements: list[str] = []
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    fast = state.async_reads
    if fast is not None:
        one = fast.one

        async def counted(sql: str, params: Any) -> Any:
            reads.append(sql)
            return await one(sql, params)

        fast.one = counted
    try:
        again = _eta(client, key, order_id, BEFORE)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
        if fast is not None:
            fast.one = one
    assert again == first
    postgres = state.engine.dialect.name == "postgresql"
    assert (len(reads), len(statements)) == ((1, 0) if postgres else (0, 1))
    assert all(q.lstrip().upper().startswith("SELECT") for q in reads + statements)


def test_unknown_order_is_404(client: TestClient, keys: dict[Role, str]) -> None:
    """An order nobody stored or tracked: 404 problem+json."""
    got = client.get("/v1/orders/nope/eta", headers=auth(keys[Role.storefront]))
    assert got.status_code == 404
    assert got.headers["content-type"] == "application/problem+json"


def test_events_move_status_and_eta_at_the_same_clock(
    app: FastAPI, client: TestClient, keys: dict[Role, str], tracked: Tracked
) -> None:
    """A late start pushes the ETA back, asked at the very same time.

    The second answer must not come from the first one's cache: the
    accepted events changed the route's revision.
    """
    plan, _ = tracked
    route = main_route(plan)
    order_id = _home_jobs(plan)[0]  # no waiting before it absorbs a delay
    start = route.steps[0].departure
    at = start + 1800
    key = keys[Role.storefront]
    before = _eta(client, key, order_id, at)
    assert before["status"] == "planned"

    late = start + 1800  # the van leaves half an hour late
    sent = client.post(
        "/v1/events",
        json=batch(
            {
                "type": "shift_start",
                "id": "s1",
                "at": late - 60,
                "vehicle": route.vehicle,
            },
            {"type": "stop_departed", "id": "d0", "at": late, "vehicle": route.vehicle},
        ),
        headers=auth(device_key(app, route.vehicle)),
    )
    assert sent.status_code == 200, sent.text
    after = _eta(client, key, order_id, at)
    assert after["status"] == "arriving"  # the first stop after the depot
    assert after["eta"]["point"] > before["eta"]["point"]


def test_events_stored_by_another_process_are_seen(
    client: TestClient, keys: dict[Role, str], tracked: Tracked
) -> None:
    """Events written to the database directly (as the MQTT consumer does from
    its own process) change the ETA this process serves."""
    plan, _ = tracked
    route = main_route(plan)
    first, last = _home_jobs(plan)[0], _home_jobs(plan)[-1]
    start = route.steps[0].departure
    at = start + 600
    key = keys[Role.storefront]
    before = _eta(client, key, last, at)
    events = parse_events(
        [
            {"type": "shift_start", "id": "x1", "at": start, "vehicle": route.vehicle},
            {
                "type": "stop_departed",
                "id": "x2",
                "at": start,
                "vehicle": route.vehicle,
            },
            {
                "type": "stop_arrived",
                "id": "x3",
                "at": at - 60,
                "vehicle": route.vehicle,
                "order_id": first,
            },
        ]
    )
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        ingest_and_commit(session, DAY, events)
    after = _eta(client, key, last, at)
    assert after["status"] != before["status"] or after["eta"] != before["eta"]
    assert _eta(client, key, first, at)["status"] == "arriving"


def test_delivered_order_has_history_and_no_eta(
    app: FastAPI, client: TestClient, keys: dict[Role, str], tracked: Tracked
) -> None:
    """Once delivered there is no ETA; the history shows every step and cause."""
    plan, _ = tracked
    route = main_route(plan)
    order_id = _home_jobs(plan)[0]
    t = route.steps[0].departure
    sent = client.post(
        "/v1/events",
        json=batch(
            {"type": "shift_start", "id": "a", "at": t, "vehicle": route.vehicle},
            {"type": "stop_departed", "id": "b", "at": t, "vehicle": route.vehicle},
            {
                "type": "delivered",
                "id": "c",
                "at": t + 900,
                "order_id": order_id,
                "vehicle": route.vehicle,
                "proof": {"recipient": "front desk"},
            },
        ),
        headers=auth(device_key(app, route.vehicle)),
    )
    assert sent.status_code == 200, sent.text
    got = client.get(
        f"/v1/orders/{order_id}/tracking",
        params={"at": t + 1000},
        headers=auth(keys[Role.dispatcher]),
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["status"] == "delivered"
    assert body["eta"] is None and body["window"] is None
    states = [change["target"] for change in body["history"]]
    assert states[0] == "created" and states[-1] == "delivered"
    assert "out_for_delivery" in states
    assert body["history"][-1]["event_id"] == "c"


def test_tracking_link_shows_only_the_customers_order(
    client: TestClient, keys: dict[Role, str], tracked: Tracked
) -> None:
    """The link needs no key, shows status and the order number, hides the van."""
    plan, tokens = tracked
    route = main_route(plan)
    order_id = _home_jobs(plan)[-1]
    got = client.get(f"/v1/track/{tokens[order_id]}")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["order_id"] == order_id
    assert body["kind"] == "delivery"
    assert body["status"] == "planned"
    assert body["driver"] is None
    assert route.vehicle not in got.text
    assert client.get("/v1/track/not-a-token").status_code == 404


def test_tracking_link_shows_the_van_only_when_the_stop_is_next(
    app: FastAPI, client: TestClient, keys: dict[Role, str], tracked: Tracked
) -> None:
    """Out for delivery: no position; the stop is next (arriving): the van's."""
    plan, tokens = tracked
    route = main_route(plan)
    first, second = _home_jobs(plan)[:2]
    t = route.steps[0].departure
    device = auth(device_key(app, route.vehicle))
    sent = client.post(
        "/v1/events",
        json=batch(
            {"type": "shift_start", "id": "p1", "at": t, "vehicle": route.vehicle},
            {"type": "stop_departed", "id": "p2", "at": t, "vehicle": route.vehicle},
            {
                "type": "position",
                "id": "p3",
                "at": t + 60,
                "vehicle": route.vehicle,
                "lat": 37.51,
                "lon": 127.01,
            },
        ),
        headers=device,
    )
    assert sent.status_code == 200, sent.text
    nearer = client.get(f"/v1/track/{tokens[first]}").json()
    later = client.get(f"/v1/track/{tokens[second]}").json()
    assert nearer["status"] == "arriving"
    assert nearer["driver"]["lat"] == pytest.approx(37.51)
    assert later["status"] == "out_for_delivery"
    assert later["driver"] is None


def _first_sse_event(client: TestClient, url: str, **kwargs: Any) -> dict[str, Any]:
    with client.stream("GET", url, **kwargs) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "status":
                data: dict[str, Any] = json.loads(line.removeprefix("data: "))
                return data
    raise AssertionError("the stream sent no status event")


def test_streams_send_the_current_view_first(
    client: TestClient, keys: dict[Role, str], tracked: Tracked
) -> None:
    """Both streams open with a ``status`` event holding the current view."""
    plan, tokens = tracked
    order_id = _home_jobs(plan)[0]
    mine = _first_sse_event(
        client,
        f"/v1/orders/{order_id}/stream",
        params={"max_seconds": 1},
        headers=auth(keys[Role.storefront]),
    )
    assert mine["order_id"] == order_id and mine["status"] == "planned"
    theirs = _first_sse_event(
        client, f"/v1/track/{tokens[order_id]}/stream", params={"max_seconds": 1}
    )
    assert theirs["status"] == "planned" and theirs["order_id"] == order_id


def test_stream_pushes_a_status_change(
    app: FastAPI, client: TestClient, keys: dict[Role, str], tracked: Tracked
) -> None:
    """An event changes the order's status: the open stream sends it."""
    plan, _ = tracked
    route = main_route(plan)
    order_id = _home_jobs(plan)[0]
    seen: list[dict[str, Any]] = []
    first = threading.Event()

    def listen() -> None:
        with client.stream(
            "GET",
            f"/v1/orders/{order_id}/stream",
            params={"max_seconds": 8},
            headers=auth(keys[Role.storefront]),
        ) as response:
            kind = None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: ") and kind == "status":
                    seen.append(json.loads(line.removeprefix("data: ")))
                    first.set()
                    if len(seen) == 2:
                        return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert first.wait(5), "no first event"
    t = route.steps[0].departure
    sent = client.post(
        "/v1/events",
        json=batch(
            {"type": "shift_start", "id": "q1", "at": t, "vehicle": route.vehicle},
            {"type": "stop_departed", "id": "q2", "at": t, "vehicle": route.vehicle},
        ),
        headers=auth(device_key(app, route.vehicle)),
    )
    assert sent.status_code == 200, sent.text
    reader.join(10)
    assert [s["status"] for s in seen] == ["planned", "arriving"]
