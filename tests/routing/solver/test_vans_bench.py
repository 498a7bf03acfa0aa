"""``bench routing --convention hierarchical`` and the double-precision
re-scorer of its route lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from routing.bench.rescore import read_instance, read_routes, rescore, write_routes
from routing.io.vrplib import HIERARCHICAL, read_bks
from tests.helpers import SHARED

SOLOMON = SHARED / "benchmarks" / "vrptw" / "solomon"


def _lkh_routes(tour: Path) -> list[list[int]]:
    """An LKH-3 tour: node 1 is the depot, nodes past 101 are depot copies."""
    words = tour.read_text().split()
    after = words[words.index("TOUR_SECTION") + 1 :]
    nodes = [int(w) for w in after if w.isdigit()]  # "-1" and "EOF" end it
    routes: list[list[int]] = [[]]
    for n in nodes:
        if n == 1 or n > 101:
            routes.append([])
        else:
            routes[-1].append(n - 1)
    return [r for r in routes if r]


def test_rescore_agrees_with_the_sintef_table() -> None:
    """The 55 good LKH-3 hierarchical tours re-score to the SINTEF vehicles
    and distances; the mislabeled C204 tour is late on the real C204."""
    bks = read_bks(SOLOMON / "bks.csv", convention=HIERARCHICAL)
    tours = sorted((SOLOMON / "lkh3_tours" / "hierarchical_exact").glob("*.tour"))
    assert len(tours) == 56
    for tour in tours:
        name = tour.name.split(".")[0]
        verdict = rescore(
            read_instance(SOLOMON / "instances" / f"{name}.txt"), _lkh_routes(tour)
        )
        if name == "C204":
            assert not verdict.feasible
            assert "starts" in verdict.violations[0]
            continue
        assert verdict.feasible, (name, verdict.violations)
        assert verdict.routes == bks[name]["vehicles"], name
        assert verdict.distance == pytest.approx(bks[name]["distance"], abs=0.07)


def test_rescore_names_each_broken_rule(tmp_path: Path) -> None:
    """Missing and repeated customers, over-capacity and lateness are named;
    a solution file round-trips."""
    instance = read_instance(SOLOMON / "instances" / "C101.txt")
    routes = [list(range(1, 60)), [59, *range(60, 100)]]
    path = tmp_path / "x.sol"
    write_routes(path, routes, 1.0)
    assert read_routes(path) == routes
    verdict = rescore(instance, routes)
    text = " ".join(verdict.violations)
    assert "1 customer(s) not visited" in text
    assert "more than once: [59]" in text
    assert "load" in text
    assert "starts" in text
    assert not verdict.feasible


def test_bench_hierarchical_writes_route_lists(tmp_path: Path) -> None:
    """C101 with OR-Tools for 1 s: 10 routes as the BKS, the gap measured in
    doubles, the checker and the re-scorer agree, and the route file written
    re-scores to the same distance."""
    from api.cli.bench_routing import app

    target, folder = tmp_path / "bench.json", tmp_path / "routes"
    args = ["--instances", "C101", "--engine", "ortools", "--time-limit", "1"]
    result = CliRunner().invoke(
        app,
        [
            *args,
            "--convention",
            "hierarchical",
            "--json",
            str(target),
            "--routes-dir",
            str(folder),
        ],
    )
    assert result.exit_code == 0, result.output
    (run,) = json.loads(target.read_text())["runs"]
    assert run["feasible"] and run["agrees"], run["violations"]
    assert run["bks_vehicles"] == 10 and run["bks_distance"] == 828.94
    assert run["extra_routes"] == run["vehicles"] - 10 == 0
    assert run["gap_pct"] == pytest.approx(
        100 * (run["distance"] - 828.94) / 828.94, abs=0.01
    )
    sol = folder / "C101.ortools.s0.sol"
    again = rescore(read_instance(SOLOMON / "instances" / "C101.txt"), read_routes(sol))
    assert again.distance == pytest.approx(run["distance"], abs=1e-4)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--convention", "sintef"], "--convention: unknown 'sintef'"),
        (
            ["--convention", "hierarchical", "--engine", "pyvrp-direct"],
            "distance only",
        ),
    ],
)
def test_bench_bad_convention_exits_2(args: list[str], words: str) -> None:
    from api.cli.bench_routing import app

    result = CliRunner().invoke(app, ["--instances", "C101", *args])
    assert result.exit_code == 2
    assert words in result.output
