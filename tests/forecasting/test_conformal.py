"""Conformal intervals: the quantile rule and calibrated coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.conformal import (
    ConformalIntervals,
    check_levels,
    conformal_bounds,
    conformity_scores,
)
from forecasting.core import Forecaster, default_calibration
from forecasting.metrics import coverage
from forecasting.models import GlobalGBM, LogLinear, SeasonalNaive
from forecasting.synthetic import generate_panel


def test_bounds_use_the_split_conformal_rank() -> None:
    """With scores 1..9 the signed 80 % bounds are the 1st and 9th smallest (n = 9)."""
    scores = np.arange(1.0, 10.0)
    lo, hi = conformal_bounds(
        np.array([100.0]), scores, 80, "absolute", symmetric=False
    )
    assert lo[0] == pytest.approx(101.0)
    assert hi[0] == pytest.approx(109.0)


def test_symmetric_bounds_use_absolute_scores() -> None:
    """Symmetric 80 % bounds are the forecast +- the ceil(0.8 (n + 1))-th |score|."""
    scores = np.array([-5.0, -4.0, -3.0, -2.0, -1.0, 1.0, 2.0, 3.0, 6.0])
    lo, hi = conformal_bounds(np.array([100.0]), scores, 80, "absolute")
    assert hi[0] - 100.0 == pytest.approx(5.0)  # rank ceil(0.8 * 10) = 8 of 9
    assert 100.0 - lo[0] == pytest.approx(5.0)


def test_log_scores_give_multiplicative_intervals() -> None:
    """Log scores scale the interval with the forecast's size."""
    scores = np.log([0.8, 0.9, 1.0, 1.1, 1.25] * 4)
    lo_small, hi_small = conformal_bounds(np.array([9.0]), scores, 60, "log")
    lo_big, hi_big = conformal_bounds(np.array([999.0]), scores, 60, "log")
    assert (hi_big - lo_big)[0] > 50 * (hi_small - lo_small)[0]
    assert lo_big[0] < 999.0 < hi_big[0]


def test_scores_skip_masked_and_missing_days() -> None:
    """Closed (masked) days and missing actuals do not enter the scores."""
    y = np.array([[10.0, np.nan, 5.0]])
    yhat = np.array([[8.0, 3.0, 5.0]])
    mask = np.array([[True, True, False]])
    np.testing.assert_allclose(conformity_scores(y, yhat, mask, "absolute"), [2.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_windows": 1}, "n_windows"),
        ({"h": 0}, "h must"),
        ({"method": "x"}, "method"),
        ({"by_month": True, "n_windows": 4}, "a year of calibration"),
        ({"recent_windows": 9, "n_windows": 8}, "recent_windows"),
        ({"month_scale": "weekly"}, "month_scale"),
    ],
)
def test_settings_are_validated(kwargs: dict[str, object], match: str) -> None:
    """ConformalIntervals refuses fewer than 2 windows, h < 1 and unknown methods."""
    with pytest.raises(ValueError, match=match):
        ConformalIntervals(**kwargs)  # type: ignore[arg-type]


def test_levels_are_sorted_and_deduplicated() -> None:
    """check_levels returns sorted unique whole percentages."""
    assert check_levels([95, 80, 80.0]) == (80, 95)


