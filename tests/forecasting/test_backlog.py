"""The first open day after a closure block carries the block's backlog."""

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster
from forecasting.conformal import ConformalIntervals
from forecasting.core import history_carry_share
from forecasting.models.naive import SeasonalNaive

DAYS = 200
CLOSED = (203, 204, 205)  # horizon days 4-6 (day 200 is the first forecast day)


def _frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2024-01-01", periods=DAYS + 14, freq="D")
    y = 100 + 20 * (ds.day_of_week < 5) + rng.normal(0, 5, len(ds))
    closed = np.zeros(len(ds))
    closed[list(CLOSED)] = 1.0
    y[closed == 1] = 0.0
    return pd.DataFrame({"unique_id": "a", "ds": ds, "y": y, "closed": closed})


def _forecast(carry: bool, share: float | None = 1.0) -> pd.DataFrame:
    df = _frame(0)
    history, future = df.iloc[:DAYS], df.iloc[DAYS:]
    model = SeasonalNaive(7, prediction_intervals=ConformalIntervals(h=14, n_windows=4))
    fc = Forecaster(
        [model], closed_col="closed", carry_backlog=carry, carry_share=share
    )
    return fc.fit(history).predict(14, future.drop(columns="y"), level=[80])


def test_first_open_day_carries_the_block_and_other_days_stay() -> None:
    before, after = _forecast(False), _forecast(True)
    first = CLOSED[-1] + 1 - DAYS
    base = before["SeasonalNaive"].iloc[first]
    # 3 closed days at the first open day's own forecast, all carried.
    assert after["SeasonalNaive"].iloc[first] == pytest.approx(4 * base)
    assert after["SeasonalNaive-backlog"].iloc[first] == pytest.approx(3 * base)
    truth = _frame(0)["y"].iloc[CLOSED[-1] + 1] + sum(
        base for _ in CLOSED
    )  # the open day's own demand plus three days of it
    assert after["SeasonalNaive-hi-80"].iloc[first] > truth
    assert after["SeasonalNaive-lo-80"].iloc[first] < truth
    others = np.arange(14) != first
    for col in ("SeasonalNaive", "SeasonalNaive-lo-80", "SeasonalNaive-hi-80"):
        np.testing.assert_array_equal(
            after[col].to_numpy()[others], before[col].to_numpy()[others]
        )
    assert (after["SeasonalNaive-backlog"].to_numpy()[others] == 0).all()


def test_history_share_recovers_a_known_carry() -> None:
    # Level 100; blocks of 3 closed days; the first open day delivers 100 + 0.5 * 300.
    y = np.full((1, 120), 100.0)
    closed = np.zeros((1, 120), dtype=bool)
    for start in (40, 80):
        closed[0, start : start + 3] = True
        y[0, start : start + 3] = 0.0
        y[0, start + 3] = 250.0
    assert history_carry_share(y, closed) == pytest.approx(0.5)
    assert history_carry_share(y[:, :30], closed[:, :30]) == 1.0


def test_carry_needs_closed_col() -> None:
    with pytest.raises(ValueError, match="closed_col"):
        Forecaster([SeasonalNaive(7)], carry_backlog=True)
    with pytest.raises(ValueError, match="carry_share"):
        Forecaster([SeasonalNaive(7)], closed_col="c", carry_share=1.5)
