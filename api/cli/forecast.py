"""``milepost forecast``: zones' orders for the next weeks and the fleet they need."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import console, no_plan, option_day, out
from api.cli.common import error as _error

if TYPE_CHECKING:
    from rich.table import Table

    from scenarios.forecast_report import ForecastReport
    from scenarios.history import DemandHistory

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

    from forecasting.core import BACKLOG_SUFFIX
    from scenarios.forecast_report import MAIN

    fleet = report.fleet
    depots = sorted(fleet["depot"].unique().tolist())
    fallbacks = fleet["fallback"].dropna()
    backlog = f"{MAIN}{BACKLOG_SUFFIX}"
    carried: set[tuple[str, object]] = set()
    if backlog in report.depots:
        catch_up = report.depots[report.depots[backlog] > 0]
        carried = set(zip(catch_up["unique_id"], catch_up["ds"], strict=True))
    notes = []
    if not fallbacks.empty:
        notes.append(
            "* sized on a plan found by a fallback: "
            + ", ".join(sorted(set(fallbacks.astype(str))))
            + " (docs/concepts.md)"
        )
    if carried:
        notes.append(
            "^ the first open day after a closure: it carries the orders taken"
        )
    table = Table(
        title=f"Fleet per depot for the P{report.plan_quantile} demand: "
        "deliveries, vans + night vans, driver-hours",
        title_justify="left",
        caption="\n".join(notes) or None,
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
            up = "^" if (depot, row["ds"]) in carried else ""
            cells.append(
                f"{row['orders']:.0f}{up}  {row['vans']:.0f}+{row['night_vans']:.0f}  "
                f"{row['driver_hours']:.0f}h{mark}"
            )
        total = int(day["vans"].sum() + day["night_vans"].sum())
        table.add_row(f"{day['ds'].iloc[0]:%a %m-%d}", *cells, str(total))
    return table


def forecast_command(
    days: Annotated[int, typer.Option(min=1, max=90, help="days ahead")] = 28,
    start: Annotated[
        str | None,
        typer.Option(
            metavar="YYYY-MM-DD",
            help="first forecast day [default: tomorrow in the deployment's "
            "timezone with a stored history; the day after the embedded city's]",
        ),
    ] = None,
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
    """Forecast the zones and size the fleet with the routing engine.

    The orders stored in the service's database (milepost history import)
    when there are any, else the embedded city's.
    """
    from scenarios.forecast_report import plan_column

    try:
        plan_column(plan_quantile)
    except ValueError as exc:
        raise _error(f"--plan-quantile: {exc}") from None
    first = _start(start)
    stored = _stored_history(seed)
    chosen = _zones(zone, None if stored is None else stored.zone_names())
    options = {
        "days": days,
        "level": level,
        "plan_quantile": plan_quantile,
        "seed": seed,
        "time_limit": time_limit,
    }
    if stored is None:
        report = _report(out_dir, start=first, n_customers=customers, **options)
    else:
        report = _stored_report(out_dir, stored, first, **options)
    _print_report(report, chosen)


def _print_report(report: ForecastReport, chosen: list[str]) -> None:
    """The zones (``chosen``, else the 5 busiest), the fleet, notes, files."""
    from scenarios.forecast_report import MAIN

    if not chosen:
        totals = report.zones.groupby("unique_id")[MAIN].sum()
        chosen = totals.sort_values(ascending=False).index[:5].tolist()
    out.print(zone_table(report, chosen))
    for line in _notes(report):
        out.print(line, highlight=False, soft_wrap=True)
    if not report.fleet.empty:
        out.print(fleet_table(report))
    for note in report.notes:
        out.print(f"note: {note}", highlight=False, soft_wrap=True)
    for name, path in report.files.items():
        out.print(f"{name:>7}: {path}")


def _start(value: str | None) -> dt.date | None:
    """``--start`` as a date, or exit 2."""
    return option_day(value, "--start")


def _zones(zone: list[str] | None, known: list[str] | None) -> list[str]:
    """The ``--zone`` values (comma-separated or repeated), each known, or exit 2."""
    from scenarios.city import DISTRICTS

    names = known if known is not None else sorted(d.name for d in DISTRICTS)
    chosen = [z.strip() for item in (zone or []) for z in item.split(",") if z.strip()]
    unknown = [z for z in chosen if z not in names]
    if unknown:
        raise _error(
            f"--zone: unknown {', '.join(unknown)}; zones are {', '.join(names)}"
        )
    return chosen


def _stored_history(seed: int) -> DemandHistory | None:
    """The stored orders counted per day, or None: no database file, no
    history table (an older schema) or no rows. Never creates a database."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from api.db.engine import make_engine, make_sessionmaker
    from api.services.history import deployment_timezone, stored_demand
    from api.settings import get_settings

    settings = get_settings()
    url = settings.database_url
    parsed = make_url(url)
    if (
        parsed.get_backend_name() == "sqlite"
        and not Path(parsed.database or "").is_file()
    ):
        return None
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table("order_history"):
            return None
        with make_sessionmaker(engine, settings.locale)() as session:
            return stored_demand(session, deployment_timezone(session), seed=seed)
    except SQLAlchemyError as exc:
        raise _error(
            f"cannot read the stored history at {parsed.render_as_string()}: "
            f"{str(exc).splitlines()[0]} (unset MILEPOST_DATABASE_URL to forecast "
            "the embedded city)"
        ) from None
    finally:
        engine.dispose()


