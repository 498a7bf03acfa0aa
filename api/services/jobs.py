"""Background jobs, whatever their kind: the runner a process starts, cancelling.

:func:`make_runner` builds the job runner of a service process or of a
``milepost worker`` (the same kinds and the same success hooks, so a plan
solved anywhere is stored and tracked the same way).

``DELETE /v1/jobs/{job_id}`` cancels a queued job (it never starts) or a
running one (its worker process is stopped); the job ends ``cancelled``. Who
may create a job of a kind may cancel it: dispatchers plans and
re-optimisations, planners forecasts and scenarios, admins any job.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, Role
from api.db import jobs as job_rows
from api.jobs.kinds import JobKinds
from api.jobs.queue import JobPublic, JobQueue
from api.jobs.runner import JobHook, JobRunner
from api.services.errors import Conflict, Forbidden, NotFound
from api.services.plans import PlanStored, plan_hooks
from api.services.retention import retention_hooks
from api.settings import Settings

__all__ = ["CANCELLERS", "cancel_job", "make_runner"]


def make_runner(
    settings: Settings,
    sessions: sessionmaker[Session],
    kinds: JobKinds,
    hooks: Sequence[tuple[str, JobHook]] | None = None,
    *,
    workers: int | None = None,
    plan_stored: PlanStored | None = None,
) -> JobRunner:
    """The job runner of one process, configured from ``settings``.

    ``hooks`` default to storing the plans of plan jobs
    (:func:`api.services.plans.plan_hooks`, which tell ``plan_stored`` of
    each) and the pricing of retention fits
    (:func:`api.services.retention.retention_hooks`); ``workers`` to
    ``settings.job_workers``.
    """
    if hooks is None:
        hooks = [*plan_hooks(kinds, plan_stored), *retention_hooks(kinds)]
    return JobRunner(
        sessions,
        kinds=kinds,
        hooks=hooks,
        workers=settings.job_workers if workers is None else workers,
        dask_scheduler=settings.dask_scheduler,
        lease_seconds=settings.job_lease_seconds,
    )


#: The roles (besides admin) that may cancel a job of each kind.
CANCELLERS: dict[str, frozenset[Role]] = {
    "plan": frozenset({Role.dispatcher}),
    "reoptimize": frozenset({Role.dispatcher}),
    "forecast": frozenset({Role.planner}),
    "scenario": frozenset({Role.planner}),
    "retention_fit": frozenset({Role.planner}),
}


def cancel_job(
    session: Session, *, queue: JobQueue, job_id: str, caller: Principal
) -> JobPublic:
    """Cancel job ``job_id`` for ``caller``; the job as it is now.

    Raises
    ------
    NotFound
        No such job.
    Forbidden
        The caller's role may not create jobs of this kind.
    Conflict
        The job has ended (succeeded, failed or cancelled) already.
    """
    row = job_rows.get_job(session, job_id=job_id)
    if row is None:
        raise NotFound(f"no job {job_id}")
    allowed = CANCELLERS.get(row.kind, frozenset())
    if caller.role is not Role.admin and caller.role not in allowed:
        raise Forbidden(f"a {caller.role.value} key may not cancel a {row.kind} job")
    if not queue.cancel(session, job_id):
        session.refresh(row)
        raise Conflict(f"job {job_id} is {row.status} already: nothing to cancel")
    session.refresh(row)
    return queue.public(row)
