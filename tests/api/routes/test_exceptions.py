"""Sensor events through the service: excursions, exceptions, acknowledgement."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import Role
from tests.api.conftest import auth, device_key
from tests.api.sensor_fixtures import DAY, track_cold_day

VAN = "cold-van"
COLD, ICE, PLAIN = (f"{VAN}-o{k}" for k in range(3))


def _post(client: TestClient, key: str, *events: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(
        "/v1/events",
        json={"day": DAY.isoformat(), "events": list(events)},
        headers=auth(key),
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert not body["rejected"], body
    return body


def _temp(event_id: str, at: int, value: float, **extra: Any) -> dict[str, Any]:
    return {
        "type": "sensor",
        "id": event_id,
        "at": at,
        "vehicle": VAN,
        "kind": "temperature",
        "value": value,
        **extra,
    }


def test_excursion_opens_and_closes_an_exception(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """A van at 7 °C with a cold-chain and a frozen parcel on board opens one
    exception for both (listed, and in the plan's live view); at 2 °C the
    frozen one is still too warm; delivering it closes the exception. The
    orders' tracking shows the excursions with start, end, peak and limit."""
    track_cold_day(app.state.sessionmaker, VAN, store=True)
    device, dispatcher = device_key(app, VAN), keys[Role.dispatcher]
    _post(
        client,
        device,
        {"type": "shift_start", "id": "go", "at": 28_800, "vehicle": VAN},
        _temp("t1", 29_000, 7.0),
    )
    listed = client.get("/v1/exceptions?open=true", headers=auth(dispatcher)).json()
    assert listed["count"] == 1
    (exception,) = listed["data"]
    assert exception["kind"] == "sensor_excursion"
    assert exception["vehicle"] == VAN and exception["open"] is True
    assert sorted(exception["order_ids"]) == [COLD, ICE]
    assert exception["severity"] == "critical"
    assert exception["opened_at"].startswith("2026-12-02T08:03:20+09:00")
    live = client.get(f"/v1/plans/plan-{VAN}/live", headers=auth(dispatcher))
    assert [e["id"] for e in live.json()["exceptions"]] == [exception["id"]]
    _post(client, device, _temp("t2", 29_300, 9.5), _temp("t3", 29_600, 2.0))
    one = client.get(f"/v1/exceptions/{exception['id']}", headers=auth(dispatcher))
    assert one.status_code == 200 and one.json()["open"] is True  # ICE still warm
    _post(
        client,
        device,
        {
            "type": "delivered",
            "id": "dl",
            "at": 30_000,
            "vehicle": VAN,
            "order_id": ICE,
            "proof": {"photo": "p1"},
        },
    )
    closed = client.get(f"/v1/exceptions/{exception['id']}", headers=auth(dispatcher))
    assert closed.json()["open"] is False
    assert closed.json()["closed_at"].startswith("2026-12-02T08:20:00+09:00")
    assert (
        client.get("/v1/exceptions?open=true", headers=auth(dispatcher)).json()["count"]
        == 0
    )
    tracking = client.get(f"/v1/orders/{COLD}/tracking", headers=auth(dispatcher))
    (cold,) = tracking.json()["excursions"]
    assert (cold["start"], cold["end"], cold["peak"], cold["limit"]) == (
        29_000,
        29_600,
        9.5,
        4.0,
    )
    ice = client.get(f"/v1/orders/{ICE}/tracking", headers=auth(dispatcher)).json()
    assert [(e["start"], e["end"], e["limit"]) for e in ice["excursions"]] == [
        (29_000, 30_000, -18.0)
    ]
    plain = client.get(f"/v1/orders/{PLAIN}/tracking", headers=auth(dispatcher))
    assert plain.json()["excursions"] == []


def test_acknowledge_records_who_and_keeps_it_open(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """Acknowledging names the key's holder; the exception stays open; a
    second acknowledgement keeps the first; unknown ids are 404."""
    track_cold_day(app.state.sessionmaker, VAN)
    _post(
        client,
        device_key(app, VAN),
        {"type": "shift_start", "id": "go", "at": 28_800, "vehicle": VAN},
        _temp("p1", 29_000, 12.0, order_id=COLD),
    )
    (exception,) = client.get(
        "/v1/exceptions?open=true", headers=auth(keys[Role.dispatcher])
    ).json()["data"]
    assert exception["order_ids"] == [COLD]
    url = f"/v1/exceptions/{exception['id']}/acknowledge"
    first = client.post(url, headers=auth(keys[Role.dispatcher]))
    assert first.status_code == 200, first.text
    assert first.json()["acknowledged_by"] == "test dispatcher"
    assert first.json()["acknowledged_at"] is not None and first.json()["open"]
    again = client.post(url, headers=auth(keys[Role.admin])).json()
    assert again["acknowledged_by"] == "test dispatcher"
    missing = client.get("/v1/exceptions/ex-nope", headers=auth(keys[Role.dispatcher]))
    assert missing.status_code == 404
    assert "ex-nope" in missing.json()["detail"]


def test_impossible_reading_is_422_naming_the_field(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """500 °C is refused before anything is stored, naming the value's field."""
    answer = client.post(
        "/v1/events",
        json={"day": DAY.isoformat(), "events": [_temp("hot", 29_000, 500.0)]},
        headers=auth(keys[Role.device]),
    )
    assert answer.status_code == 422
    (error,) = answer.json()["errors"]
    assert error["field"] == "body.events[0].value"
    assert "500" in error["reason"] and "temperature" in error["reason"]


def test_order_with_bad_handling_is_422_naming_the_field(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """The orders API validates handling requirements."""
    answer = client.post(
        "/v1/orders",
        json={
            "day": DAY.isoformat(),
            "job": {
                "id": "h-1",
                "location": {"lat": 37.5, "lon": 127.0},
                "demand": [1],
                "handling": {"limits": {"temperature": {"min": 8, "max": 2}}},
            },
        },
        headers=auth(keys[Role.dispatcher]),
    )
    assert answer.status_code == 422, answer.text
    fields = [e["field"] for e in answer.json()["errors"]]
    assert any(f.startswith("body.job.handling") for f in fields), fields
