"""API keys: 401 without a valid key (or past its expiry), 403 for the wrong
role, hashed storage; device keys bound to vans (the event auth matrix)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api import auth as api_auth
from api.auth import KEY_PREFIX, Role, binding_errors, create_key, hash_key
from api.db import keys as key_rows
from api.db.base import utcnow
from api.db.models import ApiKey
from api.db.tables_tracking import EventRow
from api.services.keys import ApiKeyCreate
from tests.api.conftest import auth, device_key
from tests.api.dispatch_data import seed
from tests.api.tracking_fixtures import batch, track_small_day
from tests.helpers import ROOT


def test_missing_key_is_401_with_challenge(client: TestClient) -> None:
    """No key: 401 problem+json with a WWW-Authenticate challenge."""
    r = client.get("/v1/keys")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["detail"] == "an API key is required"


def test_unknown_key_is_401(client: TestClient, keys: dict[Role, str]) -> None:
    """A key that was never issued (or is malformed) gets 401."""
    for bad in [KEY_PREFIX + "x" * 43, "not-a-key", keys[Role.admin] + "x"]:
        r = client.get("/v1/keys", headers=auth(bad))
        assert r.status_code == 401, bad
        assert "www-authenticate" in r.headers


def test_wrong_role_is_403(client: TestClient, keys: dict[Role, str]) -> None:
    """A valid key of a role the route does not allow gets 403."""
    r = client.get("/v1/keys", headers=auth(keys[Role.planner]))
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert "planner" in r.json()["detail"]


def test_admin_lists_keys_without_secrets(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Admin gets 200 on /v1/keys; the list shows neither keys nor hashes."""
    r = client.get("/v1/keys", headers=auth(keys[Role.admin]))
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == len(Role)
    assert {k["role"] for k in body["data"]} == {role.value for role in Role}
    assert set(body["data"][0]) == {
        "id",
        "name",
        "role",
        "created_at",
        "revoked_at",
        "vehicle_id",
        "depot_id",
        "expires_at",
    }
    for key in keys.values():
        assert key not in r.text
        assert hash_key(key) not in r.text


def test_x_api_key_header_works(client: TestClient, keys: dict[Role, str]) -> None:
    """A key is also accepted in the X-API-Key header."""
    r = client.get("/v1/keys/me", headers={"X-API-Key": keys[Role.device]})
    assert r.status_code == 200
    assert r.json()["role"] == "device"


