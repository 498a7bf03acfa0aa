"""Crash recovery: after ``kill -9`` of the server none of its children lives on.

A real ``milepost serve`` runs a long plan job in its process pool (a
forkserver, its worker, the resource tracker). The server is killed with
SIGKILL; within a few seconds every process descended from it must be gone,
so no orphan keeps solving a job that the next start re-queues.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from api.auth import Role, create_key
from api.db.engine import make_engine, make_sessionmaker
from api.db.migrate import upgrade
from tests.api.conftest import auth
from tests.serve import free_port, serve

EXAMPLE = Path(__file__).resolve().parents[2] / "docs/examples/small_problem.json"


@pytest.fixture
def planner_key(database_url: str) -> Iterator[str]:
    """A dispatcher's key in the (migrated) test database."""
    upgrade(database_url)
    engine = make_engine(database_url)
    with make_sessionmaker(engine).begin() as session:
        key = create_key(session, Role.dispatcher, "crash test")
    engine.dispose()
    yield key


def _stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, start time) of a live process, None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0], fields[19]


def _descendants(root: int) -> dict[int, str]:
    """Live descendants of ``root``: pid -> start time."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is not None and stat[1] != "Z":
            children.setdefault(stat[0], []).append(int(entry.name))
            starts[int(entry.name)] = stat[2]
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = starts[child]
            todo.append(child)
    return found


def _alive(pids: dict[int, str]) -> dict[int, str]:
    """Those of ``pids`` still running (same start time, not a zombie)."""
    alive = {}
    for pid, start in pids.items():
        stat = _stat(pid)
        if stat is not None and stat[1] != "Z" and stat[2] == start:
            alive[pid] = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    return alive


def test_sigkill_leaves_no_orphan_process(
    database_url: str, planner_key: str, tmp_path: Path
) -> None:
    """The pool's worker, the forkserver and the tracker die with the server."""
    port = free_port()
    log = tmp_path / "server.log"
    server = serve(database_url, port, log)
    seen: dict[int, str] = {}
    try:
        body = {
            "problem": json.loads(EXAMPLE.read_text()),
            "params": {"time_limit": 120, "workers": 1},
        }
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/plans", json=body, headers=auth(planner_key)
        )
        assert response.status_code == 202, response.text
        url = f"http://127.0.0.1:{port}{response.json()['url']}"
        deadline = time.monotonic() + 60
        while True:
            seen.update(_descendants(server.pid))
            status = httpx.get(url, headers=auth(planner_key)).json()["job"]["status"]
            # The worker is a grandchild (forkserver -> worker): three or more.
            if status == "running" and len(seen) >= 3:
                break
            assert time.monotonic() < deadline, (status, seen, log.read_text())
            time.sleep(0.2)
        time.sleep(1.0)  # the worker is solving now
        seen.update(_descendants(server.pid))
    finally:
        server.kill()
        server.wait()
    assert server.returncode == -9
    deadline = time.monotonic() + 5
    while _alive(seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _alive(seen)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, 9)
    assert not left, f"orphans after kill -9: {left}"
