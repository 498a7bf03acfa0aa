"""``milepost keys create`` and ``milepost db upgrade``."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.db.migrate import current, head
from api.settings import Settings

runner = CliRunner()


def test_unknown_role_exits_2(database_url: str) -> None:
    """An unknown --role exits with code 2 and names the valid roles."""
    env = {"MILEPOST_DATABASE_URL": database_url}
    result = runner.invoke(cli, ["keys", "create", "--role", "nope"], env=env)
    assert result.exit_code == 2
    for role in ["dispatcher", "storefront", "planner", "device", "admin"]:
        assert role in result.output


def test_created_key_authenticates(database_url: str) -> None:
    """`keys create --role planner` prints a key that then authenticates."""
    env = {"MILEPOST_DATABASE_URL": database_url}
    result = runner.invoke(
        cli, ["keys", "create", "--role", "planner", "--name", "ops"], env=env
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("mp_")
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        r = client.get("/v1/keys/me", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    assert r.json()["role"] == "planner"
    assert r.json()["name"] == "ops"


def test_device_key_needs_a_binding(database_url: str) -> None:
    """`keys create --role device` without --vehicle or --depot exits 2 naming
    the option; with --vehicle it prints a key bound to that van; an unknown
    --depot exits 2."""
    env = {"MILEPOST_DATABASE_URL": database_url}
    unbound = runner.invoke(cli, ["keys", "create", "--role", "device"], env=env)
    assert unbound.exit_code == 2
    assert "--vehicle" in unbound.output and "bound" in unbound.output
    nowhere = runner.invoke(
        cli, ["keys", "create", "--role", "device", "--depot", "nowhere"], env=env
    )
    assert nowhere.exit_code == 2
    assert "unknown depot 'nowhere'" in nowhere.output
    bound = runner.invoke(
        cli,
        ["keys", "create", "--role", "device", "--vehicle", "van-3", "--days", "30"],
        env=env,
    )
    assert bound.exit_code == 0, bound.output
    key = bound.stdout.strip().splitlines()[-1]
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        me = client.get("/v1/keys/me", headers={"Authorization": f"Bearer {key}"})
    assert me.json()["vehicle_id"] == "van-3"
    expires = dt.datetime.fromisoformat(me.json()["expires_at"])
    left = expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=29) < left <= dt.timedelta(days=30)


def test_db_upgrade_migrates(database_url: str) -> None:
    """`db upgrade` brings an empty database to the newest revision."""
    result = runner.invoke(
        cli, ["db", "upgrade"], env={"MILEPOST_DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output
    assert current(database_url) == head()


def test_serve_refuses_mqtt_in_several_processes() -> None:
    """`serve --workers 2 --mqtt` exits 2: one MQTT session cannot be shared."""
    result = runner.invoke(cli, ["serve", "--workers", "2", "--mqtt"])
    assert result.exit_code == 2
    assert "--mqtt" in result.output
    assert "milepost ingest-mqtt" in result.output