def test_keys_are_stored_hashed(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """The table keeps SHA-256 digests only, never the plain key."""
    with app.state.sessionmaker() as session:
        stored = session.scalars(select(ApiKey.key_hash)).all()
    assert sorted(stored) == sorted(hash_key(k) for k in keys.values())
    for key in keys.values():
        assert key.startswith(KEY_PREFIX)
        assert key not in stored


def test_issued_key_works_and_revoked_key_does_not(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """A key issued through the API authenticates until it is revoked."""
    admin = auth(keys[Role.admin])
    r = client.post(
        "/v1/keys", json={"role": "storefront", "name": "shop"}, headers=admin
    )
    assert r.status_code == 201
    created = r.json()
    assert created["key"].startswith(KEY_PREFIX)
    assert created["role"] == "storefront"
    new = auth(created["key"])
    me = client.get("/v1/keys/me", headers=new)
    assert me.status_code == 200
    assert me.json()["name"] == "shop"
    assert "key" not in me.json()

    r = client.delete(f"/v1/keys/{created['id']}", headers=admin)
    assert r.status_code == 200
    assert r.json()["revoked_at"] is not None
    assert client.get("/v1/keys/me", headers=new).status_code == 401
    assert client.delete("/v1/keys/999999", headers=admin).status_code == 404


# --- device keys: bound to vans, device events only (the auth matrix) -----------

#: Event types a device may send for its own van (api.services.scopes).
DEVICE_TYPES = [
    "position",
    "shift_start",
    "shift_end",
    "stop_arrived",
    "stop_departed",
    "delivered",
    "failed_attempt",
    "sensor",
]
#: Event types only a dispatcher or admin may send.
OPERATOR_TYPES = [
    "order_created",
    "order_planned",
    "order_dispatched",
    "attempt_resolved",
    "order_cancelled",
]


def _event(kind: str, event_id: str, van: str, order_id: str) -> dict[str, Any]:
    """An event of ``kind`` about ``van`` and the order on its route."""
    fields: dict[str, dict[str, Any]] = {
        "position": {"vehicle": van, "lat": 37.5, "lon": 127.0},
        "shift_start": {"vehicle": van},
        "shift_end": {"vehicle": van},
        "stop_arrived": {"vehicle": van, "order_id": order_id},
        "stop_departed": {"vehicle": van, "order_id": order_id},
        "delivered": {
            "vehicle": van,
            "order_id": order_id,
            "proof": {"recipient": "Kim"},
        },
        "failed_attempt": {
            "vehicle": van,
            "order_id": order_id,
            "reason": "not_home",
        },
        "sensor": {"vehicle": van, "kind": "temperature", "value": 5.0},
        "order_created": {"order_id": f"new-{event_id}"},
        "order_planned": {"order_id": order_id, "vehicle": van, "position": 0},
        "order_dispatched": {"order_id": order_id, "vehicle": van},
        "attempt_resolved": {"order_id": order_id, "outcome": "rescheduled"},
        "order_cancelled": {"order_id": order_id},
    }
    return {"type": kind, "id": event_id, "at": 30_000, **fields[kind]}


def test_event_auth_matrix(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """Every event type x every role x own and other van: a device key sends
    device events for its own van and orders only (403 naming the van or the
    order otherwise, and for operator events); dispatcher and admin keys send
    any event; storefront and planner keys none."""
    _, plan = track_small_day(app)
    routes = [r for r in plan.routes if r.order_ids]
    assert len(routes) >= 2, "the matrix needs two vans with orders"
    own, other = routes[0], routes[1]
    vans = {
        "own": (own.vehicle, own.order_ids[0]),
        "other": (other.vehicle, other.order_ids[0]),
    }
    device = device_key(app, own.vehicle)
    callers = {
        "device": device,
        "dispatcher": keys[Role.dispatcher],
        "admin": keys[Role.admin],
        "storefront": keys[Role.storefront],
        "planner": keys[Role.planner],
    }
    n = 0
    refused: set[str] = set()
    for kind in DEVICE_TYPES + OPERATOR_TYPES:
        for whose, (van, order_id) in vans.items():
            for caller, key in callers.items():
                n += 1
                event = _event(kind, f"m{n}", van, order_id)
                r = client.post("/v1/events", json=batch(event), headers=auth(key))
                case = f"{kind} / {whose} van / {caller}"
                if r.status_code == 403:
                    refused.add(event["id"])
                if caller in ("storefront", "planner"):
                    assert r.status_code == 403, case
                    assert f"role {caller} may not" in r.json()["detail"], case
                elif caller in ("dispatcher", "admin"):
                    assert r.status_code == 200, (case, r.text)
                    assert event["id"] not in str(r.json()["duplicates"]), case
                elif kind in OPERATOR_TYPES:
                    assert r.status_code == 403, case
                    detail = r.json()["detail"]
                    assert f"{kind} is an operator event" in detail, case
                    assert "dispatcher or admin" in detail, case
                elif whose == "own":
                    assert r.status_code == 200, (case, r.text)
                    body = r.json()
                    assert event["id"] in body["accepted"] + [
                        x["event_id"] for x in body["rejected"]
                    ], case
                else:
                    assert r.status_code == 403, case
                    assert r.headers["content-type"] == "application/problem+json"
                    assert (
                        f"vehicle {van!r} is not this device's" in (r.json()["detail"])
                    ), case
    assert n == 13 * 2 * 5
    # 2 roles x 26, and the device: 5 operator types x 2 + 8 device types once.
    assert len(refused) == 52 + 10 + 8
    # Nothing a refused request carried was stored.
    with app.state.sessionmaker() as session:
        stored = set(session.scalars(select(EventRow.id)))
    assert not refused & stored


def test_device_key_may_not_report_another_vans_order(
    app: FastAPI, client: TestClient
) -> None:
    """Its own van but an order of another van's route, or an order named
    without a van: 403 naming the order and the van it belongs to; the whole
    batch is refused, the device's own events in it included."""
    _, plan = track_small_day(app)
    own, other = [r for r in plan.routes if r.order_ids][:2]
    headers = auth(device_key(app, own.vehicle))
    theirs = other.order_ids[0]
    mine = _event("position", "p1", own.vehicle, "")
    for i, event in enumerate(
        [
            _event("stop_arrived", "x1", own.vehicle, theirs),
            {
                "type": "delivered",
                "id": "x2",
                "at": 30_000,
                "order_id": theirs,
                "proof": {"photo": "p"},
            },
            {
                "type": "sensor",
                "id": "x3",
                "at": 30_000,
                "vehicle": own.vehicle,
                "order_id": theirs,
                "kind": "shock",
                "value": 3.0,
            },
        ]
    ):
        r = client.post("/v1/events", json=batch(mine, event), headers=headers)
        assert r.status_code == 403, i
        detail = r.json()["detail"]
        assert f"order {theirs!r} is on the route of vehicle {other.vehicle!r}" in (
            detail
        )
    unrouted = _event("failed_attempt", "x4", own.vehicle, "o-nowhere")
    r = client.post("/v1/events", json=batch(unrouted), headers=headers)
    assert r.status_code == 403
    assert "order 'o-nowhere' is on no route that day" in r.json()["detail"]
    with app.state.sessionmaker() as session:
        assert session.scalar(select(EventRow.id).where(EventRow.id == "p1")) is None
    # Its own order, without naming the van: accepted.
    ok = {
        "type": "delivered",
        "id": "ok",
        "at": 30_000,
        "order_id": own.order_ids[0],
        "proof": {"photo": "p"},
    }
    r = client.post("/v1/events", json=batch(mine, ok), headers=headers)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["accepted"]) == ["ok", "p1"]


def test_depot_key_reports_for_the_depots_stored_vans(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """A device key bound to a depot sends for that depot's stored vehicles
    and for no other van."""
    admin = auth(keys[Role.admin])
    seed(client, keys)  # depot "seoul" with its vans
    vans = client.get("/v1/vehicles", headers=admin).json()["data"]
    assert vans
    at_seoul = vans[0]["id"]
    created = client.post(
        "/v1/keys",
        json={"role": "device", "name": "hub tablet", "depot_id": "seoul"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["depot_id"] == "seoul"
    assert created.json()["vehicle_id"] is None
    headers = auth(created.json()["key"])
    ok = client.post(
        "/v1/events",
        json=batch(_event("position", "h1", at_seoul, "")),
        headers=headers,
    )
    assert ok.status_code == 200 and ok.json()["accepted"] == ["h1"]
    elsewhere = client.post(
        "/v1/events",
        json=batch(_event("position", "h2", "van-elsewhere", "")),
        headers=headers,
    )
    assert elsewhere.status_code == 403
    assert "depot 'seoul'" in elsewhere.json()["detail"]


def test_device_key_must_be_bound_when_issued(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """POST /v1/keys: a device key without a binding, with two, a binding on
    another role's key, an unknown depot or a past expiry are 422 naming the
    field."""
    admin = auth(keys[Role.admin])
    cases = [
        ({"role": "device", "name": "d"}, "body.vehicle_id"),
        (
            {"role": "device", "name": "d", "vehicle_id": "v", "depot_id": "x"},
            "body.depot_id",
        ),
        ({"role": "dispatcher", "name": "d", "vehicle_id": "v"}, "body.vehicle_id"),
        ({"role": "device", "name": "d", "depot_id": "nowhere"}, "body.depot_id"),
        (
            {
                "role": "device",
                "name": "d",
                "vehicle_id": "v",
                "expires_at": "2020-01-01T00:00:00Z",
            },
            "body.expires_at",
        ),
        (
            {
                "role": "device",
                "name": "d",
                "vehicle_id": "v",
                "expires_at": "9999-12-31T23:59:00-23:00",
            },
            "body.expires_at",
        ),
    ]
    for body, field in cases:
        r = client.post("/v1/keys", json=body, headers=admin)
        assert r.status_code == 422, body
        assert [e["field"] for e in r.json()["errors"]] == [field], r.json()
    r = client.post(
        "/v1/keys",
        json={"role": "device", "name": "van 7", "vehicle_id": "van-7"},
        headers=admin,
    )
    assert r.status_code == 201
    me = client.get("/v1/keys/me", headers=auth(r.json()["key"])).json()
    assert me["vehicle_id"] == "van-7" and me["role"] == "device"


def test_unbound_device_key_from_before_scopes_is_refused(
    app: FastAPI, client: TestClient
) -> None:
    """A device key stored without a binding (issued before migration 0009)
    may send nothing: 403 saying to issue a new, bound key."""
    key = KEY_PREFIX + "legacy-device-key-0123456789"
    with app.state.sessionmaker.begin() as session:
        key_rows.add_key(
            session, name="old tablet", role="device", key_hash=hash_key(key)
        )
    r = client.post(
        "/v1/events",
        json=batch(_event("position", "l1", "van-1", "")),
        headers=auth(key),
    )
    assert r.status_code == 403
    detail = r.json()["detail"]
    assert "bound to no vehicle" in detail and "issue a new device key" in detail
    # It still says who it is, and can be revoked.
    assert client.get("/v1/keys/me", headers=auth(key)).json()["name"] == "old tablet"


def test_expired_key_is_401(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key past its expiry is refused like a revoked one, even if it was
    verified moments before (the key cache does not outlive the expiry)."""
    soon = utcnow() + dt.timedelta(minutes=1)
    with app.state.sessionmaker.begin() as session:
        key = create_key(session, Role.planner, "temp", expires_at=soon)
    assert client.get("/v1/keys/me", headers=auth(key)).status_code == 200
    # The service's clock moves past the expiry (a slow machine cannot make
    # the first request late, as a 1 s expiry and a sleep could).
    monkeypatch.setattr(api_auth, "utcnow", lambda: soon + dt.timedelta(milliseconds=1))
    r = client.get("/v1/keys/me", headers=auth(key))
    assert r.status_code == 401
    assert r.json()["detail"] == "unknown, revoked or expired API key"


def test_the_key_example_in_the_api_doc_is_a_valid_request() -> None:
    """docs/API.md's key request is what POST /v1/keys takes, and binds."""
    doc = (ROOT / "docs" / "API.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", doc, flags=re.S)
    (block,) = [b for b in blocks if '"role"' in b]
    request = ApiKeyCreate.model_validate(json.loads(block))
    assert request.role is Role.device and request.vehicle_id == "van-1"
    assert not binding_errors(
        request.role,
        vehicle_id=request.vehicle_id,
        depot_id=request.depot_id,
        expires_at=request.expires_at,
    )
