"""Straight-line travel: great-circle distance x detour factor at a band speed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from routing.model import Location
from routing.travel.base import TravelMatrix
from routing.units import EARTH_RADIUS_M, HOUR, kmh_to_mps

#: Urban van speeds (km/h) by hour band ``[from, to)``; Seoul arterial traffic
#: is slowest in the morning and evening peaks and fastest at night.
DEFAULT_SPEED_BANDS: tuple[tuple[int, int, float], ...] = (
    (0, 6, 38.0),
    (6, 7, 30.0),
    (7, 10, 19.0),
    (10, 17, 24.0),
    (17, 20, 18.0),
    (20, 24, 30.0),
)


@dataclass(frozen=True)
class HaversineTravel:
    """Great-circle distance times ``detour`` at the speed of the hour band.

    Parameters
    ----------
    detour
        Road distance over straight-line distance; 1.3 is typical of dense
        city grids.
    speed_kmh
        Speed used when no departure time is given.
    bands
        ``(from_hour, to_hour, km/h)`` triples covering 0-24.
    """

    detour: float = 1.3
    speed_kmh: float = 24.0
    bands: tuple[tuple[int, int, float], ...] = field(default=DEFAULT_SPEED_BANDS)
    name: str = "haversine"

    @property
    def band_starts(self) -> tuple[int, ...]:
        """Band boundaries in seconds since midnight ((0,) without bands)."""
        if not self.bands:
            return (0,)
        return tuple(start * HOUR for start, _, _ in self.bands)

    def speed_at(self, depart: int | None) -> float:
        """Speed (km/h) for a departure at ``depart`` seconds since midnight."""
        if depart is None:
            return self.speed_kmh
        hour = (depart // HOUR) % 24
        for start, end, kmh in self.bands:
            if start <= hour < end:
                return kmh
        return self.speed_kmh

    def matrix(
        self, points: Sequence[Location], *, depart: int | None = None
    ) -> TravelMatrix:
        """Integer duration and distance matrices between ``points``."""
        if any(not p.has_coordinates for p in points):
            raise ValueError("haversine travel needs lat/lon on every location")
        coords = tuple((float(p.lat), float(p.lon)) for p in points)  # type: ignore[arg-type]
        if len(coords) <= _CACHED_POINTS:
            road = _road_metres(coords, self.detour)
        else:
            road = _great_circle(coords) * self.detour
        seconds = road / kmh_to_mps(self.speed_at(depart))
        return TravelMatrix(
            durations=np.rint(seconds).astype(np.int64),
            distances=np.rint(road).astype(np.int64),
        )


#: Up to this many points the last few distance tables are kept: a day is
#: timed in every speed band over the same places (3,000 points: 72 MB each).
_CACHED_POINTS = 3000


@lru_cache(maxsize=2)
def _road_metres(
    coords: tuple[tuple[float, float], ...], detour: float
) -> npt.NDArray[np.float64]:
    road = _great_circle(coords) * detour
    road.flags.writeable = False  # shared by every caller
    return road


def _great_circle(coords: Sequence[tuple[float, float]]) -> npt.NDArray[np.float64]:
    """Great-circle metres between every pair of ``(lat, lon)``."""
    both = np.radians(np.array(coords, dtype=float).reshape(-1, 2))
    lat, lon = both[:, 0], both[:, 1]
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = (
        np.sin(dlat / 2) ** 2
        + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    )
    metres: npt.NDArray[np.float64] = (
        2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    )
    return metres
