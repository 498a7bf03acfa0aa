"""milepost scenarios."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scenarios.city import (
        City,
        GroundTruth,
        build_city,
        day_problem,
    )

__all__ = [
    "City",
    "GroundTruth",
    "build_city",
    "day_problem",
]

# Public name -> the module that defines it. Imported on first use, so that
# ``import scenarios.<module>`` does not pull in every sibling (and pandas).
_EXPORTS: dict[str, str] = {
    "City": "scenarios.city",
    "GroundTruth": "scenarios.city",
    "build_city": "scenarios.city",
    "day_problem": "scenarios.city",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
