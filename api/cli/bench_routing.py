"""``bench routing``: run the VRPTW benchmarks and print a comparison."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from routing.bench.vrptw import (
    ENGINES,
    SUITES,
    bks_for,
    default_data_dir,
    failed_run,
    report,
    run_instance,
    suite_instances,
    summarise,
)

console = Console(stderr=True)
out = Console()


def _split(values: list[str] | None) -> list[str]:
    items: list[str] = []
    for value in values or []:
        items.extend(v.strip() for v in value.split(",") if v.strip())
    return items


def _error(message: str) -> typer.Exit:
    console.print(f"[bold red]error[/]: {message}", highlight=False)
    return typer.Exit(code=2)


def _line(run: dict[str, Any]) -> str:
    if run["distance"] is None:
        return f"{run['instance']:<10} {run['engine']:<13} {run['violations'][0]}"
    gap = "" if run["gap_pct"] is None else f"gap {run['gap_pct']:+6.2f}%"
    verdict = (
        "ok" if run["feasible"] else "INFEASIBLE: " + "; ".join(run["violations"][:2])
    )
    return (
        f"{run['instance']:<10} {run['engine']:<13} {run['distance']:>10.1f} "
        f"{gap:<13} routes {run['vehicles']:>3}  {run['seconds']:6.1f} s  {verdict}"
    )


def _safe_run(job: tuple[Path, str, float, int, Any]) -> dict[str, Any]:
    path, name, time_limit, seed, bks = job
    try:
        run = run_instance(path, name, time_limit, seed, bks=bks)
    except Exception as exc:  # one failing run must not end the benchmark
        run = failed_run(path.stem, name, f"{type(exc).__name__}: {exc}")
    run["seed"] = seed
    return run


def summary_table(summary: dict[str, dict[str, Any]], title: str) -> Table:
    """One row per engine: feasibility, gap to BKS and time."""
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

    def num(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    for engine, s in summary.items():
        table.add_row(
            engine,
            str(s["instances"]),
            str(s["feasible"]),
            num(s["mean_gap_pct"]),
            num(s["max_gap_pct"]),
            num(s["mean_seconds"]),
        )
    return table


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
    side_by_side: Annotated[
        bool,
        typer.Option(
            help="run the engines of each instance at the same time, one "
            "process each, so that changes in the machine's speed hit them "
            "alike (each then has a share of the cores)"
        ),
    ] = False,
    json_file: Annotated[
        Path | None,
        typer.Option("--json", help="write machine, date, runs and summary here"),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="the vrptw benchmark folder [default: ../shared/...]"),
    ] = None,
) -> None:
    """Run VRPTW benchmark instances and compare engines with the BKS."""
    if suite not in SUITES:
        raise _error(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")
    engines = _split(engine) or ["ortools"]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise _error(
            f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINES)}"
        )
    if time_limit <= 0:
        raise _error("--time-limit must be positive")
    if seeds < 1:
        raise _error("--seeds must be at least 1")
    folder = data_dir or default_data_dir()
    if not (folder / suite / "instances").is_dir():
        raise _error(f"no {suite} instances under {folder} (use --data-dir)")
    try:
        files = suite_instances(folder, suite, _split([instances] if instances else []))
    except ValueError as exc:
        raise _error(str(exc)) from None
    if not files:
        raise _error(f"no instances found under {folder / suite}")
    bks = bks_for(files[0])
    console.print(
        f"{suite}: {len(files)} instance(s) x {len(engines)} engine(s), "
        f"{time_limit:g} s each, "
        + (f"seed {seed}" if seeds == 1 else f"seeds {seed}-{seed + seeds - 1}")
        + (", engines side by side" if side_by_side else ""),
        highlight=False,
    )
    runs: list[dict[str, Any]] = []
    for path in files:
        for k in range(seeds):
            jobs = [(path, name, time_limit, seed + k, bks) for name in engines]
            if side_by_side and len(jobs) > 1:
                ctx = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(len(jobs), mp_context=ctx) as pool:
                    batch = list(pool.map(_safe_run, jobs))
            else:
                batch = [_safe_run(job) for job in jobs]
            for run in batch:
                runs.append(run)
                console.print(_line(run), markup=False, highlight=False)
            if json_file is not None:
                json_file.write_text(json.dumps(report(runs), indent=2) + "\n")
    out.print(summary_table(summarise(runs), f"{suite}, {time_limit:g} s per run"))
    if json_file is not None:
        out.print(f"results written to {json_file}")


app = typer.Typer(add_completion=False)
app.command()(bench_routing_command)
