"""On the embedded city the global model recovers the generator's effects.

The model is fitted on orders per district and day up to 2025-05-31 and asked
for June 2025 twice: once with no campaign and no holiday, once with one
campaign (at the campaign type's mean intensity in the plan) or with three
weekdays made public holidays. The ratio of the two forecasts on those days
is the learned effect; ``city.truth`` holds the generator's.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster, GlobalGBM, PromotionType, promotion_column
from forecasting.exog import HOLIDAY_COLUMN
from scenarios.city import City, build_city
from scenarios.forecast_report import city_exog, zone_history

CUTOFF = date(2025, 5, 31)
H = 28


@pytest.fixture(scope="module")
def city() -> City:
    """A 20,000-slot city (about 900 orders a day over 25 districts)."""
    return build_city(seed=0, n_customers=20_000)


@pytest.fixture(scope="module")
def fitted(city: City) -> Forecaster:
    """The global model fitted on the district counts up to the cutoff."""
    df = zone_history(city)
    return Forecaster([GlobalGBM()]).fit(df[df["ds"] <= pd.Timestamp(CUTOFF)])


def _future(city: City) -> tuple[pd.DataFrame, list[str]]:
    start = CUTOFF + timedelta(days=1)
    exog = city_exog(city, start, start + timedelta(days=H - 1))
    promos = [promotion_column(k) for k in PromotionType]
    exog[promos] = 0.0
    exog[HOLIDAY_COLUMN] = 0.0
    ids = sorted(zone_history(city)["unique_id"].unique().tolist())
    return exog, ids


def _forecast(fc: Forecaster, exog: pd.DataFrame, ids: list[str]) -> np.ndarray:
    keys = pd.DataFrame({"unique_id": np.repeat(ids, H)})
    keys["ds"] = np.tile(exog["ds"].to_numpy(), len(ids))
    out = fc.predict(H, keys.merge(exog, on="ds"))
    return out["GlobalGBM"].to_numpy().reshape(len(ids), H)


def _mean_intensity(city: City, kind: PromotionType) -> float:
    values = [
        p.intensity for p in city.promotions if p.type is kind and p.start <= CUTOFF
    ]
    return float(np.mean(values))


@pytest.mark.parametrize(
    ("kind", "first", "last"),
    [
        (PromotionType.SEASONAL, 7, 16),
        (PromotionType.LIMITED_TIME, 9, 9),
        (PromotionType.REPURCHASE, 7, 11),
    ],
)
def test_promotion_uplift_matches_the_truth(
    city: City, fitted: Forecaster, kind: PromotionType, first: int, last: int
) -> None:
    """A campaign's forecast uplift is within 0.06 of the generator's uplift."""
    base, ids = _future(city)
    intensity = _mean_intensity(city, kind)
    campaign = base.copy()
    campaign.loc[first:last, promotion_column(kind)] = intensity
    days = slice(first, last + 1)
    without = _forecast(fitted, base, ids)[:, days].sum()
    with_ = _forecast(fitted, campaign, ids)[:, days].sum()
    learned = with_ / without - 1.0
    truth = city.truth.promotion_uplift[kind.value] * intensity
    assert learned == pytest.approx(truth, abs=0.06)


def test_holiday_effect_matches_the_truth(city: City, fitted: Forecaster) -> None:
    """Weekdays made public holidays get the generator's multiplier (0.80) +-0.06."""
    base, ids = _future(city)
    holidays = [3, 10, 17]  # Wednesdays
    assert all((CUTOFF + timedelta(days=1 + d)).weekday() == 2 for d in holidays)
    shifted = base.copy()
    shifted.loc[holidays, HOLIDAY_COLUMN] = 1.0
    without = _forecast(fitted, base, ids)[:, holidays].sum()
    with_ = _forecast(fitted, shifted, ids)[:, holidays].sum()
    assert with_ / without == pytest.approx(city.truth.public_holiday, abs=0.06)


def test_larger_campaigns_lift_more(city: City, fitted: Forecaster) -> None:
    """Learned uplifts keep the truth's order: limited-time > seasonal > repurchase."""
    base, ids = _future(city)
    without = _forecast(fitted, base, ids)
    lifts = {}
    for kind in (
        PromotionType.LIMITED_TIME,
        PromotionType.SEASONAL,
        PromotionType.REPURCHASE,
    ):
        campaign = base.copy()
        campaign.loc[9, promotion_column(kind)] = 1.0
        lifts[kind] = _forecast(fitted, campaign, ids)[:, 9].sum() / without[:, 9].sum()
    assert (
        lifts[PromotionType.LIMITED_TIME]
        > lifts[PromotionType.SEASONAL]
        > lifts[PromotionType.REPURCHASE]
        > 1.0
    )
