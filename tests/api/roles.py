"""The role matrix's row type, shared by the per-area row modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.auth import Role

ANY = frozenset(Role)


@dataclass(frozen=True)
class Case:
    """Who may call a route, and what to send when calling it.

    ``public`` routes need no key: every caller gets in, with or without one.
    """

    roles: frozenset[Role]
    body: Any = None
    path: dict[str, str] = field(default_factory=dict)
    public: bool = False


def case(*roles: Role, body: Any = None, public: bool = False, **path: str) -> Case:
    """A row: allowed roles (admin implied), an example body, path values.

    ``public=True`` marks a route anyone may call without a key.
    """
    allowed = frozenset(Role) if public else frozenset({*roles, Role.admin})
    return Case(allowed, body, path, public)
