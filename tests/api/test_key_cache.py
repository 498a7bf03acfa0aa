"""The key cache looks a key in use up again before it runs out, once."""

from __future__ import annotations

import threading

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import KeyCache, Role, create_key
from api.db import keys as key_rows
from api.db.base import utcnow

WAIT = 30.0


def test_a_key_in_use_is_looked_up_ahead_once(app: FastAPI, client: TestClient) -> None:
    """Near the end of its trust a key is still answered from memory while
    one background lookup renews it; a key revoked meanwhile is dropped."""
    sessions = app.state.sessionmaker
    with sessions.begin() as session:
        key = create_key(session, Role.storefront, "cache")
    cache = KeyCache(seconds=3600)
    assert cache.remembered(key) is None
    first = cache.look_up(sessions, key)
    assert first is not None
    digest = next(iter(cache._verified))
    expires, principal = cache._verified[digest]
    # The last half second of its trust.
    cache._verified[digest] = (expires - 3600 + 0.5, principal)
    lookups = 0

    started = threading.Event()
    release = threading.Event()

    def held_verify(*args: object) -> object:
        nonlocal lookups
        lookups += 1
        started.set()
        assert release.wait(WAIT)
        return real_verify(*args)

    real_verify = cache._verify
    cache._verify = held_verify  # type: ignore[method-assign]
    for _ in range(20):
        assert cache.remembered(key) == principal
    assert started.wait(WAIT)
    assert lookups == 1
    release.set()
    for _ in range(int(WAIT / 0.01)):
        if cache._verified[digest][0] > expires - 60 and not cache._refreshing:
            break
        threading.Event().wait(0.01)
    assert cache._verified[digest][0] > expires - 60  # renewed for an hour
    assert lookups == 1

    # Revoked in another process: the lookup ahead drops it.
    with sessions.begin() as session:
        row = key_rows.get_key(session, key_id=principal.key_id)
        assert row is not None
        row.revoked_at = utcnow()
    cache._verified[digest] = (cache._verified[digest][0] - 3600 + 0.5, principal)
    assert cache.remembered(key) == principal  # still within its trust
    for _ in range(int(WAIT / 0.01)):
        if digest not in cache._verified:
            break
        threading.Event().wait(0.01)
    assert cache.remembered(key) is None
