"""Service configuration, read from ``MILEPOST_*`` environment variables."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Self

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from routing.locale import DEFAULT_LOCALE, Locale

__all__ = ["Settings", "SettingsError", "default_client_id", "get_settings"]

MIB = 1024 * 1024
#: The shortest interval of the exception watch (0 turns it off).
MIN_WATCH_SECONDS = 0.1


class Settings(BaseSettings):
    """Everything the service can be told from outside.

    Each field reads ``MILEPOST_<FIELD>`` (e.g. ``MILEPOST_DATABASE_URL``).
    There is no module-level instance: call :func:`get_settings` or build one
    with keyword arguments (tests do), and hand it to ``create_app``.
    """

    model_config = SettingsConfigDict(env_prefix="MILEPOST_", extra="ignore")
    _locale: Locale = PrivateAttr(DEFAULT_LOCALE)

    database_url: str = Field(
        "sqlite:///./milepost.db",
        description="SQLAlchemy URL; SQLite file by default, or e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/milepost",
    )
    migrate_on_start: bool = Field(
        True, description="upgrade the database to the newest schema at startup"
    )
    dask_scheduler: str | None = Field(
        None, description="address of a Dask scheduler for heavy jobs"
    )
    job_workers: int = Field(
        1,
        ge=0,
        description="jobs run at once by this process (0: run none here); "
        "each solve uses the cores itself",
    )
    job_lease_seconds: float = Field(
        30.0,
        ge=2.0,
        le=3600.0,
        description="a running job whose runner has not renewed its lease for "
        "this long is re-queued by another runner (a runner on the same host "
        "that died is noticed at once)",
    )
    max_body_bytes: int = Field(5 * MIB, gt=0, description="largest request body")
    max_history_bytes: int = Field(
        64 * MIB,
        gt=0,
        description="largest history upload (POST /v1/history), as sent "
        "(gzip counts compressed) and once unzipped",
    )
    max_list_items: int = Field(
        10_000, gt=0, description="most items one request may send in a list"
    )
    # Limits (api/limits.py): per process; 0 turns one off.
    rate_limit_per_key: float = Field(
        2000,
        ge=0,
        description="requests/s one API key may make, sustained, per process "
        "(0: no limit); over it: 429 with Retry-After",
    )
    rate_burst_per_key: int = Field(
        4000, ge=1, description="requests one API key may make at once, per process"
    )
    rate_limit_per_address: float = Field(
        50,
        ge=0,
        description="requests/s one client address may make, sustained, per process, "
        "on the routes without a key (tracking links, web pages; not the ops "
        "probes) (0: no limit)",
    )
    rate_burst_per_address: int = Field(
        200, ge=1, description="requests one client address may make at once"
    )
    stream_limit_per_token: int = Field(
        3, ge=0, description="open streams of one tracking token (0: no limit)"
    )
    stream_limit_per_key: int = Field(
        20, ge=0, description="open streams of one API key (0: no limit)"
    )
    stream_limit_per_address: int = Field(
        10,
        ge=0,
        description="open tracking-link streams of one client address (0: no limit)",
    )
    stream_limit_total: int = Field(
        200,
        ge=0,
        description="open streams in the process, all callers (0: no limit); "
        "each polls the database once a second",
    )
    mqtt: bool = Field(False, description="consume device events from MQTT")
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(1883, gt=0, lt=65536)
    mqtt_client_id: str = Field(
        "",
        max_length=128,
        description="the consumer's fixed MQTT client id (the broker keeps its "
        "session under it); default: derived from the database, "
        "milepost-<database name>-<8 hex of its host, port and name or file "
        "path>, so two deployments on one broker never share a session",
    )
    mqtt_topic_root: str = Field(
        "milepost",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="first level of the device topics: {root}/vehicles/+/events "
        "(two services on one broker: different roots)",
    )
    log_json: bool = Field(True, description="one JSON object per log line")
    freeze_gc: bool = Field(
        False,
        description="after startup, exempt what is alive from the cyclic garbage "
        "collector (gc.freeze): no 0.2 s full-collection stalls; "
        "`milepost serve` turns it on",
    )
    tile_url: str | None = Field(
        None,
        description="map tile URL template for the web pages, e.g. "
        "https://tiles.example/{z}/{x}/{y}.png (default: none; the pages draw "
        "the embedded city's roads and districts)",
    )
    tile_attribution: str = Field("", description="credit shown under the tiles")
    roads: Path | None = Field(
        None,
        description="road network file (.graphml[.gz], .osm[.bz2], .osm.pbf) the "
        "service plans stored days on; checked at startup (default: straight "
        "lines)",
    )
    max_snap_m: float = Field(
        500.0,
        ge=0.0,
        description="with roads: an order farther than this (m) from the nearest "
        "road is left unassigned (off_road), and a depot that far is refused",
    )
    travel_cache_dir: Path = Field(
        Path("~/.cache/milepost/travel"),
        description="where road travel matrices are cached",
    )
    van_not_started_minutes: int = Field(
        15,
        ge=0,
        le=24 * 60,
        description="a van of a dispatched plan that sent nothing this long "
        "after its shift start raises a van_not_started exception",
    )
    van_silent_minutes: int = Field(
        20,
        ge=1,
        le=24 * 60,
        description="a van with stops left that sent nothing for this long "
        "raises a van_silent exception",
    )
    exception_watch_seconds: float = Field(
        30,
        ge=0,
        le=3600,
        description="every this many seconds each serving process evaluates "
        "today's exception rules (late_risk, van_not_started, van_silent, "
        "failed_attempt) on its own, so the console's live stream shows them "
        "without anyone reading GET /v1/exceptions (0: off; else at least 0.1)",
    )

    # The deployment's locale (routing.locale.Locale): every problem the
    # service builds, every time it reads or shows, every sum of money.
    timezone: str = Field(
        DEFAULT_LOCALE.timezone,
        description="IANA timezone of the deployment, e.g. America/New_York: "
        "the operating day, the clock of the plans and the offset of every "
        "time the API answers",
    )
    currency: str = Field(
        DEFAULT_LOCALE.currency,
        description="ISO 4217 code of every sum of money (costs, penalties, "
        "baskets), e.g. USD; amounts are shown to its minor unit",
    )
    country: str = Field(
        DEFAULT_LOCALE.country,
        description="ISO 3166 alpha-2 country of the public holiday calendar "
        "(any country the holidays package knows)",
    )
    subdivision: str | None = Field(
        None,
        description="the country's subdivision with its own holidays, e.g. NY "
        "or BY (unset: the national calendar)",
    )
    hour_cost: float | None = Field(
        None,
        description="what one driver-hour costs in the currency, e.g. 25 "
        "(USD): default amounts (an unserved order's penalty, a basket, the "
        "price of moving a promised stop) are sized in driver-hours by it "
        "(unset: the currency's typical cost; required for a currency "
        "without one); at least 0.5",
    )

    retention_fit_at: str | None = Field(
        None,
        description="HH:MM (the shop's local time): each serving process "
        "queues one retention_fit job a day at this time, once per day "
        "across processes (unset: no nightly fit; POST /v1/retention/fit "
        "still works)",
    )

    @field_validator("retention_fit_at")
    @classmethod
    def _hours_and_minutes(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value)
        if m is None:
            raise ValueError(f"must be HH:MM (00:00-23:59), got {value!r}")
        return value

    @field_validator("exception_watch_seconds")
    @classmethod
    def _watch_off_or_not_too_often(cls, value: float) -> float:
        if 0 < value < MIN_WATCH_SECONDS:
            raise ValueError(
                f"must be 0 (off) or at least {MIN_WATCH_SECONDS} s, got {value}"
            )
        return value

    @field_validator("subdivision")
    @classmethod
    def _unset_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("hour_cost", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _a_valid_locale(self) -> Self:
        # Validated as one Locale (a subdivision belongs to its country) and
        # kept canonical: "usd" becomes "USD".
        try:
            locale = Locale(
                timezone=self.timezone,
                currency=self.currency,
                country=self.country,
                subdivision=self.subdivision,
                hour_cost=self.hour_cost,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            name = f"MILEPOST_{str(first['loc'][0]).upper()}"
            reason = first["msg"]
            if first["type"] == "hour_cost":
                reason = (
                    f"{self.currency.strip().upper()} has no default driver-hour "
                    "cost: set MILEPOST_HOUR_COST to what one driver-hour costs "
                    "in it (default amounts are sized by it)"
                )
            raise ValueError(f"{name}: {reason}") from None
        self.currency, self.country = locale.currency, locale.country
        self.subdivision = locale.subdivision
        self._locale = locale
        return self

    @property
    def locale(self) -> Locale:
        """The deployment's timezone, currency and holiday calendar."""
        return self._locale

    @model_validator(mode="after")
    def _client_id_of_the_database(self) -> Self:
        if not self.mqtt_client_id:
            self.mqtt_client_id = default_client_id(self.database_url)
        return self


