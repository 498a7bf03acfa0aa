"""Retention metrics and the experience-effect estimator (known truths)."""

from __future__ import annotations

import functools
import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.bench.retention import known_rate_effect
from scenarios.city import City, build_city
from tracking.retention import (
    CHURN_COVARIATES,
    COHORTS,
    COVARIATES,
    ExperienceEffect,
    cohort_table,
    customer_values,
    experience_cohort,
    experience_effect,
    lifetime_value,
    monthly_retention,
    repeat_purchase_rates,
    service_metrics,
    spells,
    wilson_interval,
)


def _history(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    """Orders ``(customer, order, day, minutes_late)``; delivered the next day."""
    base = date(2025, 1, 1)
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_id": [r[1] for r in rows],
            "ds": pd.to_datetime([base + timedelta(days=r[2]) for r in rows]),
            "delivery_date": pd.to_datetime(
                [base + timedelta(days=r[2] + 1) for r in rows]
            ),
            "minutes_late": [r[3] for r in rows],
            "failed_attempts": [0] * len(rows),
        }
    )


def _truth(city: City) -> dict[str, float]:
    t = city.truth
    return {
        "log1p_late": -t.lateness_coef,
        "log1p_late_x_notice": t.lateness_coef * t.notice_softening,
        "log1p_early": t.earliness_coef,
        "failed_attempts": -math.log1p(t.failed_attempt_effect),
    }


def _churned(city: City) -> pd.Series:
    return city.customers.set_index("customer_id")["churned"].dropna()


def test_wilson_interval_known_values() -> None:
    """Wilson bounds match the textbook values for 5/10 and 0/10."""
    low, high = wilson_interval([5, 0], [10, 10])
    np.testing.assert_allclose(low, [0.2366, 0.0], atol=1e-4)
    np.testing.assert_allclose(high, [0.7634, 0.2775], atol=1e-4)


def test_experience_cohorts_take_the_worst_thing() -> None:
    """A failed attempt outranks lateness; 30 minutes is the late boundary."""
    frame = pd.DataFrame(
        {"minutes_late": [0, 5, 29, 30, 90, 0], "failed_attempts": [0, 0, 0, 0, 1, 2]}
    )
    assert list(experience_cohort(frame)) == [
        "on_time",
        "late_under_30",
        "late_under_30",
        "late_30_plus",
        "failed_attempt",
        "failed_attempt",
    ]
    assert list(experience_cohort(frame).cat.categories) == list(COHORTS)


def test_repeat_purchase_rate_by_hand() -> None:
    """Repeat within N days of delivery, among deliveries with N days of data."""
    history = _history(
        [
            ("a", "1", 0, 0),  # delivered day 1, next order day 11: gap 10
            ("a", "2", 11, 0),  # delivered day 12, next day 60: gap 48
            ("a", "3", 60, 0),  # last order, day 61 + 30 > 100? no: censored at 30
            ("b", "4", 5, 45),  # delivered day 6, never again
            ("c", "5", 100, 0),  # the data end: day 100
        ]
    )
    table = repeat_purchase_rates(history, days=(30, 60)).set_index("days")
    # at 30 days: orders 1, 2, 3, 4 have follow-up (delivery + 30 <= 100)
    assert table.loc[30, "deliveries"] == 4
    assert table.loc[30, "repeats"] == 1
    # at 60 days: orders 1, 2, 4 (order 3 delivered day 61: 61 + 60 > 100)
    assert table.loc[60, "deliveries"] == 3
    assert table.loc[60, "repeats"] == 2
    by = repeat_purchase_rates(history, days=(30,), by="experience").set_index("group")
    assert by.loc["late_30_plus", "deliveries"] == 1
    assert by.loc["late_30_plus", "repeats"] == 0


def test_monthly_retention_by_hand() -> None:
    """Customers ordering in a month and again in the next one."""
    history = _history(
        [
            ("a", "1", 0, 0),
            ("a", "2", 35, 0),
            ("b", "3", 3, 0),
            ("c", "4", 40, 0),
            ("c", "5", 70, 0),
        ]
    )
    table = monthly_retention(history).set_index("month")
    assert table.loc["2025-01", "customers"] == 2
    assert table.loc["2025-01", "retained"] == 1
    assert table.loc["2025-02", "rate"] == pytest.approx(0.5)
    assert (table["low"] <= table["rate"]).all() and (
        table["rate"] <= table["high"]
    ).all()


