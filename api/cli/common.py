"""What the commands share, cheap to import: consoles, errors, option types.

``milepost --help`` imports every command module, so nothing here (nor at the
top of any ``api/cli`` module) imports routing, scenarios or the numeric
libraries: the commands import them inside their functions. Types used in a
command's annotations must stay cheap (``Path``, ``str``, enums defined in
the CLI), because typer evaluates them to build the help.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from routing.io import InputError
    from routing.model import Problem
    from routing.travel import TravelModel, TravelSpec

console = Console(stderr=True)
out = Console()

#: ``routing.travel.cache.DEFAULT_CACHE_DIR``, repeated here so that the help
#: does not import the travel models (tests/api/cli keeps the two equal).
DEFAULT_CACHE_DIR = Path("~/.cache/milepost/travel")

RoadsOption = Annotated[
    Path | None,
    typer.Option(
        help="road network (.graphml[.gz], .osm[.bz2], .osm.pbf) to drive on "
        "instead of straight lines"
    ),
]
#: ``routing.travel.MAX_SNAP_M``, repeated for the help (tests keep them equal).
MAX_SNAP_M = 500.0

MaxSnapOption = Annotated[
    float | None,
    typer.Option(
        "--max-snap-m",
        min=0.0,
        help=f"with --roads or --city-roads: an order farther than this (m) from "
        f"the nearest road is left unassigned (off_road) and a depot that far is "
        f"an error; raise it to plan them, their crawl from the road at 15 km/h "
        f"reported in the plan [default: {MAX_SNAP_M:g}]",
    ),
]
CacheOption = Annotated[
    Path, typer.Option(help="where road travel matrices are cached")
]
CityRoadsOption = Annotated[
    int | None,
    typer.Option(
        metavar="SEED",
        help="drive on the embedded Seoul's road network of this seed, the one "
        "'milepost demo --seed SEED' plans on (default seed 0)",
    ),
]
PlanRoadsOption = Annotated[
    Path | None,
    typer.Option(
        "--roads",
        help="road network the plan was made on; only needed for an older plan "
        "that does not record its travel model (a recorded one is used as is, "
        "and a different one is refused)",
    ),
]
PlanCityRoadsOption = Annotated[
    int | None,
    typer.Option(
        "--city-roads",
        metavar="SEED",
        help="the embedded Seoul's road network of this seed; only needed for "
        "an older plan that does not record its travel model",
    ),
]
ObjectiveOption = Annotated[
    str, typer.Option(help="cost | distance | vans_then_distance")
]
SeedOption = Annotated[int, typer.Option(help="random seed")]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        help="cores the search may use: PyVRP searches as that many islands "
        "sharing their best; 1 is PyVRP alone (raced against OR-Tools by "
        "auto) [default: all]"
    ),
]


def fail(exc: InputError) -> typer.Exit:
    """Print an input error (field path and reason per line); exit code 2."""
    console.print(f"[bold red]error[/]: {exc.source}: invalid input", soft_wrap=True)
    for line in exc.lines:
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def error(message: str) -> typer.Exit:
    """Print a one-line error about an option or file; exit code 2."""
    console.print(f"[bold red]error[/]: {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def option_day(value: str | None, option: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` option as a date (None when not given), or exit 2
    naming ``option``."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise error(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


def no_plan(
    exc: Exception, hint: str = "a longer --time-limit may find one"
) -> typer.Exit:
    """Print why a search found no plan; exit code 1.

    For :class:`routing.solver.NoPlanFound` and the errors made of it (a
    capacity level without a plan): the run failed, as when the checker
    rejects a plan, and the input was not at fault (that is exit 2).
    """
    console.print(f"[bold red]error[/]: {exc}", highlight=False, soft_wrap=True)
    console.print(f"  {hint}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def load_travel(
    roads: Path | None,
    cache_dir: Path,
    city_roads: int | None = None,
    max_snap_m: float | None = None,
) -> TravelModel:
    """Straight lines, the road network in ``roads`` (exit 2 if unreadable), or
    the embedded city's roads of seed ``city_roads``; on roads, places
    farther than ``max_snap_m`` (default :data:`MAX_SNAP_M`) from them are
    off the road network."""
    from routing.io import InputError
    from routing.travel import HaversineTravel, RoadFileError, RoadTravel

    if roads is not None and city_roads is not None:
        raise error("--roads and --city-roads: give one or the other")
    if max_snap_m is not None and roads is None and city_roads is None:
        raise error("--max-snap-m: only with --roads or --city-roads")
    limit = MAX_SNAP_M if max_snap_m is None else max_snap_m
    if city_roads is not None:
        from scenarios.city.roads import seoul_roads

        with console.status("building the embedded city's road network"):
            return seoul_roads(city_roads, cache_dir).with_max_snap_m(limit)
    if roads is None:
        return HaversineTravel()
    try:
        with console.status(f"loading roads from {roads}"):
            return RoadTravel.from_file(roads, cache_dir=cache_dir, max_snap_m=limit)
    except RoadFileError as exc:
        raise error(f"--roads: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:  # XML errors are SyntaxError
        raise fail(InputError(str(roads), [f"cannot read road graph: {exc}"])) from None


def plan_travel(
    spec: TravelSpec | None,
    source: str,
    problem: Problem,
    roads: Path | None,
    cache_dir: Path,
    city_roads: int | None = None,
) -> TravelModel:
    """The travel model a plan was made with (``Plan.travel``), rebuilt.

    ``--roads``/``--city-roads`` are only needed for an older plan that does
    not record its model (which otherwise means straight lines, said on
    stderr); given for a plan that records one, they must describe the same
    travel (e.g. the same road file moved elsewhere), else exit 2. A recorded
    model that cannot be rebuilt (file missing or changed) exits 2 with the
    field and the reason. ``source`` names the plan in messages.
    """
    from routing.travel import (
        HaversineTravel,
        RoadTravel,
        TravelUnavailable,
        plan_travel_spec,
    )
    from scenarios.city.roads import load_city_spec

    given = None
    if roads is not None or city_roads is not None:
        given = load_travel(roads, cache_dir, city_roads)
    if spec is None:
        if given is not None:
            return given
        console.print(
            f"[yellow]note[/]: {source} does not record its travel model (an "
            "older plan): re-timing it with straight lines",
            highlight=False,
        )
        return HaversineTravel()
    if given is not None:
        given_spec = plan_travel_spec(problem, given)
        if not spec.same_as(given_spec):
            option = "--roads" if roads is not None else "--city-roads"
            raise error(
                f"{option}: {given_spec.describe()} is not the travel model "
                f"{source} was made with ({spec.describe()}); drop the option "
                "to use the plan's own, or re-plan on the new one"
            )
        if isinstance(given, RoadTravel):  # the plan's snap limit, as planned
            limit = MAX_SNAP_M if spec.max_snap_m is None else spec.max_snap_m
            return given.with_max_snap_m(limit)
        return given
    try:
        with console.status(f"rebuilding the plan's travel: {spec.describe()}"):
            return load_city_spec(spec, cache_dir, problem)
    except TravelUnavailable as exc:
        raise error(
            f"{source}: {exc.field}: {exc.reason}. The plan must be re-timed with "
            "the travel model it was made with; restore it (or give --roads "
            "with the same road network) or re-plan"
        ) from None


def default_output(given: Path | None, source: Path, suffix: str) -> Path:
    """``given``, or ``<source stem><suffix>`` in the current folder.

    Results never land next to the input by default: the input may be a
    shipped example inside the repository.
    """
    return given if given is not None else Path(source.stem + suffix)
