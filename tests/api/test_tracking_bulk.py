"""Registering a plan with tracking reads and writes in bulk, not per order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.db import tracking as rows
from api.db.engine import make_engine, make_sessionmaker
from api.db.migrate import upgrade
from api.services.tracking import register_plan
from routing.solver import SolveParams, solve
from tests.factories import random_problem
from tracking.status import OrderState

DAY = dt.date(2026, 12, 1)


@pytest.fixture
def db(database_url: str) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine, make_sessionmaker(engine)
    engine.dispose()


def _statements(engine: Engine, run: object) -> int:
    count = [0]

    def counted(*_: object) -> None:
        count[0] += 1

    event.listen(engine, "before_cursor_execute", counted)
    try:
        assert callable(run)
        run()
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count[0]


@pytest.mark.parametrize("n_jobs", [20, 80])
def test_statements_do_not_grow_with_orders(
    db: tuple[Engine, sessionmaker[Session]], n_jobs: int
) -> None:
    """A plan and its re-planned successor are tracked in a few dozen
    statements whatever their size (each order read one by one cost 13 s
    for 2,000 orders on PostgreSQL), and every order ends planned on the
    successor's van."""
    engine, sessions = db
    problem = random_problem(5, n_jobs=n_jobs, n_vehicles=4)
    # 3 s: at load 15 on two cores a 1 s search served none of 80 orders.
    plan = solve(problem, params=SolveParams(time_limit=3))
    served = [o for r in plan.routes for o in r.order_ids]
    assert len(served) >= n_jobs // 2

    def track(plan_id: str) -> None:
        with sessions.begin() as session:
            register_plan(
                session, day=DAY, plan_id=plan_id, plan=plan, problem=problem, at=30000
            )

    first = _statements(engine, lambda: track("A"))
    again = _statements(engine, lambda: track("B"))
    assert first <= 40, first
    assert again <= 40, again
    on_van = {o: r.vehicle for r in plan.routes for o in r.order_ids}
    with sessions() as session:
        for order_id in served:
            status = rows.order_status(session, order_id=order_id)
            assert status is not None, order_id
            assert status.state is OrderState.PLANNED
            assert status.vehicle == on_van[order_id]
