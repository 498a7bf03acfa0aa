"""The ``milepost`` command: every room's commands under one roof."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from api.service_cli import db_app, ingest_mqtt_command, keys_app, serve_command
from forecasting.cli import bench_forecast_command
from routing.amazon_cli import amazon_command
from routing.bench_cli import bench_routing_command
from routing.cli import console, out, plan_command, solve_with_progress, summary_table
from routing.scale_cli import plan_large_command, reoptimize_command, slots_command
from routing.travel.cache import DEFAULT_CACHE_DIR
from routing.travel.cli import bench_travel_command
from scenarios.cli_forecast import forecast_command
from scenarios.cli_simulate import simulate_command
from scenarios.eta_bench import bench_eta_command


class TravelChoice(StrEnum):
    roads = "roads"
    haversine = "haversine"


app = typer.Typer(
    name="milepost",
    help="Last-mile delivery: forecast, plan, track, learn and simulate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("plan")(plan_command)
app.command("plan-amazon")(amazon_command)
app.command("plan-large")(plan_large_command)
app.command("reoptimize")(reoptimize_command)
app.command("slots")(slots_command)

bench_app = typer.Typer(
    help="Benchmarks (run by hand, one at a time).", no_args_is_help=True
)
bench_app.command("eta")(bench_eta_command)
bench_app.command("forecast")(bench_forecast_command)
bench_app.command("routing")(bench_routing_command)
bench_app.command("travel")(bench_travel_command)
app.add_typer(bench_app, name="bench")
app.command("forecast")(forecast_command)
app.command("simulate")(simulate_command)
app.command("serve")(serve_command)
app.command("ingest-mqtt")(ingest_mqtt_command)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")


@app.command()
def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="folder for the results")
    ] = Path("milepost-out"),
    orders: Annotated[int, typer.Option(min=1, max=5000, help="orders to plan")] = 400,
    seed: Annotated[int, typer.Option(help="city and order seed")] = 0,
    day: Annotated[
        str | None, typer.Option(help="delivery date YYYY-MM-DD [default: tomorrow]")
    ] = None,
    time_limit: Annotated[
        float, typer.Option(min=1.0, help="seconds of route search")
    ] = 20.0,
    travel: Annotated[
        TravelChoice, typer.Option(help="road network or straight lines")
    ] = TravelChoice.roads,
    cache_dir: Annotated[
        Path, typer.Option(help="where travel matrices are cached")
    ] = DEFAULT_CACHE_DIR,
) -> None:
    """Plan tomorrow's deliveries in the embedded Seoul city."""
    from scenarios.demo import run_demo

    when = None
    if day is not None:
        try:
            when = dt.date.fromisoformat(day)
        except ValueError:
            console.print(
                f"[bold red]error[/]: --day: {day!r} is not a date YYYY-MM-DD"
            )
            raise typer.Exit(code=2) from None
    result = run_demo(
        out_dir,
        solver=solve_with_progress,
        day=when,
        n_orders=orders,
        seed=seed,
        time_limit=time_limit,
        travel=travel.value,
        cache_dir=cache_dir,
        on_stage=lambda text: console.print(f"[dim]-[/] {text}"),
    )
    p = result.problem
    out.print(
        summary_table(
            p,
            result.plan,
            title=f"Seoul, {p.date}: {len(p.jobs) + len(p.shipments)} "
            f"orders, {len(p.depots)} depots, {len(p.vehicles)} vans",
        )
    )
    out.print(f"checker: {result.verdict}")
    for name, path in result.files.items():
        out.print(f"{name:>8}: {path}")
    if not result.verdict.ok:
        raise typer.Exit(code=1)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
