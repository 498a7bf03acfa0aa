"""``milepost reoptimize`` with a state of events only, ``slots`` in 80 columns,
``simulate``'s terminal table and ``plan-amazon``'s list of valid ids."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from tests.helpers import DATA

runner = CliRunner()
PROBLEM = DATA / "tiny_problem.json"
PLAN = DATA / "tiny_problem.plan.json"


def test_reoptimize_takes_hh_mm_and_the_plan_from_plan(tmp_path: Path) -> None:
    """A state of only what happened, its time "HH:MM", with --plan: exit 0."""
    state = tmp_path / "state.json"
    state.write_text(
        json.dumps(
            {
                "time": "10:30",
                "new_orders": [
                    {
                        "id": "r-1",
                        "type": "pickup",
                        "location": {"lat": 37.53, "lon": 127.0},
                        "demand": [1],
                        "time_windows": [["13:00", "17:00"]],
                    }
                ],
            }
        )
    )
    result = runner.invoke(
        app, ["reoptimize", str(PROBLEM), str(state), "--plan", str(PLAN)]
    )
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "state.reopt.json").read_text())
    assert [m["order"] for m in written["changes"]["inserted"]] == ["r-1"]
    assert "result written to state.reopt.json" in result.output


def test_reoptimize_without_any_plan_names_the_field(tmp_path: Path) -> None:
    """A state without plan and no --plan: exit 2 naming ``plan``."""
    state = tmp_path / "state.json"
    state.write_text('{"time": "10:30"}')
    result = runner.invoke(app, ["reoptimize", str(PROBLEM), str(state)])
    assert result.exit_code == 2
    assert "plan: missing" in result.output


def test_slots_table_fits_80_columns_uncut() -> None:
    """Every window is printed whole in an 80-column terminal (no ellipsis)."""
    args = [str(PROBLEM), str(PLAN), "--lat", "37.53", "--lon", "127.0"]
    result = runner.invoke(app, ["slots", *args], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    for window in ("09:00-11:00", "19:00-21:00", "00:00+1-07:00+1"):
        assert window in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_simulate_table_from_markdown() -> None:
    """The report's Markdown table becomes a terminal table, cells not cut."""
    from rich.console import Console

    from api.cli.simulate import markdown_table

    md = (
        "# Scenario comparison\n\nintro\n\n| KPI | base | storm | storm - base |\n"
        "|---|---|---|---|\n| cost per order (won) | 4,100.5 [4,000.1, 4,200.9] "
        "| 5,000.2 [4,900.0, 5,100.3] | +899.7 [+800.0, +999.9] |\n"
    )
    console = Console(width=60, record=True)
    console.print(markdown_table(md))
    text = console.export_text()
    assert "|" not in text and "…" not in text
    assert "cost per" in text and "storm -" in text and "4,200.9]" in text


def test_plan_amazon_lists_valid_ids_on_a_miss() -> None:
    """An unknown route id is reported with the ids that exist."""
    from api.cli.amazon import resolve_route_ids
    from routing.io import InputError

    known = ["RouteID_15baae2d-aaaa", "RouteID_7c1e0f00-bbbb"]
    try:
        resolve_route_ids(known, ["nope"])
    except InputError as exc:
        assert exc.lines[0] == "unknown route id 'nope'"
        assert "15baae2d" in exc.lines[1] and "7c1e0f00" in exc.lines[1]
    else:
        raise AssertionError("an unknown id was accepted")
