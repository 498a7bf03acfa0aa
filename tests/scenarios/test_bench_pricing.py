"""The pricing benchmark's paired comparison and its command line."""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from api.cli import app
from scenarios.bench.pricing import PairedDay, cell_of, run_pair


def _day(rep: int, loss: tuple[float, float], route: tuple[float, float]) -> PairedDay:
    def kpis(i: int) -> dict[str, float]:
        return {
            "retention_loss": loss[i],
            "route_cost": route[i],
            "served": 100,
            "delivered": 95,
            "late_orders": 5 - 2 * i,
            "customers_expected_lost": 1.0,
            "solve_seconds": 1.0,
        }

    return PairedDay("fleet_cut", 600, rep, kpis(0), kpis(1))


def test_a_paired_cell_is_a_ratio_of_means_with_a_t_interval() -> None:
    """Loss down 20 % on average, route cost flat: the goal is met and the
    interval is Student's t on the paired differences."""
    days = [
        _day(0, (1_000.0, 800.0), (10_000.0, 10_100.0)),
        _day(1, (1_200.0, 900.0), (10_000.0, 9_900.0)),
        _day(2, (800.0, 700.0), (10_000.0, 10_000.0)),
    ]
    cell = cell_of(days)
    diff = np.array([-200.0, -300.0, -100.0])
    half = 4.302652729911275 * diff.std(ddof=1) / math.sqrt(3)  # t(0.975, 2)
    assert cell.loss_change["share"] == pytest.approx(-200.0 / 1_000.0)
    assert cell.loss_change["low"] == pytest.approx((-200.0 - half) / 1_000.0)
    assert cell.loss_change["high"] == pytest.approx((-200.0 + half) / 1_000.0)
    assert cell.route_change["share"] == pytest.approx(0.0)
    assert (cell.late_uniform, cell.late_learned) == (5.0, 3.0)
    assert cell.goal_met


def test_more_route_cost_misses_the_goal() -> None:
    days = [_day(r, (1_000.0, 500.0), (10_000.0, 10_500.0)) for r in range(3)]
    assert not cell_of(days).goal_met


def test_bad_options_exit_2_naming_them() -> None:
    runner = CliRunner()
    got = runner.invoke(app, ["bench", "pricing", "--orders", "lots"])
    assert got.exit_code == 2 and "--orders" in got.output
    got = runner.invoke(app, ["bench", "pricing", "--scenarios", "no_such_day"])
    assert got.exit_code == 2 and "no_such_day" in got.output


@pytest.mark.slow
def test_one_replication_is_planned_both_ways_on_the_same_day() -> None:
    """Same orders and doors both ways; the learned plan is priced and judged."""
    day = run_pair("fleet_cut", 200, 0)
    assert day.uniform["served"] > 0 and day.learned["served"] > 0
    assert day.uniform["retention_loss"] > 0 and day.learned["retention_loss"] > 0
    assert day.uniform["route_cost"] > 0 and day.learned["route_cost"] > 0
