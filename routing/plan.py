"""Plans: what the solver returns (VROOM's output vocabulary).

A :class:`Plan` has a ``summary``, ``routes`` (one per used vehicle, each a
list of timed :class:`Step` objects) and ``unassigned`` orders, each with a
reason. All times are seconds since the problem's local midnight, distances
metres, ``load`` the amount on board *after* the step.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import Field

from routing.base import FrozenModel
from routing.model import Location
from routing.travel.spec import TravelSpec


class StepType(StrEnum):
    START = "start"
    JOB = "job"
    PICKUP = "pickup"
    DELIVERY = "delivery"
    BREAK = "break"
    END = "end"


class Step(FrozenModel):
    """One timed event on a route.

    ``slack`` is how much later the vehicle could start service here without
    breaking any later window, break or the shift end. ``late`` is how far
    past its last window a soft-window order is served (0 when on time).
    """

    type: StepType
    id: str | None = None
    location: Location | None = None
    arrival: int
    waiting_time: int = 0
    setup: int = 0
    service: int = 0
    service_start: int
    departure: int
    load: tuple[int, ...] = ()
    distance: int = 0
    duration: int = 0
    slack: int = 0
    late: int = 0


class Route(FrozenModel):
    """A vehicle's day: timed steps from start to end and its totals."""

    vehicle: str
    steps: tuple[Step, ...]
    cost: float
    distance: int
    duration: int = Field(description="seconds spent driving")
    service: int
    waiting_time: int
    start: int
    end: int
    orders: int

    @property
    def order_ids(self) -> list[str]:
        return [
            s.id
            for s in self.steps
            if s.type in (StepType.JOB, StepType.DELIVERY) and s.id is not None
        ]


class Reason(StrEnum):
    """Why an order is not on any route."""

    CAPACITY = "capacity"
    TIME_WINDOW = "time_window"
    SKILLS = "skills"
    NIGHT_SHIFT = "night_shift"
    DAY_SHIFT = "day_shift"
    SCHEDULED_OTHER_DAY = "scheduled_other_day"
    DEPOT = "depot"
    OFF_ROAD = "off_road"
    UNREACHABLE = "unreachable"
    DROPPED = "dropped"


class Unassigned(FrozenModel):
    """An order left out of the plan, with the reason and what it costs."""

    id: str
    reason: Reason
    detail: str
    penalty: float = 0.0


class Summary(FrozenModel):
    """Plan totals."""

    cost: float
    routes: int
    orders: int
    served: int
    unassigned: int
    distance: int
    duration: int
    service: int
    waiting_time: int
    in_window: int = Field(description="served orders inside a promised window")
    late: int = Field(description="served orders past their window (soft)")


class Snapped(FrozenModel):
    """Where a place joins the road network."""

    metres: int = Field(
        ge=0, description="straight line from the place to its road node (m)"
    )
    component: int = Field(
        ge=0,
        description="strongly connected component of that node: 0 is the main "
        "(largest) one, the only one a van can reach from anywhere",
    )


class RoadReport(FrozenModel):
    """How the plan's places join the roads, for a plan made on a road network.

    Every order is listed, served or not, so a dispatcher sees which stops
    hang on a long walk from the kerb before a driver finds out; a shipment
    shows the farther of its two ends.
    """

    max_snap_m: float | None = Field(
        description="orders farther than this from the roads are unassigned "
        "off_road (None: no limit)"
    )
    components: int = Field(
        ge=1, description="strongly connected components the road graph keeps"
    )
    orders: dict[str, Snapped] = Field(description="by order id")
    depots: dict[str, Snapped] = Field(description="by depot id, those vehicles use")


class Plan(FrozenModel):
    """The answer to a problem."""

    summary: Summary
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...] = ()
    engine: str = ""
    seconds: float = 0.0
    fallback: str | None = Field(
        default=None,
        description="how the plan was made when the search asked for found "
        "no solution at all: 'more_time' (the same engine with a longer time "
        "limit) or 'insertion' (cheapest feasible insertion, no search); "
        "None: by the search asked for",
    )
    travel: TravelSpec | None = Field(
        default=None,
        description="the travel model the plan is timed with (None: not "
        "recorded, an older plan: straight lines)",
    )
    roads: RoadReport | None = Field(
        default=None,
        description="each order's and depot's snap distance and road "
        "component (None: not made on roads)",
    )

    def route_of(self, vehicle_id: str) -> Route | None:
        return next((r for r in self.routes if r.vehicle == vehicle_id), None)


def plan_from_routes(
    routes: Iterable[Route],
    unassigned: Iterable[Unassigned],
    *,
    orders: int,
    engine: str,
    seconds: float,
) -> Plan:
    """A :class:`Plan` of timed routes and unassigned orders, with its totals.

    Routes that serve nothing and hold no break are left out; ``orders`` is
    the number of orders in the problem.
    """
    used = [r for r in routes if r.orders > 0 or len(r.steps) > 2]
    left = list(unassigned)
    served = [
        s for r in used for s in r.steps if s.type in (StepType.JOB, StepType.DELIVERY)
    ]
    return Plan(
        summary=Summary(
            cost=round(sum(r.cost for r in used) + sum(u.penalty for u in left), 2),
            routes=len(used),
            orders=orders,
            served=len(served),
            unassigned=len(left),
            distance=sum(r.distance for r in used),
            duration=sum(r.duration for r in used),
            service=sum(r.service for r in used),
            waiting_time=sum(r.waiting_time for r in used),
            in_window=sum(1 for s in served if s.late == 0),
            late=sum(1 for s in served if s.late > 0),
        ),
        routes=tuple(used),
        unassigned=tuple(left),
        engine=engine,
        seconds=round(seconds, 3),
    )
