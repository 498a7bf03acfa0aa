"""Large days with their parts on a Dask cluster: same plan, failures named."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import dask
import distributed
import pytest

from routing.model import Location, Problem
from routing.plan import Plan, StepType
from routing.solver import SolveParams, check, pool
from routing.solver.decompose import (
    BOUNDED_ROUNDS,
    LargeParams,
    LargeResult,
    decompose_solve,
)
from routing.solver.pool import SchedulerUnreachable
from routing.travel import HaversineTravel, TravelMatrix
from scenarios.city import build_city, day_problem

TRAVEL = HaversineTravel()
#: Bounded: parts stop after this many iterations, not at the time limit,
#: which is far enough away not to end any search on a loaded machine.
BOUNDED = SolveParams(time_limit=300.0, iterations=60, seed=3)


@pytest.fixture(scope="module")
def day() -> Problem:
    """A 300-order day of the embedded city (three depots, night vans)."""
    city = build_city(seed=7, n_customers=900, end=date(2024, 1, 31))
    return day_problem(city, date(2024, 2, 1), n_orders=300, seed=7)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """Two single-threaded worker processes; a task whose worker dies fails
    at once (no retry on the other worker); the scheduler's address."""
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
    ):
        yield local.scheduler_address


def _large(scheduler: str | None, **more: Any) -> LargeParams:
    """Several parts of 50 orders, never the whole day at once."""
    return LargeParams(
        part_size=50, workers=2, whole_max=0, scheduler=scheduler, **more
    )


def _routes(plan: Plan) -> list[tuple[str, list[tuple[str | None, int]]]]:
    return [
        (r.vehicle, [(s.id, s.service_start) for s in r.steps]) for r in plan.routes
    ]


def test_cluster_and_local_processes_give_the_same_plan(
    day: Problem, cluster: str
) -> None:
    """A bounded search: the same routes, stop for stop and second for second."""
    here = decompose_solve(day, params=BOUNDED, travel=TRAVEL, large=_large(None))
    there = decompose_solve(day, params=BOUNDED, travel=TRAVEL, large=_large(cluster))
    assert here.parts >= 6
    assert here.rounds == there.rounds == BOUNDED_ROUNDS
    assert here.where == "2 local processes"
    assert there.where == f"Dask at {cluster}"
    assert here.failures == there.failures == []
    assert _routes(here.plan) == _routes(there.plan)
    assert here.plan.unassigned == there.plan.unassigned
    assert there.verdict.ok, str(there.verdict)
    assert len(there.task_seconds["parts"]) == there.parts
    assert set(there.task_seconds) == {"parts", "round 1", "round 2", "round 3"}
    assert set(there.peak_rss_by_process) == {
        "client",
        "scheduler",
        "worker 1",
        "worker 2",
    }
    assert there.peak_worker_rss_mib == max(
        there.peak_rss_by_process[w] for w in ("worker 1", "worker 2")
    )


@dataclass(frozen=True)
class _Poisoned(HaversineTravel):
    """Straight lines, except in a worker process on a part with ``poison``:
    there it raises, or with ``die`` ends the process on the spot."""

    poison: tuple[float, float] = (0.0, 0.0)
    home: int = 0
    die: bool = False

    def matrix(self, points: Any, *, depart: int | None = None) -> TravelMatrix:
        if os.getpid() != self.home and any(
            (p.lat, p.lon) == self.poison for p in points
        ):
            if self.die:
                os._exit(3)
            raise RuntimeError("poisoned location")
        return super().matrix(points, depart=depart)


def _poisoned(day: Problem, *, die: bool) -> tuple[_Poisoned, str]:
    """A travel model that fails the parts holding one order: the first
    served at a place of its own."""
    places = Counter(_place(day.job_location(j)) for j in day.jobs)
    job = next(j for j in day.jobs if places[_place(day.job_location(j))] == 1)
    poison = _place(day.job_location(job))
    return _Poisoned(poison=poison, home=os.getpid(), die=die), job.id


def _place(location: Location) -> tuple[float, float]:
    assert location.lat is not None and location.lon is not None
    return (location.lat, location.lon)


