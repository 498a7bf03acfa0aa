"""Command functions for large days, re-optimisation and delivery slots.

``plan_large_command`` (``milepost plan-large``), ``reoptimize_command``
(``milepost reoptimize``) and ``slots_command`` (``milepost slots``); the root
app in ``api/cli.py`` mounts them. Bad input exits with code 2 and one line
per field path and reason; a plan the checker rejects exits with code 1.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from api.cli.plan import console, fail, out, summary_table
from routing.io import (
    InputError,
    load_json,
    parse_model,
    plan_to_json,
    problem_to_json,
    read_problem,
    validation_lines,
    write_json,
)
from routing.model import Location, Problem
from routing.plan import Plan
from routing.reoptimise import ExecutionState, Reoptimisation, reoptimise
from routing.slotting import SlotBook, SlotConfig, SlotQuote, SlotUnavailableError
from routing.solver import SolveParams, check
from routing.solver.decompose import LargeParams, decompose_solve
from routing.travel import HaversineTravel, RoadTravel, TravelModel
from routing.travel.cache import DEFAULT_CACHE_DIR
from routing.units import clock, to_seconds

RoadsOption = Annotated[
    Path | None,
    typer.Option(
        help="road network (.graphml[.gz], .osm[.bz2], .osm.pbf) to drive on "
        "instead of straight lines"
    ),
]
CacheOption = Annotated[
    Path, typer.Option(help="where road travel matrices are cached")
]


def _travel(roads: Path | None, cache_dir: Path) -> TravelModel:
    if roads is None:
        return HaversineTravel()
    try:
        with console.status(f"loading roads from {roads}"):
            return RoadTravel.from_file(roads, cache_dir=cache_dir)
    except (OSError, ValueError, SyntaxError) as exc:  # XML errors are SyntaxError
        raise fail(InputError(str(roads), [f"cannot read road graph: {exc}"])) from None


def _params(**values: Any) -> SolveParams:
    try:
        return SolveParams.model_validate(values)
    except ValidationError as exc:
        raise fail(InputError("options", validation_lines(exc))) from None


def _read_plan(path: Path) -> Plan:
    data = load_json(path)
    if not isinstance(data, dict):
        raise InputError(str(path), ["the top level must be a JSON object"])
    return parse_model(Plan, data, str(path))


# -- plan-large ------------------------------------------------------------------


def plan_large_command(
    problem_file: Annotated[Path, typer.Argument(help="problem JSON (docs/API.md)")],
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="plan JSON [default: <name>.plan.json]"),
    ] = None,
    time_limit: Annotated[
        float, typer.Option(help="seconds for the whole solve")
    ] = 300.0,
    part_size: Annotated[int, typer.Option(min=20, help="orders per part")] = 200,
    workers: Annotated[int, typer.Option(min=1, help="parallel processes")] = 2,
    objective: Annotated[str, typer.Option(help="cost | distance")] = "cost",
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    roads: RoadsOption = None,
    cache_dir: CacheOption = DEFAULT_CACHE_DIR,
) -> None:
    """Plan a large day (thousands of orders) by decomposition."""
    try:
        problem = read_problem(problem_file)
    except InputError as exc:
        raise fail(exc) from None
    params = _params(time_limit=time_limit, objective=objective, seed=seed)
    travel = _travel(roads, cache_dir)
    with console.status(f"solving {len(problem.jobs)} orders in parts"):
        result = decompose_solve(
            problem,
            params=params,
            travel=travel,
            large=LargeParams(part_size=part_size, workers=workers),
        )
    target = output or problem_file.with_name(problem_file.stem + ".plan.json")
    write_json(plan_to_json(result.plan), target)
    title = f"Plan for {problem_file.name}"
    out.print(summary_table(problem, result.plan, title=title))
    out.print(
        f"{result.parts} parts, {result.rounds} improvement rounds "
        f"({result.improved} accepted); peak memory {result.peak_rss_mib:,.0f} MiB "
        f"here, {result.peak_worker_rss_mib:,.0f} MiB per worker"
    )
    out.print(f"checker: {result.verdict}")
    out.print(f"plan written to {target}")
    if not result.verdict.ok:
        raise typer.Exit(code=1)


# -- reoptimize ------------------------------------------------------------------


def changes_table(result: Reoptimisation) -> Table:
    """What a re-optimisation changed, in a few lines."""
    c = result.changes
    table = Table(title="Changes", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("chosen", result.source)
    table.add_row("completed (kept out)", str(len(c.completed)))
    table.add_row("committed next stops (fixed)", str(len(result.committed)))
    table.add_row("cancelled", str(len(c.cancelled)))
    table.add_row("inserted", str(len(c.inserted)))
    table.add_row("moved to another van", str(len(c.moved)))
    table.add_row("dropped", str(len(c.dropped)))
    shifted = [s for s in c.eta_shifts if abs(s.after - s.before) >= 15 * 60]
    table.add_row("ETA shifts >= 15 min", str(len(shifted)))
    table.add_row("late committed stops", str(len(c.late_committed)))
    table.add_row("stability cost", f"{c.stability_cost:,.0f}")
    return table


def reoptimize_command(
    problem_file: Annotated[Path, typer.Argument(help="the day's problem JSON")],
    state_file: Annotated[
        Path,
        typer.Argument(
            help="execution state JSON: time, plan, vehicles, new_orders, "
            "cancelled, changed, unavailable (docs/live-day.md)"
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="result JSON: rest-of-day problem, plan and changes "
            "[default: <state>.reopt.json]",
        ),
    ] = None,
    time_limit: Annotated[
        float, typer.Option(help="seconds of search (0: repair only)")
    ] = 10.0,
    objective: Annotated[str, typer.Option(help="cost | distance")] = "cost",
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    roads: RoadsOption = None,
    cache_dir: CacheOption = DEFAULT_CACHE_DIR,
) -> None:
    """Re-plan the rest of the day from the plan in execution."""
    try:
        problem = read_problem(problem_file)
        data = load_json(state_file)
        if not isinstance(data, dict):
            raise InputError(str(state_file), ["the top level must be a JSON object"])
        state = parse_model(ExecutionState, data, str(state_file))
    except InputError as exc:
        raise fail(exc) from None
    if time_limit < 0:
        raise fail(InputError("options", ["--time-limit: must be >= 0"]))
    params = _params(time_limit=max(time_limit, 0.001), objective=objective, seed=seed)
    travel = _travel(roads, cache_dir)
    try:
        with console.status("re-optimising the rest of the day"):
            result = reoptimise(
                problem,
                state,
                travel,
                params=params,
                search=False if time_limit == 0 else None,
            )
    except InputError as exc:
        raise fail(
            InputError(str(state_file), [f"{line}" for line in exc.lines])
        ) from None
    verdict = check(result.problem, result.plan, travel)
    target = output or state_file.with_name(state_file.stem + ".reopt.json")
    write_json(
        {
            "source": result.source,
            "committed": result.committed,
            "changes": result.changes.model_dump(mode="json"),
            "plan": plan_to_json(result.plan),
            "problem": problem_to_json(result.problem),
        },
        target,
    )
    out.print(summary_table(result.problem, result.plan, title="Rest of the day"))
    out.print(changes_table(result))
    out.print(f"checker: {verdict}")
    out.print(f"result written to {target}")
    if not verdict.ok:
        raise typer.Exit(code=1)


# -- slots -----------------------------------------------------------------------


def _config(path: Path | None) -> SlotConfig:
    if path is None:
        return SlotConfig()
    if path.suffix == ".toml":
        try:
            data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(str(path), ["file not found"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(str(path), [str(exc)]) from None
    else:
        data = load_json(path)
    return parse_model(SlotConfig, data, str(path))


def _now(value: str | None, day: dt.date) -> int | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InputError("--now", [f"{value!r} is not an ISO date-time"]) from None
    if moment.tzinfo is None:
        raise InputError(
            "--now", [f"{value!r} has no time zone (e.g. 2024-02-01T20:00+09:00)"]
        )
    return to_seconds(moment, day)


def quotes_table(quotes: list[SlotQuote]) -> Table:
    """Slots as a customer would see them, with the reasons."""
    table = Table(title="Slots", title_justify="left")
    for name, justify in (
        ("slot", "left"),
        ("window", "left"),
        ("available", "left"),
        ("marginal cost", "right"),
        ("van", "left"),
        ("eta", "left"),
        ("reason", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for q in quotes:
        table.add_row(
            q.slot.id,
            f"{clock(q.slot.window.start)}-{clock(q.slot.window.end)}",
            "yes" if q.available else "no",
            "-" if q.marginal_cost is None else f"{q.marginal_cost:,.0f}",
            q.vehicle or "-",
            "-" if q.eta is None else clock(q.eta),
            q.reason.value + (f": {q.detail}" if q.detail else ""),
        )
    return table


def slots_command(
    problem_file: Annotated[Path, typer.Argument(help="the day's problem JSON")],
    plan_file: Annotated[Path, typer.Argument(help="its current plan JSON")],
    lat: Annotated[float, typer.Option(help="address latitude")],
    lon: Annotated[float, typer.Option(help="address longitude")],
    date: Annotated[
        str | None, typer.Option(help="delivery date YYYY-MM-DD [default: plan's]")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="slot configuration (.toml or .json)")
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(help="the moment of the quote, ISO with zone, for cut-offs"),
    ] = None,
    book: Annotated[
        str | None, typer.Option(help="book this slot id and write the new plan")
    ] = None,
    order_id: Annotated[
        str | None, typer.Option(help="id of the booked order [default: generated]")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="where a booking writes problem and plan JSON"
        ),
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="also write the quotes as JSON")
    ] = None,
    roads: RoadsOption = None,
    cache_dir: CacheOption = DEFAULT_CACHE_DIR,
) -> None:
    """Quote delivery slots for an address, or book one."""
    try:
        problem: Problem = read_problem(problem_file)
        plan = _read_plan(plan_file)
        cfg = _config(config)
        location = parse_model(Location, {"lat": lat, "lon": lon}, "--lat/--lon")
        day = problem.date
        if date is not None:
            try:
                day = dt.date.fromisoformat(date)
            except ValueError:
                raise InputError(
                    "--date", [f"{date!r} is not a date YYYY-MM-DD"]
                ) from None
        if day is None:
            raise InputError("--date", ["required: the problem has no date"])
        if problem.date is not None and day != problem.date:
            raise InputError("--date", [f"the plan is for {problem.date}, not {day}"])
        moment = _now(now, day)
    except InputError as exc:
        raise fail(exc) from None
    travel = _travel(roads, cache_dir)
    slots = SlotBook(problem, plan, travel, cfg)
    quotes = slots.quote(location, day, now=moment)
    out.print(quotes_table(quotes))
    if json_file is not None:
        write_json([q.model_dump(mode="json") for q in quotes], json_file)
    if book is None:
        return
    try:
        booking = slots.book(location, book, order_id=order_id, now=moment)
    except KeyError:
        known = ", ".join(q.slot.id for q in quotes)
        raise fail(
            InputError("--book", [f"no slot {book!r} here; choose from {known}"])
        ) from None
    except (SlotUnavailableError, ValueError) as exc:
        raise fail(InputError("--book", [str(exc)])) from None
    folder = out_dir or problem_file.parent
    new_problem = folder / (problem_file.stem + ".booked.json")
    new_plan = folder / (plan_file.stem + ".booked.json")
    write_json(problem_to_json(slots.problem), new_problem)
    write_json(plan_to_json(slots.plan()), new_plan)
    out.print(
        f"booked {booking.order} in {booking.slot.id} on {booking.vehicle} "
        f"(ETA {clock(booking.eta)}, marginal cost {booking.marginal_cost:,.0f})"
    )
    out.print(f"problem written to {new_problem}, plan to {new_plan}")
    out.print(json.dumps({"order": booking.order, "slot": booking.slot.id}))
