"""``milepost bench eta``: live ETAs against a naive one on replayed days
(:mod:`scenarios.bench.eta`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

#: ``scenarios.bench.eta.LEARN_ONLY_DAYS``, repeated so that the help stays
#: cheap (tests/api/cli keeps them equal).
LEARN_ONLY_DAYS = 2


def bench_eta_command(
    days: Annotated[
        int,
        typer.Option(
            min=LEARN_ONLY_DAYS + 1,
            help="simulated days; the first two only teach the correction",
        ),
    ] = 10,
    seed: Annotated[int, typer.Option(help="city, orders and execution seed")] = 0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the full results here")
    ] = None,
) -> None:
    """Measure live ETAs against a naive one on replayed days of the city."""
    from rich.console import Console
    from rich.table import Table

    from scenarios.bench.eta import EtaBenchConfig, run_eta_bench, summary_rows

    console = Console(stderr=True)
    out = Console()
    config = EtaBenchConfig(days=days, seed=seed)
    result = run_eta_bench(
        config, on_day=lambda line: console.print(line, highlight=False)
    )
    table = Table(
        title=f"ETA quality: {len(result['days'])} scored days, seed {seed} "
        "(MAE in minutes, window = P10-P90)",
        title_justify="left",
    )
    for name in (
        "before arrival",
        "n",
        "MAE ours",
        "MAE naive",
        "better by",
        "in window",
        "width min",
    ):
        table.add_column(name, justify="right")
    for row in summary_rows(result):
        table.add_row(*row)
    out.print(table)
    out.print(f"{result['seconds']:.0f} s")
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2) + "\n")
        out.print(f"results written to {json_out}")
    failed = result["failed_days"]
    if failed:
        # Measured on fewer days than asked: say so, and exit non-zero.
        for day, reason in failed.items():
            console.print(f"[bold red]error[/]: {day}: {reason}", highlight=False)
        console.print(f"{len(failed)} of {days} days got no plan and were not scored")
        raise typer.Exit(code=1)
