"""CRM metrics by first-delivery experience, on hand-built histories."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.report import NO_HISTORIES, customer_section
from tracking.crm import (
    acquisition_table,
    crm_metrics,
    first_deliveries,
    hazard_ratios,
    ltv_by_experience,
    promoted,
    rating_effect,
    ratings_by_experience,
    repeat_by_experience,
    retention_curves,
    select,
)
from tracking.retention import COHORTS

BASE = date(2026, 1, 1)


def _history(
    rows: list[tuple[str, int, int, int]], *, promo: list[str] | None = None
) -> pd.DataFrame:
    """Orders ``(customer, day, minutes_late, failed)``, delivered that day."""
    days = pd.to_datetime([BASE + timedelta(days=r[1]) for r in rows])
    frame = pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_id": [f"{r[0]}-{r[1]}" for r in rows],
            "ds": days,
            "delivery_date": days,
            "minutes_late": [r[2] for r in rows],
            "failed_attempts": [r[3] for r in rows],
            "zone": ["north" if r[0] < "m" else "south" for r in rows],
        }
    )
    if promo is not None:
        frame["promotion"] = promo
    return frame


END = BASE + timedelta(days=100)

#: a: on time, back on day 10; b: 40 min late, back on day 50; c: 10 min
#: late, never back; d: failed, back on day 95 (day 0 + 95); e: on time on
#: day 80 (only 20 days of follow-up: censored at 30+).
HAND = _history(
    [
        ("a", 0, 0, 0),
        ("a", 10, 0, 0),
        ("a", 20, 0, 0),
        ("b", 0, 40, 0),
        ("b", 50, 0, 0),
        ("c", 0, 10, 0),
        ("d", 0, 0, 1),
        ("d", 95, 0, 0),
        ("e", 80, 0, 0),
    ]
)


def test_first_deliveries_are_one_per_customer_with_their_experience() -> None:
    """The first order of each customer, its cohort, gap and follow-up."""
    first = first_deliveries(HAND, end=END).set_index("customer_id")
    assert list(first.index) == ["a", "b", "c", "d", "e"]
    assert first["experience"].to_dict() == {
        "a": "on_time",
        "b": "late_30_plus",
        "c": "late_under_30",
        "d": "failed_attempt",
        "e": "on_time",
    }
    assert first.loc["a", "gap_days"] == 10
    assert first["gap_days"].isna().to_dict()["c"]
    assert first.loc["e", "follow_up_days"] == 20


def test_repeat_rates_count_only_customers_observed_for_the_horizon() -> None:
    """e (20 days of data) is censored at 30 days, not counted as lost."""
    table = repeat_by_experience(HAND, (30, 60, 90), end=END)
    row = table.set_index(["experience", "days"])
    on_time_30 = row.loc[("on_time", 30), ["customers", "repeats", "censored"]]
    assert list(on_time_30) == [1, 1, 1]
    assert row.loc[("late_30_plus", 30), "rate"] == 0.0
    assert row.loc[("late_30_plus", 60), "rate"] == 1.0
    assert row.loc[("failed_attempt", 90), "rate"] == 0.0
    assert row.loc[("late_under_30", 90), "repeats"] == 0


def test_ltv_is_the_margin_of_later_orders_within_the_horizon() -> None:
    """a orders twice more in 90 days, b once; c and d not in 90 days."""
    table = ltv_by_experience(
        HAND, horizon_days=90, order_value=100.0, margin=0.5, end=END
    ).set_index("experience")
    assert table.loc["on_time", "value"] == pytest.approx(100.0)  # a: 2 x 50
    assert table.loc["on_time", "censored"] == 1  # e
    assert table.loc["late_30_plus", "value"] == pytest.approx(50.0)
    assert table.loc["failed_attempt", "value"] == 0.0  # day 95 is past 90
    with pytest.raises(ValueError, match="horizon_days"):
        ltv_by_experience(HAND, horizon_days=0)


def test_ltv_interval_is_clustered_by_customer() -> None:
    """Values 0, 50, 100 per customer: mean 50, se = sd / sqrt(3)."""
    rows = [("a", 0, 0, 0), ("b", 0, 0, 0), ("b", 5, 0, 0)]
    rows += [("c", 0, 0, 0), ("c", 5, 0, 0), ("c", 6, 0, 0)]
    table = ltv_by_experience(
        _history(rows), horizon_days=30, order_value=100, margin=0.5, end=END
    ).set_index("experience")
    half = 1.959963984540054 * 50.0 / math.sqrt(3)
    assert table.loc["on_time", "value"] == pytest.approx(50.0)
    assert table.loc["on_time", "high"] == pytest.approx(50.0 + half)
    assert table.loc["on_time", "low"] == 0.0  # 50 - 56.6 is clipped at 0


def test_retention_curve_by_hand() -> None:
    """Three on-time customers back after 10, 20 days and one never (censored)."""
    rows = [("a", 0, 0, 0), ("a", 10, 0, 0), ("b", 0, 0, 0), ("b", 20, 0, 0)]
    rows += [("c", 0, 0, 0)]
    curve = retention_curves(_history(rows), end=END)
    assert list(curve["day"]) == [0, 10, 20]
    assert list(curve["survival"]) == pytest.approx([1.0, 2 / 3, 1 / 3])
    assert list(curve["at_risk"]) == [3, 3, 2]


def test_acquisition_separates_promoted_first_purchases() -> None:
    """First purchase under a promotion x experience -> second order rate."""
    rows = [("a", 0, 0, 0), ("a", 10, 0, 0), ("b", 0, 45, 0), ("c", 0, 0, 0)]
    history = _history(rows, promo=["flash", "none", "flash", "none"])
    table = acquisition_table(history, (30,), end=END)
    promo = table[(table["stage"] == "first_purchase") & table["promotion"]]
    got = promo.set_index("experience")[["deliveries", "repeats"]].to_dict("index")
    assert got == {
        "on_time": {"deliveries": 1, "repeats": 1},
        "late_30_plus": {"deliveries": 1, "repeats": 0},
    }
    assert table["promotion_recorded"].all()
    plain = acquisition_table(_history(rows), (30,), by=("stage",), end=END)
    assert not plain["promotion_recorded"].any()
    assert set(plain["stage"]) == {"first_purchase", "repurchase"}
    signup = acquisition_table(history, (30,), by=("signup",), end=END)
    assert list(signup["signup"]) == ["2026-01"]
    with pytest.raises(ValueError, match="by"):
        acquisition_table(history, by=("colour",))


def test_promotion_flag_reads_bools_and_names() -> None:
    """Bools as is; a name is a promotion unless it is none or empty."""
    frame = pd.DataFrame({"promotion": ["none", "flash", "", None, "sign_up"]})
    assert list(promoted(frame)) == [False, True, False, False, True]
    assert list(promoted(pd.DataFrame({"promotion": [True, False]}))) == [True, False]
    assert not promoted(pd.DataFrame({"x": [1]})).any()


def test_select_by_zone_and_dates() -> None:
    """Zone and inclusive date range; a zone without the column is an error."""
    got = select(HAND, zone="north", start=BASE, until=BASE + timedelta(days=20))
    assert set(got["customer_id"]) == {"a", "b", "c", "d"}
    assert got["ds"].max() == pd.Timestamp(BASE + timedelta(days=20))
    with pytest.raises(ValueError, match="zone"):
        select(HAND.drop(columns="zone"), zone="north")
    with pytest.raises(ValueError, match="start"):
        select(HAND, start=END, until=BASE)


def _ratings(pairs: list[tuple[str, int, int | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [p[0] for p in pairs],
            "csat": [p[1] for p in pairs],
            "nps": [p[2] for p in pairs],
        }
    )


def test_ratings_by_experience_of_the_rated_order() -> None:
    """Mean CSAT and NPS = % promoters - % detractors, per cohort."""
    ratings = _ratings([("a-0", 5, 10), ("a-10", 4, 7), ("b-0", 1, 2), ("zz-1", 5, 10)])
    table = ratings_by_experience(HAND, ratings).set_index("experience")
    assert table.loc["on_time", "rated"] == 2
    assert table.loc["on_time", "csat"] == pytest.approx(4.5)
    assert table.loc["on_time", "nps"] == pytest.approx(50.0)  # 1 of 2, 0 det.
    assert table.loc["late_30_plus", "nps"] == pytest.approx(-100.0)
    assert table.loc["failed_attempt", "rated"] == 0


def _rated_world(n: int, seed: int, effect: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """n customers; a low rating lowers the chance of a second order by effect."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, int, int, int]] = []
    pairs: list[tuple[str, int, int | None]] = []
    promo: list[str] = []
    for k in range(n):
        cid = f"c{k:04d}"
        late = int(rng.choice([0, 0, 15, 45]))
        low = bool(rng.random() < 0.3)
        p = 0.7 - 0.004 * late - (effect if low else 0.0)
        rows.append((cid, 0, late, 0))
        promo.append("none")
        if rng.random() < p:
            rows.append((cid, int(rng.integers(1, 60)), 0, 0))
            promo.append("none")
        pairs.append((f"{cid}-0", 1 if low else 5, None))
    return _history(rows, promo=promo), _ratings(pairs)


