"""``bench travel``: time road matrices on a real graph, and networkx beside them.

One run loads a road file, builds :class:`~routing.travel.road.RoadTravel`
(no cache, so nothing is reused between sizes), draws ``n_points`` random
points (a random node of the routing graph moved up to 100 m in a random
direction, as addresses sit near roads) and times one duration + distance
matrix for a departure in the morning peak. Memory is reported twice: the
tracemalloc peak of the matrix call (numpy's allocations are traced) and the
process's peak resident set size so far.

With ``compare_networkx > 0`` the first that many points are also priced with
one ``networkx.single_source_dijkstra_path_length`` per origin on the same
band weights, timed against the same matrix from ``RoadTravel``, and the two
duration matrices are compared entry by entry.
"""

from __future__ import annotations

import datetime as dt
import resource
import time
import tracemalloc
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from routing.bench.machine import machine as describe_machine
from routing.model import Location
from routing.travel.base import TravelMatrix
from routing.travel.cache import MatrixCache
from routing.travel.osm import load_graph
from routing.travel.road import RoadTravel
from routing.units import kmh_to_mps

#: Default departure of the benchmark: 08:30, in the morning peak band.
BENCH_DEPART = 8 * 3600 + 30 * 60
#: Random points lie within this distance of a road node.
SCATTER_M = 100.0


def machine() -> dict[str, Any]:
    """Where the benchmark ran, with the versions that matter here."""
    return describe_machine(("numpy", "scipy", "networkx"))


def random_points(model: RoadTravel, n: int, seed: int) -> list[Location]:
    """``n`` points, each a random graph node moved up to 100 m (seeded).

    Parameters
    ----------
    model
        The road model whose nodes anchor the points.
    n
        How many points.
    seed
        Seed of the numpy generator.

    Returns
    -------
    list of Location
        Points with ``lat``/``lon`` only.
    """
    rng = np.random.default_rng(seed)
    anchor = rng.integers(0, model.n_nodes, size=n)
    radius = SCATTER_M * np.sqrt(rng.random(n))
    angle = rng.uniform(0.0, 2 * np.pi, n)
    lat = model.lat[anchor] + radius * np.cos(angle) / 111_195.0
    lon = model.lon[anchor] + radius * np.sin(angle) / (
        111_195.0 * np.cos(np.radians(model.lat[anchor]))
    )
    return [Location(lat=float(a), lon=float(b)) for a, b in zip(lat, lon, strict=True)]


def _peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux: KiB -> MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def compare_with_networkx(
    model: RoadTravel, points: list[Location], depart: int
) -> dict[str, Any]:
    """Time the same matrix with networkx, one Dijkstra per origin.

    Parameters
    ----------
    model
        The road model (its band weights are copied into a networkx graph;
        building that graph is not timed).
    points
        The points to price.
    depart
        Departure, seconds since midnight.

    Returns
    -------
    dict
        ``points``, ``networkx_seconds``, ``scipy_seconds`` (durations and
        distances), ``ratio`` and ``identical`` (whether every duration
        agrees, access legs included), ``max_abs_diff_s``.
    """
    weights = model.band_weights(depart)
    D = nx.DiGraph()
    D.add_nodes_from(range(model.n_nodes))
    rows, cols = weights.nonzero()
    D.add_weighted_edges_from(
        zip(rows.tolist(), cols.tolist(), weights.data.tolist(), strict=True)
    )
    snap = model.snap(points)
    targets = snap.index.tolist()

    start = time.perf_counter()
    lengths = [
        nx.single_source_dijkstra_path_length(D, origin, weight="weight")
        for origin in targets
    ]
    nx_seconds = time.perf_counter() - start

    start = time.perf_counter()
    ours = model.matrix(points, depart=depart)
    scipy_seconds = time.perf_counter() - start

    access = np.rint(snap.metres / kmh_to_mps(model.access_kmh)).astype(np.int64)
    road = np.array(
        [[round(row.get(t, -1.0)) for t in targets] for row in lengths],
        dtype=np.int64,
    )
    expected = road + access[:, None] + access[None, :]
    other = snap.index[:, None] != snap.index[None, :]
    diff = np.abs(expected - ours.durations)[other]
    return {
        "points": len(points),
        "networkx_seconds": round(nx_seconds, 3),
        "scipy_seconds": round(scipy_seconds, 3),
        "ratio": round(nx_seconds / max(scipy_seconds, 1e-9), 1),
        "identical": bool((diff == 0).all()),
        "max_abs_diff_s": int(diff.max()) if diff.size else 0,
    }


