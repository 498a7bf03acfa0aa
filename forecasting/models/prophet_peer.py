"""Prophet as a peer: one model per series, as a user would run it.

The benchmark compares milepost's forecasts with the tools a team would
otherwise reach for. This is Prophet the way its documentation sets it up
for daily retail counts: weekly and yearly seasonality, a linear trend, and
every exogenous column of the panel (promotions, school and public holidays;
not the closed-day flag) as an extra regressor. Closed days are left out of
its training (they are zeros by decree, not demand) and the forecaster
forecasts them as 0. Its intervals come from the same conformal calibration
as every other model of the benchmark, so coverage compares like with like.

Prophet is optional: :func:`prophet_installed` says whether it imports, and
the benchmark quotes its earlier figures, with the reason, when it does not.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from forecasting.conformal import ConformalIntervals
from forecasting.frame import Panel
from forecasting.models.base import FloatArray

__all__ = ["ProphetPeer", "prophet_installed"]

_DAY = np.timedelta64(1, "D")


def _silence() -> None:
    """Prophet's and cmdstanpy's loggers (and their children) to errors only."""
    names = ["cmdstanpy", "prophet", "prophet.plot", "prophet.forecaster"]
    names += [
        n
        for n in logging.root.manager.loggerDict
        if n.startswith(("prophet", "cmdstanpy"))
    ]
    for name in names:
        logging.getLogger(name).setLevel(logging.ERROR)
    # Plotting is not used: that plotly is missing is no error here.
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)


def prophet_installed() -> str | None:
    """None when Prophet imports; else why it does not."""
    _silence()  # it logs that plotly is missing on import
    try:
        import prophet  # noqa: F401
    except Exception as exc:  # an import error or a broken Stan backend
        return f"{type(exc).__name__}: {exc}"
    return None


@contextmanager
def _quiet() -> Iterator[None]:
    # Prophet and its Stan backend log every fit at INFO, and Prophet's
    # pandas calls warn of pandas deprecations: neither is the user's.
    from cmdstanpy.utils import get_logger

    # cmdstanpy sets its logger to DEBUG the first time it is asked for it.
    get_logger()
    _silence()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="prophet")
        yield


class ProphetPeer:
    """One Prophet model per series (see the module docstring).

    Parameters
    ----------
    prediction_intervals
        Conformal calibration; Prophet's own intervals are not sampled
        (``uncertainty_samples=0``): they would cost most of the time.
    min_history
        Days a series needs (shorter ones go to the fallback model).
    """

    alias = "Prophet"

    def __init__(
        self,
        *,
        prediction_intervals: ConformalIntervals | None = None,
        min_history: int = 60,
    ) -> None:
        self.prediction_intervals = prediction_intervals
        self.min_history = min_history
        self._models: list[Any] = []
        self._regressors: list[str] = []
        self._columns: list[int] = []
        self._last: np.datetime64 | None = None

    def new(self) -> ProphetPeer:
        return ProphetPeer(
            prediction_intervals=self.prediction_intervals,
            min_history=self.min_history,
        )

    def fit(self, panel: Panel) -> ProphetPeer:
        with _quiet():
            return self._fit(panel)

    def _fit(self, panel: Panel) -> ProphetPeer:
        from prophet import Prophet

        self._columns = [
            j for j, name in enumerate(panel.exog) if name != panel.closed_col
        ]
        self._regressors = [panel.exog[j] for j in self._columns]
        closed = panel.closed()
        days = pd.to_datetime(panel.ds)
        self._models = []
        for i in range(panel.n_series):
            keep = ~np.isnan(panel.y[i]) & ~closed[i]
            frame = pd.DataFrame({"ds": days[keep], "y": panel.y[i, keep]})
            for j, name in zip(self._columns, self._regressors, strict=True):
                frame[name] = panel.X[i, keep, j]
            model = Prophet(
                weekly_seasonality=True,
                yearly_seasonality=True,
                daily_seasonality=False,
                uncertainty_samples=0,
            )
            for name in self._regressors:
                model.add_regressor(name)
            model.fit(frame)
            self._models.append(model)
        self._last = panel.last_day
        return self

    def forward(self, panel: Panel) -> ProphetPeer:
        # Prophet forecasts any date from its fit: only the start moves.
        moved = self.new()
        moved._models = self._models
        moved._regressors = self._regressors
        moved._columns = self._columns
        moved._last = panel.last_day
        return moved

    def predict(
        self, h: int, X: FloatArray | None = None, level: Sequence[int] = ()
    ) -> dict[str, FloatArray]:
        del level  # intervals are conformal (prediction_intervals)
        if self._last is None:
            raise RuntimeError("call fit before predict")
        days = pd.to_datetime(self._last + _DAY * np.arange(1, h + 1))
        mean = np.zeros((len(self._models), h))
        with _quiet():
            for i, model in enumerate(self._models):
                future = pd.DataFrame({"ds": days})
                for j, name in zip(self._columns, self._regressors, strict=True):
                    future[name] = 0.0 if X is None else X[i, :, j]
                mean[i] = model.predict(future)["yhat"].to_numpy()
        return {"mean": np.maximum(mean, 0.0)}
