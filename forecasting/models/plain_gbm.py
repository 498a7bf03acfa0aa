"""A plain global LightGBM: the peer a user writes in a few lines.

:class:`PlainLightGBM` is the benchmark's LightGBM-alone peer, run in the same
backtest as :class:`~forecasting.models.gbm.GlobalGBM` so that the two are
scored on the same windows. It has none of GlobalGBM's machinery (no level
normalisation, no anchor draws, no holiday distances): one row per open day,
target ``log1p(y)``, and the features a typical Kaggle-style notebook uses:

* the series index (categorical), day of week, day of month, month;
* the exogenous columns on the target day;
* lags 28, 35, 42, 49, 56 and 364 days and the mean of the 28 days ending at
  lag 28.

Every lag reaches at least 28 days back, so one model forecasts all 28 days
ahead without recursion. Intervals come from conformal calibration
(``prediction_intervals``), as LightGBM has none of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from forecasting.conformal import ConformalIntervals
from forecasting.frame import Panel
from forecasting.models.base import FloatArray

__all__ = ["LAGS", "PlainLightGBM"]

#: Lags (days) of the target used as features; the shortest bounds the horizon.
LAGS: tuple[int, ...] = (28, 35, 42, 49, 56, 364)
_MEAN_WINDOW = 28


class PlainLightGBM:
    """A global LightGBM on calendar, exogenous and long-lag features.

    Parameters
    ----------
    num_rounds
        Boosting rounds.
    learning_rate, num_leaves
        LightGBM settings.
    num_threads
        LightGBM threads (1: leaves the other cores free).
    seed
        LightGBM's seed.
    alias
        Output column name.
    prediction_intervals
        Conformal calibration of the intervals.
    """

    def __init__(
        self,
        *,
        num_rounds: int = 200,
        learning_rate: float = 0.1,
        num_leaves: int = 63,
        num_threads: int = 1,
        seed: int = 0,
        alias: str = "LightGBM",
        prediction_intervals: ConformalIntervals | None = None,
    ) -> None:
        if num_rounds < 1 or num_threads < 1:
            raise ValueError("num_rounds and num_threads must be >= 1")
        self.num_rounds = num_rounds
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.num_threads = num_threads
        self.seed = seed
        self.alias = alias
        self.prediction_intervals = prediction_intervals
        # The longest regular lag plus the mean window must reach history.
        self.min_history = max(LAGS[:-1]) + _MEAN_WINDOW
        self._booster: Any = None
        self._panel: Panel | None = None

    def new(self) -> PlainLightGBM:
        """An unfitted copy."""
        return PlainLightGBM(
            num_rounds=self.num_rounds,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            num_threads=self.num_threads,
            seed=self.seed,
            alias=self.alias,
            prediction_intervals=self.prediction_intervals,
        )

    def feature_names(self, exog: Sequence[str]) -> list[str]:
        """Column names of the feature matrix."""
        return [
            "series",
            "day_of_week",
            "day_of_month",
            "month",
            *exog,
            *(f"lag_{lag}" for lag in LAGS),
            f"mean_{LAGS[0]}_{LAGS[0] + _MEAN_WINDOW - 1}",
        ]

    def _features(
        self,
        y: FloatArray,
        X: FloatArray,
        ds: np.ndarray,
        i: np.ndarray,
        t: np.ndarray,
    ) -> FloatArray:
        """Feature rows of series ``i`` on day ``t`` (``y`` NaN where unknown)."""
        days = ds[t].astype("datetime64[D]")
        months = days.astype("datetime64[M]")
        calendar = np.column_stack(
            [
                (days.astype(np.int64) + 3) % 7,  # 1970-01-01 was a Thursday
                (days - months).astype(np.int64) + 1,
                months.astype(np.int64) % 12 + 1,
            ]
        ).astype(np.float64)
        lags = []
        for lag in LAGS:
            back = t - lag
            value = np.where(back >= 0, y[i, np.maximum(back, 0)], np.nan)
            lags.append(value)
        # Mean of the 28 days ending at the shortest lag, from cumulative sums.
        filled = np.nan_to_num(y, nan=0.0)
        known = (~np.isnan(y)).astype(np.float64)
        csum = np.concatenate([np.zeros((y.shape[0], 1)), filled.cumsum(axis=1)], 1)
        ccount = np.concatenate([np.zeros((y.shape[0], 1)), known.cumsum(axis=1)], 1)
        hi = np.clip(t - LAGS[0] + 1, 0, None)
        lo = np.clip(t - LAGS[0] + 1 - _MEAN_WINDOW, 0, None)
        count = ccount[i, hi] - ccount[i, lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, (csum[i, hi] - csum[i, lo]) / count, np.nan)
        return np.column_stack(
            [i.astype(np.float64), calendar, X[i, t, :], *lags, mean]
        ).astype(np.float64)

    def fit(self, panel: Panel) -> PlainLightGBM:
        """Train on every open day that has a 28-day lag."""
        import lightgbm as lgb

        observed = ~np.isnan(panel.y) & ~panel.closed()
        day = np.arange(panel.n_days)
        usable = observed & (day[None, :] >= (panel.start + LAGS[0])[:, None])
        i, t = np.nonzero(usable)
        if len(i) < 100:
            raise ValueError(f"{self.alias}: only {len(i)} training rows")
        features = self._features(panel.y, panel.X, panel.ds, i, t)
        data = lgb.Dataset(
            features,
            np.log1p(panel.y[i, t]),
            feature_name=self.feature_names(panel.exog),
            categorical_feature=["series"],
            params={"verbose": -1},
        )
        params = {
            "objective": "l2",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "verbose": -1,
        }
        self._booster = lgb.train(params, data, self.num_rounds)
        self._panel = panel
        return self

    def forward(self, panel: Panel) -> PlainLightGBM:
        """The same booster, forecasting from the end of ``panel``."""
        if self._booster is None or self._panel is None:
            raise RuntimeError(f"{self.alias}: call fit before forward")
        if panel.ids != self._panel.ids or panel.exog != self._panel.exog:
            raise ValueError(f"{self.alias}: forward needs the same series and columns")
        moved = self.new()
        moved._booster = self._booster
        moved._panel = panel
        return moved

    def predict(
        self, h: int, X: FloatArray | None = None, level: Sequence[int] = ()
    ) -> dict[str, FloatArray]:
        """Forecast the ``h`` days after the cutoff (no native intervals)."""
        del level
        if self._booster is None or self._panel is None:
            raise RuntimeError(f"{self.alias}: call fit before predict")
        if not 1 <= h <= LAGS[0]:
            raise ValueError(f"{self.alias}: h must be within 1..{LAGS[0]}")
        panel = self._panel
        n, k = panel.n_series, len(panel.exog)
        future = np.zeros((n, h, k)) if X is None else X
        y = np.concatenate([panel.y, np.full((n, h), np.nan)], axis=1)
        Xs = np.concatenate([panel.X, future], axis=1)
        ds = np.concatenate(
            [panel.ds, panel.last_day + np.arange(1, h + 1).astype("timedelta64[D]")]
        )
        i = np.repeat(np.arange(n), h)
        t = np.tile(np.arange(panel.n_days, panel.n_days + h), n)
        z = self._booster.predict(
            self._features(y, Xs, ds, i, t), num_threads=self.num_threads
        )
        mean = np.maximum(np.expm1(np.asarray(z, dtype=np.float64)), 0.0)
        return {"mean": mean.reshape(n, h)}
