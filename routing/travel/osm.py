"""Road graphs from OpenStreetMap data: GraphML, ``.osm`` XML and ``.osm.pbf``.

Every loader returns a :class:`networkx.MultiDiGraph` in one schema, which
:class:`routing.travel.road.RoadTravel` reads:

* nodes: integer ids (OSM node ids where there are some), ``x`` (lon) and
  ``y`` (lat) as floats;
* edges, one per drivable direction: ``length`` (m, float), ``highway`` (one
  class, str), ``speed_kph`` (float, the base speed), ``oneway`` (bool), and
  optionally ``maxspeed`` (the raw tag), ``name`` and ``geometry`` (a tuple of
  ``(lon, lat)`` from the edge's source to its target, intermediate bends
  included).

**Base speed** of an edge: its ``maxspeed`` tag where it parses (km/h, or
``"25 mph"``; several values such as ``"50;30"`` or an osmnx list take the
lowest; ``"walk"`` is 7 km/h; ``"none"`` and unparsable values fall back to
the table), otherwise the class table :data:`HIGHWAY_SPEEDS_KPH` (km/h; a
class missing from it gets :data:`FALLBACK_SPEED_KPH`). An edge with several
classes (osmnx merges ways) takes the slowest. osmnx's own ``speed_kph`` and
``travel_time`` are ignored by default so that every source is priced by the
same rule; ``keep_file_speeds=True`` keeps them.

**Drivable ways** (XML and PBF): ``highway`` in :data:`DRIVABLE`, not
``area=yes``, ``access``/``motor_vehicle`` not ``private``/``no``, and
``service`` not ``parking_aisle``/``driveway``/``emergency_access``.

**Direction**: ``oneway=yes|true|1`` keeps the way's direction only,
``oneway=-1|reverse`` the opposite one; ``junction=roundabout|circular`` and
``highway=motorway`` imply ``oneway=yes`` unless ``oneway=no``. Other values
(``reversible``, ``alternating``) are two-way.

**Simplification** (XML and PBF): graph nodes are kept only where ways meet
or end; the OSM nodes in between become the edge's ``geometry`` and its
``length`` is summed along them. A way cut by the extract's border is split
into its runs of present nodes.

Routing uses the largest strongly connected component
(:func:`largest_strongly_connected`), so every kept node can reach every
other.
"""

from __future__ import annotations

import ast
import bz2
import gzip
import itertools
import math
import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import networkx as nx
import numpy as np

from routing.units import EARTH_RADIUS_M

#: Base speed (km/h) by OSM highway class, used where ``maxspeed`` is absent.
HIGHWAY_SPEEDS_KPH: Mapping[str, float] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 60.0,
    "primary_link": 40.0,
    "secondary": 50.0,
    "secondary_link": 40.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 30.0,
}

#: Speed (km/h) of a class missing from the table.
FALLBACK_SPEED_KPH = 30.0

#: Highway classes a van may drive on.
DRIVABLE: frozenset[str] = frozenset(HIGHWAY_SPEEDS_KPH)

_NO_ACCESS = frozenset({"private", "no"})
_NO_SERVICE = frozenset({"parking_aisle", "driveway", "emergency_access"})
_ONEWAY_YES = frozenset({"yes", "true", "1"})
_ONEWAY_REVERSE = frozenset({"-1", "reverse"})
_MPH = 1.609344
#: Implicit limits some maxspeed tags use (e.g. ``"DE:urban"``).
_NAMED_LIMITS = {"walk": 7.0, "living_street": 10.0, "urban": 50.0, "rural": 90.0}
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$", re.IGNORECASE)
_ZONE = re.compile(r"zone:?(\d+)", re.IGNORECASE)

SUFFIXES = (".graphml", ".graphml.gz", ".osm", ".osm.xml", ".osm.bz2", ".osm.pbf")

