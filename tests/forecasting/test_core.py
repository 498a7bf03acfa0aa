"""The Forecaster: output contract, cross-validation, fallback, leakage."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting.conformal import ConformalIntervals
from forecasting.core import Fallback, Forecaster
from forecasting.features import FeatureBuilder, FeatureSpec
from forecasting.frame import FrameError, to_panel, validate_df
from forecasting.models import GlobalGBM, LogLinear, SeasonalNaive
from forecasting.synthetic import SyntheticTruth
from tests.forecasting.conftest import ConstantModel

H = 14


def _split(df: pd.DataFrame, days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History without the last ``days`` days, and those days' exogenous rows."""
    cut = df["ds"].max() - pd.Timedelta(days=days)
    return df[df["ds"] <= cut], df[df["ds"] > cut].drop(columns="y")


def _gbm(**kwargs: object) -> GlobalGBM:
    params = {"learning_rate": 0.1, "num_leaves": 15}
    return GlobalGBM(horizon=28, num_rounds=60, params=params, **kwargs)  # type: ignore[arg-type]


def test_output_columns_follow_the_contract(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """predict gives unique_id, ds, then <alias>, -lo-<level>, -hi-<level> per model."""
    df, _ = panel_df
    history, future = _split(df, H)
    fc = Forecaster([SeasonalNaive(7), ConstantModel()], closed_col="closed")
    out = fc.fit(history).predict(H, future, level=[80, 95])
    assert list(out.columns) == [
        "unique_id",
        "ds",
        "SeasonalNaive",
        "SeasonalNaive-lo-95",
        "SeasonalNaive-lo-80",
        "SeasonalNaive-hi-80",
        "SeasonalNaive-hi-95",
        "SeasonalNaive-model",
        "Constant",
        "Constant-lo-95",
        "Constant-lo-80",
        "Constant-hi-80",
        "Constant-hi-95",
        "Constant-model",
    ]
    assert set(out["Constant-model"]) == {"Constant"} and fc.fallbacks_ == ()
    assert len(out) == 8 * H
    first = history["ds"].max() + pd.Timedelta(days=1)
    assert out["ds"].min() == first
    assert out.groupby("unique_id")["ds"].nunique().eq(H).all()


def test_closed_days_are_forecast_as_zero(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """Days flagged closed in X_df get a forecast and an interval of exactly 0."""
    df, _ = panel_df
    history, future = _split(df, H)
    future = future.copy()
    future.loc[future["ds"] == future["ds"].min() + pd.Timedelta(days=3), "closed"] = (
        1.0
    )
    fc = Forecaster([ConstantModel()], closed_col="closed")
    out = fc.fit(history).predict(H, future, level=[80])
    closed = out.merge(future, on=["unique_id", "ds"])["closed"].to_numpy() > 0.5
    assert closed.any()
    for column in ("Constant", "Constant-lo-80", "Constant-hi-80"):
        assert (out.loc[closed, column] == 0.0).all()
    assert (out.loc[~closed, "Constant"] > 0).any()


def test_cross_validation_has_cutoffs_and_actuals(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """cross_validation adds cutoff and y; windows end on the last day, step apart."""
    df, _ = panel_df
    fc = Forecaster([SeasonalNaive(7)], closed_col="closed")
    cv = fc.cross_validation(df, H, n_windows=3, step_size=7)
    assert list(cv.columns[:4]) == ["unique_id", "ds", "cutoff", "y"]
    cutoffs = sorted(cv["cutoff"].unique())
    last = df["ds"].max()
    assert pd.Timestamp(cutoffs[-1]) == last - pd.Timedelta(days=H)
    assert np.diff(np.array(cutoffs)).astype("timedelta64[D]").astype(int).tolist() == [
        7,
        7,
    ]
    merged = cv.merge(df, on=["unique_id", "ds"], suffixes=("", "_true"))
    np.testing.assert_array_equal(merged["y"], merged["y_true"])
    assert (cv["ds"] > cv["cutoff"]).all()
    assert (cv["ds"] <= cv["cutoff"] + pd.Timedelta(days=H)).all()


def test_explicit_cutoffs_must_leave_room(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """A cutoff too close to the end for h days of actuals is refused."""
    df, _ = panel_df
    fc = Forecaster([SeasonalNaive(7)])
    late = df["ds"].max() - pd.Timedelta(days=3)
    with pytest.raises(FrameError, match="leaves no room for 14 days"):
        fc.cross_validation(df, H, cutoffs=[late])


def test_leakage_future_changes_do_not_move_past_forecasts(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """Changing every y after the cutoff and the exogenous values after the horizon
    leaves the cross-validated forecast of that cutoff unchanged."""
    df, _ = panel_df
    cutoff = df["ds"].max() - pd.Timedelta(days=60)
    conformal = ConformalIntervals(h=H, n_windows=2)
    models = [_gbm(prediction_intervals=conformal)]

    def run(frame: pd.DataFrame) -> pd.DataFrame:
        fc = Forecaster(models, fallback_model=LogLinear(), closed_col="closed")
        return fc.cross_validation(frame, H, cutoffs=[cutoff], level=[80])

    before = run(df)
    shifted = df.copy()
    after_cutoff = shifted["ds"] > cutoff
    rng = np.random.default_rng(0)
    shifted.loc[after_cutoff, "y"] = rng.integers(0, 5000, after_cutoff.sum())
    after_horizon = shifted["ds"] > cutoff + pd.Timedelta(days=H)
    shifted.loc[after_horizon, "promo"] = 1.0 - shifted.loc[after_horizon, "promo"]
    shifted.loc[after_horizon, "holiday"] = 1.0
    after = run(shifted)
    pd.testing.assert_frame_equal(
        before.drop(columns="y"), after.drop(columns="y"), check_exact=True
    )
    assert not before["y"].equals(after["y"])


def test_leakage_features_read_nothing_after_the_anchor(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """Feature rows of anchor a are identical whatever the targets after a are."""
    df, _ = panel_df
    panel = to_panel(validate_df(df), closed_col="closed")
    spec = FeatureSpec(horizon=28)
    rng = np.random.default_rng(1)
    n = 2_000
    i = rng.integers(0, panel.n_series, n)
    t = rng.integers(400, panel.n_days, n)
    a = t - rng.integers(1, 29, n)
    names = FeatureBuilder(spec, panel).names
    for anchor in (450, 600, 700):
        keep = a <= anchor
        rows_i, rows_t, rows_a = i[keep], t[keep], a[keep]
        base_x, base_level = FeatureBuilder(spec, panel).rows(rows_i, rows_t, rows_a)
        y = panel.y.copy()
        y[:, anchor + 1 :] = rng.integers(0, 9_999, y[:, anchor + 1 :].shape)
        noisy = type(panel)(
            ids=panel.ids,
            ds=panel.ds,
            y=y,
            X=panel.X,
            exog=panel.exog,
            closed_col=panel.closed_col,
        )
        x, level = FeatureBuilder(spec, noisy).rows(rows_i, rows_t, rows_a)
        np.testing.assert_array_equal(level, base_level)
        np.testing.assert_array_equal(x, base_x, err_msg=f"names: {names}")


def test_future_promotions_reach_the_forecast(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """The global model uses the promotion values of the horizon: on beats off."""
    df, truth = panel_df
    history, future = _split(df, H)
    fc = Forecaster([_gbm(num_threads=1)], closed_col="closed").fit(history)
    on = fc.predict(H, future.assign(promo=1.0))
    off = fc.predict(H, future.assign(promo=0.0))
    open_ = future["closed"].to_numpy() < 0.5
    ratio = on["GlobalGBM"][open_].sum() / off["GlobalGBM"][open_].sum()
    assert 1.0 + truth.promo_uplift / 2 < ratio < 1.0 + 2 * truth.promo_uplift


def test_short_series_go_to_the_fallback(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """A series with less history than a model needs is forecast by the fallback."""
    df, _ = panel_df
    short = df[
        (df["unique_id"] != "s01")
        | (df["ds"] >= df["ds"].max() - pd.Timedelta(days=99))
    ]
    history, future = _split(short, H)
    fc = Forecaster(
        [ConstantModel(min_history=200)],
        fallback_model=LogLinear(),
        closed_col="closed",
    )
    out = fc.fit(history).predict(H, future)
    assert fc.fallback_ids_ == {"Constant": ["s01"]}
    days = int(history["unique_id"].eq("s01").sum())
    assert fc.fallbacks_ == (
        Fallback(
            "Constant",
            "s01",
            "LogLinear",
            f"{days} days of history, Constant needs 200",
        ),
    )
    used = out.groupby("unique_id")["Constant-model"].unique().map(tuple)
    assert used["s01"] == ("LogLinear",) and used["s00"] == ("Constant",)
    direct = LogLinear().fit(
        to_panel(
            validate_df(history[history["unique_id"] == "s01"]), closed_col="closed"
        )
    )
    X = future[future["unique_id"] == "s01"][["promo", "holiday", "closed"]].to_numpy()
    expected = direct.predict(H, X[None, :, :])["mean"][0]
    expected[X[:, 2] > 0.5] = 0.0
    np.testing.assert_allclose(out.loc[out["unique_id"] == "s01", "Constant"], expected)


def test_too_short_without_fallback_is_an_error(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """Without a fallback, a series shorter than every model's need is named."""
    df, _ = panel_df
    short = df[
        (df["unique_id"] != "s02") | (df["ds"] >= df["ds"].max() - pd.Timedelta(days=9))
    ]
    fc = Forecaster([ConstantModel(min_history=50)])
    with pytest.raises(FrameError, match="series 's02' has 10 days of history"):
        fc.fit(short)


def test_failing_model_falls_back_with_a_warning(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """A model that fails to fit is replaced by the fallback in its own column."""
    df, _ = panel_df
    history, future = _split(df, H)
    fc = Forecaster([ConstantModel(fail_fit=True)], fallback_model=LogLinear())
    with pytest.warns(RuntimeWarning, match="'Constant' failed to fit"):
        out = fc.fit(history).predict(H, future)
    reference = Forecaster([LogLinear()]).fit(history).predict(H, future)
    np.testing.assert_allclose(out["Constant"], reference["LogLinear"])
    assert set(out["Constant-model"]) == {"LogLinear"}
    assert {f.reason for f in fc.fallbacks_} == {
        "Constant failed to fit: RuntimeError: cannot fit"
    }
    assert len(fc.fallbacks_) == 8


def test_a_main_model_that_cannot_fit_is_reported_by_name(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """Two 60-day series are too few rows for the GBM: the output says LogLinear."""
    df, _ = panel_df
    df = df[df["unique_id"].isin(["s00", "s01"])]
    df = df[df["ds"] > df["ds"].max() - pd.Timedelta(days=60)]
    history, future = _split(df, 7)
    gbm = GlobalGBM(horizon=7, min_history=30, num_rounds=5)
    fc = Forecaster([gbm], fallback_model=LogLinear(), closed_col="closed")
    with pytest.warns(RuntimeWarning, match="'GlobalGBM' failed to fit"):
        out = fc.fit(history).predict(7, future)
    assert set(out["GlobalGBM-model"]) == {"LogLinear"}
    assert [(f.model, f.unique_id, f.used) for f in fc.fallbacks_] == [
        ("GlobalGBM", "s00", "LogLinear"),
        ("GlobalGBM", "s01", "LogLinear"),
    ]
    assert "training rows" in fc.fallbacks_[0].reason
    assert fc.fallbacks_[0].reason.startswith("GlobalGBM failed to fit: ValueError")
    with pytest.warns(RuntimeWarning, match="'GlobalGBM' failed to fit"):
        cv = fc.cross_validation(df, 7)
    assert set(cv["GlobalGBM-model"]) == {"LogLinear"}


def test_intervals_calibrated_on_the_fallback_are_reported(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """Long enough now, too short at the calibration fits: said, not hidden."""
    df, _ = panel_df
    history, future = _split(df, H)
    days = history["ds"].nunique()
    conformal = ConformalIntervals(h=7, n_windows=2)
    model = ConstantModel(min_history=days - 3, prediction_intervals=conformal)
    fc = Forecaster([model], fallback_model=LogLinear(prediction_intervals=conformal))
    out = fc.fit(history).predict(7, future, level=[80])
    assert set(out["Constant-model"]) == {"Constant"}
    assert len(fc.fallbacks_) == 8
    first = fc.fallbacks_[0]
    assert (first.model, first.used) == ("Constant", "LogLinear")
    assert first.reason.startswith("intervals: the calibration fit of")
    assert f"Constant needs {days - 3}" in first.reason


def test_a_model_that_fails_to_predict_is_reported(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """A failure at predict time reaches the output column and fallbacks_."""
    df, _ = panel_df
    history, future = _split(df, H)
    fc = Forecaster([ConstantModel(fail_predict=True)], fallback_model=LogLinear())
    fc.fit(history)
    assert fc.fallbacks_ == ()
    with pytest.warns(RuntimeWarning, match="failed to predict"):
        out = fc.predict(H, future)
    assert set(out["Constant-model"]) == {"LogLinear"}
    assert {f.reason for f in fc.fallbacks_} == {
        "Constant failed to predict: RuntimeError: cannot predict"
    }


def test_failing_model_without_fallback_raises(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """Without a fallback the model's error surfaces."""
    df, _ = panel_df
    with pytest.raises(RuntimeError, match="cannot fit"):
        Forecaster([ConstantModel(fail_fit=True)]).fit(df)


def test_aliases_must_be_unique() -> None:
    """Two models with one alias are refused."""
    with pytest.raises(ValueError, match="'SeasonalNaive' appears twice"):
        Forecaster([SeasonalNaive(7), SeasonalNaive(14)])


def test_only_daily_frequency() -> None:
    """Other frequencies are refused."""
    with pytest.raises(ValueError, match="only daily"):
        Forecaster([SeasonalNaive(7)], freq="W")


def test_levels_need_intervals(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """Asking a model without intervals for a level says how to get them."""
    df, _ = panel_df
    history, future = _split(df, H)
    fc = Forecaster([_gbm()], closed_col="closed").fit(history)
    with pytest.raises(ValueError, match="prediction_intervals=ConformalIntervals"):
        fc.predict(H, future, level=[80])


@pytest.mark.parametrize("level", [0, 100, 80.5])
def test_bad_levels_are_refused(
    panel_df: tuple[pd.DataFrame, SyntheticTruth], level: float
) -> None:
    """Levels must be whole percentages strictly between 0 and 100."""
    df, _ = panel_df
    history, future = _split(df, H)
    fc = Forecaster([SeasonalNaive(7)]).fit(history)
    with pytest.raises(ValueError, match="level"):
        fc.predict(H, future, level=[level])


def test_predict_needs_fit() -> None:
    """predict before fit is an error."""
    with pytest.raises(RuntimeError, match="fit"):
        Forecaster([SeasonalNaive(7)]).predict(7)


def test_horizon_beyond_the_calibration_is_refused(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """A conformal model cannot forecast past its calibrated horizon."""
    df, _ = panel_df
    history, future = _split(df, 21)
    conformal = ConformalIntervals(h=H, n_windows=2)
    fc = Forecaster([SeasonalNaive(7, prediction_intervals=conformal)]).fit(history)
    with pytest.raises(ValueError, match="exceeds the calibrated horizon 14"):
        fc.predict(21, future, level=[80])


def test_calibration_windows_share_fits(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """Cutoffs h apart reuse each other's fits as calibration windows."""
    df, _ = panel_df
    conformal = ConformalIntervals(h=H, n_windows=3)
    fits: list[int] = []

    class Counting(ConstantModel):
        def new(self) -> Counting:
            return Counting(prediction_intervals=self.prediction_intervals)

        def fit(self, panel: object) -> Counting:
            fits.append(1)
            return super().fit(panel)  # type: ignore[arg-type,return-value]

    fc = Forecaster([Counting(prediction_intervals=conformal)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cv = fc.cross_validation(df, H, n_windows=3, level=[80])
    assert cv["cutoff"].nunique() == 3
    # 3 test cutoffs + 3 calibration windows before the first; the rest are shared
    assert len(fits) == 6


def test_horizon_beyond_the_model_is_refused(
    panel_df: tuple[pd.DataFrame, SyntheticTruth],
) -> None:
    """Asking the 28-day global model for 35 days is an error, not a fallback."""
    df, _ = panel_df
    history, future = _split(df, 35)
    fc = Forecaster([_gbm()], fallback_model=LogLinear(), closed_col="closed")
    fc.fit(history)
    with pytest.raises(ValueError, match="exceeds the horizon 28"):
        fc.predict(35, future)
