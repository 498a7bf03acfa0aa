"""``bench pdptw``: shipments (pickup and delivery pairs) against a reference,
milepost and VROOM in one run (:mod:`routing.bench.pdptw`)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import console, out
from api.cli.common import error as _error

if TYPE_CHECKING:
    from rich.table import Table

#: ``routing.bench.pdptw.ENGINES`` and ``OBJECTIVES``, repeated so that the
#: help stays cheap (tests keep them equal).
ENGINES = ("auto", "ortools", "pyvrp", "large", "vroom")
OBJECTIVES = ("vans_then_distance", "distance")
DEFAULT_ENGINES = "auto,ortools,vroom"


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


def _files(names: list[str], folder: Path | None) -> list[Path]:
    """Instance files by path or by name in the folder; exit 2 naming one."""
    from routing.bench.pdptw import default_folder

    where = folder or default_folder()
    if not names:
        found = sorted(where.glob("*.txt"), key=lambda p: (p.stat().st_size, p.name))
        if not found:
            raise _error(f"--folder: no instance files (*.txt) in {where}")
        return found
    files = []
    for name in names:
        path = Path(name)
        if not path.is_file():
            path = where / (name if name.endswith(".txt") else f"{name}.txt")
        if not path.is_file():
            raise _error(f"--instances: no file {name!r} (nor in {where})")
        files.append(path)
    return files


def _checked(engine: list[str] | None, objective: str, time_limit: float) -> list[str]:
    """The engines asked for, or exit 2 naming the option."""
    engines = _split(engine) or DEFAULT_ENGINES.split(",")
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise _error(
            f"--engine: unknown {', '.join(unknown)}; choose from {', '.join(ENGINES)}"
        )
    if objective not in OBJECTIVES:
        raise _error(
            f"--objective: unknown {objective!r}; choose from {', '.join(OBJECTIVES)}"
        )
    if time_limit <= 0:
        raise _error("--time-limit must be positive")
    return engines


def _line(run: dict[str, Any]) -> str:
    head = f"{run['instance']:<20} {run['engine']:<8} s{run['seed']}"
    if run["distance"] is None:
        return f"{head} {run['violations'][0]}"
    ref = ""
    if run["gap_pct"] is not None:
        ref = f"{run['extra_routes']:+d} routes, gap {run['gap_pct']:+6.2f}%"
    verdict = (
        "ok" if run["feasible"] else "INFEASIBLE: " + "; ".join(run["violations"][:2])
    )
    return (
        f"{head} routes {run['vehicles']:>3} {run['distance']:>10.1f}  {ref:<26}"
        f"{run['seconds']:6.1f} s  {verdict}"
    )


def _safe_run(
    path: Path,
    engine: str,
    time_limit: float,
    seed: int,
    objective: str,
    reference: dict[str, Any],
) -> dict[str, Any]:
    from routing.bench.pdptw import failed_run, run_instance

    try:
        return run_instance(
            path, engine, time_limit, seed, objective=objective, reference=reference
        )
    except Exception as exc:  # one failing run must not end the benchmark
        return failed_run(path.stem, engine, seed, f"{type(exc).__name__}: {exc}")


def results_table(summary: dict[str, dict[str, Any]], title: str) -> Table:
    """One row per engine: feasible runs, routes over and gap to the reference."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("engine")
    for name in (
        "runs",
        "feasible",
        "routes over ref",
        "mean gap %",
        "max gap %",
        "mean s",
    ):
        table.add_column(name, justify="right")

    def num(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    for engine, s in summary.items():
        table.add_row(
            engine,
            str(s["instances"]),
            str(s["feasible"]),
            str(s["extra_routes"]),
            num(s["mean_gap_pct"]),
            num(s["max_gap_pct"]),
            num(s["mean_seconds"]),
        )
    return table


def _reference_file(
    reference: Path | None, folder: Path | None, objective: str
) -> Path:
    from routing.bench.pdptw import default_folder

    return reference or (folder or default_folder()) / f"reference-{objective}.json"


def _command(
    files: list[Path], engines: list[str], run: tuple[float, int, int], objective: str
) -> str:
    """The command that repeats this run, as stored with a reference."""
    time_limit, seed, seeds = run
    return shlex.join(
        [
            "milepost",
            "bench",
            "pdptw",
            "--instances",
            ",".join(p.stem for p in files),
            "--engine",
            ",".join(engines),
            "--time-limit",
            f"{time_limit:g}",
            "--seed",
            str(seed),
            "--seeds",
            str(seeds),
            "--objective",
            objective,
            "--save-reference",
        ]
    )


Instances = Annotated[
    list[str] | None,
    typer.Option(
        help="instance names or files; repeat or comma-separate "
        "[default: every *.txt in --folder]"
    ),
]
Engines = Annotated[
    list[str] | None,
    typer.Option(
        help=f"{' | '.join(ENGINES)}; repeat or comma-separate "
        f"[default: {DEFAULT_ENGINES}]"
    ),
]
Folder = Annotated[
    Path | None,
    typer.Option(help="instances and references [default: benchmarks/pdptw]"),
]
Reference = Annotated[
    Path | None,
    typer.Option(help="reference file [default: FOLDER/reference-OBJECTIVE.json]"),
]
SaveReference = Annotated[
    bool, typer.Option(help="add this run's feasible plans to the reference file")
]
JsonFile = Annotated[
    Path | None,
    typer.Option("--json", help="write machine, date, runs and summary here"),
]


def _run_all(
    files: list[Path],
    engines: list[str],
    seeds: range,
    time_limit: float,
    objective: str,
    best: dict[str, Any],
    json_file: Path | None,
) -> list[dict[str, Any]]:
    """Every instance x seed, the engines in turn, a line each, saved as
    they finish."""
    from routing.bench.pdptw import report

    runs: list[dict[str, Any]] = []
    for path in files:
        for s in seeds:
            for name in engines:  # engines alternate on each instance
                run = _safe_run(path, name, time_limit, s, objective, best)
                runs.append(run)
                console.print(_line(run), markup=False, highlight=False, soft_wrap=True)
                if json_file is not None:
                    json_file.write_text(json.dumps(report(runs), indent=1) + "\n")
    return runs


def bench_pdptw_command(
    instances: Instances = None,
    engine: Engines = None,
    time_limit: Annotated[float, typer.Option(help="seconds per run")] = 120.0,
    seed: Annotated[int, typer.Option(help="first random seed")] = 0,
    seeds: Annotated[int, typer.Option(min=1, help="runs per instance and engine")] = 1,
    objective: Annotated[str, typer.Option(help=" | ".join(OBJECTIVES))] = OBJECTIVES[
        0
    ],
    folder: Folder = None,
    reference: Reference = None,
    save_reference: SaveReference = False,
    json_file: JsonFile = None,
) -> None:
    """Plan PDPTW instances with each engine in turn; judge every plan with the
    checker and compare it with the reference (best of the stored long runs)."""
    from routing.bench import pdptw

    engines = _checked(engine, objective, time_limit)
    files = _files(_split(instances), folder)
    ref_file = _reference_file(reference, folder, objective)
    try:
        best = pdptw.load_reference(ref_file, objective)
    except ValueError as exc:
        raise _error(f"--reference: {exc}") from None
    console.print(
        f"{len(files)} instance(s) x {len(engines)} engine(s) x {seeds} "
        f"seed(s), {time_limit:g} s each; reference {ref_file}",
        highlight=False,
    )
    runs = _run_all(
        files,
        engines,
        range(seed, seed + seeds),
        time_limit,
        objective,
        best,
        json_file,
    )
    if save_reference:
        command = _command(files, engines, (time_limit, seed, seeds), objective)
        stamp = pdptw.report([])["date"]
        pdptw.save_reference(
            ref_file, runs, objective=objective, command=command, date=stamp
        )
        out.print(f"reference updated: {ref_file}")
    title = f"PDPTW, {time_limit:g} s per run, {objective}"
    out.print(results_table(pdptw.summarise(runs), title))
    if json_file is not None:
        out.print(f"results written to {json_file}")
