"""The forecaster with calendars: its own cal_ columns, per series, no collision."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.calendar import CalendarEntry, EntryKind, RetailCalendar
from forecasting.core import Forecaster
from forecasting.exog import CLOSURE_COLUMN, SeriesCalendar, calendar_features
from forecasting.features import FeatureSpec, check_exog
from forecasting.frame import FrameError
from forecasting.models import GlobalGBM, LogLinear, SeasonalNaive
from forecasting.synthetic import SyntheticTruth

H = 14


def _split(df: pd.DataFrame, days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = df["ds"].max() - pd.Timedelta(days=days)
    return df[df["ds"] <= cut], df[df["ds"] > cut].drop(columns="y")


def _gbm() -> GlobalGBM:
    params = {"learning_rate": 0.1, "num_leaves": 15}
    return GlobalGBM(horizon=28, num_rounds=60, params=params)


@pytest.mark.parametrize(
    ("extra", "column", "fragment"),
    [
        ({"dow": 1.0}, "dow", "the model's own feature 'dow'"),
        ({"lag_7": 0.0}, "lag_7", "the model's own feature 'lag_7'"),
        ({"promo_prev": 0.0}, "promo_prev", "a feature of column 'promo'"),
    ],
)
def test_a_column_colliding_with_the_models_features_raises(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
    extra: dict[str, float],
    column: str,
    fragment: str,
) -> None:
    """A colliding column is refused by name, even with a fallback to hide it."""
    df, _ = panel_df
    fc = Forecaster([_gbm()], fallback_model=LogLinear(), closed_col="closed")
    with pytest.raises(FrameError, match=fragment) as raised:
        fc.fit(df.assign(**extra))
    assert raised.value.column == column
    with pytest.raises(FrameError, match=fragment):
        fc.cross_validation(df.assign(**extra), h=7)
    with pytest.raises(FrameError, match=fragment):
        check_exog(FeatureSpec(), ["promo", "holiday", *extra])


def test_a_full_calendar_frame_fits_the_main_model(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """Every calendar_features column goes straight in: the GBM fits, no fallback."""
    df, _ = panel_df
    first, last = df["ds"].min().date(), df["ds"].max().date()
    calendar = RetailCalendar(range(first.year, last.year + 1))
    features = calendar_features(first, last, calendar)
    frame = df.merge(features, on="ds")
    history, future = _split(frame, H)
    fc = Forecaster([_gbm()], fallback_model=LogLinear(), closed_col="closed")
    out = fc.fit(history).predict(H, future)
    assert fc.fallbacks_ == () and set(out["GlobalGBM-model"]) == {"GlobalGBM"}
    assert np.isfinite(out["GlobalGBM"]).all()


@pytest.fixture(scope="module")
def regional(panel_df: tuple[pd.DataFrame, SyntheticTruth]) -> SeriesCalendar:
    """A calendar whose one closure (in the horizon) is region north's: s01."""
    df, _ = panel_df
    last = df["ds"].max().date()
    day = (df["ds"].max() - pd.Timedelta(days=5)).date()
    closure = CalendarEntry(
        start=day, end=day, name="hub works", kind=EntryKind.CLOSURE, scope="north"
    )
    years = range(df["ds"].min().year, last.year + 1)
    calendar = RetailCalendar(years, entries=[closure], public_holidays="replace")
    return SeriesCalendar(calendar, regions={"s01": ("north",)})


def test_the_forecaster_adds_calendar_columns_per_series(
    panel_df: tuple[pd.DataFrame, SyntheticTruth], regional: SeriesCalendar
) -> None:
    """A regional closure in the horizon zeroes only its series' forecast."""
    df, _ = panel_df
    history, future = _split(df[["unique_id", "ds", "y"]], H)
    fc = Forecaster(
        [SeasonalNaive(7), LogLinear()], closed_col=CLOSURE_COLUMN, calendar=regional
    )
    out = fc.fit(history).predict(H)
    day = df["ds"].max() - pd.Timedelta(days=5)
    on_day = out[out["ds"] == day].set_index("unique_id")["LogLinear"]
    assert on_day["s01"] == 0.0
    assert (on_day.drop("s01") > 0).all()
    assert (out[out["unique_id"] != "s01"]["SeasonalNaive"] > 0).any()
    with pytest.raises(FrameError, match="X_df: column 'cal_closure'"):
        fc.predict(H, future.assign(cal_closure=0.0))


def test_a_calendar_and_own_cal_columns_clash(
    panel_df: tuple[pd.DataFrame, SyntheticTruth], regional: SeriesCalendar
) -> None:
    """The history may not bring cal_ columns the calendar would make."""
    df, _ = panel_df
    fc = Forecaster([LogLinear()], calendar=regional)
    with pytest.raises(FrameError, match="df: column 'cal_holiday'"):
        fc.fit(df.assign(cal_holiday=0.0))


def test_other_exogenous_columns_still_come_from_x_df(
    panel_df: tuple[pd.DataFrame, SyntheticTruth], regional: SeriesCalendar
) -> None:
    """With a calendar, X_df gives the other columns; missing ones are named."""
    df, _ = panel_df
    history, future = _split(df, H)
    fc = Forecaster([LogLinear()], closed_col="closed", calendar=regional)
    fc.fit(history)
    out = fc.predict(H, future)
    assert len(out) == 8 * H
    with pytest.raises(FrameError, match="X_df: is required"):
        fc.predict(H)
