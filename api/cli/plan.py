"""Command line for the routing room: ``milepost plan`` and shared printing."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.live import Live
from rich.table import Table

from routing.io import (
    InputError,
    plan_geojson,
    plan_to_json,
    read_problem,
    validation_lines,
    write_json,
)
from routing.model import Problem
from routing.plan import Plan
from routing.solver import SolveParams, check, solve
from routing.travel import HaversineTravel, RoadTravel, TravelModel
from routing.travel.cache import DEFAULT_CACHE_DIR
from routing.units import HOUR

console = Console(stderr=True)
out = Console()


def fail(exc: InputError) -> typer.Exit:
    """Print an input error (field path and reason per line); exit code 2."""
    console.print(f"[bold red]error[/]: {exc.source}: invalid input", soft_wrap=True)
    for line in exc.lines:
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def summary_table(problem: Problem, plan: Plan, title: str = "Plan") -> Table:
    """The numbers a dispatcher looks at first."""
    s = plan.summary
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("vehicles used", f"{s.routes} of {len(problem.vehicles)}")
    table.add_row("distance", f"{s.distance / 1000:,.1f} km")
    table.add_row("driving", f"{s.duration / HOUR:,.1f} h")
    table.add_row("service + waiting", f"{(s.service + s.waiting_time) / HOUR:,.1f} h")
    table.add_row("orders served", f"{s.served} of {s.orders}")
    reasons = Counter(u.reason.value for u in plan.unassigned)
    table.add_row(
        "unassigned",
        str(s.unassigned)
        + (
            " (" + ", ".join(f"{k}: {n}" for k, n in reasons.most_common()) + ")"
            if reasons
            else ""
        ),
    )
    share = s.in_window / s.served if s.served else 1.0
    table.add_row("served inside their window", f"{share:.1%}")
    table.add_row("cost", f"{s.cost:,.0f} won")
    table.add_row("engine", f"{plan.engine} ({plan.seconds:.1f} s)")
    return table


def solve_with_progress(
    problem: Problem, params: SolveParams, travel: TravelModel
) -> Plan:
    """Solve while a status line shows the best objective so far."""
    best: dict[str, float] = {}
    t0 = time.perf_counter()
    with Live(console=console, refresh_per_second=4, transient=True) as live:

        def progress(engine: str, seconds: float, objective: float) -> None:
            best[engine] = min(objective, best.get(engine, float("inf")))
            shown = ", ".join(f"{k} {v:,.0f}" for k, v in best.items())
            live.update(
                f"solving ({params.engine}, {seconds:4.1f}/{params.time_limit:.0f} s)"
                f"  best objective: {shown}"
            )

        live.update(f"solving ({params.engine}, limit {params.time_limit:.0f} s)...")
        plan = solve(problem, travel=travel, params=params, progress=progress)
    console.print(f"solved in {time.perf_counter() - t0:.1f} s")
    return plan


def plan_command(
    problem_file: Annotated[Path, typer.Argument(help="problem JSON (docs/API.md)")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="plan JSON to write [default: <name>.plan.json]"
        ),
    ] = None,
    geojson: Annotated[
        Path | None, typer.Option(help="also write the routes as GeoJSON")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="auto | ortools | pyvrp | large")
    ] = "auto",
    time_limit: Annotated[float, typer.Option(help="seconds of search")] = 10.0,
    objective: Annotated[str, typer.Option(help="cost | distance")] = "cost",
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    roads: Annotated[
        Path | None,
        typer.Option(
            help="road network (.graphml[.gz], .osm[.bz2], .osm.pbf) to drive on "
            "instead of straight lines"
        ),
    ] = None,
    cache_dir: Annotated[
        Path, typer.Option(help="where road travel matrices are cached")
    ] = DEFAULT_CACHE_DIR,
) -> None:
    """Plan routes for a problem file and write the plan as JSON."""
    try:
        problem = read_problem(problem_file)
        params = SolveParams.model_validate(
            {
                "engine": engine,
                "time_limit": time_limit,
                "objective": objective,
                "seed": seed,
            }
        )
    except InputError as exc:
        raise fail(exc) from None
    except ValidationError as exc:
        raise fail(InputError("options", validation_lines(exc))) from None
    travel: TravelModel = HaversineTravel()
    if roads is not None:
        try:
            with console.status(f"loading roads from {roads}"):
                travel = RoadTravel.from_file(roads, cache_dir=cache_dir)
        except (OSError, ValueError, SyntaxError) as exc:  # XML errors are SyntaxError
            raise fail(
                InputError(str(roads), [f"cannot read road graph: {exc}"])
            ) from None
    try:
        plan = solve_with_progress(problem, params, travel)
    except ValueError as exc:  # e.g. an engine that cannot model the problem
        raise fail(InputError("--engine", [str(exc)])) from None
    verdict = check(problem, plan, travel)
    target = output or problem_file.with_name(problem_file.stem + ".plan.json")
    write_json(plan_to_json(plan), target)
    out.print(summary_table(problem, plan, title=f"Plan for {problem_file.name}"))
    out.print(f"checker: {verdict}")
    out.print(f"plan written to {target}")
    if geojson is not None:
        write_json(plan_geojson(plan, problem, travel), geojson)
        out.print(f"routes written to {geojson}")
    if not verdict.ok:
        raise typer.Exit(code=1)
