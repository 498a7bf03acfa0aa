"""Command functions for large days, re-optimisation and delivery slots.

``plan_large_command`` (``milepost plan-large``), ``reoptimize_command``
(``milepost reoptimize``) and ``slots_command`` (``milepost slots``); the root
app in ``api/cli/__init__.py`` mounts them. Bad input exits with code 2 and
one line per field path and reason; a plan the checker rejects exits with
code 1.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import (
    DEFAULT_CACHE_DIR,
    CacheOption,
    MaxSnapOption,
    ObjectiveOption,
    PlanCityRoadsOption,
    PlanRoadsOption,
    RoadsOption,
    SeedOption,
    console,
    default_output,
    fail,
    load_travel,
    out,
    plan_travel,
)
from api.cli.plan import summary_table

if TYPE_CHECKING:
    from rich.table import Table

    from routing.model import Location, Problem
    from routing.plan import Plan
    from routing.reoptimise import ExecutionState, Reoptimisation, RescueOption
    from routing.slotting import SlotBook, SlotConfig, SlotPricing, SlotQuote
    from routing.solver import SolveParams
    from routing.solver.decompose import LargeResult
    from routing.travel import TravelModel

__all__ = ["plan_large_command", "reoptimize_command", "slots_command"]


def _params(**values: Any) -> SolveParams:
    from pydantic import ValidationError

    from routing.io import InputError, validation_lines
    from routing.solver import SolveParams

    try:
        return SolveParams.model_validate(values)
    except ValidationError as exc:
        raise fail(InputError("options", validation_lines(exc))) from None


def _read_problem(path: Path) -> Problem:
    from routing.io import InputError, read_problem

    try:
        return read_problem(path)
    except InputError as exc:
        raise fail(exc) from None


def _read_plan(path: Path) -> Plan:
    from routing.io import InputError, load_json, parse_model
    from routing.plan import Plan

    data = load_json(path)
    if not isinstance(data, dict):
        raise InputError(str(path), ["the top level must be a JSON object"])
    return parse_model(Plan, data, str(path))


# -- plan-large ------------------------------------------------------------------


def plan_large_command(
    problem_file: Annotated[Path, typer.Argument(help="problem JSON (docs/API.md)")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="plan JSON [default: <name>.plan.json in the current folder]",
        ),
    ] = None,
    time_limit: Annotated[
        float, typer.Option(help="seconds for the whole solve")
    ] = 300.0,
    part_size: Annotated[int, typer.Option(min=20, help="orders per part")] = 200,
    workers: Annotated[
        int, typer.Option(min=1, help="parts solved at once (processes)")
    ] = 2,
    dask: Annotated[
        str | None,
        typer.Option(
            envvar="MILEPOST_DASK_SCHEDULER",
            help="Dask scheduler address to solve the parts on "
            "('local': a cluster of --workers processes here)",
        ),
    ] = None,
    iterations: Annotated[
        int | None,
        typer.Option(min=1, help="bound each part's search: same seed, same plan"),
    ] = None,
    objective: ObjectiveOption = "cost",
    seed: SeedOption = 0,
    roads: RoadsOption = None,
    max_snap_m: MaxSnapOption = None,
    cache_dir: CacheOption = DEFAULT_CACHE_DIR,
) -> None:
    """Plan a large day (thousands of orders) by decomposition."""
    from routing.access import DepotOffRoad
    from routing.io import InputError, plan_to_json, write_json
    from routing.solver.decompose import LargeParams, decompose_solve
    from routing.solver.pool import SchedulerUnreachable

    problem = _read_problem(problem_file)
    params = _params(
        time_limit=time_limit, objective=objective, seed=seed, iterations=iterations
    )
    travel = load_travel(roads, cache_dir, max_snap_m=max_snap_m)
    large = LargeParams(part_size=part_size, workers=workers, scheduler=dask)
    try:
        with console.status(f"solving {len(problem.jobs)} orders in parts"):
            result = decompose_solve(problem, params=params, travel=travel, large=large)
    except DepotOffRoad as exc:
        raise fail(InputError(str(problem_file), [str(exc)])) from None
    except SchedulerUnreachable as exc:
        raise fail(InputError("--dask", [str(exc)])) from None
    target = default_output(output, problem_file, ".plan.json")
    write_json(plan_to_json(result.plan), target)
    _print_large(problem, problem_file, result)
    out.print(f"plan written to {target}")
    if not result.verdict.ok or result.failures:
        raise typer.Exit(code=1)


def _print_large(problem: Problem, problem_file: Path, result: LargeResult) -> None:
    """The summary, where the parts ran, memory per process, failures, verdict."""
    out.print(
        summary_table(problem, result.plan, title=f"Plan for {problem_file.name}")
    )
    out.print(
        f"{result.parts} parts on {result.where}, {result.rounds} improvement "
        f"rounds ({result.improved} accepted)"
    )
    memory = ", ".join(f"{k} {v:,.0f}" for k, v in result.peak_rss_by_process.items())
    out.print(f"peak memory (MiB): {memory}")
    for failure in result.failures:
        out.print(f"failed: {failure}", markup=False, highlight=False)
    out.print(f"checker: {result.verdict}")


# -- reoptimize ------------------------------------------------------------------


def changes_table(result: Reoptimisation) -> Table:
    """What a re-optimisation changed, in a few lines."""
    from rich.table import Table

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
    fixed = ", ".join(f"{v} {n}" for v, n in sorted(c.fixed.items()))
    table.add_row("fixed leading visits per van", fixed or "none")
    if c.rescued:
        by = sum(1 for r in c.rescued if r.by is not None)
        table.add_row("rescued parcels delivered", f"{by} of {len(c.rescued)}")
    table.add_row("stability cost", result.problem.locale.money(c.stability_cost))
    return table


def rescued_table(result: Reoptimisation) -> Table:
    """The parcels of broken-down vans: who delivers them, or why not."""
    from rich.table import Table

    table = Table(title="Rescued parcels", title_justify="left")
    for name in ("order", "from", "rescue", "delivered by / why not"):
        table.add_column(name)
    for r in result.changes.rescued:
        fate = r.by if r.by is not None else f"{r.reason}: {r.detail}"
        table.add_row(r.order, r.vehicle, r.how, fate)
    return table


def rescue_options_table(options: Sequence[RescueOption], currency: str) -> Table:
    """Each rescue choice planned: what it costs (thousands of ``currency``)
    and serves."""
    from rich.table import Table

    table = Table(
        title=f"Rescue options (costs in thousand {currency})", title_justify="left"
    )
    for name in (
        "rescue",
        "cost",
        "stability",
        "served",
        "late",
        "on board",
        "delivered",
        "dropped",
    ):
        table.add_column(name, justify="left" if name == "rescue" else "right")
    for o in options:
        table.add_row(
            o.rescue,
            f"{o.cost / 1000:,.0f}",
            f"{o.stability_cost / 1000:,.0f}",
            str(o.served),
            str(o.late),
            str(o.parcels),
            str(o.delivered),
            str(len(o.dropped)),
        )
    return table


def read_state(
    problem: Problem, state_file: Path, plan_file: Path | None
) -> ExecutionState:
    """The execution state; with ``plan_file``, vans it omits are as planned.

    A state with its own ``plan`` is taken as it is (a van it does not list
    has not left its depot). With ``--plan`` the state may be only what
    happened (``time``, new, cancelled or changed orders, vans out of
    service): every van it does not list is where the plan puts it at
    ``time``. Its ``"HH:MM"`` times are clock readings of the problem's day.
    """
    from routing.io import InputError, load_json, parse_model
    from routing.model import clock_readings
    from routing.reoptimise import ExecutionState, state_as_planned

    on_its_day = clock_readings(problem.date, problem.locale.zone)
    data = load_json(state_file)
    if not isinstance(data, dict):
        raise InputError(str(state_file), ["the top level must be a JSON object"])
    if plan_file is None:
        if "plan" not in data:
            raise InputError(
                str(state_file),
                ["plan: missing; give the plan in execution here or with --plan"],
            )
        with on_its_day:
            return parse_model(ExecutionState, data, str(state_file))
    if "plan" in data:
        raise InputError(
            "--plan", [f"{state_file} has a plan already; give only one of the two"]
        )
    plan = _read_plan(plan_file)
    with on_its_day:
        state = parse_model(ExecutionState, {**data, "plan": plan}, str(state_file))
    listed = {v.vehicle for v in state.vehicles}
    planned = state_as_planned(problem, state.plan, state.time).vehicles
    rest = tuple(v for v in planned if v.vehicle not in listed)
    return state.model_copy(update={"vehicles": state.vehicles + rest})


def _read_state_or_exit(
    problem: Problem, state_file: Path, plan_file: Path | None
) -> ExecutionState:
    from routing.io import InputError

    try:
        return read_state(problem, state_file, plan_file)
    except InputError as exc:
        raise fail(exc) from None


def _reoptimise(
    problem: Problem,
    state: ExecutionState,
    travel: TravelModel,
    params: SolveParams,
    *,
    source: Path,
) -> Reoptimisation:
    """Re-optimise (repair only when the time limit is tiny), or exit 2."""
    from routing.io import InputError
    from routing.reoptimise import reoptimise

    try:
        with console.status("re-optimising the rest of the day"):
            return reoptimise(
                problem,
                state,
                travel,
                params=params,
                search=False if params.time_limit <= 0.001 else None,
            )
    except InputError as exc:
        raise fail(InputError(str(source), exc.lines)) from None


def _reoptimisation_json(result: Reoptimisation) -> dict[str, Any]:
    from routing.io import plan_to_json, problem_to_json

    return {
        "source": result.source,
        "committed": result.committed,
        "fixed": result.fixed,
        "changes": result.changes.model_dump(mode="json"),
        "plan": plan_to_json(result.plan),
        "problem": problem_to_json(result.problem),
    }


def _write_reoptimisation(result: Reoptimisation, target: Path) -> None:
    from routing.io import write_json

    write_json(_reoptimisation_json(result), target)


RESCUE_CHOICES = ("transfer", "depot", "compare")


def _with_breakdowns(
    problem: Problem, state: ExecutionState, breakdown: list[str], rescue: str | None
) -> ExecutionState:
    """The state with ``--breakdown`` vans unavailable and ``--rescue`` chosen
    for every unavailable van (``compare`` is the caller's)."""
    from routing.io import InputError

    if rescue is not None and rescue not in RESCUE_CHOICES:
        raise fail(
            InputError(
                "--rescue", [f"{rescue!r} is not one of {', '.join(RESCUE_CHOICES)}"]
            )
        )
    known = {v.id for v in problem.vehicles}
    unknown = [f"unknown vehicle {v!r}" for v in breakdown if v not in known]
    if unknown:
        raise fail(InputError("--breakdown", unknown))
    unavailable = tuple(dict.fromkeys((*state.unavailable, *breakdown)))
    if rescue is not None and not unavailable:
        raise fail(
            InputError("--rescue", ["no van is unavailable: name one with --breakdown"])
        )
    update: dict[str, object] = {"unavailable": unavailable}
    if rescue in ("transfer", "depot"):
        update["rescue"] = {**state.rescue, **dict.fromkeys(unavailable, rescue)}
    return state.model_copy(update=update)


def _compare(
    problem: Problem,
    state: ExecutionState,
    travel: TravelModel,
    params: SolveParams,
    *,
    source: Path,
    target: Path,
) -> None:
    """Plan every rescue choice, print what each costs, write them all."""
    from routing.io import InputError, write_json
    from routing.reoptimise import compare_rescue
    from routing.solver import check

    try:
        with console.status("planning each rescue choice"):
            options = compare_rescue(
                problem,
                state,
                travel,
                params=params,
                search=False if params.time_limit <= 0.001 else None,
            )
    except InputError as exc:
        raise fail(InputError(str(source), exc.lines)) from None
    out.print(rescue_options_table(options, problem.locale.currency))
    failed = False
    for o in options:
        verdict = check(o.result.problem, o.result.plan, travel)
        failed = failed or not verdict.ok
        for d in o.dropped:
            out.print(f"{o.rescue}: {d.order} not served ({d.reason}: {d.detail})")
        out.print(f"{o.rescue}: checker: {verdict}")
    write_json(
        {
            "options": [
                {
                    **o.model_dump(mode="json", exclude={"result"}),
                    "result": _reoptimisation_json(o.result),
                }
                for o in options
            ]
        },
        target,
    )
    out.print(f"options written to {target}; choose one with --rescue transfer|depot")
    if failed:
        raise typer.Exit(code=1)


BreakdownOption = Annotated[
    list[str] | None,
    typer.Option(
        "--breakdown",
        help="a van that broke down now (repeat for several): unavailable, "
        "its parcels on board rescued",
    ),
]
RescueChoiceOption = Annotated[
    str | None,
    typer.Option(
        "--rescue",
        help="transfer (another van fetches the parcels at the broken van), "
        "depot (they go back to its depot and are re-planned) or compare "
        "(plan both, print their costs) [default: the state's, else depot]",
    ),
]


def reoptimize_command(
    problem_file: Annotated[Path, typer.Argument(help="the day's problem JSON")],
    state_file: Annotated[
        Path,
        typer.Argument(
            help="execution state JSON: time, plan, vehicles, new_orders, "
            "cancelled, changed, unavailable, rescue (docs/live-day.md)"
        ),
    ],
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="the plan in execution, for a state without one; vans the "
            "state does not list are then where this plan puts them",
        ),
    ] = None,
    breakdown: BreakdownOption = None,
    rescue: RescueChoiceOption = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="result JSON: rest-of-day problem, plan and changes (with "
            "--rescue compare: every option) "
            "[default: <state>.reopt.json in the current folder]",
        ),
    ] = None,
    time_limit: Annotated[
        float, typer.Option(min=0.0, help="seconds of search (0: repair only)")
    ] = 10.0,
    objective: ObjectiveOption = "cost",
    seed: SeedOption = 0,
    roads: PlanRoadsOption = None,
    city_roads: PlanCityRoadsOption = None,
    cache_dir: CacheOption = DEFAULT_CACHE_DIR,
) -> None:
    """Re-plan the rest of the day from the plan in execution."""
    problem = _read_problem(problem_file)
    state = _read_state_or_exit(problem, state_file, plan_file)
    state = _with_breakdowns(problem, state, breakdown or [], rescue)
    params = _params(time_limit=max(time_limit, 0.001), objective=objective, seed=seed)
    source = str(plan_file or state_file)
    travel = plan_travel(
        state.plan.travel, source, problem, roads, cache_dir, city_roads
    )
    target = default_output(output, state_file, ".reopt.json")
    if rescue == "compare":
        _compare(problem, state, travel, params, source=state_file, target=target)
        return
    result = _reoptimise(problem, state, travel, params, source=state_file)
    _report(result, travel, target)


