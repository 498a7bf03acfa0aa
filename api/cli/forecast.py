"""``milepost forecast``: zones' orders for the next weeks and the fleet they need."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import console, no_plan, out
from api.cli.common import error as _error

if TYPE_CHECKING:
    from rich.table import Table

    from scenarios.forecast_report import ForecastReport

__all__ = ["fleet_table", "forecast_command", "zone_table"]


def zone_table(report: ForecastReport, zones: list[str]) -> Table:
    """Rows are days, columns the chosen zones: ``P50 (lo-hi)``."""
    from rich.table import Table

    from scenarios.forecast_report import MAIN

    lv = report.level
    table = Table(
        title=f"Orders per zone: forecast ({lv} % interval)", title_justify="left"
    )
    table.add_column("day")
    for zone in zones:
        table.add_column(zone, justify="right")
    frame = report.zones
    for _, day in frame.groupby("ds", sort=True):
        cells = []
        for zone in zones:
            row = day[day["unique_id"] == zone].iloc[0]
            cells.append(
                f"{row[MAIN]:.0f} ({row[f'{MAIN}-lo-{lv}']:.0f}-"
                f"{row[f'{MAIN}-hi-{lv}']:.0f})"
            )
        table.add_row(f"{day['ds'].iloc[0]:%a %m-%d}", *cells)
    return table


def fleet_table(report: ForecastReport) -> Table:
    """Rows are days; per depot: planned demand, vans + night vans, driver-hours."""
    import pandas as pd
    from rich.table import Table

    fleet = report.fleet
    depots = sorted(fleet["depot"].unique().tolist())
    fallbacks = fleet["fallback"].dropna()
    table = Table(
        title=f"Fleet per depot for the P{report.plan_quantile} demand: "
        "deliveries, vans + night vans, driver-hours",
        title_justify="left",
        caption=None
        if fallbacks.empty
        else "* sized on a plan found by a fallback: "
        + ", ".join(sorted(set(fallbacks.astype(str))))
        + " (docs/concepts.md)",
        caption_justify="left",
    )
    table.add_column("day")
    for depot in depots:
        table.add_column(depot, justify="right")
    table.add_column("vans", justify="right")
    for _, day in fleet.groupby("ds", sort=True):
        cells = []
        for depot in depots:
            row = day[day["depot"] == depot].iloc[0]
            if row["orders"] <= 0:
                cells.append("closed")
                continue
            # A plan found by a fallback (more search time, insertion) says so.
            mark = "" if pd.isna(row["fallback"]) else "*"
            cells.append(
                f"{row['orders']:.0f}  {row['vans']:.0f}+{row['night_vans']:.0f}  "
                f"{row['driver_hours']:.0f}h{mark}"
            )
        total = int(day["vans"].sum() + day["night_vans"].sum())
        table.add_row(f"{day['ds'].iloc[0]:%a %m-%d}", *cells, str(total))
    return table


def forecast_command(
    days: Annotated[int, typer.Option(min=1, max=28, help="days ahead")] = 28,
    level: Annotated[
        int, typer.Option(min=1, max=99, help="interval level shown, percent")
    ] = 80,
    plan_quantile: Annotated[
        int,
        typer.Option(min=1, max=99, help="demand quantile the fleet is sized for"),
    ] = 80,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="folder for the CSV files and chart")
    ] = Path("milepost-forecast"),
    seed: Annotated[int, typer.Option(help="city, model and sampling seed")] = 0,
    customers: Annotated[
        int, typer.Option(min=500, help="customer slots of the embedded city")
    ] = 8_000,
    zone: Annotated[
        list[str] | None,
        typer.Option(help="zones to print (repeat) [default: the 5 busiest]"),
    ] = None,
    time_limit: Annotated[
        float, typer.Option(min=0.1, help="seconds of route search per fleet solve")
    ] = 1.0,
) -> None:
    """Forecast the embedded city's zones and size the fleet with the routing engine."""
    from scenarios.city import DISTRICTS
    from scenarios.forecast_report import MAIN, plan_column

    try:
        plan_column(plan_quantile)
    except ValueError as exc:
        raise _error(f"--plan-quantile: {exc}") from None
    known = sorted(d.name for d in DISTRICTS)
    chosen = [z.strip() for item in (zone or []) for z in item.split(",") if z.strip()]
    unknown = [z for z in chosen if z not in known]
    if unknown:
        raise _error(
            f"--zone: unknown {', '.join(unknown)}; zones are {', '.join(known)}"
        )
    report = _report(
        out_dir,
        days=days,
        level=level,
        plan_quantile=plan_quantile,
        seed=seed,
        n_customers=customers,
        time_limit=time_limit,
    )
    if not chosen:
        totals = report.zones.groupby("unique_id")[MAIN].sum()
        chosen = totals.sort_values(ascending=False).index[:5].tolist()
    out.print(zone_table(report, chosen))
    for line in _notes(report):
        out.print(line, highlight=False)
    out.print(fleet_table(report))
    for name, path in report.files.items():
        out.print(f"{name:>7}: {path}")


def _report(out_dir: Path, **options: Any) -> ForecastReport:
    """The forecast report, or exit 1 naming the depot level that got no plan."""
    from routing.solver import NoPlanFound
    from scenarios.capacity import LevelUnplanned
    from scenarios.forecast_report import run_forecast_report

    try:
        return run_forecast_report(
            out_dir,
            on_stage=lambda text: console.print(f"[dim]-[/] {text}"),
            **options,
        )
    except (LevelUnplanned, NoPlanFound) as exc:
        raise no_plan(exc) from None


def _notes(report: ForecastReport) -> list[str]:
    """The skill line and one line per series a fallback model forecast."""
    skill = _skill(report)
    return ([] if skill is None else [skill]) + [
        f"{f.unique_id}: forecast by {f.used}, not {f.model} ({f.reason})"
        for f in report.fallbacks
    ]


def _skill(report: ForecastReport) -> str | None:
    """How different the global model is from the seasonal-naive baseline."""
    from scenarios.forecast_report import BASELINE, MAIN

    zones = report.zones
    if BASELINE not in zones:
        return None
    total = zones[MAIN].sum()
    base = zones[BASELINE].sum()
    return (
        f"all zones, {report.days} days: {total:,.0f} orders forecast "
        f"({BASELINE}: {base:,.0f})"
    )
