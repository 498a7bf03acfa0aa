"""Travel on a road network: bulk shortest paths with ``scipy.sparse.csgraph``.

:class:`RoadTravel` holds a cleaned road graph as compact arrays: node
coordinates, a KD-tree for snapping, and one CSR matrix of edge travel times
per time band (built on first use). networkx only builds and cleans the graph;
every shortest path runs in ``scipy.sparse.csgraph.dijkstra``, which is about
40x faster than one networkx Dijkstra per origin.

How a matrix entry ``i -> j`` is priced:

1. **Snapping.** Each point goes to its nearest node of the routing graph (by
   default the largest strongly connected component, so every snapped node
   reaches every other); a :class:`~routing.model.Location` with a ``node``
   uses that node. The straight-line snap distance and the node's strongly
   connected component (0 is the largest, the *main* one) are reported
   (:meth:`RoadTravel.snap`).
2. **Access legs.** The snap distance is covered at ``access_kmh`` (15 km/h
   by default: a van crawling in from the kerb, or a courier on foot) at both
   ends, and added to the distance as well. Only up to ``max_snap_m`` (500 m
   by default): beyond it the crawl would be a guess, so the point is off
   the road network (step 5) and the planner leaves it out
   (:mod:`routing.access`).
3. **Road leg.** The fastest path by travel time in the band of ``depart``
   (see :mod:`routing.travel.profiles`); its *own* distance is reported, not
   the shortest distance: ``dijkstra(..., return_predecessors=True)`` gives the
   shortest-path tree of each origin and the edge lengths are summed along it
   by pointer doubling (``log2(depth)`` vectorised passes), which is exact
   and costs a fraction of the Dijkstra run. Parallel edges keep the fastest
   one in each band, and its length.
4. **Same node.** Two different points snapped to the same node are priced by
   the straight line between them at the access speed (0 for identical
   coordinates). The diagonal is 0.
5. **Unreachable.** Pairs with no path, and every pair touching a point more
   than ``max_snap_m`` (in whole metres, as the access legs count it) from the
   nearest usable node, are flagged in
   :attr:`TravelMatrix.unreachable` (their entries are 0 and meaningless);
   nothing is silently made free or merely long.

Seconds and metres are rounded to integers per component (road leg, each
access leg), so a cached road matrix gives bit-identical results.
"""

from __future__ import annotations

import copy
import itertools
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from routing.model import Location
from routing.travel.base import Snap, TravelMatrix
from routing.travel.cache import MatrixCache, cache_key
from routing.travel.osm import (
    largest_strongly_connected,
    load_graph,
    normalise_graph,
)
from routing.travel.profiles import DEFAULT_PROFILE, SpeedProfile, road_group
from routing.travel.spec import TravelSpec, file_sha256
from routing.units import EARTH_RADIUS_M, kmh_to_mps

__all__ = ["ACCESS_KMH", "MAX_SNAP_M", "RoadTravel", "Snap", "UnreachableError"]

#: Default speed (km/h) over the snap distance at each end of a leg.
ACCESS_KMH = 15.0
#: Default snap distance (m) beyond which a point counts as off the network:
#: a long walk from the kerb, about two minutes' crawl at ``ACCESS_KMH``.
MAX_SNAP_M = 500.0
#: Origins per Dijkstra call: bounds the memory of the tree arrays.
CHUNK = 512
#: Smallest edge travel time (s), so zero-length edges stay edges.
_MIN_SECONDS = 1e-6

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class UnreachableError(ValueError):
    """No road path joins two locations."""


@dataclass(frozen=True)
class _BandGraph:
    """The routing graph priced for one band: CSR times plus edge lookup."""

    times: Any  # scipy.sparse.csr_matrix of seconds
    keys: IntArray  # source * n + target per stored entry, ascending
    lengths: FloatArray  # metres per stored entry
    edges: IntArray  # index into the model's edge arrays per stored entry
    in_source: IntArray  # (max in-degree, n): k-th predecessor of each node, or -1
    in_length: FloatArray  # (max in-degree, n): the matching edge length


