"""The embedded city's baskets: drawn apart from the rest, read as margin."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.city import City, GroundTruth, build_city, day_baskets, day_problem
from tracking.crm import crm_metrics
from tracking.retention import customer_values

SEEDED = settings(derandomize=True, deadline=None, database=None, max_examples=12)


@pytest.fixture(scope="module")
def city() -> City:
    """2,000 customer slots over the default two years."""
    return build_city(seed=2, n_customers=2_000)


def _frequent(city: City, at_least: int = 8) -> pd.Index:
    counts = city.history["customer_id"].astype(str).value_counts()
    return counts.index[counts >= at_least]


@SEEDED
@given(
    seed=st.integers(0, 2**16),
    median=st.floats(1_000, 200_000),
    sigma=st.floats(0.0, 1.5),
    order_sigma=st.floats(0.0, 1.5),
)
def test_baskets_change_no_other_draw(
    seed: int, median: float, sigma: float, order_sigma: float
) -> None:
    """Whatever the basket parameters, every other column of the orders and
    the customers is the same: the baskets have random streams of their own,
    so the truth the retention benchmark judges by did not move."""
    truth = GroundTruth(
        basket_median=median, basket_sigma=sigma, order_basket_sigma=order_sigma
    )
    plain = build_city(seed=seed, n_customers=60, end=date(2024, 2, 29))
    other = build_city(seed=seed, n_customers=60, end=date(2024, 2, 29), truth=truth)
    pd.testing.assert_frame_equal(
        plain.history.drop(columns="value"), other.history.drop(columns="value")
    )
    pd.testing.assert_frame_equal(
        plain.customers.drop(columns="basket"), other.customers.drop(columns="basket")
    )
    values = other.history["value"].to_numpy()
    assert (values >= truth.basket_step).all()
    assert np.allclose(values % truth.basket_step, 0.0)


def test_orders_are_drawn_around_their_customer_s_mean_basket(city: City) -> None:
    """Baskets are whole hundreds of won, about 35,000 on average; a
    frequent customer's orders average their latent mean basket."""
    values = city.history["value"]
    assert (values % 100 == 0).all() and (values >= 100).all()
    assert 30_000 < values.mean() < 40_000
    assert values.quantile(0.05) < 15_000 and values.quantile(0.95) > 70_000
    by = values.groupby(city.history["customer_id"].astype(str)).mean()
    latent = city.customers.set_index(city.customers["customer_id"].astype(str))[
        "basket"
    ]
    frequent = _frequent(city)
    ratio = by[frequent] / latent[frequent]
    assert ratio.mean() == pytest.approx(1.0, abs=0.02)
    assert np.corrcoef(by[frequent], latent[frequent])[0, 1] > 0.9


def test_a_day_s_baskets_are_seeded_and_only_for_deliveries(city: City) -> None:
    """``day_baskets`` gives each delivery of a day problem a basket (returns
    none), the same for the same seed and another for another seed."""
    day = date(2025, 3, 11)
    problem = day_problem(city, day, n_orders=300, seed=4)
    baskets = day_baskets(city, problem, seed=4)
    deliveries = {j.id for j in problem.jobs if j.type != "pickup"}
    assert set(baskets) == deliveries and len(deliveries) < len(problem.jobs)
    assert baskets == day_baskets(city, problem, seed=4)
    assert baskets != day_baskets(city, problem, seed=5)
    assert all(v >= 100 and v % 100 == 0 for v in baskets.values())
    with pytest.raises(ValueError, match="date"):
        day_baskets(city, problem.model_copy(update={"date": None}), seed=4)


def test_ltv_by_cohort_reads_the_city_s_baskets(city: City) -> None:
    """LTV by first-delivery experience is the margin of the orders' own
    baskets: doubling every basket doubles every cohort's LTV, and without
    them (the default basket) the LTVs are others."""
    history = city.history
    end = city.end
    ltv = crm_metrics(history, horizon_days=90, end=end).ltv.set_index("experience")
    double = history.assign(value=history["value"] * 2)
    doubled = crm_metrics(double, horizon_days=90, end=end).ltv.set_index("experience")
    pd.testing.assert_series_equal(doubled["value"], 2 * ltv["value"])
    plain = crm_metrics(history.drop(columns="value"), horizon_days=90, end=end)
    assert not np.allclose(plain.ltv["value"], ltv["value"].to_numpy())


def test_customer_values_follow_the_baskets_in_the_history(city: City) -> None:
    """``customer_values`` on the city's history (as a simulated day's shop
    prices with) scale each customer by their own baskets."""
    values = customer_values(city.history, margin=0.25)
    plain = customer_values(city.history.drop(columns="value"), margin=0.25)
    frequent = _frequent(city, 12)
    latent = city.customers.set_index(city.customers["customer_id"].astype(str))[
        "basket"
    ]
    ratio = values[frequent] / plain[frequent]
    assert np.corrcoef(ratio, latent[frequent])[0, 1] > 0.8
