"""Scenario files: the shipped library loads, and bad files say what is wrong."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scenarios.spec import LIBRARY, Scenario, ScenarioError, load_scenario

MINIMAL = 'name = "x"\norders = 100\n'


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_library_has_a_baseline_and_five_more() -> None:
    """Every shipped scenario loads and runs as a valid day."""
    files = sorted(LIBRARY.glob("*.toml"))
    names = {p.stem for p in files}
    assert "baseline" in names and len(names - {"baseline"}) >= 5
    for path in files:
        scenario = load_scenario(path)
        spec = scenario.day_spec(scenario.replications - 1)
        assert spec.orders == scenario.expected_orders()


def test_replications_keep_the_city_and_vary_the_day() -> None:
    """Replication r runs seed + r on the scenario's one city."""
    scenario = load_scenario(LIBRARY / "fleet_cut.toml")
    first, second = scenario.day_spec(0), scenario.day_spec(1)
    assert first.seed + 1 == second.seed
    assert first.city_seed == second.city_seed == scenario.city.seed
    assert first.vans == 8 - 2  # vans per depot minus the absent drivers


def test_demand_changes_multiply() -> None:
    """Two changes of x1.3 and x1.15 on 600 orders give 897."""
    scenario = load_scenario(LIBRARY / "pepero_day.toml")
    assert scenario.expected_orders() == round(600 * 1.3 * 1.15)


def test_minimal_file_takes_the_defaults(tmp_path: Path) -> None:
    """Only a name and the orders are needed."""
    scenario = load_scenario(_write(tmp_path, MINIMAL))
    assert scenario == Scenario(name="x", orders=100)
    assert isinstance(scenario.day, dt.date)


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        (MINIMAL + "replications = 0\n", "replications", "greater than or equal"),
        (MINIMAL + "colour = 3\n", "colour", "Extra inputs"),
        (
            MINIMAL + '[[demand]]\nkind = "sale"\nname = "a"\nuplift = 2\n',
            "demand[0].kind",
            "'promotion', 'holiday' or 'event'",
        ),
        (MINIMAL + "[fleet]\nabsent_drivers = 1\n", "fleet", "needs vans_per_depot"),
        (
            'name = "x"\norders = 1500\n[[demand]]\nkind = "event"\n'
            'name = "a"\nuplift = 2\n',
            "(top level)",
            "over 2000",
        ),
        ('name = "x"\n', "orders", "Field required"),
    ],
)
def test_bad_values_name_the_file_key_and_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    """Each invalid value is reported as ``file: key: reason``."""
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: ")
    assert reason in message


def test_bad_toml_and_missing_files(tmp_path: Path) -> None:
    """Broken syntax gives the line; a missing file says so."""
    with pytest.raises(ScenarioError, match=r"not valid TOML: .*line 2"):
        load_scenario(_write(tmp_path, 'name = "x"\norders = \n'))
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nowhere.toml")


def test_replication_out_of_range_is_refused() -> None:
    """There are exactly ``replications`` days to run."""
    scenario = Scenario(name="x", orders=100, replications=2)
    with pytest.raises(ValueError, match=r"not in 0\.\.1"):
        scenario.day_spec(2)
