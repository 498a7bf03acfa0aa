"""The PostgreSQL read cache: tracked orders from memory, never stale."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from api.db.engine import make_engine, make_sessionmaker
from api.read_cache import RefCache
from api.settings import Settings
from api.tracking_service import RouteRef, ingest_and_commit
from tests.api.conftest import auth, make_keys
from tests.api.tracking_fixtures import DAY, batch, main_route, track_small_day
from tracking.events import parse_events
from tracking.status import OrderStatus

WAIT = 5.0


def _found(order_id: str, plan: str = "p1", vehicle: str = "v1") -> Any:
    status = OrderStatus.new(order_id, at=0)
    return (DAY, status, RouteRef(vehicle=vehicle, plan_id=plan, version=1, revision=1))


def test_the_cache_forgets_orders_plans_and_routes() -> None:
    cache = RefCache()
    assert cache.get("a") is None  # off until switched on
    cache.switch(True)
    for order_id, plan, van in (
        ("a", "p1", "v1"),
        ("b", "p1", "v2"),
        ("c", "p2", "v2"),
    ):
        cache.put(order_id, _found(order_id, plan, van), cache.generation)
    assert len(cache) == 3
    cache.invalidate("o:a")
    assert cache.get("a") is None and cache.get("b") is not None
    cache.invalidate(f"v:{DAY.isoformat()}:v2")
    assert cache.get("b") is None and cache.get("c") is None
    cache.put("a", _found("a"), cache.generation)
    cache.invalidate("p:p1")
    assert len(cache) == 0


def test_a_read_that_raced_a_change_is_not_kept() -> None:
    """Read at generation g, a change arrives, the answer must not be stored."""
    cache = RefCache()
    cache.switch(True)
    generation = cache.generation
    cache.invalidate("o:a")
    cache.put("a", _found("a"), generation)
    assert cache.get("a") is None
    cache.switch(False)
    cache.put("a", _found("a"), cache.generation)
    assert cache.get("a") is None


@pytest.fixture
def pg_client(pg_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=pg_url, log_json=False))) as c:
        yield c


def _live(cache: RefCache) -> None:
    deadline = time.monotonic() + WAIT
    while not cache.live:
        assert time.monotonic() < deadline, "the listener never connected"
        time.sleep(0.02)


def _status(client: TestClient, key: str, order_id: str, at: int) -> str:
    got = client.get(f"/v1/orders/{order_id}/eta", params={"at": at}, headers=auth(key))
    assert got.status_code == 200, got.text
    state: str = got.json()["status"]
    return state


def test_writes_of_this_and_of_other_processes_are_seen(
    pg_client: TestClient, pg_url: str
) -> None:
    app = pg_client.app
    cache: RefCache = app.state.ref_cache  # type: ignore[attr-defined]
    _live(cache)
    keys = make_keys(app)  # type: ignore[arg-type]
    _, plan = track_small_day(app)  # type: ignore[arg-type]
    route = main_route(plan)
    first, second = route.order_ids[0], route.order_ids[1]
    start = route.steps[0].departure
    key = keys[Role.storefront]
    assert _status(pg_client, key, first, start) == "planned"
    assert cache.get(first) is not None  # the next read needs no query

    # This process's write: seen at once, no waiting for the notification.
    sent = pg_client.post(
        "/v1/events",
        json=batch(
            {
                "type": "shift_start",
                "id": "s1",
                "at": start - 60,
                "vehicle": route.vehicle,
            },
            {
                "type": "stop_departed",
                "id": "d0",
                "at": start,
                "vehicle": route.vehicle,
            },
        ),
        headers=auth(keys[Role.device]),
    )
    assert sent.status_code == 200, sent.text
    assert _status(pg_client, key, first, start + 60) == "arriving"
    assert _status(pg_client, key, second, start + 60) == "out_for_delivery"
    assert cache.get(second) is not None

    # Another process's write (its own engine, no cache): seen once notified.
    other = make_engine(pg_url)
    try:
        with make_sessionmaker(other)() as session:
            events = parse_events(
                [
                    {
                        "type": "stop_arrived",
                        "id": "x3",
                        "at": start + 120,
                        "vehicle": route.vehicle,
                        "order_id": first,
                    },
                    {
                        "type": "delivered",
                        "id": "x4",
                        "at": start + 240,
                        "vehicle": route.vehicle,
                        "order_id": first,
                        "proof": {"recipient": "front desk"},
                    },
                ]
            )
            assert not ingest_and_commit(session, DAY, events).rejected
    finally:
        other.dispose()
    deadline = time.monotonic() + WAIT
    while cache.get(first) is not None:
        assert time.monotonic() < deadline, "the notification never came"
        time.sleep(0.01)
    assert _status(pg_client, key, first, start + 300) == "delivered"
    assert _status(pg_client, key, second, start + 300) == "out_for_delivery"


def test_only_postgresql_gets_the_cache(tmp_path: Any, pg_url: str) -> None:
    """SQLite reads are local; the setting turns the cache off."""
    sqlite = Settings(database_url=f"sqlite:///{tmp_path / 'm.db'}", log_json=False)
    assert create_app(sqlite).state.ref_cache is None
    off = Settings(database_url=pg_url, log_json=False, read_cache=False)
    assert create_app(off).state.ref_cache is None
    assert isinstance(
        create_app(Settings(database_url=pg_url, log_json=False)).state.ref_cache,
        RefCache,
    )
