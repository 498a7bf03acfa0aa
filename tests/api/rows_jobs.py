"""Role-matrix rows for the plans routes (see tests/api/test_roles.py).

Bodies are deliberately incomplete (a 422 proves the caller got past the
role check) so the matrix starts no solves.
"""

from __future__ import annotations

from api.auth import Role
from tests.api.roles import Case, case

ROWS: dict[tuple[str, str], Case] = {
    ("POST", "/v1/plans"): case(Role.dispatcher, body={}),
    ("GET", "/v1/plans"): case(Role.dispatcher, Role.planner),
    ("GET", "/v1/plans/{plan_id}"): case(
        Role.dispatcher, Role.planner, plan_id="no-such-plan"
    ),
    ("POST", "/v1/plans/{plan_id}/reoptimize"): case(
        Role.dispatcher, body={"time": 36000}, plan_id="no-such-plan"
    ),
    ("POST", "/v1/plans/{plan_id}/reoptimize/compare"): case(
        Role.dispatcher, body={"time": 36000}, plan_id="no-such-plan"
    ),
    ("POST", "/v1/plans/{plan_id}/dispatch"): case(
        Role.dispatcher, plan_id="no-such-plan"
    ),
    ("DELETE", "/v1/plans/{plan_id}"): case(Role.dispatcher, plan_id="no-such-plan"),
    ("GET", "/v1/plans/{plan_id}/geometry"): case(
        Role.dispatcher, Role.planner, plan_id="no-such-plan"
    ),
    ("POST", "/v1/plans/{plan_id}/edits/preview"): case(
        Role.dispatcher,
        body={"edits": [{"op": "lock", "order_id": "o-1"}]},
        plan_id="no-such-plan",
    ),
    ("POST", "/v1/plans/{plan_id}/edits"): case(
        Role.dispatcher,
        body={"edits": [{"op": "lock", "order_id": "o-1"}]},
        plan_id="no-such-plan",
    ),
    ("DELETE", "/v1/jobs/{job_id}"): case(
        Role.dispatcher, Role.planner, job_id="no-such-job"
    ),
}
