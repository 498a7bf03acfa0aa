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


def test_rush_hour_starts_on_the_wall_clock_on_a_change_day() -> None:
    """Bands start at wall-clock times: on US spring-forward day a band from
    07:00 starts 6 h after midnight, and a departure at 07:30 on the wall
    (6.5 h elapsed) is priced with it; on an ordinary day nothing moves."""
    import datetime as dt
    import json
    from pathlib import Path

    from routing.locale import Locale
    from routing.model import Problem
    from routing.solver.data import build_data
    from routing.travel import day_band_starts

    travel = HaversineTravel(bands=((0, 7, 30.0), (7, 10, 12.0), (10, 24, 25.0)))
    small = Path(__file__).resolve().parents[3] / "docs/examples/small_problem.json"
    base = Problem.model_validate(json.loads(small.read_text()))
    ny = Locale(timezone="America/New_York", currency="USD", country="US")
    hour = 3600
    spring = base.model_copy(update={"date": dt.date(2026, 3, 8), "locale": ny})
    ordinary = base.model_copy(update={"date": dt.date(2026, 3, 10), "locale": ny})
    assert day_band_starts(spring, travel) == (0, 6 * hour, 9 * hour)
    assert day_band_starts(ordinary, travel) == travel.band_starts
    assert day_band_starts(base.model_copy(update={"date": None}), travel) == (
        travel.band_starts
    )
    data = build_data(spring, travel)
    assert data.band_starts == (0, 6 * hour, 9 * hour)
    rush = data.band_at(6 * hour + 1800)
    assert rush == 1 and data.matrices[rush] is not None
    placed = [n for n, node in enumerate(data.nodes) if node.point is not None]
    a = placed[0]
    b = next(n for n in placed if data.nodes[n].point != data.nodes[a].point)
    slow = travel.matrix(list(data.points), depart=7 * hour).durations
    assert data.travel(a, b, rush)[0] == int(
        slow[data.nodes[a].point, data.nodes[b].point]
    )
    assert build_data(ordinary, travel).band_at(6 * hour + 1800) == 0
