"""``milepost history``: import the operation's past orders, show what is stored.

Both work on the service's database (``MILEPOST_DATABASE_URL``), migrated
to the newest schema first, as ``milepost keys`` does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import error as _error
from api.cli.common import option_day, out

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from api.services.history import HistorySummary
    from scenarios.history import HistoryFormat

__all__ = ["history_app"]


class Holidays(StrEnum):
    """How a calendar meets the country's public holidays."""

    MERGE = "merge"
    REPLACE = "replace"


history_app = typer.Typer(
    help="The operation's own past orders: import a file, show what is stored.",
    no_args_is_help=True,
)


@contextmanager
def _session() -> Iterator[Session]:
    """A session on the migrated service database, committed at the end."""
    from api.db.engine import make_engine, make_sessionmaker
    from api.db.migrate import upgrade
    from api.settings import get_settings

    settings = get_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine, settings.locale).begin() as session:
            yield session
    finally:
        engine.dispose()


def _read(path: Path, fmt: str | None) -> tuple[str, HistoryFormat]:
    """The file's text and format, or exit 2 naming the argument at fault."""
    from scenarios.history import history_format

    try:
        kind = history_format(path.name, fmt)
    except ValueError as exc:
        raise _error(f"--format: {exc}") from None
    return _text(path), kind