def _report(result: Reoptimisation, travel: TravelModel, target: Path) -> None:
    """Check, write and print a re-optimisation; exit 1 if the checker fails."""
    from routing.solver import check

    verdict = check(result.problem, result.plan, travel)
    _write_reoptimisation(result, target)
    out.print(summary_table(result.problem, result.plan, title="Rest of the day"))
    out.print(changes_table(result))
    if result.changes.rescued:
        out.print(rescued_table(result))
    out.print(f"checker: {verdict}")
    out.print(f"result written to {target}")
    if not verdict.ok:
        raise typer.Exit(code=1)


# -- slots -----------------------------------------------------------------------


def _config(path: Path | None) -> SlotConfig:
    import tomllib

    from routing.io import InputError, load_json, parse_model
    from routing.slotting import SlotConfig

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


def _now(value: str | None, day: dt.date, tz: dt.tzinfo) -> int | None:
    from routing.io import InputError
    from routing.units import to_seconds

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
    return to_seconds(moment, day, tz)


def _day(problem: Problem, date: str | None) -> dt.date:
    from routing.io import InputError

    day = problem.date
    if date is not None:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            raise InputError("--date", [f"{date!r} is not a date YYYY-MM-DD"]) from None
    if day is None:
        raise InputError("--date", ["required: the problem has no date"])
    if problem.date is not None and day != problem.date:
        raise InputError("--date", [f"the plan is for {problem.date}, not {day}"])
    return day