def test_rating_effect_recovers_a_planted_effect() -> None:
    """A low rating that cuts the return chance by 0.4 is found, in the interval."""
    history, ratings = _rated_world(600, seed=3, effect=0.4)
    got = rating_effect(history, ratings, end=END)
    assert got.reason is None
    assert got.n == 600
    assert got.low is not None and got.high is not None and got.coef is not None
    assert got.low < -0.4 < got.high
    assert got.high < 0  # significant
    assert got.covariates == ("minutes_late", "low_rating")


def test_rating_effect_refuses_with_a_reason() -> None:
    """Fewer than 30 rated orders, or no low rating: a reason, no number."""
    history, ratings = _rated_world(20, seed=1, effect=0.2)
    few = rating_effect(history, ratings, end=END)
    assert few.coef is None and few.reason is not None
    assert "too few rated orders" in few.reason and few.n == 20
    history, ratings = _rated_world(50, seed=1, effect=0.2)
    ratings["csat"] = 5
    none_low = rating_effect(history, ratings, end=END)
    assert none_low.coef is None and "no rated order" in str(none_low.reason)


def test_crm_metrics_bundles_every_table() -> None:
    """One call; without ratings the rating effect refuses."""
    got = crm_metrics(HAND, end=END, horizon_days=60)
    assert (got.customers, got.orders, got.horizon_days) == (5, 9, 60)
    assert set(got.repeat["experience"]) == set(COHORTS)
    assert got.rating_effect.reason is not None


order = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "e", "f"]),
    st.integers(0, 120),
    st.sampled_from([0, 5, 29, 30, 90]),
    st.sampled_from([0, 0, 1]),
)


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    rows=st.lists(order, min_size=1, max_size=30, unique_by=lambda r: r[:2]),
    scores=st.lists(st.tuples(st.integers(1, 5), st.integers(0, 10)), max_size=30),
)
def test_invariants_on_random_histories(
    rows: list[tuple[str, int, int, int]], scores: list[tuple[int, int]]
) -> None:
    """Rates in [0, 1] inside their intervals; KM curves non-increasing and
    inside their bands; every customer in exactly one first-delivery cohort;
    CSAT in [1, 5] and NPS in [-100, 100], inside their intervals."""
    history = _history(rows)
    end = BASE + timedelta(days=130)
    ids = list(history["order_id"])
    ratings = _ratings(
        [(ids[k], csat, nps) for k, (csat, nps) in enumerate(scores[: len(ids)])]
    )
    metrics = crm_metrics(history, ratings, end=end)
    rated = metrics.ratings[metrics.ratings["rated"] > 0]
    assert int(metrics.ratings["rated"].sum()) == len(ratings)
    assert ((rated["csat"] >= 1) & (rated["csat"] <= 5)).all()
    assert ((rated["nps"] >= -100) & (rated["nps"] <= 100)).all()
    for col in ("csat", "nps"):
        known = rated[rated[f"{col}_low"].notna()]
        assert (known[f"{col}_low"] <= known[col] + 1e-9).all()
        assert (known[col] <= known[f"{col}_high"] + 1e-9).all()
    effect = metrics.rating_effect
    assert (effect.reason is None) == (effect.coef is not None)
    hazard = metrics.hazard[metrics.hazard["low"].notna()]
    assert (hazard["low"] <= hazard["hazard_ratio"] + 1e-12).all()
    assert (hazard["hazard_ratio"] <= hazard["high"] + 1e-12).all()
    assert int(metrics.hazard["customers"].sum()) == history["customer_id"].nunique()
    first = first_deliveries(history, end=end)
    assert len(first) == history["customer_id"].nunique()
    for table in (metrics.repeat, metrics.acquisition):
        known = table[table["rate"].notna()]
        assert ((known["rate"] >= 0) & (known["rate"] <= 1)).all()
        assert (known["low"] <= known["rate"] + 1e-12).all()
        assert (known["rate"] <= known["high"] + 1e-12).all()
        assert (
            table["repeats"] <= table["deliveries"]
            if "deliveries" in table
            else table["repeats"] <= table["customers"]
        ).all()
    for n in (30, 60, 90):
        part = metrics.repeat[metrics.repeat["days"] == n]
        assert int((part["customers"] + part["censored"]).sum()) == len(first)
    for _, curve in metrics.curves.groupby("experience"):
        s = curve["survival"].to_numpy()
        assert (np.diff(s) <= 1e-12).all()
        assert ((s >= 0) & (s <= 1)).all()
        assert (curve["low"] <= s + 1e-12).all() and (s <= curve["high"] + 1e-12).all()
    ltv = metrics.ltv[metrics.ltv["low"].notna()]
    assert (ltv["low"] <= ltv["value"] + 1e-9).all()
    assert (ltv["value"] <= ltv["high"] + 1e-9).all()


