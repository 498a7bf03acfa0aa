"""``milepost simulate``: compare what-if days, replicated, with intervals."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from scenarios.report import write_report
from scenarios.spec import ScenarioError, load_scenario
from scenarios.sweep import run_sweep

__all__ = ["simulate_command"]

console = Console(stderr=True)
out = Console()


def _error(message: str) -> typer.Exit:
    console.print(f"[bold red]error[/]: {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def simulate_command(
    scenarios: Annotated[
        list[Path],
        typer.Argument(help="scenario TOML files; the first is the reference"),
    ],
    replications: Annotated[
        int | None,
        typer.Option(
            min=1, max=1000, help="replications of each (default: the files')"
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="local worker processes")
    ] = 1,
    dask: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (default: MILEPOST_DASK_SCHEDULER)"),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="report folder")] = Path(
        "milepost-out/simulate"
    ),
) -> None:
    """Simulate each scenario's days end to end and compare them.

    Writes summary.md, summary.html and PNG plots (KPI distributions, cost
    against service level) into the report folder.
    """
    try:
        loaded = [load_scenario(p) for p in scenarios]
    except ScenarioError as exc:
        raise _error(str(exc)) from None
    scheduler = dask or os.environ.get("MILEPOST_DASK_SCHEDULER") or None
    total = sum(replications or s.replications for s in loaded)
    where = f"Dask at {scheduler}" if scheduler else f"{workers} worker(s)"
    console.print(
        f"{len(loaded)} scenario(s), {total} simulated day(s) on {where}",
        highlight=False,
    )
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("days", total=total)
        result = run_sweep(
            loaded,
            replications=replications,
            workers=workers,
            dask=scheduler,
            progress=lambda done, _all: bar.update(task, completed=done),
        )
    files = write_report(result, out_dir)
    out.print(files[0].read_text(encoding="utf-8"), markup=False, highlight=False)
    console.print(f"report written to {out_dir}", highlight=False)
