"""The fallback for short series: a recent, per-series log-linear regression.

A series with under a year of history has no "same day last year" and too
few holidays or campaigns to learn from; the global model is not asked about
it. :class:`LogLinear` fits, per series, a ridge regression of ``log1p(y)``
on the day of week and the exogenous columns over the last ``window`` days,
weighting recent days more (half-life ``half_life`` days), so that it
follows the current level. Effects of columns that never vary in the window
(an event the series has not seen yet) are shrunk to zero. A calendar's
countdowns enter as "on the day" flags (``cal_to_*`` is 0; ``cal_after_*``
would repeat them): a straight line in the days to an event means nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forecasting.conformal import ConformalIntervals
from forecasting.frame import AFTER_PREFIX, TO_PREFIX, Panel
from forecasting.models.base import FloatArray, normal_interval

__all__ = ["LogLinear"]


def _dow(days: np.ndarray) -> np.ndarray:
    """Day of week, 0 = Monday."""
    return (days.astype("datetime64[D]").astype(np.int64) + 3) % 7


class LogLinear:
    """Weighted ridge regression of ``log1p(y)`` per series.

    Parameters
    ----------
    window
        Days of history used (the most recent).
    half_life
        Days after which a day's weight halves.
    ridge
        L2 penalty on every coefficient except the intercept.
    alias
        Output column name.
    prediction_intervals
        Conformal calibration instead of the native (log-normal) intervals.
    """

    def __init__(
        self,
        *,
        window: int = 182,
        half_life: float = 56.0,
        ridge: float = 1.0,
        alias: str = "LogLinear",
        prediction_intervals: ConformalIntervals | None = None,
    ) -> None:
        if window < 7:
            raise ValueError(f"window must be >= 7 days, got {window}")
        if half_life <= 0 or ridge < 0:
            raise ValueError("half_life must be > 0 and ridge >= 0")
        self.window = window
        self.half_life = half_life
        self.ridge = ridge
        self.alias = alias
        self.min_history = 14
        self.prediction_intervals = prediction_intervals
        self._beta: FloatArray | None = None
        self._sigma: FloatArray | None = None
        self._columns: list[int] = []
        self._on_day: list[int] = []
        self._next_dow = 0

    def new(self) -> LogLinear:
        """An unfitted copy."""
        return LogLinear(
            window=self.window,
            half_life=self.half_life,
            ridge=self.ridge,
            alias=self.alias,
            prediction_intervals=self.prediction_intervals,
        )

    def _design(self, dow: np.ndarray, X: FloatArray) -> FloatArray:
        """Intercept, Tuesday..Sunday dummies, exogenous columns: ``(..., p)``."""
        dummies = (dow[..., None] == np.arange(1, 7)).astype(np.float64)
        ones = np.ones((*dow.shape, 1))
        exog = X[..., self._columns]
        if self._on_day:
            exog[..., self._on_day] = exog[..., self._on_day] == 0
        return np.concatenate([ones, dummies, exog], axis=-1)

    def fit(self, panel: Panel) -> LogLinear:
        """One ridge fit per series on its recent open days."""
        days = min(self.window, panel.n_days)
        self._columns = [
            j
            for j, name in enumerate(panel.exog)
            if name != panel.closed_col and not name.startswith(AFTER_PREFIX)
        ]
        self._on_day = [
            k
            for k, j in enumerate(self._columns)
            if panel.exog[j].startswith(TO_PREFIX)
        ]
        y = panel.y[:, -days:]
        closed = panel.closed()[:, -days:]
        dow = np.broadcast_to(_dow(panel.ds[-days:]), y.shape)
        A = self._design(dow, panel.X[:, -days:])
        age = np.arange(days - 1, -1, -1, dtype=np.float64)
        weight = 0.5 ** (age / self.half_life)
        p = A.shape[-1]
        penalty = self.ridge * np.eye(p)
        penalty[0, 0] = 0.0
        beta = np.zeros((panel.n_series, p))
        sigma = np.zeros(panel.n_series)
        for i in range(panel.n_series):
            ok = ~np.isnan(y[i]) & ~closed[i]
            if ok.sum() < 2:
                beta[i, 0] = np.log1p(np.nanmean(y[i])) if ok.any() else 0.0
                continue
            a, z, w = A[i][ok], np.log1p(y[i][ok]), weight[ok]
            w = w * (len(w) / w.sum())
            coef = np.linalg.solve(a.T @ (a * w[:, None]) + penalty, a.T @ (w * z))
            beta[i] = coef
            resid = z - a @ coef
            sigma[i] = float(np.sqrt(np.sum(w * resid**2) / max(np.sum(w) - 1.0, 1.0)))
        self._beta, self._sigma = beta, sigma
        self._next_dow = int(_dow(panel.ds[-1:])[0] + 1) % 7
        return self

    def forward(self, panel: Panel) -> LogLinear:
        """Refit on ``panel``: a local model follows its series' latest days."""
        return self.new().fit(panel)

    def predict(
        self, h: int, X: FloatArray | None = None, level: Sequence[int] = ()
    ) -> dict[str, FloatArray]:
        """``expm1`` of the linear predictor; log-normal intervals."""
        if self._beta is None or self._sigma is None:
            raise RuntimeError(f"{self.alias}: call fit before predict")
        n = self._beta.shape[0]
        if X is None:
            X = np.zeros((n, h, max(self._columns, default=-1) + 1))
        dow = np.broadcast_to((self._next_dow + np.arange(h)) % 7, (n, h))
        A = self._design(dow, X)
        mu = np.einsum("ihp,ip->ih", A, self._beta)
        out = {"mean": np.maximum(np.expm1(mu), 0.0)}
        for lv in level:
            half = normal_interval(lv) * self._sigma[:, None]
            out[f"lo-{lv}"] = np.maximum(np.expm1(mu - half), 0.0)
            out[f"hi-{lv}"] = np.maximum(np.expm1(mu + half), 0.0)
        return out
