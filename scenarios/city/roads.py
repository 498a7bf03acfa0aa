"""The embedded city's road network: arterials between districts, local grids."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import networkx as nx

from routing.travel import RoadTravel
from routing.travel.synthetic import synthetic_city_graph
from scenarios.city.geography import DISTRICTS


def seoul_road_graph(seed: int = 0) -> nx.MultiDiGraph:
    """Synthetic road network of the embedded Seoul (25 districts)."""
    return synthetic_city_graph([(d.code, d.lat, d.lon) for d in DISTRICTS], seed=seed)


@lru_cache(maxsize=4)
def seoul_roads(seed: int = 0, cache_dir: Path | None = None) -> RoadTravel:
    """Road travel on the synthetic Seoul network (built once per seed)."""
    return RoadTravel.from_graph(
        seoul_road_graph(seed), cache_dir=cache_dir, name="seoul-roads"
    )
