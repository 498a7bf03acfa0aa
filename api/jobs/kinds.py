"""The kinds of job and their registry, built in one place.

A :class:`JobKind` ties a name to its payload model, its result model and
the function that turns one into the other (:mod:`api.jobs.handlers`). The
service's kinds are listed in :func:`default_kinds`; ``create_app`` builds
the registry and hands it to the queue and the runner, so a kind exists
whether or not some router was imported.

What the service does with a result (store a plan) is an :class:`OnSuccess`
hook, which runs in the service process inside the transaction that marks
the job ``succeeded``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from api.db.tables_jobs import JobRow
from api.jobs import handlers
from api.jobs.handlers import Progress
from api.jobs.payloads import (
    Comparison,
    DemandForecast,
    ForecastSpec,
    PlanPayload,
    PlanResult,
    ReoptimisePayload,
    ReoptimiseResult,
    RetentionFitPayload,
    RetentionFitResult,
    ScenarioPayload,
)
from api.jobs.retention_fit import fit_retention

__all__ = [
    "AnyKind",
    "JobKind",
    "JobKinds",
    "MalformedJob",
    "OnSuccess",
    "UnknownJobKind",
    "default_kinds",
]

P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)

PLAN_URL = "/v1/plans/{id}"


class UnknownJobKind(LookupError):
    """No kind of this name is registered."""


class MalformedJob(ValueError):
    """A payload or result that does not fit its kind's model.

    The message names the kind and the first field at fault.
    """


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(the whole object)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err['msg']}{more}"


@dataclass(frozen=True)
class JobKind(Generic[P, R]):
    """One kind of job: its name, payload and result models, and its function.

    ``run`` must be a module-level function (it is pickled by name); ``url``
    is where clients follow a job of this kind, with ``{id}`` for its id.
    """

    name: str
    payload: type[P]
    result: type[R]
    run: Callable[[P, Progress], R]
    url: str | None = None

    def dump_payload(self, payload: P) -> dict[str, Any]:
        """The JSON stored for ``payload`` (:class:`MalformedJob` if not JSON)."""
        if not isinstance(payload, self.payload):
            raise MalformedJob(
                f"a {self.name} job takes a {self.payload.__name__}, "
                f"not a {type(payload).__name__}"
            )
        return _json(
            self.name, "payload", payload.model_dump(mode="json", by_alias=True)
        )

    def parse_payload(self, data: Any) -> P:
        """Stored JSON back as the payload model (:class:`MalformedJob` if not)."""
        try:
            return self.payload.model_validate(data)
        except ValidationError as exc:
            raise MalformedJob(
                f"malformed payload of a {self.name} job: {_first_error(exc)}"
            ) from None

    def dump_result(self, result: object) -> dict[str, Any]:
        """The JSON stored for what ``run`` returned (:class:`MalformedJob`)."""
        if not isinstance(result, self.result):
            raise MalformedJob(
                f"the {self.name} job returned {type(result).__name__}, "
                f"not {self.result.__name__}"
            )
        return _json(self.name, "result", result.model_dump(mode="json", by_alias=True))

    def parse_result(self, data: Any) -> R:
        """A stored result back as the result model (:class:`MalformedJob`)."""
        try:
            return self.result.model_validate(data)
        except ValidationError as exc:
            raise MalformedJob(
                f"malformed result of a {self.name} job: {_first_error(exc)}"
            ) from None

    def url_for(self, job_id: str) -> str | None:
        """Where a client follows the job ``job_id``."""
        return None if self.url is None else self.url.format(id=job_id)


def _json(kind: str, what: str, data: dict[str, Any]) -> dict[str, Any]:
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MalformedJob(f"the {what} of a {kind} job is not JSON: {exc}") from None
    return data


#: A kind whatever its models (the registry holds several).
AnyKind = JobKind[Any, Any]


@dataclass(frozen=True)
class OnSuccess(Generic[P, R]):
    """A hook run when a job of ``kind`` succeeds, with its typed payload and result.

    ``store(session, job_id, payload, result)`` runs inside the transaction
    that marks the job ``succeeded``; if it raises, the job fails with that
    error (its result is kept).
    """

    kind: JobKind[P, R]
    store: Callable[[Session, str, P, R], None]

    def __call__(self, session: Session, job: JobRow) -> None:
        """Parse the job's payload and result and call :attr:`store`."""
        assert job.result is not None
        payload = self.kind.parse_payload(job.payload)
        self.store(session, job.id, payload, self.kind.parse_result(job.result))


@dataclass(frozen=True)
class JobKinds:
    """The registry: the service's kinds by role, and any others by name."""

    plan: JobKind[PlanPayload, PlanResult]
    reoptimize: JobKind[ReoptimisePayload, ReoptimiseResult]
    forecast: JobKind[ForecastSpec, DemandForecast]
    scenario: JobKind[ScenarioPayload, Comparison]
    retention_fit: JobKind[RetentionFitPayload, RetentionFitResult]
    extra: tuple[AnyKind, ...] = ()
    _by_name: Mapping[str, AnyKind] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        kinds: list[AnyKind] = [
            self.plan,
            self.reoptimize,
            self.forecast,
            self.scenario,
            self.retention_fit,
            *self.extra,
        ]
        by_name = {k.name: k for k in kinds}
        if len(by_name) != len(kinds):
            raise ValueError("two job kinds share a name")
        object.__setattr__(self, "_by_name", by_name)

    def names(self) -> list[str]:
        """The registered kinds' names, sorted."""
        return sorted(self._by_name)

    def get(self, name: str) -> AnyKind:
        """The kind called ``name`` (:class:`UnknownJobKind` if none is)."""
        kind = self._by_name.get(name)
        if kind is None:
            known = ", ".join(self.names())
            raise UnknownJobKind(f"unknown job kind {name!r}; known: {known}")
        return kind

    def url_for(self, row: JobRow) -> str | None:
        """Where a client follows the job of ``row`` (None: unknown kind)."""
        kind = self._by_name.get(row.kind)
        return None if kind is None else kind.url_for(row.id)

    @property
    def plan_kinds(self) -> frozenset[str]:
        """The kinds whose job makes a plan (its id becomes the plan's)."""
        return frozenset({self.plan.name, self.reoptimize.name})


def default_kinds(extra: Iterable[AnyKind] = ()) -> JobKinds:
    """The service's job kinds (plus ``extra`` ones, e.g. in tests)."""
    return JobKinds(
        plan=JobKind("plan", PlanPayload, PlanResult, handlers.solve_plan, PLAN_URL),
        reoptimize=JobKind(
            "reoptimize",
            ReoptimisePayload,
            ReoptimiseResult,
            handlers.reoptimise_plan,
            PLAN_URL,
        ),
        forecast=JobKind(
            "forecast",
            ForecastSpec,
            DemandForecast,
            handlers.run_forecast,
            "/v1/forecasts/{id}",
        ),
        scenario=JobKind(
            "scenario",
            ScenarioPayload,
            Comparison,
            handlers.run_scenario,
            "/v1/scenarios/{id}",
        ),
        retention_fit=JobKind(
            "retention_fit",
            RetentionFitPayload,
            RetentionFitResult,
            fit_retention,
            "/v1/retention/fit/{id}",
        ),
        extra=tuple(extra),
    )
