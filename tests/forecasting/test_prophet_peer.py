"""Prophet as a benchmark peer: fits each series with the exogenous columns
as regressors, leaves closed days out, moves forward without refitting."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.conformal import ConformalIntervals
from forecasting.core import Forecaster
from forecasting.models.prophet_peer import ProphetPeer, prophet_installed


def _frame() -> pd.DataFrame:
    """Two series: a weekly rhythm, +40 % on promotion days, closed Sundays
    of one of them."""
    rng = np.random.default_rng(0)
    ds = pd.date_range("2024-01-01", periods=200, freq="D")
    promo = (np.arange(200) % 10 < 3).astype(float)
    rows = []
    for uid, level in (("a", 100.0), ("b", 300.0)):
        y = level * (1 + 0.2 * (ds.dayofweek < 5)) * (1 + 0.4 * promo)
        y = y * np.exp(rng.normal(0, 0.02, len(ds)))
        closed = ((ds.dayofweek == 6) & (uid == "b")).astype(float)
        y = np.where(closed > 0, 0.0, y)
        rows.append(
            pd.DataFrame(
                {"unique_id": uid, "ds": ds, "y": y, "promo": promo, "closed": closed}
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_prophet_learns_the_promotion_and_closed_days_stay_zero() -> None:
    assert prophet_installed() is None
    df = _frame()
    history, future = df[df.ds < "2024-06-19"], df[df.ds >= "2024-06-19"]
    conformal = ConformalIntervals(h=14, n_windows=2, refit=False)
    fc = Forecaster([ProphetPeer(prediction_intervals=conformal)], closed_col="closed")
    out = fc.fit(history).predict(14, future.drop(columns="y"), level=[80])
    merged = out.merge(future, on=["unique_id", "ds"])
    open_days = merged["closed"] == 0
    error = np.abs(merged["Prophet"] - merged["y"])[open_days].sum()
    # Prophet is additive; the promotions here multiply by 1.4.
    assert error / merged.loc[open_days, "y"].sum() < 0.08
    assert (merged.loc[~open_days, "Prophet"] == 0).all()
    lo, hi = merged["Prophet-lo-80"], merged["Prophet-hi-80"]
    assert (lo <= merged["Prophet"]).all() and (merged["Prophet"] <= hi).all()
    # A promotion day is forecast higher than the same weekday without one.
    a = merged[(merged.unique_id == "a") & open_days]
    by = a.groupby([a.ds.dt.dayofweek < 5, a.promo > 0])["Prophet"].mean()
    assert by.loc[(True, True)] > 1.3 * by.loc[(True, False)]
