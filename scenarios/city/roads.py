"""The embedded city's road network: arterials between districts, local grids."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import networkx as nx

from routing.model import Problem
from routing.travel import RoadTravel, TravelModel, TravelSpec, load_spec
from routing.travel.synthetic import synthetic_city_graph
from scenarios.city.geography import DISTRICTS

__all__ = ["load_city_spec", "seoul_road_graph", "seoul_roads"]


def seoul_road_graph(seed: int = 0) -> nx.MultiDiGraph:
    """Synthetic road network of the embedded Seoul (25 districts)."""
    return synthetic_city_graph([(d.code, d.lat, d.lon) for d in DISTRICTS], seed=seed)


@lru_cache(maxsize=4)
def seoul_roads(seed: int = 0, cache_dir: Path | None = None) -> RoadTravel:
    """Road travel on the synthetic Seoul network (built once per seed).

    The model describes itself as ``kind="city"`` with its seed, so a plan
    made on it records how to rebuild it (:func:`load_city_spec`).
    """
    model = RoadTravel.from_graph(
        seoul_road_graph(seed), cache_dir=cache_dir, name="seoul-roads"
    )
    model.source = TravelSpec(
        kind="city", name=model.name, seed=seed, digest=model.digest
    )
    return model


def load_city_spec(
    spec: TravelSpec, cache_dir: Path | None = None, problem: Problem | None = None
) -> TravelModel:
    """:func:`routing.travel.load_spec` that can also build the city's roads.

    Raises
    ------
    routing.travel.TravelUnavailable
        When the recorded model cannot be rebuilt (the field and why).
    """
    return load_spec(spec, cache_dir, city=seoul_roads, problem=problem)
