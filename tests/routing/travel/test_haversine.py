"""Straight-line travel: the distance table shared by the speed bands."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.model import Location
from routing.travel import HaversineTravel, haversine
from routing.units import kmh_to_mps

coords = st.lists(
    st.tuples(
        st.floats(37.4, 37.7, allow_nan=False), st.floats(126.8, 127.2, allow_nan=False)
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=50, derandomize=True, deadline=None)
@given(coords)
def test_every_band_matches_the_uncached_table(
    points: list[tuple[float, float]],
) -> None:
    """A cached distance table gives exactly what computing it afresh gives,
    in every band, and a caller cannot change the shared table."""
    travel = HaversineTravel()
    locs = [Location(lat=a, lon=b) for a, b in points]
    fresh = haversine._great_circle(points) * travel.detour
    for start in travel.band_starts:
        m = travel.matrix(locs, depart=start)
        assert np.array_equal(m.distances, np.rint(fresh).astype(np.int64))
        speed = kmh_to_mps(travel.speed_at(start))
        assert np.array_equal(m.durations, np.rint(fresh / speed).astype(np.int64))
    m.distances[0, 0] = 123  # the caller's copy, not the cache
    again = travel.matrix(locs, depart=0)
    assert again.distances[0, 0] == 0


def test_large_point_sets_are_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the cached size the table is computed each time (memory)."""
    monkeypatch.setattr(haversine, "_CACHED_POINTS", 3)
    haversine._road_metres.cache_clear()
    locs = [Location(lat=37.5 + i / 100, lon=127.0) for i in range(4)]
    HaversineTravel().matrix(locs)
    assert haversine._road_metres.cache_info().currsize == 0
    HaversineTravel().matrix(locs[:3])
    assert haversine._road_metres.cache_info().currsize == 1
