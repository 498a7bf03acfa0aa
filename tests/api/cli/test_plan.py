"""The ``milepost plan`` command: files in, plan out, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.helpers import EXAMPLES, small_problem_json

runner = CliRunner()


def test_plan_writes_feasible_plan(tmp_path: Path) -> None:
    """Planning the documented example writes a plan and GeoJSON that check out."""
    out, geo = tmp_path / "plan.json", tmp_path / "routes.geojson"
    result = runner.invoke(
        app,
        [
            "plan",
            str(EXAMPLES / "small_problem.json"),
            "--out",
            str(out),
            "--geojson",
            str(geo),
            "--time-limit",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "checker: feasible" in result.output
    plan = json.loads(out.read_text())
    assert set(plan) >= {"summary", "routes", "unassigned"}
    assert plan["summary"]["orders"] == 9
    # The order scheduled for the next day is reported, not silently dropped.
    assert [u["reason"] for u in plan["unassigned"]] == ["scheduled_other_day"]
    features = json.loads(geo.read_text())["features"]
    lines = [f for f in features if f["geometry"]["type"] == "LineString"]
    assert len(lines) == plan["summary"]["routes"]
    lon, lat = lines[0]["geometry"]["coordinates"][0]
    assert 126 < lon < 128 and 37 < lat < 38


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("{ not json", "line 1 column 3", id="syntax"),
        pytest.param("[1, 2]", "the top level must be a JSON object", id="array"),
        pytest.param(
            json.dumps({**small_problem_json(), "vehicles": "van"}),
            "vehicles: Input should be a valid tuple",
            id="wrong-type",
        ),
    ],
)
def test_plan_bad_input_exits_2(tmp_path: Path, content: str, message: str) -> None:
    """Bad problem files exit with code 2 and a field/reason line, no traceback."""
    path = tmp_path / "problem.json"
    path.write_text(content)
    result = runner.invoke(app, ["plan", str(path)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_plan_missing_file_exits_2(tmp_path: Path) -> None:
    """A missing problem file is an input error, not a crash."""
    result = runner.invoke(app, ["plan", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "file not found" in result.output


def test_plan_bad_option_exits_2() -> None:
    """An unknown engine name is rejected with the option named."""
    result = runner.invoke(
        app, ["plan", str(EXAMPLES / "small_problem.json"), "--engine", "magic"]
    )
    assert result.exit_code == 2
    assert "engine: Input should be" in result.output


def test_plan_on_real_roads(tmp_path: Path) -> None:
    """`--roads` plans on a real OSM graph and draws routes along the streets."""
    from tests.helpers import SHARED

    graph = SHARED / "datasets" / "roads" / "baltimore_drive.graphml.gz"
    if not graph.exists():
        pytest.skip("../shared/datasets/roads is not available")
    problem = {
        "depots": [{"id": "d", "location": {"lat": 39.28, "lon": -76.58}}],
        "vehicles": [
            {
                "id": "v",
                "start": "d",
                "end": "d",
                "capacity": [9],
                "shift": ["08:00", "18:00"],
            }
        ],
        "jobs": [
            {"id": "a", "location": {"lat": 39.29, "lon": -76.60}, "demand": [1]},
            {"id": "b", "location": {"lat": 39.27, "lon": -76.55}, "demand": [1]},
        ],
    }
    path = tmp_path / "balt.json"
    path.write_text(json.dumps(problem))
    geo = tmp_path / "routes.geojson"
    result = runner.invoke(
        app,
        [
            "plan",
            str(path),
            "--roads",
            str(graph),
            "--cache-dir",
            str(tmp_path / "c"),
            "--time-limit",
            "1",
            "--geojson",
            str(geo),
        ],
    )
    assert result.exit_code == 0, result.output
    line = json.loads(geo.read_text())["features"][0]["geometry"]["coordinates"]
    assert len(line) > 10  # follows the streets, not 4 straight segments


def test_plan_bad_roads_file_exits_2(tmp_path: Path) -> None:
    """An unreadable road file is an input error naming the file."""
    bad = tmp_path / "roads.graphml"
    bad.write_text("not xml")
    result = runner.invoke(
        app, ["plan", str(EXAMPLES / "small_problem.json"), "--roads", str(bad)]
    )
    assert result.exit_code == 2
    assert "roads.graphml" in result.output


def test_city_scale_commands_are_mounted() -> None:
    """plan-large, reoptimize and slots are commands of ``milepost``."""
    for command in ("plan-large", "reoptimize", "slots"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_plan_without_out_writes_to_the_current_folder(tmp_path: Path) -> None:
    """Without ``-o`` the plan lands in the current folder, not beside the input."""
    result = runner.invoke(
        app, ["plan", str(EXAMPLES / "small_problem.json"), "--time-limit", "1"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "small_problem.plan.json").is_file()
    assert not (EXAMPLES / "small_problem.plan.json").exists()
    assert "plan written to small_problem.plan.json" in result.output


def test_live_line_shows_money_in_the_currency_and_distance_in_km() -> None:
    """Progress comes in the plan's units (its currency, or metres); the line
    says which, money to the currency's minor unit."""
    from api.cli.plan import objective_text
    from routing.io import read_problem
    from routing.locale import Locale
    from routing.solver import SolveParams

    problem = read_problem(EXAMPLES / "small_problem.json")
    cost = SolveParams(objective="cost")
    assert objective_text(problem, cost, 261_062.4) == "261,062 KRW"
    berlin = problem.model_copy(update={"locale": Locale(currency="EUR")})
    assert objective_text(berlin, cost, 261_062.4) == "261,062.40 EUR"
    distance = SolveParams(objective="distance")
    assert objective_text(problem, distance, 123_456.0) == "123.5 km"


