"""Command line: plan Amazon challenge routes and compare them with the drivers'.

:func:`amazon_command` is a plain typer command function; the ``milepost``
application mounts it. The library side is :mod:`routing.io.amazon`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import console, fail, no_plan, out

if TYPE_CHECKING:
    from rich.table import Table

    from routing.bench.amazon import Comparison
    from routing.io.amazon import AmazonRoute

__all__ = ["amazon_command", "comparison_table", "markdown_report", "resolve_route_ids"]

#: ``routing.io.amazon``'s defaults, repeated so that the help stays cheap
#: (tests/api/cli keeps them equal).
DEFAULT_SPEED_KMH = 40.0
DEFAULT_DETOUR = 1.4
DEFAULT_FOLDER_HELP = "../shared/datasets/amazon_lmrrc_sample/rc_sample_13_routes"

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
        Listing every id that matches no route or several, then the valid ids.
    """
    from routing.io import InputError

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
        shown = ", ".join(_short(k) for k in known[:20])
        more = f" and {len(known) - 20} more" if len(known) > 20 else ""
        errors.append(
            f"valid ids (or a unique prefix of one, RouteID_ may be left out): "
            f"{shown}{more}"
        )
        raise InputError("--route", errors)
    return found


def _late(violations: int, minutes: float) -> str:
    return f"{violations} ({minutes:.0f}m)" if violations else "0"


def _rows(comparisons: Sequence[Comparison]) -> list[list[str]]:
    from routing.units import HOUR

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
    from rich import box
    from rich.table import Table

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


def _read_routes(folder: Path, route: list[str] | None) -> list[AmazonRoute]:
    """The routes asked for (all by default), or exit 2 naming the problem."""
    from routing.io import InputError
    from routing.io.amazon import list_routes, read_routes

    if not folder.is_dir():
        raise fail(InputError(str(folder), ["no such data folder (use --folder)"]))
    try:
        known = list_routes(folder)
        return read_routes(folder, resolve_route_ids(known, route) if route else known)
    except InputError as exc:
        raise fail(exc) from None


def _compare_all(
    routes: list[AmazonRoute],
    *,
    time_limit: float,
    travel_model: tuple[float, float],
    warm_start: bool,
) -> list[Comparison]:
    """Plan each route and compare it with the driver's, with a line per route."""
    from routing.bench.amazon import compare
    from routing.io.amazon import amazon_travel
    from routing.solver import NoPlanFound

    detour, speed = travel_model
    travel = amazon_travel(detour=detour, speed_kmh=speed)
    comparisons = []
    for k, r in enumerate(routes, start=1):
        console.print(
            f"[{k}/{len(routes)}] {r.route_id} ({r.station_code}, "
            f"{r.n_stops} stops): planning {time_limit:g} s...",
            highlight=False,
        )
        try:
            got = compare(r, travel, time_limit=time_limit, warm_start=warm_start)
        except NoPlanFound as exc:
            raise no_plan(exc) from None
        comparisons.append(got)
    return comparisons


def _write_outputs(
    comparisons: list[Comparison],
    *,
    json_out: Path | None,
    report: Path | None,
    settings: dict[str, float],
) -> None:
    """The JSON comparison and the Markdown report, when asked for."""
    from routing.bench.amazon import comparison_to_json
    from routing.io import write_json

    if json_out is not None:
        write_json(
            {
                "travel": {
                    "detour": settings["detour"],
                    "speed_kmh": settings["speed"],
                },
                "time_limit": settings["time_limit"],
                "routes": [comparison_to_json(c) for c in comparisons],
            },
            json_out,
        )
        out.print(f"comparison written to {json_out}")
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(markdown_report(comparisons, **settings), encoding="utf-8")
        out.print(f"report written to {report}")


def amazon_command(
    folder: Annotated[
        Path | None,
        typer.Option(
            help="challenge data folder (new_route_data.json etc.) "
            f"[default: {DEFAULT_FOLDER_HELP}]"
        ),
    ] = None,
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
    from routing.io.amazon import DEFAULT_FOLDER

    routes = _read_routes(folder or DEFAULT_FOLDER, route)
    comparisons = _compare_all(
        routes,
        time_limit=time_limit,
        travel_model=(detour, speed),
        warm_start=warm_start,
    )
    out.print(comparison_table(comparisons))
    for c in comparisons:
        if not c.ours.feasible:
            out.print(f"{c.route.route_id}: checker: {c.ours.checker}")
    settings = {"time_limit": time_limit, "detour": detour, "speed": speed}
    _write_outputs(comparisons, json_out=json_out, report=report, settings=settings)
    if not all(c.ours.feasible for c in comparisons):
        raise typer.Exit(code=1)