#: What the readers raise on a truncated or corrupt file: pyosmium's
#: ``RuntimeError`` ("PBF error: unexpected EOF"), gzip/bz2's ``EOFError``
#: and ``OSError``, zlib's error, XML's ``ParseError`` (a ``SyntaxError``),
#: and ``KeyError``/``ValueError``/networkx errors for elements that parse
#: but lack what a road graph needs.
_UNREADABLE: tuple[type[BaseException], ...] = (
    RuntimeError,
    EOFError,
    OSError,
    zlib.error,
    SyntaxError,
    KeyError,
    ValueError,
    nx.NetworkXError,
)


class RoadFileError(ValueError):
    """A road file that cannot be read: corrupt, truncated, empty or of an
    unknown format. The message names the file and the reason."""


def _as_list(value: object) -> list[str]:
    """A tag value as a list of strings (osmnx writes lists as Python reprs)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            parsed = None
        if isinstance(parsed, list):
            return [str(v) for v in parsed]
    return [part.strip() for part in text.split(";") if part.strip()]


def parse_maxspeed(value: object) -> float | None:
    """Speed limit in km/h from an OSM ``maxspeed`` value, or ``None``.

    Parameters
    ----------
    value
        ``"50"``, ``"30 mph"``, ``"50;30"``, ``["25 mph", "30 mph"]``,
        ``"DE:zone30"``, ``"walk"``, ``"none"``...

    Returns
    -------
    float or None
        The lowest limit found, in km/h; ``None`` when nothing parses
        (``"none"``, ``"signals"``, ``"variable"``), so the class table
        applies.
    """
    speeds = []
    for item in _as_list(value):
        text = item.strip().lower()
        match = _NUMBER.match(text)
        if match:
            kph = float(match.group(1))
            if (match.group(2) or "").lower() == "mph":
                kph *= _MPH
            if kph > 0:
                speeds.append(kph)
            continue
        zone = _ZONE.search(text)
        if zone:
            speeds.append(float(zone.group(1)))
            continue
        named = text.rsplit(":", 1)[-1]
        if named in _NAMED_LIMITS:
            speeds.append(_NAMED_LIMITS[named])
    return min(speeds) if speeds else None


def highway_class(value: object) -> str:
    """One highway class from a tag value; several give the slowest class."""
    classes = _as_list(value)
    if not classes:
        return "road"
    return min(classes, key=lambda c: (class_speed(c), c))


def class_speed(highway: str, speeds: Mapping[str, float] | None = None) -> float:
    """Table speed (km/h) of a highway class."""
    table = HIGHWAY_SPEEDS_KPH if speeds is None else speeds
    return float(table.get(highway, FALLBACK_SPEED_KPH))


def edge_speed(
    highway: str, maxspeed: object = None, speeds: Mapping[str, float] | None = None
) -> float:
    """Base speed (km/h): the parsed ``maxspeed``, else the class table.

    Parameters
    ----------
    highway
        The edge's (single) highway class.
    maxspeed
        The raw ``maxspeed`` tag, or ``None``.
    speeds
        A class table replacing :data:`HIGHWAY_SPEEDS_KPH`.

    Returns
    -------
    float
        Speed in km/h.
    """
    tagged = parse_maxspeed(maxspeed)
    return tagged if tagged is not None else class_speed(highway, speeds)


def _haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def path_length(coords: Sequence[tuple[float, float]]) -> float:
    """Length in metres of a ``[(lon, lat), ...]`` polyline."""
    return sum(
        _haversine(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(coords)
    )


# ----------------------------------------------------------------- ways -> graph


@dataclass(frozen=True)
class RawWay:
    """An OSM way as read from a file: its tags and node references."""

    id: int
    tags: Mapping[str, str]
    refs: Sequence[int]


def is_drivable(tags: Mapping[str, str]) -> bool:
    """Whether a way with these tags is part of the drivable network."""
    if tags.get("highway") not in DRIVABLE:
        return False
    if tags.get("area") == "yes":
        return False
    if tags.get("access") in _NO_ACCESS or tags.get("motor_vehicle") in _NO_ACCESS:
        return False
    return tags.get("service") not in _NO_SERVICE


def directions(tags: Mapping[str, str]) -> tuple[bool, bool]:
    """``(forward, backward)``: which ways along the node list a van may drive."""
    oneway = tags.get("oneway", "").strip().lower()
    if oneway in _ONEWAY_YES:
        return True, False
    if oneway in _ONEWAY_REVERSE:
        return False, True
    if oneway == "no":
        return True, True
    implied = tags.get("junction") in {"roundabout", "circular"} or (
        tags.get("highway") == "motorway"
    )
    return (True, False) if implied else (True, True)


def graph_from_ways(
    nodes: Mapping[int, tuple[float, float]],
    ways: Iterable[RawWay],
    *,
    speeds: Mapping[str, float] | None = None,
    simplify: bool = True,
    name: str = "osm",
) -> nx.MultiDiGraph:
    """Build the routing graph from OSM nodes and (already drivable) ways.

    Parameters
    ----------
    nodes
        ``{node id: (lon, lat)}``; references to missing nodes split the way.
    ways
        Drivable ways (see :func:`is_drivable`).
    speeds
        A class table replacing :data:`HIGHWAY_SPEEDS_KPH`.
    simplify
        Keep graph nodes only where ways meet or end (the default); otherwise
        every OSM node of a way becomes a graph node.
    name
        Stored as the graph's ``name``.

    Returns
    -------
    networkx.MultiDiGraph
        The graph in the schema described in the module docstring.
    """
    runs: list[tuple[RawWay, list[int]]] = []
    for way in ways:
        run: list[int] = []
        for ref in [*way.refs, None]:
            if ref is not None and ref in nodes:
                run.append(ref)
                continue
            if len(run) >= 2:
                runs.append((way, run))
            run = []
    uses: dict[int, int] = {}
    for _, run in runs:
        for i, ref in enumerate(run):
            end = i in (0, len(run) - 1)
            uses[ref] = uses.get(ref, 0) + (2 if end or not simplify else 1)
    G = nx.MultiDiGraph(name=name, crs="epsg:4326")
    for way, run in runs:
        forward, backward = directions(way.tags)
        highway = highway_class(way.tags.get("highway"))
        maxspeed = way.tags.get("maxspeed")
        speed = edge_speed(highway, maxspeed, speeds)
        start = 0
        for i in range(1, len(run)):
            if uses[run[i]] < 2 and i < len(run) - 1:
                continue
            piece = run[start : i + 1]
            start = i
            if piece[0] == piece[-1]:
                continue
            coords = [nodes[r] for r in piece]
            attrs: dict[str, Any] = {
                "length": path_length(coords),
                "highway": highway,
                "speed_kph": speed,
                "oneway": not (forward and backward),
                "osmid": way.id,
            }
            if maxspeed is not None:
                attrs["maxspeed"] = maxspeed
            if "name" in way.tags:
                attrs["name"] = way.tags["name"]
            for ref in (piece[0], piece[-1]):
                if ref not in G:
                    lon, lat = nodes[ref]
                    G.add_node(ref, x=lon, y=lat)
            if forward:
                geometry = tuple(coords) if len(coords) > 2 else None
                G.add_edge(piece[0], piece[-1], **attrs, geometry=geometry)
            if backward:
                geometry = tuple(reversed(coords)) if len(coords) > 2 else None
                G.add_edge(piece[-1], piece[0], **attrs, geometry=geometry)
    _drop_none_geometry(G)
    return G


def _drop_none_geometry(G: nx.MultiDiGraph) -> None:
    for _, _, data in G.edges(data=True):
        if data.get("geometry") is None:
            data.pop("geometry", None)


# ------------------------------------------------------------------- readers


def _open_text(path: Path) -> BinaryIO:
    """``path`` opened for reading bytes, decompressing ``.bz2`` / ``.gz``."""
    if path.name.endswith(".bz2"):
        return cast(BinaryIO, bz2.open(path, "rb"))
    if path.name.endswith(".gz"):
        return cast(BinaryIO, gzip.open(path, "rb"))
    return path.open("rb")


def read_osm_xml(
    path: str | Path,
    *,
    speeds: Mapping[str, float] | None = None,
    simplify: bool = True,
) -> nx.MultiDiGraph:
    """Read an ``.osm`` / ``.osm.bz2`` / ``.osm.gz`` XML extract.

    Parameters
    ----------
    path
        The file; compression is chosen by its suffix.
    speeds
        A class table replacing :data:`HIGHWAY_SPEEDS_KPH`.
    simplify
        See :func:`graph_from_ways`.

    Returns
    -------
    networkx.MultiDiGraph
        The drivable graph (all components; see
        :func:`largest_strongly_connected`).
    """
    path = Path(path)
    nodes: dict[int, tuple[float, float]] = {}
    ways: list[RawWay] = []
    with _open_text(path) as handle:
        for _, elem in ET.iterparse(handle, events=("end",)):
            if elem.tag == "node":
                nodes[int(elem.attrib["id"])] = (
                    float(elem.attrib["lon"]),
                    float(elem.attrib["lat"]),
                )
                elem.clear()
            elif elem.tag == "way":
                tags = {
                    t.attrib["k"]: t.attrib["v"]
                    for t in elem.iter("tag")
                    if "k" in t.attrib and "v" in t.attrib
                }
                if is_drivable(tags):
                    refs = [int(nd.attrib["ref"]) for nd in elem.iter("nd")]
                    ways.append(RawWay(int(elem.attrib["id"]), tags, refs))
                elem.clear()
            elif elem.tag == "relation":
                elem.clear()
    return graph_from_ways(
        nodes, ways, speeds=speeds, simplify=simplify, name=path.name
    )


def read_osm_pbf(
    path: str | Path,
    *,
    speeds: Mapping[str, float] | None = None,
    simplify: bool = True,
) -> nx.MultiDiGraph:
    """Read an ``.osm.pbf`` extract with pyosmium.

    Parameters
    ----------
    path
        The file.
    speeds
        A class table replacing :data:`HIGHWAY_SPEEDS_KPH`.
    simplify
        See :func:`graph_from_ways`.

    Returns
    -------
    networkx.MultiDiGraph
        The drivable graph (all components).

    Raises
    ------
    ImportError
        If pyosmium (``pip install osmium``) is missing; convert the file to
        ``.osm`` XML (``osmium cat in.osm.pbf -o out.osm``) instead.
    """
    try:
        import osmium
    except ImportError as exc:  # pragma: no cover - osmium is a dependency
        raise ImportError(
            "reading .osm.pbf needs pyosmium (pip install osmium); or convert the "
            "file to XML: osmium cat in.osm.pbf -o out.osm"
        ) from exc
    path = Path(path)
    nodes: dict[int, tuple[float, float]] = {}
    ways: list[RawWay] = []
    for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
        if isinstance(obj, osmium.osm.Node):
            if obj.location.valid():
                nodes[obj.id] = (obj.location.lon, obj.location.lat)
        elif isinstance(obj, osmium.osm.Way):
            tags = {t.k: t.v for t in obj.tags}
            if is_drivable(tags):
                ways.append(RawWay(obj.id, tags, [n.ref for n in obj.nodes]))
    return graph_from_ways(
        nodes, ways, speeds=speeds, simplify=simplify, name=path.name
    )


_LINESTRING = re.compile(r"^\s*LINESTRING\s*\((.*)\)\s*$", re.IGNORECASE)


def parse_linestring(text: str) -> tuple[tuple[float, float], ...] | None:
    """``(lon, lat)`` pairs from a WKT ``LINESTRING (x y, ...)``, else ``None``."""
    match = _LINESTRING.match(text)
    if not match:
        return None
    coords = []
    for pair in match.group(1).split(","):
        parts = pair.split()
        if len(parts) < 2:
            return None
        coords.append((float(parts[0]), float(parts[1])))
    return tuple(coords) if len(coords) >= 2 else None


def _node_id(node: object) -> int:
    try:
        return int(str(node))
    except ValueError:
        raise ValueError(f"node id {node!r} is not an integer") from None


def normalise_graph(
    G: nx.Graph,
    *,
    speeds: Mapping[str, float] | None = None,
    keep_file_speeds: bool = False,
) -> nx.MultiDiGraph:
    """Bring a graph (GraphML, osmnx, hand-built) into the loader schema.

    Attributes may be strings (``nx.read_graphml``) or typed (osmnx).
    Undirected graphs become two-way. Missing ``length`` is measured along the
    geometry or between the end nodes.

    Parameters
    ----------
    G
        Nodes with ``x``/``y`` (lon/lat) and integer-like ids.
    speeds
        A class table replacing :data:`HIGHWAY_SPEEDS_KPH`.
    keep_file_speeds
        Use an edge's existing ``speed_kph`` (or ``length / travel_time``)
        when present instead of recomputing it from ``maxspeed``/``highway``.

    Returns
    -------
    networkx.MultiDiGraph
        A new graph in the schema described in the module docstring.

    Raises
    ------
    ValueError
        If a node lacks coordinates or has a non-integer id.
    """
    directed = G if G.is_directed() else G.to_directed()
    out = nx.MultiDiGraph(
        name=str(G.graph.get("name", "graph")), crs=G.graph.get("crs", "epsg:4326")
    )
    for node, data in directed.nodes(data=True):
        if "x" not in data or "y" not in data:
            raise ValueError(f"node {node!r} has no x/y (lon/lat) coordinates")
        out.add_node(_node_id(node), x=float(data["x"]), y=float(data["y"]))
    for u, v, data in directed.edges(data=True):
        a, b = _node_id(u), _node_id(v)
        pa = (out.nodes[a]["x"], out.nodes[a]["y"])
        pb = (out.nodes[b]["x"], out.nodes[b]["y"])
        geometry = _edge_geometry(data.get("geometry"), pa, pb)
        if data.get("length") not in (None, ""):
            length = float(data["length"])
        elif geometry is not None:
            length = path_length(geometry)
        else:
            length = _haversine(pa[0], pa[1], pb[0], pb[1])
        highway = highway_class(data.get("highway"))
        maxspeed = data.get("maxspeed")
        speed = edge_speed(highway, maxspeed, speeds)
        if keep_file_speeds:
            speed = _file_speed(data, length) or speed
        attrs: dict[str, Any] = {
            "length": length,
            "highway": highway,
            "speed_kph": speed,
            "oneway": str(data.get("oneway", "False")).lower() in {"true", "yes", "1"},
        }
        if maxspeed not in (None, ""):
            attrs["maxspeed"] = maxspeed
        if data.get("name"):
            attrs["name"] = str(data["name"])
        if geometry is not None:
            attrs["geometry"] = geometry
        out.add_edge(a, b, **attrs)
    return out


def _file_speed(data: Mapping[str, Any], length: float) -> float | None:
    if data.get("speed_kph") not in (None, ""):
        return float(data["speed_kph"])
    if data.get("travel_time") not in (None, ""):
        seconds = float(data["travel_time"])
        if seconds > 0:
            return length / seconds * 3.6
    return None


def _edge_geometry(
    value: object, pa: tuple[float, float], pb: tuple[float, float]
) -> tuple[tuple[float, float], ...] | None:
    """Edge geometry as ``(lon, lat)`` oriented from ``pa`` to ``pb``."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        coords = parse_linestring(value)
    elif hasattr(value, "coords"):  # a shapely LineString from osmnx
        coords = tuple((float(x), float(y)) for x, y, *_ in value.coords)
    else:
        coords = tuple((float(p[0]), float(p[1])) for p in value)  # type: ignore[attr-defined]
    if coords is None or len(coords) < 2:
        return None

    def gap(p: tuple[float, float], q: tuple[float, float]) -> float:
        return (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2

    if gap(coords[0], pb) + gap(coords[-1], pa) < gap(coords[0], pa) + gap(
        coords[-1], pb
    ):
        coords = tuple(reversed(coords))
    return coords


def read_graphml(
    path: str | Path,
    *,
    speeds: Mapping[str, float] | None = None,
    keep_file_speeds: bool = False,
) -> nx.MultiDiGraph:
    """Read a GraphML road graph (``.graphml`` or ``.graphml.gz``, e.g. osmnx).

    Parameters
    ----------
    path
        The file.
    speeds
        A class table replacing :data:`HIGHWAY_SPEEDS_KPH`.
    keep_file_speeds
        See :func:`normalise_graph`.

    Returns
    -------
    networkx.MultiDiGraph
        The graph in the loader schema (all components).
    """
    path = Path(path)
    with _open_text(path) as handle:
        raw = nx.read_graphml(handle, force_multigraph=True)
    raw.graph.setdefault("name", path.name)
    raw.graph["name"] = path.name
    return normalise_graph(raw, speeds=speeds, keep_file_speeds=keep_file_speeds)


def load_graph(
    path: str | Path,
    *,
    speeds: Mapping[str, float] | None = None,
    simplify: bool = True,
    keep_file_speeds: bool = False,
) -> nx.MultiDiGraph:
    """Read a road graph, choosing the reader by the file's suffix.

    Parameters
    ----------
    path
        ``.graphml``, ``.graphml.gz``, ``.osm``, ``.osm.xml``, ``.osm.bz2``,
        ``.osm.gz`` or ``.osm.pbf``.
    speeds
        A class table replacing :data:`HIGHWAY_SPEEDS_KPH`.
    simplify
        For OSM files: see :func:`graph_from_ways`.
    keep_file_speeds
        For GraphML: see :func:`normalise_graph`.

    Returns
    -------
    networkx.MultiDiGraph
        The whole drivable graph; pass it to
        :meth:`routing.travel.road.RoadTravel.from_graph`, which keeps the
        largest strongly connected component.

    Raises
    ------
    RoadFileError
        If the suffix is not one of the above, or the file is empty,
        truncated or corrupt (the message names the file and the reader's
        reason).
    FileNotFoundError
        If the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no road graph at {path}")
    name = path.name.lower()
    if name.endswith((".graphml", ".graphml.gz", ".graphml.bz2")):
        kind = "GraphML"
    elif name.endswith(".pbf"):
        kind = "OSM PBF"
    elif name.endswith((".osm", ".osm.xml", ".osm.bz2", ".osm.gz", ".xml")):
        kind = "OSM XML"
    else:
        raise RoadFileError(
            f"unknown road graph format {path.name!r}; "
            f"expected one of {', '.join(SUFFIXES)}"
        )
    if path.stat().st_size == 0:
        raise RoadFileError(f"road file {path} is empty")
    try:
        if kind == "GraphML":
            return read_graphml(path, speeds=speeds, keep_file_speeds=keep_file_speeds)
        if kind == "OSM PBF":
            return read_osm_pbf(path, speeds=speeds, simplify=simplify)
        return read_osm_xml(path, speeds=speeds, simplify=simplify)
    except _UNREADABLE as exc:
        reason = str(exc) or type(exc).__name__
        raise RoadFileError(
            f"road file {path} is not a readable {kind} file (truncated or "
            f"corrupt?): {reason}"
        ) from exc


def largest_strongly_connected(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of ``G`` restricted to its largest strongly connected component.

    Ties between equally large components go to the one with the smallest
    node id, so the result is deterministic.
    """
    if G.number_of_nodes() == 0:
        return G.copy()
    best = max(nx.strongly_connected_components(G), key=lambda c: (len(c), -min(c)))
    return G.subgraph(best).copy()


def bounds(G: nx.MultiDiGraph) -> tuple[float, float, float, float]:
    """``(south, west, north, east)`` of the graph's nodes, in degrees."""
    xs = np.array([d["x"] for _, d in G.nodes(data=True)], dtype=float)
    ys = np.array([d["y"] for _, d in G.nodes(data=True)], dtype=float)
    return float(ys.min()), float(xs.min()), float(ys.max()), float(xs.max())