def _timed_matrix(
    model: RoadTravel, points: list[Location], depart: int
) -> tuple[TravelMatrix, float, int]:
    """The matrix, the seconds it took and its traced memory peak (bytes)."""
    tracemalloc.start()
    start = time.perf_counter()
    matrix = model.matrix(points, depart=depart)
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return matrix, seconds, traced_peak


def _matrix_stats(
    model: RoadTravel, points: list[Location], matrix: TravelMatrix
) -> dict[str, Any]:
    """Unreachable pairs, how far points snapped, median leg duration and length."""
    n = len(points)
    snap = model.snap(points)
    off_diagonal = ~np.eye(n, dtype=bool)
    unreachable = 0 if matrix.unreachable is None else int(matrix.unreachable.sum())
    return {
        "unreachable_pairs": unreachable,
        "snap_m_median": round(float(np.median(snap.metres)), 1),
        "snap_m_max": round(float(snap.metres.max()), 1),
        "duration_s_median": float(np.median(matrix.durations[off_diagonal]))
        if n > 1
        else 0.0,
        "distance_m_median": float(np.median(matrix.distances[off_diagonal]))
        if n > 1
        else 0.0,
    }


def bench_travel(
    graph_path: str | Path,
    n_points: int,
    seed: int = 0,
    compare_networkx: int = 200,
    *,
    depart: int = BENCH_DEPART,
) -> dict[str, Any]:
    """Time one ``n_points x n_points`` road matrix on a graph file.

    Parameters
    ----------
    graph_path
        A road file :func:`routing.travel.osm.load_graph` reads.
    n_points
        Matrix size.
    seed
        Seed of the random points.
    compare_networkx
        Also price this many of the points with networkx (0: skip).
    depart
        Departure, seconds since midnight (default 08:30).

    Returns
    -------
    dict
        Graph size, load/build/matrix seconds, tracemalloc and RSS peaks
        (MB), unreachable pairs, snap and duration statistics, the machine
        and date, and ``networkx`` (see :func:`compare_with_networkx`) or
        ``None``.
    """
    start = time.perf_counter()
    graph = load_graph(graph_path)
    load_seconds = time.perf_counter() - start
    start = time.perf_counter()
    model = RoadTravel(graph, cache=MatrixCache(None, memory_bytes=0))
    build_seconds = time.perf_counter() - start
    points = random_points(model, n_points, seed)

    matrix, seconds, traced_peak = _timed_matrix(model, points, depart)

    result: dict[str, Any] = {
        "graph": str(graph_path),
        "graph_nodes": graph.number_of_nodes(),
        "graph_edges": graph.number_of_edges(),
        "routing_nodes": model.n_nodes,
        "routing_edges": model.n_edges,
        "points": n_points,
        "seed": seed,
        "depart": depart,
        "load_seconds": round(load_seconds, 3),
        "build_seconds": round(build_seconds, 3),
        "seconds": round(seconds, 3),
        "tracemalloc_peak_mb": round(traced_peak / 1e6, 1),
        "rss_peak_mb": round(_peak_rss_mb(), 1),
        **_matrix_stats(model, points, matrix),
        "machine": machine(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "networkx": None,
    }
    if compare_networkx > 0:
        subset = points[: min(compare_networkx, n_points)]
        result["networkx"] = compare_with_networkx(model, subset, depart)
    return result