def _report(out_dir: Path, **options: Any) -> ForecastReport:
    """The embedded city's report; exit 2 when --start is out of its history,
    exit 1 naming the depot level that got no plan."""
    from routing.solver import NoPlanFound
    from scenarios.capacity import LevelUnplanned
    from scenarios.forecast_report import run_forecast_report
    from scenarios.run import LATEST_FROM, earliest_from

    start = options["start"]
    if start is not None:
        first, last = earliest_from(options["days"]), LATEST_FROM
        if not first <= start <= last:
            raise _error(
                f"--start: the embedded city's forecast starts within {first} .. "
                f"{last} for {options['days']} days (import your own orders "
                "with milepost history import to forecast other dates)"
            )

    try:
        return run_forecast_report(
            out_dir,
            on_stage=lambda text: console.print(f"[dim]-[/] {text}"),
            **options,
        )
    except (LevelUnplanned, NoPlanFound) as exc:
        raise no_plan(exc) from None


def _stored_report(
    out_dir: Path, stored: DemandHistory, first: dt.date | None, **options: Any
) -> ForecastReport:
    """The stored operation's report; exit 2 naming --start or --days when the
    history does not allow them, exit 1 when a depot level got no plan."""
    from pydantic import ValidationError

    from api.services.history import tomorrow
    from api.settings import get_settings
    from routing.solver import NoPlanFound
    from scenarios.capacity import LevelUnplanned
    from scenarios.run import ForecastSpec
    from scenarios.stored_report import stored_report

    try:
        spec = ForecastSpec.model_validate(
            {
                "history": stored,
                "horizon": options["days"],
                "from": first or tomorrow(get_settings().locale.zone),
                "level": options["level"],
                "plan_quantile": options["plan_quantile"],
                "seed": options["seed"],
                "time_limit": options["time_limit"],
            }
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        option = {"from": "--start", "horizon": "--days"}.get(
            str(err["loc"][0]), f"--{str(err['loc'][0]).replace('_', '-')}"
        )
        raise _error(f"{option}: {err['msg'].removeprefix('Value error, ')}") from None
    console.print(
        f"[dim]-[/] the stored history: {stored.first} .. {stored.last}, "
        f"{len(stored.zones)} zones"
    )
    try:
        return stored_report(
            out_dir, spec, on_stage=lambda text: console.print(f"[dim]-[/] {text}")
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
