"""The Rossmann backtest protocol, on a synthetic file in the Kaggle schema.

The real benchmark file is a fixture outside the repository (licence:
benchmark use only); these tests write a small synthetic look-alike. The
slow test at the end runs the real benchmark when the file is there.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from api.cli.bench_forecast import bench_forecast_command
from forecasting.core import Forecaster
from forecasting.metrics import evaluate
from forecasting.rossmann import (
    CUTOFFS,
    EXOG,
    HORIZON,
    QUOTED,
    SLICES,
    TargetResult,
    after_closure,
    benchmark_models,
    default_data_dir,
    load_rossmann,
    run_backtest,
    run_target,
    slice_masks,
    slice_metrics,
)
from forecasting.synthetic import generate_panel


@pytest.fixture(scope="module")
def fake_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five synthetic stores over 2013-01-01..2015-07-31 plus one with a gap."""
    folder = tmp_path_factory.mktemp("rossmann")
    df, _ = generate_panel(
        n_series=6, n_days=942, start=pd.Timestamp("2013-01-01").date(), seed=5
    )
    rng = np.random.default_rng(5)
    rows = []
    for k, (_, g) in enumerate(df.groupby("unique_id", sort=True)):
        g = g.reset_index(drop=True)
        if k == 5:  # the refurbishment gap of some real stores
            g = g[(g["ds"] < "2014-07-01") | (g["ds"] > "2014-12-31")]
        closed = g["closed"].to_numpy() > 0
        holiday = np.where(g["holiday"].to_numpy() > 0, "a", "0")
        holiday = np.where(
            (g["ds"].dt.month == 12) & g["ds"].dt.day.isin([25, 26]), "c", holiday
        )
        customers = g["y"].to_numpy()
        rows.append(
            pd.DataFrame(
                {
                    "Store": k + 1,
                    "DayOfWeek": g["ds"].dt.day_of_week + 1,
                    "Date": g["ds"].dt.strftime("%Y-%m-%d"),
                    "Sales": np.round(customers * rng.uniform(8, 10, len(g))).astype(
                        int
                    ),
                    "Customers": customers.astype(int),
                    "Open": (~closed).astype(int),
                    "Promo": g["promo"].astype(int),
                    "StateHoliday": holiday,
                    "SchoolHoliday": (g["ds"].dt.month.isin([7, 8])).astype(int),
                }
            )
        )
    pd.concat(rows).to_csv(folder / "train_stores_1_100.csv.gz", index=False)
    return folder


def test_loader_keeps_full_history_stores(fake_dir: Path) -> None:
    """Only stores with every day stay; exogenous columns are 0/1 floats."""
    df = load_rossmann(fake_dir)
    assert sorted(df["unique_id"].unique()) == ["1", "2", "3", "4", "5"]
    assert df.groupby("unique_id").size().eq(942).all()
    assert list(df.columns) == ["unique_id", "ds", "Sales", "Customers", *EXOG]
    for column in EXOG:
        assert set(df[column].unique()) <= {0.0, 1.0}
    assert (df.loc[df["closed"] > 0, "Customers"] == 0).all()
    assert df["holiday_christmas"].sum() == 5 * 2 * 2  # 25/26 Dec, 2013 and 2014


def test_loader_reports_a_missing_folder(tmp_path: Path) -> None:
    """A folder without the benchmark file says which file it looked for."""
    with pytest.raises(FileNotFoundError, match="train_stores_1_100"):
        load_rossmann(tmp_path)


@pytest.fixture(scope="module")
def customers_result(fake_dir: Path):  # type: ignore[no-untyped-def]
    """The protocol run on the synthetic Customers."""
    return run_target(load_rossmann(fake_dir), "Customers")


