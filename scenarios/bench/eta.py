"""How good are live ETAs on replayed days?

Simulated days of the embedded Seoul are planned and then executed with
deviations the plan does not know (:class:`~scenarios.execution.ExecutionSettings`
with its fixed defaults: leg noise, an unannounced +20 % in the peaks,
service noise, 5 % failed attempts, incidents on 10 % of the routes). Days
are walked forward: the ETA of day ``k`` is corrected with what was learned
from days ``1..k-1`` only (:mod:`tracking.learn`), never from day ``k``.

On every scored day, at 120, 60 and 15 minutes before each real arrival,
the live ETA (:func:`tracking.eta.route_eta`) and the naive baseline (the
plan shifted by the current delay, :func:`tracking.eta.naive_route_eta`)
are made from the events known at that moment and compared with the real
arrival: mean absolute error of the point, and the share of real arrivals
inside the P10-P90 window.

Day 1 only teaches the leg and service factors and day 2 the first residual
tables; days from the third on are scored (``--days 10`` scores 8 days).
A day whose search finds no plan (:class:`routing.solver.NoPlanFound`,
after :func:`routing.solver.solve`'s own fallbacks) is neither learned from
nor scored: an empty plan would be scored as a day without deliveries. It is
listed under ``failed_days`` with the reason, and the days after it carry on
with what was learned before it.

Plans come from the default engine (OR-Tools, guided local search) with a
short time limit; the search is stopped by the clock, so on a loaded machine
a seed can give slightly different plans and numbers. Everything else (the
city, the orders, the execution) is fixed by the seed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
from pydantic import Field

from routing.base import FrozenModel
from routing.model import Problem
from routing.plan import Plan
from routing.solver import NoPlanFound, SolveParams, solve
from routing.travel import HaversineTravel
from scenarios.city import build_city, day_problem
from scenarios.execution import ExecutionSettings, execute_day
from tracking.correction import Correction
from tracking.eta import LegTimes
from tracking.events import Event
from tracking.learn import REPLAY_EVERY, DayLearner, ExecutedDay
from tracking.outcomes import DeliveryOutcome, delivery_outcomes

__all__ = ["LEARN_ONLY_DAYS", "EtaBenchConfig", "run_eta_bench", "summary_rows"]

#: Days that only teach (factors, then the first residual tables).
LEARN_ONLY_DAYS = 2


class EtaBenchConfig(FrozenModel):
    """Settings of the ETA benchmark (defaults: the published numbers)."""

    days: int = Field(default=10, ge=LEARN_ONLY_DAYS + 1)
    seed: int = 0
    first_day: date = date(2026, 1, 5)
    n_orders: int = Field(default=250, ge=1)
    n_customers: int = Field(default=4_000, ge=100)
    time_limit: float = Field(default=2.0, gt=0.0)
    horizons: tuple[int, ...] = (120, 60, 15)
    replay_every: int = Field(default=REPLAY_EVERY, ge=60)
    execution: ExecutionSettings = ExecutionSettings()


def _mae(errors: list[int]) -> float:
    return float(np.mean(np.abs(errors)) / 60.0) if errors else float("nan")


def run_eta_bench(
    config: EtaBenchConfig | None = None,
    *,
    on_day: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the walk-forward ETA benchmark.

    Parameters
    ----------
    config
        Benchmark settings (default :class:`EtaBenchConfig`).
    on_day
        Called with a line of progress after each day.

    Returns
    -------
    dict
        ``config``, ``horizons`` (per horizon: ``n``, ``mae_ours``,
        ``mae_naive``, ``improvement``, ``coverage``, ``width``, ``bias``;
        minutes), ``days`` (the same per scored day), ``failed_days`` (day
        -> why it got no plan) and ``seconds``.
    """
    config = config or EtaBenchConfig()
    t0 = time.perf_counter()
    travel = HaversineTravel()
    legs = LegTimes(travel)
    city = build_city(config.seed, n_customers=config.n_customers)
    params = SolveParams(time_limit=config.time_limit, seed=config.seed)
    learner = DayLearner(legs, every=config.replay_every)
    ours: dict[int, list[DeliveryOutcome]] = {}
    naive: dict[int, list[DeliveryOutcome]] = {}
    last: Correction | None = None
    failed: dict[str, str] = {}
    learned = 0  # days learned from: a day without a plan teaches nothing
    for i in range(config.days):
        day = config.first_day + timedelta(days=i)
        problem = day_problem(city, day, n_orders=config.n_orders, seed=config.seed)
        try:
            plan = solve(problem, travel=travel, params=params)
        except NoPlanFound as exc:
            failed[str(day)] = str(exc)
            if on_day is not None:
                on_day(f"day {i + 1}/{config.days} {day}: not scored, {exc}")
            continue
        executed = execute_day(
            problem,
            plan,
            legs,
            settings=config.execution,
            seed=config.seed * 10_007 + i,
        )
        events = executed.events
        if learned >= LEARN_ONLY_DAYS:
            last = learner.correction()
            ours[i], naive[i] = _scored(problem, plan, events, legs, last, config)
        learner.learn(ExecutedDay(plan=plan, events=events, problem=problem))
        learned += 1
        if on_day is not None:
            scored = "scored" if i in ours else "learn only"
            on_day(
                f"day {i + 1}/{config.days} {day}: {len(plan.routes)} routes, "
                f"{plan.summary.served} stops, {len(executed.incidents)} incidents "
                f"({scored}, {time.perf_counter() - t0:.0f} s)"
            )
    return _result(config, ours, naive, last, t0) | {"failed_days": failed}


