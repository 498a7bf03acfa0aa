"""Events the database cannot store become dead letters; nothing else is lost.

On SQLite and PostgreSQL, with a trigger refusing ``poison*`` events
(:mod:`tests.api.poison`): a batch with one of them stores the others,
says which were dead-lettered, and the operator sees them in
``GET /v1/dead-letters``, ``milepost dead-letters`` and ``/metrics``.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from api.auth import Role
from api.cli import app as cli
from api.db.tables_tracking import DeadLetterRow, EventRow
from tests.api.conftest import auth
from tests.api.poison import poison_events

DAY = "2026-12-01"


def _ping(event_id: str, at: int = 30_000) -> dict[str, Any]:
    return {
        "type": "position",
        "id": event_id,
        "at": at,
        "vehicle": "van-1",
        "lat": 37.5,
        "lon": 127.0,
    }


def _post(client: TestClient, key: str, events: list[dict[str, Any]]) -> Any:
    r = client.post(
        "/v1/events", json={"day": DAY, "events": events}, headers=auth(key)
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_a_batch_with_an_unstorable_event_keeps_the_others(
    app: FastAPI, client: TestClient, keys: dict[Role, str]
) -> None:
    """The poison event is dead-lettered and named in the answer; the other
    events of its batch are stored, and a later batch goes on as usual."""
    poison_events(app.state.engine)
    key = keys[Role.dispatcher]
    batch = [_ping("a", 30_000), _ping("poison-1", 30_010), _ping("b", 30_020)]
    result = _post(client, key, batch)
    assert sorted(result["accepted"]) == ["a", "b"]
    assert result["dead_lettered"] == ["poison-1"]

    again = _post(client, key, [*batch, _ping("c", 30_030)])
    assert sorted(again["duplicates"]) == ["a", "b"]
    assert again["accepted"] == ["c"]
    assert again["dead_lettered"] == ["poison-1"]

    letters = client.get("/v1/dead-letters", headers=auth(keys[Role.admin]))
    assert letters.status_code == 200
    body = letters.json()
    assert body["count"] == 2
    newest = body["data"][0]
    assert newest["event_id"] == "poison-1"
    assert newest["source"] == "http"
    assert newest["day"] == DAY
    assert newest["vehicle"] == "van-1"
    assert '"id":"poison-1"' in newest["payload"]
    assert "poisoned event" in newest["error"]

    metrics = client.get("/metrics").text
    assert 'milepost_dead_letters_total{source="http"} 2.0' in metrics


@pytest.mark.parametrize("role", [Role.dispatcher, Role.device, Role.planner])
def test_dead_letters_are_for_admins_only(
    client: TestClient, keys: dict[Role, str], role: Role
) -> None:
    """Payloads may hold anything a device sent: only admins list them."""
    r = client.get("/v1/dead-letters", headers=auth(keys[role]))
    assert r.status_code == 403


def test_the_cli_lists_dead_letters(
    app: FastAPI,
    client: TestClient,
    keys: dict[Role, str],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``milepost dead-letters`` prints each with its source, event and error."""
    poison_events(app.state.engine)
    _post(client, keys[Role.device], [_ping("poison-cli")])
    monkeypatch.setenv("MILEPOST_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["dead-letters"])
    assert result.exit_code == 0, result.output
    assert "1 dead letter" in result.output
    assert "poison-cli" in result.output
    assert "http" in result.output
    assert "poisoned event" in result.output


@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    batches=st.lists(
        st.lists(st.tuples(st.booleans(), st.integers(0, 30)), min_size=1, max_size=8),
        min_size=1,
        max_size=3,
    )
)
def test_nothing_sent_is_lost(
    app: FastAPI,
    client: TestClient,
    keys: dict[Role, str],
    batches: list[list[tuple[bool, int]]],
) -> None:
    """Whatever mix of storable and unstorable events the batches hold, every
    event sent is accounted for: stored (accepted now or a duplicate of an
    earlier batch) or dead-lettered, and every stored one is in the
    database; the unstorable ones only in the dead letters."""
    if not getattr(app.state, "poisoned", False):
        poison_events(app.state.engine)
        app.state.poisoned = True
    run = uuid.uuid4().hex[:6]
    sent: set[str] = set()
    kept: set[str] = set()
    lettered: set[str] = set()
    for batch in batches:
        events = []
        for poisoned, k in batch:
            event_id = f"{'poison' if poisoned else 'ok'}-{run}-{k}"
            sent.add(event_id)
            events.append(_ping(event_id, 30_000 + k))
        result = _post(client, keys[Role.device], events)
        kept |= set(result["accepted"]) | set(result["duplicates"])
        lettered |= set(result["dead_lettered"])
        assert result["rejected"] == []
    assert kept | lettered == sent
    assert all(e.startswith("ok") for e in kept)
    assert all(e.startswith("poison") for e in lettered)
    with app.state.sessionmaker() as session:
        stored = set(
            session.scalars(select(EventRow.id).where(EventRow.id.like(f"%-{run}-%")))
        )
        letters = set(
            session.scalars(
                select(DeadLetterRow.event_id).where(
                    DeadLetterRow.event_id.like(f"%-{run}-%")
                )
            )
        )
    assert stored == kept
    assert letters == lettered
