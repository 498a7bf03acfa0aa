"""The errors services raise; ``api.errors`` answers them as problem details.

:class:`NotFound` becomes a 404, :class:`Forbidden` a 403, :class:`Conflict`
a 409 and :class:`Invalid` a 422 naming the fields at fault.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator, Sequence, Sized
from contextlib import contextmanager

from pydantic import BaseModel, ValidationError

from tracking.events import Event

__all__ = [
    "Conflict",
    "FieldError",
    "Forbidden",
    "Invalid",
    "NotFound",
    "ServiceError",
    "check_max_items",
    "field_path",
    "fields_under",
    "validation_errors",
]


class FieldError(BaseModel):
    """One invalid input field."""

    field: str
    reason: str


class ServiceError(Exception):
    """A request the service refuses; ``str(exc)`` says why."""


class NotFound(ServiceError):
    """What the request names does not exist."""


class Forbidden(ServiceError):
    """The caller's key may not do this (its role or its binding); says why."""


class Conflict(ServiceError):
    """The request does not fit the current state (superseded, taken, ...)."""


class Invalid(ServiceError, ValueError):
    """Input that is well-formed but wrong; ``errors`` name the fields."""

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None):
        self.errors = list(errors)
        self.detail = detail
        super().__init__(
            detail or "; ".join(f"{e.field}: {e.reason}" for e in self.errors)
        )

    @classmethod
    def one(cls, field: str, reason: str) -> Invalid:
        """One field at fault."""
        return cls([FieldError(field=field, reason=reason)])


def _union_tags() -> frozenset[str]:
    """The ``type`` tags of the discriminated unions in request bodies."""
    members = typing.get_args(typing.get_args(Event)[0])
    return frozenset(m.model_fields["type"].default for m in members)


_TAGS = _union_tags()


def field_path(loc: Iterable[int | str]) -> str:
    """``("body", "orders", 3, "lat")`` -> ``"body.orders[3].lat"``.

    Pydantic puts validator and union-member names such as
    ``function-after[...]`` into locations, and the tag of a discriminated
    union after the item's index (``events[0].position.lat`` for a
    ``position`` event); they mean nothing to a client and are left out.
    """
    parts = list(loc)
    out = ""
    for i, part in enumerate(parts):
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in part or "(" in part or _is_tag(parts, i):
            continue
        else:
            out += f".{part}" if out else part
    return out


def _is_tag(parts: list[int | str], i: int) -> bool:
    """Whether ``parts[i]`` is a union tag after an index (not a last field)."""
    return (
        parts[i] in _TAGS
        and i > 0
        and isinstance(parts[i - 1], int)
        and i + 1 < len(parts)
    )


def validation_errors(exc: ValidationError, prefix: str) -> list[FieldError]:
    """A pydantic error as field errors under ``prefix`` (e.g. ``"body.job"``)."""
    return [
        FieldError(field=field_path((prefix, *err["loc"])), reason=err["msg"])
        for err in exc.errors()
    ]


@contextmanager
def fields_under(prefix: str) -> Iterator[None]:
    """Re-raise :class:`Invalid` with its fields under ``prefix``.

    ``"body"`` turns ``job.demand`` into ``body.job.demand`` and ``[3].job``
    into ``body[3].job``.
    """
    try:
        yield
    except Invalid as exc:
        errors = [
            FieldError(field=_under(prefix, e.field), reason=e.reason)
            for e in exc.errors
        ]
        raise Invalid(errors, exc.detail) from None


def _under(prefix: str, field: str) -> str:
    if not field:
        return prefix
    return f"{prefix}{'' if field.startswith('[') else '.'}{field}"


def check_max_items(items: Sized, field: str, max_items: int) -> None:
    """Refuse (:class:`Invalid`) a list longer than ``max_items``."""
    if len(items) > max_items:
        raise Invalid.one(field, f"at most {max_items} items, got {len(items)}")
