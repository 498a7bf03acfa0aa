"""Session fixtures shared by every room's tests."""

from __future__ import annotations

import pytest

from routing.model import Problem
from tests.helpers import small_problem_json


@pytest.fixture(scope="session")
def small_problem() -> Problem:
    """The documented 9-order example (docs/examples/small_problem.json)."""
    return Problem.model_validate(small_problem_json())
