"""``milepost bench forecast``: the Rossmann backtest from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import error as _error
from api.cli.common import out

if TYPE_CHECKING:
    from rich.table import Table

    from forecasting.rossmann import BacktestResult

__all__ = ["backtest_table", "bench_forecast_command", "slice_table"]


def backtest_table(result: BacktestResult, target: str) -> Table:
    """One row per model for one target, with the anchors' numbers below ours."""
    from rich.table import Table

    from forecasting.rossmann import ANCHORS, CUTOFFS, HORIZON, LEVEL, QUOTED

    res = result.targets[target]
    table = Table(
        title=(
            f"{target}: {res.stores} stores, cutoffs "
            f"{', '.join(c.isoformat() for c in CUTOFFS)}, {HORIZON} days ahead; "
            f"fit + predict of every model run here {res.seconds:.1f} s"
        ),
        title_justify="left",
    )
    for name, justify in (
        ("model", "left"),
        ("WAPE", "right"),
        ("Dec WAPE", "right"),
        ("bias", "right"),
        ("MASE", "right"),
        (f"cover {LEVEL}", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]

    def num(value: float | None, fmt: str = ".3f") -> str:
        return "-" if value is None else format(value, fmt)

    for row in res.metrics.to_dict(orient="records"):
        alias = str(row["model"])
        table.add_row(
            alias,
            num(float(row["wape"])),
            num(res.december_wape[alias]),
            num(float(row["bias"]), "+.3f"),
            num(float(row["mase"])),
            num(float(row[f"coverage_{LEVEL}"])),
        )
    for name, values in ANCHORS.get(target, {}).items():
        peer = name.removeprefix("anchor: ")
        table.add_row(
            f"[dim]{peer}: {QUOTED.get(peer, 'quoted')}[/]",
            num(values.get("wape")),
            "-",
            "-",
            "-",
            num(values.get(f"coverage_{LEVEL}")),
        )
    return table


def slice_table(result: BacktestResult, target: str) -> Table:
    """The hard days of one target: a row per model and figure, a column per slice."""
    from rich.table import Table

    from forecasting.rossmann import LEVEL, SLICES

    res = result.targets[target]
    slices = res.slices
    names = list(dict.fromkeys(slices["slice"]))
    windows = [n for n in names if n != "pooled" and n not in SLICES]
    columns = ["pooled", *windows, *SLICES]
    table = Table(
        title=(
            f"{target} on the hard days: WAPE (all days); cover {LEVEL} and share "
            "above P80 / P90 (open days; nominal 0.20 / 0.10); windows by cutoff"
        ),
        title_justify="left",
    )
    table.add_column("model")
    table.add_column("figure")
    for name in columns:
        table.add_column(name, justify="right")
    figures = (
        ("wape", "WAPE"),
        (f"coverage_{LEVEL}", f"cover {LEVEL}"),
        ("above_p80", "above P80"),
        ("above_p90", "above P90"),
    )
    indexed = slices.set_index(["model", "slice"])
    for alias in dict.fromkeys(slices["model"]):
        for key, label in figures:
            cells = []
            for name in columns:
                value = float(indexed.loc[(alias, name), key])
                cells.append("-" if value != value else f"{value:.3f}")
            table.add_row(alias if key == "wape" else "", label, *cells)
    days = [
        str(int(indexed.loc[(slices["model"].iloc[0], n), "days"])) for n in columns
    ]
    table.add_row("[dim]days[/]", "", *(f"[dim]{d}[/]" for d in days))
    return table


def bench_forecast_command(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="the rossmann_100stores folder [default: ../shared/datasets/...]"
        ),
    ] = None,
    json_file: Annotated[
        Path | None,
        typer.Option("--json", help="write the per-target metrics here"),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(help="Customers | Sales; repeat for both [default: both]"),
    ] = None,
    seed: Annotated[int, typer.Option(help="model seed")] = 0,
) -> None:
    """Backtest the forecaster on the Rossmann stores and compare with the anchors."""
    from forecasting.rossmann import (
        ANCHOR_SECONDS,
        QUOTED,
        TARGETS,
        default_data_dir,
        run_backtest,
    )

    targets = [
        t.strip() for item in (target or []) for t in item.split(",") if t.strip()
    ]
    targets = targets or list(TARGETS)
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise _error(
            f"--target: unknown {', '.join(unknown)}; choose from {', '.join(TARGETS)}"
        )
    folder = data_dir or default_data_dir()
    try:
        result = run_backtest(folder, targets, seed=seed)
    except FileNotFoundError as exc:
        raise _error(str(exc)) from None
    for name in result.targets:
        out.print(backtest_table(result, name))
        out.print(slice_table(result, name))
    run = sorted({m for t in result.targets.values() for m in t.metrics["model"]})
    out.print(f"peers run in this backtest: {', '.join(run)}", highlight=False)
    for peer, why in QUOTED.items():
        out.print(f"{peer}: {why}", highlight=False)
    anchors = ", ".join(f"{k} {v:.0f} s" for k, v in ANCHOR_SECONDS.items())
    out.print(
        f"total {result.seconds:.1f} s on {result.machine} (anchors: {anchors})",
        highlight=False,
    )
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
        out.print(f"metrics: {json_file}")
