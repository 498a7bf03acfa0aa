"""The travel-model interface: locations in, integer matrices out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from routing.model import Location, Problem
from routing.units import DAY, changes_clock, wall_to_elapsed

IntMatrix = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Snap:
    """Where points joined the road graph.

    Attributes
    ----------
    nodes
        Graph node id per point.
    metres
        Straight-line distance from each point to its node.
    index
        Position of each node in the model's arrays (internal order).
    component
        Strongly connected component of each node: 0 is the main (largest)
        one, the others are numbered by falling size. Always 0 when the
        model keeps the largest component only.
    """

    nodes: npt.NDArray[np.int64]
    metres: npt.NDArray[np.float64]
    index: npt.NDArray[np.int64]
    component: npt.NDArray[np.int64]


@dataclass(frozen=True)
class TravelMatrix:
    """Durations (s) and distances (m) between ``n`` points, row = origin.

    ``unreachable`` marks pairs with no path (e.g. a one-way trap in a road
    graph); their duration and distance entries carry no meaning and every
    consumer must treat them as forbidden, never as free or merely long.
    """

    durations: IntMatrix
    distances: IntMatrix
    unreachable: npt.NDArray[np.bool_] | None = None

    def __post_init__(self) -> None:
        d, m = self.durations, self.distances
        if d.ndim != 2 or d.shape[0] != d.shape[1]:
            raise ValueError(f"durations must be square, got shape {d.shape}")
        if m.shape != d.shape:
            raise ValueError(
                f"distances shape {m.shape} differs from durations {d.shape}"
            )
        if (d < 0).any() or (m < 0).any():
            raise ValueError("travel matrices must be non-negative")
        if self.unreachable is not None and self.unreachable.shape != d.shape:
            raise ValueError("unreachable mask must have the matrix's shape")

    def reachable(self, i: int, j: int) -> bool:
        return self.unreachable is None or not bool(self.unreachable[i, j])

    @property
    def size(self) -> int:
        return int(self.durations.shape[0])


class TravelModel(Protocol):
    """Anything that can price travel between locations.

    Travel may depend on the time of day in *bands*: ``band_starts`` lists the
    seconds since midnight at which each band begins (sorted, first 0; the
    cycle repeats every day). ``matrix(points, depart=t)`` prices travel for a
    departure at ``t``, i.e. in the band containing ``t % 86400``; models
    without time-of-day effects have ``band_starts == (0,)`` and ignore
    ``depart``.
    """

    @property
    def name(self) -> str: ...

    @property
    def band_starts(self) -> tuple[int, ...]: ...

    def matrix(
        self, points: Sequence[Location], *, depart: int | None = None
    ) -> TravelMatrix: ...


def band_index(band_starts: Sequence[int], depart: int) -> int:
    """Which band a departure at ``depart`` seconds since midnight falls in."""
    t = depart % 86_400
    k = 0
    for i, start in enumerate(band_starts):
        if start <= t:
            k = i
    return k


def day_band_starts(problem: Problem, travel: TravelModel) -> tuple[int, ...]:
    """The travel model's band starts as elapsed seconds of ``problem``'s day.

    Band starts are wall-clock times (rush hour starts at 07:00 on the
    clock), the problem's times elapsed ones: on a day the clocks change
    the starts after the change move by the change (07:00 is 6 h elapsed on
    US spring-forward day), so band ``k`` still begins when the clock says
    so. Price band ``k`` with the model's own ``travel.band_starts[k]``.
    Other days, and problems without a date, get the model's starts as
    they are. After the change day's end the day's starts repeat every
    86 400 s (:func:`band_index`), an hour off the next day's clock.
    """
    starts = tuple(travel.band_starts) or (0,)
    day, tz = problem.date, problem.locale.zone
    if len(starts) == 1 or day is None or not changes_clock(day, tz):
        return starts
    # A band starting in the fall-back day's 25th hour starts at its end.
    return tuple(min(wall_to_elapsed(b, day, tz), DAY - 1) for b in starts)


@runtime_checkable
class HasGeometry(Protocol):
    """A travel model that can draw the road a leg follows."""

    def geometry(
        self, a: Location, b: Location, *, depart: int | None = None
    ) -> list[tuple[float, float]]:
        """``[(lon, lat), ...]`` from ``a`` to ``b`` along the roads."""
        ...


@runtime_checkable
class SnapsToRoads(Protocol):
    """A travel model on a road graph: where points join it, and how far
    from it a point may be (:class:`~routing.travel.road.RoadTravel`)."""

    max_snap_m: float | None
    n_components: int

    def snap(self, points: Sequence[Location]) -> Snap:
        """Nearest usable road node of each point, its distance and component."""
        ...