def _scored(
    problem: Problem,
    plan: Plan,
    events: Sequence[Event],
    legs: LegTimes,
    correction: Correction,
    config: EtaBenchConfig,
) -> tuple[list[DeliveryOutcome], list[DeliveryOutcome]]:
    """The day's outcomes with our live ETA and with the naive baseline."""
    ours = delivery_outcomes(
        problem,
        plan,
        events,
        travel=legs,
        correction=correction,
        horizons=config.horizons,
    )
    naive = delivery_outcomes(
        problem, plan, events, horizons=config.horizons, baseline=True
    )
    return ours, naive


def _result(
    config: EtaBenchConfig,
    ours: dict[int, list[DeliveryOutcome]],
    naive: dict[int, list[DeliveryOutcome]],
    last: Correction | None,
    t0: float,
) -> dict[str, Any]:
    """The benchmark's JSON result (see :func:`run_eta_bench`)."""
    return {
        "config": json.loads(config.model_dump_json()),
        "horizons": _summary(ours, naive, config.horizons, list(ours)),
        "days": {
            str(config.first_day + timedelta(days=i)): _summary(
                ours, naive, config.horizons, [i]
            )
            for i in ours
        },
        "correction": None
        if last is None
        else {
            "service_factor": round(last.service_factor, 4),
            "leg_cv": round(last.leg_cv, 4),
            "service_cv": round(last.service_cv, 4),
            "window_tail": last.tail,
            "n_legs": last.n_legs,
            "n_records": last.n_records,
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _summary(
    ours: dict[int, list[DeliveryOutcome]],
    naive: dict[int, list[DeliveryOutcome]],
    horizons: tuple[int, ...],
    days: list[int],
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for h in horizons:
        mine = [c for d in days for o in ours[d] for c in o.eta if c.horizon == h]
        base = [c for d in days for o in naive[d] for c in o.eta if c.horizon == h]
        mae_ours = _mae([c.error for c in mine])
        mae_naive = _mae([c.error for c in base])
        out[str(h)] = {
            "n": len(mine),
            "mae_ours": round(mae_ours, 2),
            "mae_naive": round(mae_naive, 2),
            "improvement": round(1.0 - mae_ours / mae_naive, 3),
            "coverage": round(float(np.mean([c.inside for c in mine])), 3),
            "width": round(float(np.mean([c.width for c in mine])) / 60.0, 1),
            "bias": round(float(np.mean([c.error for c in mine])) / 60.0, 2),
        }
    return out


def summary_rows(result: dict[str, Any]) -> list[list[str]]:
    """Table rows: horizon, n, MAE ours, MAE naive, improvement, coverage, width."""
    rows = []
    for h, r in result["horizons"].items():
        rows.append(
            [
                f"{h} min",
                f"{r['n']:,}",
                f"{r['mae_ours']:.2f}",
                f"{r['mae_naive']:.2f}",
                f"{100 * r['improvement']:.0f} %",
                f"{100 * r['coverage']:.1f} %",
                f"{r['width']:.1f}",
            ]
        )
    return rows
