"""Scale out on PostgreSQL: two API processes and two job workers, one database.

Real processes (``milepost serve`` with ``MILEPOST_JOB_WORKERS=0`` twice,
``milepost worker`` twice), real solves (the documented 9-order example).
Checked: every job runs once (claimed once, its plan stored once), an
``SSE`` client of one API process sees a change made through the other at
once (the database's notifications, not a poll), and ``kill -9`` of a worker
in the middle of a solve loses no job (the other worker finishes it).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import select

from api.auth import Role, create_key
from api.db.engine import make_engine, make_sessionmaker
from api.db.migrate import upgrade
from api.db.tables_jobs import JobRow, PlanRow
from tests.api.conftest import auth
from tests.serve import free_port, serve, start_worker

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "docs/examples/small_problem.json"
JOBS = 6
#: Long enough to kill a worker in the middle of one.
PARAMS = {"time_limit": 3, "workers": 1}
API_ONLY = {"MILEPOST_JOB_WORKERS": "0"}


class Deployment:
    """Two API processes and two workers on one PostgreSQL database."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.procs: list[subprocess.Popen[bytes]] = []
        upgrade(url)
        self.engine = make_engine(url)
        self.sessions = make_sessionmaker(self.engine)
        with self.sessions.begin() as session:
            self.key = create_key(session, Role.dispatcher, "scale-out test")
        self.ports = [free_port(), free_port()]
        for i, port in enumerate(self.ports):
            log = folder / f"api-{i}.log"
            self.procs.append(serve(url, port, log, API_ONLY))
        self.workers = [start_worker(url, folder / f"worker-{i}.log") for i in range(2)]
        self.procs += self.workers

    def api(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def jobs(self) -> dict[str, JobRow]:
        with self.sessions() as session:
            return {row.id: row for row in session.scalars(select(JobRow)).all()}

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.engine.dispose()


@pytest.fixture
def deployment(pg_url: str, tmp_path: Path) -> Iterator[Deployment]:
    """The four processes, stopped after the test."""
    dep = Deployment(pg_url, tmp_path)
    try:
        yield dep
    finally:
        dep.close()


def started_by(log: Path) -> list[str]:
    """The ids of the jobs a worker's log says it started."""
    return re.findall(r"job ([0-9a-f]{32}) \(plan\) started", log.read_text())


def test_two_apis_two_workers_run_each_job_once_and_share_live_updates(
    deployment: Deployment, tmp_path: Path
) -> None:
    dep = deployment
    problem = json.loads(EXAMPLE.read_text())
    headers = auth(dep.key)
    ids = []
    for i in range(JOBS):  # half through each API process
        response = httpx.post(
            f"{dep.api(i % 2)}/v1/plans",
            json={"problem": problem, "params": PARAMS},
            headers=headers,
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])

    # kill -9 the first worker in the middle of a solve.
    victim = dep.workers[0]
    deadline = time.monotonic() + 60
    killed_job = None
    while killed_job is None:
        assert time.monotonic() < deadline, "worker 0 never ran a job"
        for row in dep.jobs().values():
            if row.status == "running" and f"/{victim.pid}/" in (row.worker_id or ""):
                killed_job = row.id
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)

    deadline = time.monotonic() + 120
    while True:
        rows = dep.jobs()
        if all(r.status in ("succeeded", "failed") for r in rows.values()):
            break
        assert time.monotonic() < deadline, {r.id: r.status for r in rows.values()}
        time.sleep(0.2)

    # No job lost; each claimed once, except the one whose worker died.
    assert sorted(rows) == sorted(ids)
    assert {r.status for r in rows.values()} == {"succeeded"}, [
        r.error for r in rows.values()
    ]
    attempts = {job_id: row.attempts for job_id, row in rows.items()}
    assert attempts == {j: 2 if j == killed_job else 1 for j in ids}
    with dep.sessions() as session:
        plans = session.scalars(select(PlanRow.id)).all()
    assert sorted(plans) == sorted(ids)  # one plan per job, stored once
    first = started_by(tmp_path / "worker-0.log")
    second = started_by(tmp_path / "worker-1.log")
    assert killed_job in first and killed_job in second
    assert sorted(set(first) | set(second)) == sorted(ids)
    assert set(first) & set(second) == {killed_job}

    # A stream on API 0 sees the dispatch made through API 1 at once: API 0
    # hears the database's notifications (so the stream is not polling).
    metrics = httpx.get(f"{dep.api(0)}/metrics").text
    assert "milepost_db_notifications_listening 1.0" in metrics
    plan = httpx.get(f"{dep.api(0)}/v1/plans/{ids[0]}", headers=headers).json()
    steps = plan["plan"]["routes"][0]["steps"]
    order = next(s["id"] for s in steps if s["type"] in ("job", "delivery"))
    seen: list[tuple[float, dict[str, Any]]] = []
    ready = threading.Event()

    def listen() -> None:
        url = f"{dep.api(0)}/v1/orders/{order}/stream?max_seconds=30"
        with httpx.stream("GET", url, headers=headers, timeout=40) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    seen.append((time.monotonic(), json.loads(line[6:])))
                    ready.set()
                    if seen[-1][1]["status"] == "dispatched":
                        return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert ready.wait(20), "the stream sent nothing"
    assert seen[0][1]["status"] == "planned"
    time.sleep(1.5)  # the stream is now waiting for a change, not polling
    sent = time.monotonic()
    response = httpx.post(f"{dep.api(1)}/v1/plans/{ids[0]}/dispatch", headers=headers)
    assert response.status_code == 200, response.text
    reader.join(15)
    assert seen[-1][1]["status"] == "dispatched", seen
    # Well under the quiet redraw (10 s): the notification woke it.
    assert seen[-1][0] - sent < 3.0