@pytest.fixture(scope="module")
def coverage_run() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cross-validated 80 % intervals of two models on a stationary synthetic panel."""
    df, _ = generate_panel(n_series=24, n_days=760, seed=11)
    conformal = ConformalIntervals(h=28, n_windows=4)
    models = [
        SeasonalNaive(7, prediction_intervals=conformal),
        GlobalGBM(
            num_rounds=80,
            params={"learning_rate": 0.1, "num_leaves": 15},
            prediction_intervals=conformal,
        ),
    ]
    fc = Forecaster(
        models,
        fallback_model=LogLinear(prediction_intervals=conformal),
        closed_col="closed",
    )
    cv = fc.cross_validation(df, 28, n_windows=4, level=[80])
    return cv, df


@pytest.mark.parametrize("alias", ["SeasonalNaive", "GlobalGBM"])
def test_interval_coverage_is_calibrated(
    coverage_run: tuple[pd.DataFrame, pd.DataFrame], alias: str
) -> None:
    """On synthetic data 80 % conformal intervals cover 75-85 % of open days."""
    cv, df = coverage_run
    open_ = cv.merge(df, on=["unique_id", "ds"])["closed"].to_numpy() < 0.5
    share = coverage(cv["y"], cv[f"{alias}-lo-80"], cv[f"{alias}-hi-80"], open_)
    assert 0.75 <= share <= 0.85


def test_global_model_intervals_are_tighter_than_naive(
    coverage_run: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """The better model earns narrower calibrated intervals."""
    cv, _ = coverage_run

    def width(alias: str) -> float:
        return float((cv[f"{alias}-hi-80"] - cv[f"{alias}-lo-80"]).mean())

    assert width("GlobalGBM") < 0.8 * width("SeasonalNaive")


def test_refit_false_fits_once_per_calibration(
    coverage_run: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """refit=False moves one earlier fit forward and still gives usable intervals."""
    _, df = coverage_run
    conformal = ConformalIntervals(h=28, n_windows=4, refit=False)
    fc = Forecaster(
        [SeasonalNaive(7, prediction_intervals=conformal)], closed_col="closed"
    )
    history = df[df["ds"] <= df["ds"].max() - pd.Timedelta(days=28)]
    future = df[df["ds"] > df["ds"].max() - pd.Timedelta(days=28)]
    out = fc.fit(history).predict(28, future.drop(columns="y"), level=[80])
    merged = out.merge(future, on=["unique_id", "ds"])
    share = coverage(
        merged["y"],
        merged["SeasonalNaive-lo-80"],
        merged["SeasonalNaive-hi-80"],
        merged["closed"] < 0.5,
    )
    assert 0.65 <= share <= 0.95


def _stormy_decembers(seed: int = 0) -> pd.DataFrame:
    """Three years of 30 series around 100 a day: log-noise 0.05, but 0.25
    in every December."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2022-01-01", "2024-12-31", freq="D")
    sd = np.where(ds.month == 12, 0.25, 0.05)
    rows = [
        pd.DataFrame(
            {"unique_id": f"s{i}", "ds": ds, "y": 100 * np.exp(rng.normal(0, sd))}
        )
        for i in range(30)
    ]
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("by_month", [False, True])
def test_by_month_widens_the_month_that_was_wider_a_year_ago(by_month: bool) -> None:
    """A December after a calm autumn: pooled scores under-cover it; scaled
    by last December's errors it holds its level, and November stays narrow."""
    df = _stormy_decembers()
    spec = ConformalIntervals(
        h=28, n_windows=14, refit=False, by_month=by_month, recent_windows=4
    )
    fc = Forecaster([SeasonalNaive(1, prediction_intervals=spec)])
    cv = fc.cross_validation(
        df,
        28,
        cutoffs=[pd.Timestamp("2024-11-30"), pd.Timestamp("2024-10-31")],
        level=[80],
    )
    december = cv["ds"].dt.month == 12
    lo, hi = cv["SeasonalNaive-lo-80"], cv["SeasonalNaive-hi-80"]
    dec = coverage(cv.loc[december, "y"], lo[december], hi[december])
    nov = coverage(cv.loc[~december, "y"], lo[~december], hi[~december])
    if by_month:
        assert 0.72 <= dec <= 0.9
        assert 0.72 <= nov <= 0.9
    else:
        assert dec < 0.5


def test_naive_month_scale_needs_only_the_recent_windows() -> None:
    """The weekly naive covers the year, so the model needs only its level's
    windows: 4 windows of 28 days are accepted with ``month_scale='naive'``."""
    spec = ConformalIntervals(h=28, n_windows=4, by_month=True, month_scale="naive")
    assert spec.n_windows * spec.h < 365


@pytest.mark.parametrize("month_scale", ["model", "naive"])
def test_stormy_december_is_widened_by_either_month_scale(month_scale: str) -> None:
    """Scaled by last December's errors, the model's own or the weekly
    naive's, a stormy December after a calm autumn holds its level and
    November stays narrow; the naive needs only the 4 recent model windows."""
    df = _stormy_decembers(seed=1)
    windows = 14 if month_scale == "model" else 4
    spec = ConformalIntervals(
        h=28,
        n_windows=windows,
        refit=False,
        by_month=True,
        recent_windows=4,
        month_scale=month_scale,  # type: ignore[arg-type]
    )
    fc = Forecaster([SeasonalNaive(1, prediction_intervals=spec)])
    cv = fc.cross_validation(
        df,
        28,
        cutoffs=[pd.Timestamp("2024-11-30"), pd.Timestamp("2024-10-31")],
        level=[80],
    )
    december = cv["ds"].dt.month == 12
    lo, hi = cv["SeasonalNaive-lo-80"], cv["SeasonalNaive-hi-80"]
    dec = coverage(cv.loc[december, "y"], lo[december], hi[december])
    nov = coverage(cv.loc[~december, "y"], lo[~december], hi[~december])
    # (unscaled, December is covered below 0.5: the test above)
    assert 0.72 <= dec <= 0.95
    assert 0.72 <= nov <= 0.9
    width = (hi - lo) / cv["SeasonalNaive"]
    assert width[december].median() > 3 * width[~december].median()


@pytest.mark.parametrize(
    ("h", "history_days", "by_month", "windows"),
    [
        (28, 400 + 392, True, 14),
        (28, 400 + 391, False, 8),
        (7, 900, True, 56),
        (28, 460, False, 2),
    ],
)
def test_default_calibration_follows_the_month_with_a_year_to_spare(
    h: int, history_days: int, by_month: bool, windows: int
) -> None:
    """A year of windows after the model's own year: by month (the weekly
    naive's months), the last 112 days setting the width; otherwise 2 to 8
    pooled windows."""
    spec = default_calibration(h, history_days)
    assert spec.by_month is by_month
    assert spec.n_windows == windows
    if by_month:
        assert spec.month_scale == "naive"
        assert spec.recent_windows is not None
        assert spec.recent_windows * h >= 112 > (spec.recent_windows - 1) * h
