"""The ``milepost`` command: every room's commands under one roof."""

from __future__ import annotations

import typer

from api.cli.amazon import amazon_command
from api.cli.bench_eta import bench_eta_command
from api.cli.bench_forecast import bench_forecast_command
from api.cli.bench_pdptw import bench_pdptw_command
from api.cli.bench_pricing import bench_pricing_command
from api.cli.bench_retention import bench_retention_command
from api.cli.bench_routing import bench_routing_command
from api.cli.bench_sizing import bench_sizing_command
from api.cli.bench_travel import bench_travel_command
from api.cli.demo import demo_command
from api.cli.forecast import forecast_command
from api.cli.history import history_app
from api.cli.live import plan_large_command, reoptimize_command, slots_command
from api.cli.plan import plan_command
from api.cli.replay import replay_command
from api.cli.service import (
    db_app,
    dead_letters_command,
    ingest_mqtt_command,
    keys_app,
    serve_command,
    worker_command,
)
from api.cli.simulate import simulate_command

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
bench_app.command("pdptw")(bench_pdptw_command)
bench_app.command("pricing")(bench_pricing_command)
bench_app.command("retention")(bench_retention_command)
bench_app.command("routing")(bench_routing_command)
bench_app.command("sizing")(bench_sizing_command)
bench_app.command("travel")(bench_travel_command)
app.add_typer(bench_app, name="bench")
app.command("forecast")(forecast_command)
app.command("simulate")(simulate_command)
app.command("replay")(replay_command)
app.command("serve")(serve_command)
app.command("worker")(worker_command)
app.command("ingest-mqtt")(ingest_mqtt_command)
app.command("dead-letters")(dead_letters_command)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(history_app, name="history")
app.command("demo")(demo_command)


def main() -> None:
    """Console-script entry point.

    A bad ``MILEPOST_*`` variable ends any command with its name and the
    reason (exit 2), not a traceback.
    """
    from api.cli.common import console
    from api.settings import SettingsError

    try:
        app()
    except SettingsError as exc:
        console.print(f"[bold red]error[/]: {exc}", soft_wrap=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