def _project(lat: FloatArray, lon: FloatArray, lat0: float) -> FloatArray:
    """Local equirectangular metres (good to ~0.1 % over a city)."""
    x = EARTH_RADIUS_M * np.cos(np.radians(lat0)) * np.radians(lon)
    y = EARTH_RADIUS_M * np.radians(lat)
    return np.column_stack([x, y])


def _haversine(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(lon2 - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    out: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return out


class RoadTravel:
    """Durations and distances along a road graph, by time-of-day band.

    Parameters
    ----------
    graph
        A road graph in the schema of :mod:`routing.travel.osm` (nodes with
        ``x``/``y``; edges with ``length`` and ``speed_kph``, or
        ``highway``/``maxspeed`` to derive it). It is normalised and copied;
        later changes to it are not seen.
    profile
        Time-of-day speed multipliers.
    access_kmh
        Speed over the snap distance at both ends of a leg.
    max_snap_m
        Points farther than this (m) from the graph are off the network:
        unreachable in the matrices, and left out of plans as ``off_road``.
        ``None`` accepts any distance.
    cache
        Where matrices are kept between calls; default: a memory-only cache.
    largest_component
        Route on the largest strongly connected component only (default).
        With ``False`` every node is kept and unreachable pairs appear in the
        matrices' ``unreachable`` mask.
    name
        The model's name in reports.

    Raises
    ------
    ValueError
        If the graph has no edges or a speed is not positive.
    """

    def __init__(
        self,
        graph: nx.MultiDiGraph,
        *,
        profile: SpeedProfile = DEFAULT_PROFILE,
        access_kmh: float = ACCESS_KMH,
        max_snap_m: float | None = MAX_SNAP_M,
        cache: MatrixCache | None = None,
        largest_component: bool = True,
        name: str = "road",
    ) -> None:
        if access_kmh <= 0:
            raise ValueError(f"access_kmh must be positive, got {access_kmh}")
        G = normalise_graph(graph, keep_file_speeds=True)
        if largest_component:
            G = largest_strongly_connected(G)
        if G.number_of_edges() == 0:
            raise ValueError("the road graph has no edges to route on")
        self.name = name
        self.profile = profile
        self.access_kmh = float(access_kmh)
        self.max_snap_m = max_snap_m
        self.cache = cache if cache is not None else MatrixCache()
        self.graph_name = str(graph.graph.get("name", "graph"))

        ids = np.array(sorted(G.nodes), dtype=np.int64)
        self.node_ids: IntArray = ids
        self.lon: FloatArray = np.array([G.nodes[n]["x"] for n in ids], dtype=float)
        self.lat: FloatArray = np.array([G.nodes[n]["y"] for n in ids], dtype=float)
        self._lat0 = float(self.lat.mean())
        self._tree = cKDTree(_project(self.lat, self.lon, self._lat0))

        rows = []
        for u, v, data in G.edges(data=True):
            rows.append(
                (
                    int(np.searchsorted(ids, u)),
                    int(np.searchsorted(ids, v)),
                    float(data["length"]),
                    float(data["speed_kph"]),
                    road_group(str(data["highway"])) == "arterial",
                    data.get("geometry"),
                )
            )
        rows.sort(key=lambda r: (r[0], r[1], r[2], r[3], r[4]))
        self.src: IntArray = np.array([r[0] for r in rows], dtype=np.int64)
        self.dst: IntArray = np.array([r[1] for r in rows], dtype=np.int64)
        self.length: FloatArray = np.array([r[2] for r in rows], dtype=float)
        self.speed_kph: FloatArray = np.array([r[3] for r in rows], dtype=float)
        self.arterial: BoolArray = np.array([r[4] for r in rows], dtype=bool)
        self._geometry: list[tuple[tuple[float, float], ...] | None] = [
            r[5] for r in rows
        ]
        if (self.speed_kph <= 0).any() or not np.isfinite(self.speed_kph).all():
            raise ValueError("every edge needs a positive speed_kph")
        if (self.length < 0).any():
            raise ValueError("edge lengths must be non-negative")
        self.digest = self._digest()
        self.component, self.n_components = self._components()
        #: Where the graph came from, for :meth:`spec` (set by
        #: :meth:`from_file` and by the embedded city's builder).
        self.source: TravelSpec | None = None
        self._bands: dict[int | None, _BandGraph] = {}

    # ----------------------------------------------------------- constructors

    @classmethod
    def from_graph(
        cls,
        graph: nx.MultiDiGraph,
        *,
        profile: SpeedProfile | None = None,
        cache_dir: str | Path | None = None,
        access_kmh: float = ACCESS_KMH,
        max_snap_m: float | None = MAX_SNAP_M,
        largest_component: bool = True,
        name: str = "road",
    ) -> RoadTravel:
        """A road model over ``graph``, caching matrices in ``cache_dir``.

        Parameters
        ----------
        graph
            The road graph (any loader's output, or
            :func:`routing.travel.synthetic.synthetic_city_graph`).
        profile
            Speed profile (default :data:`~routing.travel.profiles.DEFAULT_PROFILE`).
        cache_dir
            Folder for ``.npz`` matrices; ``None`` caches in memory only.
        access_kmh, max_snap_m, largest_component, name
            As for :class:`RoadTravel`.

        Returns
        -------
        RoadTravel
            The model.
        """
        return cls(
            graph,
            profile=profile or DEFAULT_PROFILE,
            access_kmh=access_kmh,
            max_snap_m=max_snap_m,
            cache=MatrixCache(cache_dir),
            largest_component=largest_component,
            name=name,
        )

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        speeds: Mapping[str, float] | None = None,
        **kwargs: Any,
    ) -> RoadTravel:
        """Load a GraphML / ``.osm`` / ``.osm.pbf`` file and build the model.

        Parameters
        ----------
        path
            The road file (see :func:`routing.travel.osm.load_graph`).
        speeds
            A highway-class speed table replacing the default.
        **kwargs
            Passed to :meth:`from_graph`.

        Returns
        -------
        RoadTravel
            The model.
        """
        model = cls.from_graph(load_graph(path, speeds=speeds), **kwargs)
        model.source = TravelSpec(
            kind="road",
            name=model.name,
            path=str(Path(path).resolve()),
            sha256=file_sha256(path),
            digest=model.digest,
        )
        return model

    def spec(self) -> TravelSpec:
        """This model's descriptor (:mod:`routing.travel.spec`): its file or
        city seed when known, else a road graph with no file (``path=None``),
        which cannot be rebuilt. A snap limit other than the default is
        recorded, so that a plan is re-timed with the limit it was made with
        (no limit is recorded as the largest float)."""
        spec = self.source or TravelSpec(
            kind="road", name=self.name, digest=self.digest
        )
        if self.max_snap_m == MAX_SNAP_M:
            return spec
        limit = sys.float_info.max if self.max_snap_m is None else self.max_snap_m
        return spec.model_copy(update={"max_snap_m": limit})

    def with_max_snap_m(self, max_snap_m: float | None) -> RoadTravel:
        """This model with another snap limit (m; ``None``: none).

        A shallow copy: the graph, its priced bands and the matrix cache are
        shared, since the limit only decides which points count as on the
        roads, never a road leg's price.
        """
        if max_snap_m is not None and max_snap_m < 0:
            raise ValueError(f"max_snap_m must be non-negative, got {max_snap_m}")
        model = copy.copy(self)
        model.max_snap_m = max_snap_m
        return model

    # ------------------------------------------------------------- properties

    @property
    def band_starts(self) -> tuple[int, ...]:
        """Seconds since midnight at which each speed band begins."""
        return self.profile.band_starts

    @property
    def n_nodes(self) -> int:
        """Nodes in the routing graph."""
        return int(self.node_ids.size)

    @property
    def n_edges(self) -> int:
        """Directed edges in the routing graph (parallel edges counted)."""
        return int(self.src.size)

    def _components(self) -> tuple[IntArray, int]:
        """Each node's strongly connected component, 0 the largest (ties: the
        one holding the smallest node id, as
        :func:`~routing.travel.osm.largest_strongly_connected` picks), then
        by falling size; and how many there are."""
        n = self.n_nodes
        adjacency = csr_matrix(
            (np.ones(self.src.size), (self.src, self.dst)), shape=(n, n)
        )
        count, labels = connected_components(
            adjacency, directed=True, connection="strong"
        )
        sizes = np.bincount(labels, minlength=count)
        first = np.full(count, n, dtype=np.int64)
        np.minimum.at(first, labels, np.arange(n, dtype=np.int64))
        order = np.lexsort((first, -sizes))  # biggest first, then lowest id
        rank = np.empty(count, dtype=np.int64)
        rank[order] = np.arange(count, dtype=np.int64)
        return rank[labels].astype(np.int64), int(count)

    def _digest(self) -> str:
        import hashlib

        h = hashlib.sha256()
        for arr in (
            self.node_ids,
            self.lon,
            self.lat,
            self.src,
            self.dst,
            self.length,
            self.speed_kph,
            self.arterial,
        ):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(self.profile.digest().encode())
        return h.hexdigest()

    # --------------------------------------------------------------- snapping

    def snap(self, points: Sequence[Location]) -> Snap:
        """Nearest usable road node of each point, and how far it is.

        Parameters
        ----------
        points
            Locations with ``lat``/``lon``, or with a ``node`` of the graph.

        Returns
        -------
        Snap
            Node ids, snap distances (m), internal positions and components.

        Raises
        ------
        ValueError
            If a point has neither coordinates nor a node, or names a node
            that is not in the routing graph.
        """
        n = len(points)
        index = np.zeros(n, dtype=np.int64)
        metres = np.zeros(n, dtype=float)
        free = [i for i, p in enumerate(points) if p.node is None]
        for i, p in enumerate(points):
            if p.node is not None:
                pos = int(np.searchsorted(self.node_ids, p.node))
                if pos >= self.n_nodes or self.node_ids[pos] != p.node:
                    raise ValueError(
                        f"location {i}: node {p.node} is not in the routing graph"
                    )
                index[i] = pos
            elif not p.has_coordinates:
                raise ValueError(f"location {i}: road travel needs lat/lon or a node")
        if free:
            lat = np.array([points[i].lat for i in free], dtype=float)
            lon = np.array([points[i].lon for i in free], dtype=float)
            _, found = self._tree.query(_project(lat, lon, self._lat0))
            near = np.asarray(found, dtype=np.int64)
            index[free] = near
            metres[free] = _haversine(lat, lon, self.lat[near], self.lon[near])
        return Snap(
            nodes=self.node_ids[index],
            metres=metres,
            index=index,
            component=self.component[index],
        )

    # ---------------------------------------------------------------- pricing

    def _band(self, depart: int | None) -> int | None:
        return None if depart is None else self.profile.band_at(depart)

    def _band_graph(self, band: int | None) -> _BandGraph:
        found = self._bands.get(band)
        if found is not None:
            return found
        mult = self.profile.multipliers(band)
        factor = np.where(self.arterial, mult["arterial"], mult["local"])
        seconds = self.length / (self.speed_kph * factor / 3.6)
        seconds = np.maximum(seconds, _MIN_SECONDS)
        n = self.n_nodes
        key = self.src * n + self.dst
        order = np.lexsort((seconds, key))
        first = np.ones(order.size, dtype=bool)
        first[1:] = key[order][1:] != key[order][:-1]
        chosen = order[first]
        keys = key[chosen]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.src[chosen], minlength=n), out=indptr[1:])
        times = csr_matrix(
            (seconds[chosen], self.dst[chosen].astype(np.int32), indptr),
            shape=(n, n),
        )
        # In-edge table: slot k of node v holds its k-th incoming edge.
        src, dst = self.src[chosen], self.dst[chosen]
        by_target = np.lexsort((src, dst))
        indegree = np.bincount(dst, minlength=n)
        first_in = np.concatenate([[0], np.cumsum(indegree)[:-1]])
        rank = np.arange(by_target.size) - first_in[dst[by_target]]
        width = int(indegree.max()) if n else 0
        in_source = np.full((width, n), -1, dtype=np.int64)
        in_length = np.zeros((width, n), dtype=float)
        in_source[rank, dst[by_target]] = src[by_target]
        in_length[rank, dst[by_target]] = self.length[chosen][by_target]
        graph = _BandGraph(
            times=times,
            keys=keys,
            lengths=self.length[chosen],
            edges=chosen,
            in_source=in_source,
            in_length=in_length,
        )
        self._bands[band] = graph
        return graph

    def band_weights(self, depart: int | None = None) -> Any:
        """Edge travel times (s) in the band of ``depart``, as a CSR matrix.

        Row and column ``i`` are node ``node_ids[i]``; parallel edges keep the
        fastest. Shared, do not modify.
        """
        return self._band_graph(self._band(depart)).times

    def _trees(
        self, graph: _BandGraph, origins: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """Seconds and metres of the fastest paths from ``origins`` to all nodes.

        The metres are those of the very paths Dijkstra chose: each node's
        incoming tree edge is looked up in the in-edge table, then summed up
        the tree by pointer doubling.
        """
        seconds, pred = dijkstra(
            graph.times, directed=True, indices=origins, return_predecessors=True
        )
        k, n = pred.shape
        step = np.zeros((k, n), dtype=float)
        for source, length in zip(graph.in_source, graph.in_length, strict=True):
            np.copyto(step, length, where=pred == source)
        # Roots and unreachable nodes point at themselves (step 0); indices are
        # flat so one np.take serves every row at once.
        cols = np.arange(n, dtype=np.int64)
        parent = np.where(pred >= 0, pred, cols).astype(np.int64)
        parent += (np.arange(k, dtype=np.int64) * n)[:, None]
        flat_parent = parent.ravel()
        flat_step = step.ravel()
        # After pass p every node holds the length of the last 2**p edges of
        # its path and points 2**p nodes up the tree.
        while True:
            flat_step += np.take(flat_step, flat_parent)
            up = np.take(flat_parent, flat_parent)
            if np.array_equal(up, flat_parent):
                break
            flat_parent = up
        return np.asarray(seconds, dtype=float), step

    def _road(self, nodes: IntArray, band: int | None) -> tuple[IntArray, IntArray]:
        """Integer road seconds and metres between snapped nodes (-1: no path)."""
        label = "free" if band is None else str(band)
        key = cache_key(self.digest, label, nodes.astype(np.int64).tobytes())
        hit = self.cache.get(key)
        if hit is not None:
            return hit["seconds"].astype(np.int64), hit["metres"].astype(np.int64)
        graph = self._band_graph(band)
        k = nodes.size
        seconds = np.empty((k, k), dtype=np.int64)
        metres = np.empty((k, k), dtype=np.int64)
        for lo in range(0, k, CHUNK):
            chunk = nodes[lo : lo + CHUNK]
            t, d = self._trees(graph, chunk)
            t, d = t[:, nodes], d[:, nodes]
            missing = ~np.isfinite(t)
            seconds[lo : lo + CHUNK] = np.where(
                missing, -1, np.rint(np.where(missing, 0, t))
            )
            metres[lo : lo + CHUNK] = np.where(missing, -1, np.rint(d))
        small = np.int32 if max(seconds.max(), metres.max()) < 2**31 else np.int64
        self.cache.put(
            key, {"seconds": seconds.astype(small), "metres": metres.astype(small)}
        )
        return seconds, metres

    def matrix(
        self, points: Sequence[Location], *, depart: int | None = None
    ) -> TravelMatrix:
        """Duration (s) and distance (m) matrices between ``points``.

        Parameters
        ----------
        points
            Locations with ``lat``/``lon`` or a graph ``node``.
        depart
            Departure, seconds since midnight; selects the speed band.
            ``None`` prices at base speeds.

        Returns
        -------
        TravelMatrix
            Integer matrices; ``unreachable`` is set when any pair has no
            path (or a point is farther than ``max_snap_m`` from the roads).
        """
        n = len(points)
        if n == 0:
            empty = np.zeros((0, 0), dtype=np.int64)
            return TravelMatrix(durations=empty, distances=empty.copy())
        snap = self.snap(points)
        uniq, inv = np.unique(snap.index, return_inverse=True)
        road_s, road_m = self._road(uniq, self._band(depart))
        seconds = road_s[np.ix_(inv, inv)]
        metres = road_m[np.ix_(inv, inv)]
        unreachable = seconds < 0

        access_m = np.rint(snap.metres).astype(np.int64)
        access_s = np.rint(snap.metres / kmh_to_mps(self.access_kmh)).astype(np.int64)
        seconds += access_s[:, None] + access_s[None, :]
        metres += access_m[:, None] + access_m[None, :]

        same = inv[:, None] == inv[None, :]
        if same.sum() > n:
            i, j = np.nonzero(same)
            lat = np.array([p.lat if p.lat is not None else np.nan for p in points])
            lon = np.array([p.lon if p.lon is not None else np.nan for p in points])
            direct = np.nan_to_num(_haversine(lat[i], lon[i], lat[j], lon[j]))
            metres[i, j] = np.rint(direct)
            seconds[i, j] = np.rint(direct / kmh_to_mps(self.access_kmh))
        if self.max_snap_m is not None:
            far = access_m > self.max_snap_m
            if far.any():
                unreachable |= far[:, None] | far[None, :]
        np.fill_diagonal(unreachable, False)
        np.fill_diagonal(seconds, 0)
        np.fill_diagonal(metres, 0)
        any_unreachable = bool(unreachable.any())
        if any_unreachable:
            seconds[unreachable] = 0
            metres[unreachable] = 0
        return TravelMatrix(
            durations=seconds,
            distances=metres,
            unreachable=unreachable if any_unreachable else None,
        )

    # --------------------------------------------------------------- geometry

    def path(self, a: Location, b: Location, *, depart: int | None = None) -> list[int]:
        """Node ids of the fastest path from ``a`` to ``b`` in the band.

        Raises
        ------
        UnreachableError
            If no path exists or a point is off the network.
        """
        return [int(self.node_ids[p]) for p in self._path(a, b, depart)[0]]

    def _path(
        self, a: Location, b: Location, depart: int | None
    ) -> tuple[list[int], Snap]:
        snap = self.snap([a, b])
        if (
            self.max_snap_m is not None
            and (np.rint(snap.metres) > self.max_snap_m).any()
        ):
            raise UnreachableError(
                f"a location is more than {self.max_snap_m:g} m from the roads"
            )
        ia, ib = int(snap.index[0]), int(snap.index[1])
        if ia == ib:
            return [ia], snap
        graph = self._band_graph(self._band(depart))
        seconds, pred = dijkstra(
            graph.times, directed=True, indices=ia, return_predecessors=True
        )
        if not np.isfinite(seconds[ib]):
            raise UnreachableError(
                f"no road path from node {self.node_ids[ia]} to {self.node_ids[ib]}"
            )
        nodes = [ib]
        while nodes[-1] != ia:
            nodes.append(int(pred[nodes[-1]]))
        nodes.reverse()
        return nodes, snap

    def geometry(
        self, a: Location, b: Location, *, depart: int | None = None
    ) -> list[tuple[float, float]]:
        """``[(lon, lat), ...]`` from ``a`` along the roads to ``b``.

        The line starts at ``a``, joins the road at its snapped node, follows
        the fastest path in the band of ``depart`` (edge ``geometry`` where
        the graph has it, node to node otherwise) and ends at ``b``.

        Parameters
        ----------
        a, b
            The leg's ends.
        depart
            Departure, seconds since midnight (``None``: base speeds).

        Returns
        -------
        list of (float, float)
            GeoJSON-ordered coordinates, at least two.

        Raises
        ------
        UnreachableError
            If no path exists or a point is off the network.
        """
        nodes, _ = self._path(a, b, depart)
        graph = self._band_graph(self._band(depart))
        n = self.n_nodes
        line: list[tuple[float, float]] = []

        def add(point: tuple[float, float]) -> None:
            if not line or line[-1] != point:
                line.append(point)

        if a.lon is not None and a.lat is not None:
            add((float(a.lon), float(a.lat)))
        add((float(self.lon[nodes[0]]), float(self.lat[nodes[0]])))
        for u, v in itertools.pairwise(nodes):
            slot = int(np.searchsorted(graph.keys, u * n + v))
            shape = self._geometry[int(graph.edges[slot])]
            if shape is not None:
                for point in shape:
                    add((float(point[0]), float(point[1])))
            add((float(self.lon[v]), float(self.lat[v])))
        if b.lon is not None and b.lat is not None:
            add((float(b.lon), float(b.lat)))
        if len(line) == 1:
            line.append(line[0])
        return line

    def __repr__(self) -> str:
        return (
            f"RoadTravel(name={self.name!r}, graph={self.graph_name!r}, "
            f"nodes={self.n_nodes}, edges={self.n_edges}, "
            f"profile={self.profile.name!r})"
        )
