"""Shared test helpers: paths and small problem builders."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = ROOT / "docs" / "examples"
SHARED = ROOT.parent / "shared"


@lru_cache
def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_json(path: Path) -> Any:
    """A deep copy of a JSON file (cached), safe to mutate."""
    return copy.deepcopy(_load(path))


def small_problem_json() -> dict[str, Any]:
    """The documented example problem as plain JSON data."""
    data = read_json(EXAMPLES / "small_problem.json")
    assert isinstance(data, dict)
    return data
