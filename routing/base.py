"""The one pydantic base every immutable value of the house derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["FrozenModel"]


class FrozenModel(BaseModel):
    """An immutable value: fields cannot be set after validation, and an
    unknown field is an error naming it (a typo never passes silently)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
