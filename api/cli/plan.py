"""Command line for the routing room: ``milepost plan`` and shared printing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import (
    DEFAULT_CACHE_DIR,
    CacheOption,
    CityRoadsOption,
    MaxSnapOption,
    RoadsOption,
    WorkersOption,
    console,
    default_output,
    fail,
    load_travel,
    no_plan,
    out,
)

if TYPE_CHECKING:
    from rich.table import Table

    from routing.model import Problem
    from routing.plan import Plan
    from routing.solver import SolveParams
    from routing.travel import TravelModel

__all__ = ["fail", "plan_command", "solve_with_progress", "summary_table"]


def summary_table(problem: Problem, plan: Plan, title: str = "Plan") -> Table:
    """The numbers a dispatcher looks at first."""
    from collections import Counter

    from rich.table import Table

    from routing.travel.spec import describe
    from routing.units import HOUR

    s = plan.summary
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("vehicles used", f"{s.routes} of {len(problem.vehicles)}")
    table.add_row("distance", f"{s.distance / 1000:,.1f} km")
    table.add_row("driving", f"{s.duration / HOUR:,.1f} h")
    table.add_row("service + waiting", f"{(s.service + s.waiting_time) / HOUR:,.1f} h")
    table.add_row("orders served", f"{s.served} of {s.orders}")
    exchanges = {j.id for j in problem.jobs if j.type == "exchange"}
    if exchanges:
        done = sum(o in exchanges for r in plan.routes for o in r.order_ids)
        table.add_row("exchanges served", f"{done} of {len(exchanges)}")
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
    table.add_row("cost", problem.locale.money(s.cost))
    table.add_row("engine", f"{plan.engine} ({plan.seconds:.1f} s)")
    table.add_row("travel", describe(plan.travel))
    if plan.roads is not None and plan.roads.orders:
        table.add_row("snap to the roads", snap_text(plan))
    return table


def snap_text(plan: Plan) -> str:
    """The orders' snap distances in a few words: median, farthest, limit."""
    import statistics

    assert plan.roads is not None
    metres = [s.metres for s in plan.roads.orders.values()]
    limit = plan.roads.max_snap_m
    bound = "no limit" if limit is None else f"limit {limit:,g} m"
    median = statistics.median(metres)
    return f"median {median:,.0f} m, farthest {max(metres):,} m ({bound})"


def objective_text(problem: Problem, params: SolveParams, value: float) -> str:
    """An engine's objective in words: money in the problem's currency (to
    its minor unit), or kilometres.

    The engines report in their integer units: hundredths of the currency
    (``COST_SCALE``) when vehicles carry costs, else metres. The value
    includes the penalties of orders left out so far.
    """
    money = params.objective == "cost" and any(
        v.costs.fixed or v.costs.per_km or v.costs.per_hour for v in problem.vehicles
    )
    if money:
        return problem.locale.money(value)
    return f"{value / 1000:,.1f} km"


def solve_with_progress(
    problem: Problem, params: SolveParams, travel: TravelModel
) -> Plan:
    """Solve while a status line shows the best cost found so far; exit 1
    with the reason when no search (nor its fallbacks) finds a plan."""
    from rich.live import Live

    from routing.solver import NoPlanFound, solve

    best: dict[str, float] = {}
    t0 = time.perf_counter()
    with Live(console=console, refresh_per_second=4, transient=True) as live:

        def progress(engine: str, seconds: float, objective: float) -> None:
            best[engine] = min(objective, best.get(engine, float("inf")))
            shown = ", ".join(
                f"{k} {objective_text(problem, params, v)}" for k, v in best.items()
            )
            live.update(
                f"solving ({params.engine}, {seconds:4.1f}/{params.time_limit:.0f} s)"
                f"  best so far (cost + left-out penalties): {shown}"
            )

        live.update(f"solving ({params.engine}, limit {params.time_limit:.0f} s)...")
        try:
            plan = solve(problem, travel=travel, params=params, progress=progress)
        except NoPlanFound as exc:
            raise no_plan(exc) from None
    made = "" if plan.fallback is None else f" (the search found none: {plan.fallback})"
    console.print(f"solved in {time.perf_counter() - t0:.1f} s{made}")
    return plan


def _read_inputs(
    problem_file: Path, options: dict[str, object]
) -> tuple[Problem, SolveParams]:
    """The problem and the solve options (those given: ``None`` keeps the
    default), or exit 2 naming the bad field."""
    from pydantic import ValidationError

    from routing.io import InputError, read_problem, validation_lines
    from routing.solver import SolveParams

    given = {k: v for k, v in options.items() if v is not None}
    try:
        return read_problem(problem_file), SolveParams.model_validate(given)
    except InputError as exc:
        raise fail(exc) from None
    except ValidationError as exc:
        raise fail(InputError("options", validation_lines(exc))) from None


def plan_command(
    problem_file: Annotated[Path, typer.Argument(help="problem JSON (docs/API.md)")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="plan JSON to write [default: <name>.plan.json in the current folder]",
        ),
    ] = None,
    geojson: Annotated[
        Path | None, typer.Option(help="also write the routes as GeoJSON")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="auto | ortools | pyvrp | large")
    ] = "auto",
    time_limit: Annotated[float, typer.Option(help="seconds of search")] = 10.0,
    objective: Annotated[
        str, typer.Option(help="cost | distance | vans_then_distance")
    ] = "cost",
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    workers: WorkersOption = None,
    roads: RoadsOption = None,
    city_roads: CityRoadsOption = None,
    max_snap_m: MaxSnapOption = None,
    cache_dir: CacheOption = DEFAULT_CACHE_DIR,
) -> None:
    """Plan routes for a problem file and write the plan as JSON."""
    from routing.access import DepotOffRoad
    from routing.io import InputError, plan_geojson, plan_to_json, write_json
    from routing.solver import check

    problem, params = _read_inputs(
        problem_file,
        {
            "engine": engine,
            "time_limit": time_limit,
            "objective": objective,
            "seed": seed,
            "workers": workers,
        },
    )
    travel = load_travel(roads, cache_dir, city_roads, max_snap_m)
    try:
        plan = solve_with_progress(problem, params, travel)
    except DepotOffRoad as exc:
        raise fail(InputError(str(problem_file), [str(exc)])) from None
    except ValueError as exc:  # e.g. an engine that cannot model the problem
        raise fail(InputError("--engine", [str(exc)])) from None
    verdict = check(problem, plan, travel)
    target = default_output(output, problem_file, ".plan.json")
    write_json(plan_to_json(plan), target)
    out.print(summary_table(problem, plan, title=f"Plan for {problem_file.name}"))
    out.print(f"checker: {verdict}")
    out.print(f"plan written to {target}")
    if geojson is not None:
        write_json(plan_geojson(plan, problem, travel), geojson)
        out.print(f"routes written to {geojson}")
    if not verdict.ok:
        raise typer.Exit(code=1)
