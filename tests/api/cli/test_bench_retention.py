"""``milepost bench retention``: the table, the JSON and bad seeds."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app


def test_bench_retention_prints_and_writes_every_fit(tmp_path: Path) -> None:
    """One small city: per effect the four fits beside the truth, and the JSON."""
    target = tmp_path / "retention.json"
    done = CliRunner().invoke(
        app,
        [
            "bench",
            "retention",
            "--seeds",
            "1",
            "--customers",
            "2000",
            "--json",
            str(target),
        ],
    )
    assert done.exit_code == 0, done.output
    for text in ("log1p_late", "failed_attempts", "hidden churn dates", "truth"):
        assert text in done.output
    result = json.loads(target.read_text())
    assert result["customers"] == 2000
    assert result["seeds"] == [1]
    effects = [row["effect"] for row in result["rows"]]
    assert effects[:2] == ["log1p_late", "failed_attempts"]
    late = result["rows"][0]
    assert late["truth"] == -0.1
    for fit in ("observable", "ignoring_leaving", "with_churn_dates", "known_rates"):
        part = late[fit]
        assert part["low"] <= part["estimate"] <= part["high"]
        assert part["covers"] == (part["low"] <= late["truth"] <= part["high"])
    # leaving ignored, the lateness effect comes out about twice the truth
    assert late["observable"]["covers"]
    assert not late["ignoring_leaving"]["covers"]
    assert result["all_cover"] == all(r["observable"]["covers"] for r in result["rows"])
    missed = [(m["seed"], m["effect"]) for m in result["misses"]]
    assert missed == [
        (r["seed"], r["effect"])
        for r in result["rows"]
        if not r["observable"]["covers"]
    ]
    assert "known rates (oracle)" in done.output
    assert result["runs"][0]["orders"] > 10_000


def test_bench_retention_refuses_bad_seeds() -> None:
    """A seed that is not a whole number is named, exit 2, no traceback."""
    done = CliRunner().invoke(app, ["bench", "retention", "--seeds", "1,two"])
    assert done.exit_code == 2
    assert "--seeds" in done.output
    assert "Traceback" not in done.output


def test_bench_retention_default_size_is_the_city_default() -> None:
    """The help's default customer count is the embedded city's default."""
    from api.cli.bench_retention import DEFAULT_CUSTOMERS
    from scenarios.city import DEFAULT_CUSTOMERS as CITY_DEFAULT

    assert DEFAULT_CUSTOMERS == CITY_DEFAULT