def default_client_id(database_url: str) -> str:
    """The MQTT client id of the deployment that owns this database.

    One database is one deployment: its consumer keeps one persistent
    session on the broker. The id names the database and hashes where it is
    (driver, host, port and name; a SQLite file by its absolute path), so
    two deployments on one broker get different ids, and the same
    deployment gets the same id after every restart. Credentials and query
    options do not count: changing a password keeps the session.
    """
    try:
        url = make_url(database_url)
    except ArgumentError:
        where, name = database_url, "db"
    else:
        database = url.database or ""
        if url.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
            database = str(Path(database).resolve())
        backend = url.get_backend_name()
        where = f"{backend}://{url.host or ''}:{url.port or ''}/{database}"
        name = Path(database).stem if backend == "sqlite" else database
    digest = hashlib.sha256(where.encode()).hexdigest()[:8]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:40] or "db"
    return f"milepost-{name}-{digest}"


class SettingsError(ValueError):
    """The environment holds a setting the service cannot run with; the
    message names each ``MILEPOST_*`` variable and why."""


def get_settings() -> Settings:
    """Read the settings from the environment now.

    Raises
    ------
    SettingsError
        A variable has a bad value: one line per variable, naming it.
    """
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = "MILEPOST_" + "_".join(str(p) for p in error["loc"]).upper()
            reason = str(error["msg"]).removeprefix("Value error, ")
            lines.append(
                reason if reason.startswith("MILEPOST_") else f"{where}: {reason}"
            )
        raise SettingsError("; ".join(lines)) from None
