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
        assert spec.orders == scenario.realised_orders(scenario.replications - 1)


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
        (MINIMAL + "colour = 3\n", "colour", "unknown key"),
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
        (
            MINIMAL + '[policy]\nnight_districts = ["Gangnam-gu", "Narnia-gu"]\n',
            "policy.night_districts",
            "unknown district 'Narnia-gu'",
        ),
        (
            MINIMAL + '[disruption]\nweather = "hail"\n',
            "disruption.weather",
            "'clear', 'rain' or 'snow'",
        ),
        (
            MINIMAL + '[[disruption.zones]]\ndistricts = ["Mapo-gu"]\n'
            "hours = [19, 18]\nmultiplier = 2\n",
            "disruption.zones[0]",
            "within 0..31",
        ),
        (MINIMAL + "[fleet]\nshifts = [[8, 30]]\n", "fleet.shifts[0]", "within 0..24"),
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


def test_policy_fleet_and_disruptions_reach_the_day(tmp_path: Path) -> None:
    """Every section of a file ends up in the simulated day it describes."""
    text = (
        MINIMAL
        + "[fleet]\nvans_per_depot = 5\nnight_vans_per_depot = 2\n"
        + "shifts = [[7, 15], [12, 20]]\n"
        + "[policy]\nwindow_hours = 3\nsame_day_cutoff = 14\n"
        + 'night_districts = ["Mapo-gu"]\npickup_station_share = 0.2\n'
        + '[disruption]\nweather = "rain"\n'
        + '[[disruption.zones]]\ndistricts = ["Jung-gu"]\nhours = [17, 20]\n'
        + "multiplier = 1.8\nforeseen = true\n"
    )
    day = load_scenario(_write(tmp_path, text)).day_spec(0)
    assert (day.vans, day.night_vans, day.shifts) == (5, 2, ((7, 15), (12, 20)))
    assert day.policy.window_hours == 3 and day.policy.same_day_cutoff == 14
    assert day.policy.night_districts == ("Mapo-gu",)
    assert day.policy.pickup_station_share == 0.2
    assert day.weather == "rain"
    (zone,) = day.slowdowns
    assert zone.districts == ("Jung-gu",) and zone.hours == (17, 20) and zone.foreseen


def test_a_file_builds_on_its_base(tmp_path: Path) -> None:
    """Tables merge key by key; lists and plain values replace the base's."""
    (tmp_path / "base.toml").write_text(
        MINIMAL
        + "replications = 4\n[fleet]\nvans_per_depot = 6\nabsent_drivers = 1\n"
        + '[[demand]]\nkind = "event"\nname = "a"\nuplift = 1.5\n',
        encoding="utf-8",
    )
    child = tmp_path / "child.toml"
    child.write_text(
        'base = "base.toml"\nname = "child"\n[fleet]\nvans_per_depot = 9\n'
        '[[demand]]\nkind = "promotion"\nname = "b"\nuplift = 1.2\n',
        encoding="utf-8",
    )
    scenario = load_scenario(child)
    assert scenario.name == "child" and scenario.replications == 4
    assert scenario.fleet.vans_per_depot == 9 and scenario.fleet.absent_drivers == 1
    assert [d.name for d in scenario.demand] == ["b"]


def test_library_files_build_on_the_baseline() -> None:
    """What-ifs differ from the baseline only where they say so."""
    base = load_scenario(LIBRARY / "baseline.toml")
    night = load_scenario(LIBRARY / "night_delivery_expansion.toml")
    assert night.policy.night_districts is not None
    assert base.policy.night_districts is not None
    added = set(night.policy.night_districts) - set(base.policy.night_districts)
    assert added == {"Gangseo-gu", "Yangcheon-gu", "Nowon-gu"}
    assert (
        night.model_copy(
            update={
                "name": base.name,
                "description": base.description,
                "policy": base.policy,
            }
        )
        == base
    )


def test_bad_bases_say_why(tmp_path: Path) -> None:
    loop = tmp_path / "loop.toml"
    loop.write_text('base = "loop.toml"\n' + MINIMAL, encoding="utf-8")
    with pytest.raises(ScenarioError, match="builds on itself"):
        load_scenario(loop)
    lost = _write(tmp_path, 'base = "gone.toml"\n' + MINIMAL)
    with pytest.raises(
        ScenarioError, match=r"s\.toml: base: .*gone\.toml: no such file"
    ):
        load_scenario(lost)
    with pytest.raises(ScenarioError, match="base: must be the path"):
        load_scenario(_write(tmp_path, "base = 3\n" + MINIMAL))


def test_replication_out_of_range_is_refused() -> None:
    """There are exactly ``replications`` days to run."""
    scenario = Scenario(name="x", orders=100, replications=2)
    with pytest.raises(ValueError, match=r"not in 0\.\.1"):
        scenario.day_spec(2)


def test_realised_orders_scatter_around_the_forecast() -> None:
    """CV 0.2 around 600: mean and spread as asked, the same on every call."""
    import statistics

    exact = Scenario(name="x", orders=600, replications=200)
    assert {exact.realised_orders(r) for r in range(5)} == {600}
    noisy = exact.model_copy(update={"demand_noise": 0.2})
    days = [noisy.realised_orders(r) for r in range(200)]
    assert days == [noisy.realised_orders(r) for r in range(200)]
    assert abs(statistics.mean(days) / 600 - 1) < 0.05
    assert 0.15 < statistics.stdev(days) / 600 < 0.26
    booked = Scenario.model_validate(
        {
            "name": "x",
            "orders": 600,
            "demand_noise": 0.2,
            "fleet": {"sizing": "forecast"},
        }
    )
    day = booked.day_spec(3)
    assert day.planned_orders == 600 and day.orders == noisy.realised_orders(3)


def test_an_unforeseen_change_is_not_in_the_booked_fleet() -> None:
    """The flash sale raises the orders, not the forecast the vans were booked on."""
    sale = load_scenario(LIBRARY / "flash_sale.toml")
    assert sale.expected_orders() == round(600 * 1.35)
    assert sale.forecast_orders() == 600
    assert sale.day_spec(0).planned_orders == 600
