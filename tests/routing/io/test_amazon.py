"""Amazon Last Mile challenge routes: reading, timing the driver, comparing."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from api.cli.amazon import amazon_command
from routing.bench.amazon import compare, driver_plan, route_stats
from routing.io import InputError
from routing.io.amazon import (
    DEFAULT_FOLDER,
    PACKAGE_FILE,
    ROUTE_FILE,
    SEQUENCE_FILE,
    amazon_travel,
    list_routes,
    read_route,
    read_routes,
    station_zone,
)
from routing.solver import check
from routing.units import haversine_m

NAN = math.nan
ROUTE = "RouteID_tiny"
#: 36 km/h = 10 m/s and no detour: a leg of d metres takes d / 10 seconds.
TRAVEL = amazon_travel(detour=1.0, speed_kmh=36.0)
#: 15:00 UTC is 08:00 in Los Angeles in July (PDT, UTC-7).
DEPART = 8 * 3600
#: The station and three stops on the equator, 0.009 degrees (~1 km) apart.
LON = {"ST": 0.0, "A": 0.009, "B": 0.018, "C": 0.027}


def _package(start: Any, end: Any, service: float, dims: tuple[float, ...]) -> Any:
    depth, height, width = dims
    return {
        "time_window": {"start_time_utc": start, "end_time_utc": end},
        "planned_service_time_seconds": service,
        "dimensions": {"depth_cm": depth, "height_cm": height, "width_cm": width},
    }


def _tiny_folder(tmp_path: Path, actual: list[str] | None = None) -> Path:
    """1 station, 3 stops; packages with, without (NaN) and with crossing windows."""
    stops = {
        sid: {
            "lat": 0.0,
            "lng": lon,
            "type": "Station" if sid == "ST" else "Dropoff",
            "zone_id": NAN if sid == "ST" else "Z-1",
        }
        for sid, lon in LON.items()
    }
    routes = {
        ROUTE: {
            "station_code": "DLA1",
            "date_YYYY_MM_DD": "2018-07-20",
            "departure_time_utc": "15:00:00",
            "executor_capacity_cm3": 100000.0,
            "stops": stops,
        }
    }
    day = "2018-07-20"
    packages = {
        ROUTE: {
            "ST": {},
            "A": {
                "PackageID_a1": _package(
                    f"{day} 14:00:00", f"{day} 15:05:00", 60.0, (10, 10, 10)
                ),
                "PackageID_a2": _package(
                    f"{day} 15:00:00", f"{day} 16:00:00", 30.0, (20, 10, 5.5)
                ),
            },
            "B": {"PackageID_b1": _package(NAN, NAN, 45.0, (10, 10, 10))},
            "C": {
                "PackageID_c1": _package(
                    f"{day} 15:00:00", f"{day} 23:00:00", 20.0, (10, 10, 10)
                ),
                "PackageID_c2": _package(NAN, NAN, 40.0, (5, 5, 5)),
            },
        }
    }
    order = actual or ["C", "A", "B"]
    sequences = {
        ROUTE: {"actual": {"ST": 0} | {s: k for k, s in enumerate(order, start=1)}}
    }
    folder = tmp_path / "tiny"
    folder.mkdir()
    for name, data in (
        (ROUTE_FILE, routes),
        (PACKAGE_FILE, packages),
        (SEQUENCE_FILE, sequences),
    ):
        # json.dumps writes the bare NaN token, as the challenge files do.
        (folder / name).write_text(json.dumps(data), encoding="utf-8")
    return folder


def _leg(a: str, b: str) -> tuple[int, int]:
    """Hand-computed (seconds, metres) between two tiny-route places."""
    metres = haversine_m(0.0, LON[a], 0.0, LON[b])
    return round(metres / 10.0), round(metres)


def test_tiny_route_reads_into_one_van_problem(tmp_path: Path) -> None:
    """The tiny folder becomes one depot, one van and one job per drop-off."""
    route = read_route(_tiny_folder(tmp_path), ROUTE)
    problem = route.problem
    assert [d.id for d in problem.depots] == ["DLA1"]
    assert route.timezone == "America/Los_Angeles"
    assert route.departure == DEPART
    van = problem.vehicles[0]
    assert (van.start, van.end) == ("DLA1", "DLA1")
    assert van.capacity[0] == 100_000
    assert [j.id for j in problem.jobs] == ["A", "B", "C"]
    assert route.driver_sequence == ("C", "A", "B")
    assert (route.n_stops, route.n_packages, route.n_windowed_packages) == (3, 5, 3)
    jobs = {j.id: j for j in problem.jobs}
    assert jobs["A"].demand == (2100, 2)
    assert jobs["C"].demand == (1125, 2)
    assert [j.service for j in problem.jobs] == [90, 45, 60]


def test_windows_intersect_per_stop(tmp_path: Path) -> None:
    """A stop's window is its packages' intersection; NaN windows impose none."""
    jobs = {j.id: j for j in read_route(_tiny_folder(tmp_path), ROUTE).problem.jobs}
    # 14:00-15:05 and 15:00-16:00 UTC -> 15:00-15:05 UTC = 08:00-08:05 local.
    assert [w.as_list() for w in jobs["A"].time_windows] == [[DEPART, DEPART + 300]]
    assert jobs["B"].time_windows == ()
    # One windowed package (15:00-23:00 UTC) and one without a window.
    assert [w.as_list() for w in jobs["C"].time_windows] == [
        [DEPART, DEPART + 8 * 3600]
    ]


def test_disjoint_windows_keep_the_first_closing(tmp_path: Path) -> None:
    """Packages whose windows do not meet are reported, the earliest one kept."""
    folder = _tiny_folder(tmp_path)
    path = folder / PACKAGE_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data[ROUTE]["B"]["PackageID_b2"] = _package(
        "2018-07-20 20:00:00", "2018-07-20 21:00:00", 10.0, (1, 1, 1)
    )
    data[ROUTE]["B"]["PackageID_b3"] = _package(
        "2018-07-20 16:00:00", "2018-07-20 17:00:00", 10.0, (1, 1, 1)
    )
    path.write_text(json.dumps(data), encoding="utf-8")
    route = read_route(folder, ROUTE)
    assert route.window_conflicts == ("B",)
    jobs = {j.id: j for j in route.problem.jobs}
    assert [w.as_list() for w in jobs["B"].time_windows] == [[9 * 3600, 10 * 3600]]


def test_driver_plan_matches_hand_timing(tmp_path: Path) -> None:
    """The driver's C, A, B is timed by hand: A is served 260 s after it closes."""
    route = read_route(_tiny_folder(tmp_path), ROUTE)
    plan = driver_plan(route, TRAVEL)
    steps = plan.routes[0].steps
    assert [s.id for s in steps[1:-1]] == ["C", "A", "B"]
    t_sc, d_sc = _leg("ST", "C")
    t_ca, d_ca = _leg("C", "A")
    t_ab, d_ab = _leg("A", "B")
    t_bs, d_bs = _leg("B", "ST")
    c_start = DEPART + t_sc
    a_start = c_start + 60 + t_ca
    b_start = a_start + 90 + t_ab
    back = b_start + 45 + t_bs
    assert [s.service_start for s in steps[1:-1]] == [c_start, a_start, b_start]
    assert steps[-1].arrival == back
    assert plan.summary.distance == d_sc + d_ca + d_ab + d_bs
    stats = route_stats(route.problem, plan, TRAVEL)
    assert stats.window_violations == 1
    assert stats.minutes_late == round((a_start - (DEPART + 300)) / 60, 1)
    assert stats.duration == back - DEPART
    assert stats.driving == t_sc + t_ca + t_ab + t_bs
    assert not stats.feasible
    assert "window: 1" in stats.checker


