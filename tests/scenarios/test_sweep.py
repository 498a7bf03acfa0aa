"""Sweeps of scenario replications: repeatable, the same on Dask, reported."""

from __future__ import annotations

import functools
from pathlib import Path

import distributed
import pytest
from typer.testing import CliRunner

from api.cli import app
from scenarios.report import write_report
from scenarios.spec import Scenario
from scenarios.sweep import (
    CHECKOUT_KPIS,
    KPIS,
    SweepResult,
    run_sweep,
    run_unit,
    summarise,
)

TINY = """
name = "{name}"
orders = 50
replications = 2
seed = {seed}
time_limit = 30.0
iterations = 2

[city]
customers = 1000
seed = 5
{extra}
"""


def _tiny(name: str, seed: int = 0, extra: str = "") -> Scenario:
    import tomllib

    return Scenario.model_validate(
        tomllib.loads(TINY.format(name=name, seed=seed, extra=extra))
    )


@functools.cache
def _local() -> SweepResult:
    """Two tiny scenarios, two replications each, run here (once per session)."""
    slow = "[disruption]\ntravel_multiplier = 2.0\n"
    return run_sweep([_tiny("base"), _tiny("slow roads", extra=slow)])


def test_same_seed_same_day() -> None:
    """A unit run twice gives identical KPIs (the search is iteration-bound)."""
    payload = _tiny("base").model_dump(mode="json")
    first, second = run_unit(payload, 1), run_unit(payload, 1)
    first.pop("solve_seconds")
    second.pop("solve_seconds")
    assert first == second


def test_dask_cluster_gives_the_local_results() -> None:
    """The same units on a LocalCluster return the local KPIs, unit for unit."""
    local = _local()
    with distributed.LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = run_sweep(list(local.scenarios), dask=cluster.scheduler_address)
    for here, there in zip(local.days, remote.days, strict=True):
        for a, b in zip(here, there, strict=True):
            assert a.model_copy(update={"solve_seconds": 0}) == b.model_copy(
                update={"solve_seconds": 0}
            )


def test_a_large_day_solves_its_parts_on_the_sweeps_cluster() -> None:
    """A day the decomposition plans (1,600 orders, bounded search), run as a
    unit on Dask, splits there (a worker may not fork a pool) and gives the
    local KPIs."""
    from routing.solver.choice import choose_engine

    large = _tiny("large").model_copy(
        update={"orders": 1600, "replications": 1, "iterations": 10}
    )
    assert choose_engine(1600, bounded=True) == "large"
    here = run_sweep([large])
    with distributed.LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        there = run_sweep([large], dask=cluster.scheduler_address)
    a, b = here.days[0][0], there.days[0][0]
    assert a.served > 1500
    assert a.model_copy(update={"solve_seconds": 0}) == b.model_copy(
        update={"solve_seconds": 0}
    )


def test_on_time_by_hour_covers_the_deliveries() -> None:
    """Each simulated day's hourly on-time rates are rates over delivery hours."""
    for days in _local().days:
        for day in days:
            assert day.on_time_by_hour, "deliveries happened, so hours exist"
            assert all(0.0 <= r <= 1.0 for r in day.on_time_by_hour.values())
            assert all(0 <= h < 48 for h in day.on_time_by_hour)


def test_slower_roads_cost_more_hours() -> None:
    """Doubling travel times shows as more vehicle-hours, with a difference row.

    Two replications are too few for an interval: the estimate says so.
    """
    levels, differences = summarise(_local())
    base, slow = (level["driver_hours"].mean for level in levels)
    assert base is not None and slow is not None
    assert slow > base
    diff = differences[1]["driver_hours"]
    assert diff.mean == pytest.approx(slow - base)
    assert diff.low is None and diff.high is None
    assert diff.reason == "2 replications; an interval needs at least 5"
    assert differences[0]["km"].mean == 0.0  # the reference against itself


def test_report_has_table_and_plots(tmp_path: Path) -> None:
    """Markdown and HTML with every KPI and the difference column; PNGs exist."""
    files = write_report(_local(), tmp_path)
    names = {f.name for f in files}
    assert {
        "summary.md",
        "summary.html",
        "kpi_distributions.png",
        "on_time_by_hour.png",
        "cost_vs_service.png",
    } <= names
    md = (tmp_path / "summary.md").read_text()
    for kpi, label in KPIS.items():
        # No scenario here quotes slots at checkout: those rows are left out.
        assert (label in md) is (kpi not in CHECKOUT_KPIS)
    assert "slow roads - base" in md
    html = (tmp_path / "summary.html").read_text()
    assert "<table>" in html and "slow roads - base" in html
    for f in files:
        assert f.stat().st_size > 0


def test_cli_reports_bad_files_with_exit_2(tmp_path: Path) -> None:
    """A scenario file with a bad value names the file and key; exit code 2."""
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\norders = 10\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", str(bad)])
    assert result.exit_code == 2
    assert "bad.toml: orders:" in result.output


def test_cli_writes_the_report(tmp_path: Path) -> None:
    """``milepost simulate A B`` runs both and writes the report folder."""
    paths = []
    for name, seed in (("a", 0), ("b", 3)):
        path = tmp_path / f"{name}.toml"
        path.write_text(TINY.format(name=name, seed=seed, extra=""), encoding="utf-8")
        paths.append(str(path))
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["simulate", *paths, "--replications", "1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "summary.md").read_text().count("|") > 10
