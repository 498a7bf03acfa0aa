"""An excursion: a stretch of sensor readings outside one order's limit.

Its own module because the tracking store keeps excursions and the sensor
rules (:mod:`tracking.sensors`) make them from readings held in the store.
"""

from __future__ import annotations

from typing import Literal

from routing.base import FrozenModel
from tracking.events import SensorKind

__all__ = ["Excursion", "Source"]

#: Whether a reading came from the van's own sensor or a parcel's tag.
Source = Literal["van", "parcel"]

_UNIT = {
    SensorKind.TEMPERATURE: " °C",
    SensorKind.HUMIDITY: " %RH",
    SensorKind.SHOCK: " g",
    SensorKind.DOOR_OPEN: " s open",
}


class Excursion(FrozenModel):
    """A stretch of readings outside one order's limit (times: seconds).

    ``end`` is None while it lasts. ``peak`` is the reading furthest
    outside (for a door: the seconds it was open); ``limit`` the bound
    crossed, on ``side``.
    """

    id: str
    order_id: str
    vehicle: str
    kind: SensorKind
    source: Source
    start: int
    end: int | None = None
    peak: float
    limit: float
    side: Literal["below", "above"]
    readings: int = 1
    exception_id: str | None = None

    @property
    def open(self) -> bool:
        """Whether the excursion lasts."""
        return self.end is None

    def detail(self) -> str:
        """One line for people, e.g. ``temperature 7.5 °C above the 4 °C limit``."""
        unit = _UNIT[self.kind]
        return (
            f"{self.kind.value} {self.peak:g}{unit} {self.side} the "
            f"{self.limit:g}{unit.replace(' open', '')} limit"
        )

    def further(self, value: float) -> bool:
        """Whether ``value`` is further outside than the peak so far."""
        return value > self.peak if self.side == "above" else value < self.peak
