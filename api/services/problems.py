"""The planning problem of a stored day: depots, their vehicles, the orders
and the pickup stations they are delivered to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.db import fleet, orders, stations
from api.db.engine import locale_of
from api.db.tables_dispatch import OrderRow
from api.services import tracking
from api.services.errors import FieldError, Invalid
from routing.model import Depot, Job, PickupStation, Problem, Vehicle
from routing.wallclock import from_wall_clock

__all__ = ["NothingToPlan", "problem_for"]


class NothingToPlan(Invalid, LookupError):
    """The stored data hold no plan for the request; ``field`` is the cause.

    ``"depot_id"`` when the depot is unknown or its vehicles refer to missing
    depots; ``"day"`` when the day has no vehicles or no active orders.
    """

    def __init__(self, message: str, field: str) -> None:
        super().__init__([FieldError(field=field, reason=message)])
        self.field = field


def problem_for(session: Session, *, day: dt.date, depot_id: str | None) -> Problem:
    """The planning problem of a day: depots, their vehicles, the active
    orders and the stations those orders go to.

    Active orders already off the plan by their tracked state (cancelled by
    an event, delivered, a failed attempt not resolved yet: see
    :func:`api.services.tracking.off_plan_orders`) are left out.

    Parameters
    ----------
    session
        Open session.
    day
        The delivery date; it becomes ``Problem.date``, and the session's
        deployment locale (:func:`api.db.engine.locale_of`) the problem's.
    depot_id
        Plan one depot: its vehicles (home depot) and its orders. None: every
        depot, every vehicle and every active order of the day.

    Returns
    -------
    Problem
        Valid: every depot a vehicle starts or ends at is included. When
        every depot is planned at once, a delivery is pinned to its order's
        depot (the parcel is loaded there); one depot's vans need no pin.

    Raises
    ------
    NothingToPlan
        No such depot, no vehicle, or no active order that day.
    Invalid
        The stored data do not make a valid problem (e.g. demand dimensions
        changed after a vehicle was replaced); field ``day`` says why.
    """
    where = "" if depot_id is None else f" at depot {depot_id!r}"
    if depot_id is not None and fleet.get_depot(session, depot_id=depot_id) is None:
        raise NothingToPlan(f"no depot {depot_id!r}", "depot_id")
    vehicles = [row.vehicle for row in fleet.vehicles_of(session, depot_id=depot_id)]
    if not vehicles:
        raise NothingToPlan(f"no vehicles{where}", "day")
    rows = orders.active_orders(session, day=day, depot_id=depot_id)
    off = set(tracking.off_plan_orders(session, order_ids=[r.id for r in rows]))
    rows = [r for r in rows if r.id not in off]
    if not rows:
        raise NothingToPlan(f"no active orders on {day.isoformat()}{where}", "day")
    depots = _depots(session, vehicles, depot_id)
    jobs = _jobs(rows, pin=depot_id is None and len(depots) > 1)
    try:
        problem = Problem(
            date=day,
            locale=locale_of(session),
            depots=tuple(depots),
            stations=tuple(_stations(session, jobs)),
            vehicles=tuple(vehicles),
            jobs=tuple(jobs),
        )
    except ValidationError as exc:
        reasons = "; ".join(err["msg"] for err in exc.errors())
        reason = f"the stored data make no valid problem: {reasons}"
        raise Invalid.one("day", reason) from None
    return from_wall_clock(problem, orders=False)


def _depots(
    session: Session, vehicles: Sequence[Vehicle], depot_id: str | None
) -> list[Depot]:
    """The depots to plan: the one asked for (or all), and the vans' ends."""
    wanted = {depot_id} if depot_id is not None else set()
    for v in vehicles:
        wanted |= {ref for ref in (v.start, v.end) if ref is not None}
    if depot_id is None:
        wanted |= fleet.depot_ids(session)
    rows = fleet.depots_by_id(session, ids=sorted(wanted))
    missing = wanted - {row.id for row in rows}
    if missing:
        raise NothingToPlan(
            f"vehicles refer to missing depots: {', '.join(sorted(missing))}",
            "day" if depot_id is None else "depot_id",
        )
    return sorted((row.depot for row in rows), key=lambda d: d.id)


def _stations(session: Session, jobs: Sequence[Job]) -> list[PickupStation]:
    """The stored stations the jobs are delivered to, by id.

    Only those: a station no order uses would be a place the solver never
    visits. One that is missing (cannot happen while deleting a station in
    use is refused) makes the problem invalid, reported on ``day``.
    """
    wanted = {job.station for job in jobs if job.station is not None}
    if not wanted:
        return []
    return [row.station for row in stations.stations_by_id(session, ids=wanted)]


def _jobs(rows: Sequence[OrderRow], *, pin: bool) -> list[Job]:
    """The orders' jobs; with ``pin``, a delivery (or an exchange's new item)
    loads at its order's depot."""
    jobs = []
    for row in rows:
        job = row.job
        if (
            pin
            and row.depot_id is not None
            and job.depot is None
            and job.loads_at_depot
        ):
            job = job.model_copy(update={"depot": row.depot_id})
        jobs.append(job)
    return jobs
