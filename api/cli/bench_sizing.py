"""``milepost bench sizing``: a year of fleets booked on P50, P80 and P90 against
what the days needed (:mod:`scenarios.sizing_backtest`)."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import console, no_plan, out
from api.cli.common import error as _error

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from scenarios.city import City

__all__ = [
    "bench_sizing_command",
    "hard_day_table",
    "parse_quantiles",
    "sizing_table",
]

#: ``scenarios.sizing_backtest.QUANTILES``, ``SPAN`` and ``STEP``, repeated so
#: that the help stays cheap (tests/api/cli keeps them equal).
QUANTILES = (50, 80, 90)
SPAN = 365
STEP = 28


def parse_quantiles(value: str) -> tuple[int, ...]:
    """``--quantiles`` (comma-separated whole numbers within 1..99), or exit 2."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    bad = [p for p in parts if not p.isdigit() or not 1 <= int(p) <= 99]
    if not parts or bad:
        shown = ", ".join(bad) if bad else repr(value)
        raise _error(
            f"--quantiles: {shown} is not a quantile; give whole numbers within "
            "1..99, comma-separated (e.g. 50,80,90)"
        )
    return tuple(sorted({int(p) for p in parts}))


def sizing_table(summary: pd.DataFrame, title: str) -> Table:
    """One row per scope and quantile: short days, orders left over, idle vans."""
    from rich.table import Table

    table = Table(
        title=title,
        title_justify="left",
        caption="short: depot-days booked below what the actual needed; left over: "
        "orders beyond the booked fleet on those days; idle: van-days booked "
        "beyond the need; booked, needed: mean vans per depot-day",
        caption_justify="left",
    )
    for name, justify in (
        ("scope", "left"),
        ("on", "left"),
        ("days", "right"),
        ("short", "right"),
        ("short %", "right"),
        ("left over", "right"),
        ("idle", "right"),
        ("booked", "right"),
        ("needed", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    previous = None
    for row in summary.to_dict(orient="records"):
        scope = str(row["scope"])
        if previous is not None and scope != previous:
            table.add_section()
        table.add_row(
            scope if scope != previous else "",
            f"P{row['quantile']}",
            f"{row['depot_days']:,}",
            f"{row['short_days']:,}",
            f"{100 * row['short_share']:.1f}",
            f"{row['left_over']:,.0f}",
            f"{row['idle_van_days']:,}",
            f"{row['booked_vans']:.2f}",
            f"{row['needed_vans']:.2f}",
        )
        previous = scope
    return table


def _figure(by: pd.DataFrame, name: str, column: str) -> str:
    """One slice's figure, ``-`` when the slice had no days."""
    if name not in by.index:
        return "-"
    value = float(by[column].get(name, math.nan))
    return "-" if math.isnan(value) else f"{value:.3f}"


def hard_day_table(hard: pd.DataFrame) -> Table:
    """Per depot (and all): WAPE, 80 % coverage and share above the P80 /
    P90, pooled and on the hard days."""
    from rich.table import Table

    table = Table(
        title="Forecasts on the hard days: WAPE (all days); cover 80, above P80 / "
        "P90 (open days; nominal 0.80, 0.20, 0.10)",
        title_justify="left",
    )
    slices = ["pooled", "after_closure", "before_christmas", "before_new_year"]
    table.add_column("depot")
    table.add_column("figure")
    for name in slices:
        table.add_column(name.replace("_", " "), justify="right")
    for depot, rows in hard.groupby("depot", sort=False):
        by = rows.set_index("slice")
        for label, column in (
            ("WAPE", "wape"),
            ("cover 80", "coverage_80"),
            ("above P80", "above_p80"),
            ("above P90", "above_p90"),
        ):
            cells = [_figure(by, name, column) for name in slices]
            table.add_row(str(depot) if label == "WAPE" else "", label, *cells)
    days = hard[hard["depot"] == "all"].set_index("slice")["open_days"]
    table.add_row("", "open days", *[str(int(days.get(n, 0))) for n in slices])
    return table


def bench_sizing_command(
    customers: Annotated[
        int, typer.Option(min=500, help="customer slots of the embedded city")
    ] = 8_000,
    seed: Annotated[int, typer.Option(help="city, model and order-draw seed")] = 0,
    quantiles: Annotated[
        str,
        typer.Option(help="forecast quantiles to book the fleet on, comma-separated"),
    ] = ",".join(map(str, QUANTILES)),
    span: Annotated[
        int, typer.Option(min=STEP, help="days of history backtested (the last ones)")
    ] = SPAN,
    time_limit: Annotated[
        float,
        typer.Option(min=0.1, help="seconds of route search per orders-per-van solve"),
    ] = 1.0,
    json_file: Annotated[
        Path | None,
        typer.Option("--json", help="write the summary and every depot-day here"),
    ] = None,
) -> None:
    """Backtest fleet sizing on forecast quantiles over the embedded city's last year.

    For each quantile: the open depot-days the booked fleet would have been
    short (orders left over) against the idle van-days, with the catch-up
    days after closures apart and each depot.
    """
    chosen = parse_quantiles(quantiles)
    began = time.perf_counter()
    result = _backtest(customers, seed, chosen, span, time_limit)
    summary = result.pop("summary_frame")
    catch_up = sum(1 for d in result["days"] if d["catch_up"]) // len(chosen)
    out.print(
        sizing_table(
            summary,
            f"Fleet booked on each quantile, {result['first']} .. {result['last']} "
            f"(open depot-days; {catch_up} catch-up days after closures)",
        )
    )
    peer = result.pop("baseline_summary")
    out.print(
        sizing_table(
            peer,
            f"Peer: the same fleets booked on the {result['baseline']} baseline's "
            "quantiles (its conformal intervals)",
        )
    )
    result["baseline_summary"] = peer.to_dict(orient="records")
    hard = result.pop("hard_days_frame")
    out.print(hard_day_table(hard))
    result["hard_days"] = hard.to_dict(orient="records")
    result["seconds"] = round(time.perf_counter() - began, 1)
    _footer(result, json_file)


def _footer(result: dict[str, Any], json_file: Path | None) -> None:
    """The rates, the models that forecast, the time; the JSON file."""
    out.print(
        "vans = ceil(orders / orders per van), measured per depot: "
        + ", ".join(f"{d} {r:.1f}" for d, r in result["orders_per_van"].items())
        + f"; {result['seconds']:.0f} s",
        highlight=False,
    )
    for model, part in result["models"].items():
        out.print(
            f"forecast by {model}: {part['depot_days']} depot-days "
            f"({part['first']} .. {part['last']})",
            highlight=False,
        )
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(json.dumps(result, indent=2) + "\n")
        out.print(f"results: {json_file}")


def _forecasts(
    city: City,
    history: pd.DataFrame,
    chosen: tuple[int, ...],
    span: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The backtest's forecasts by the global model and by the seasonal-naive
    baseline (the peer), closures carrying the orders of their days as in
    ``milepost forecast``; exit 2 naming --span when the history is too short."""
    from scenarios.forecast_report import BASELINE, city_carried
    from scenarios.sizing_backtest import HARD_QUANTILES, backtest_forecasts

    def orders_at(past: pd.DataFrame, start: dt.date, days: int) -> pd.DataFrame | None:
        return city_carried(city, past, start, days, seed)

    # The hard-day report reads the 80 % interval and the P80 too.
    wanted = tuple(sorted(set(chosen) | set(HARD_QUANTILES)))
    try:
        main = backtest_forecasts(
            history, wanted, span=span, step=STEP, seed=seed, orders_at=orders_at
        )
    except ValueError as exc:
        raise _error(f"--span: {exc}") from None
    naive = backtest_forecasts(
        history, chosen, span=span, step=STEP, seed=seed, alias=BASELINE
    )
    return main, naive


def _stage(text: str) -> None:
    console.print(f"[dim]-[/] {text}", highlight=False)


def _backtest(
    customers: int, seed: int, chosen: tuple[int, ...], span: int, time_limit: float
) -> dict[str, Any]:
    """Build the city, forecast the span, measure the rates, score; exit 1
    when a rate's level got no plan."""
    from routing.solver import NoPlanFound
    from scenarios.capacity import LevelUnplanned
    from scenarios.city import build_city
    from scenarios.forecast_report import BASELINE, depot_history
    from scenarios.sizing_backtest import (
        hard_days,
        measure_rates,
        score_sizing,
        summarise,
    )

    _stage(f"building the embedded Seoul city ({customers:,} customer slots)")
    city = build_city(seed=seed, n_customers=customers)
    history = depot_history(city)
    _stage(f"forecasting each depot-day of the last {span} days, origins {STEP} apart")
    forecasts, naive = _forecasts(city, history, chosen, span, seed)
    first = forecasts["ds"].min().date()
    _stage("measuring orders per van of each depot with the routing engine")
    try:
        rates = measure_rates(
            city,
            history,
            before=first,
            time_limit=time_limit,
            seed=seed,
            on_depot=lambda d, rate: _stage(f"  {d}: {rate:.1f} orders per van"),
        )
    except (LevelUnplanned, NoPlanFound) as exc:
        raise no_plan(exc) from None
    days = score_sizing(forecasts, rates, chosen)
    summary = summarise(days)
    peer = summarise(score_sizing(naive, rates, chosen))
    return {
        "customers": customers,
        "seed": seed,
        "quantiles": list(chosen),
        "first": first.isoformat(),
        "last": forecasts["ds"].max().date().isoformat(),
        "orders_per_van": dict(rates.per_van),
        "models": _models(forecasts),
        "summary": summary.to_dict(orient="records"),
        "days": json.loads(
            days.assign(ds=days["ds"].dt.strftime("%Y-%m-%d")).to_json(orient="records")
        ),
        "summary_frame": summary,
        "hard_days_frame": hard_days(forecasts),
        "baseline": BASELINE,
        "baseline_summary": peer[peer["scope"].isin(["all", "catch-up"])],
    }


def _models(forecasts: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Depot-days each model forecast, and their first and last day."""
    spans = forecasts.groupby("model")["ds"].agg(["count", "min", "max"])
    return {
        str(name): {
            "depot_days": int(row["count"]),
            "first": f"{row['min']:%Y-%m-%d}",
            "last": f"{row['max']:%Y-%m-%d}",
        }
        for name, row in spans.iterrows()
    }
