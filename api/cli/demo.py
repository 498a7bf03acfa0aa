"""``milepost demo``: tomorrow's deliveries in the embedded Seoul, planned."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import DEFAULT_CACHE_DIR, console, option_day, out
from api.cli.plan import solve_with_progress, summary_table


class TravelChoice(StrEnum):
    roads = "roads"
    haversine = "haversine"


def demo_command(
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="folder for the results")
    ] = Path("milepost-out"),
    orders: Annotated[int, typer.Option(min=1, max=5000, help="orders to plan")] = 400,
    seed: Annotated[int, typer.Option(help="city and order seed")] = 0,
    day: Annotated[
        str | None, typer.Option(help="delivery date YYYY-MM-DD [default: tomorrow]")
    ] = None,
    time_limit: Annotated[
        float, typer.Option(min=1.0, help="seconds of route search")
    ] = 20.0,
    travel: Annotated[
        TravelChoice, typer.Option(help="road network or straight lines")
    ] = TravelChoice.roads,
    cache_dir: Annotated[
        Path, typer.Option(help="where travel matrices are cached")
    ] = DEFAULT_CACHE_DIR,
) -> None:
    """Plan tomorrow's deliveries in the embedded Seoul city."""
    from scenarios.demo import run_demo

    when = option_day(day, "--day")
    result = run_demo(
        out_dir,
        solver=solve_with_progress,
        day=when,
        n_orders=orders,
        seed=seed,
        time_limit=time_limit,
        travel=travel.value,
        cache_dir=cache_dir,
        on_stage=lambda text: console.print(f"[dim]-[/] {text}"),
    )
    p = result.problem
    out.print(
        summary_table(
            p,
            result.plan,
            title=f"Seoul, {p.date}: {len(p.jobs) + len(p.shipments)} "
            f"orders, {len(p.depots)} depots, {len(p.vehicles)} vans",
        )
    )
    out.print(f"checker: {result.verdict}")
    for name, path in result.files.items():
        out.print(f"{name:>8}: {path}")
    if not result.verdict.ok:
        raise typer.Exit(code=1)