def test_our_tiny_plan_is_feasible_and_shorter(tmp_path: Path) -> None:
    """Ours serves A first, on time, and drives no more than the driver."""
    route = read_route(_tiny_folder(tmp_path), ROUTE)
    c = compare(route, TRAVEL, time_limit=1.0, warm_start=True)
    assert check(route.problem, c.ours_plan, TRAVEL).ok
    assert c.ours.feasible and c.ours.window_violations == 0
    assert c.ours.served == 3
    assert c.ours_plan.routes[0].order_ids == ["A", "B", "C"]
    assert c.ours.distance <= c.driver.distance
    assert c.ours.distance == sum(
        _leg(a, b)[1] for a, b in [("ST", "A"), ("A", "B"), ("B", "C"), ("C", "ST")]
    )
    assert not c.warm_start  # the driver is late at A: no warm start
    assert c.meets_target


def test_feasible_driver_sequence_is_the_warm_start(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """An on-time driver's sequence is where the search starts, read without error."""
    route = read_route(_tiny_folder(tmp_path, actual=["A", "C", "B"]), ROUTE)
    capfd.readouterr()
    c = compare(route, TRAVEL, time_limit=0.5, warm_start=True)
    assert "Invalid index" not in capfd.readouterr().err
    assert c.warm_start
    assert c.driver.window_violations == 0 and c.driver.feasible
    assert c.ours.feasible and c.ours.distance <= c.driver.distance


def test_bad_folders_raise_input_errors(tmp_path: Path) -> None:
    """A missing file, unknown route or unknown station zone is an InputError."""
    with pytest.raises(InputError, match="file not found"):
        list_routes(tmp_path)
    folder = _tiny_folder(tmp_path)
    with pytest.raises(InputError, match="unknown route id 'nope'"):
        read_route(folder, "nope")
    path = folder / ROUTE_FILE
    path.write_text(path.read_text().replace("DLA1", "DXX1"), encoding="utf-8")
    with pytest.raises(InputError, match="no time zone known for station 'DXX1'"):
        read_route(folder, ROUTE)
    assert read_route(folder, ROUTE, zone="America/Denver").timezone.endswith("ver")


@pytest.mark.parametrize(
    ("code", "zone"),
    [
        ("DLA7", "America/Los_Angeles"),
        ("DSE4", "America/Los_Angeles"),
        ("DCH4", "America/Chicago"),
        ("DAU1", "America/Chicago"),
        ("DBO2", "America/New_York"),
    ],
)
def test_station_zones(code: str, zone: str) -> None:
    """Each station-code prefix maps to its city's zone."""
    assert station_zone(code) == zone


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(amazon_command)
    return app


def test_cli_writes_table_json_and_report(tmp_path: Path) -> None:
    """The command prints the table and writes the JSON and Markdown report."""
    folder = _tiny_folder(tmp_path)
    js, md = tmp_path / "out.json", tmp_path / "report.md"
    result = CliRunner().invoke(
        _cli(),
        [
            "--folder",
            str(folder),
            "--no-warm-start",
            "--route",
            "tiny",
            "--time-limit",
            "0.5",
            "--speed",
            "36",
            "--detour",
            "1",
            "--json",
            str(js),
            "--report",
            str(md),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "total" in result.output
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["routes"][0]["ours"]["sequence"] == ["A", "B", "C"]
    assert data["routes"][0]["driver"]["window_violations"] == 1
    report = md.read_text(encoding="utf-8")
    assert "| tiny | DLA1 | 3 | 6.0 | 8.0 | 0.750 |" in report
    assert "| **total (1)** |" in report


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--folder", "/nonexistent/amazon"], "no such data folder"),
        pytest.param(["--route", "RouteID_nope"], "unknown route id"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    """A missing folder or an unknown route exits 2 with a clear message."""
    if "--folder" not in args:
        args = ["--folder", str(_tiny_folder(tmp_path)), *args]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 2
    assert message in result.output


def _real_folder() -> Path:
    if not (DEFAULT_FOLDER / ROUTE_FILE).is_file():
        pytest.skip(f"the Amazon sample is not at {DEFAULT_FOLDER}")
    return DEFAULT_FOLDER


def test_real_route_counts_match_the_json() -> None:
    """A real route has as many jobs and packages as its JSON lists."""
    folder = _real_folder()
    rid = list_routes(folder)[0]
    route = read_route(folder, rid)
    raw = json.loads((folder / ROUTE_FILE).read_text(encoding="utf-8"))[rid]
    pkgs = json.loads((folder / PACKAGE_FILE).read_text(encoding="utf-8"))[rid]
    drops = [s for s, v in raw["stops"].items() if v["type"] == "Dropoff"]
    assert route.n_stops == len(drops) == len(route.driver_sequence)
    assert sorted(route.driver_sequence) == sorted(drops)
    assert route.n_packages == sum(len(pkgs[s]) for s in drops)
    assert sum(j.demand[1] for j in route.problem.jobs) == route.n_packages
    assert route.capacity_cm3 == round(raw["executor_capacity_cm3"])


@pytest.mark.slow
def test_all_real_routes_beat_the_drivers() -> None:
    """On all 13 routes ours is feasible, never late and no longer than the driver's."""
    routes = read_routes(_real_folder())
    assert len(routes) == 13
    travel = amazon_travel()
    for route in routes:
        c = compare(route, travel, time_limit=3.0)
        assert c.ours.feasible, (route.route_id, c.ours.checker)
        assert c.ours.window_violations == 0, route.route_id
        assert c.ours.served == route.n_stops, route.route_id
        assert c.ours.distance <= c.driver.distance, route.route_id
