"""The late-risk rule, kept where the replay first had it.

The rule lives in the tracking library (:mod:`tracking.late_risk`), where
the service's exception evaluator (:mod:`api.services.console`) uses it
too; the replay imports it from here as before.
"""

from __future__ import annotations

from tracking.late_risk import (
    LATE_HORIZON,
    LATE_TOLERANCE,
    late_risk,
    promised_window_end,
)

__all__ = ["LATE_HORIZON", "LATE_TOLERANCE", "late_risk", "promised_window_end"]
