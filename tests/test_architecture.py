"""The layering of the rooms and the shape of each package."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGES = ["routing", "forecasting", "tracking", "scenarios", "api"]


def test_import_layers_hold() -> None:
    """import-linter keeps api > scenarios > tracking|forecasting > routing."""
    exe = Path(sys.executable).with_name("lint-imports")
    command = str(exe) if exe.exists() else shutil.which("lint-imports")
    assert command, "lint-imports is part of the dev extras"
    done = subprocess.run(
        [command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("name", PACKAGES)
def test_package_is_typed(name: str) -> None:
    """Every room ships a py.typed marker."""
    assert (ROOT / name / "py.typed").is_file()


@pytest.mark.parametrize(
    "name", ["routing", "routing.solver", "routing.travel", "forecasting"]
)
def test_public_api_is_explicit(name: str) -> None:
    """Public names are listed in __all__ and importable."""
    module = importlib.import_module(name)
    assert module.__all__
    for attr in module.__all__:
        assert hasattr(module, attr), attr
