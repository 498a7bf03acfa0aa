"""Planner runs on the embedded city: a simulated day and a demand forecast."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from forecasting import Forecaster
from forecasting.models import GlobalGBM, LogLinear
from forecasting.synthetic import generate_panel
from scenarios.run import (
    LATEST_FROM,
    DaySpec,
    DemandForecast,
    ForecastSpec,
    ModelFallback,
    earliest_from,
    forecast_demand,
    model_fallbacks,
    simulate_day,
)


def test_simulated_day_reports_consistent_kpis() -> None:
    """A small day is planned, driven and measured; the KPIs add up."""
    seen: list[float] = []
    spec = DaySpec(orders=60, seed=3, customers=2_000, time_limit=1.0)
    kpis = simulate_day(spec, lambda share, _msg: seen.append(share))
    assert kpis.orders == 60
    assert kpis.served + kpis.unassigned == 60
    assert kpis.delivered + kpis.failed_attempts <= kpis.served
    assert 0 < kpis.vehicles_used <= kpis.vehicles_available
    assert kpis.km > 0 and kpis.cost > 0 and kpis.driver_hours > 0
    assert kpis.cost_per_order == pytest.approx(kpis.cost / kpis.served, abs=0.01)
    assert kpis.on_time_rate is not None and 0.0 <= kpis.on_time_rate <= 1.0
    assert kpis.late_minutes_p50 <= kpis.late_minutes_p95
    assert (kpis.late_orders == 0) == (kpis.late_minutes_p95 == 0.0)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


def test_fixed_fleet_and_slower_travel_change_the_day() -> None:
    """``vans`` fixes the day fleet; slower travel drives the same km for longer."""
    base = DaySpec(orders=50, seed=1, customers=2_000, time_limit=1.0, vans=3)
    fast = simulate_day(base)
    slow = simulate_day(base.model_copy(update={"travel_multiplier": 2.0}))
    night = fast.vehicles_available - 3 * 3
    assert night >= 0 and fast.night_vehicles_used <= night
    assert slow.driver_hours > fast.driver_hours


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"orders": 49}, "orders"),
        ({"orders": 2001}, "orders"),
        ({"vans": 0}, "vans"),
        ({"travel_multiplier": 0.0}, "travel_multiplier"),
        ({"day": "2019-01-01"}, "day"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_day_spec_refuses_bad_input(changes: dict[str, object], field: str) -> None:
    """Out-of-range or unknown fields name themselves."""
    with pytest.raises(ValidationError) as info:
        DaySpec.model_validate({"orders": 100, **changes})
    assert info.value.errors()[0]["loc"] == (field,)


def test_forecast_covers_zones_depots_and_fleet() -> None:
    """Seven days: every zone and depot-day, intervals around the point, a fleet."""
    spec = ForecastSpec.model_validate(
        {"horizon": 7, "customers": 1_000, "time_limit": 0.2}
    )
    result = forecast_demand(spec)
    assert result.start == LATEST_FROM and result.model == "lightgbm"
    assert len(result.zones) == 25 * 7
    assert len(result.depots) == 3 * 7 and len(result.fleet) == 3 * 7
    assert all(z.lo <= z.orders <= z.hi for z in result.zones)
    assert {z.day for z in result.zones} == {
        LATEST_FROM + dt.timedelta(days=k) for k in range(7)
    }
    for depot in result.depots:
        assert depot.planned >= depot.orders - 1e-6
    open_days = [f for f in result.fleet if f.orders > 0]
    assert open_days and all(f.vans >= 1 for f in open_days)
    assert result.total_orders == pytest.approx(
        sum(z.orders for z in result.zones), abs=1.0
    )
    assert result.fallbacks == ()
    assert {z.model_used for z in (*result.zones, *result.depots)} == {"GlobalGBM"}


def test_forecast_chosen_zones_model_and_start() -> None:
    """Zones filter the report; ``from`` moves the start back into the history."""
    start = dt.date(2025, 6, 2)
    spec = ForecastSpec.model_validate(
        {
            "horizon": 3,
            "zones": ["Gangnam-gu", "Mapo-gu", "Gangnam-gu"],
            "model": "seasonal_naive",
            "from": start.isoformat(),
            "customers": 1_000,
            "time_limit": 0.2,
        }
    )
    assert spec.zones == ("Gangnam-gu", "Mapo-gu")
    result = forecast_demand(spec)
    assert {z.zone for z in result.zones} == {"Gangnam-gu", "Mapo-gu"}
    assert min(z.day for z in result.zones) == start
    assert result.model == "seasonal_naive"
    assert {z.model_used for z in result.zones} == {"SeasonalNaive"}


def test_a_model_that_cannot_fit_reaches_the_result_by_name() -> None:
    """The GBM's failure on two 60-day series becomes result rows with the reason."""
    df, _ = generate_panel(n_series=2, n_days=60, seed=1)
    gbm = GlobalGBM(horizon=7, min_history=30, num_rounds=5)
    fc = Forecaster([gbm], fallback_model=LogLinear(), closed_col="closed")
    with pytest.warns(RuntimeWarning, match="'GlobalGBM' failed to fit"):
        fc.fit(df)
    first = df["unique_id"].min()
    rows = model_fallbacks(fc.fallbacks_, "depot", only=[first])
    assert rows == (
        ModelFallback(
            series="depot",
            id=first,
            model="GlobalGBM",
            used="LogLinear",
            reason=fc.fallbacks_[0].reason,
        ),
    )
    assert "training rows" in rows[0].reason
    assert len(model_fallbacks(fc.fallbacks_, "zone")) == 2
    result = DemandForecast(
        start=LATEST_FROM,
        horizon=7,
        model="lightgbm",
        level=80,
        plan_quantile=80,
        total_orders=0.0,
        zones=(),
        depots=(),
        fleet=(),
        fallbacks=rows,
    )
    assert DemandForecast.model_validate_json(result.model_dump_json()) == result
    assert result.model_name == "GlobalGBM"
    # results stored before the field existed still read, with no fallback
    stored = result.model_dump(mode="json", exclude={"fallbacks", "model_name"})
    assert DemandForecast.model_validate(stored).fallbacks == ()
    assert DemandForecast.model_validate(stored).model_name == "GlobalGBM"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"horizon": 0}, "horizon"),
        ({"horizon": 91}, "horizon"),
        ({"zones": ["Atlantis"]}, "zones"),
        ({"zones": []}, "zones"),
        ({"model": "prophet"}, "model"),
        ({"from": "2026-01-02"}, "from"),
        ({"from": "2024-02-01"}, "from"),
    ],
)
def test_forecast_spec_refuses_bad_input(
    changes: dict[str, object], field: str
) -> None:
    """Bad horizons, zones, models and starts name their field."""
    with pytest.raises(ValidationError) as info:
        ForecastSpec.model_validate({"horizon": 7, **changes})
    assert info.value.errors()[0]["loc"][0] == field


