"""The package re-exports its public names lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import tracking


def test_every_public_name_resolves() -> None:
    """Each name in __all__ is importable from the package and listed by dir()."""
    for name in tracking.__all__:
        assert getattr(tracking, name) is not None, name
        assert name in dir(tracking), name


def test_exports_point_at_the_defining_module() -> None:
    """The lazy table and __all__ agree, and each name comes from its module."""
    exports = tracking._EXPORTS
    assert sorted(exports) == sorted(tracking.__all__)
    for name, module in exports.items():
        defined = getattr(importlib.import_module(module), name)
        assert defined is getattr(tracking, name), name


def test_unknown_name_is_an_attribute_error() -> None:
    """A missing name fails like on any module."""
    with pytest.raises(AttributeError, match="no_such_name"):
        tracking.__getattr__("no_such_name")


def test_status_imports_without_the_rest_of_tracking() -> None:
    """Importing tracking.status does not load its siblings, pandas or numpy."""
    code = (
        "import sys, tracking.status; "
        "heavy = [m for m in ('pandas', 'numpy', 'scipy', 'tracking.outcomes') "
        "if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""
