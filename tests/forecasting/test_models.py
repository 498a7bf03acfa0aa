"""The models on their own: seasonal naive, log-linear fallback, global GBM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.features import FeatureBuilder, FeatureSpec
from forecasting.frame import Panel, to_panel, validate_df
from forecasting.models import GlobalGBM, LogLinear, Model, SeasonalNaive
from forecasting.synthetic import SyntheticTruth


def _panel(
    y: np.ndarray, X: np.ndarray | None = None, names: tuple[str, ...] = ()
) -> Panel:
    n, T = y.shape
    ds = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-01") + T)
    if X is None:
        X = np.zeros((n, T, 0))
    return Panel(ids=tuple(f"s{i}" for i in range(n)), ds=ds, y=y, X=X, exog=names)


@pytest.mark.parametrize("model", [SeasonalNaive(7), LogLinear(), GlobalGBM()])
def test_models_follow_the_protocol(model: Model) -> None:
    """Every model has an alias, a min_history, new() and forward()."""
    assert isinstance(model, Model)
    assert model.alias
    assert model.min_history >= 1
    fresh = model.new()
    assert type(fresh) is type(model) and fresh is not model


def test_seasonal_naive_repeats_the_last_week() -> None:
    """SeasonalNaive(7) repeats the last 7 days for every later week."""
    y = np.arange(21, dtype=float)[None, :]
    out = SeasonalNaive(7).fit(_panel(y)).predict(10, level=[80])
    np.testing.assert_array_equal(
        out["mean"][0], [14, 15, 16, 17, 18, 19, 20, 14, 15, 16]
    )
    # every lag-7 difference is 7: sigma 7, the second week's band is wider
    half = out["hi-80"][0] - out["mean"][0]
    assert half[0] == pytest.approx(1.2816 * 7, rel=1e-3)
    assert half[7] == pytest.approx(half[0] * np.sqrt(2), rel=1e-6)
    assert (out["lo-80"] >= 0).all()


def test_loglinear_recovers_weekday_and_promotion_effects() -> None:
    """On noiseless data the fallback learns the weekly pattern and the promo uplift."""
    T = 140
    dow = (np.arange(T) + 0) % 7  # 2024-01-01 is a Monday
    weekly = np.array([1.2, 1.0, 1.0, 1.0, 1.1, 0.8, 0.9])
    promo = ((np.arange(T) // 5) % 4 == 0).astype(float)
    y = 100 * weekly[dow] * np.where(promo > 0, 1.3, 1.0)
    panel = _panel(np.log1p(0) + y[None, :], promo[None, :, None], ("promo",))
    model = LogLinear(ridge=1e-6, half_life=1e6).fit(panel)
    future_promo = np.array([0, 1, 0, 1, 0, 0, 0], dtype=float)
    out = model.predict(7, future_promo[None, :, None], level=[80])
    expected = 100 * weekly * np.where(future_promo > 0, 1.3, 1.0)
    np.testing.assert_allclose(np.log1p(out["mean"][0]), np.log1p(expected), atol=0.03)
    assert (out["lo-80"] <= out["mean"]).all() and (out["mean"] <= out["hi-80"]).all()


def test_loglinear_takes_calendar_countdowns_as_event_days() -> None:
    """A cal_to_ column enters as its event's days (0), cal_after_ not at all."""
    T = 140
    days = np.arange(T + 7)
    events = days[days % 9 == 4]
    to = np.array([min([e - d for e in events if e >= d] + [14]) for d in days])
    after = np.array([min([d - e for e in events if e <= d] + [14]) for d in days])
    X = np.stack([to, after], axis=-1).astype(float)[None]
    y = 100 * np.where(to == 0, 1.5, 1.0)
    names = ("cal_to_fair", "cal_after_fair")
    panel = _panel(y[None, :T], X[:, :T], names)
    model = LogLinear(ridge=1e-6, half_life=1e6).fit(panel)
    out = model.predict(7, X[:, T:])
    np.testing.assert_allclose(out["mean"][0], y[T:], rtol=0.02)


def test_loglinear_handles_a_series_without_open_days() -> None:
    """A series with fewer than two usable days gets a flat forecast, not an error."""
    y = np.full((1, 20), np.nan)
    y[0, -1] = 5.0
    out = LogLinear().fit(_panel(y)).predict(3)
    np.testing.assert_allclose(out["mean"], 5.0)


