"""Travel models: durations and distances between locations.

Names are imported on first use (a road graph pulls in networkx).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from routing.lazy import lazy_names

if TYPE_CHECKING:
    from routing.travel.base import (
        HasGeometry,
        Snap,
        SnapsToRoads,
        TravelMatrix,
        TravelModel,
        band_index,
        day_band_starts,
    )
    from routing.travel.build import load_spec, plan_travel_spec, travel_spec
    from routing.travel.cache import DEFAULT_CACHE_DIR, MatrixCache
    from routing.travel.haversine import DEFAULT_SPEED_BANDS, HaversineTravel
    from routing.travel.matrix import MatrixTravel
    from routing.travel.osm import HIGHWAY_SPEEDS_KPH, RoadFileError, load_graph
    from routing.travel.profiles import DEFAULT_PROFILE, Band, SpeedProfile
    from routing.travel.road import MAX_SNAP_M, RoadTravel, UnreachableError
    from routing.travel.spec import TravelSpec, TravelUnavailable
    from routing.travel.synthetic import synthetic_city_graph

__all__ = [
    "DEFAULT_CACHE_DIR",
    "DEFAULT_PROFILE",
    "DEFAULT_SPEED_BANDS",
    "HIGHWAY_SPEEDS_KPH",
    "MAX_SNAP_M",
    "Band",
    "HasGeometry",
    "HaversineTravel",
    "MatrixCache",
    "MatrixTravel",
    "RoadFileError",
    "RoadTravel",
    "Snap",
    "SnapsToRoads",
    "SpeedProfile",
    "TravelMatrix",
    "TravelModel",
    "TravelSpec",
    "TravelUnavailable",
    "UnreachableError",
    "band_index",
    "day_band_starts",
    "load_graph",
    "load_spec",
    "plan_travel_spec",
    "synthetic_city_graph",
    "travel_spec",
]

__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "HasGeometry": "routing.travel.base",
        "SnapsToRoads": "routing.travel.base",
        "TravelMatrix": "routing.travel.base",
        "TravelModel": "routing.travel.base",
        "band_index": "routing.travel.base",
        "day_band_starts": "routing.travel.base",
        "DEFAULT_CACHE_DIR": "routing.travel.cache",
        "MatrixCache": "routing.travel.cache",
        "DEFAULT_SPEED_BANDS": "routing.travel.haversine",
        "HaversineTravel": "routing.travel.haversine",
        "MatrixTravel": "routing.travel.matrix",
        "HIGHWAY_SPEEDS_KPH": "routing.travel.osm",
        "RoadFileError": "routing.travel.osm",
        "load_graph": "routing.travel.osm",
        "DEFAULT_PROFILE": "routing.travel.profiles",
        "Band": "routing.travel.profiles",
        "SpeedProfile": "routing.travel.profiles",
        "MAX_SNAP_M": "routing.travel.road",
        "RoadTravel": "routing.travel.road",
        "Snap": "routing.travel.base",
        "UnreachableError": "routing.travel.road",
        "synthetic_city_graph": "routing.travel.synthetic",
        "TravelSpec": "routing.travel.spec",
        "TravelUnavailable": "routing.travel.spec",
        "load_spec": "routing.travel.build",
        "plan_travel_spec": "routing.travel.build",
        "travel_spec": "routing.travel.build",
    },
)
