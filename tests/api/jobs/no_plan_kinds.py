"""The service with a plan kind whose search never finds a solution.

Module level (the job's worker process imports it by name): the handler
is the service's own :func:`api.jobs.handlers.solve_plan`, run after
OR-Tools' search is made to return no assignment, in that worker process
only. On the documented example (it has shipments, which insertion does not
place) every fallback then fails too.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from fastapi import FastAPI

from api.app import create_app
from api.jobs.handlers import Progress, solve_plan
from api.jobs.kinds import PLAN_URL, JobKind, default_kinds
from api.jobs.payloads import PlanPayload, PlanResult
from api.services.plans import plan_hooks
from api.settings import Settings


def _no_assignment(*_args: Any) -> tuple[None, bool]:
    return None, False


def solve_without_solutions(payload: PlanPayload, progress: Progress) -> PlanResult:
    """The service's solve, on an OR-Tools that never finds a solution."""
    adapter = importlib.import_module("routing.solver.ortools_adapter")
    adapter._search = _no_assignment
    return solve_plan(payload, progress)


KINDS = dataclasses.replace(
    default_kinds(),
    plan=JobKind("plan", PlanPayload, PlanResult, solve_without_solutions, PLAN_URL),
)


def make_app(settings: Settings) -> FastAPI:
    """The service whose plans never find a solution."""
    return create_app(settings, kinds=KINDS, hooks=plan_hooks(KINDS))
