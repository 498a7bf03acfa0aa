"""Engines, the feasibility checker and the ``solve()`` entry point."""

from routing.solver.check import CheckResult, Violation, check
from routing.solver.params import SolveParams
from routing.solver.solve import solve

__all__ = ["CheckResult", "SolveParams", "Violation", "check", "solve"]
