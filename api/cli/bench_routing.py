"""``bench routing``: run the VRPTW benchmarks and print a comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import WorkersOption, console, out
from api.cli.common import error as _error

if TYPE_CHECKING:
    from rich.table import Table


def _split(values: list[str] | None) -> list[str]:
    items: list[str] = []
    for value in values or []:
        items.extend(v.strip() for v in value.split(",") if v.strip())
    return items


def _line(run: dict[str, Any]) -> str:
    if run["distance"] is None:
        return f"{run['instance']:<10} {run['engine']:<13} {run['violations'][0]}"
    gap = "" if run["gap_pct"] is None else f"gap {run['gap_pct']:+6.2f}%"
    if run.get("extra_routes") is not None:
        gap = f"{run['extra_routes']:+d} routes " + gap
    verdict = (
        "ok" if run["feasible"] else "INFEASIBLE: " + "; ".join(run["violations"][:2])
    )
    return (
        f"{run['instance']:<10} {run['engine']:<13} {run['distance']:>10.1f} "
        f"{gap:<13} routes {run['vehicles']:>3}  {run['seconds']:6.1f} s  {verdict}"
    )


def _safe_run(
    job: tuple[Path, str, float, int, Any, str, int | None],
) -> dict[str, Any]:
    from routing.bench.vrptw import failed_run, run_instance

    path, name, time_limit, seed, bks, convention, workers = job
    try:
        run = run_instance(
            path,
            name,
            time_limit,
            seed,
            bks=bks,
            convention=convention,
            workers=workers,
        )
    except Exception as exc:  # one failing run must not end the benchmark
        run = failed_run(path.stem, name, f"{type(exc).__name__}: {exc}")
    run["seed"] = seed
    return run


def summary_table(summary: dict[str, dict[str, Any]], title: str) -> Table:
    """One row per engine: feasibility, gap to BKS and time."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("engine", "left"),
        ("instances", "right"),
        ("feasible", "right"),
        ("mean gap %", "right"),
        ("max gap %", "right"),
        ("mean s", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]

    hierarchical = any("extra_routes" in s for s in summary.values())
    if hierarchical:
        table.add_column("extra routes", justify="right")
        table.add_column("at BKS routes", justify="right")

    def num(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    for engine, s in summary.items():
        row = [
            engine,
            str(s["instances"]),
            str(s["feasible"]),
            num(s["mean_gap_pct"]),
            num(s["max_gap_pct"]),
            num(s["mean_seconds"]),
        ]
        if hierarchical:
            row += [str(s.get("extra_routes", "-")), str(s.get("at_bks_routes", "-"))]
        table.add_row(*row)
    return table


def _instances(
    suite: str,
    instances: str | None,
    engine: list[str] | None,
    data_dir: Path | None,
) -> tuple[list[str], list[Path]]:
    """The engines and instance files asked for, or exit 2 naming the option."""
    from routing.bench.vrptw import ENGINES, SUITES, default_data_dir, suite_instances

    if suite not in SUITES:
        raise _error(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")
    engines = _split(engine) or ["ortools"]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise _error(
            f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINES)}"
        )
    folder = data_dir or default_data_dir()
    if not (folder / suite / "instances").is_dir():
        raise _error(f"no {suite} instances under {folder} (use --data-dir)")
    try:
        files = suite_instances(folder, suite, _split([instances] if instances else []))
    except ValueError as exc:
        raise _error(str(exc)) from None
    if not files:
        raise _error(f"no instances found under {folder / suite}")
    return engines, files


def _announce(
    suite: str,
    n_files: int,
    engines: list[str],
    time_limit: float,
    seeds: tuple[int, int],
    side_by_side: bool,
) -> None:
    first, count = seeds
    console.print(
        f"{suite}: {n_files} instance(s) x {len(engines)} engine(s), "
        f"{time_limit:g} s each, "
        + (f"seed {first}" if count == 1 else f"seeds {first}-{first + count - 1}")
        + (", engines side by side" if side_by_side else ""),
        highlight=False,
    )


