"""What goes wrong on the road: weather and zone slowdowns for simulated days.

A :class:`Weather` preset slows the whole city's travel, lengthens service
at the door and makes more attempts fail; the planner knows the weather
forecast, so its travel model is slowed too. A :class:`ZoneSlowdown` slows
the legs into or out of some districts during some hours (roadworks, a
festival, a flood); ``foreseen`` says whether the planner is told, or only
the vans find out. :class:`ZonedTravel` is a travel model that applies
slowdowns on top of another model: one for the planner (the foreseen
ones), one for the road (all of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from routing.base import FrozenModel
from routing.bounds import Real
from routing.model import Location
from routing.travel import TravelMatrix, TravelModel
from routing.units import DAY, HOUR
from scenarios.city.geography import DISTRICTS, haversine_matrix_m, known_districts

__all__ = [
    "WEATHER",
    "Weather",
    "WeatherEffect",
    "ZoneSlowdown",
    "ZonedTravel",
    "district_of",
]


@dataclass(frozen=True, slots=True)
class WeatherEffect:
    """How a kind of weather changes a day (multipliers of the clear day)."""

    travel: float
    service: float
    failures: float
    incidents: float


Weather = Literal["clear", "rain", "snow"]

#: Effects by weather. Rain: traffic about 15% slower, a little more time
#: at each door, somewhat more failed attempts. Heavy snow: half again as
#: slow, doorsteps slower, markedly more failures and breakdowns.
WEATHER: dict[str, WeatherEffect] = {
    "clear": WeatherEffect(travel=1.0, service=1.0, failures=1.0, incidents=1.0),
    "rain": WeatherEffect(travel=1.15, service=1.1, failures=1.3, incidents=1.3),
    "snow": WeatherEffect(travel=1.5, service=1.25, failures=1.6, incidents=2.0),
}


class ZoneSlowdown(FrozenModel):
    """Legs touching ``districts`` between ``hours`` take ``multiplier`` x longer.

    ``hours`` is ``[from, to)`` in hours from the day's midnight (up to 31:
    the night after). A leg is slowed when its origin or destination is in
    one of the districts and it departs inside the hours.
    """

    districts: tuple[str, ...] = Field(min_length=1, max_length=len(DISTRICTS))
    hours: tuple[int, int] = (0, 24)
    multiplier: Real = Field(gt=0.0, le=5.0)
    foreseen: bool = Field(
        default=False, description="the planner knows (else only the vans)"
    )
    reason: str = Field(default="", max_length=200)

    @field_validator("districts")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return known_districts(value)

    @model_validator(mode="after")
    def _hours(self) -> ZoneSlowdown:
        start, end = self.hours
        if not 0 <= start < end <= 31:
            raise ValueError(f"hours must be [from, to) within 0..31, got {self.hours}")
        return self


def district_of(points: Sequence[Location]) -> list[str]:
    """The district (by nearest centroid) of every point."""
    lat = np.array([p.lat for p in points], dtype=np.float64)
    lon = np.array([p.lon for p in points], dtype=np.float64)
    clat = np.array([d.lat for d in DISTRICTS], dtype=np.float64)
    clon = np.array([d.lon for d in DISTRICTS], dtype=np.float64)
    idx = np.argmin(haversine_matrix_m(lat, lon, clat, clon), axis=1)
    return [DISTRICTS[int(i)].name for i in idx]


@dataclass(frozen=True)
class ZonedTravel:
    """``base`` travel with some zones slowed at some hours.

    Its bands are the base model's plus every slowdown's edges, so a
    time-dependent solver and the ETA cache see each change.
    """

    base: TravelModel
    slowdowns: tuple[ZoneSlowdown, ...]
    _district: dict[tuple[float, float], str] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def name(self) -> str:
        return f"{self.base.name}+zones"

    @property
    def band_starts(self) -> tuple[int, ...]:
        edges = set(self.base.band_starts)
        for s in self.slowdowns:
            edges.update((h * HOUR) % DAY for h in s.hours)
        return tuple(sorted(edges))

    def _districts(self, points: Sequence[Location]) -> list[str]:
        keys = [(float(p.lat or 0.0), float(p.lon or 0.0)) for p in points]
        missing = [
            p for p, k in zip(points, keys, strict=True) if k not in self._district
        ]
        if missing:
            for p, name in zip(missing, district_of(missing), strict=True):
                self._district[(float(p.lat or 0.0), float(p.lon or 0.0))] = name
        return [self._district[k] for k in keys]

    def matrix(
        self, points: Sequence[Location], *, depart: int | None = None
    ) -> TravelMatrix:
        """The base matrix with the legs of active slowdowns lengthened."""
        m = self.base.matrix(points, depart=depart)
        if depart is None or not self.slowdowns:
            return m
        # Hours of the day and of the night after (a night van's 01:00 is 25).
        hour = (depart % DAY) // HOUR
        active = [
            s
            for s in self.slowdowns
            if any(s.hours[0] <= h < s.hours[1] for h in (hour, hour + 24))
        ]
        if not active:
            return m
        names = self._districts(points)
        factor = np.ones(len(points), dtype=np.float64)
        for s in active:
            inside = np.array([n in s.districts for n in names])
            factor[inside] = np.maximum(factor[inside], s.multiplier)
        # A leg is as slow as the slower of its two ends.
        pair = np.maximum(factor[:, None], factor[None, :])
        durations = np.rint(m.durations * pair).astype(np.int64)
        return TravelMatrix(
            durations=durations, distances=m.distances, unreachable=m.unreachable
        )
