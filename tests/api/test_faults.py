"""Faults: the server is killed (SIGKILL) in the middle of an event stream.

A real ``milepost serve`` process takes batches of events over HTTP while a
timer kills it. After a restart on the same database every batch is sent
again: each acknowledged event must already be stored (reported as a
duplicate), each batch is stored whole or not at all, and no event is stored
twice.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from api.auth import Role, create_key
from api.db.engine import make_engine, make_sessionmaker
from api.db.migrate import upgrade
from api.db.tables_tracking import EventRow
from tests.api.conftest import auth
from tests.serve import free_port, serve

DAY = dt.date(2026, 12, 1)
BATCH = 50
#: Seconds of streaming before the kill: long enough for many acknowledged
#: batches, short enough that the stream is still going.
KILL_AFTER = 1.5


@pytest.fixture
def sender_key(database_url: str) -> Iterator[str]:
    """A dispatcher's key in the (migrated) test database: the batches are of
    many vans, more than one device key may report for."""
    upgrade(database_url)
    engine = make_engine(database_url)
    with make_sessionmaker(engine).begin() as session:
        key = create_key(session, Role.dispatcher, "fault test")
    engine.dispose()
    yield key


def _batch(i: int) -> list[dict[str, Any]]:
    """Batch ``i``: position pings of van ``v{i}``, ids ``e{i}-{j}``."""
    return [
        {
            "type": "position",
            "id": f"e{i}-{j}",
            "at": 8 * 3600 + j,
            "vehicle": f"v{i}",
            "lat": 37.5 + j * 1e-4,
            "lon": 127.0,
        }
        for j in range(BATCH)
    ]


def _stored(database_url: str) -> tuple[set[str], int]:
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        ids = set(session.scalars(select(EventRow.id).where(EventRow.day == DAY)))
        rows = session.scalar(
            select(func.count()).select_from(EventRow).where(EventRow.day == DAY)
        )
    engine.dispose()
    return ids, int(rows or 0)


def test_sigkill_mid_stream_loses_no_acknowledged_event(
    database_url: str, sender_key: str, tmp_path: Path
) -> None:
    """Acknowledged events survive kill -9; batches are atomic; none stored twice."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1/events"
    headers = auth(sender_key)
    log = tmp_path / "server.log"
    server = serve(database_url, port, log)
    killer = threading.Timer(KILL_AFTER, server.kill)  # SIGKILL
    acked: list[int] = []
    sent = 0
    try:
        with httpx.Client(timeout=10) as client:
            killer.start()
            while sent < 100_000:
                body = {"day": DAY.isoformat(), "events": _batch(sent)}
                sent += 1
                try:
                    response = client.post(base, json=body, headers=headers)
                except httpx.TransportError:
                    break  # the server is gone: this batch was not acknowledged
                assert response.status_code == 200, response.text
                assert len(response.json()["accepted"]) == BATCH
                acked.append(sent - 1)
    finally:
        killer.cancel()
        server.kill()
        server.wait()
    assert server.returncode == -9, "the server must have died from SIGKILL"
    assert len(acked) >= 5, f"too few batches before the kill:\n{log.read_text()}"
    assert sent > len(acked), "the kill must land in the middle of the stream"

    stored, rows = _stored(database_url)
    for i in acked:
        assert {e["id"] for e in _batch(i)} <= stored, f"batch {i} was lost"

    server = serve(database_url, port, log)
    try:
        with httpx.Client(timeout=10) as client:
            for i in range(sent):
                response = client.post(
                    base,
                    json={"day": DAY.isoformat(), "events": _batch(i)},
                    headers=headers,
                )
                assert response.status_code == 200, response.text
                result = response.json()
                ids = {e["id"] for e in _batch(i)}
                # All or nothing: a batch is one transaction.
                if i in acked or ids <= stored:
                    assert set(result["duplicates"]) == ids, f"batch {i}"
                else:
                    assert not ids & stored, f"batch {i} was stored in part"
                    assert set(result["accepted"]) == ids, f"batch {i}"
    finally:
        server.terminate()
        server.wait(timeout=30)
    stored, rows = _stored(database_url)
    assert rows == len(stored) == sent * BATCH
