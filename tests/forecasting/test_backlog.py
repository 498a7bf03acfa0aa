"""The first open day after a closure block carries the block's backlog."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting import Forecaster
from forecasting.conformal import ConformalIntervals
from forecasting.core import history_carry_share
from forecasting.frame import FrameError
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


# -- carrying the orders the closed days took ---------------------------------

ORDER_DAYS = 140


def _orders_case(
    closed_days: list[int], taken: float, carried: float, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Level-100 deliveries; on ``closed_days`` the depot is shut while
    ``taken`` orders a day come in, and the next open day delivers its own
    100 plus ``carried`` times them. Also the orders frame (every day)."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2024-01-01", periods=ORDER_DAYS, freq="D")
    y = 100 + rng.normal(0, 1, len(ds))
    orders = y.copy()
    closed = np.zeros(len(ds))
    closed[closed_days] = 1.0
    orders[closed == 1] = taken
    y[closed == 1] = 0.0
    for day in closed_days:
        if day + 1 < len(ds) and closed[day + 1] == 0:
            run = day
            while run > 0 and closed[run - 1] == 1:
                run -= 1
            y[day + 1] += carried * taken * (day + 1 - run)
    frame = pd.DataFrame({"unique_id": "a", "ds": ds, "y": y, "closed": closed})
    return frame, frame[["unique_id", "ds"]].assign(y=orders)


def _orders_forecaster() -> Forecaster:
    model = SeasonalNaive(7, prediction_intervals=ConformalIntervals(h=14, n_windows=3))
    return Forecaster([model], closed_col="closed", carry_backlog=True)


def test_first_open_day_carries_the_orders_its_block_took() -> None:
    # Past blocks at days 40-42 and 80-82 carried 0.8 of their orders; a
    # block at days 124-126 (horizon days 4-6) took 30 orders a day.
    blocks = [40, 41, 42, 80, 81, 82, 124, 125, 126]
    df, orders = _orders_case(blocks, taken=30.0, carried=0.8)
    history, future = df.iloc[:120], df.iloc[120:134]
    fc = _orders_forecaster().fit(history, orders=orders.iloc[:120])
    out = fc.predict(
        14, future.drop(columns="y"), level=[80], orders=orders.iloc[120:134]
    )
    first = 127 - 120
    assert out["SeasonalNaive-backlog"].iloc[first] == pytest.approx(0.8 * 90, rel=0.05)
    own = _orders_forecaster().fit(history).predict(14, future.drop(columns="y"))
    assert out["SeasonalNaive"].iloc[first] == pytest.approx(
        own["SeasonalNaive"].iloc[first]
        - own["SeasonalNaive-backlog"].iloc[first]
        + out["SeasonalNaive-backlog"].iloc[first]
    )
    assert out["SeasonalNaive-hi-80"].iloc[first] > df["y"].iloc[127]
    # ``forecast`` splits one orders frame between fit and predict.
    both = _orders_forecaster().forecast(
        history, 14, future.drop(columns="y"), level=[80], orders=orders.iloc[:134]
    )
    pd.testing.assert_frame_equal(both, out)


def test_a_block_begun_before_the_start_carries_its_observed_orders() -> None:
    # The history ends on two closed days (118, 119); the block goes on
    # through day 121. Its observed and forecast orders both count.
    df, orders = _orders_case([40, 41, 80, 81, 118, 119, 120, 121], 20.0, 1.0)
    history, future = df.iloc[:120], df.iloc[120:134]
    ahead = orders.iloc[120:134].assign(y=lambda f: f["y"].where(f.index > 121, 25.0))
    fc = _orders_forecaster().fit(history, orders=orders.iloc[:120])
    out = fc.predict(14, future.drop(columns="y"), orders=ahead)
    share = fc._orders_share
    assert share == pytest.approx(1.0, rel=0.1)
    assert out["SeasonalNaive-backlog"].iloc[2] == pytest.approx(
        share * (20 + 20 + 25 + 25)
    )


def test_a_carried_day_without_orders_is_refused_by_name() -> None:
    df, orders = _orders_case([40, 41, 124, 125], 30.0, 1.0)
    history, future = df.iloc[:120], df.iloc[120:134]
    fc = _orders_forecaster().fit(history, orders=orders.iloc[:120])
    gap = orders.iloc[120:134].drop(index=125)
    with pytest.raises(FrameError, match="orders"):
        fc.predict(14, future.drop(columns="y"), orders=gap)
    short = orders.iloc[120:124]  # stops before the block
    with pytest.raises(FrameError, match=r"no orders for 2024-05-04.*2024-05-06"):
        fc.predict(14, future.drop(columns="y"), orders=short)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    starts=st.lists(st.integers(1, 11), min_size=1, max_size=3, unique=True),
    taken=st.floats(0.0, 200.0),
)
def test_orders_carried_equal_the_share_of_each_blocks_orders(
    starts: list[int], taken: float
) -> None:
    df, orders = _orders_case([40, 41, 80, 81], 30.0, 0.5)
    closed = np.zeros(14, dtype=bool)
    for s in starts:
        closed[s : s + 2] = True
    future = df.iloc[120:134].drop(columns="y").assign(closed=closed.astype(float))
    ahead = orders.iloc[120:134].assign(y=np.where(closed, taken, 100.0))
    fc = _orders_forecaster().fit(df.iloc[:120], orders=orders.iloc[:120])
    out = fc.predict(14, future, orders=ahead)
    backlog = out["SeasonalNaive-backlog"].to_numpy()
    for day in range(14):
        if day > 0 and closed[day - 1] and not closed[day]:
            run = day
            while run > 0 and closed[run - 1]:
                run -= 1
            assert backlog[day] == pytest.approx(fc._orders_share * taken * (day - run))
        else:
            assert backlog[day] == 0.0
    assert (out["SeasonalNaive"].to_numpy()[closed] == 0).all()


def test_bad_orders_are_refused_by_name() -> None:
    """Orders of a series the history lacks, or negative, are named errors."""
    df, orders = _orders_case([40, 41, 124, 125], 30.0, 1.0)
    history = df.iloc[:120]
    stranger = orders.iloc[:120].assign(unique_id="z")
    with pytest.raises(FrameError, match="orders: series 'z'"):
        _orders_forecaster().fit(history, orders=stranger)
    negative = orders.iloc[:120].assign(y=-1.0)
    with pytest.raises(FrameError, match="orders"):
        _orders_forecaster().fit(history, orders=negative)
