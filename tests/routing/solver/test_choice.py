"""The engine rule: one function decides which engine plans a day."""

from __future__ import annotations

import pytest

from routing.solver import SolveParams, choose_engine
from routing.solver.choice import BOUNDED_MAX, LARGE_ORDERS


def test_auto_is_the_default() -> None:
    """SolveParams asks for ``auto``, and a small day gets the portfolio."""
    assert SolveParams().engine == "auto"
    assert choose_engine(10) == "auto"
    assert choose_engine(LARGE_ORDERS - 1) == "auto"


def test_large_days_are_decomposed() -> None:
    """From LARGE_ORDERS orders an unbounded ``auto`` day is split."""
    assert choose_engine(LARGE_ORDERS) == "large"
    assert choose_engine(BOUNDED_MAX + 1) == "large"


@pytest.mark.parametrize("orders", [1, LARGE_ORDERS - 1, LARGE_ORDERS, BOUNDED_MAX])
def test_a_bounded_search_runs_ortools_up_to_bounded_max(orders: int) -> None:
    """An iteration-bounded day gets OR-Tools (repeatable) up to BOUNDED_MAX."""
    assert choose_engine(orders, bounded=True) == "ortools"


def test_a_bounded_search_beyond_bounded_max_is_decomposed() -> None:
    """Past BOUNDED_MAX even a bounded search goes to the decomposition."""
    assert choose_engine(BOUNDED_MAX + 1, bounded=True) == "large"


@pytest.mark.parametrize("engine", ["ortools", "pyvrp", "large"])
@pytest.mark.parametrize("orders", [5, LARGE_ORDERS, BOUNDED_MAX + 1])
@pytest.mark.parametrize("bounded", [False, True])
def test_an_engine_asked_for_by_name_is_kept(
    engine: str, orders: int, bounded: bool
) -> None:
    """Only ``auto`` is decided; a named engine plans the day whatever its size."""
    assert choose_engine(orders, engine, bounded=bounded) == engine  # type: ignore[arg-type]


def test_without_the_portfolio_a_small_day_runs_ortools() -> None:
    """``portfolio=False`` (the simulator) keeps small days to OR-Tools alone."""
    assert choose_engine(10, portfolio=False) == "ortools"
    assert choose_engine(LARGE_ORDERS, portfolio=False) == "large"
    assert choose_engine(10, bounded=True, portfolio=False) == "ortools"


@pytest.mark.parametrize(
    ("orders", "iterations", "expected"),
    [
        (999, None, "ortools"),
        (1000, None, "large"),
        (999, 10, "ortools"),
        (1200, 10, "ortools"),
        (1500, 10, "ortools"),
        (1501, 10, "large"),
        (3000, None, "large"),
    ],
)
def test_the_simulator_rule_is_kept(
    orders: int, iterations: int | None, expected: str
) -> None:
    """scenarios.run's call gives what its own rule gave before it moved here."""
    bounded = iterations is not None and orders <= BOUNDED_MAX
    before = "large" if orders >= LARGE_ORDERS and not bounded else "ortools"
    assert before == expected
    bounded_by_solutions = iterations is not None
    assert choose_engine(orders, bounded=bounded_by_solutions, portfolio=False) == (
        expected
    )
