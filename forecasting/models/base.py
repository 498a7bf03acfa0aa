"""What every forecasting model looks like to the :class:`~forecasting.core.Forecaster`.

A model is a small class with an ``alias`` (its output column), ``fit`` on a
:class:`~forecasting.frame.Panel` and ``predict(h, X, level)`` returning
numpy arrays keyed ``"mean"``, ``"lo-<level>"``, ``"hi-<level>"``. Models
never see pandas; grouping, dates, validation, closed days, fallbacks and
conformal calibration belong to the orchestrator.

Local models (one series at a time, like statsforecast's) loop over the
panel's rows; a global model fits one model across all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from forecasting.conformal import ConformalIntervals
from forecasting.frame import Panel

__all__ = ["FloatArray", "Model", "normal_interval"]

FloatArray = npt.NDArray[np.float64]

# z-scores of central normal intervals, by level; filled lazily.
_Z: dict[int, float] = {}


@runtime_checkable
class Model(Protocol):
    """The model interface.

    Attributes
    ----------
    alias
        Name of the output column; unique within a forecaster.
    min_history
        Days of history a series needs; shorter series go to the
        forecaster's ``fallback_model``.
    prediction_intervals
        Calibrate intervals by conformal prediction (None: the model's own
        intervals, if it has any).
    """

    alias: str
    min_history: int
    prediction_intervals: ConformalIntervals | None

    def new(self) -> Model:
        """An unfitted copy with the same settings."""
        ...

    def fit(self, panel: Panel) -> Model:
        """Fit on every series of ``panel`` (all end on its last day)."""
        ...

    def forward(self, panel: Panel) -> Model:
        """The fitted model applied to a longer history of the same series.

        The parameters stay as fitted; only the data that forecasts start
        from (the last days, the lags) move to ``panel``'s end. Used for
        conformal calibration without refitting (``refit=False``).
        """
        ...

    def predict(
        self, h: int, X: FloatArray | None = None, level: Sequence[int] = ()
    ) -> dict[str, FloatArray]:
        """Forecast ``h`` days after the fitted panel's last day.

        Parameters
        ----------
        h
            Horizon in days.
        X
            Future exogenous values, shape ``(n, h, k)`` in the panel's
            column order.
        level
            Interval levels the model should return if it can.

        Returns
        -------
        dict
            ``"mean"`` of shape ``(n, h)``, and ``"lo-<l>"``/``"hi-<l>"``
            for each level the model supports natively.
        """
        ...


def normal_interval(level: int) -> float:
    """z-score of a central ``level`` % normal interval."""
    if level not in _Z:
        from statistics import NormalDist

        _Z[level] = NormalDist().inv_cdf(0.5 + level / 200.0)
    return _Z[level]
