"""POST /v1/events: durable, idempotent, order-tolerant ingest with reasons."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.auth import Role
from api.db.tables_tracking import EventRow
from api.settings import Settings
from tests.api.conftest import auth, device_key
from tests.api.tracking_fixtures import DAY, batch, main_route, track_small_day

URL = "/v1/events"


def _event_rows(app: FastAPI) -> int:
    with app.state.sessionmaker() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(EventRow).where(EventRow.day == DAY)
            )
            or 0
        )


def test_same_batch_twice_is_duplicates(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """Re-sending acknowledged events changes nothing: duplicates, one row each."""
    _, plan = track_small_day(app)
    van = main_route(plan).vehicle
    body = batch(
        {"type": "shift_start", "id": "e1", "at": 30_000, "vehicle": van},
        {
            "type": "position",
            "id": "e2",
            "at": 30_100,
            "vehicle": van,
            "lat": 37.5,
            "lon": 127.1,
        },
    )
    before = _event_rows(app)
    first = client.post(URL, json=body, headers=auth(device_key(app, van)))
    assert first.status_code == 200, first.text
    assert first.json() == {
        "accepted": ["e1", "e2"],
        "duplicates": [],
        "rejected": [],
        "stale": [],
        "dead_lettered": [],
    }
    again = client.post(URL, json=body, headers=auth(keys[Role.dispatcher]))
    assert again.status_code == 200
    assert again.json()["accepted"] == []
    assert again.json()["duplicates"] == ["e1", "e2"]
    assert _event_rows(app) == before + 2


def test_out_of_order_batches_give_the_same_history(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """Events sent late and shuffled are applied by time: the history is ordered."""
    _, plan = track_small_day(app)
    route = main_route(plan)
    van, first_stop = route.vehicle, route.order_ids[0]
    headers = auth(device_key(app, van))
    late = batch(
        {
            "type": "stop_arrived",
            "id": "a1",
            "at": 40_000,
            "vehicle": van,
            "order_id": first_stop,
        },
        {"type": "stop_departed", "id": "d0", "at": 38_000, "vehicle": van},
    )
    early = batch({"type": "shift_start", "id": "s0", "at": 30_000, "vehicle": van})
    assert client.post(URL, json=late, headers=headers).status_code == 200
    response = client.post(URL, json=early, headers=headers)
    assert response.status_code == 200
    # The shift start comes after the van already left: nothing left to move.
    assert response.json()["accepted"] == ["s0"]
    tracking = client.get(
        f"/v1/orders/{first_stop}/tracking", headers=auth(keys[Role.dispatcher])
    )
    assert tracking.status_code == 200
    history = tracking.json()["history"]
    assert [h["target"] for h in history] == [
        "created",
        "planned",
        "dispatched",
        "out_for_delivery",
        "arriving",
    ]
    times = [h["at"] for h in history]
    assert times == sorted(times)
    assert tracking.json()["status"] == "arriving"


def test_rejections_carry_reasons(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """Unknown orders, impossible changes and reused ids are rejected, with why."""
    track_small_day(app)
    headers = auth(keys[Role.dispatcher])
    proof = {"recipient": "Kim"}
    response = client.post(
        URL,
        json=batch(
            {
                "type": "delivered",
                "id": "x1",
                "at": 40_000,
                "order_id": "nope",
                "proof": proof,
            },
            {"type": "order_cancelled", "id": "x2", "at": 40_000, "order_id": "o-1001"},
            {"type": "order_cancelled", "id": "x3", "at": 40_001, "order_id": "o-1001"},
        ),
        headers=headers,
    )
    assert response.status_code == 200
    result = response.json()
    assert result["accepted"] == ["x2"]
    reasons = {r["event_id"]: r["reason"] for r in result["rejected"]}
    assert reasons["x1"] == "unknown order nope"
    assert "cannot go from cancelled to cancelled" in reasons["x3"]
    reused = client.post(
        URL,
        json=batch(
            {"type": "order_cancelled", "id": "x2", "at": 40_005, "order_id": "o-1001"}
        ),
        headers=headers,
    )
    assert reused.json()["rejected"] == [
        {
            "event_id": "x2",
            "reason": "event id x2 was already used for a different event",
        }
    ]


def test_invalid_events_are_422_naming_the_field(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """A malformed event is refused as a whole, naming the event's field."""
    response = client.post(
        URL,
        json=batch(
            {
                "type": "position",
                "id": "p",
                "at": 1,
                "vehicle": "v",
                "lat": 91,
                "lon": 0,
            }
        ),
        headers=auth(keys[Role.device]),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["body.events[0].lat"]
    unknown = client.post(
        URL,
        json=batch({"type": "teleported", "id": "t", "at": 1}),
        headers=auth(keys[Role.device]),
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"].startswith("body.events[0]")


def test_batch_longer_than_the_limit_is_422(database_url: str) -> None:
    """More events than ``max_list_items`` are refused naming ``body.events``."""
    from api.app import create_app
    from tests.api.conftest import make_keys

    app = create_app(Settings(database_url=database_url, max_list_items=2))
    with TestClient(app) as client:
        keys = make_keys(app)
        events = [
            {"type": "shift_start", "id": f"s{k}", "at": k, "vehicle": "v"}
            for k in range(3)
        ]
        response = client.post(
            URL, json=batch(*events), headers=auth(keys[Role.device])
        )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "body.events", "reason": "at most 2 items, got 3"}
    ]


def test_storefront_may_not_send_events(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Only devices, dispatchers and admins report events."""
    response = client.post(URL, json=batch(), headers=auth(keys[Role.storefront]))
    assert response.status_code == 403
    assert response.json()["status"] == 403
