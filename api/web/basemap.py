"""The map's base layer: the embedded city's districts, roads and depots.

No map tiles are reachable from where milepost usually runs, so the pages
draw the city from its own data: each district as the outline (convex hull)
of its street grid, and the roads of
:func:`scenarios.city.roads.seoul_road_graph`, one feature per road class.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.spatial import ConvexHull

from scenarios.city.geography import DISTRICTS
from scenarios.city.roads import seoul_road_graph

__all__ = ["city_geojson"]

#: Decimal places kept: about a metre, and a third of the bytes of full floats.
_PLACES = 5


def _point(x: float, y: float) -> list[float]:
    return [round(float(x), _PLACES), round(float(y), _PLACES)]


def _districts(nodes: dict[str, list[tuple[float, float]]]) -> list[dict[str, Any]]:
    features = []
    for d in DISTRICTS:
        points = np.asarray(nodes[d.code])
        hull = points[ConvexHull(points).vertices]
        ring = [_point(x, y) for x, y in hull]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "kind": "district",
                    "code": d.code,
                    "name": d.name,
                    "name_ko": d.name_ko,
                },
                "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            }
        )
    return features


@lru_cache(maxsize=1)
def city_geojson() -> bytes:
    """The base layer as a GeoJSON FeatureCollection (built once per process)."""
    graph = seoul_road_graph()
    nodes: dict[str, list[tuple[float, float]]] = {}
    for _, data in graph.nodes(data=True):
        nodes.setdefault(data["district"], []).append((data["x"], data["y"]))
    roads: dict[str, list[list[list[float]]]] = {}
    seen: set[tuple[int, int]] = set()
    for u, v, data in graph.edges(data=True):
        pair = (min(u, v), max(u, v))
        if pair in seen:
            continue  # the way back of a two-way street
        seen.add(pair)
        coords = data.get("geometry") or (
            (graph.nodes[u]["x"], graph.nodes[u]["y"]),
            (graph.nodes[v]["x"], graph.nodes[v]["y"]),
        )
        roads.setdefault(data["highway"], []).append([_point(x, y) for x, y in coords])
    features = _districts(nodes)
    features += [
        {
            "type": "Feature",
            "properties": {"kind": "road", "highway": highway},
            "geometry": {"type": "MultiLineString", "coordinates": lines},
        }
        for highway, lines in sorted(roads.items())
    ]
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, separators=(",", ":")).encode()