def _run_all(
    files: list[Path],
    engines: list[str],
    seeds: range,
    *,
    time_limit: float,
    side_by_side: bool,
    json_file: Path | None,
    convention: str = "distance",
    routes_dir: Path | None = None,
    workers: int | None = None,
) -> list[dict[str, Any]]:
    """Every instance x seed x engine, a line each, saved as they finish: the
    engines of an instance one after the other (A, B, A, B, ...), so a change
    in the machine's speed hits them alike."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from routing.bench.vrptw import bks_for, report

    bks = bks_for(files[0], convention)
    runs: list[dict[str, Any]] = []
    for path in files:
        for seed in seeds:
            jobs = [
                (path, name, time_limit, seed, bks, convention, workers)
                for name in engines
            ]
            if side_by_side and len(jobs) > 1:
                ctx = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(len(jobs), mp_context=ctx) as pool:
                    batch = list(pool.map(_safe_run, jobs))
            else:
                batch = [_safe_run(job) for job in jobs]
            for run in batch:
                runs.append(run)
                console.print(_line(run), markup=False, highlight=False)
                if routes_dir is not None and run["routes"]:
                    _write_routes(routes_dir, run)
            if json_file is not None:
                json_file.write_text(json.dumps(report(runs), indent=2) + "\n")
    return runs


def _write_routes(folder: Path, run: dict[str, Any]) -> None:
    """``INSTANCE.ENGINE.sSEED.sol``: the route list, for re-scoring by anyone
    (``python -m routing.bench.rescore INSTANCE.txt FILE.sol``)."""
    from routing.bench.rescore import write_routes

    folder.mkdir(parents=True, exist_ok=True)
    name = f"{run['instance']}.{run['engine']}.s{run['seed']}.sol"
    write_routes(folder / name, run["routes"], float(run["distance"]))


SideBySide = Annotated[
    bool,
    typer.Option(
        help="run the engines of each instance at the same time, one "
        "process each, so that changes in the machine's speed hit them "
        "alike (each then has a share of the cores)"
    ),
]
Convention = Annotated[
    str,
    typer.Option(
        help="distance (DIMACS, objective distance) | hierarchical (SINTEF: "
        "objective vans_then_distance, routes over BKS, distance in doubles)"
    ),
]
RoutesDir = Annotated[
    Path | None,
    typer.Option(help="write each run's routes here as INSTANCE.ENGINE.sSEED.sol"),
]


def _check_options(
    convention: str, time_limit: float, seeds: int, workers: int | None = None
) -> None:
    """Exit 2 naming the option on a bad convention, time limit, seed count
    or number of workers."""
    from routing.bench.vrptw import CONVENTIONS

    if workers is not None and workers < 1:
        raise _error("--workers must be at least 1")
    if convention not in CONVENTIONS:
        choices = ", ".join(CONVENTIONS)
        raise _error(f"--convention: unknown {convention!r}; choose from {choices}")
    if time_limit <= 0:
        raise _error("--time-limit must be positive")
    if seeds < 1:
        raise _error("--seeds must be at least 1")


def _check_engines(convention: str, engines: list[str]) -> None:
    """PyVRP alone has no vans-first objective: refuse it on that convention."""
    from routing.bench.vrptw import PYVRP_DIRECT

    if convention == "hierarchical" and PYVRP_DIRECT in engines:
        raise _error("--engine pyvrp-direct solves for distance only, not vans first")


def bench_routing_command(
    suite: Annotated[str, typer.Option(help="solomon | homberger")] = "solomon",
    instances: Annotated[
        str | None,
        typer.Option(
            help="comma-separated names, e.g. C101,R101 "
            "[default: all Solomon, or the 1000-customer Gehring-Homberger ones]"
        ),
    ] = None,
    engine: Annotated[
        list[str] | None,
        typer.Option(
            help="ortools | pyvrp | auto | large | pyvrp-direct; repeat or "
            "comma-separate to compare [default: ortools]"
        ),
    ] = None,
    time_limit: Annotated[float, typer.Option(help="seconds per run")] = 10.0,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    seeds: Annotated[
        int, typer.Option(help="runs per instance and engine, seeds seed, seed+1, ...")
    ] = 1,
    side_by_side: SideBySide = False,
    json_file: Annotated[
        Path | None,
        typer.Option("--json", help="write machine, date, runs and summary here"),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="the vrptw benchmark folder [default: ../shared/...]"),
    ] = None,
    convention: Convention = "distance",
    routes_dir: RoutesDir = None,
    workers: WorkersOption = None,
) -> None:
    """Run VRPTW benchmark instances and compare engines with the BKS."""
    from routing.bench.vrptw import summarise

    _check_options(convention, time_limit, seeds, workers)
    engines, files = _instances(suite, instances, engine, data_dir)
    _check_engines(convention, engines)
    _announce(suite, len(files), engines, time_limit, (seed, seeds), side_by_side)
    runs = _run_all(
        files,
        engines,
        range(seed, seed + seeds),
        time_limit=time_limit,
        side_by_side=side_by_side,
        json_file=json_file,
        convention=convention,
        routes_dir=routes_dir,
        workers=workers,
    )
    title = f"{suite}, {time_limit:g} s per run, {convention} convention"
    out.print(summary_table(summarise(runs), title))
    if json_file is not None:
        out.print(f"results written to {json_file}")


app = typer.Typer(add_completion=False)
app.command()(bench_routing_command)
