"""Sizing backtest: booked against needed vans, known shorts and idles, monotone
in the quantile, rolling origins that see only the past."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from api.cli import app
from forecasting.exog import CLOSURE_COLUMN
from scenarios.sizing_backtest import (
    DAY_COLUMNS,
    VanRates,
    _cutoffs,
    backtest_forecasts,
    catch_up_days,
    check_quantiles,
    hard_days,
    score_sizing,
    summarise,
)


def _frame(actual: list[float], **quantiles: list[float]) -> pd.DataFrame:
    """Open days of one depot with the given actuals and P<q> forecasts."""
    n = len(actual)
    frame = pd.DataFrame(
        {
            "unique_id": "d1",
            "ds": pd.date_range("2025-03-03", periods=n, freq="D"),
            "y": np.asarray(actual, dtype=float),
            "closed": False,
            "catch_up": False,
        }
    )
    for name, values in quantiles.items():
        frame[name] = np.asarray(values, dtype=float)
    return frame


def test_van_rates_book_and_serve_the_same_yardstick() -> None:
    """ceil(orders / rate) vans; v vans deliver floor(v * rate) orders."""
    rates = VanRates({"d1": 10.0})
    assert [rates.vans("d1", n) for n in (0, 1, 10, 10.5, 20, 21)] == [
        0,
        1,
        1,
        2,
        2,
        3,
    ]
    assert rates.capacity("d1", 3) == 30
    with pytest.raises(ValueError, match="d2"):
        rates.vans("d2", 5)
    with pytest.raises(ValueError, match="orders per van must be > 0"):
        VanRates({"d1": 0.0})


def test_a_perfect_forecast_is_never_short_nor_idle() -> None:
    """Booked on the actual itself, every quantile books exactly the need."""
    actual = [95.0, 120.0, 30.0, 0.0, 250.0]
    frame = _frame(actual, P50=actual, P80=actual, P90=actual)
    days = score_sizing(frame, VanRates({"d1": 25.0}))
    assert list(days.columns) == list(DAY_COLUMNS)
    assert len(days) == 15
    assert (days["booked"] == days["needed"]).all()
    assert days["left_over"].sum() == 0 and days["idle"].sum() == 0
    assert days.loc[days["quantile"] == 50, "needed"].tolist() == [4, 5, 2, 0, 10]


def test_biased_forecasts_give_the_shorts_and_idles_worked_out_by_hand() -> None:
    """Rate 10: P50 at half the actual is short, P90 at twice it idles."""
    actual = [100.0, 45.0, 20.0]  # needs 10, 5, 2 vans
    frame = _frame(
        actual,
        P50=[50.0, 22.5, 10.0],  # books 5, 3, 1
        P80=[100.0, 45.0, 20.0],  # books 10, 5, 2
        P90=[200.0, 90.0, 40.0],  # books 20, 9, 4
    )
    days = score_sizing(frame, VanRates({"d1": 10.0}))
    p50 = days[days["quantile"] == 50]
    assert p50["booked"].tolist() == [5, 3, 1]
    assert p50["short"].tolist() == [True, True, True]
    # left over: the actual minus what the booked vans deliver (50, 30, 10)
    assert p50["left_over"].tolist() == [50.0, 15.0, 10.0]
    assert p50["idle"].sum() == 0
    p90 = days[days["quantile"] == 90]
    assert not p90["short"].any()
    assert p90["idle"].tolist() == [10, 4, 2]
    summary = summarise(days).set_index(["scope", "quantile"])
    assert summary.loc[("all", 50), "short_days"] == 3
    assert summary.loc[("all", 50), "left_over"] == 75.0
    assert summary.loc[("all", 80), "short_share"] == 0.0
    assert summary.loc[("all", 90), "idle_van_days"] == 16
    assert summary.loc[("d1", 90), "booked_vans"] == pytest.approx(11.0)
    assert summary.loc[("all", 90), "needed_vans"] == pytest.approx(17 / 3)


def test_closed_days_are_left_out_and_catch_up_days_reported_apart() -> None:
    """A closed day books nothing; the day after it is its own scope."""
    frame = _frame(
        [100.0, 0.0, 300.0, 100.0],
        P50=[100.0, 0.0, 150.0, 100.0],
        P80=[120.0, 0.0, 200.0, 120.0],
    )
    frame.loc[1, "closed"] = True
    frame.loc[2, "catch_up"] = True
    days = score_sizing(frame, VanRates({"d1": 50.0}), (50, 80))
    assert len(days) == 6  # three open days, two quantiles
    summary = summarise(days).set_index(["scope", "quantile"])
    assert summary.loc[("catch-up", 50), "depot_days"] == 1
    assert summary.loc[("catch-up", 50), "short_days"] == 1
    assert summary.loc[("catch-up", 80), "left_over"] == 100.0  # 300 - 4 * 50
    assert summary.loc[("ordinary", 80), "short_days"] == 0
    assert summary.loc[("ordinary", 80), "idle_van_days"] == 2


def test_a_higher_quantile_below_a_lower_one_is_refused() -> None:
    """Crossing quantile forecasts would make the fleets incomparable."""
    frame = _frame([100.0, 100.0], P50=[100.0, 100.0], P80=[120.0, 90.0])
    with pytest.raises(ValueError, match=r"d1 on 2025-03-04: the P80 forecast"):
        score_sizing(frame, VanRates({"d1": 10.0}), (50, 80))


def test_quantiles_are_checked() -> None:
    assert check_quantiles([90, 50, 80, 50]) == (50, 80, 90)
    with pytest.raises(ValueError, match=r"within 1\.\.99, got 100"):
        check_quantiles([50, 100])


@seed(20261207)
@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.floats(0, 400),  # actual
            st.lists(st.floats(0, 500), min_size=3, max_size=3),  # forecasts
        ),
        min_size=1,
        max_size=30,
    ),
    rate=st.floats(5, 40),
)
def test_a_higher_quantile_never_books_fewer_vans(
    data: list[tuple[float, list[float]]], rate: float
) -> None:
    """Per day, more vans for a higher quantile; so never more short days,
    never more orders left over, never fewer idle van-days."""
    actual = [a for a, _ in data]
    ordered = [sorted(f) for _, f in data]
    frame = _frame(
        actual,
        P50=[f[0] for f in ordered],
        P80=[f[1] for f in ordered],
        P90=[f[2] for f in ordered],
    )
    days = score_sizing(frame, VanRates({"d1": rate}))
    booked = days.pivot(index="ds", columns="quantile", values="booked")
    assert (booked[80] >= booked[50]).all() and (booked[90] >= booked[80]).all()
    short = days.groupby("quantile")["short"].sum()
    left = days.groupby("quantile")["left_over"].sum()
    idle = days.groupby("quantile")["idle"].sum()
    assert short[50] >= short[80] >= short[90]
    assert left[50] >= left[80] - 1e-9 and left[80] >= left[90] - 1e-9
    assert idle[50] <= idle[80] <= idle[90]
    # a short day leaves orders over, never none; an idle one leaves none
    assert (days.loc[days["short"], "left_over"] > 0).all()
    assert (days.loc[days["idle"] > 0, "left_over"] == 0).all()


def _history(days: int = 420, closures: tuple[int, ...] = ()) -> pd.DataFrame:
    """Two depots with a weekly pattern; the given day numbers closed (0
    deliveries), the day after each carrying the backlog."""
    rng = np.random.default_rng(3)
    ds = pd.date_range("2024-01-01", periods=days, freq="D")
    frames = []
    for uid, level in (("d1", 100.0), ("d2", 150.0)):
        weekly = level * (1 + 0.3 * np.sin(2 * np.pi * np.arange(days) / 7))
        y = rng.poisson(weekly).astype(float)
        closed = np.zeros(days)
        for day in closures:
            closed[day] = 1.0
            y[day + 1] += y[day]
            y[day] = 0.0
        frames.append(
            pd.DataFrame({"unique_id": uid, "ds": ds, "y": y, CLOSURE_COLUMN: closed})
        )
    return pd.concat(frames, ignore_index=True)


def test_catch_up_days_follow_closed_blocks() -> None:
    history = _history(40, closures=(10, 11, 20))
    flags = catch_up_days(history)
    picked = history.loc[flags & (history["unique_id"] == "d1"), "ds"].dt.day
    assert picked.tolist() == [13, 22]  # days 12 and 21 (0-based)


def test_an_origin_inside_a_closure_moves_before_it() -> None:
    """Origins every 28 days, contiguous to the last day; one that falls in a
    closure moves to the day before, so the catch-up day is forecast with
    its block inside the horizon."""
    history = _history(200)
    last = history["ds"].max()
    plain = _cutoffs(history, 84, 28)
    assert plain == [last - pd.Timedelta(days=d) for d in (84, 56, 28)]
    block = (last - pd.Timedelta(days=56) - history["ds"].min()).days
    moved = _cutoffs(_history(200, closures=(block - 1, block)), 84, 28)
    assert moved[1] == last - pd.Timedelta(days=58)
    assert moved[0] == plain[0] and moved[-1] < last


def test_backtest_forecasts_see_only_the_past() -> None:
    """Every open day of the span forecast once, from an origin before it
    and at most 28 days back; changing the future never changes a forecast."""
    history = _history(420, closures=(399, 400))
    got = backtest_forecasts(history, (50, 80), span=56)
    assert len(got) == 2 * 56
    assert got.groupby(["unique_id", "ds"]).size().max() == 1
    lead = (got["ds"] - got["cutoff"]).dt.days
    assert lead.min() >= 1 and lead.max() <= 28
    assert (got["P80"] >= got["P50"] - 1e-9).all()
    catch = got[got["catch_up"]]
    assert len(catch) == 2
    assert (catch["cutoff"] < history["ds"].min() + pd.Timedelta(days=399)).all()
    assert got.loc[got["closed"], "P50"].eq(0).all()
    # the actuals are the history's
    merged = got.merge(history, on=["unique_id", "ds"], suffixes=("", "_h"))
    assert (merged["y"] == merged["y_h"]).all()
    assert set(got["model"]) <= {"GlobalGBM", "LogLinear"}
    # a different last week changes no forecast made before it
    later = history.copy()
    tail = later["ds"] > later["ds"].max() - pd.Timedelta(days=7)
    later.loc[tail, "y"] *= 3
    again = backtest_forecasts(later, (50, 80), span=56)
    early = got["ds"] <= got["ds"].max() - pd.Timedelta(days=7)
    before_tail = got["cutoff"] <= got["ds"].max() - pd.Timedelta(days=7)
    keep = early & before_tail
    assert np.allclose(got.loc[keep, "P80"], again.loc[keep, "P80"])


def test_cli_refuses_a_bad_quantile() -> None:
    """Exit 2 naming --quantiles, no traceback."""
    for bad in ("50,abc", "50,100", ""):
        done = CliRunner().invoke(app, ["bench", "sizing", "--quantiles", bad])
        assert done.exit_code == 2, done.output
        assert "--quantiles" in done.output
        assert "Traceback" not in done.output


def test_cli_prints_the_table_and_writes_the_json(tmp_path: Path) -> None:
    """A small city, two months: the table by scope and quantile, the JSON."""
    target = tmp_path / "sizing.json"
    done = CliRunner().invoke(
        app,
        [
            "bench",
            "sizing",
            "--customers",
            "1000",
            "--span",
            "56",
            "--quantiles",
            "50,90",
            "--time-limit",
            "0.3",
            "--json",
            str(target),
        ],
    )
    assert done.exit_code == 0, done.output
    for text in ("P50", "P90", "catch-up", "ordinary", "depot-east", "orders per"):
        assert text in done.output
    result = json.loads(target.read_text())
    assert result["quantiles"] == [50, 90]
    summary = {(r["scope"], r["quantile"]): r for r in result["summary"]}
    assert summary[("all", 50)]["short_days"] >= summary[("all", 90)]["short_days"]
    assert summary[("all", 50)]["depot_days"] == sum(
        1 for d in result["days"] if d["quantile"] == 50
    )
    assert all(rate > 0 for rate in result["orders_per_van"].values())
    # every depot-day of the 56 is forecast, by a model the output names
    forecast = sum(m["depot_days"] for m in result["models"].values())
    assert forecast == 56 * len(result["orders_per_van"])
    assert "forecast by GlobalGBM" in done.output
    # the peer: the same fleets booked on the seasonal-naive baseline
    assert "SeasonalNaive" in done.output
    peer = {(r["scope"], r["quantile"]) for r in result["baseline_summary"]}
    assert {("all", 50), ("all", 90)} <= peer
    assert {scope for scope, _ in peer} <= {"all", "catch-up"}
    # the hard days, per depot and for all
    assert "after closure" in done.output and "cover 80" in done.output
    hard = {(r["depot"], r["slice"]) for r in result["hard_days"]}
    assert {("all", "pooled"), ("depot-east", "after_closure")} <= hard


def test_a_window_with_a_closure_carries_the_orders_it_is_given() -> None:
    """With ``orders_at``, the catch-up day carries the orders of its block's
    days (as ``milepost forecast`` does); every other day is as without."""
    history = _history(420, closures=(399, 400))
    asked: list[tuple[pd.Timestamp, int]] = []

    def orders_at(past: pd.DataFrame, start: object, days: int) -> pd.DataFrame:
        asked.append((past["ds"].max(), days))
        ids = sorted(past["unique_id"].unique())
        seen = past[["unique_id", "ds", "y"]]
        ahead = pd.DataFrame(
            [
                (i, pd.Timestamp(start) + pd.Timedelta(days=k), 500.0)
                for i in ids
                for k in range(days)
            ],
            columns=["unique_id", "ds", "y"],
        )
        return pd.concat([seen, ahead], ignore_index=True)

    plain = backtest_forecasts(history, (50, 80), span=56)
    carried = backtest_forecasts(history, (50, 80), span=56, orders_at=orders_at)
    # Only the window holding the closure asks, and sees only its past.
    assert len(asked) == 1
    assert asked[0][0] < history["ds"].min() + pd.Timedelta(days=399)
    catch = carried["catch_up"]
    # No closure in the history: all is carried. Without orders that is two
    # more days like the catch-up day's own; with them, 2 days x 500 orders.
    own = plain.loc[catch, "P50"].to_numpy() / 3
    assert np.allclose(carried.loc[catch, "P50"].to_numpy(), own + 1000.0)
    assert np.allclose(carried.loc[~catch, "P50"], plain.loc[~catch, "P50"])


def test_hard_days_are_scored_per_depot_and_slice() -> None:
    """A hand-made year-end: a 2-day closure on Dec 1-2, a forecast exact
    except on the 7 days after it (half the actual) and before Christmas
    (P90 below the actual)."""
    ds = pd.date_range("2025-11-20", "2025-12-31", freq="D")
    frames = []
    for uid in ("d1", "d2"):
        y = np.full(len(ds), 100.0)
        closed = (ds >= "2025-12-01") & (ds <= "2025-12-02")
        y[closed] = 0.0
        p50 = y.copy()
        after = (ds >= "2025-12-03") & (ds <= "2025-12-09")
        p50[after] = 50.0
        p90 = p50 * 1.2
        xmas = (ds >= "2025-12-15") & (ds <= "2025-12-24")
        p90[xmas] = 90.0
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": ds,
                    "cutoff": pd.Timestamp("2025-11-19"),
                    "y": y,
                    "closed": closed,
                    "P10": p50 * 0.8,
                    "P50": p50,
                    "P80": p90 * 0.99,
                    "P90": p90,
                }
            )
        )
    hard = hard_days(pd.concat(frames, ignore_index=True)).set_index(["depot", "slice"])
    for depot in ("all", "d1", "d2"):
        after = hard.loc[(depot, "after_closure")]
        assert after["open_days"] == 7 * (2 if depot == "all" else 1)
        assert after["wape"] == pytest.approx(0.5)
        assert after["coverage_80"] == 0.0 and after["above_p90"] == 1.0
        xmas = hard.loc[(depot, "before_christmas")]
        assert xmas["wape"] == 0.0 and xmas["above_p90"] == 1.0
        assert xmas["coverage_80"] == 0.0
    with pytest.raises(ValueError, match="P10"):
        hard_days(pd.concat(frames).drop(columns="P10"))
