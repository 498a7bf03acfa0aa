"""Every JSON example in docs/API.md and docs/examples matches the models."""

from __future__ import annotations

import json
import re

import pytest

from routing.model import Job, Problem
from routing.plan import Step
from tests.helpers import EXAMPLES, ROOT

DOC = (ROOT / "docs" / "API.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```json\n(.*?)```", DOC, flags=re.S)


def test_doc_has_examples() -> None:
    """The API document carries a problem example and a step example."""
    assert len(BLOCKS) >= 2


def test_doc_problem_example_validates() -> None:
    """The condensed problem in docs/API.md is a valid problem."""
    block = next(b for b in BLOCKS if '"depots"' in b)
    problem = Problem.model_validate(json.loads(block))
    assert problem.jobs[1].type == "pickup"
    assert problem.vehicles[0].breaks[0].service == 1800


def test_doc_step_example_validates() -> None:
    """The step example in docs/API.md is a valid plan step."""
    (block,) = [b for b in BLOCKS if '"service_start"' in b]
    step = Step.model_validate(json.loads(block))
    assert step.departure == step.service_start + step.service


def test_doc_handling_example_validates() -> None:
    """The job with handling requirements in docs/API.md is a valid job."""
    (block,) = [b for b in BLOCKS if '"handling"' in b]
    job = Job.model_validate(json.loads(block))
    assert job.handling is not None and job.handling.requirement == "cold_chain"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*_problem.json")), ids=str)
def test_example_files_validate(path: object) -> None:
    """Every example problem file in docs/examples validates."""
    assert Problem.model_validate_json(path.read_text()).vehicles  # type: ignore[attr-defined]
