"""The job tests' app runs the test kinds too."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from api.settings import Settings
from tests.api.jobs.job_kinds import make_app


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The service with the test job kinds, not yet started."""
    return make_app(settings)
