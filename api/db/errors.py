"""What the repository functions raise when the database refuses a write."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["DuplicateId"]


class DuplicateId(Exception):
    """Ids that are already taken.

    When raised from a failed flush the session must be rolled back.
    """

    def __init__(self, kind: str, ids: Iterable[str]) -> None:
        self.ids = sorted(ids)
        shown = ", ".join(repr(i) for i in self.ids[:10])
        more = f" and {len(self.ids) - 10} more" if len(self.ids) > 10 else ""
        super().__init__(f"{kind} id already exists: {shown}{more}")