def test_lifetime_value_formula() -> None:
    """LTV is margin x orders per active month x 1 / (1 - r / (1 + d))."""
    history = _history([("a", "1", 0, 0), ("a", "2", 35, 0), ("b", "3", 3, 0)])
    ltv = lifetime_value(history, order_value=10_000, margin=0.5, monthly_discount=0.0)
    assert ltv.monthly_retention == pytest.approx(0.5)
    assert ltv.orders_per_month == pytest.approx(1.0)
    assert ltv.value == pytest.approx(5_000 * 1.0 * 2.0)


def test_customer_values_rank_frequent_buyers_higher() -> None:
    """More orders in the same time means a higher value; few orders shrink."""
    history = _history(
        [("a", str(k), 10 * k, 0) for k in range(10)] + [("b", "x", 0, 0)]
    )
    values = customer_values(history)
    assert values["a"] > values["b"] > 0


def test_cohort_table_with_intervals() -> None:
    """One row per experience cohort; intervals bracket the rates."""
    city = build_city(seed=4, n_customers=600, end=date(2024, 6, 30))
    table = cohort_table(city.history)
    assert list(table["experience"]) == list(COHORTS)
    assert table["deliveries"].sum() == len(city.history)
    for n in (30, 60, 90):
        rate = table[f"repeat_{n}"]
        assert (
            (table[f"repeat_{n}_low"] <= rate) & (rate <= table[f"repeat_{n}_high"])
        ).all()
    on_time = table.set_index("experience").loc["on_time", "repeat_30"]
    late = table.set_index("experience").loc["late_30_plus", "repeat_30"]
    assert on_time > late


def test_service_metrics_per_group() -> None:
    """On-time and failed-attempt rates per district sum up to the orders."""
    city = build_city(seed=4, n_customers=600, end=date(2024, 3, 31))
    table = service_metrics(city.history, by="district")
    assert table["orders"].sum() == len(city.history)
    assert table["on_time_rate"].between(0, 1).all()
    assert (table["on_time_low"] <= table["on_time_rate"]).all()


def test_spells_drop_churn_and_censor_the_end() -> None:
    """Spells end at the next order, the data end, or vanish when the customer left."""
    history = _history(
        [
            ("a", "1", 0, 0),  # at risk days 2..20, ordered on day 20
            ("a", "2", 20, 0),  # days 22..50, censored at the end
            ("b", "3", 5, 0),  # left at this delivery: not at risk
            ("c", "4", 40, 0),  # days 42..50, censored
            ("d", "5", 50, 0),  # delivered after the end: nothing at risk
        ]
    )
    s = spells(history, churned={"b": pd.Timestamp("2025-01-07")})
    assert list(s.event) == [True, False, False]
    assert list(s.start) == [2, 22, 42]
    assert list(s.stop) == [20, 50, 50]


def test_an_end_before_the_last_order_is_refused() -> None:
    """The data cannot end before an order of the history: named, rather than
    spells running past the days counted."""
    history = _history([("a", "1", 0, 0), ("a", "2", 20, 0)])
    with pytest.raises(ValueError, match="before the history's last order"):
        spells(history, end=pd.Timestamp("2025-01-10"))
    with pytest.raises(ValueError, match="before the history's last order"):
        experience_effect(history, end=pd.Timestamp("2025-01-10"))


def _synthetic(
    seed: int, beta: float, n_customers: int = 3_000, leave_if_late: float = 0.0
) -> pd.DataFrame:
    """A simple known-effect world: daily chance r * exp(beta * log1p(late)).

    After a late delivery the customer leaves for good with chance
    ``leave_if_late`` (nothing in the data says so).
    """
    rng = np.random.default_rng(seed)
    rows = []
    horizon = 400
    for c in range(n_customers):
        rate = rng.gamma(2.0, 0.05 / 2.0)
        day, effect, k = 0, 1.0, 0
        while True:
            p = min(0.9, rate * effect)
            day += int(rng.geometric(p))
            if day > horizon:
                break
            late = int(np.ceil(rng.lognormal(3.0, 0.9))) if rng.random() < 0.2 else 0
            rows.append((f"c{c}", f"c{c}-{k}", day, late))
            if late and rng.random() < leave_if_late:
                break
            effect = math.exp(beta * math.log1p(late))
            day += 1  # delivered the next day; eligible again the day after
            k += 1
    frame = _history(rows)
    return frame[
        frame["ds"] <= pd.Timestamp(date(2025, 1, 1) + timedelta(days=horizon))
    ]


