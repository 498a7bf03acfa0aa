"""``milepost replay``: an operator day replayed through a real service.

Heavy imports wait inside the command so ``milepost --help`` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import console, out

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["replay_command", "replay_table"]

_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _clock(text: str) -> int:
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(minutes) < 60):
        raise ValueError(text)
    return int(hours) * 3600 + int(minutes) * 60


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _day_rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    """The day's run, parcels, events and ETAs."""
    events, eta = figures["events"], figures["eta"]
    baskets = figures["baskets"]
    return [
        ("simulated until", figures["simulated_until"]),
        ("wall time (s)", f"{figures['wall_seconds']:.1f}"),
        ("plan versions", str(figures["plan_versions"])),
        ("checker violations (all versions)", str(figures["checker_violations"])),
        ("parcels lost", str(figures["parcels_lost"])),
        ("orders served", str(figures["orders_served"])),
        ("on time", f"{figures['on_time']} ({_fmt(figures['on_time_share'], 3)})"),
        (
            "orders stored with a basket (mean)",
            f"{baskets['with_value']} of {baskets['orders']} "
            f"({_fmt(baskets['mean_value'], 0)})",
        ),
        (
            "events sent http / mqtt",
            f"{events['sent_http']} / {events['sent_mqtt']}",
        ),
        ("acknowledged events lost", str(events["lost"])),
        ("acknowledged events duplicated", str(events["duplicated"])),
        ("events rejected (http)", str(events["rejected_http"])),
        ("ETA MAE (min)", _fmt(eta["mae_minutes"])),
        ("ETA P10-P90 coverage", _fmt(eta["p10_p90_coverage"], 3)),
        ("ETA samples", str(eta["samples"])),
    ]


def _dispatch_rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    """Re-optimisations, exceptions and the rescue."""
    reopt, risk = figures["reoptimisations"], figures["late_risk"]
    rescue, svc = figures["rescue"], figures["service_exceptions"]
    rows = [
        ("re-optimisations (ok)", f"{reopt['count']} ({reopt['ok']})"),
        (
            "re-optimisation p50 / p95 (s)",
            f"{_fmt(reopt['p50_seconds'])} / {_fmt(reopt['p95_seconds'])}",
        ),
        ("late-risk exceptions raised", str(risk["raised"])),
        (
            "exception open p50 / max (min)",
            f"{_fmt(risk['open_minutes_p50'], 0)} / "
            f"{_fmt(risk['open_minutes_max'], 0)}",
        ),
        (
            "breakdown parcels rescued / lost (transfer)",
            f"{rescue['rescued']} / {rescue['lost']}",
        ),
        (
            "service exceptions (open at the end)",
            f"{svc['count']} ({svc['still_open']})",
        ),
    ]
    return rows + [
        (f"service exceptions {kind}", str(n))
        for kind, n in sorted(svc["by_kind"].items())
    ]


def replay_table(figures: dict[str, Any]) -> Table:
    """The run's figures, one line each."""
    from rich.table import Table

    table = Table(title=f"Replayed day {figures['day']}: {figures['orders']} orders")
    table.add_column("what")
    table.add_column("value", justify="right")
    for name, value in [*_day_rows(figures), *_dispatch_rows(figures)]:
        table.add_row(name, value)
    for kind, n in sorted(figures["outcomes"].items()):
        table.add_row(f"orders {kind}", str(n))
    return table


OrdersOption = Annotated[int, typer.Option(min=10, max=5000, help="orders of the day")]
JsonOption = Annotated[
    Path | None, typer.Option("--json", help="write the figures to this file")
]
UntilOption = Annotated[
    str | None,
    typer.Option(help='stop the simulated day at "HH:MM" (default: every van home)'),
]
PlanSecondsOption = Annotated[
    float, typer.Option(min=1, max=600, help="time limit of the day's first solve")
]
ReoptSecondsOption = Annotated[
    float, typer.Option(min=0.5, max=600, help="time limit of each re-optimisation")
]
ServerOption = Annotated[
    str,
    typer.Option(
        help="PostgreSQL server to make the replay's database on "
        "(milepost_replay_<pid>, dropped at the end)"
    ),
]


def _checked(until: str | None, database_url: str) -> int | None:
    """``--until`` in seconds; exit 2 naming a bad option."""
    if not database_url.startswith("postgresql"):
        console.print(
            f"[bold red]error[/]: --database-url: {database_url!r} is not a "
            "PostgreSQL URL (postgresql+psycopg://user@host:port/db)",
            soft_wrap=True,
        )
        raise typer.Exit(code=2)
    if until is None:
        return None
    try:
        return _clock(until)
    except ValueError:
        console.print(f'[bold red]error[/]: --until: {until!r} is not "HH:MM"')
        raise typer.Exit(code=2) from None


def replay_command(
    orders: OrdersOption = 600,
    json_out: JsonOption = None,
    seed: Annotated[int, typer.Option(help="seed of the day and its disruptions")] = 0,
    until: UntilOption = None,
    plan_seconds: PlanSecondsOption = 10.0,
    reoptimize_seconds: ReoptSecondsOption = 3.0,
    database_url: ServerOption = _SERVER,
    mqtt_host: Annotated[str, typer.Option(help="MQTT broker")] = "127.0.0.1",
    mqtt_port: Annotated[int, typer.Option(min=1, max=65535)] = 1883,
) -> None:
    """Replay an operator day through a real service (PostgreSQL and MQTT)."""
    stop = _checked(until, database_url)

    from api.replay import ReplayConfig, ServiceUnavailable, run_replay

    config = ReplayConfig(
        orders=orders,
        seed=seed,
        until=stop,
        plan_seconds=plan_seconds,
        reoptimize_seconds=reoptimize_seconds,
    )
    # Ctrl-C and SIGTERM stop the server and drop its database (run_replay).
    try:
        report = run_replay(
            config,
            server=database_url,
            mqtt_host=mqtt_host,
            mqtt_port=mqtt_port,
            progress=lambda line: console.print(line, markup=False, highlight=False),
        )
    except ServiceUnavailable as exc:
        console.print(f"[bold red]error[/]: {exc}", soft_wrap=True)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:
        console.print("interrupted: the server is stopped and its database dropped")
        raise typer.Exit(code=130) from None
    out.print(replay_table(report.as_dict()))
    if json_out is not None:
        json_out.write_text(report.to_json())
        console.print(f"figures written to {json_out}")
