"""Job kinds used by the job runner tests (module level: they are pickled).

Importing this module registers them, in the test process (which runs the
runner) and in the worker processes (which run the functions).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from sqlalchemy.orm import Session

from api.jobs import JobRow, Progress, on_success, register

DOUBLE = "test-double"
STEPS = "test-steps"
RAISE = "test-raise"
SLEEP = "test-sleep"
CRASH = "test-crash"
BAD_HOOK = "test-bad-hook"


@register(DOUBLE)
def double(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Twice ``payload["n"]``, at once."""
    return {"n": payload["n"] * 2, "pid": os.getpid()}


@register(STEPS)
def steps(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Report ``payload["steps"]`` progress steps, ``payload["pause"]`` s apart."""
    n = payload["steps"]
    for i in range(n):
        progress(i / n, f"step {i + 1} of {n}")
        time.sleep(payload["pause"])
    return {"steps": n}


@register(RAISE)
def fail(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Always raise ``ValueError`` with ``payload["reason"]``."""
    raise ValueError(payload["reason"])


@register(SLEEP)
def sleep(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Sleep ``payload["seconds"]``."""
    progress(0.0, "sleeping")
    time.sleep(payload["seconds"])
    return {"slept": payload["seconds"]}


@register(CRASH)
def crash(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Kill the worker process, as the out-of-memory killer would."""
    os.kill(os.getpid(), signal.SIGKILL)
    return {}  # pragma: no cover


@register(BAD_HOOK)
def bad_hook_result(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """A fine result whose hook then fails."""
    return {"answer": 42}


@on_success(BAD_HOOK)
def refuse(session: Session, job: JobRow) -> None:
    """A hook that cannot store the result."""
    raise LookupError(f"nowhere to store job {job.id}")
