"""What every engine hands back, and the plan made of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from routing.plan import Plan, Reason, Unassigned
from routing.solver.data import ProblemData
from routing.solver.timeline import Visit, assemble_plan, schedule_route


@dataclass(frozen=True)
class EngineResult:
    """Visit sequences per vehicle and the ids of orders the search dropped."""

    sequences: list[list[Visit]]
    dropped: list[str]
    objective: float
    warm_started: bool = False


def plan_from_sequences(
    data: ProblemData,
    sequences: list[list[Visit]],
    *,
    dropped: list[str],
    impossible: Sequence[Unassigned],
    engine: str,
    seconds: float,
) -> Plan:
    """Time every vehicle's sequence and collect the unassigned orders."""
    routes = [schedule_route(data, v, seq) for v, seq in enumerate(sequences) if seq]
    unassigned = list(impossible)
    for oid in dropped:
        order = data.orders[oid]
        unassigned.append(
            Unassigned(
                id=oid,
                reason=Reason.DROPPED,
                detail="left out by optimisation: serving it would cost more "
                "than its penalty or break another constraint",
                penalty=order.drop_penalty,
            )
        )
    return assemble_plan(data, routes, unassigned, engine=engine, seconds=seconds)


def plan_from_result(
    data: ProblemData,
    result: EngineResult,
    *,
    impossible: Sequence[Unassigned],
    engine: str,
    seconds: float,
) -> Plan:
    """An engine's result as a timed plan (see :func:`plan_from_sequences`)."""
    return plan_from_sequences(
        data,
        result.sequences,
        dropped=result.dropped,
        impossible=impossible,
        engine=engine,
        seconds=seconds,
    )