def test_protocol_windows_and_closed_days(customers_result, fake_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Four 28-day windows after the fixed cutoffs; closed days are forecast as 0."""
    cv = customers_result.cv
    assert sorted(pd.to_datetime(cv["cutoff"].unique()).date) == list(CUTOFFS)
    assert cv.groupby(["unique_id", "cutoff"]).size().eq(HORIZON).all()
    data = load_rossmann(fake_dir)
    merged = cv.merge(data[["unique_id", "ds", "closed"]], on=["unique_id", "ds"])
    closed = merged["closed"] > 0
    assert closed.any()
    assert (merged.loc[closed, "GlobalGBM"] == 0).all()
    assert (merged.loc[closed, "GlobalGBM-hi-80"] == 0).all()


def test_protocol_metrics(customers_result) -> None:  # type: ignore[no-untyped-def]
    """Metrics per model, per window and for December; the model beats the baseline."""
    metrics = customers_result.metrics.set_index("model")
    assert list(metrics.columns) == ["wape", "bias", "mase", "coverage_80"]
    assert metrics.loc["GlobalGBM", "wape"] < metrics.loc["SeasonalNaive", "wape"]
    assert 0.6 < metrics.loc["GlobalGBM", "coverage_80"] < 0.95
    assert list(customers_result.per_window.columns) == [c.isoformat() for c in CUTOFFS]
    december = customers_result.cv[customers_result.cv["ds"].dt.month == 12]
    assert december["cutoff"].nunique() == 1
    assert customers_result.december_wape["GlobalGBM"] > 0


def _store(uid: str, first: str, closed_days: list[str], n: int = 42) -> pd.DataFrame:
    days = pd.date_range(first, periods=n, freq="D")
    closed = days.isin(pd.to_datetime(closed_days)) | (days.day_of_week == 6)
    return pd.DataFrame({"unique_id": uid, "ds": days, "closed": closed.astype(float)})


def test_after_closure_marks_the_7_days_after_unusual_closures() -> None:
    """Weekly Sunday closures alone mark nothing; a Wed-Thu closure marks the
    7 days after Thursday; a holiday Monday joined to a Sunday counts too."""
    a = _store("a", "2015-03-02", ["2015-03-11", "2015-03-12"])  # Wed, Thu
    b = _store("b", "2015-03-02", ["2015-03-23"])  # Monday after a Sunday
    c = _store("c", "2015-03-02", [])
    data = pd.concat([a, b, c], ignore_index=True)
    marked = data[after_closure(data)]
    days = {
        uid: list(g["ds"].dt.strftime("%m-%d"))
        for uid, g in marked.groupby("unique_id")
    }
    assert days["a"] == [f"03-{d}" for d in range(13, 20)]
    assert days["b"] == [f"03-{d}" for d in range(24, 31)]
    assert "c" not in days


def test_slice_masks_december_ranges_and_windows() -> None:
    """Dec 15-24 and Dec 22-31 by calendar day; one mask per cutoff."""
    ds = pd.date_range("2014-12-01", "2014-12-28", freq="D")
    cv = pd.DataFrame(
        {"unique_id": "a", "ds": ds, "cutoff": pd.Timestamp("2014-11-30")}
    )
    data = pd.DataFrame({"unique_id": "a", "ds": ds, "closed": 0.0})
    masks = slice_masks(cv, data)
    assert list(masks) == ["pooled", *SLICES, "2014-11-30"]
    assert list(ds[masks["before_christmas"]].day) == list(range(15, 25))
    assert list(ds[masks["before_new_year"]].day) == list(range(22, 29))
    assert masks["2014-11-30"].all() and not masks["after_closure"].any()


def test_slice_metrics_counts_the_share_above_each_quantile() -> None:
    """Share above P80 / P90 and coverage on open days; WAPE on all days."""
    cv = pd.DataFrame(
        {
            "y": [10.0, 20.0, 30.0, 40.0, 0.0],
            "m": [10.0, 10.0, 10.0, 10.0, 0.0],
            "m-lo-80": [5.0, 5.0, 5.0, 5.0, 0.0],
            "m-hi-80": [15.0, 25.0, 35.0, 35.0, 0.0],
            "m-hi-60": [12.0, 15.0, 35.0, 30.0, 0.0],
        }
    )
    open_days = np.array([True, True, True, True, False])
    masks = {"pooled": np.ones(5, bool), "some": np.array([1, 1, 0, 0, 1], bool)}
    out = slice_metrics(cv, ["m"], masks, open_days).set_index("slice")
    assert out.loc["pooled", "wape"] == pytest.approx(60 / 100)
    assert out.loc["pooled", "coverage_80"] == pytest.approx(3 / 4)
    assert out.loc["pooled", "above_p80"] == pytest.approx(2 / 4)
    assert out.loc["pooled", "above_p90"] == pytest.approx(1 / 4)
    assert out.loc["some", "open_days"] == 2 and out.loc["some", "days"] == 3
    assert out.loc["some", "above_p80"] == pytest.approx(1 / 2)
    assert out.loc["some", "wape"] == pytest.approx(10 / 30)


def test_pooled_figures_match_the_plain_evaluation(
    customers_result: TargetResult, fake_dir: Path
) -> None:
    """The extra P80 level and the peer leave the pooled metrics as a
    cross-validation at the 80 % level alone scores them, and the pooled
    slice repeats them."""
    data = load_rossmann(fake_dir)
    frame = data[["unique_id", "ds", "Customers", *EXOG]].rename(
        columns={"Customers": "y"}
    )
    models, fallback = benchmark_models()
    models = models[:2]  # seasonal naive and GlobalGBM, as before the peers
    cv = Forecaster(
        models, fallback_model=fallback, closed_col="closed"
    ).cross_validation(frame, HORIZON, cutoffs=CUTOFFS, level=[80])
    keys = cv[["unique_id", "ds"]].merge(frame, on=["unique_id", "ds"], how="left")
    before = evaluate(
        cv,
        frame[["unique_id", "ds", "y"]],
        [m.alias for m in models],
        level=80,
        interval_mask=keys["closed"].to_numpy() < 0.5,
    ).set_index("model")
    now = customers_result.metrics.set_index("model")
    for alias in before.index:
        for column in before.columns:
            assert now.loc[alias, column] == before.loc[alias, column], (alias, column)
    pooled = customers_result.slices.set_index(["model", "slice"])
    for alias in now.index:
        assert pooled.loc[(alias, "pooled"), "wape"] == now.loc[alias, "wape"]
        assert (
            pooled.loc[(alias, "pooled"), "coverage_80"]
            == now.loc[alias, "coverage_80"]
        )


def test_bench_command_writes_json(fake_dir: Path, tmp_path: Path) -> None:
    """`bench forecast --json` prints the table and writes per-target metrics."""
    app = typer.Typer()
    app.command()(bench_forecast_command)
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        app, ["--data-dir", str(fake_dir), "--json", str(out), "--target", "Customers"]
    )
    assert result.exit_code == 0, result.output
    assert "Customers" in result.output and "5 stores" in result.output
    data = json.loads(out.read_text())
    model = data["targets"]["Customers"]["models"]["GlobalGBM"]
    assert set(model) >= {"wape", "wape_december", "bias", "mase", "coverage_80"}
    assert data["protocol"]["cutoffs"] == [c.isoformat() for c in CUTOFFS]
    assert set(model["slices"]) == {"pooled", *SLICES}
    assert set(model["windows"]) == {c.isoformat() for c in CUTOFFS}
    assert set(model["slices"]["pooled"]) >= {"wape", "coverage_80", "above_p80"}
    assert "LightGBM" in data["targets"]["Customers"]["models"]
    assert data["peers"]["quoted"] == dict(QUOTED)
    assert "on the hard days" in result.output
    assert "peers run in this backtest" in result.output and "quoted" in result.output


def test_bench_command_rejects_unknown_target(fake_dir: Path) -> None:
    """An unknown --target exits with code 2 and names the choices."""
    app = typer.Typer()
    app.command()(bench_forecast_command)
    result = CliRunner().invoke(
        app, ["--data-dir", str(fake_dir), "--target", "Profit"]
    )
    assert result.exit_code == 2
    assert "Customers" in result.output


def test_bench_command_reports_missing_data(tmp_path: Path) -> None:
    """A wrong --data-dir exits with code 2 naming the file."""
    app = typer.Typer()
    app.command()(bench_forecast_command)
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "train_stores_1_100" in result.output


@pytest.mark.slow
@pytest.mark.skipif(
    not (default_data_dir() / "train_stores_1_100.csv.gz").is_file(),
    reason="the Rossmann benchmark file is not next to the repository",
)
def test_real_benchmark_meets_the_targets() -> None:
    """On the real stores: WAPE and 80 % coverage within the issue's targets."""
    result = run_backtest()
    customers = result.targets["Customers"].metrics.set_index("model")
    sales = result.targets["Sales"].metrics.set_index("model")
    assert customers.loc["GlobalGBM", "wape"] <= 0.085
    assert sales.loc["GlobalGBM", "wape"] <= 0.105
    for frame in (customers, sales):
        assert 0.77 <= frame.loc["GlobalGBM", "coverage_80"] <= 0.83
    # The time is measured in benchmarks/RESULTS.md, not asserted here.
    assert result.seconds > 0
