"""Reading and writing: milepost's own files, and the public data sets.

* :mod:`routing.io.files`: problem and plan JSON, GeoJSON, readable errors
  (re-exported here: ``from routing.io import read_problem``).
* :mod:`routing.io.vrplib`: Solomon / Gehring-Homberger instances and their
  best known solutions.
* :mod:`routing.io.amazon`: the Amazon Last Mile Routing Research Challenge
  routes.

Nothing here plans: the solver never sees a file, only a
:class:`~routing.model.Problem`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from routing.io.files import (
        InputError,
        field_path,
        load_json,
        parse_model,
        plan_geojson,
        plan_to_json,
        problem_to_json,
        read_problem,
        validation_lines,
        write_json,
    )

__all__ = [
    "InputError",
    "field_path",
    "load_json",
    "parse_model",
    "plan_geojson",
    "plan_to_json",
    "problem_to_json",
    "read_problem",
    "validation_lines",
    "write_json",
]


def __getattr__(name: str) -> Any:
    # Lazy: reading a problem file should not import what writing GeoJSON needs.
    if name in __all__:
        return getattr(import_module("routing.io.files"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
