"""Accuracy metrics on hand-checkable numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.metrics import bias, coverage, evaluate, mase, seasonal_scale, wape


def test_wape_and_bias_by_hand() -> None:
    """WAPE is sum|e|/sum(y); bias is sum(yhat - y)/sum(y)."""
    y = [10.0, 0.0, 30.0]
    yhat = [12.0, 1.0, 24.0]
    assert wape(y, yhat) == pytest.approx(9 / 40)
    assert bias(y, yhat) == pytest.approx(-3 / 40)


def test_wape_needs_positive_actuals() -> None:
    """WAPE is undefined on all-zero actuals."""
    with pytest.raises(ValueError, match="sum to 0"):
        wape([0.0, 0.0], [1.0, 2.0])


def test_mase_uses_the_in_sample_seasonal_naive() -> None:
    """MASE divides the MAE by the mean absolute difference at lag 7."""
    history = np.arange(21, dtype=float)  # every lag-7 difference is 7
    assert seasonal_scale(history, 7) == pytest.approx(7.0)
    assert mase([10.0, 20.0], [13.5, 16.5], history) == pytest.approx(0.5)


def test_coverage_counts_inside_and_respects_the_mask() -> None:
    """Coverage is the share of actuals within [lo, hi] on the selected rows."""
    y = np.array([1.0, 5.0, 9.0, 0.0])
    lo = np.array([0.0, 6.0, 8.0, 0.0])
    hi = np.array([2.0, 7.0, 9.0, 0.0])
    assert coverage(y, lo, hi) == pytest.approx(0.75)
    assert coverage(y, lo, hi, mask=[True, True, True, False]) == pytest.approx(2 / 3)


def test_evaluate_scores_each_model() -> None:
    """evaluate gives one row per model with WAPE, bias, MASE and coverage."""
    days = pd.date_range("2024-01-01", periods=28, freq="D")
    history = pd.DataFrame({"unique_id": "a", "ds": days, "y": np.arange(28.0) % 7 + 1})
    cv = pd.DataFrame(
        {
            "unique_id": "a",
            "ds": days[-7:],
            "cutoff": days[-8],
            "y": history["y"].to_numpy()[-7:],
        }
    )
    cv["perfect"] = cv["y"]
    cv["perfect-lo-80"] = cv["y"] - 1
    cv["perfect-hi-80"] = cv["y"] + 1
    cv["off"] = cv["y"] + 1.0
    cv["off-lo-80"] = cv["y"] + 0.5
    cv["off-hi-80"] = cv["y"] + 2.0
    history.loc[3, "y"] += 7.0  # one lag-7 difference of 7 up to the cutoff
    out = evaluate(cv, history, ["perfect", "off"], level=80).set_index("model")
    assert out.loc["perfect", "wape"] == 0.0
    assert out.loc["perfect", "coverage_80"] == 1.0
    assert out.loc["off", "coverage_80"] == 0.0
    assert out.loc["off", "bias"] == pytest.approx(7 / cv["y"].sum())
    scale = 7.0 / 14.0  # 14 lag-7 differences up to the cutoff (day 21), one is 7
    assert out.loc["off", "mase"] == pytest.approx(1.0 / scale)
