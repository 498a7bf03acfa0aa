"""The main model: one gradient-boosted model (LightGBM) across all series.

:class:`GlobalGBM` learns ``log1p(y[t]) - level`` from the features of
:mod:`forecasting.features` on every open day of every series, each training
row seen from one anchor ``h`` days earlier, with ``h`` drawn uniformly from
``1..horizon`` (``repeats`` draws per row). Closed days are left out of
training; the forecaster sets them to 0. Its intervals come from conformal
calibration (``prediction_intervals``), since LightGBM has no native ones.

LightGBM runs single-threaded by default (``num_threads=1``): it is fast on
panels of this size and leaves the other cores to other work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from forecasting.conformal import ConformalIntervals
from forecasting.features import FeatureBuilder, FeatureSpec, check_exog
from forecasting.frame import Panel
from forecasting.models.base import FloatArray

__all__ = ["DEFAULT_PARAMS", "GlobalGBM"]

#: LightGBM parameters used unless overridden (``num_threads`` and ``seed``
#: come from the constructor).
DEFAULT_PARAMS: Mapping[str, Any] = {
    "objective": "l2",
    "learning_rate": 0.13,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "lambda_l2": 1.0,
    "max_bin": 63,
    "bin_construct_sample_cnt": 20_000,
    "verbose": -1,
}


class GlobalGBM:
    """A global LightGBM model, direct by horizon.

    Parameters
    ----------
    horizon
        Longest horizon it can forecast (days).
    features
        Feature settings (default :class:`~forecasting.features.FeatureSpec`
        with this ``horizon``).
    params
        LightGBM parameters overriding :data:`DEFAULT_PARAMS`.
    num_rounds
        Boosting rounds.
    num_threads
        LightGBM threads (1 by default).
    repeats
        Anchors drawn per training day.
    min_train_days
        Days a series needs before its first training row.
    min_history
        Series with less history go to the forecaster's fallback (364: the
        model relies on the same day last year).
    seed
        Seed of the anchor draws and of LightGBM's bagging.
    alias
        Output column name.
    prediction_intervals
        Conformal calibration of the intervals.
    """

    def __init__(
        self,
        *,
        horizon: int = 28,
        features: FeatureSpec | None = None,
        params: Mapping[str, Any] | None = None,
        num_rounds: int = 110,
        num_threads: int = 1,
        repeats: int = 1,
        min_train_days: int = 28,
        min_history: int = 364,
        seed: int = 0,
        alias: str = "GlobalGBM",
        prediction_intervals: ConformalIntervals | None = None,
    ) -> None:
        if num_rounds < 1 or num_threads < 1 or repeats < 1:
            raise ValueError("num_rounds, num_threads and repeats must be >= 1")
        self.horizon = horizon
        self.features = features or FeatureSpec(horizon=horizon)
        if self.features.horizon != horizon:
            raise ValueError(
                f"features.horizon {self.features.horizon} != horizon {horizon}"
            )
        self.params = dict(params or {})
        self.num_rounds = num_rounds
        self.num_threads = num_threads
        self.repeats = repeats
        self.min_train_days = min_train_days
        self.min_history = min_history
        self.seed = seed
        self.alias = alias
        self.prediction_intervals = prediction_intervals
        self._booster: Any = None
        self._panel: Panel | None = None
        self.feature_names: list[str] = []

    def new(self) -> GlobalGBM:
        """An unfitted copy."""
        return GlobalGBM(
            horizon=self.horizon,
            features=self.features,
            params=self.params,
            num_rounds=self.num_rounds,
            num_threads=self.num_threads,
            repeats=self.repeats,
            min_train_days=self.min_train_days,
            min_history=self.min_history,
            seed=self.seed,
            alias=self.alias,
            prediction_intervals=self.prediction_intervals,
        )

    def lgb_params(self) -> dict[str, Any]:
        """The LightGBM parameters of a fit."""
        return {
            **DEFAULT_PARAMS,
            **self.params,
            "num_threads": self.num_threads,
            "seed": self.seed,
        }

    def check_exog(self, exog: Sequence[str]) -> None:
        """Refuse exogenous columns that collide with the model's features.

        Raises
        ------
        FrameError
            See :func:`forecasting.features.check_exog`.
        """
        check_exog(self.features, exog)

    def training_rows(self, panel: Panel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Series, target day and anchor of every training row."""
        rng = np.random.default_rng(self.seed)
        T = panel.n_days
        observed = ~np.isnan(panel.y) & ~panel.closed()
        first = panel.start + self.min_train_days
        day = np.arange(T)
        usable = observed & (day[None, :] >= first[:, None])
        i, t = np.nonzero(usable)
        i = np.tile(i, self.repeats)
        t = np.tile(t, self.repeats)
        h = rng.integers(1, self.horizon + 1, size=len(t))
        a = t - h
        keep = a >= panel.start[i]
        return i[keep], t[keep], a[keep]

    def fit(self, panel: Panel) -> GlobalGBM:
        """Train on every open day of every series."""
        import lightgbm as lgb

        builder = FeatureBuilder(self.features, panel)
        i, t, a = self.training_rows(panel)
        X, level = builder.rows(i, t, a)
        target = np.log1p(panel.y[i, t]) - level
        keep = ~np.isnan(level)
        if keep.sum() < 100:
            raise ValueError(
                f"{self.alias}: only {int(keep.sum())} training rows; "
                "give longer series or use the fallback"
            )
        data = lgb.Dataset(
            X[keep],
            target[keep],
            feature_name=builder.names,
            categorical_feature=["series"],
            free_raw_data=True,
            params={"verbose": -1},
        )
        self._booster = lgb.train(
            self.lgb_params(), data, self.num_rounds, keep_training_booster=True
        )
        self._panel = panel
        self.feature_names = builder.names
        return self

    def forward(self, panel: Panel) -> GlobalGBM:
        """The same booster, forecasting from the end of ``panel``.

        ``panel`` must hold the fitted series in the same order (their
        index is a feature).
        """
        if self._booster is None or self._panel is None:
            raise RuntimeError(f"{self.alias}: call fit before forward")
        if panel.ids != self._panel.ids or panel.exog != self._panel.exog:
            raise ValueError(f"{self.alias}: forward needs the same series and columns")
        moved = self.new()
        moved._booster = self._booster
        moved._panel = panel
        moved.feature_names = self.feature_names
        return moved

    def predict(
        self, h: int, X: FloatArray | None = None, level: Sequence[int] = ()
    ) -> dict[str, FloatArray]:
        """Forecast the ``h`` days after the cutoff (no native intervals)."""
        del level
        if self._booster is None or self._panel is None:
            raise RuntimeError(f"{self.alias}: call fit before predict")
        if not 1 <= h <= self.horizon:
            raise ValueError(f"{self.alias}: h must be within 1..{self.horizon}")
        panel = self._panel
        builder = FeatureBuilder(self.features, panel, X)
        n = panel.n_series
        cutoff = panel.n_days - 1
        i = np.repeat(np.arange(n), h)
        t = np.tile(np.arange(cutoff + 1, cutoff + h + 1), n)
        a = np.full_like(t, cutoff)
        features, base = builder.rows(i, t, a)
        z = self._booster.predict(features, num_threads=self.num_threads)
        mean = np.expm1(np.asarray(z, dtype=np.float64) + base)
        mean = np.where(np.isnan(mean), 0.0, np.maximum(mean, 0.0))
        return {"mean": mean.reshape(n, h)}

    def feature_importance(self) -> dict[str, float]:
        """Share of the total split gain per feature."""
        if self._booster is None:
            raise RuntimeError(f"{self.alias}: call fit first")
        gain = np.asarray(self._booster.feature_importance("gain"), dtype=np.float64)
        total = gain.sum() or 1.0
        return {
            name: float(g / total)
            for name, g in sorted(
                zip(self.feature_names, gain, strict=True), key=lambda p: -p[1]
            )
        }
