"""Reading Solomon / Gehring-Homberger instances and the BKS tables."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from routing.io import InputError
from routing.io.vrplib import read_bks, read_solomon
from tests.helpers import SHARED

VRPTW = SHARED / "benchmarks" / "vrptw"
needs_data = pytest.mark.skipif(
    not VRPTW.is_dir(), reason="shared VRPTW benchmark data not present"
)

TINY = """TINY

VEHICLE
NUMBER     CAPACITY
  3          50

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE TIME

    0      0          0          0          0       1000          0
    1      3          4         10         10         50         5
    2      6          8         20          0        900         5
"""


def _write(tmp_path: Path, text: str, crlf: bool = False) -> Path:
    path = tmp_path / "instance.txt"
    data = text.replace("\n", "\r\n") if crlf else text
    path.write_bytes(data.encode())
    return path


@needs_data
def test_c101_parses() -> None:
    """C101: 100 customers, capacity 200, 25 vehicles, times and loads scaled by 10."""
    problem, info = read_solomon(VRPTW / "solomon" / "instances" / "C101.txt")
    assert info["name"] == "C101"
    assert info["customers"] == 100
    assert info["scale"] == 10
    assert len(problem.jobs) == 100
    assert [j.id for j in problem.jobs] == [str(k) for k in range(1, 101)]
    assert len(problem.vehicles) == 25
    assert all(v.capacity == (2000,) for v in problem.vehicles)
    assert all(v.costs.per_km == v.costs.fixed == 0 for v in problem.vehicles)
    assert problem.vehicles[0].shift.as_list() == [0, 12360]
    first = problem.jobs[0]  # "1  45 68  10  912 967  90"
    assert first.demand == (100,)
    assert first.service == 900
    assert [w.as_list() for w in first.time_windows] == [[9120, 9670]]
    assert problem.matrices is not None
    # depot (40, 50) to customer 1 (45, 68): floor(10 * sqrt(349)) = 186
    assert problem.matrices.distances is not None
    assert problem.matrices.distances[0][1] == 186
    assert problem.matrices.durations[0][1] == 186
    assert len(problem.matrices.durations) == 101


def test_dimacs_truncates_and_exact_rounds(tmp_path: Path) -> None:
    """DIMACS truncates 10 x euclid; "exact" rounds 1000 x euclid."""
    path = _write(tmp_path, TINY)
    dimacs, _ = read_solomon(path)
    exact, info = read_solomon(path, convention="exact")
    assert dimacs.matrices is not None and exact.matrices is not None
    d12 = math.dist((3, 4), (6, 8))  # 5.0
    assert dimacs.matrices.durations[1][2] == 50
    assert exact.matrices.durations[1][2] == round(1000 * d12)
    assert dimacs.matrices.durations[0][2] == 100
    assert info["scale"] == 1000
    assert exact.jobs[0].time_windows[0].as_list() == [10_000, 50_000]


def test_crlf_and_lf_read_the_same(tmp_path: Path) -> None:
    """Line ends do not matter."""
    lf, _ = read_solomon(_write(tmp_path, TINY))
    crlf, _ = read_solomon(_write(tmp_path, TINY, crlf=True))
    assert lf == crlf


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("1      3          4         10", "1      3          4", 11, "expected 7"),
        ("2      6          8         20", "2      6          x         20", 12, "'x'"),
        ("10         50         5", "60         50         5", 11, "after DUE"),
        ("    2      6", "    1      6", 12, "appears twice"),
        ("  3          50", "  3", 5, "NUMBER and CAPACITY"),
        ("    0      0", "    5      0", 10, "depot"),
    ],
)
def test_malformed_rows_name_the_line(
    tmp_path: Path, old: str, new: str, line: int, words: str
) -> None:
    """A malformed file raises InputError naming the file and the line."""
    assert old in TINY
    path = _write(tmp_path, TINY.replace(old, new, 1), crlf=True)
    with pytest.raises(InputError) as err:
        read_solomon(path)
    assert err.value.source == str(path)
    assert f"line {line}:" in str(err.value)
    assert words in str(err.value)


def test_missing_sections_are_reported(tmp_path: Path) -> None:
    """A file without a CUSTOMER section says so."""
    path = _write(tmp_path, TINY.split("CUSTOMER")[0])
    with pytest.raises(InputError, match="no CUSTOMER section"):
        read_solomon(path)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    """A missing file raises InputError, not FileNotFoundError."""
    with pytest.raises(InputError, match="file not found"):
        read_solomon(tmp_path / "nope.txt")


@needs_data
def test_bks_keeps_distance_only_rows() -> None:
    """read_bks returns the DIMACS distance-only row of every Solomon instance."""
    bks = read_bks(VRPTW / "solomon" / "bks.csv")
    assert len(bks) == 56
    assert bks["C101"] == {"vehicles": 10, "distance": 827.3}
    assert bks["R101"] == {"vehicles": 20, "distance": 1637.7}


def test_bad_bks_row_names_the_line(tmp_path: Path) -> None:
    """A non-numeric distance in bks.csv is reported with its line."""
    path = tmp_path / "bks.csv"
    path.write_text(
        "instance,vehicles,distance,source,objective_convention\n"
        "A,3,12.5,x,distance_only;euclid_trunc1\n"
        "B,3,abc,x,distance_only;euclid_trunc1\n"
    )
    with pytest.raises(InputError, match="line 3:"):
        read_bks(path)


def test_bks_without_columns_is_rejected(tmp_path: Path) -> None:
    """A CSV lacking the expected columns is rejected at line 1."""
    path = tmp_path / "bks.csv"
    path.write_text("name,value\nA,1\n")
    with pytest.raises(InputError, match="line 1: missing column"):
        read_bks(path)
