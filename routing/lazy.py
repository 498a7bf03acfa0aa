"""Package faces that import a public name's module on first use (PEP 562)."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any


class _Face(types.ModuleType):
    """A package whose public names stay what they name.

    Loading a submodule binds its name in the package: once the module
    ``routing.solver.check`` is imported, ``routing.solver.check`` would be
    that module, not the function it defines, which is what callers mean.
    """

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if isinstance(value, types.ModuleType):
            where = super().__getattribute__("__lazy_names__")
            if where.get(name) == value.__name__:
                return getattr(value, name)
        return value


def lazy_names(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose names live in ``where``.

    ``where`` maps each public name to the module that defines it. A name is
    imported once, then kept in the package like an eager import would.
    """
    face = sys.modules[package]
    face.__lazy_names__ = dict(where)  # type: ignore[attr-defined]
    face.__class__ = _Face

    def getattr_(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name]), name)
        setattr(face, name, value)
        return value

    def dir_() -> list[str]:
        return sorted({*vars(face), *where})

    return getattr_, dir_