def test_effect_recovered_on_synthetic_data() -> None:
    """On data drawn with a known lateness effect, the 95 % interval holds it."""
    history = _synthetic(seed=11, beta=-0.2)
    effect = experience_effect(history)
    _, low, high = effect["log1p_late"]
    assert low <= -0.2 <= high
    assert high - low < 0.06


def test_leaving_after_lateness_is_told_apart_from_waiting_longer() -> None:
    """Customers who silently leave after late deliveries: the cure model
    recovers the lateness effect, ignoring leaving doubles it."""
    history = _synthetic(seed=1, beta=-0.2, n_customers=2_000, leave_if_late=0.2)
    effect = experience_effect(history)
    _, low, high = effect["log1p_late"]
    assert low <= -0.2 <= high
    naive, _, naive_high = experience_effect(history, cure=False)["log1p_late"]
    assert naive_high < -0.2
    assert abs(effect["log1p_late"][0] + 0.2) < abs(naive + 0.2) / 3
    # leaving: 0.2 after a late delivery (somewhat underestimated with about
    # 15 orders a customer, see docs/tracking.md), next to nothing otherwise
    churn = dict(zip(effect.churn_names, effect.churn_coef, strict=True))
    on_time = 1 / (1 + math.exp(-churn["constant"]))
    late = 1 / (1 + math.exp(-(churn["constant"] + churn["late"])))
    assert on_time < 0.01
    assert 0.12 < late < 0.25


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(order=st.randoms(use_true_random=False), prefix=st.sampled_from("xyz"))
def test_effect_does_not_depend_on_row_order_or_customer_names(
    order: object, prefix: str
) -> None:
    """Shuffling the rows and renaming the customers changes nothing."""
    history, fit = _leaving()
    rows = list(range(len(history)))
    order.shuffle(rows)  # type: ignore[attr-defined]
    shuffled = history.iloc[rows].reset_index(drop=True)
    shuffled["customer_id"] = prefix + shuffled["customer_id"].str[::-1]
    a, b = fit, experience_effect(shuffled)
    assert a.names == b.names
    np.testing.assert_allclose(b.coef, a.coef, atol=1e-7)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-4)
    np.testing.assert_allclose(b.churn_coef, a.churn_coef, atol=1e-6)


@functools.cache
def _leaving() -> tuple[pd.DataFrame, ExperienceEffect]:
    history = _synthetic(seed=8, beta=-0.2, n_customers=300, leave_if_late=0.3)
    return history, experience_effect(history)


def test_churn_covariates_count_recent_late_deliveries() -> None:
    """Late deliveries among the last five orders within 60 days, this one in."""
    history = _history(
        [
            ("a", "1", 0, 40),  # late, first of its kind
            ("a", "2", 10, 0),  # on time
            ("a", "3", 20, 5),  # late, the second recent one
            ("a", "4", 30, 9),  # late, the third
            ("a", "5", 100, 9),  # late, but the others are over 60 days old
            ("b", "6", 0, 0),
        ]
    )
    history.loc[5, "failed_attempts"] = 2
    s = spells(history, end=pd.Timestamp("2025-12-31"))
    assert CHURN_COVARIATES == (
        "constant",
        "late",
        "late_2nd_recent",
        "late_3rd_recent",
        "failed_attempts",
    )
    np.testing.assert_array_equal(
        s.z,
        [
            [1, 1, 0, 0, 0],
            [1, 0, 0, 0, 0],
            [1, 1, 1, 0, 0],
            [1, 1, 1, 1, 0],
            [1, 1, 0, 0, 0],
            [1, 0, 0, 0, 2],
        ],
    )