def _text(path: Path) -> str:
    """A file's text (gunzipped when gzip), or exit 2 naming FILE."""
    from api.services.errors import Invalid
    from api.services.history import MAX_HISTORY_BYTES, decode_upload

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _error(f"FILE: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return decode_upload(data, MAX_HISTORY_BYTES)
    except Invalid as exc:
        raise _error(f"FILE: {path}: {exc.errors[0].reason}") from None


@history_app.command("import")
def history_import(
    file: Annotated[Path, typer.Argument(help="CSV or JSON lines (.gz too)")],
    format: Annotated[
        str | None,
        typer.Option("--format", help="csv or jsonl [default: from the extension]"),
    ] = None,
) -> None:
    """Import past orders: every row checked, then all stored or none (exit 2).

    Keyed by order_id: importing a file again changes nothing; a known id
    with other values replaces the stored row. The columns are in
    docs/your-operation.md.
    """
    from rich.markup import escape

    from api.services.errors import Invalid
    from api.services.history import deployment_timezone, import_history

    text, fmt = _read(file, format)
    try:
        with _session() as session:
            done = import_history(session, text, fmt, deployment_timezone(session))
    except Invalid as exc:
        raise _error(escape(f"{file}: {exc}")) from None
    out.print(
        f"{done.rows:,} orders read: {done.inserted:,} inserted, "
        f"{done.updated:,} updated, {done.unchanged:,} unchanged",
        highlight=False,
    )


@history_app.command("show")
def history_show() -> None:
    """Sum up the stored history: rows, date range, zones, depots, outcomes."""
    from api.services.history import deployment_timezone, read_summary

    with _session() as session:
        summary = read_summary(session, deployment_timezone(session))
    _print_summary(summary)


@history_app.command("calendar")
def history_calendar(
    file: Annotated[
        Path, typer.Argument(help="calendar file, CSV or JSON lines (.gz too)")
    ],
    public_holidays: Annotated[
        Holidays,
        typer.Option(
            "--public-holidays",
            help="merge: with the public holidays of MILEPOST_COUNTRY; replace: "
            "the file's holidays only",
        ),
    ] = Holidays.MERGE,
) -> None:
    """Store the operation's calendar (holidays, closures, promotions, events;
    national or per zone or depot): the stored forecast knows them ahead.

    Replaces the stored calendar; a bad file (exit 2 naming the line and
    field) leaves it as it was. The format is in docs/forecasting.md.
    """
    from rich.markup import escape

    from api.services.errors import Invalid
    from api.services.history import put_calendar

    text = _text(file)
    try:
        with _session() as session:
            stored = put_calendar(session, text, public_holidays.value)
    except Invalid as exc:
        raise _error(escape(f"{file}: {exc.errors[0].reason}")) from None
    where = stored.country + (f"-{stored.subdivision}" if stored.subdivision else "")
    out.print(
        f"{stored.count:,} calendar entries stored, {stored.public_holidays}d "
        f"with the public holidays of {where}"
        if stored.public_holidays == "merge"
        else f"{stored.count:,} calendar entries stored; they replace the "
        f"public holidays of {where}",
        highlight=False,
    )


@history_app.command("delete")
def history_delete(
    before: Annotated[
        str | None,
        typer.Option(
            "--before",
            metavar="YYYY-MM-DD",
            help="only the orders placed before this day (the deployment's "
            "timezone) [default: every one]",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="delete without asking (scripts)")
    ] = False,
) -> None:
    """Delete stored past orders, all or those placed before a day (to replace
    a wrong import); the calendar stays. Asks first unless --yes."""
    from api.services.history import delete_history, deployment_timezone

    day = option_day(before, "--before")
    which = "every stored past order" if day is None else f"past orders before {day}"
    if not yes and not typer.confirm(f"Delete {which}?", default=False):
        out.print("nothing deleted (--yes deletes without asking)", highlight=False)
        raise typer.Exit(1)
    with _session() as session:
        done = delete_history(session, day, deployment_timezone(session))
    out.print(
        f"{done.deleted:,} past orders deleted, {done.left:,} left",
        highlight=False,
    )


def _print_summary(summary: HistorySummary) -> None:
    if not summary.rows:
        out.print(
            "no history stored: forecasts run on the embedded city "
            "(milepost history import FILE)",
            highlight=False,
        )
        return
    out.print(
        f"{summary.rows:,} orders from {summary.first_day} to {summary.last_day} "
        f"({summary.timezone}); last import {summary.last_imported:%Y-%m-%d %H:%M}Z",
        highlight=False,
        soft_wrap=True,
    )
    for title, counts in (
        ("zones", summary.zones),
        ("depots", summary.depots),
        ("outcomes", summary.outcomes),
    ):
        items = ", ".join(f"{c.name or '(none)'} {c.orders:,}" for c in counts)
        out.print(f"{len(counts)} {title}: {items}", highlight=False, soft_wrap=True)


@history_app.command("rossmann")
def history_rossmann(
    data_dir: Annotated[
        Path, typer.Argument(help="the rossmann_100stores folder (public Kaggle data)")
    ],
    roads: Annotated[
        Path,
        typer.Option(help="road network (.graphml[.gz], .osm.pbf) to place orders on"),
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="folder to write")],
    stores: Annotated[
        str, typer.Option(help="store numbers, comma-separated (one zone each)")
    ] = "1,2,3,4,5,6,7,8,9,10",
    scale: Annotated[
        float, typer.Option(min=1.0, help="store customers per online order")
    ] = 50.0,
    seed: Annotated[int, typer.Option(help="places and order times")] = 0,
    day: Annotated[
        str | None,
        typer.Option(
            help="also write orders-DAY.json, the orders delivered on DAY "
            "(YYYY-MM-DD) as a POST /v1/orders/batch body"
        ),
    ] = None,
) -> None:
    """Write an example operation built from the public Rossmann store data:
    history.csv, calendar.csv (the stores' promotions and school holidays,
    per zone) and depots.csv, on the given roads (scenarios.public_history)."""
    from routing.travel import RoadFileError
    from routing.travel.osm import load_graph
    from scenarios.public_history import rossmann_history

    numbers, when = _rossmann_options(stores, day)
    try:
        graph = load_graph(roads)
    except (RoadFileError, OSError) as exc:
        raise _error(f"--roads: {exc}") from None
    try:
        built = rossmann_history(
            data_dir, graph, stores=numbers, scale=scale, seed=seed
        )
    except FileNotFoundError as exc:
        raise _error(f"DATA_DIR: {exc}") from None
    except ValueError as exc:
        raise _error(f"--stores: {exc}") from None
    try:
        paths = built.write(out_dir, when)
    except ValueError as exc:
        raise _error(f"--day: {exc}") from None
    out.print(
        f"{len(built.orders):,} orders of {len(numbers)} zones, "
        f"{len(built.calendar):,} calendar entries, {len(built.depots)} depots",
        highlight=False,
    )
    for name, path in paths.items():
        out.print(f"{name:>9}: {path}", highlight=False)


def _rossmann_options(stores: str, day: str | None) -> tuple[list[int], dt.date | None]:
    """``--stores`` and ``--day`` read, or exit 2 naming the option."""
    try:
        numbers = [int(s) for s in stores.split(",") if s.strip()]
    except ValueError:
        raise _error(f"--stores: {stores!r} is not a list of store numbers") from None
    try:
        return numbers, None if day is None else dt.date.fromisoformat(day)
    except ValueError:
        raise _error(f"--day: {day!r} is not a date (YYYY-MM-DD)") from None