def test_gbm_beats_seasonal_naive_on_synthetic_data(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """The global model's 28-day error is well below the seasonal naive's."""
    df, _ = panel_df
    panel = to_panel(validate_df(df), closed_col="closed")
    cut = panel.n_days - 28
    head = panel.head(cut)
    X = panel.X[:, cut:]
    actual = panel.y[:, cut:]
    open_ = ~panel.closed()[:, cut:]
    gbm = GlobalGBM(num_rounds=100).fit(head).predict(28, X)["mean"]
    naive = SeasonalNaive(7).fit(head).predict(28)["mean"]
    err_gbm = np.abs(actual - gbm)[open_].sum()
    err_naive = np.abs(actual - naive)[open_].sum()
    assert err_gbm < 0.8 * err_naive


def test_gbm_is_deterministic_for_a_seed(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """Same seed, same forecast; the forward() copy forecasts from its own end."""
    df, _ = panel_df
    panel = to_panel(validate_df(df), closed_col="closed")
    head = panel.head(600)
    X = panel.X[:, 600:614]
    a = GlobalGBM(num_rounds=40, seed=5).fit(head).predict(14, X)["mean"]
    b = GlobalGBM(num_rounds=40, seed=5).fit(head).predict(14, X)["mean"]
    np.testing.assert_array_equal(a, b)
    fitted = GlobalGBM(num_rounds=40).fit(panel.head(500))
    moved = fitted.forward(head)
    assert moved.predict(14, X)["mean"].shape == (panel.n_series, 14)
    with pytest.raises(ValueError, match="same series"):
        fitted.forward(head.select([0, 1]))


def test_gbm_refuses_longer_horizons(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """A model trained for 28 days does not forecast 29."""
    df, _ = panel_df
    panel = to_panel(validate_df(df), closed_col="closed")
    model = GlobalGBM(num_rounds=10).fit(panel.head(500))
    with pytest.raises(ValueError, match=r"1\.\.28"):
        model.predict(29, np.zeros((panel.n_series, 29, len(panel.exog))))


def test_gbm_trains_on_open_days_only(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """Closed days and days without a target never become training rows."""
    df, _ = panel_df
    panel = to_panel(validate_df(df), closed_col="closed")
    i, t, a = GlobalGBM().training_rows(panel)
    assert not panel.closed()[i, t].any()
    assert not np.isnan(panel.y[i, t]).any()
    h = t - a
    assert h.min() >= 1 and h.max() <= 28


def test_lags_beyond_the_anchor_are_missing(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """lag_7 is missing for horizons above 7 and present up to 7."""
    df, _ = panel_df
    panel = to_panel(validate_df(df), closed_col="closed")
    builder = FeatureBuilder(FeatureSpec(), panel)
    day = 700 + int(np.flatnonzero(~panel.closed()[0, 693:])[0])  # day - 7 is open
    t = np.full(28, day)
    a = t - np.arange(1, 29)
    x, _ = builder.rows(np.zeros(28, dtype=np.intp), t, a)
    lag7 = x[:, builder.names.index("lag_7")]
    assert np.isnan(lag7[7:]).all()
    assert np.isfinite(lag7[:7]).all()


def test_feature_spec_is_validated() -> None:
    """A yearly lag shorter than the horizon plus a week is refused."""
    with pytest.raises(ValueError, match="seasonal_lag"):
        FeatureSpec(horizon=28, seasonal_lag=30)
    with pytest.raises(ValueError, match="calendar"):
        FeatureSpec(calendar=("dow", "moon"))


def test_level_can_leave_promotion_days_out(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """With level_exclude the scaling level ignores promotion days."""
    df, truth = panel_df
    panel = to_panel(validate_df(df), closed_col="closed")
    plain = FeatureBuilder(FeatureSpec(), panel)
    calm = FeatureBuilder(FeatureSpec(level_exclude=("promo",)), panel)
    assert "level_all" in calm.names and "level_all" not in plain.names
    lift = np.nanmean(plain.base[:, 400:] - calm.base[:, 400:])
    assert 0 < lift < np.log1p(truth.promo_uplift)
    with pytest.raises(ValueError, match="unknown columns"):
        FeatureBuilder(FeatureSpec(level_exclude=("coupon",)), panel)
