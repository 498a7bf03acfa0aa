"""Command line: plan Amazon challenge routes and compare them with the drivers'.

:func:`amazon_command` is a plain typer command function; the ``milepost``
application mounts it. The library side is :mod:`routing.io.amazon`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from routing.bench.amazon import Comparison, compare, comparison_to_json
from routing.io import InputError, write_json
from routing.io.amazon import (
    DEFAULT_DETOUR,
    DEFAULT_FOLDER,
    DEFAULT_SPEED_KMH,
    amazon_travel,
    list_routes,
    read_routes,
)
from routing.units import HOUR

console = Console(stderr=True)
out = Console()

#: (Markdown header, terminal header) per column; the first two are text.
COLUMNS = (
    ("route", "route"),
    ("station", "stn"),
    ("stops", "stops"),
    ("ours km", "km\nours"),
    ("driver km", "km\ndriver"),
    ("ours/driver", "ratio"),
    ("ours h", "h\nours"),
    ("driver h", "h\ndriver"),
    ("ours late", "late\nours"),
    ("driver late", "late\ndriver"),
    ("checker (ours)", "check"),
)


def _short(route_id: str) -> str:
    return route_id.removeprefix("RouteID_")[:8]


def resolve_route_ids(known: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """Match ``wanted`` ids against ``known``: exact, or a unique prefix.

    A prefix may omit ``RouteID_`` (``15baae2d`` finds
    ``RouteID_15baae2d-...``).

    Raises
    ------
    InputError
        Listing every id that matches no route or several.
    """
    found: list[str] = []
    errors: list[str] = []
    for w in wanted:
        if w in known:
            found.append(w)
            continue
        hits = [k for k in known if k.startswith(w) or k.startswith("RouteID_" + w)]
        if len(hits) == 1:
            found.append(hits[0])
        elif hits:
            errors.append(f"route {w!r} is ambiguous ({len(hits)} routes match)")
        else:
            errors.append(f"unknown route id {w!r}")
    if errors:
        raise InputError("--route", errors)
    return found


def _late(violations: int, minutes: float) -> str:
    return f"{violations} ({minutes:.0f}m)" if violations else "0"


def _rows(comparisons: Sequence[Comparison]) -> list[list[str]]:
    rows = []
    for c in comparisons:
        o, d = c.ours, c.driver
        rows.append(
            [
                _short(c.route.route_id),
                c.route.station_code,
                str(c.route.n_stops),
                f"{o.distance / 1000:.1f}",
                f"{d.distance / 1000:.1f}",
                f"{c.distance_ratio:.3f}",
                f"{o.duration / HOUR:.2f}",
                f"{d.duration / HOUR:.2f}",
                _late(o.window_violations, o.minutes_late),
                _late(d.window_violations, d.minutes_late),
                "ok" if o.feasible else "FAIL",
            ]
        )
    if comparisons:
        ours_m = sum(c.ours.distance for c in comparisons)
        drv_m = sum(c.driver.distance for c in comparisons)
        feasible = sum(c.ours.feasible for c in comparisons)
        rows.append(
            [
                f"total ({len(comparisons)})",
                "",
                str(sum(c.route.n_stops for c in comparisons)),
                f"{ours_m / 1000:.1f}",
                f"{drv_m / 1000:.1f}",
                f"{ours_m / drv_m:.3f}" if drv_m else "-",
                f"{sum(c.ours.duration for c in comparisons) / HOUR:.2f}",
                f"{sum(c.driver.duration for c in comparisons) / HOUR:.2f}",
                str(sum(c.ours.window_violations for c in comparisons)),
                str(sum(c.driver.window_violations for c in comparisons)),
                f"{feasible}/{len(comparisons)} ok",
            ]
        )
    return rows


def comparison_table(comparisons: Sequence[Comparison]) -> Table:
    """Ours against the driver's, one row per route and a total row."""
    table = Table(
        title="Our plan vs the driver's actual sequence",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 0),
    )
    for k, (_, name) in enumerate(COLUMNS):
        table.add_column(name, justify="left" if k < 2 else "right", no_wrap=True)
    rows = _rows(comparisons)
    for k, row in enumerate(rows):
        table.add_row(*row, end_section=k == len(rows) - 2)
    return table


