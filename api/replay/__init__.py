"""The operator-day replay: a day of the embedded city driven through the service.

``milepost replay`` (:mod:`api.cli.replay`) and ``benchmarks/bench_day.py``
call :func:`run_replay`. The harness is a client of the service: it starts
``milepost serve`` on a fresh PostgreSQL database (:mod:`.server`), drives
simulated vans (:mod:`.devices`) through a seeded schedule of disruptions
(:mod:`.schedule`), re-optimises when the late-risk rule (:mod:`.late_risk`)
says so, and reports (:mod:`.run`).
"""

from __future__ import annotations

from api.replay.late_risk import (
    LATE_HORIZON,
    LATE_TOLERANCE,
    late_risk,
    promised_window_end,
)
from api.replay.run import Replay, ReplayConfig, ReplayReport, run_replay
from api.replay.schedule import ScheduleShares, build_schedule
from api.replay.server import DEFAULT_SERVER, ReplayService, ServiceUnavailable

__all__ = [
    "DEFAULT_SERVER",
    "LATE_HORIZON",
    "LATE_TOLERANCE",
    "Replay",
    "ReplayConfig",
    "ReplayReport",
    "ReplayService",
    "ScheduleShares",
    "ServiceUnavailable",
    "build_schedule",
    "late_risk",
    "promised_window_end",
    "run_replay",
]
