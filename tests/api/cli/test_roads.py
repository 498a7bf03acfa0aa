"""``milepost plan --roads``: the snap limit and the snap report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.cli.common import MAX_SNAP_M, plan_travel
from routing import travel
from routing.plan import Plan
from routing.solver import check
from tests.routing.test_access import DAY, FAR, _city, _problem
from tests.routing.travel.test_spec import write_graphml

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small road file (a grid, an island cut off from it) and a day with
    one home 2 km from the grid and one by the island."""
    where = tmp_path_factory.mktemp("roads")
    roads = write_graphml(_city(), where / "city.graphml")
    problem = where / "day.json"
    problem.write_text(DAY.model_dump_json())
    return roads, problem


def _plan(args: list[str], target: Path) -> dict[str, object]:
    result = runner.invoke(
        app, ["plan", *args, "--time-limit", "1", "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    plan: dict[str, object] = json.loads(target.read_text())
    return plan


def test_cli_limit_is_the_library_default() -> None:
    """The help's default is routing's (the CLI does not import it)."""
    assert MAX_SNAP_M == travel.MAX_SNAP_M


def test_plan_on_roads_leaves_the_far_order_out_and_reports_snaps(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    """The far home and the island's neighbour (snapped to the grid 2 km off
    once the island is dropped) are off_road; every order has its snap."""
    roads, problem = files
    plan = _plan([str(problem), "--roads", str(roads)], tmp_path / "p.json")
    reasons = {u["id"]: u["reason"] for u in plan["unassigned"]}  # type: ignore[attr-defined]
    assert reasons == {"far": "off_road", "cut": "off_road"}
    report = plan["roads"]
    assert report["max_snap_m"] == 500.0  # type: ignore[index]
    assert set(report["orders"]) == {"o-1", "o-2", "o-3", "far", "cut"}  # type: ignore[index]


def test_max_snap_m_plans_the_far_order(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    """``--max-snap-m 5000`` lets both in; the plan records the limit."""
    roads, problem = files
    plan = _plan(
        [str(problem), "--roads", str(roads), "--max-snap-m", "5000"],
        tmp_path / "p.json",
    )
    assert plan["unassigned"] == []
    assert plan["roads"]["max_snap_m"] == 5000.0  # type: ignore[index]
    assert plan["travel"]["max_snap_m"] == 5000.0  # type: ignore[index]
    result = runner.invoke(app, ["plan", str(problem), "--max-snap-m", "5000"])
    assert result.exit_code == 2
    assert "--max-snap-m: only with --roads or --city-roads" in result.output


def test_a_depot_off_the_roads_exits_2(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    """The depot 2 km from the grid: exit 2 naming the field, no traceback."""
    roads, _ = files
    problem = tmp_path / "off.json"
    problem.write_text(_problem({"o-1": FAR}, depot=FAR).model_dump_json())
    result = runner.invoke(app, ["plan", str(problem), "--roads", str(roads)])
    assert result.exit_code == 2, result.output
    assert "depots[0].location: depot 'hub':" in result.output
    assert "beyond the snap limit of 500 m" in result.output
    assert "Traceback" not in result.output


def test_retiming_keeps_the_plans_limit(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    """slots and reoptimize rebuild the plan's roads with its 5 km limit,
    recorded or given as --roads: the far stop stays on the roads."""
    roads, problem = files
    data = _plan(
        [str(problem), "--roads", str(roads), "--max-snap-m", "5000"],
        tmp_path / "p.json",
    )
    plan = Plan.model_validate(data)
    assert plan.travel is not None
    for given in (None, roads):
        model = plan_travel(plan.travel, "p.json", DAY, given, tmp_path)
        assert isinstance(model, travel.RoadTravel) and model.max_snap_m == 5000.0
        assert check(DAY, plan, model).ok
