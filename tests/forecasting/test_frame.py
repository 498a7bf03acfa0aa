"""The long-format data contract: validation errors name the column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.frame import (
    FrameError,
    future_panel,
    to_panel,
    validate_df,
    validate_future,
)


def _history(days: int = 10, ids: tuple[str, ...] = ("a", "b")) -> pd.DataFrame:
    frames = [
        pd.DataFrame(
            {
                "unique_id": uid,
                "ds": pd.date_range("2024-01-01", periods=days, freq="D"),
                "y": np.arange(days, dtype=float) + k,
                "promo": (np.arange(days) % 3 == 0).astype(float),
            }
        )
        for k, uid in enumerate(ids)
    ]
    return pd.concat(frames, ignore_index=True)


def _future(h: int = 3, ids: tuple[str, ...] = ("a", "b")) -> pd.DataFrame:
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": pd.date_range("2024-01-11", periods=h, freq="D"),
                    "promo": 1.0,
                }
            )
            for uid in ids
        ],
        ignore_index=True,
    )


def test_valid_frame_is_sorted_and_typed() -> None:
    """A valid frame comes back sorted by series and day, with float targets."""
    df = _history().sample(frac=1.0, random_state=0)
    clean = validate_df(df)
    assert list(clean.columns) == ["unique_id", "ds", "y", "promo"]
    assert clean["ds"].dtype == "datetime64[ns]"
    assert clean["y"].dtype == np.float64
    assert clean["unique_id"].is_monotonic_increasing
    assert (
        clean.groupby("unique_id")["ds"]
        .apply(lambda s: s.is_monotonic_increasing)
        .all()
    )


@pytest.mark.parametrize("column", ["unique_id", "ds", "y"])
def test_missing_required_column_is_named(column: str) -> None:
    """A missing unique_id, ds or y column raises an error naming it."""
    with pytest.raises(FrameError, match=f"column '{column}': is missing") as info:
        validate_df(_history().drop(columns=column))
    assert info.value.column == column


def test_duplicate_day_is_reported() -> None:
    """A repeated (unique_id, ds) names the series, the day and the count."""
    df = _history()
    df = pd.concat([df, df.iloc[[3]]], ignore_index=True)
    with pytest.raises(
        FrameError, match="series 'a' has 2024-01-04 more than once"
    ) as info:
        validate_df(df)
    assert info.value.column == "ds"


def test_missing_dates_are_reported() -> None:
    """A gap inside a series names the first missing day and how many are absent."""
    df = _history()
    df = df.drop(
        index=df.index[
            (df["unique_id"] == "b") & df["ds"].between("2024-01-04", "2024-01-05")
        ]
    )
    with pytest.raises(
        FrameError,
        match=r"series 'b' has missing dates: 2024-01-04 is absent \(2 missing",
    ) as info:
        validate_df(df)
    assert info.value.column == "ds"


def test_negative_count_is_reported() -> None:
    """A negative y names the series, the day and the number of bad rows."""
    df = _history()
    df.loc[5, "y"] = -2.0
    with pytest.raises(
        FrameError, match=r"negative count -2 for series 'a' on 2024-01-06"
    ) as info:
        validate_df(df)
    assert info.value.column == "y"


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_missing_or_infinite_target_is_reported(bad: float) -> None:
    """A missing or infinite y is refused with its row."""
    df = _history()
    df.loc[4, "y"] = bad
    with pytest.raises(
        FrameError, match=r"column 'y': is (missing|not finite) on row 4"
    ):
        validate_df(df)


def test_text_exogenous_column_is_refused() -> None:
    """An exogenous column must be numeric or boolean."""
    df = _history().assign(holiday_name="x")
    with pytest.raises(
        FrameError, match="column 'holiday_name': must be numeric"
    ) as info:
        validate_df(df)
    assert info.value.column == "holiday_name"


def test_time_of_day_is_refused() -> None:
    """Daily data must be at midnight."""
    df = _history()
    df.loc[2, "ds"] = pd.Timestamp("2024-01-03 12:00")
    with pytest.raises(FrameError, match="column 'ds': has a time of day on row 2"):
        validate_df(df)


def test_empty_frame_is_refused() -> None:
    """A frame without rows is an error."""
    with pytest.raises(FrameError, match="has no rows"):
        validate_df(_history().iloc[:0])


def test_future_must_cover_the_horizon() -> None:
    """X_df missing a horizon day of one series names the series and the day."""
    df = validate_df(_history())
    future = _future(h=3)
    future = future.drop(
        index=future.index[
            (future["unique_id"] == "b") & (future["ds"] == "2024-01-13")
        ]
    )
    with pytest.raises(
        FrameError,
        match=r"does not cover the horizon of series 'b': 1 of the 3 days after "
        r"2024-01-10 are absent, first 2024-01-13",
    ) as info:
        validate_future(future, df, 3)
    assert info.value.column == "ds"


def test_future_needs_every_exogenous_column() -> None:
    """X_df lacking an exogenous column of the history names it."""
    df = validate_df(_history())
    with pytest.raises(FrameError, match="X_df: column 'promo': is missing"):
        validate_future(_future().drop(columns="promo"), df, 3)


def test_future_is_required_with_exogenous_columns() -> None:
    """With exogenous columns, forecasting without X_df is an error."""
    df = validate_df(_history())
    with pytest.raises(FrameError, match="X_df: is required"):
        validate_future(None, df, 3)


def test_future_keeps_only_the_horizon() -> None:
    """Extra future days are ignored; the horizon rows come back in order."""
    df = validate_df(_history())
    future = validate_future(_future(h=5), df, 3)
    assert future is not None
    assert len(future) == 6
    assert future["ds"].max() == pd.Timestamp("2024-01-13")


def test_panel_pads_late_starts_and_maps_the_future() -> None:
    """Late series get NaN before their start; X_df lands on the right cells."""
    df = _history()
    df = df[~((df["unique_id"] == "b") & (df["ds"] < "2024-01-04"))]
    clean = validate_df(df)
    panel = to_panel(clean)
    assert panel.ids == ("a", "b")
    assert panel.y.shape == (2, 10)
    assert np.isnan(panel.y[1, :3]).all()
    np.testing.assert_array_equal(panel.history_days, [10, 7])
    future = validate_future(_future(h=2), clean, 2)
    X = future_panel(future, panel, 2)
    assert X.shape == (2, 2, 1)
    assert (X == 1.0).all()


def test_series_must_end_together() -> None:
    """All series must end on the same day; the early one is named."""
    df = _history()
    df = df[~((df["unique_id"] == "a") & (df["ds"] > "2024-01-08"))]
    with pytest.raises(FrameError, match="series 'a' ends on 2024-01-08"):
        to_panel(validate_df(df))


def test_closed_column_must_exist() -> None:
    """Naming a closed-day column that is absent is an error naming it."""
    with pytest.raises(FrameError, match="column 'closed'"):
        to_panel(validate_df(_history()), closed_col="closed")
