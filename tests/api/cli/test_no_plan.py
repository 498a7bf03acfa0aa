"""Commands whose search finds no plan exit 1 with the reason, no traceback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import routing.solver.ortools_adapter as adapter
import scenarios.bench.eta as eta_bench
import scenarios.forecast_report as forecast_report
from api.cli import app
from scenarios.capacity import LevelUnplanned
from tests.helpers import EXAMPLES

runner = CliRunner()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_plan_without_any_solution_exits_1_naming_each_attempt(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """OR-Tools finding nothing (and the example's shipments ruling out
    insertion): exit 1, the reason, and no plan file."""
    monkeypatch.setattr(adapter, "_search", lambda *_a: (None, False))
    out = tmp_path / "plan.json"
    result = runner.invoke(
        app,
        [
            "plan",
            str(EXAMPLES / "small_problem.json"),
            "--engine",
            "ortools",
            "--time-limit",
            "0.2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 1, result.output
    text = _one_line(result.output)
    assert "error: no plan: engine 'ortools' found no solution" in text
    assert "insertion: the day has shipments" in text
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists()


def test_forecast_with_a_level_without_a_plan_exits_1_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A depot level the fleet sizing could not plan: exit 1 naming it."""

    def unplanned(*_args: Any, **_kwargs: Any) -> Any:
        raise LevelUnplanned("depot-east", dt.date(2026, 1, 6), 150, "no solution")

    monkeypatch.setattr(forecast_report, "run_forecast_report", unplanned)
    result = runner.invoke(app, ["forecast", "--days", "7"])
    assert result.exit_code == 1, result.output
    assert (
        "error: depot depot-east on 2026-01-06: no plan for 150 orders (no solution)"
        in _one_line(result.output)
    )
    assert "Traceback" not in result.output


def test_bench_eta_with_days_without_a_plan_exits_1_listing_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Days the ETA bench could not plan are listed and the run exits 1."""

    def result_with_a_failed_day(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        return {
            "horizons": {},
            "days": {"2026-01-08": {}},
            "failed_days": {"2026-01-07": "no plan: engine 'auto' found none"},
            "seconds": 1.0,
        }

    monkeypatch.setattr(eta_bench, "run_eta_bench", result_with_a_failed_day)
    result = runner.invoke(app, ["bench", "eta", "--days", "4"])
    assert result.exit_code == 1, result.output
    text = _one_line(result.output)
    assert "1 scored days" in text
    assert "error: 2026-01-07: no plan: engine 'auto' found none" in text
    assert "1 of 4 days got no plan and were not scored" in text
