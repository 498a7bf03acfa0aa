"""Job leases: several runners on one database take and finish each job once.

The queries of :mod:`api.db.jobs` on SQLite and PostgreSQL (``database_url``),
the runner ids of :mod:`api.jobs.holders`, and the database's notifications
(:mod:`api.db.notify`, PostgreSQL) that wake runners and streams.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.db import jobs as job_rows
from api.db.base import utcnow
from api.db.engine import make_engine, make_sessionmaker
from api.db.migrate import upgrade
from api.db.notify import JOBS, LIVE, Bus
from api.db.tables_jobs import JobRow
from api.db.urls import libpq_conninfo
from api.jobs import holders
from api.services.live import LiveChanges

LEASE = dt.timedelta(seconds=30)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The migrated test database."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


def queue(sessions: sessionmaker[Session], n: int) -> list[str]:
    with sessions.begin() as session:
        return [
            job_rows.add_job(session, kind="plan", payload={"i": i}).id
            for i in range(n)
        ]


def row(sessions: sessionmaker[Session], job_id: str) -> JobRow:
    with sessions() as session:
        found = session.get(JobRow, job_id)
        assert found is not None
        return found


def dead_runner() -> str:
    """The id a runner in a process that has ended had."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from api.jobs.holders import this_runner; print(this_runner())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def test_runner_ids_tell_a_dead_process_on_this_host() -> None:
    me = holders.this_runner()
    assert me.split("/")[1] == str(os.getpid())
    assert me != holders.this_runner()  # two runners of one process differ
    assert not holders.is_dead(me)
    assert holders.is_dead(dead_runner())
    # Another host's runner is never declared dead here: its lease tells.
    assert not holders.is_dead("elsewhere/1/1/abc")
    # A live process id with another start time is a recycled id.
    host, pid, _, nonce = me.split("/")
    assert holders.is_dead(f"{host}/{pid}/1/{nonce}")