def _failed_parts(result: LargeResult) -> list[str]:
    return [f for f in result.failures if f.startswith("part ")]


def test_a_part_that_raises_on_the_cluster_is_named(day: Problem, cluster: str) -> None:
    """The failing part is reported with its name and reason; the rescue
    still places its orders and the plan passes the checker."""
    travel, poisoned = _poisoned(day, die=False)
    result = decompose_solve(
        day, params=BOUNDED, travel=travel, large=_large(cluster, improve=False)
    )
    failed = _failed_parts(result)
    assert len(failed) == 1
    assert f" of {result.parts} (" in failed[0]
    assert failed[0].endswith("RuntimeError: poisoned location")
    assert result.verdict.ok, str(result.verdict)
    assert check(day, result.plan, TRAVEL).ok
    served = {s.id for r in result.plan.routes for s in r.steps if s.id}
    left = {u.id: u.detail for u in result.plan.unassigned}
    assert poisoned in served or failed[0] in left[poisoned]


def _accounted(day: Problem, result: LargeResult) -> None:
    """Every order is on a route or unassigned: none silently missing."""
    planned = [
        s.id
        for r in result.plan.routes
        for s in r.steps
        if s.type is StepType.JOB and s.id is not None
    ]
    left = [u.id for u in result.plan.unassigned]
    assert sorted(planned + left) == sorted(j.id for j in day.jobs)


def test_a_worker_that_dies_on_the_cluster_is_named(day: Problem, cluster: str) -> None:
    """The part whose worker process died is reported (with any part queued
    on that worker: the cluster retries none), the rest are planned."""
    travel, poisoned = _poisoned(day, die=True)
    result = decompose_solve(
        day, params=BOUNDED, travel=travel, large=_large(cluster, improve=False)
    )
    failed = _failed_parts(result)
    assert 1 <= len(failed) < result.parts
    assert all("KilledWorker" in f for f in failed)
    assert len({f.split(":")[0] for f in failed}) == len(failed)
    assert result.verdict.ok, str(result.verdict)
    _accounted(day, result)
    left = {u.id: u.detail for u in result.plan.unassigned}
    assert poisoned not in left or any(f in left[poisoned] for f in failed)


def test_a_local_worker_that_dies_names_every_part_it_took_down(
    day: Problem,
) -> None:
    """A dead local process breaks the pool: each part lost is named, none
    is silently missing, and the improvement stops."""
    travel, _ = _poisoned(day, die=True)
    result = decompose_solve(
        day, params=BOUNDED, travel=travel, large=_large(None, rounds=2)
    )
    assert _failed_parts(result)
    assert all("BrokenProcessPool" in f for f in result.failures)
    named = [f.split(":")[0] for f in _failed_parts(result)]
    assert len(named) == len(set(named))
    assert result.rounds == 0
    assert result.verdict.ok, str(result.verdict)
    _accounted(day, result)


def _solve_in_a_task(day: Problem) -> str:
    """A large day solved by a task on the cluster (as a simulated day is)."""
    result = decompose_solve(
        day,
        params=BOUNDED,
        travel=TRAVEL,
        large=_large(None, improve=False),
    )
    assert result.verdict.ok, str(result.verdict)
    return result.where


def test_a_large_day_inside_a_task_solves_its_parts_on_that_cluster(
    day: Problem, cluster: str
) -> None:
    """A Dask worker may not fork a pool: the parts go to its own cluster,
    and the task's thread is given back so they are not starved."""
    with distributed.Client(cluster, set_as_default=False) as client:  # type: ignore[no-untyped-call]
        where = client.submit(_solve_in_a_task, day, pure=False).result()
    assert where == f"Dask at {cluster} (this task's cluster)"


def test_an_unreachable_scheduler_is_named(
    day: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No scheduler at the address: the error says which address."""
    monkeypatch.setattr(pool, "CONNECT_TIMEOUT", 1)
    with pytest.raises(SchedulerUnreachable, match=r"tcp://127\.0\.0\.1:9"):
        decompose_solve(
            day,
            params=BOUNDED,
            travel=TRAVEL,
            large=_large("tcp://127.0.0.1:9"),
        )
