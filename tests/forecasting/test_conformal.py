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
from forecasting.core import Forecaster
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
