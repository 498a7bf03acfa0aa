"""A synthetic city road network around district centres.

Used for the embedded Seoul city, where no real road data ships with
milepost. The network has two layers, in the schema of
:mod:`routing.travel.osm` so that :class:`routing.travel.road.RoadTravel`
treats it like a real extract:

* **local grids**: around every centre a ``size x size`` grid of streets
  ``spacing_m`` apart (11 x 11 at 450 m: 4.5 km across, so homes 2.5 km from
  the centre are still close to a street), nodes jittered by up to
  ``jitter_m``. The middle row and column are ``secondary`` roads (50 km/h),
  the others ``residential`` (30 km/h). About ``oneway_share`` of the inner
  residential *rows* are one-way, in a random direction; columns and the
  grid's border stay two-way, so every grid is strongly connected.
* **arterials**: two-way ``primary`` roads (60 km/h, ``maxspeed`` tagged)
  between the middle nodes of neighbouring districts: the edges of the
  Delaunay triangulation of the centres no longer than
  ``arterial_max_ratio`` times the median edge, plus a minimum spanning tree
  so the districts are always joined. Their length is the straight line
  times a seeded detour factor in ``[1.05, 1.25]``, and they bend through one
  jittered midpoint (stored as ``geometry``).

The same centres and seed always give the same graph, and the whole graph is
one strongly connected component.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import Delaunay

from routing.travel.osm import edge_speed, path_length
from routing.units import EARTH_RADIUS_M

__all__ = ["synthetic_city_graph"]

_M_PER_DEG_LAT = np.pi * EARTH_RADIUS_M / 180.0


def _offset(
    lat: float, lon: float, north_m: float, east_m: float
) -> tuple[float, float]:
    """``(lat, lon)`` moved by metres north and east."""
    dlat = north_m / _M_PER_DEG_LAT
    dlon = east_m / (_M_PER_DEG_LAT * np.cos(np.radians(lat)))
    return lat + dlat, lon + dlon


def _add_road(
    G: nx.MultiDiGraph,
    u: int,
    v: int,
    highway: str,
    *,
    oneway: bool = False,
    maxspeed: str | None = None,
    length: float | None = None,
    via: Sequence[tuple[float, float]] = (),
) -> None:
    """Add a road ``u -> v`` (and back unless ``oneway``)."""
    pu = (G.nodes[u]["x"], G.nodes[u]["y"])
    pv = (G.nodes[v]["x"], G.nodes[v]["y"])
    coords = (pu, *via, pv)
    attrs: dict[str, object] = {
        "length": float(length if length is not None else path_length(coords)),
        "highway": highway,
        "speed_kph": edge_speed(highway, maxspeed),
        "oneway": oneway,
    }
    if maxspeed is not None:
        attrs["maxspeed"] = maxspeed
    if via:
        G.add_edge(u, v, **attrs, geometry=coords)
    else:
        G.add_edge(u, v, **attrs)
    if not oneway:
        if via:
            G.add_edge(v, u, **attrs, geometry=tuple(reversed(coords)))
        else:
            G.add_edge(v, u, **attrs)


def synthetic_city_graph(
    centres: Sequence[tuple[str, float, float]],
    seed: int = 0,
    *,
    size: int = 11,
    spacing_m: float = 450.0,
    jitter_m: float = 60.0,
    oneway_share: float = 0.4,
    arterial_max_ratio: float = 1.6,
) -> nx.MultiDiGraph:
    """A deterministic road graph: a street grid per centre, arterials between.

    Parameters
    ----------
    centres
        ``(name, lat, lon)`` of each district centre (at least one).
    seed
        Seeds the jitter, the one-way choices and the arterial detours.
    size
        Streets per direction in each local grid (at least 3).
    spacing_m
        Distance between neighbouring streets.
    jitter_m
        Largest random shift of a grid node, per axis.
    oneway_share
        Probability that an inner residential row is one-way.
    arterial_max_ratio
        Delaunay edges longer than this times the median are dropped unless
        the spanning tree needs them.

    Returns
    -------
    networkx.MultiDiGraph
        Node ids ``district * 10_000 + row * size + column + 1``; the graph's
        ``name`` is ``"synthetic"`` and each node has a ``district``.

    Raises
    ------
    ValueError
        If ``centres`` is empty or ``size < 3``.
    """
    if not centres:
        raise ValueError("synthetic_city_graph needs at least one centre")
    if size < 3:
        raise ValueError(f"size must be at least 3, got {size}")
    rng = np.random.default_rng(seed)
    G = nx.MultiDiGraph(name="synthetic", crs="epsg:4326")
    middle = size // 2
    hubs: list[int] = []
    half = (size - 1) / 2
    for k, (district, lat, lon) in enumerate(centres):

        def node(r: int, c: int, k: int = k) -> int:
            return k * 10_000 + r * size + c + 1

        for r in range(size):
            for c in range(size):
                north = (r - half) * spacing_m
                east = (c - half) * spacing_m
                if (r, c) != (middle, middle):
                    north += rng.uniform(-jitter_m, jitter_m)
                    east += rng.uniform(-jitter_m, jitter_m)
                y, x = _offset(lat, lon, north, east)
                G.add_node(node(r, c), x=float(x), y=float(y), district=district)
        hubs.append(node(middle, middle))
        for r in range(size):
            inner = 0 < r < size - 1 and r != middle
            oneway = inner and bool(rng.random() < oneway_share)
            forward = bool(rng.random() < 0.5)
            highway = "secondary" if r == middle else "residential"
            for c in range(size - 1):
                u, v = node(r, c), node(r, c + 1)
                if oneway and not forward:
                    u, v = v, u
                _add_road(G, u, v, highway, oneway=oneway)
        for c in range(size):
            highway = "secondary" if c == middle else "residential"
            for r in range(size - 1):
                _add_road(G, node(r, c), node(r + 1, c), highway)

    if len(centres) > 1:
        _add_arterials(G, centres, hubs, rng, arterial_max_ratio)
    return G


def _add_arterials(
    G: nx.MultiDiGraph,
    centres: Sequence[tuple[str, float, float]],
    hubs: Sequence[int],
    rng: np.random.Generator,
    max_ratio: float,
) -> None:
    lat = np.array([c[1] for c in centres], dtype=float)
    lon = np.array([c[2] for c in centres], dtype=float)
    lat0 = float(lat.mean())
    xy = np.column_stack(
        [
            np.radians(lon) * EARTH_RADIUS_M * np.cos(np.radians(lat0)),
            np.radians(lat) * EARTH_RADIUS_M,
        ]
    )
    n = len(centres)
    pairs: set[tuple[int, int]] = set()
    if n >= 3:
        try:
            tri = Delaunay(xy)
            for simplex in tri.simplices:
                for a in range(3):
                    i, j = sorted((int(simplex[a]), int(simplex[(a + 1) % 3])))
                    pairs.add((i, j))
        except Exception:  # collinear centres: fall back to all pairs
            pairs = {(i, j) for i in range(n) for j in range(i + 1, n)}
    else:
        pairs = {(0, 1)}
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    lengths = np.array([dist[i, j] for i, j in sorted(pairs)])
    limit = max_ratio * float(np.median(lengths))
    keep = {p for p in sorted(pairs) if dist[p] <= limit}
    tree = minimum_spanning_tree(np.triu(dist + 1e-9, k=1)).tocoo()
    for i, j in zip(tree.row, tree.col, strict=True):
        keep.add((min(int(i), int(j)), max(int(i), int(j))))
    for i, j in sorted(keep):
        u, v = hubs[i], hubs[j]
        mid_lat = (G.nodes[u]["y"] + G.nodes[v]["y"]) / 2
        mid_lon = (G.nodes[u]["x"] + G.nodes[v]["x"]) / 2
        bend = float(dist[i, j]) * 0.08
        my, mx = _offset(
            mid_lat, mid_lon, rng.uniform(-bend, bend), rng.uniform(-bend, bend)
        )
        detour = float(rng.uniform(1.05, 1.25))
        _add_road(
            G,
            u,
            v,
            "primary",
            maxspeed="60",
            length=float(dist[i, j]) * detour,
            via=((float(mx), float(my)),),
        )
