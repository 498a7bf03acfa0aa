"""Lifelines chain: what a watching process forks dies with it (api.jobs.lifeline).

A pool worker watches the service; the solver forks helpers inside it (the
PyVRP side of the portfolio). A fork copies no thread, so before the chain a
``kill -9`` of the service left those helpers solving on their own.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

#: Watch the process named in argv[1], fork a child that sleeps, print its pid.
WORKER = """
import os, sys, time
from api.jobs import lifeline
lifeline.watch(int(sys.argv[1]))
child = os.fork()
if child == 0:
    time.sleep(120)
    os._exit(0)
print(child, flush=True)
time.sleep(120)
"""


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_fork_of_a_watching_process_dies_with_the_watched_one() -> None:
    service = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(service.pid)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    helper = int(worker.stdout.readline())
    try:
        assert _running(helper) and worker.poll() is None
        service.kill()
        service.wait()
        assert worker.wait(timeout=20) == -9  # the worker's own lifeline
        assert _gone_within(helper, 20), "the helper outlived its worker"
    finally:
        for proc in (service, worker):
            proc.kill()
            proc.wait()
        if _running(helper):
            subprocess.run(["kill", "-9", str(helper)], check=False)
