"""``milepost history import|show`` and ``milepost forecast`` on the stored history."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from tests.helpers import ROOT
from tests.history_data import HEADER

runner = CliRunner()
EXAMPLE = ROOT / "docs" / "examples" / "history.csv"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The service database: a SQLite file of this test."""
    return {"MILEPOST_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}"}


def test_import_show_and_forecast_the_stored_history(env: dict[str, str]) -> None:
    """Import twice (the second changes nothing), sum up, forecast from a
    start; the fleet is not sized without stored depots, and says so."""
    rows = EXAMPLE.read_text().count("\n") - 1
    first = runner.invoke(cli, ["history", "import", str(EXAMPLE)], env=env)
    assert first.exit_code == 0, first.output
    assert (
        f"{rows} orders read: {rows} inserted, 0 updated, 0 unchanged" in first.output
    )
    again = runner.invoke(cli, ["history", "import", str(EXAMPLE)], env=env)
    assert f"0 inserted, 0 updated, {rows} unchanged" in again.output
    shown = runner.invoke(cli, ["history", "show"], env=env)
    assert f"{rows} orders from 2025-01-06 to 2025-03-02" in shown.output
    assert "2 zones: Gangnam-gu" in shown.output

    args = ["forecast", "--start", "2025-03-03", "--days", "7", "--time-limit", "0.1"]
    done = runner.invoke(cli, args, env=env)
    assert done.exit_code == 0, done.output
    assert "Gangnam-gu" in done.output and "Tue 03-04" in done.output
    assert "not sized: no depots are stored in the service" in done.output
    assert Path("milepost-forecast/forecast_zones.csv").is_file()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--start", "2025-01-20"], "--start: too little history before 2025-01-20"),
        (["--start", "2025-05-01"], "import newer orders"),
        (["--start", "March"], "--start: 'March' is not a date"),
        (["--zone", "Jongno-gu"], "--zone: unknown Jongno-gu; zones are Gangnam-gu"),
    ],
)
def test_forecast_options_that_do_not_fit_the_history_exit_2(
    env: dict[str, str], args: list[str], said: str
) -> None:
    """A start outside what the stored history allows, or an unknown zone."""
    runner.invoke(cli, ["history", "import", str(EXAMPLE)], env=env)
    done = runner.invoke(cli, ["forecast", "--days", "7", *args], env=env)
    assert done.exit_code == 2, done.output
    assert said in " ".join(done.output.split())


def test_a_bad_file_is_refused_whole(env: dict[str, str], tmp_path: Path) -> None:
    """Exit 2 naming each bad line and field; nothing is stored."""
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"{HEADER}\nok,2025-01-01T10:00,,Mapo-gu,,,,,failed\n"
        "x,2025-01-01T10:00,,Mapo-gu,,,,,lost\n"
    )
    done = runner.invoke(cli, ["history", "import", str(bad)], env=env)
    assert done.exit_code == 2
    assert "line 3, field outcome" in " ".join(done.output.split())
    shown = runner.invoke(cli, ["history", "show"], env=env)
    assert "no history stored" in shown.output
    odd = runner.invoke(cli, ["history", "import", str(tmp_path / "x.txt")], env=env)
    assert odd.exit_code == 2 and "--format" in odd.output


def test_the_embedded_city_stays_the_default_without_a_history(
    env: dict[str, str],
) -> None:
    """No database file, or one without stored orders: no stored history."""
    from api.cli.forecast import _stored_history

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MILEPOST_DATABASE_URL", env["MILEPOST_DATABASE_URL"])
        assert _stored_history(0) is None
        assert not Path(
            env["MILEPOST_DATABASE_URL"].removeprefix("sqlite:///")
        ).exists()
        runner.invoke(cli, ["history", "show"], env=env)  # migrates, stores nothing
        assert _stored_history(0) is None


def test_calendar_is_stored_merged_or_replacing_and_refused_whole(
    env: dict[str, str], tmp_path: Path
) -> None:
    """``history calendar``: the deployment's country named, the mode kept; a
    bad file exits 2 naming its line and field and changes nothing."""
    example = ROOT / "docs" / "examples" / "calendar.csv"
    de = {**env, "MILEPOST_COUNTRY": "DE", "MILEPOST_SUBDIVISION": "BY"}
    merged = runner.invoke(cli, ["history", "calendar", str(example)], env=de)
    assert merged.exit_code == 0, merged.output
    assert "merged with the public holidays of DE-BY" in merged.output
    args = ["history", "calendar", str(example), "--public-holidays", "replace"]
    replaced = runner.invoke(cli, args, env=de)
    assert "replace the public holidays of DE-BY" in replaced.output
    bad = tmp_path / "bad.csv"
    bad.write_text("start,name,kind\n2025-05-01,fair,event\n2025-02-30,x,closure\n")
    refused = runner.invoke(cli, ["history", "calendar", str(bad)], env=de)
    assert refused.exit_code == 2
    assert "line 3, column 'start'" in refused.output
    wrong = runner.invoke(
        cli, ["history", "calendar", str(example), "--public-holidays", "both"], env=de
    )
    assert wrong.exit_code == 2 and "--public-holidays" in wrong.output


def test_rossmann_example_names_the_option_at_fault(tmp_path: Path) -> None:
    """``history rossmann`` exits 2 naming --day, --stores or DATA_DIR."""
    from tests.routing.travel.test_spec import tiny_city, write_graphml

    roads = write_graphml(tiny_city(), tmp_path / "roads.graphml")
    base = ["history", "rossmann", str(tmp_path / "none"), "--roads", str(roads)]
    base += ["--out", str(tmp_path / "out")]
    for extra, words in (
        (["--day", "2015-02-30"], "--day"),
        (["--stores", "1,x"], "--stores"),
        ([], "DATA_DIR"),
    ):
        done = runner.invoke(cli, [*base, *extra])
        assert done.exit_code == 2, done.output
        assert words in done.output
    assert not (tmp_path / "out").exists()


def test_delete_asks_then_removes_before_a_day_or_all(env: dict[str, str]) -> None:
    """Without --yes a refusal deletes nothing (exit 1); --before removes the
    orders placed before that local day only; then every one; a bad day is
    exit 2 naming --before."""
    import csv

    with EXAMPLE.open(encoding="utf-8") as f:
        placed = [row["created_at"][:10] for row in csv.DictReader(f)]
    early = sum(day < "2025-02-01" for day in placed)
    assert 0 < early < len(placed)
    runner.invoke(cli, ["history", "import", str(EXAMPLE)], env=env)

    kept = runner.invoke(cli, ["history", "delete"], input="n\n", env=env)
    assert kept.exit_code == 1 and "nothing deleted" in kept.output
    some = ["history", "delete", "--before", "2025-02-01", "--yes"]
    done = runner.invoke(cli, some, env=env)
    assert done.exit_code == 0, done.output
    assert f"{early:,} past orders deleted, {len(placed) - early:,} left" in done.output
    shown = runner.invoke(cli, ["history", "show"], env=env)
    assert "from 2025-02-01 to 2025-03-02" in shown.output
    asked = runner.invoke(cli, ["history", "delete"], input="y\n", env=env)
    assert asked.exit_code == 0, asked.output
    assert f"{len(placed) - early:,} past orders deleted, 0 left" in asked.output
    gone = runner.invoke(cli, ["history", "show"], env=env)
    assert "no history stored" in gone.output
    bad = runner.invoke(cli, ["history", "delete", "--before", "Feb", "--yes"], env=env)
    assert bad.exit_code == 2 and "--before" in bad.output
