"""Shared test helpers: paths and small problem builders."""

from __future__ import annotations

import copy
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = ROOT / "docs" / "examples"
SHARED = ROOT.parent / "shared"


#: Set to 1 (scripts/test.sh and CI do) to fail instead of skip when a
#: service a test needs (PostgreSQL, Mosquitto, the web assets) is missing.
REQUIRE_SERVICES = os.environ.get("MILEPOST_REQUIRE_SERVICES") == "1"


def service_missing(reason: str) -> NoReturn:
    """Skip the test naming the missing service and how to start it.

    Under ``MILEPOST_REQUIRE_SERVICES=1`` the test fails instead, so that a
    run that should have every service never turns green by skipping.
    """
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (MILEPOST_REQUIRE_SERVICES=1: not skipped)")
    pytest.skip(reason)


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
