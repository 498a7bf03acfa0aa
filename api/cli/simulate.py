"""``milepost simulate``: compare what-if days, replicated, with intervals."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import console, error, no_plan, out

if TYPE_CHECKING:
    from rich.table import Table

    from scenarios.spec import Scenario
    from scenarios.sweep import SweepResult

__all__ = ["markdown_table", "simulate_command"]


def markdown_table(markdown: str) -> Table:
    """The KPI table of a ``summary.md`` as a terminal table that wraps.

    The report's first Markdown table (header, rule, rows) becomes a rich
    table: the KPI names on the left, the numbers right-aligned, each cell
    folded onto a second line rather than cut when the terminal is narrow.
    """
    from rich.table import Table

    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in markdown.splitlines()
        if line.startswith("|")
    ]
    table = Table(
        title="Scenario comparison (means, 95% intervals)", title_justify="left"
    )
    if not rows:
        return table
    head, body = rows[0], [r for r in rows[1:] if not set("".join(r)) <= set("-:")]
    for k, name in enumerate(head):
        table.add_column(name, justify="left" if k == 0 else "right", overflow="fold")
    for row in body:
        table.add_row(*row)
    return table


def _run(
    loaded: list[Scenario],
    replications: int | None,
    workers: int,
    scheduler: str | None,
) -> SweepResult:
    """Every replication of every scenario, with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from scenarios.sweep import run_sweep

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
        return run_sweep(
            loaded,
            replications=replications,
            workers=workers,
            dask=scheduler,
            progress=lambda done, _all: bar.update(task, completed=done),
        )


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

    Prints the KPI table and writes summary.md, summary.html and PNG plots
    (KPI distributions, cost against service level, on-time rate by hour)
    into the report folder.
    """
    from routing.solver import NoPlanFound
    from scenarios.report import write_report
    from scenarios.spec import ScenarioError, load_scenario

    try:
        loaded = [load_scenario(p) for p in scenarios]
    except ScenarioError as exc:
        raise error(str(exc)) from None
    scheduler = dask or os.environ.get("MILEPOST_DASK_SCHEDULER") or None
    try:
        result = _run(loaded, replications, workers, scheduler)
    except NoPlanFound as exc:
        raise no_plan(exc, "a longer time_limit in the scenario may find one") from None
    files = write_report(result, out_dir)
    out.print(markdown_table(files[0].read_text(encoding="utf-8")))
    out.print(f"report written to {out_dir}: " + ", ".join(f.name for f in files))
