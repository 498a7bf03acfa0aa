"""Demand forecasts and scenario comparisons for planners: queue, follow, history.

A forecast runs :func:`scenarios.run.forecast_demand` and a comparison
:func:`scenarios.sweep.run_sweep` as jobs (the code behind ``milepost
forecast`` and ``milepost simulate``). :class:`CityHistory` gives the
orders per zone and day that the models learn from, built once per app.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TypeVar

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.orm import Session

from api.db import jobs as job_rows
from api.jobs.kinds import JobKind, MalformedJob
from api.jobs.payloads import Comparison, DemandForecast, ForecastSpec, ScenarioPayload
from api.jobs.queue import JobPublic, JobQueue
from api.services.errors import FieldError, Invalid, NotFound, validation_errors
from api.services.history import stored_demand, tomorrow
from scenarios.forecast_report import zone_history
from scenarios.run import city
from scenarios.spec import LIBRARY, Scenario, load_scenario

__all__ = [
    "MAX_SCENARIO_DAYS",
    "CityHistory",
    "ForecastCreate",
    "ForecastJobPublic",
    "ForecastRun",
    "ForecastRuns",
    "HistoryDay",
    "LibraryScenario",
    "ScenarioCreate",
    "ScenarioJobPublic",
    "ScenarioLibrary",
    "ScenarioRun",
    "ScenarioRuns",
    "ZoneHistory",
    "ZonesHistory",
    "create_forecast",
    "create_scenario",
    "forecast_spec",
    "list_forecasts",
    "list_scenarios",
    "read_forecast",
    "read_library",
    "read_scenario",
    "read_zones",
    "stored_zones",
]

P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)

#: Most simulated days one request may ask for.
MAX_SCENARIO_DAYS = 200


class ForecastCreate(ForecastSpec):
    """A forecast to run: ``horizon`` days from ``from`` for the chosen zones.

    Its zones and first day are checked when it is queued, against the
    history it runs on: the stored one (``from`` defaults to tomorrow in
    the deployment's timezone), else the embedded city's.
    """

    history: SkipJsonSchema[None] = Field(
        default=None, description="set by the service, never by a client"
    )

    @field_validator("zones")
    @classmethod
    def _known_zones(
        cls,
        value: tuple[str, ...] | None,
        info: ValidationInfo,  # noqa: ARG003 (the parent's signature)
    ) -> tuple[str, ...] | None:
        return value  # checked when queued, against the history used

    @field_validator("start")
    @classmethod
    def _enough_history(  # type: ignore[override] # None: the source's default
        cls,
        value: dt.date | None,
        info: ValidationInfo,  # noqa: ARG003 (the parent's signature)
    ) -> dt.date | None:
        return value  # checked when queued, against the history used


class ForecastJobPublic(JobPublic):
    """A forecast job; ``result`` is set once it has succeeded."""

    result: DemandForecast | None = None


class ScenarioCreate(BaseModel):
    """Scenarios to compare with the first, each replicated."""

    model_config = ConfigDict(extra="forbid")

    scenarios: list[Scenario] = Field(min_length=1, max_length=10)
    replications: int | None = Field(
        default=None, ge=1, le=MAX_SCENARIO_DAYS, description="override each scenario's"
    )

    @model_validator(mode="after")
    def _bounded(self) -> ScenarioCreate:
        days = sum(self.replications or s.replications for s in self.scenarios)
        if days > MAX_SCENARIO_DAYS:
            raise ValueError(
                f"{days} simulated days asked for; at most {MAX_SCENARIO_DAYS}"
            )
        return self


class ScenarioJobPublic(JobPublic):
    """A scenario job; ``result`` holds the comparison once it has succeeded."""

    result: Comparison | None = None


class LibraryScenario(BaseModel):
    """A scenario shipped in ``scenarios/library/``, ready to post."""

    id: str = Field(description="its file's name without .toml, e.g. fleet_cut")
    title: str = Field(description="the scenario's name")
    description: str
    scenario: Scenario = Field(
        description="the file as JSON (its base merged in): one item of the "
        "scenarios of POST /v1/scenarios"
    )


class ScenarioLibrary(BaseModel):
    """The shipped scenarios, the baseline first, then by id."""

    data: list[LibraryScenario]
    count: int


class ScenarioRun(JobPublic):
    """An earlier comparison: the job and what it compared."""

    scenarios: list[str] = Field(description="the scenarios' names, reference first")
    replications: int | None = Field(description="the override, if one was given")


class ScenarioRuns(BaseModel):
    """A page of comparisons, newest first; ``count`` is how many there are."""

    data: list[ScenarioRun]
    count: int


class ForecastRun(JobPublic):
    """An earlier forecast: the job and what it forecast."""

    model_config = ConfigDict(populate_by_name=True)

    start: dt.date | None = Field(
        default=None, alias="from", description="first forecast day"
    )
    horizon: int | None = None
    zones: list[str] | None = Field(default=None, description="None: every zone")
    model: str | None = None


class ForecastRuns(BaseModel):
    """A page of forecasts, newest first; ``count`` is how many there are."""

    data: list[ForecastRun]
    count: int


class HistoryDay(BaseModel):
    """Orders placed in a zone on one day."""

    day: dt.date
    orders: int


class ZoneHistory(BaseModel):
    """One zone's daily orders, oldest first."""

    zone: str
    days: list[HistoryDay]


class ZonesHistory(BaseModel):
    """Daily orders per zone (stored, else the embedded city's) before ``until``."""

    until: dt.date
    zones: list[ZoneHistory]


# --- jobs ------------------------------------------------------------------------


def _followed(
    session: Session, queue: JobQueue, kind: JobKind[P, R], job_id: str
) -> tuple[JobPublic, R | None]:
    """A job of ``kind`` as clients see it, and its result once there."""
    found = queue.result(session, job_id, kind)
    if found is None:
        raise NotFound(f"no {kind.name} {job_id}")
    row, result = found
    return queue.public(row), result


def forecast_spec(
    session: Session, request: ForecastCreate, tz: dt.tzinfo
) -> ForecastSpec:
    """The forecast ``request`` asks for, on the stored history when there is
    one (default start: tomorrow in ``tz``), else on the embedded city.

    Raises
    ------
    Invalid
        Naming ``body.zones`` or ``body.from`` when they do not fit that
        history.
    """
    history = stored_demand(session, tz, seed=request.seed)
    data = request.model_dump(by_alias=True, exclude={"history"})
    if history is not None and request.start is None:
        data["from"] = tomorrow(tz)
    try:
        return ForecastSpec.model_validate({**data, "history": history})
    except ValidationError as exc:
        raise Invalid(validation_errors(exc, "body")) from None


def create_forecast(
    session: Session, *, queue: JobQueue, request: ForecastCreate, tz: dt.tzinfo
) -> JobPublic:
    """Queue a demand forecast with intervals and the fleet it needs."""
    spec = forecast_spec(session, request, tz)
    return queue.public(queue.submit(session, queue.kinds.forecast, spec))


def read_forecast(
    session: Session, *, queue: JobQueue, job_id: str
) -> ForecastJobPublic:
    """A forecast job: status and progress, and the forecast when done."""
    public, result = _followed(session, queue, queue.kinds.forecast, job_id)
    return ForecastJobPublic(**public.model_dump(), result=result)


def create_scenario(
    session: Session, *, queue: JobQueue, request: ScenarioCreate
) -> JobPublic:
    """Queue a comparison of simulated days: plan, drive and measure each."""
    payload = ScenarioPayload(
        scenarios=tuple(request.scenarios), replications=request.replications
    )
    return queue.public(queue.submit(session, queue.kinds.scenario, payload))


def read_scenario(
    session: Session, *, queue: JobQueue, job_id: str
) -> ScenarioJobPublic:
    """A scenario job: status and progress, and the comparison when done."""
    public, result = _followed(session, queue, queue.kinds.scenario, job_id)
    return ScenarioJobPublic(**public.model_dump(), result=result)


def list_scenarios(
    session: Session, *, queue: JobQueue, limit: int, offset: int
) -> ScenarioRuns:
    """A page of scenario jobs, newest first, each with its scenarios' names."""
    kind = queue.kinds.scenario
    count, rows = job_rows.list_jobs(
        session, kind=kind.name, limit=limit, offset=offset
    )
    runs = []
    for row in rows:
        try:
            payload = kind.parse_payload(row.payload)
            names = [s.name for s in payload.scenarios]
            replications = payload.replications
        except MalformedJob:  # stored by a version with another shape
            names, replications = [], None
        runs.append(
            ScenarioRun(
                **queue.public(row).model_dump(),
                scenarios=names,
                replications=replications,
            )
        )
    return ScenarioRuns(data=runs, count=count)


def list_forecasts(
    session: Session, *, queue: JobQueue, limit: int, offset: int
) -> ForecastRuns:
    """A page of forecast jobs, newest first, each with what it forecast."""
    kind = queue.kinds.forecast
    count, rows = job_rows.list_jobs(
        session, kind=kind.name, limit=limit, offset=offset
    )
    runs = []
    for row in rows:
        public = queue.public(row).model_dump()
        try:
            spec = kind.parse_payload(row.payload)
        except MalformedJob:  # stored by a version with another shape
            runs.append(ForecastRun(**public))
            continue
        runs.append(
            ForecastRun(
                **public,
                start=spec.start,
                horizon=spec.horizon,
                zones=None if spec.zones is None else list(spec.zones),
                model=spec.model,
            )
        )
    return ForecastRuns(data=runs, count=count)


def read_library() -> ScenarioLibrary:
    """Every scenario of ``scenarios/library/``, as the API takes it."""
    paths = sorted(LIBRARY.glob("*.toml"), key=lambda p: (p.stem != "baseline", p.stem))
    items = []
    for path in paths:
        scenario = load_scenario(path)
        items.append(
            LibraryScenario(
                id=path.stem,
                title=scenario.name,
                description=scenario.description,
                scenario=scenario,
            )
        )
    return ScenarioLibrary(data=items, count=len(items))


# --- history ---------------------------------------------------------------------


class CityHistory:
    """The embedded city's orders per zone and day, built on first use.

    Only the default city (a forecast's default seed and customers):
    building another one takes seconds and hundreds of megabytes, which is
    a job's work, not a read's.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: pd.DataFrame | None = None

    def frame(self) -> pd.DataFrame:
        """``unique_id`` (zone), ``ds`` (day), ``y`` (orders)."""
        with self._lock:
            if self._frame is None:
                seed: int = ForecastSpec.model_fields["seed"].default
                customers: int = ForecastSpec.model_fields["customers"].default
                self._frame = zone_history(city(seed, customers))
            return self._frame

    def read(
        self, *, zones: list[str] | None, until: dt.date, days: int
    ) -> ZonesHistory:
        """Orders per zone and day for the ``days`` before ``until``."""
        return read_zones(self.frame(), zones=zones, until=until, days=days)


def stored_zones(session: Session, tz: dt.tzinfo) -> pd.DataFrame | None:
    """The stored orders per zone and day (``unique_id, ds, y``); None while
    no history is stored."""
    history = stored_demand(session, tz, seed=0)
    return None if history is None else history.frames()[0]


def read_zones(
    history: pd.DataFrame, *, zones: list[str] | None, until: dt.date, days: int
) -> ZonesHistory:
    """Orders per zone and day of ``history`` for the ``days`` before ``until``.

    Raises
    ------
    Invalid
        Naming ``query.zone`` for a zone the history does not have.
    """
    if zones is not None:
        unknown = sorted(set(zones) - set(history["unique_id"]))
        if unknown:
            raise Invalid(
                [FieldError(field="query.zone", reason=f"no zone {n}") for n in unknown]
            )
        history = history[history["unique_id"].isin(zones)]
    names = sorted(history["unique_id"].astype(str).unique().tolist())
    ds = history["ds"].dt.date
    history = history[(ds >= until - dt.timedelta(days=days)) & (ds < until)]
    groups = dict(list(history.sort_values("ds").groupby("unique_id", sort=True)))
    # Every zone, even one with no day in the window (a stored history that
    # ended before it): the zones are what a client chooses from.
    out = [
        ZoneHistory(
            zone=name,
            days=[
                HistoryDay(day=d.date(), orders=int(y))
                for d, y in zip(group["ds"], group["y"], strict=True)
            ]
            if (group := groups.get(name)) is not None
            else [],
        )
        for name in names
    ]
    return ZonesHistory(until=until, zones=out)