def quotes_table(
    quotes: list[SlotQuote], problem: Problem, *, priced: bool = False
) -> Table:
    """Slots as a customer would see them, with the reasons.

    Fits an 80-column terminal: a slot shows its window (below its id) only
    when the id is not the window itself, the cost is the total cost (the
    marginal cost, plus a ``retention`` column of its part when ``priced``),
    and in a narrower terminal cells wrap (long ids fold) instead of being
    cut.
    """
    from rich import box
    from rich.table import Table

    from routing.wallclock import shown_as

    clock, currency = shown_as(problem), problem.locale.currency
    table = Table(
        title="Slots",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("slot", overflow="fold")
    table.add_column("free")
    table.add_column(currency, justify="right")
    if priced:
        table.add_column("retention", justify="right")
    table.add_column("van", overflow="fold")
    table.add_column("eta")
    table.add_column("reason", overflow="fold", ratio=1)
    for q in quotes:
        window = f"{clock(q.slot.window.start)}-{clock(q.slot.window.end)}"
        retention = "-" if q.retention_cost is None else f"{q.retention_cost:,.0f}"
        table.add_row(
            q.slot.id if q.slot.id == window else f"{q.slot.id}\n{window}",
            "yes" if q.available else "no",
            "-" if q.total_cost is None else f"{q.total_cost:,.0f}",
            *([retention] if priced else []),
            q.vehicle or "-",
            "-" if q.eta is None else clock(q.eta),
            q.reason.value + (f": {q.detail}" if q.detail else ""),
        )
    return table


SlotPricingOption = Annotated[
    Path | None,
    typer.Option(
        help="retention pricing JSON (GET /v1/retention/pricing): add each "
        "slot's expected retention cost [default: route cost alone]"
    ),
]
CustomerIdOption = Annotated[
    str | None, typer.Option(help="who orders (their value in --pricing)")
]


def _slot_pricing(
    path: Path | None, problem: Problem, location: Location, customer_id: str | None
) -> SlotPricing | None:
    """Retention prices from a pricing file (none without one), or exit 2
    naming the bad option.

    The file is what ``GET /v1/retention/pricing`` answers: its ``pricing``,
    and each customer valued at ``customer_values.median`` (the answer holds
    no customer's own value); a ``values`` object (customer id: money) gives
    customers their own.
    """
    from pydantic import BaseModel, ConfigDict, Field

    from api.services.retention import CustomerValueSummary
    from api.services.slots import quoted_order, slot_pricing
    from routing.io import InputError, load_json, parse_model
    from tracking.feedback import CustomerValue, LatenessPricing

    class PricingFile(BaseModel):
        model_config = ConfigDict(extra="ignore")

        pricing: LatenessPricing
        values: dict[str, float] = {}
        running_late: tuple[int, ...] = Field(default=(), max_length=1_001)
        customer_values: CustomerValueSummary | None = None

    if path is None:
        if customer_id is not None:
            reason = "prices a customer's retention: give --pricing too"
            raise fail(InputError("--customer-id", [reason]))
        return None
    try:
        found = parse_model(PricingFile, load_json(path), str(path))
    except InputError as exc:
        raise fail(exc) from None
    summary = found.customer_values
    median = 0.0 if summary is None or summary.median is None else summary.median

    def value(customer: str | None) -> CustomerValue:
        return CustomerValue(value=found.values.get(customer or "", median))

    order = quoted_order(problem, location, customer_id)
    priced = slot_pricing(problem, found.pricing, value, order)
    return priced.model_copy(update={"running_late": found.running_late})


def _slot_inputs(
    problem_file: Path,
    plan_file: Path,
    where: tuple[float, float],
    date: str | None,
    config: Path | None,
    now: str | None,
) -> tuple[Problem, Plan, SlotConfig, Location, dt.date, int | None]:
    """Everything ``slots`` reads, or exit 2 naming the bad field."""
    from routing.io import InputError, parse_model, read_problem
    from routing.model import Location

    try:
        problem = read_problem(problem_file)
        plan = _read_plan(plan_file)
        cfg = _config(config)
        lat, lon = where
        location = parse_model(Location, {"lat": lat, "lon": lon}, "--lat/--lon")
        day = _day(problem, date)
        return problem, plan, cfg, location, day, _now(now, day, problem.locale.zone)
    except InputError as exc:
        raise fail(exc) from None


def _book(
    slots: SlotBook,
    location: Location,
    choice: tuple[str, str | None, int | None],
    known: list[str],
) -> tuple[str, str, str, int, float]:
    """Book the slot; (order, slot, van, ETA, marginal cost) or exit 2."""
    from routing.io import InputError
    from routing.slotting import SlotUnavailableError

    slot_id, order_id, moment = choice
    try:
        b = slots.book(location, slot_id, order_id=order_id, now=moment)
    except KeyError:
        raise fail(
            InputError(
                "--book", [f"no slot {slot_id!r} here; choose from {', '.join(known)}"]
            )
        ) from None
    except (SlotUnavailableError, ValueError) as exc:
        raise fail(InputError("--book", [str(exc)])) from None
    return b.order, b.slot.id, b.vehicle, b.eta, b.marginal_cost


def _write_booking(
    slots: SlotBook,
    booked: tuple[str, str, str, int, float],
    folder: Path,
    named_after: tuple[Path, Path],
) -> None:
    """Write the booked problem and plan; say what was booked and where."""
    from routing.io import plan_to_json, problem_to_json, write_json
    from routing.wallclock import shown_as

    clock = shown_as(slots.problem)
    order, slot, van, eta, cost = booked
    problem_file, plan_file = named_after
    new_problem = write_json(
        problem_to_json(slots.problem), folder / (problem_file.stem + ".booked.json")
    )
    new_plan = write_json(
        plan_to_json(slots.plan()), folder / (plan_file.stem + ".booked.json")
    )
    out.print(
        f"booked {order} in {slot} on {van} "
        f"(ETA {clock(eta)}, marginal cost {slots.problem.locale.money(cost)})"
    )
    out.print(f"problem written to {new_problem}, plan to {new_plan}")
    out.print(json.dumps({"order": order, "slot": slot}))


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
            "--out",
            "-o",
            help="where a booking writes problem and plan JSON [default: the "
            "current folder]",
        ),
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="also write the quotes as JSON")
    ] = None,
    pricing: SlotPricingOption = None,
    customer_id: CustomerIdOption = None,
    roads: PlanRoadsOption = None,
    city_roads: PlanCityRoadsOption = None,
    cache_dir: CacheOption = DEFAULT_CACHE_DIR,
) -> None:
    """Quote delivery slots for an address, or book one."""
    from routing.io import write_json
    from routing.slotting import SlotBook

    problem, plan, cfg, location, day, moment = _slot_inputs(
        problem_file, plan_file, (lat, lon), date, config, now
    )
    priced = _slot_pricing(pricing, problem, location, customer_id)
    source = str(plan_file)
    travel = plan_travel(plan.travel, source, problem, roads, cache_dir, city_roads)
    slots = SlotBook(problem, plan, travel, cfg)
    quotes = slots.quote(location, day, now=moment, pricing=priced)
    out.print(quotes_table(quotes, problem, priced=priced is not None))
    if json_file is not None:
        write_json([q.model_dump(mode="json") for q in quotes], json_file)
    if book is None:
        return
    known = [q.slot.id for q in quotes]
    choice = (book, order_id, moment)
    booked = _book(slots, location, choice, known)
    _write_booking(slots, booked, out_dir or Path(), (problem_file, plan_file))
