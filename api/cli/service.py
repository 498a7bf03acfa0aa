"""``milepost serve``, ``worker``, ``keys`` and ``db``: run the service.

The database is ``MILEPOST_DATABASE_URL`` (default: ``milepost.db`` here).
Heavy imports wait inside the commands so ``milepost --help`` stays quick.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from api.cli.common import console, out

if TYPE_CHECKING:
    from api.settings import Settings

__all__ = [
    "db_app",
    "dead_letters_command",
    "ingest_mqtt_command",
    "keys_app",
    "serve_command",
    "worker_command",
]

keys_app = typer.Typer(help="API keys for the service.", no_args_is_help=True)
db_app = typer.Typer(help="The service database.", no_args_is_help=True)


def serve_command(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    mqtt: Annotated[
        bool, typer.Option("--mqtt", help="also consume device events from MQTT")
    ] = False,
) -> None:
    """Run the web service (docs at /docs).

    With ``--workers N`` the API runs as N processes, each also running jobs
    (unless ``MILEPOST_JOB_WORKERS=0``: then ``milepost worker`` runs them).
    """
    import uvicorn

    from api.db.migrate import upgrade
    from api.settings import get_settings
    from api.telemetry import logging_config

    if mqtt and workers > 1:
        _option_error(
            "--mqtt",
            f"with --workers {workers} every process would consume MQTT under one "
            "client id and take the broker session from the others; run one "
            "`milepost ingest-mqtt` beside the API processes instead",
        )
    # Workers build their own settings from the environment.
    if mqtt:
        os.environ["MILEPOST_MQTT"] = "true"
    os.environ.setdefault("MILEPOST_FREEZE_GC", "true")
    settings = get_settings()
    _check_roads(settings)
    # Migrate once here, so several workers do not race to do it.
    upgrade(settings.database_url)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=logging_config(json_lines=settings.log_json),
        access_log=False,  # milepost.access logs each request instead
    )


def _check_roads(settings: Settings) -> None:
    """Read the deployment's roads now (exit 2 naming the setting), not at the
    first plan."""
    from api.services.travel import RoadsUnavailable, deployment_travel

    if settings.roads is None:
        return
    try:
        with console.status(f"loading roads from {settings.roads}"):
            deployment_travel(settings)
    except RoadsUnavailable as exc:
        console.print(f"[bold red]error[/]: {exc}", soft_wrap=True)
        raise typer.Exit(2) from None


def ingest_mqtt_command(
    host: Annotated[
        str | None, typer.Option(help="broker address (MILEPOST_MQTT_HOST)")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="broker port (MILEPOST_MQTT_PORT)"),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(
            help="fixed MQTT client id, the broker keeps its session under it "
            "(MILEPOST_MQTT_CLIENT_ID; default: derived from the database, "
            "the same as serve --mqtt)"
        ),
    ] = None,
) -> None:
    """Consume device events from MQTT into the database (runs until stopped)."""
    import logging

    from api.db.engine import make_engine, make_sessionmaker
    from api.db.migrate import upgrade
    from api.mqtt import MqttConsumer
    from api.settings import get_settings

    logging.basicConfig(level=logging.INFO)
    settings = get_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    consumer = MqttConsumer(
        make_sessionmaker(engine, settings.locale),
        host=host or settings.mqtt_host,
        port=port or settings.mqtt_port,
        client_id=client_id or settings.mqtt_client_id,
        root=settings.mqtt_topic_root,
        locale=settings.locale,
    )
    console.print(f"consuming {consumer.topic} from {consumer.host}:{consumer.port}")
    try:
        consumer.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        engine.dispose()


def worker_command(
    jobs: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="jobs run at once (default MILEPOST_JOB_WORKERS, at least 1); "
            "each solve uses the cores itself",
        ),
    ] = None,
) -> None:
    """Run background jobs (solves, re-optimisations, forecasts) until stopped.

    Any number of workers, on any machine, may share the service's database
    (PostgreSQL): each job is claimed once; a job of a worker that dies is
    re-queued once its lease lapses (MILEPOST_JOB_LEASE_SECONDS). With
    MILEPOST_DASK_SCHEDULER set, the jobs run on that Dask cluster.
    """
    import logging.config

    from api.db.engine import make_engine, make_sessionmaker
    from api.db.migrate import upgrade
    from api.db.notify import JOBS, Bus
    from api.jobs.kinds import default_kinds
    from api.services.jobs import make_runner
    from api.settings import get_settings
    from api.telemetry import logging_config

    settings = get_settings()
    logging.config.dictConfig(logging_config(json_lines=settings.log_json))
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    count = jobs if jobs is not None else max(1, settings.job_workers)
    runner = make_runner(
        settings,
        make_sessionmaker(engine, settings.locale),
        default_kinds(),
        workers=count,
    )
    bus = Bus(settings.database_url)  # jobs queued anywhere start at once
    bus.subscribe(JOBS, runner.notified)
    bus.start()
    runner.start()
    where = settings.dask_scheduler or "local processes"
    console.print(
        f"milepost worker {runner.worker_id}: up to {count} job(s) at once "
        f"on {where}, database {engine.url.render_as_string()}",
        highlight=False,
        soft_wrap=True,
    )
    try:
        _wait_for_a_stop_signal()
    finally:
        runner.stop()
        bus.stop()
        engine.dispose()


def _wait_for_a_stop_signal() -> None:
    """Block until SIGTERM or SIGINT (the runner then re-queues its jobs)."""
    import signal
    import threading

    stop = threading.Event()

    def ask_to_stop(signum: int, _frame: object) -> None:
        console.print(f"{signal.Signals(signum).name}: stopping after re-queueing")
        stop.set()

    signal.signal(signal.SIGTERM, ask_to_stop)
    signal.signal(signal.SIGINT, ask_to_stop)
    stop.wait()


def dead_letters_command(
    limit: Annotated[
        int, typer.Option(min=1, max=1000, help="how many, newest first")
    ] = 20,
) -> None:
    """List the events the database could not store (dead letters)."""
    from api.db.engine import make_engine, make_sessionmaker
    from api.db.migrate import upgrade
    from api.services.dead_letters import list_dead_letters
    from api.settings import get_settings

    settings = get_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine, settings.locale)() as session:
            page = list_dead_letters(session, limit=limit, offset=0)
    finally:
        engine.dispose()
    plural = "" if page.count == 1 else "s"
    out.print(f"{page.count} dead letter{plural}", highlight=False)
    for letter in page.data:
        out.print(
            f"#{letter.id} {letter.received_at:%Y-%m-%d %H:%M:%S}Z "
            f"{letter.source} day={letter.day} event={letter.event_id} "
            f"vehicle={letter.vehicle}\n  error: {letter.error}\n"
            f"  payload: {letter.payload}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@keys_app.command("create")
def keys_create(
    role: Annotated[
        str, typer.Option(help="dispatcher, storefront, planner, device or admin")
    ],
    name: Annotated[str, typer.Option(help="who holds the key")] = "cli",
    vehicle: Annotated[
        str | None,
        typer.Option(help="device keys: the vehicle the key reports for"),
    ] = None,
    depot: Annotated[
        str | None,
        typer.Option(help="device keys: report for this depot's stored vehicles"),
    ] = None,
    days: Annotated[
        float | None,
        typer.Option(min=0.0, help="the key expires after this many days"),
    ] = None,
) -> None:
    """Issue an API key and print it (it is shown only this once).

    A device key must be bound: --vehicle VAN or --depot DEPOT.
    """
    from api.auth import Role

    expires_at = _key_options(role, name, vehicle, depot, days)

    from api.auth import create_key
    from api.db.engine import make_engine, make_sessionmaker
    from api.db.fleet import get_depot
    from api.db.migrate import upgrade
    from api.settings import get_settings

    settings = get_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine, settings.locale).begin() as session:
            if depot is not None and get_depot(session, depot_id=depot) is None:
                console.print(f"[bold red]error[/]: --depot: unknown depot {depot!r}")
                raise typer.Exit(code=2)
            key = create_key(
                session,
                Role(role),
                name,
                vehicle_id=vehicle,
                depot_id=depot,
                expires_at=expires_at,
            )
    finally:
        engine.dispose()
    console.print(f"{role} key {name!r} created; store it now, it is not shown again")
    out.print(key, markup=False, highlight=False, soft_wrap=True)


def _key_options(
    role: str, name: str, vehicle: str | None, depot: str | None, days: float | None
) -> dt.datetime | None:
    """Check ``keys create``'s options as the API checks its body (exit 2
    naming the option); the expiry they give."""
    from pydantic import ValidationError

    from api.auth import Role, binding_errors
    from api.services.keys import ApiKeyCreate

    valid = [r.value for r in Role]
    if role not in valid:
        _option_error(
            "--role", f"{role!r} is not a role; choose one of {', '.join(valid)}"
        )
    expires_at = (
        None if days is None else dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    )
    options = {"name": "--name", "vehicle_id": "--vehicle", "depot_id": "--depot"}
    try:
        ApiKeyCreate(role=Role(role), name=name, vehicle_id=vehicle, depot_id=depot)
    except ValidationError as exc:
        first = exc.errors()[0]
        _option_error(options.get(str(first["loc"][0]), "--name"), first["msg"])
    options["expires_at"] = "--days"
    errors = binding_errors(
        Role(role), vehicle_id=vehicle, depot_id=depot, expires_at=expires_at
    )
    for field, reason in errors[:-1]:
        console.print(f"[bold red]error[/]: {options[field]}: {reason}", soft_wrap=True)
    if errors:
        _option_error(options[errors[-1][0]], errors[-1][1])
    return expires_at


def _option_error(option: str, reason: str) -> NoReturn:
    console.print(f"[bold red]error[/]: {option}: {reason}", soft_wrap=True)
    raise typer.Exit(code=2)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
) -> None:
    """Migrate the database to the newest schema (or to --revision)."""
    from api.db.migrate import current, upgrade
    from api.settings import get_settings

    url = get_settings().database_url
    upgrade(url, revision)
    out.print(f"database at revision {current(url)}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision."""
    from api.db.migrate import current, head
    from api.settings import get_settings

    at = current(get_settings().database_url)
    out.print(f"database at revision {at or 'none'} (newest: {head()})")