def markdown_report(
    comparisons: Sequence[Comparison],
    *,
    time_limit: float,
    detour: float,
    speed: float,
) -> str:
    """The comparison as a Markdown document (the same table, plus the model)."""
    warm = sum(c.warm_start for c in comparisons)
    lines = [
        "# Amazon Last Mile routes: our plan vs the driver's",
        "",
        f"Travel model for both routes: great-circle distance x {detour:g} at "
        f"{speed:g} km/h. Times are local to each station. Our plan: OR-Tools, "
        f"objective distance, {time_limit:g} s per route; the search started from "
        f"the driver's sequence on {warm} of {len(comparisons)} routes. *late* "
        "counts stops whose service starts outside their window (total minutes "
        "past the end).",
        "",
        "| " + " | ".join(name for name, _ in COLUMNS) + " |",
        "| " + " | ".join("---" if k < 2 else "---:" for k in range(11)) + " |",
    ]
    rows = _rows(comparisons)
    for k, row in enumerate(rows):
        cells = [f"**{c}**" if c and k == len(rows) - 1 else c for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    missed = [c for c in comparisons if not c.meets_target]
    lines += [
        "",
        f"Routes where ours is feasible, on time and no longer than the driver's: "
        f"{len(comparisons) - len(missed)} of {len(comparisons)}.",
    ]
    if missed:
        lines.append("Missed: " + ", ".join(c.route.route_id for c in missed) + ".")
    return "\n".join(lines) + "\n"


def amazon_command(
    folder: Annotated[
        Path,
        typer.Option(help="challenge data folder (new_route_data.json etc.)"),
    ] = DEFAULT_FOLDER,
    route: Annotated[
        list[str] | None,
        typer.Option(
            "--route", "-r", help="route id or unique prefix; repeat; default all"
        ),
    ] = None,
    time_limit: Annotated[
        float, typer.Option(min=0.1, help="seconds of search per route")
    ] = 10.0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the comparison as JSON")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="write a Markdown report (FILE.md)")
    ] = None,
    speed: Annotated[
        float, typer.Option(min=1.0, help="driving speed, km/h")
    ] = DEFAULT_SPEED_KMH,
    detour: Annotated[
        float, typer.Option(min=1.0, help="road km per straight-line km")
    ] = DEFAULT_DETOUR,
    warm_start: Annotated[
        bool,
        typer.Option(help="start the search from the driver's sequence when on time"),
    ] = True,
) -> None:
    """Plan Amazon Last Mile challenge routes and compare with the drivers'."""
    if not folder.is_dir():
        console.print(f"[bold red]error[/]: {folder}: no such data folder")
        raise typer.Exit(code=2)
    try:
        known = list_routes(folder)
        ids = resolve_route_ids(known, route) if route else known
        routes = read_routes(folder, ids)
    except InputError as exc:
        console.print(f"[bold red]error[/]: {exc.source}: invalid input")
        for line in exc.lines:
            console.print(f"  {line}", markup=False, highlight=False)
        raise typer.Exit(code=2) from None

    travel = amazon_travel(detour=detour, speed_kmh=speed)
    comparisons: list[Comparison] = []
    for k, r in enumerate(routes, start=1):
        console.print(
            f"[{k}/{len(routes)}] {r.route_id} ({r.station_code}, "
            f"{r.n_stops} stops): planning {time_limit:g} s...",
            highlight=False,
        )
        comparisons.append(
            compare(r, travel, time_limit=time_limit, warm_start=warm_start)
        )
    out.print(comparison_table(comparisons))
    for c in comparisons:
        if not c.ours.feasible:
            out.print(f"{c.route.route_id}: checker: {c.ours.checker}")
    if json_out is not None:
        write_json(
            {
                "travel": {"detour": detour, "speed_kmh": speed},
                "time_limit": time_limit,
                "routes": [comparison_to_json(c) for c in comparisons],
            },
            json_out,
        )
        out.print(f"comparison written to {json_out}")
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(
            markdown_report(
                comparisons, time_limit=time_limit, detour=detour, speed=speed
            ),
            encoding="utf-8",
        )
        out.print(f"report written to {report}")
    if not all(c.ours.feasible for c in comparisons):
        raise typer.Exit(code=1)
