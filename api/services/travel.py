"""The travel model a stored plan is re-timed with: the one it was made with.

Every plan records its travel model (``Plan.travel``, a
:class:`routing.travel.TravelSpec`). The service plans stored days on
straight lines; a plan posted from elsewhere may record roads. Slots,
re-optimisation and live ETAs rebuild the plan's own model here, or refuse
(:class:`~api.services.errors.Conflict`, HTTP 409) naming the spec's field
and why it cannot be rebuilt. A plan stored before plans recorded their
model (``travel`` is null) was made on straight lines.
"""

from __future__ import annotations

from api.services.errors import Conflict
from routing.model import Problem
from routing.plan import Plan
from routing.travel import (
    DEFAULT_CACHE_DIR,
    HaversineTravel,
    TravelModel,
    TravelUnavailable,
)
from scenarios.city.roads import load_city_spec

__all__ = ["plan_travel", "rebuild_travel"]


def rebuild_travel(problem: Problem, plan: Plan) -> TravelModel:
    """The plan's own travel model (straight lines when not recorded).

    Raises
    ------
    routing.travel.TravelUnavailable
        When the recorded model cannot be rebuilt here.
    """
    if plan.travel is None:
        return HaversineTravel()
    return load_city_spec(plan.travel, DEFAULT_CACHE_DIR.expanduser(), problem)


def plan_travel(problem: Problem, plan: Plan, what: str) -> TravelModel:
    """:func:`rebuild_travel`, or a :class:`Conflict` saying why not.

    ``what`` names the plan in the message (``"plan 01H..."``).
    """
    try:
        return rebuild_travel(problem, plan)
    except TravelUnavailable as exc:
        assert plan.travel is not None
        raise Conflict(
            f"{what} was made with {plan.travel.describe()}, which this service "
            f"cannot rebuild ({exc.field}: {exc.reason}); it cannot be re-timed "
            "with another travel model"
        ) from None