def test_plan_of_exchanges_counts_them_and_marks_their_stops(tmp_path: Path) -> None:
    """The exchange example: every order served, the exchange after enough
    deliveries (the van never carries more than 60 kg), its count in the
    summary and its kind on its GeoJSON stop."""
    out, geo = tmp_path / "plan.json", tmp_path / "routes.geojson"
    result = runner.invoke(
        app,
        [
            "plan",
            str(EXAMPLES / "exchange_problem.json"),
            "--engine",
            "ortools",
            "--time-limit",
            "1",
            "--out",
            str(out),
            "--geojson",
            str(geo),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "checker: feasible" in result.output
    assert "exchanges served" in result.output and "1 of 1" in result.output
    plan = json.loads(out.read_text())
    assert plan["summary"]["served"] == 4
    (route,) = plan["routes"]
    assert max(s["load"][0] for s in route["steps"]) == 60000
    ids = [s["id"] for s in route["steps"][1:-1]]
    assert ids.index("x-2001") > 0
    stops = {
        f["properties"]["order"]: f["properties"]
        for f in json.loads(geo.read_text())["features"]
        if f["geometry"]["type"] == "Point" and f["properties"]["type"] == "job"
    }
    assert stops["x-2001"]["kind"] == "exchange"
    assert stops["r-2004"]["kind"] == "pickup"
    assert stops["o-2002"]["kind"] == "delivery"


def test_plan_with_vans_first(tmp_path: Path) -> None:
    """``--objective vans_then_distance`` plans the example with no more vans
    than the distance objective, and the checker passes it."""
    routes = {}
    for objective in ("distance", "vans_then_distance"):
        out = tmp_path / f"{objective}.json"
        result = runner.invoke(
            app,
            [
                "plan",
                str(EXAMPLES / "small_problem.json"),
                "--objective",
                objective,
                "--engine",
                "ortools",
                "--time-limit",
                "1",
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        assert "checker: feasible" in result.output
        routes[objective] = json.loads(out.read_text())["summary"]["routes"]
    assert 1 <= routes["vans_then_distance"] <= routes["distance"]


def test_plan_bad_objective_exits_2() -> None:
    """An unknown objective is rejected naming the option and the choices."""
    result = runner.invoke(
        app, ["plan", str(EXAMPLES / "small_problem.json"), "--objective", "vans"]
    )
    assert result.exit_code == 2
    assert "objective: Input should be" in result.output
    assert "vans_then_distance" in result.output
    assert "Traceback" not in result.output


def test_plan_with_workers(tmp_path: Path) -> None:
    """``--engine pyvrp --workers 2`` plans on two cores (PyVRP's islands)
    and the checker passes the plan; ``--workers 0`` exits 2 naming
    ``workers``."""
    from routing.solver.params import usable_cores

    assert usable_cores(2) == 2, "this test needs two cores"
    out = tmp_path / "plan.json"
    args = ["plan", str(EXAMPLES / "exchange_problem.json"), "--out", str(out)]
    result = runner.invoke(
        app, [*args, "--engine", "pyvrp", "--workers", "2", "--time-limit", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "checker: feasible" in result.output
    plan = json.loads(out.read_text())
    assert plan["engine"] == "pyvrp"
    assert plan["summary"]["served"] == plan["summary"]["orders"] == 4
    result = runner.invoke(app, [*args, "--workers", "0"])
    assert result.exit_code == 2
    assert "workers: Input should be greater than or equal to 1" in result.output
    assert "Traceback" not in result.output