def test_no_leaving_in_the_data_is_no_leaving_in_the_fit() -> None:
    """Without anyone leaving, the cure model agrees with the plain one."""
    history = _synthetic(seed=11, beta=-0.2, n_customers=1_500)
    cure = experience_effect(history)
    plain = experience_effect(history, cure=False)
    assert cure["log1p_late"][0] == pytest.approx(plain["log1p_late"][0], abs=0.01)
    assert 1 / (1 + math.exp(-cure.churn_coef[0])) < 0.01


def test_city_effect_from_observable_data() -> None:
    """Small city, no churn dates: lateness and failed attempts are recovered.

    The former estimator (every quiet last spell at risk) misses lateness.
    """
    city = build_city(seed=1, n_customers=3_000)
    truth = _truth(city)
    effect = experience_effect(city.history)
    assert effect.names == COVARIATES
    for name in ("log1p_late", "failed_attempts"):
        est, low, high = effect[name]
        assert low <= truth[name] <= high, (name, est, low, high, truth[name])
    _, _, naive_high = experience_effect(city.history, cure=False)["log1p_late"]
    assert naive_high < truth["log1p_late"]
    assert effect.churn_names == CHURN_COVARIATES


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_city_effect_from_observable_data_at_the_default_size(seed: int) -> None:
    """40,000 slots, no churn dates: lateness is recovered, every effect
    agrees with the fit given the hidden churn dates (the benchmark), and
    an effect whose interval misses the truth is missed on the same side by
    the oracle fit given every customer's true rate and calendar: the miss
    is in the seed's draws (seed 2: failed attempts and earliness, see
    docs/tracking.md).
    """
    city = build_city(seed=seed)
    effect = experience_effect(city.history)
    hidden = experience_effect(city.history, churned=_churned(city))
    customers = city.customers.set_index("customer_id")
    known = known_rate_effect(
        city.history,
        customers["base_rate"],
        city.features.set_index("ds")["demand"],
        _churned(city),
    )
    truth = _truth(city)
    est, low, high = effect["log1p_late"]
    assert low <= truth["log1p_late"] <= high, (est, low, high)
    assert effect.names == hidden.names == known.names
    assert np.all(np.abs(effect.coef - hidden.coef) < 1.5 * effect.se)
    for name in effect.names:
        est, low, high = effect[name]
        if low <= truth[name] <= high:
            continue
        oracle, oracle_low, oracle_high = known[name]
        assert not oracle_low <= truth[name] <= oracle_high, (name, known[name])
        assert (est > truth[name]) == (oracle > truth[name]), name


@pytest.mark.parametrize("seed", [1, 2])
def test_city_effect_recovered_fast(seed: int) -> None:
    """With the hidden churn dates the 95 % intervals hold the truth too."""
    city = build_city(seed=seed, n_customers=2_000)
    effect = experience_effect(city.history, churned=_churned(city))
    truth = _truth(city)
    assert effect.names == COVARIATES
    for name, value in truth.items():
        est, low, high = effect[name]
        assert low <= value <= high, (name, est, low, high, value)
    assert effect.day_effects


@pytest.mark.parametrize("seed", [1, 2])
def test_city_effect_recovered_on_a_larger_city(seed: int) -> None:
    """With 8,000 slots (tighter intervals) the truth is still inside, both ways."""
    city = build_city(seed=seed, n_customers=8_000)
    demand = city.features.set_index("ds")["demand"]
    truth = _truth(city)
    for multiplier in (None, demand):
        effect = experience_effect(
            city.history, churned=_churned(city), daily_multiplier=multiplier
        )
        for name, value in truth.items():
            est, low, high = effect[name]
            assert low <= value <= high, (name, est, low, high, value)


def test_gap_multiplier_reads_like_the_truth() -> None:
    """The estimated effect turns into 'how much longer until the next order'."""
    city = build_city(seed=1, n_customers=2_000)
    effect = experience_effect(city.history, churned=_churned(city))
    expected = float(city.truth.gap_multiplier(30))
    assert effect.gap_multiplier(30) == pytest.approx(expected, rel=0.1)
    assert effect.gap_multiplier(0) == 1.0
