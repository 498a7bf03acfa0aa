"""Job kinds used by the job runner tests (module level: they are pickled).

:data:`KINDS` is the service's registry plus these; :func:`make_app` builds
an app that runs them (the worker processes import this module to find the
functions).
"""

from __future__ import annotations

import os
import signal
import time

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.app import create_app
from api.jobs.handlers import Progress
from api.jobs.kinds import JobKind, OnSuccess, default_kinds
from api.services.plans import plan_hooks
from api.settings import Settings
from scenarios.spec import ScenarioError


class Number(BaseModel):
    """A number to double."""

    n: int


class Doubled(BaseModel):
    """Twice the number, and the process that doubled it."""

    n: int
    pid: int


class Steps(BaseModel):
    """How many progress steps, how far apart."""

    steps: int
    pause: float


class StepsDone(BaseModel):
    """The steps made."""

    steps: int


class Reason(BaseModel):
    """Why to fail."""

    reason: str


class Nothing(BaseModel):
    """No payload, or no result."""


class Pause(BaseModel):
    """How long to sleep."""

    seconds: float


class Slept(BaseModel):
    """How long it slept."""

    slept: float


class Answer(BaseModel):
    """A fine result."""

    answer: int


def double(payload: Number, progress: Progress) -> Doubled:
    """Twice ``payload.n``, at once."""
    return Doubled(n=payload.n * 2, pid=os.getpid())


def steps(payload: Steps, progress: Progress) -> StepsDone:
    """Report ``payload.steps`` progress steps, ``payload.pause`` s apart."""
    n = payload.steps
    for i in range(n):
        progress(i / n, f"step {i + 1} of {n}")
        time.sleep(payload.pause)
    return StepsDone(steps=n)


def fail(payload: Reason, progress: Progress) -> Nothing:
    """Always raise ``ValueError`` with ``payload.reason``."""
    raise ValueError(payload.reason)


def fail_infeasible(payload: Reason, progress: Progress) -> Nothing:
    """Raise the domain's own error (its message is for the client)."""
    raise ScenarioError(payload.reason)


def sleep(payload: Pause, progress: Progress) -> Slept:
    """Sleep ``payload.seconds``."""
    progress(0.0, "sleeping")
    time.sleep(payload.seconds)
    return Slept(slept=payload.seconds)


def crash(payload: Nothing, progress: Progress) -> Nothing:
    """Kill the worker process, as the out-of-memory killer would."""
    os.kill(os.getpid(), signal.SIGKILL)
    return Nothing()  # pragma: no cover


def bad_hook_result(payload: Nothing, progress: Progress) -> Answer:
    """A fine result whose hook then fails."""
    return Answer(answer=42)


def wrong_result(payload: Nothing, progress: Progress) -> Answer:
    """A result of another model than the kind's."""
    return Nothing()  # type: ignore[return-value]


def refuse(session: Session, job_id: str, payload: Nothing, result: Answer) -> None:
    """A hook that cannot store the result."""
    raise LookupError(f"nowhere to store job {job_id}")


DOUBLE = JobKind("test-double", Number, Doubled, double)
STEPS = JobKind("test-steps", Steps, StepsDone, steps)
RAISE = JobKind("test-raise", Reason, Nothing, fail)
RAISE_DOMAIN = JobKind("test-raise-domain", Reason, Nothing, fail_infeasible)
SLEEP = JobKind("test-sleep", Pause, Slept, sleep)
CRASH = JobKind("test-crash", Nothing, Nothing, crash)
BAD_HOOK = JobKind("test-bad-hook", Nothing, Answer, bad_hook_result)
WRONG_RESULT = JobKind("test-wrong-result", Nothing, Answer, wrong_result)

KINDS = default_kinds(
    extra=(DOUBLE, STEPS, RAISE, RAISE_DOMAIN, SLEEP, CRASH, BAD_HOOK, WRONG_RESULT)
)
HOOKS = [*plan_hooks(KINDS), (BAD_HOOK.name, OnSuccess(BAD_HOOK, refuse))]


def make_app(settings: Settings) -> FastAPI:
    """The service with the test kinds registered."""
    return create_app(settings, kinds=KINDS, hooks=HOOKS)
