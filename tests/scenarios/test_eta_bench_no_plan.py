"""The ETA bench never scores a day without a plan as an empty day."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

import scenarios.bench.eta as eta_bench
from routing.plan import Plan
from routing.solver import NoPlanFound, solve
from scenarios.bench.eta import EtaBenchConfig, run_eta_bench


def test_a_day_without_a_plan_is_reported_not_scored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Day 2's search finds nothing: it is listed as failed with the reason,
    teaches nothing (day 3 is then still a learning day) and only day 4 is
    scored."""
    calls = 0

    def second_day_fails(*args: Any, **kwargs: Any) -> Plan:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise NoPlanFound("auto", 0.3, "forced")
        return solve(*args, **kwargs)

    monkeypatch.setattr(eta_bench, "solve", second_day_fails)
    lines: list[str] = []
    config = EtaBenchConfig(
        days=4,
        first_day=date(2026, 1, 5),
        n_orders=30,
        n_customers=500,
        time_limit=0.3,
    )
    result = run_eta_bench(config, on_day=lines.append)
    assert calls == 4
    assert list(result["failed_days"]) == ["2026-01-06"]
    assert "forced" in result["failed_days"]["2026-01-06"]
    assert list(result["days"]) == ["2026-01-08"]
    assert "2026-01-06: not scored" in lines[1]
    assert "learn only" in lines[2]
    assert result["horizons"]["60"]["n"] > 0
