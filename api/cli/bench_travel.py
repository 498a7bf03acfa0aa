"""``bench travel``: road matrix timings from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import console, out
from api.cli.common import error as _error

if TYPE_CHECKING:
    from rich.table import Table


def _sizes(values: list[str] | None) -> list[int]:
    """``["1000,3000", "500"]`` -> ``[1000, 3000, 500]``."""
    sizes: list[int] = []
    for value in values or []:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or int(part) < 1:
                raise ValueError(f"--points: {part!r} is not a positive integer")
            sizes.append(int(part))
    return sizes


def _clock(text: str) -> int:
    """``"08:30"`` -> seconds since midnight."""
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(minutes) < 60):
        raise ValueError(f"--depart: {text!r} is not a time like 08:30")
    return int(hours) * 3600 + int(minutes) * 60


def _inputs(
    graph: Path, points: list[str] | None, depart: str, default_depart: int
) -> tuple[list[int], int]:
    """Matrix sizes and departure second, or exit 2 naming the option."""
    try:
        sizes = _sizes(points) or [1000]
        when = _clock(depart) if depart else default_depart
    except ValueError as exc:
        raise _error(str(exc)) from None
    if not graph.is_file():
        raise _error(f"--graph: no file at {graph}")
    return sizes, when


def results_table(runs: list[dict[str, Any]], title: str) -> Table:
    """One row per matrix size: seconds, memory, unreachable pairs."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name in (
        "points",
        "seconds",
        "traced MB",
        "RSS MB",
        "unreach.",
        "median s",
        "median m",
    ):
        table.add_column(name, justify="right")
    for run in runs:
        table.add_row(
            f"{run['points']:,}",
            f"{run['seconds']:.2f}",
            f"{run['tracemalloc_peak_mb']:.0f}",
            f"{run['rss_peak_mb']:.0f}",
            str(run["unreachable_pairs"]),
            f"{run['duration_s_median']:.0f}",
            f"{run['distance_m_median']:.0f}",
        )
    return table


def comparison_table(compare: dict[str, Any]) -> Table:
    """networkx per-origin Dijkstra against the scipy road matrix."""
    from rich.table import Table

    n = compare["points"]
    table = Table(title=f"{n} x {n}: networkx vs scipy", title_justify="left")
    for name in ("networkx s", "scipy s", "ratio", "identical"):
        table.add_column(name, justify="right")
    table.add_row(
        f"{compare['networkx_seconds']:.2f}",
        f"{compare['scipy_seconds']:.3f}",
        f"{compare['ratio']:.0f}x",
        "yes" if compare["identical"] else f"no (max {compare['max_abs_diff_s']} s)",
    )
    return table


def bench_travel_command(
    graph: Annotated[
        Path, typer.Option(help="road file: .graphml[.gz], .osm[.bz2] or .osm.pbf")
    ],
    points: Annotated[
        list[str] | None,
        typer.Option(help="matrix sizes; repeat or comma-separate [default: 1000]"),
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the random points")] = 0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write every run here as JSON")
    ] = None,
    networkx: Annotated[
        int,
        typer.Option(min=0, help="also time this many points with networkx (0: skip)"),
    ] = 200,
    depart: Annotated[
        str, typer.Option(help="departure time HH:MM (selects the speed band)")
    ] = "08:30",
) -> None:
    """Time road duration + distance matrices on a graph file."""
    from routing.bench.travel import BENCH_DEPART, bench_travel, machine

    sizes, when = _inputs(graph, points, depart, BENCH_DEPART)
    runs: list[dict[str, Any]] = []
    compare: dict[str, Any] | None = None
    for k, size in enumerate(sizes):
        console.print(f"{graph.name}: {size:,} x {size:,} ...", highlight=False)
        try:
            run = bench_travel(
                graph, size, seed, networkx if k == 0 else 0, depart=when
            )
        except ValueError as exc:
            raise _error(str(exc)) from None
        runs.append(run)
        compare = compare or run["networkx"]
        if json_out is not None:
            document = {"machine": machine(), "runs": runs, "networkx": compare}
            json_out.write_text(json.dumps(document, indent=2) + "\n")
    first = runs[0]
    out.print(
        results_table(
            runs,
            f"{graph.name}: {first['routing_nodes']:,} nodes, "
            f"{first['routing_edges']:,} edges (largest SCC), depart {depart}",
        )
    )
    if compare is not None:
        out.print(comparison_table(compare))
    if json_out is not None:
        out.print(f"results written to {json_out}")


app = typer.Typer(add_completion=False)
app.command()(bench_travel_command)
