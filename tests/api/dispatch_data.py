"""Small depots, vehicles and orders for the dispatch tests (JSON bodies)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.auth import Role
from tests.api.conftest import auth

DAY = "2026-03-02"


def depot(
    depot_id: str = "seoul", lat: float = 37.55, lon: float = 126.97
) -> dict[str, Any]:
    """A depot body."""
    return {"id": depot_id, "location": {"lat": lat, "lon": lon}, "name": depot_id}


def vehicle(
    vehicle_id: str = "van-1", start: str = "seoul", capacity: int = 20
) -> dict[str, Any]:
    """A vehicle body: a day shift that starts and ends at ``start``."""
    return {
        "id": vehicle_id,
        "start": start,
        "end": start,
        "capacity": [capacity],
        "shift": ["08:00", "18:00"],
    }


def order(
    order_id: str = "o-1",
    *,
    day: str = DAY,
    depot_id: str | None = "seoul",
    i: int = 0,
    **job: Any,
) -> dict[str, Any]:
    """An order body: a one-parcel delivery near Seoul station, 09:00-17:00."""
    spec: dict[str, Any] = {
        "id": order_id,
        "demand": [1],
        "location": {"lat": 37.55 + 0.002 * (i % 7), "lon": 126.97 + 0.003 * (i % 5)},
        "service": 120,
        "time_windows": [["09:00", "17:00"]],
        **job,
    }
    body: dict[str, Any] = {"day": day, "job": spec}
    if depot_id is not None:
        body["depot_id"] = depot_id
    return body


def seed(
    client: TestClient,
    keys: dict[Role, str],
    *,
    depots: tuple[str, ...] = ("seoul",),
    vans: int = 1,
) -> None:
    """Store depots and ``vans`` vehicles per depot (as a dispatcher)."""
    headers = auth(keys[Role.dispatcher])
    for d in depots:
        assert (
            client.post("/v1/depots", json=depot(d), headers=headers).status_code == 201
        )
        for k in range(vans):
            body = vehicle(f"{d}-van-{k}", start=d)
            assert (
                client.post("/v1/vehicles", json=body, headers=headers).status_code
                == 201
            )


def fields(response: Any) -> list[str]:
    """The field paths of a 422 problem."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in response.json()["errors"]]
