"""One travel model per plan on the command line: ``plan`` records it,
``slots`` and ``reoptimize`` re-time the plan with it, or refuse (exit 2)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.cli.common import DEFAULT_CACHE_DIR
from routing.model import Problem
from routing.plan import Plan
from routing.solver import SolveParams, solve
from routing.travel import RoadTravel, travel_spec
from scenarios.demo import run_demo
from tests.helpers import DATA
from tests.routing.travel.test_spec import tiny_city, write_graphml

runner = CliRunner()
PROBLEM = DATA / "tiny_problem.json"
OLD_PLAN = DATA / "tiny_problem.plan.json"
WHERE = ["--lat", "37.53", "--lon", "127.0"]


@pytest.fixture
def roads_plan(tmp_path: Path) -> tuple[Path, Path]:
    """A road file and the tiny problem's plan made on it by ``milepost plan``."""
    roads = write_graphml(tiny_city(), tmp_path / "city.graphml")
    plan = tmp_path / "plan.json"
    result = runner.invoke(
        app,
        [
            "plan",
            str(PROBLEM),
            "--roads",
            str(roads),
            "--time-limit",
            "1",
            "--out",
            str(plan),
        ],
    )
    assert result.exit_code == 0, result.output
    return roads, plan


def _quotes(
    args: list[str], tmp_path: Path, name: str, *, one_dim: bool = True
) -> list[dict[str, object]]:
    """The quotes of ``milepost slots`` as JSON (``one_dim``: a one-parcel
    order, for the tiny problem's one capacity dimension)."""
    target = tmp_path / name
    options = [*WHERE, "--json", str(target)]
    if one_dim:
        config = tmp_path / "slots.json"
        config.write_text('{"demand": [1]}')
        options += ["--config", str(config)]
    result = runner.invoke(app, ["slots", *args, *options])
    assert result.exit_code == 0, result.output
    quotes: list[dict[str, object]] = json.loads(target.read_text())
    return quotes


def test_slots_reuse_the_plans_roads(
    roads_plan: tuple[Path, Path], tmp_path: Path
) -> None:
    """Quotes on a road plan without any flag are the quotes with its road
    file given, and not those on straight lines."""
    roads, plan = roads_plan
    recorded = json.loads(plan.read_text())["travel"]
    assert recorded["kind"] == "road"
    assert recorded["sha256"] == travel_spec(RoadTravel.from_file(roads)).sha256
    base = [str(PROBLEM), str(plan)]
    plain = _quotes(base, tmp_path, "plain.json")
    given = _quotes([*base, "--roads", str(roads)], tmp_path, "given.json")
    assert plain == given
    stripped = {k: v for k, v in json.loads(plan.read_text()).items() if k != "travel"}
    old = tmp_path / "old.plan.json"
    old.write_text(json.dumps(stripped))
    straight = _quotes([str(PROBLEM), str(old)], tmp_path, "straight.json")
    assert [q["marginal_cost"] for q in straight] != [q["marginal_cost"] for q in plain]


def test_reoptimize_retimes_with_the_plans_roads(
    roads_plan: tuple[Path, Path], tmp_path: Path
) -> None:
    """The rest of the day on a road plan records and drives the same roads."""
    _, plan = roads_plan
    state = tmp_path / "state.json"
    new = {"id": "n-1", "location": {"lat": 37.53, "lon": 127.0}, "demand": [1]}
    state.write_text(json.dumps({"time": "07:00", "new_orders": [new]}))
    result = runner.invoke(
        app,
        [
            "reoptimize",
            str(PROBLEM),
            str(state),
            "--plan",
            str(plan),
            "--time-limit",
            "1",
        ],
        env={"COLUMNS": "120"},
    )
    assert result.exit_code == 0, result.output
    assert "checker: feasible" in result.output
    written = json.loads((tmp_path / "state.reopt.json").read_text())
    assert written["plan"]["travel"] == json.loads(plan.read_text())["travel"]
    assert "roads of city.graphml" in result.output


def test_other_roads_are_refused(roads_plan: tuple[Path, Path], tmp_path: Path) -> None:
    """A road file or city other than the plan's: exit 2, saying which."""
    _, plan = roads_plan
    other = write_graphml(tiny_city(seed_=9), tmp_path / "other.graphml")
    for flag in (["--roads", str(other)], ["--city-roads", "0"]):
        result = runner.invoke(app, ["slots", str(PROBLEM), str(plan), *WHERE, *flag])
        assert result.exit_code == 2, result.output
        assert "is not the travel model" in result.output
        assert flag[0] in result.output


def test_missing_or_changed_roads_are_refused(
    roads_plan: tuple[Path, Path], tmp_path: Path
) -> None:
    """The plan's road file gone or changed: exit 2 naming the spec's field;
    the same file moved and given with --roads is accepted."""
    roads, plan = roads_plan
    state = tmp_path / "state.json"
    state.write_text('{"time": "07:00"}')
    moved = roads.rename(tmp_path / "moved.graphml")
    reopt = ["reoptimize", str(PROBLEM), str(state), "--plan", str(plan)]
    gone = runner.invoke(app, reopt)
    assert gone.exit_code == 2, gone.output
    assert "travel.path" in gone.output
    assert "not found" in gone.output
    assert runner.invoke(app, [*reopt, "--roads", str(moved)]).exit_code == 0
    write_graphml(tiny_city(seed_=9), roads)
    changed = runner.invoke(app, ["slots", str(PROBLEM), str(plan), *WHERE])
    assert changed.exit_code == 2, changed.output
    assert "travel.sha256" in changed.output


def test_older_plan_says_straight_lines() -> None:
    """A plan file from before plans recorded their travel still works, and
    the command says it re-times it with straight lines."""
    result = runner.invoke(
        app, ["slots", str(PROBLEM), str(OLD_PLAN), *WHERE], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # the note wraps with the path's length
    assert "does not record its travel model" in said
    assert "straight lines" in said


def test_demo_output_works_with_slots_and_reoptimize(tmp_path: Path) -> None:
    """A small demo day (on the city's roads) is quoted and re-optimised as
    it is, with no travel flag, on the same roads."""

    def solver(problem: Problem, params: SolveParams, travel: object) -> Plan:
        return solve(problem, travel=travel, params=params)  # type: ignore[arg-type]

    out = tmp_path / "demo"
    result = run_demo(
        out,
        solver=solver,
        day=dt.date(2026, 12, 7),
        n_orders=12,
        n_customers=150,
        time_limit=1.0,
        cache_dir=DEFAULT_CACHE_DIR,  # the commands' own: the city is built once
    )
    assert result.plan.travel is not None
    assert (result.plan.travel.kind, result.plan.travel.seed) == ("city", 0)
    problem, plan = str(out / "problem.json"), str(out / "plan.json")
    quotes = _quotes([problem, plan], tmp_path, "q", one_dim=False)
    assert any(q["available"] for q in quotes)
    costs = [float(str(q["marginal_cost"])) for q in quotes if q["available"]]
    assert min(costs) >= 0
    state = tmp_path / "state.json"
    state.write_text('{"time": "12:00"}')
    reopt = runner.invoke(
        app,
        ["reoptimize", problem, str(state), "--plan", plan, "--time-limit", "1"],
        env={"COLUMNS": "120"},
    )
    assert reopt.exit_code == 0, reopt.output
    assert "checker: feasible" in reopt.output
    assert "embedded city roads, seed 0" in reopt.output
    assert "does not record" not in reopt.output
