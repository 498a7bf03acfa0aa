"""Order values and promotion kinds in the retention and CRM metrics."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracking.crm import acquisition_table, ltv_by_experience, promotion_kinds
from tracking.retention import customer_values, lifetime_value

BASE = date(2026, 1, 1)


def _history(rows: Sequence[tuple[str, int, float | None]]) -> pd.DataFrame:
    """Orders ``(customer, day, value)`` delivered on time that day."""
    days = pd.to_datetime([BASE + timedelta(days=r[1]) for r in rows])
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_id": [f"{r[0]}-{r[1]}" for r in rows],
            "ds": days,
            "delivery_date": days,
            "minutes_late": 0,
            "failed_attempts": 0,
            "value": [np.nan if r[2] is None else r[2] for r in rows],
        }
    )


def test_customer_values_use_each_customers_basket_shrunk_to_the_mean() -> None:
    """Same order pattern, different baskets: values in the baskets' order,
    each basket pulled towards the mean by two pseudo-orders."""
    rows = [("a", d, 10_000.0) for d in (0, 30, 60)]
    rows += [("b", d, 70_000.0) for d in (0, 30, 60)]
    history = _history(rows)
    values = customer_values(history, margin=1.0, prior_orders=2.0)
    flat = customer_values(history.drop(columns="value"), order_value=1.0, margin=1.0)
    mean = 40_000.0
    # rate x horizon is the same for both customers: value / flat is the basket.
    assert values["a"] / flat["a"] == pytest.approx((30_000 + 2 * mean) / 5)
    assert values["b"] / flat["b"] == pytest.approx((210_000 + 2 * mean) / 5)
    assert values["a"] < values["b"]


def test_customer_values_without_known_values_use_the_mean_or_the_default() -> None:
    """A customer with no known value gets the mean basket; a value column of
    only NaN is the constant basket."""
    history = _history([("a", 0, 20_000.0), ("a", 40, 20_000.0), ("c", 0, None)])
    values = customer_values(history, margin=1.0)
    flat = customer_values(history.drop(columns="value"), order_value=1.0, margin=1.0)
    assert values["c"] / flat["c"] == pytest.approx(20_000.0)
    empty = history.assign(value=np.nan)
    assert customer_values(empty, order_value=5.0).equals(
        customer_values(history.drop(columns="value"), order_value=5.0)
    )


def test_lifetime_value_uses_the_mean_known_basket() -> None:
    """The per-order margin is the mean of the known values x margin."""
    history = _history([("a", 0, 10_000.0), ("a", 35, 30_000.0), ("b", 3, None)])
    ltv = lifetime_value(history, order_value=999.0, margin=0.5)
    assert ltv.order_margin == pytest.approx(20_000.0 * 0.5)
    plain = lifetime_value(history.drop(columns="value"), order_value=999.0)
    assert plain.order_margin == pytest.approx(999.0 * 0.25)
    assert ltv.value / ltv.order_margin == pytest.approx(
        plain.value / plain.order_margin
    )


def test_ltv_by_experience_reads_the_value_column() -> None:
    """A customer's LTV is the margin of their later orders' own baskets;
    an order without a value counts at the default basket."""
    history = _history([("a", 0, 1.0), ("a", 10, 400.0), ("b", 0, 1.0), ("b", 5, None)])
    table = ltv_by_experience(
        history,
        horizon_days=30,
        order_value=100.0,
        margin=0.5,
        end=BASE + timedelta(60),
    ).set_index("experience")
    assert table.loc["on_time", "value"] == pytest.approx((200.0 + 50.0) / 2)


def test_promotion_kinds_and_the_acquisition_cut_by_kind() -> None:
    """Names are kinds, ``none``/missing is none, a bool column has no kind;
    the acquisition table separates first purchases by kind."""
    frame = pd.DataFrame({"promotion": ["limited_time", "none", None, " Sign_Up "]})
    assert list(promotion_kinds(frame)) == ["limited_time", "none", "none", "sign_up"]
    assert list(promotion_kinds(pd.DataFrame({"promotion": [True, False]}))) == [
        "promotion",
        "none",
    ]
    assert list(promotion_kinds(pd.DataFrame({"x": [1]}))) == ["none"]
    promotion: list[str | None] = ["first_purchase", None, "limited_time"]
    history = _history([("a", 0, None), ("a", 10, None), ("b", 0, None)])
    history["promotion"] = promotion
    table = acquisition_table(
        history, (30,), by=("stage", "promotion_kind"), end=BASE + timedelta(60)
    )
    got = {
        (r["stage"], r["promotion_kind"]): (r["deliveries"], r["repeats"])
        for r in table.to_dict("records")
    }
    assert got == {
        ("first_purchase", "first_purchase"): (1, 1),
        ("first_purchase", "limited_time"): (1, 0),
        ("repurchase", "none"): (1, 0),
    }


order = st.tuples(
    st.sampled_from(["a", "b", "c", "d"]),
    st.integers(0, 200),
    st.one_of(st.none(), st.integers(0, 200_000).map(float)),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(rows=st.lists(order, min_size=1, max_size=25, unique_by=lambda r: r[:2]))
def test_customer_value_is_rate_times_a_basket_within_the_known_values(
    rows: list[tuple[str, int, float | None]],
) -> None:
    """Each customer's implied basket (value over the value with a unit
    basket) lies between the smallest and largest known value, and with no
    known value is the constant basket; values are never negative."""
    history = _history(rows)
    values = customer_values(history, order_value=7.0, margin=1.0)
    unit = customer_values(history.drop(columns="value"), order_value=1.0, margin=1.0)
    assert (values >= 0).all()
    basket = values / unit
    known = history["value"].dropna()
    if known.empty:
        assert basket.to_numpy() == pytest.approx(7.0)
    else:
        assert (basket >= known.min() - 1e-6).all()
        assert (basket <= known.max() + 1e-6).all()