def test_earliest_start_leaves_room_for_calibration() -> None:
    """A longer horizon needs more history before its first day."""
    assert earliest_from(7) < earliest_from(90) <= LATEST_FROM


def test_retention_cost_prices_late_and_failed_orders() -> None:
    """By the city's truth: on time costs nothing, a late delivery costs by
    its minutes, an order not delivered costs as one delivered a day late,
    and of two customers with about the same basket the one who orders more
    often costs more."""
    from scenarios.pricing import true_retention_cost
    from scenarios.run import city
    from scenarios.truth import truth_pricing
    from tracking.events import FailureReason
    from tracking.outcomes import DeliveryOutcome

    town = city(3, 2_000)
    day = dt.date(2026, 1, 5)
    basket = town.customers["basket"]
    alike = town.customers[basket.between(basket.quantile(0.45), basket.quantile(0.55))]
    by_rate = alike.sort_values("base_rate")["customer_id"].astype(str)
    slow, fast = by_rate.iloc[0], by_rate.iloc[-1]

    def cost(*outcomes: DeliveryOutcome) -> tuple[int, float, float]:
        found = true_retention_cost(outcomes, town, day, 50_000.0)
        return found.customers, found.expected_lost, found.loss

    def late(who: str, minutes: float) -> DeliveryOutcome:
        return DeliveryOutcome(
            order_id="o",
            customer_id=who,
            delivered=True,
            attempts=1,
            minutes_late=minutes,
        )

    unknown = DeliveryOutcome(order_id="u", delivered=True, attempts=1)
    assert cost(late(slow, 0), unknown) == (1, 0.0, 0.0)
    assert cost(late(slow, 30))[2] > cost(late(slow, 10))[2] > 0
    assert cost(late(fast, 30))[2] > cost(late(slow, 30))[2]
    failed = DeliveryOutcome(
        order_id="f",
        customer_id=slow,
        attempts=1,
        failure_reasons=(FailureReason.NOT_HOME,),
    )
    drop = truth_pricing(town.truth).drop_minutes
    assert cost(failed)[2] > cost(late(slow, drop))[2] > cost(late(slow, 30))[2]
    customers, lost, loss = cost(late(slow, 30), late(fast, 30), failed)
    assert customers == 2 and lost > 0
    assert loss == pytest.approx(
        cost(late(slow, 30))[2] + cost(late(fast, 30))[2] + cost(failed)[2], abs=0.05
    )


def test_retention_cost_scales_with_the_customer_s_true_basket() -> None:
    """The truth values a customer's future margin and the margin of their
    orders by their mean basket: against a city whose customers all have the
    same basket (the same customers and orders: baskets are drawn apart), a
    customer's cost is scaled by their basket over the average one."""
    from scenarios.city import GroundTruth, build_city
    from scenarios.pricing import true_retention_cost
    from tracking.events import FailureReason
    from tracking.outcomes import DeliveryOutcome

    day = dt.date(2024, 6, 3)
    end = dt.date(2024, 5, 31)
    town = build_city(seed=3, n_customers=1_000, end=end)
    flat = build_city(
        seed=3, n_customers=1_000, end=end, truth=GroundTruth(basket_sigma=0.0)
    )
    ids = town.customers["customer_id"].astype(str)
    baskets = town.customers.set_index(ids)["basket"]
    for who in ids.iloc[[0, 17, 400, -1]]:
        for outcome in (
            DeliveryOutcome(
                order_id="o",
                customer_id=who,
                delivered=True,
                attempts=1,
                minutes_late=45,
            ),
            DeliveryOutcome(
                order_id="f",
                customer_id=who,
                attempts=1,
                failure_reasons=(FailureReason.NOT_HOME,),
            ),
        ):
            got = true_retention_cost([outcome], town, day, 80_000.0).loss
            even = true_retention_cost([outcome], flat, day, 80_000.0).loss
            assert got == pytest.approx(
                even * baskets[who] / baskets.mean(), rel=1e-3, abs=0.02
            )
