"""Travel models: durations and distances between locations."""

from routing.travel.base import (
    HasGeometry,
    TravelMatrix,
    TravelModel,
    band_index,
)
from routing.travel.haversine import DEFAULT_SPEED_BANDS, HaversineTravel
from routing.travel.matrix import MatrixTravel

__all__ = [
    "DEFAULT_SPEED_BANDS",
    "HasGeometry",
    "HaversineTravel",
    "MatrixTravel",
    "TravelMatrix",
    "TravelModel",
    "band_index",
]
