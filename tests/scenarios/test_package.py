"""The package re-exports its public names lazily."""

from __future__ import annotations

import importlib

import pytest

import scenarios


def test_every_public_name_resolves() -> None:
    """Each name in __all__ is importable from the package and listed by dir()."""
    for name in scenarios.__all__:
        assert getattr(scenarios, name) is not None, name
        assert name in dir(scenarios), name


def test_exports_point_at_the_defining_module() -> None:
    """The lazy table and __all__ agree, and each name comes from its module."""
    exports = scenarios._EXPORTS
    assert sorted(exports) == sorted(scenarios.__all__)
    for name, module in exports.items():
        defined = getattr(importlib.import_module(module), name)
        assert defined is getattr(scenarios, name), name


def test_unknown_name_is_an_attribute_error() -> None:
    """A missing name fails like on any module."""
    with pytest.raises(AttributeError, match="no_such_name"):
        scenarios.__getattr__("no_such_name")
