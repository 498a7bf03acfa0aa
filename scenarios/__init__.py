"""milepost scenarios."""

from __future__ import annotations

from typing import TYPE_CHECKING

from routing.lazy import lazy_names

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


__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
