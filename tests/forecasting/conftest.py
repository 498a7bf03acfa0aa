"""Fixtures of the forecasting tests: small seeded synthetic panels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from forecasting.conformal import ConformalIntervals
from forecasting.frame import Panel
from forecasting.synthetic import SyntheticTruth, generate_panel


@pytest.fixture(scope="session")
def panel_df() -> tuple[pd.DataFrame, SyntheticTruth]:
    """Eight synthetic series of 800 days with promotions, holidays and closures."""
    return generate_panel(n_series=8, n_days=800, seed=3)


class ConstantModel:
    """A toy model forecasting each series' last value (tests the orchestrator)."""

    def __init__(
        self,
        alias: str = "Constant",
        *,
        min_history: int = 1,
        fail_fit: bool = False,
        fail_predict: bool = False,
        prediction_intervals: ConformalIntervals | None = None,
    ) -> None:
        self.alias = alias
        self.min_history = min_history
        self.fail_fit = fail_fit
        self.fail_predict = fail_predict
        self.prediction_intervals = prediction_intervals
        self.last: np.ndarray | None = None
        self.fitted_days = 0

    def new(self) -> ConstantModel:
        return ConstantModel(
            self.alias,
            min_history=self.min_history,
            fail_fit=self.fail_fit,
            fail_predict=self.fail_predict,
            prediction_intervals=self.prediction_intervals,
        )

    def fit(self, panel: Panel) -> ConstantModel:
        if self.fail_fit:
            raise RuntimeError("cannot fit")
        self.last = panel.y[:, -1].copy()
        self.fitted_days = panel.n_days
        return self

    def forward(self, panel: Panel) -> ConstantModel:
        return self.new().fit(panel)

    def predict(
        self, h: int, X: np.ndarray | None = None, level: Sequence[int] = ()
    ) -> dict[str, np.ndarray]:
        assert self.last is not None
        if self.fail_predict:
            raise RuntimeError("cannot predict")
        mean = np.repeat(self.last[:, None], h, axis=1)
        out = {"mean": mean}
        for lv in level:
            out[f"lo-{lv}"] = mean - lv
            out[f"hi-{lv}"] = mean + lv
        return out