def test_scenario_report_section() -> None:
    """With histories: a row per scenario and cohort with the rates and LTV
    of tracking.crm; without (a sweep result has none): it says why."""
    md, page = customer_section({"base": HAND, "empty": HAND.iloc[:0]})
    rows = [line for line in md if line.startswith("| base |")]
    assert len(rows) == len(COHORTS)
    late = next(r for r in rows if "| late 30 plus |" in r)
    assert "| 0.00 [" in late and "(n=1)" in late  # b: back after 50 days
    assert "| empty | (no orders) |" in "\n".join(md)
    assert "<table>" in page and "late 30 plus" in page
    md, page = customer_section(None)
    assert NO_HISTORIES in md and "Not reported" in page


def test_ratings_without_two_customers_have_no_interval() -> None:
    """One rated customer: a mean but no interval; no rating: nothing."""
    table = ratings_by_experience(HAND, _ratings([("a-0", 4, 9), ("a-10", 2, 5)]))
    on_time = table.set_index("experience").loc["on_time"]
    assert on_time["csat"] == 3.0 and on_time["nps"] == 0.0
    assert on_time[["csat_low", "csat_high", "nps_low", "nps_high"]].isna().all()
    failed = table.set_index("experience").loc["failed_attempt"]
    assert failed[["csat", "csat_low", "nps"]].isna().all()


def test_hazard_ratio_by_hand() -> None:
    """on time: a back after 10 days, e censored at 20 (1 event, 31 days at
    risk with the half days); 30+ late: b back after 50 (1 in 50.5)."""
    table = hazard_ratios(HAND, end=END).set_index("experience")
    assert table.loc["on_time", "days_at_risk"] == pytest.approx(31.0)
    assert table.loc["on_time", "hazard_ratio"] == pytest.approx(1.0)
    ratio = 31.0 / 50.5
    half = 1.959963984540054 * math.sqrt(2.0)
    late = table.loc["late_30_plus"]
    assert late["hazard_ratio"] == pytest.approx(ratio)
    assert late["low"] == pytest.approx(ratio * math.exp(-half))
    assert late["high"] == pytest.approx(ratio * math.exp(half))
    assert table.loc["late_under_30", "events"] == 0  # c never came back
    assert table[["hazard_ratio"]].isna().to_dict()["hazard_ratio"]["late_under_30"]
