"""The synthetic city's true lateness pricing: for scoring simulations only.

A simulated day's retention cost is measured with the coefficients the
history generator really uses (:class:`scenarios.city.GroundTruth`), not an
estimate: the simulator knows them, a deployment never does. A deployment
prices lateness with coefficients learned from its own history
(:meth:`tracking.feedback.LatenessPricing.from_effect`, ``POST
/v1/retention/fit``).
"""

from __future__ import annotations

import math

from scenarios.city import GroundTruth
from tracking.feedback import LatenessPricing

__all__ = ["truth_pricing"]


def truth_pricing(truth: GroundTruth | None = None) -> LatenessPricing:
    """The generator's own lateness pricing (default: the embedded city's).

    ``lateness_coef`` and ``failure_coef = log(1 + failed_attempt_effect)``
    are the generator's; ``churn_uplift`` is the chance of leaving after a
    first late delivery minus after an on-time one, and ``churn_uplifts``
    the same after a second and a third-or-more recent late one.
    """
    truth = truth or GroundTruth()
    return LatenessPricing(
        lateness_coef=truth.lateness_coef,
        failure_coef=math.log1p(truth.failed_attempt_effect),
        churn_uplift=truth.churn_after_late[0] - truth.churn_base,
        churn_uplifts=tuple(p - truth.churn_base for p in truth.churn_after_late),
    )
