"""``milepost bench retention``: the experience effect from observable data
against the city's truth (:mod:`scenarios.bench.retention`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

#: ``scenarios.city.DEFAULT_CUSTOMERS``, repeated so that the help stays
#: cheap (tests/api/cli keeps them equal).
DEFAULT_CUSTOMERS = 40_000


def parse_seeds(text: str) -> list[int]:
    """Seeds from ``"1,2,3"`` or ``"1 2 3"``; exit 2 naming ``--seeds`` if bad."""
    parts = text.replace(",", " ").split()
    try:
        seeds = [int(p) for p in parts]
    except ValueError:
        raise typer.BadParameter(
            f"expected whole numbers such as 1,2,3, got {text!r}",
            param_hint="--seeds",
        ) from None
    if not seeds:
        raise typer.BadParameter("give at least one seed", param_hint="--seeds")
    if any(s < 0 for s in seeds):
        raise typer.BadParameter("seeds must not be negative", param_hint="--seeds")
    return seeds


def bench_retention_command(
    seeds: Annotated[
        str, typer.Option(help="city seeds, comma- or space-separated")
    ] = "1,2,3",
    customers: Annotated[
        int, typer.Option(min=200, help="customer slots of each city")
    ] = DEFAULT_CUSTOMERS,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the full results here")
    ] = None,
) -> None:
    """Estimate the effects of lateness and failed attempts on repurchase from
    observable data and set them beside the city's truth, per seed."""
    from rich.console import Console
    from rich.table import Table

    from scenarios.bench.retention import run_retention_bench, summary_rows

    chosen = parse_seeds(seeds)
    console = Console(stderr=True)
    out = Console()
    if out.width < 110:  # one line per row, even when piped
        out = Console(width=110)
    result = run_retention_bench(
        chosen,
        customers,
        on_seed=lambda line: console.print(line, highlight=False),
    )
    table = Table(
        title=f"Experience effect (log hazard ratio of the next order, 95 % "
        f"interval), {customers:,} customer slots",
        title_justify="left",
    )
    for name in ("effect", "seed", "fit", "estimate", "lower", "upper", "truth"):
        table.add_column(name, justify="left" if name in ("effect", "fit") else "right")
    table.add_column("covers")
    for row in summary_rows(result):
        table.add_row(*row)
    out.print(table)
    verdict = "every" if result["all_cover"] else "NOT every"
    misses = result["misses"]
    in_draws = sum(m["known_rates_miss"] for m in misses)
    why = (
        f" ({in_draws} of its {len(misses)} misses also missed by the known-rates "
        "oracle: in the seed's draws)"
        if misses
        else ""
    )
    out.print(
        f"observable fit: the interval holds the truth on {verdict} effect and "
        f"seed{why}; {result['seconds']:.0f} s"
    )
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2) + "\n")
        out.print(f"results written to {json_out}")
