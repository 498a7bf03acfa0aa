"""Service configuration, read from ``MILEPOST_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]

MIB = 1024 * 1024


class Settings(BaseSettings):
    """Everything the service can be told from outside.

    Each field reads ``MILEPOST_<FIELD>`` (e.g. ``MILEPOST_DATABASE_URL``).
    There is no module-level instance: call :func:`get_settings` or build one
    with keyword arguments (tests do), and hand it to ``create_app``.
    """

    model_config = SettingsConfigDict(env_prefix="MILEPOST_", extra="ignore")

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
    max_body_bytes: int = Field(5 * MIB, gt=0, description="largest request body")
    max_list_items: int = Field(
        10_000, gt=0, description="most items one request may send in a list"
    )
    mqtt: bool = Field(False, description="consume device events from MQTT")
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(1883, gt=0, lt=65536)
    mqtt_client_id: str = Field(
        "milepost-ingest",
        min_length=1,
        max_length=128,
        description="the consumer's fixed MQTT client id (the broker keeps its "
        "session); two services on one broker need different ids",
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


def get_settings() -> Settings:
    """Read the settings from the environment now."""
    return Settings()
