"""``milepost plan-large`` on a Dask cluster: where the parts ran, bad addresses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from routing.solver import pool
from tests.helpers import EXAMPLES

runner = CliRunner()
SMALL = str(EXAMPLES / "small_problem.json")


def test_plan_large_on_a_local_dask_cluster(tmp_path: Path) -> None:
    """``--dask local``: the seams are re-solved on the cluster; the output
    says where and gives each process's peak memory."""
    out = tmp_path / "plan.json"
    result = runner.invoke(
        app,
        [
            "plan-large",
            SMALL,
            "--dask",
            "local",
            "--time-limit",
            "30",
            "--iterations",
            "50",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "on a Dask LocalCluster of 2 processes (scheduler here)" in result.output
    assert "peak memory (MiB): client" in result.output
    assert "worker 2" in result.output
    assert "checker: feasible" in result.output
    assert json.loads(out.read_text())["summary"]["orders"] == 9


@pytest.mark.parametrize("from_env", [False, True], ids=["option", "environment"])
def test_unreachable_scheduler_exits_2_naming_the_option(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, from_env: bool
) -> None:
    """No scheduler at the address (``--dask`` or MILEPOST_DASK_SCHEDULER):
    exit 2, the option and the address named, no plan written."""
    monkeypatch.setattr(pool, "CONNECT_TIMEOUT", 1)
    address = "tcp://127.0.0.1:9"
    out = tmp_path / "plan.json"
    args = ["plan-large", SMALL, "--time-limit", "5", "--out", str(out)]
    if from_env:
        result = runner.invoke(app, args, env={"MILEPOST_DASK_SCHEDULER": address})
    else:
        result = runner.invoke(app, [*args, "--dask", address])
    assert result.exit_code == 2, result.output
    assert "--dask" in result.output
    assert address in result.output
    assert not out.exists()
