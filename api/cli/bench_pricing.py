"""``milepost bench pricing``: retention-aware against uniform pricing on
constrained days of the embedded city (:mod:`scenarios.bench.pricing`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from scenarios.bench.pricing import PairedDay


def _names(text: str, hint: str) -> list[str]:
    parts = text.replace(",", " ").split()
    if not parts:
        raise typer.BadParameter("give at least one", param_hint=hint)
    return parts


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(p) for p in _names(text, "--orders")]
    except ValueError:
        raise typer.BadParameter(
            f"expected whole numbers such as 600,1080, got {text!r}",
            param_hint="--orders",
        ) from None
    if any(not 50 <= n <= 2000 for n in sizes):
        raise typer.BadParameter(
            "orders must be within 50..2000", param_hint="--orders"
        )
    return sizes


def _pct(change: dict[str, float]) -> str:
    return (
        f"{100 * change['share']:+.1f} % "
        f"[{100 * change['low']:+.1f}, {100 * change['high']:+.1f}]"
    )


def _progress(console: Console) -> Callable[[PairedDay], None]:
    """One line per paired day on stderr, as the replications finish."""

    def on_day(d: PairedDay) -> None:
        u, learned = d.uniform, d.learned
        console.print(
            f"{d.scenario} {d.orders} #{d.replication}: lost margin "
            f"{u['retention_loss']:,.0f} -> {learned['retention_loss']:,.0f} won, "
            f"route {u['route_cost']:,.0f} -> {learned['route_cost']:,.0f} won",
            highlight=False,
        )

    return on_day


def _table(result: dict[str, Any]) -> Table:
    """The cells as a table: losses, paired changes and whether the goal holds."""
    from rich.table import Table

    table = Table(
        title="Retention-aware vs uniform pricing (paired; change, 95 % interval)",
        title_justify="left",
    )
    for name in (
        "scenario",
        "orders",
        "reps",
        "lost margin uniform",
        "learned",
        "change",
        "route cost change",
        "late u/l",
        "goal",
    ):
        table.add_column(name, justify="left" if name == "scenario" else "right")
    for c in result["cells"]:
        table.add_row(
            c["scenario"],
            str(c["orders"]),
            str(c["replications"]),
            f"{c['loss_uniform']:,.0f}",
            f"{c['loss_learned']:,.0f}",
            _pct(c["loss_change"]),
            _pct(c["route_change"]),
            f"{c['late_uniform']:.1f} / {c['late_learned']:.1f}",
            "met" if c["goal_met"] else "not met",
        )
    return table


def bench_pricing_command(
    scenarios: Annotated[
        str, typer.Option(help="library scenarios, comma-separated")
    ] = "fleet_cut,snow_day",
    orders: Annotated[
        str, typer.Option(help="day sizes, comma-separated")
    ] = "600,1080",
    replications: Annotated[
        int, typer.Option(min=2, max=200, help="replications of each scenario and size")
    ] = 20,
    workers: Annotated[
        int, typer.Option(min=1, max=16, help="replications run side by side")
    ] = 1,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the full results here")
    ] = None,
) -> None:
    """Plan constrained days twice, priced uniformly and with the prices a
    shop learns from its history; compare the expected lost margin (by the
    city's truth) and the route cost, paired by replication."""
    from rich.console import Console

    from scenarios.bench.pricing import run_pricing_bench

    names = _names(scenarios, "--scenarios")
    sizes = _sizes(orders)
    console = Console(stderr=True)
    out = Console()
    if out.width < 130:
        out = Console(width=130)
    started = time.perf_counter()

    try:
        result: dict[str, Any] = run_pricing_bench(
            names, sizes, replications, workers=workers, on_day=_progress(console)
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scenarios") from None
    out.print(_table(result))
    result["seconds"] = round(time.perf_counter() - started, 1)
    out.print(f"{len(result['days'])} paired days in {result['seconds']:.0f} s")
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2) + "\n")
        out.print(f"results written to {json_out}")
