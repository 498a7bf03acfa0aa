"""One cancellation: an ``order_cancelled`` event and ``DELETE /v1/orders/{id}``
leave an order in the same state, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import Role
from tests.api.conftest import auth
from tests.api.tracking_fixtures import DAY, batch, small_day, track_small_day


def _store_small_day(client: TestClient, keys: dict[Role, str]) -> list[str]:
    """The small day's home deliveries stored as orders (its stations are
    not stored here); their ids."""
    problem, _ = small_day()
    headers = auth(keys[Role.dispatcher])
    ids = []
    for job in problem.jobs:
        if job.station is not None:
            continue
        body = {"day": DAY.isoformat(), "job": job.model_dump(mode="json")}
        created = client.post("/v1/orders", json=body, headers=headers)
        assert created.status_code == 201, created.text
        ids.append(job.id)
    return ids


def _state(client: TestClient, keys: dict[Role, str], order_id: str) -> dict[str, Any]:
    headers = auth(keys[Role.dispatcher])
    order = client.get(f"/v1/orders/{order_id}", headers=headers).json()
    tracking = client.get(f"/v1/orders/{order_id}/tracking", headers=headers).json()
    listed = client.get("/v1/orders", params={"active": "true"}, headers=headers).json()
    return {
        "active": order["active"],
        "listed_active": order_id in {o["id"] for o in listed["data"]},
        "status": tracking["status"],
        "last_step": tracking["history"][-1]["target"],
    }


def test_event_and_api_cancellations_end_in_the_same_state(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """A dispatcher's ``order_cancelled`` event and a DELETE both leave the
    order inactive (not listed as active) with tracking status ``cancelled``."""
    ids = _store_small_day(client, keys)
    _, plan = track_small_day(app)
    routed = [o for r in plan.routes for o in r.order_ids if o in ids]
    by_event, by_api = routed[0], routed[1]
    before = _state(client, keys, by_event)
    assert before["active"] and before["status"] == "planned"

    sent = client.post(
        "/v1/events",
        json=batch(
            {"type": "order_cancelled", "id": "c1", "at": 30_000, "order_id": by_event}
        ),
        headers=auth(keys[Role.dispatcher]),
    )
    assert sent.status_code == 200 and sent.json()["accepted"] == ["c1"]
    deleted = client.delete(f"/v1/orders/{by_api}", headers=auth(keys[Role.dispatcher]))
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["active"] is False

    expected = {
        "active": False,
        "listed_active": False,
        "status": "cancelled",
        "last_step": "cancelled",
    }
    assert _state(client, keys, by_event) == expected
    assert _state(client, keys, by_api) == expected
    # Either way, cancelling again is harmless and changes nothing.
    again = client.delete(f"/v1/orders/{by_event}", headers=auth(keys[Role.dispatcher]))
    assert again.status_code == 200 and again.json()["active"] is False
    assert _state(client, keys, by_event) == expected
    untouched = next(o for o in ids if o not in {by_event, by_api} and o in routed)
    assert _state(client, keys, untouched)["active"] is True


def test_delivered_order_cannot_be_cancelled_either_way(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """Past cancelling (delivered), the event is rejected and the DELETE is a
    409 with the same reason; the order stays active and delivered."""
    ids = _store_small_day(client, keys)
    _, plan = track_small_day(app)
    route, order_id = next((r, o) for r in plan.routes for o in r.order_ids if o in ids)
    dispatcher = auth(keys[Role.dispatcher])
    delivered = client.post(
        "/v1/events",
        json=batch(
            {
                "type": "delivered",
                "id": "d1",
                "at": 40_000,
                "vehicle": route.vehicle,
                "order_id": order_id,
                "proof": {"recipient": "Kim"},
            }
        ),
        headers=dispatcher,
    )
    assert delivered.json()["accepted"] == ["d1"], delivered.text
    event = client.post(
        "/v1/events",
        json=batch(
            {"type": "order_cancelled", "id": "c1", "at": 41_000, "order_id": order_id}
        ),
        headers=dispatcher,
    )
    (rejection,) = event.json()["rejected"]
    assert "cannot go from delivered to cancelled" in rejection["reason"]
    refused = client.delete(f"/v1/orders/{order_id}", headers=dispatcher)
    assert refused.status_code == 409
    assert "cannot go from delivered to cancelled" in refused.json()["detail"]
    state = _state(client, keys, order_id)
    assert state["active"] is True and state["status"] == "delivered"
