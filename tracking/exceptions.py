"""Exceptions for the dispatcher: something on the day needs a person.

A :class:`DispatchException` is raised by whatever notices a problem (a
cold-chain parcel too warm: :mod:`tracking.sensors`; an order at risk of
being late, a van that has not started or has gone silent, a failed attempt)
and stays *open* until the condition ends; it is *closed* with the time it
ended. A dispatcher may *acknowledge* it (who and when) whether it is open
or closed; acknowledging does not close it. A failed attempt waits for a
*decision* (:class:`Decision`), which closes it.

An exception is identified by a ``key`` while it is open: raising the same
key again updates the open exception (more orders, a worse severity, a new
detail) instead of opening a second one. Times are seconds since local
midnight of the operating day, as everywhere in :mod:`tracking`.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import Field

from routing.base import FrozenModel

__all__ = [
    "Decision",
    "DispatchException",
    "ExceptionKind",
    "Severity",
    "exception_id",
]


class ExceptionKind(StrEnum):
    """What went wrong."""

    SENSOR_EXCURSION = "sensor_excursion"
    LATE_RISK = "late_risk"
    FAILED_ATTEMPT = "failed_attempt"
    VEHICLE_BREAKDOWN = "vehicle_breakdown"
    VAN_NOT_STARTED = "van_not_started"
    VAN_SILENT = "van_silent"


class Decision(StrEnum):
    """What becomes of an order after a failed attempt.

    ``reattempt_today``: back among the day's orders to plan;
    ``next_day``: planned the next day; ``return_to_sender``: no more
    attempts, the parcel goes back to the depot for its sender.
    """

    REATTEMPT_TODAY = "reattempt_today"
    NEXT_DAY = "next_day"
    RETURN_TO_SENDER = "return_to_sender"


class Severity(StrEnum):
    """How urgently a dispatcher should look (ordered: info < warning < critical)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0, 1, 2 for info, warning, critical."""
        return list(Severity).index(self)


def exception_id(key: str, opened_at: int, namespace: str = "") -> str:
    """A stable id for the exception of ``key`` opened at ``opened_at``.

    ``namespace`` separates operating days (the service passes the day), so
    the same condition at the same time of another day gets another id.
    """
    digest = hashlib.sha1(
        f"{namespace}|{key}|{opened_at}".encode(), usedforsecurity=False
    ).hexdigest()
    return f"ex-{digest[:16]}"


class DispatchException(FrozenModel):
    """One exception: what, which orders and van, since when, how bad.

    ``closed_at`` is None while the condition lasts.
    """

    id: str = Field(min_length=1, max_length=128)
    kind: ExceptionKind
    key: str = Field(
        min_length=1,
        max_length=256,
        description="the condition; raising an open key again updates it",
    )
    vehicle: str | None = None
    order_ids: tuple[str, ...] = ()
    opened_at: int
    closed_at: int | None = None
    severity: Severity = Severity.WARNING
    detail: str = ""
    acknowledged_by: str | None = None
    acknowledged_at: int | None = None
    decision: Decision | None = None
    decided_by: str | None = None
    decided_at: int | None = None
    note: str = ""

    @property
    def open(self) -> bool:
        """Whether the condition still lasts."""
        return self.closed_at is None

    def updated(
        self,
        *,
        order_ids: tuple[str, ...] = (),
        severity: Severity | None = None,
        detail: str | None = None,
    ) -> DispatchException:
        """The exception with more orders, a severity no lower, a new detail."""
        orders = self.order_ids + tuple(o for o in order_ids if o not in self.order_ids)
        worst = self.severity
        if severity is not None and severity.rank > worst.rank:
            worst = severity
        return self.model_copy(
            update={
                "order_ids": orders,
                "severity": worst,
                "detail": self.detail if detail is None else detail,
            }
        )

    def closed(self, at: int) -> DispatchException:
        """The exception closed at ``at`` (never before it opened)."""
        return self.model_copy(update={"closed_at": max(at, self.opened_at)})

    def decided(
        self, decision: Decision, *, by: str, at: int, note: str = ""
    ) -> DispatchException:
        """The exception with the dispatcher's decision, closed by it."""
        done = self.model_copy(
            update={
                "decision": decision,
                "decided_by": by,
                "decided_at": at,
                "note": note,
            }
        )
        return done if not done.open else done.closed(at)