def test_concurrent_claims_take_each_job_once(sessions: sessionmaker[Session]) -> None:
    ids = queue(sessions, 30)
    taken: dict[str, list[str]] = {}
    lock = threading.Lock()

    def claim_all(worker: str) -> None:
        while True:
            with sessions() as session:
                job_id = job_rows.claim_next(session, worker=worker)
            if job_id is None:
                return
            with lock:
                taken.setdefault(job_id, []).append(worker)

    threads = [
        threading.Thread(target=claim_all, args=(f"runner-{i}",)) for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(taken) == sorted(ids)
    assert all(len(workers) == 1 for workers in taken.values()), taken
    for job_id, (worker,) in taken.items():
        got = row(sessions, job_id)
        assert (got.status, got.worker_id, got.attempts) == ("running", worker, 1)
        assert got.heartbeat_at is not None


def test_only_abandoned_jobs_are_recovered(sessions: sessionmaker[Session]) -> None:
    live, lapsed, dead, old = queue(sessions, 4)
    for job_id, worker in [
        (live, "elsewhere/1/1/live"),
        (lapsed, "elsewhere/2/2/lapsed"),
        (dead, dead_runner()),
        (old, "elsewhere/3/3/old"),
    ]:
        with sessions() as session:
            assert job_rows.claim_next(session, worker=worker) == job_id
    with sessions.begin() as session:
        session.get(JobRow, lapsed).heartbeat_at = utcnow() - 2 * LEASE  # type: ignore[union-attr]
        held = session.get(JobRow, old)
        assert held is not None
        held.worker_id = held.heartbeat_at = None  # left by a version without leases
    with sessions.begin() as session:
        recovered = job_rows.recover_running(
            session,
            max_attempts=3,
            lapsed_before=utcnow() - LEASE,
            is_dead=holders.is_dead,
        )
    assert sorted(recovered) == sorted([lapsed, dead, old])
    assert row(sessions, live).status == "running"
    for job_id in (lapsed, dead, old):
        got = row(sessions, job_id)
        assert (got.status, got.worker_id) == ("queued", None)


def test_a_runner_that_lost_its_job_stores_nothing(
    sessions: sessionmaker[Session],
) -> None:
    (job_id,) = queue(sessions, 1)
    with sessions() as session:
        assert job_rows.claim_next(session, worker="slow") == job_id
    with sessions.begin() as session:
        assert job_rows.renew_leases(session, worker="slow", job_ids=[job_id]) == {
            job_id
        }
    # Its lease lapsed: another runner re-queued the job and took it.
    with sessions.begin() as session:
        job_rows.recover_running(
            session, max_attempts=3, lapsed_before=utcnow() + LEASE
        )
    with sessions() as session:
        assert job_rows.claim_next(session, worker="fast") == job_id
    with sessions.begin() as session:
        assert job_rows.renew_leases(session, worker="slow", job_ids=[job_id]) == set()
        job_rows.write_progress(
            session, job_id=job_id, share=0.9, message="late", worker="slow"
        )
        assert (
            job_rows.mark_succeeded(
                session, job_id=job_id, result={"by": "slow"}, worker="slow"
            )
            is None
        )
        job_rows.mark_failed(
            session, job_id=job_id, error="late", result=None, worker="slow"
        )
        job_rows.requeue(
            session, job_id=job_id, message="late", attempts_delta=0, worker="slow"
        )
    got = row(sessions, job_id)
    assert (got.status, got.worker_id, got.attempts) == ("running", "fast", 2)
    assert got.message == "started"
    with sessions.begin() as session:
        done = job_rows.mark_succeeded(
            session, job_id=job_id, result={"by": "fast"}, worker="fast"
        )
        assert done is not None
    assert row(sessions, job_id).result == {"by": "fast"}


def test_cancelled_jobs_drop_out_of_the_lease(sessions: sessionmaker[Session]) -> None:
    kept, cancelled = queue(sessions, 2)
    for _ in range(2):
        with sessions() as session:
            job_rows.claim_next(session, worker="me")
    with sessions.begin() as session:
        assert job_rows.cancel(session, job_id=cancelled)
    with sessions.begin() as session:
        held = job_rows.renew_leases(session, worker="me", job_ids=[kept, cancelled])
    assert held == {kept}


# -- notifications (PostgreSQL) --------------------------------------------------


def wait_for(check: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_the_bus_hears_other_connections_commits(pg_url: str) -> None:
    upgrade(pg_url)
    bus = Bus(pg_url, retry_seconds=0.2)
    calls = {JOBS: 0, LIVE: 0}

    def counter(channel: str) -> object:
        return lambda: calls.__setitem__(channel, calls[channel] + 1)

    bus.subscribe(JOBS, counter(JOBS))
    bus.subscribe(LIVE, counter(LIVE))
    bus.start()
    try:
        assert bus.wait_listening(10)
        # Both were called once on connecting (what was missed before).
        assert wait_for(lambda: calls == {JOBS: 1, LIVE: 1})
        engine = make_engine(pg_url)
        sessions = make_sessionmaker(engine)
        queue(sessions, 3)  # one transaction, one notification
        assert wait_for(lambda: calls[JOBS] == 2)
        with psycopg.connect(libpq_conninfo(pg_url), autocommit=True) as conn:
            conn.execute(
                "INSERT INTO route_revisions (day, vehicle, revision) "
                "VALUES ('2026-12-07', 'van-9', 1)"
            )
            assert wait_for(lambda: calls[LIVE] == 2)
            # The listening connection dies: the bus reconnects and calls
            # everyone once more, so nothing said meanwhile is missed.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN%' AND datname = current_database()"
            )
        assert wait_for(lambda: calls[JOBS] >= 3 and calls[LIVE] >= 3, 10)
        assert bus.wait_listening(10)
        engine.dispose()
    finally:
        bus.stop()
    assert not bus.listening


def test_live_changes_wake_a_waiting_stream(pg_url: str) -> None:
    bus = Bus(pg_url)
    changes = LiveChanges(bus)

    async def scenario() -> tuple[float, float, int]:
        seen = changes.count
        start = time.monotonic()
        assert await changes.wait(seen, 0.3) == seen  # nothing: it times out
        quiet = time.monotonic() - start
        threading.Timer(0.2, changes.bump).start()
        start = time.monotonic()
        got = await changes.wait(seen, 30)
        return quiet, time.monotonic() - start, got - seen

    quiet, woken, moved = asyncio.run(scenario())
    assert quiet >= 0.3
    assert woken < 5 and moved == 1
    assert not changes.heard  # the bus never started: streams poll
