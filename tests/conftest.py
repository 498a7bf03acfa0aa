"""Session fixtures shared by every room's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from routing.model import Problem
from tests.databases import migrate_sqlite_template
from tests.helpers import small_problem_json


@pytest.fixture(scope="session")
def small_problem() -> Problem:
    """The documented 9-order example (docs/examples/small_problem.json)."""
    return Problem.model_validate(small_problem_json())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the newest schema, migrated once per test process.

    Copy it (``tests.databases.copy_sqlite``); never open it.
    """
    return migrate_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each Schemathesis operation test its own node id.

    pytest 9 builds an item's id from its original name and its parameters,
    so the tests ``schema.parametrize()`` makes (one per API operation) would
    all share one id. Reports would merge them, and xdist's scope schedulers,
    which key tests by id, would run one of them only.
    """
    for item in items:
        label = getattr(item, "operation_label", None)
        if isinstance(label, str) and item._id.params is None:
            item._id = item._id.with_params(label)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``-n N`` (xdist's ``load``): the long tests first (tests/schedule.py)."""
    if config.getvalue("dist") != "load":
        return None
    from tests.schedule import LongFirst

    return LongFirst(config, log)
