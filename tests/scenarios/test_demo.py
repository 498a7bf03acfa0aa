"""`milepost demo` end to end on a small embedded city."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from api.cli.plan import solve_with_progress
from scenarios.demo import run_demo


def test_demo_plans_a_small_city(tmp_path: Path) -> None:
    """A small city's day is planned, checked feasible and written to disk."""
    result = run_demo(
        tmp_path,
        solver=solve_with_progress,
        day=date(2026, 3, 4),
        n_orders=60,
        seed=3,
        time_limit=2.0,
        n_customers=2000,
    )
    assert result.verdict.ok, str(result.verdict)
    summary = result.plan.summary
    assert summary.orders == 60
    assert summary.served + summary.unassigned == 60
    assert summary.served >= 55
    levels = {j.service_level for j in result.problem.jobs}
    assert len(levels) >= 3
    plan = json.loads(result.files["plan"].read_text())
    assert plan["summary"]["served"] == summary.served
    geo = json.loads(result.files["routes"].read_text())
    lines = [f for f in geo["features"] if f["geometry"]["type"] == "LineString"]
    assert len(lines) == summary.routes
    # On the road network, lines follow the streets: more vertices than stops.
    for line, route in zip(lines, result.plan.routes, strict=True):
        assert len(line["geometry"]["coordinates"]) > route.orders + 2


def test_demo_command_prints_summary(tmp_path: Path) -> None:
    """The CLI runs the demo, prints the summary table and names its folder."""
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--orders",
            "40",
            "--time-limit",
            "1",
            "--out",
            str(out),
            "--day",
            "2026-05-06",
        ],
    )
    assert result.exit_code == 0, result.output
    for text in (
        "vehicles used",
        "orders served",
        "served inside their window",
        "checker: feasible",
        str(out),
    ):
        assert text in result.output
    assert (out / "plan.json").is_file()
    assert (out / "routes.geojson").is_file()


def test_demo_rejects_bad_day() -> None:
    """A malformed --day exits with code 2 and names the option."""
    result = CliRunner().invoke(app, ["demo", "--day", "tomorrow"])
    assert result.exit_code == 2
    assert "--day" in result.output
