"""Travel models: durations and distances between locations."""

from routing.travel.base import (
    HasGeometry,
    TravelMatrix,
    TravelModel,
    band_index,
)
from routing.travel.cache import DEFAULT_CACHE_DIR, MatrixCache
from routing.travel.haversine import DEFAULT_SPEED_BANDS, HaversineTravel
from routing.travel.matrix import MatrixTravel
from routing.travel.osm import HIGHWAY_SPEEDS_KPH, load_graph
from routing.travel.profiles import DEFAULT_PROFILE, Band, SpeedProfile
from routing.travel.road import RoadTravel, Snap, UnreachableError
from routing.travel.synthetic import synthetic_city_graph

__all__ = [
    "DEFAULT_CACHE_DIR",
    "DEFAULT_PROFILE",
    "DEFAULT_SPEED_BANDS",
    "HIGHWAY_SPEEDS_KPH",
    "Band",
    "HasGeometry",
    "HaversineTravel",
    "MatrixCache",
    "MatrixTravel",
    "RoadTravel",
    "Snap",
    "SpeedProfile",
    "TravelMatrix",
    "TravelModel",
    "UnreachableError",
    "band_index",
    "load_graph",
    "synthetic_city_graph",
]
