"""What every engine hands back, and the plan made of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from routing.plan import Plan, Reason, Unassigned
from routing.solver.data import ProblemData
from routing.solver.timeline import Visit, assemble_plan, schedule_route


@dataclass(frozen=True)
class EngineResult:
    """Visit sequences per vehicle and the ids of orders the search dropped.

    ``failure`` says why the search found no solution at all (OR-Tools
    without a first solution in its time, PyVRP with nothing feasible):
    its empty sequences are then no answer, not a plan that leaves every
    order out on purpose. ``constructed`` says the search started from our
    own construction (:mod:`routing.solver.construct`), not its own.
    ``lost`` names the parallel searches that dropped out on the way (a
    process that died): the result is the best of the others.
    """

    sequences: list[list[Visit]]
    dropped: list[str]
    objective: float
    warm_started: bool = False
    failure: str | None = None
    constructed: bool = False
    lost: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        """Whether the search found a solution (see ``failure``)."""
        return self.failure is None


def engine_label(engine: str, result: EngineResult) -> str:
    """The engine's name for a plan, naming the searches it lost, if any."""
    if not result.lost:
        return engine
    return f"{engine} (lost {'; '.join(result.lost)})"


class NoPlanFound(RuntimeError):
    """The search found no solution at all, so there is no plan to return.

    Not the same as a plan that leaves orders out (drop penalties, too few
    vans): that is an answer. This is an engine that ran out of time before
    its first solution, or ended with nothing feasible; an empty plan made of
    it would read as "no van needed" or "a day without deliveries".

    Attributes
    ----------
    engine
        The engine (or ladder of fallbacks) that was asked.
    time_limit
        Seconds the first search had.
    reason
        What went wrong, attempt by attempt.
    """

    def __init__(self, engine: str, time_limit: float, reason: str) -> None:
        self.engine = engine
        self.time_limit = time_limit
        self.reason = reason
        super().__init__(
            f"no plan: engine {engine!r} found no solution in {time_limit:g} s "
            f"({reason})"
        )

    def __reduce__(self) -> tuple[type[NoPlanFound], tuple[str, float, str]]:
        # Raised in worker processes: rebuilt from its fields, not its message.
        return (type(self), (self.engine, self.time_limit, self.reason))


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
                penalty=data.problem.drop_penalty(order),
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
