"""Engines, the feasibility checker and the ``solve()`` entry point.

Names are imported on first use: ``import routing.solver`` loads no engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from routing.lazy import lazy_names

if TYPE_CHECKING:
    from routing.solver.check import CheckResult, Violation, check
    from routing.solver.choice import choose_engine
    from routing.solver.params import SolveParams
    from routing.solver.result import NoPlanFound
    from routing.solver.solve import solve

__all__ = [
    "CheckResult",
    "NoPlanFound",
    "SolveParams",
    "Violation",
    "check",
    "choose_engine",
    "solve",
]

__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "CheckResult": "routing.solver.check",
        "Violation": "routing.solver.check",
        "check": "routing.solver.check",
        "choose_engine": "routing.solver.choice",
        "NoPlanFound": "routing.solver.result",
        "SolveParams": "routing.solver.params",
        "solve": "routing.solver.solve",
    },
)
