"""The seasonal-naive baseline: every day repeats the same day a season ago."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forecasting.conformal import ConformalIntervals
from forecasting.frame import Panel
from forecasting.models.base import FloatArray, normal_interval

__all__ = ["SeasonalNaive"]


class SeasonalNaive:
    """``yhat[t] = y[t - season_length * k]`` for the smallest ``k`` reaching history.

    Always computed alongside the main model: forecast skill is measured
    against it. Native intervals are normal with the in-sample standard
    deviation of the seasonal differences, widening with the number of
    seasons ahead (as statsforecast's ``SeasonalNaive``).

    Parameters
    ----------
    season_length
        Days in a season (7: weekly).
    alias
        Output column name.
    prediction_intervals
        Conformal calibration instead of the normal intervals.
    """

    def __init__(
        self,
        season_length: int = 7,
        *,
        alias: str = "SeasonalNaive",
        prediction_intervals: ConformalIntervals | None = None,
    ) -> None:
        if season_length < 1:
            raise ValueError(f"season_length must be >= 1, got {season_length}")
        self.season_length = season_length
        self.alias = alias
        self.min_history = season_length
        self.prediction_intervals = prediction_intervals
        self._last: FloatArray | None = None
        self._sigma: FloatArray | None = None

    def new(self) -> SeasonalNaive:
        """An unfitted copy."""
        return SeasonalNaive(
            self.season_length,
            alias=self.alias,
            prediction_intervals=self.prediction_intervals,
        )

    def fit(self, panel: Panel) -> SeasonalNaive:
        """Keep the last season of every series and its residual scale."""
        m = self.season_length
        if panel.n_days < m:
            raise ValueError(f"{self.alias}: needs {m} days of history")
        y = panel.y
        self._last = y[:, -m:].copy()
        diff = y[:, m:] - y[:, :-m]
        with np.errstate(invalid="ignore"):
            count = np.sum(~np.isnan(diff), axis=1)
            sq = np.nansum(diff**2, axis=1)
            self._sigma = np.where(count > 0, np.sqrt(sq / np.maximum(count, 1)), 0.0)
        return self

    def forward(self, panel: Panel) -> SeasonalNaive:
        """Refit on ``panel`` (the model has no parameters to keep)."""
        return self.new().fit(panel)

    def predict(
        self, h: int, X: FloatArray | None = None, level: Sequence[int] = ()
    ) -> dict[str, FloatArray]:
        """Repeat the last season; normal intervals per level."""
        del X
        if self._last is None or self._sigma is None:
            raise RuntimeError(f"{self.alias}: call fit before predict")
        m = self.season_length
        reps = -(-h // m)
        mean = np.tile(self._last, (1, reps))[:, :h]
        mean = np.nan_to_num(mean, nan=0.0)
        out = {"mean": mean}
        steps = np.sqrt(np.arange(h) // m + 1.0)
        for lv in level:
            half = normal_interval(lv) * self._sigma[:, None] * steps[None, :]
            out[f"lo-{lv}"] = np.maximum(mean - half, 0.0)
            out[f"hi-{lv}"] = mean + half
        return out
