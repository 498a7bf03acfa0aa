"""``DELETE /v1/jobs/{job_id}``: cancel a queued or a running job (issue #19)."""

from __future__ import annotations

import os
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import Role
from api.db import jobs as job_rows
from api.settings import Settings
from tests.api.conftest import auth, make_keys
from tests.api.jobs import job_kinds
from tests.api.jobs.job_kinds import make_app
from tests.api.jobs.test_runner import read_job, submit_now, wait_job


@pytest.fixture
def idle_settings(database_url: str) -> Settings:
    """Settings of a service process that runs no jobs."""
    return Settings(database_url=database_url, log_json=False, job_workers=0)


def _pool_pids(app: FastAPI) -> set[int]:
    pool = app.state.job_runner._pool
    processes = getattr(pool, "_processes", None) or {}
    return {p.pid for p in processes.values() if p.is_alive()}


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie the pool has not reaped yet counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_running_job_is_cancelled_and_its_worker_stopped(
    app: FastAPI, client: TestClient
) -> None:
    """The worker solving the job is ended; the job stays ``cancelled``; the
    next job runs in a fresh worker."""
    admin = make_keys(app)[Role.admin]
    job_id = submit_now(app, job_kinds.SLEEP, {"seconds": 60})
    wait_job(app, job_id, until=frozenset({"running"}))
    deadline = time.monotonic() + 30
    while not (pids := _pool_pids(app)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    got = client.delete(f"/v1/jobs/{job_id}", headers=auth(admin))
    assert got.status_code == 200, got.text
    assert got.json()["status"] == "cancelled"
    deadline = time.monotonic() + 10
    while not all(_gone(pid) for pid in pids):
        assert time.monotonic() < deadline, f"worker {pids} still alive"
        time.sleep(0.05)
    after = submit_now(app, job_kinds.DOUBLE, {"n": 4})
    assert wait_job(app, after).status == "succeeded"
    row = read_job(app, job_id)
    assert row.status == "cancelled" and row.finished_at is not None
    again = client.delete(f"/v1/jobs/{job_id}", headers=auth(admin))
    assert again.status_code == 409, again.text
    assert "cancelled already" in again.json()["detail"]


def test_a_queued_job_is_cancelled_and_never_runs(idle_settings: Settings) -> None:
    """A job no runner has taken is cancelled at once and stays so."""
    app = make_app(idle_settings)
    with TestClient(app) as client:
        admin = make_keys(app)[Role.admin]
        job_id = submit_now(app, job_kinds.DOUBLE, {"n": 1})
        got = client.delete(f"/v1/jobs/{job_id}", headers=auth(admin))
        assert got.status_code == 200, got.text
        assert got.json()["status"] == "cancelled"
    assert read_job(app, job_id).status == "cancelled"


@pytest.mark.parametrize(
    ("kind", "may", "may_not"),
    [
        ("plan", Role.dispatcher, Role.planner),
        ("reoptimize", Role.dispatcher, Role.planner),
        ("forecast", Role.planner, Role.dispatcher),
        ("scenario", Role.planner, Role.dispatcher),
    ],
)
def test_who_may_create_a_kind_may_cancel_it(
    idle_settings: Settings, kind: str, may: Role, may_not: Role
) -> None:
    """403 for another role; 200 for the kind's role; 404 for no such job."""
    app = make_app(idle_settings)
    with TestClient(app) as client:
        keys = make_keys(app)
        with app.state.sessionmaker.begin() as session:
            job_id = job_rows.add_job(session, kind=kind, payload={}).id
        refused = client.delete(f"/v1/jobs/{job_id}", headers=auth(keys[may_not]))
        assert refused.status_code == 403, refused.text
        assert read_job(app, job_id).status == "queued"
        done = client.delete(f"/v1/jobs/{job_id}", headers=auth(keys[may]))
        assert done.status_code == 200, done.text
        missing = client.delete("/v1/jobs/no-such-job", headers=auth(keys[may]))
        assert missing.status_code == 404, missing.text
        device = client.delete(f"/v1/jobs/{job_id}", headers=auth(keys[Role.device]))
        assert device.status_code == 403
