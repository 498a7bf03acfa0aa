"""API keys: 401 without a valid key, 403 for the wrong role, hashed storage."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.auth import KEY_PREFIX, Role, hash_key
from api.db.models import ApiKey
from tests.api.conftest import auth


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
