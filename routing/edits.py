"""A dispatcher's edits to a plan, previewed before they are applied.

Three edits, applied in order to a plan of a problem:

* :class:`MoveEdit` moves (or reassigns) an order to a vehicle, at
  ``position`` in that route's stops (0: first), or at its cheapest
  feasible place when ``position`` is None; an unassigned order is put on a
  route the same way;
* :class:`ResequenceEdit` gives a route's remaining stops (those not done)
  in a new order; done stops and breaks keep their places;
* :class:`LockEdit` locks a stop (it keeps its vehicle and its place when
  the plan is re-optimised: :class:`routing.reoptimise.ExecutionState`
  ``locked``) or unlocks it.

:func:`preview_edits` re-times the edited routes with the plan's own travel
model and has the independent checker (:func:`routing.solver.check`) judge
the result: an edit that breaks a window or a capacity is *answered*
(``feasible`` false, the checker's reasons), never refused. A malformed edit
(an unknown order or vehicle, a done or locked stop, a resequence that is
not a permutation of the route's remaining stops) raises
:class:`~routing.io.InputError` whose lines name the field
(``edits[0].vehicle: ...``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from routing.base import FrozenModel
from routing.io import InputError
from routing.model import Id, Job, Problem
from routing.plan import Plan, StepType, Summary
from routing.reoptimise import Changes, EtaShift, Move
from routing.solver.check import check
from routing.solver.insertion import LivePlan, VisitKey
from routing.travel import TravelModel

__all__ = [
    "ETA_SHIFT_MIN",
    "Edit",
    "EditPreview",
    "LockEdit",
    "MoveEdit",
    "ResequenceEdit",
    "preview_edits",
]

#: Service starts that move less than this (seconds) are not listed as shifts.
ETA_SHIFT_MIN = 60


class MoveEdit(FrozenModel):
    """Move an order to ``vehicle``, at ``position`` (None: cheapest place)."""

    op: Literal["move"] = "move"
    order_id: Id
    vehicle: Id
    position: int | None = Field(default=None, ge=0, le=100_000)


class ResequenceEdit(FrozenModel):
    """A route's remaining stops in a new order (a permutation of them)."""

    op: Literal["resequence"] = "resequence"
    vehicle: Id
    order_ids: tuple[Id, ...] = Field(max_length=100_000)


class LockEdit(FrozenModel):
    """Lock (or unlock) a stop: it keeps its vehicle and place when re-optimised."""

    op: Literal["lock"] = "lock"
    order_id: Id
    locked: bool = True


Edit = Annotated[MoveEdit | ResequenceEdit | LockEdit, Field(discriminator="op")]


@dataclass(frozen=True)
class EditPreview:
    """The edited plan, judged; deltas are ``after - before``."""

    plan: Plan
    before: Summary
    after: Summary
    feasible: bool
    violations: list[str]
    changes: Changes
    locked: tuple[str, ...]

    @property
    def cost_delta(self) -> float:
        return self.after.cost - self.before.cost

    @property
    def distance_delta_m(self) -> int:
        return self.after.distance - self.before.distance

    @property
    def duration_delta_s(self) -> int:
        return self.after.duration - self.before.duration

    @property
    def late_delta(self) -> int:
        return self.after.late - self.before.late


def _stops(keys: Sequence[VisitKey]) -> list[str]:
    """The order ids of a route's visits, in order (breaks left out)."""
    return list(dict.fromkeys(o for o, _ in keys if o))


def _starts(plan: Plan) -> dict[str, tuple[str, int]]:
    """Per served order: its vehicle and service start (a delivery's end)."""
    out: dict[str, tuple[str, int]] = {}
    for r in plan.routes:
        for s in r.steps:
            if s.id is not None and s.type in (StepType.JOB, StepType.DELIVERY):
                out[s.id] = (r.vehicle, s.service_start)
    return out


def _changes(before: Plan, after: Plan) -> Changes:
    """What the edited plan changes against the plan it started from."""
    old, new = _starts(before), _starts(after)
    moved: list[Move] = []
    inserted: list[Move] = []
    shifts: list[EtaShift] = []
    for oid, (vehicle, start) in new.items():
        if oid not in old:
            inserted.append(Move(order=oid, before=None, after=vehicle))
            continue
        was, then = old[oid]
        if was != vehicle:
            moved.append(Move(order=oid, before=was, after=vehicle))
        if abs(start - then) >= ETA_SHIFT_MIN:
            shifts.append(
                EtaShift(order=oid, vehicle=vehicle, before=then, after=start)
            )
    return Changes(
        moved=tuple(moved), inserted=tuple(inserted), eta_shifts=tuple(shifts)
    )


class _Editor:
    """The plan as it is being edited, and the field errors found."""

    def __init__(
        self,
        problem: Problem,
        plan: Plan,
        travel: TravelModel,
        done: Collection[str],
        locked: Collection[str],
    ) -> None:
        self.live = LivePlan.from_plan(problem, plan, travel, neighbours=None)
        self.orders = {o.id: o for o in problem.orders}
        self.vehicles = {v.id for v in problem.vehicles}
        self.done = set(done)
        self.locked = set(locked)
        self.errors: list[str] = []

    def route_of(self, order_id: str) -> int | None:
        for v, keys in enumerate(self.live.visits):
            if any(o == order_id for o, _ in keys):
                return v
        return None

    def known_order(self, where: str, order_id: str) -> bool:
        if order_id not in self.orders:
            self.errors.append(f"{where}.order_id: unknown order {order_id!r}")
            return False
        if order_id in self.done:
            self.errors.append(f"{where}.order_id: {order_id!r} is done")
            return False
        return True

    def known_vehicle(self, where: str, vehicle: str) -> bool:
        if vehicle not in self.vehicles:
            self.errors.append(f"{where}.vehicle: unknown vehicle {vehicle!r}")
            return False
        return True

    def move(self, where: str, edit: MoveEdit) -> None:
        if not (
            self.known_order(where, edit.order_id)
            & self.known_vehicle(where, edit.vehicle)
        ):
            return
        order = self.orders[edit.order_id]
        if not isinstance(order, Job):
            self.errors.append(
                f"{where}.order_id: {edit.order_id!r} is a shipment (two stops); "
                "re-optimise to move it"
            )
            return
        if edit.order_id in self.locked:
            self.errors.append(
                f"{where}.order_id: {edit.order_id!r} is locked; unlock it first"
            )
            return
        live = self.live
        v = live.vehicle_index(edit.vehicle)
        current = self.route_of(edit.order_id)
        target = [k for k in live.visits[v] if k[0] != edit.order_id]
        stops = _stops(target)
        if edit.position is not None and edit.position > len(stops):
            self.errors.append(
                f"{where}.position: {edit.position} is past the route's "
                f"{len(stops)} stops"
            )
            return
        if current is not None:
            live.remove(edit.order_id)
        live.unassigned.pop(edit.order_id, None)
        target = [k for k in live.visits[v] if k[0] != edit.order_id]
        if edit.position is None:
            found = live.best(order, vehicles=[v])
            if found is not None:
                live.insert(order, found=found)
                return
            at = len(target)
        else:
            at = self._key_index(target, edit.position)
        keys = [*target[:at], (edit.order_id, 0), *target[at:]]
        live.set_visits(v, live.with_breaks(v, keys)[0])

    @staticmethod
    def _key_index(keys: Sequence[VisitKey], position: int) -> int:
        """The index in ``keys`` before the ``position``-th stop (breaks skipped)."""
        seen = 0
        for i, (oid, _) in enumerate(keys):
            if oid:
                if seen == position:
                    return i
                seen += 1
        return len(keys)

    def resequence(self, where: str, edit: ResequenceEdit) -> None:
        if not self.known_vehicle(where, edit.vehicle):
            return
        live = self.live
        v = live.vehicle_index(edit.vehicle)
        keys = live.visits[v]
        remaining = [o for o in _stops(keys) if o not in self.done]
        if sorted(edit.order_ids) != sorted(remaining) or len(
            set(edit.order_ids)
        ) != len(edit.order_ids):
            self.errors.append(
                f"{where}.order_ids: must be a permutation of the route's "
                f"remaining stops {remaining}"
            )
            return
        moved = [
            o for o, new in zip(remaining, edit.order_ids, strict=True) if o != new
        ]
        locked = sorted(set(moved) & self.locked)
        if locked:
            self.errors.append(
                f"{where}.order_ids: locked stops keep their place: {locked}"
            )
            return
        # each remaining stop's visits (a shipment's pickup and delivery) in
        # the new order, into the slots the remaining stops held
        visits: dict[str, list[VisitKey]] = {}
        for key in keys:
            if key[0] and key[0] not in self.done:
                visits.setdefault(key[0], []).append(key)
        new_keys = iter([k for o in edit.order_ids for k in visits[o]])
        out: list[VisitKey] = [
            next(new_keys) if oid and oid not in self.done else (oid, end)
            for oid, end in keys
        ]
        live.set_visits(v, out)

    def lock(self, where: str, edit: LockEdit) -> None:
        if not self.known_order(where, edit.order_id):
            return
        if edit.locked:
            if self.route_of(edit.order_id) is None:
                self.errors.append(
                    f"{where}.order_id: {edit.order_id!r} is on no route to lock"
                )
                return
            self.locked.add(edit.order_id)
        else:
            self.locked.discard(edit.order_id)


def preview_edits(
    problem: Problem,
    plan: Plan,
    travel: TravelModel,
    edits: Sequence[MoveEdit | ResequenceEdit | LockEdit],
    *,
    done: Collection[str] = (),
    locked: Collection[str] = (),
) -> EditPreview:
    """Apply ``edits`` in order to ``plan`` and judge the result.

    Parameters
    ----------
    problem, plan
        The plan to edit and the problem it answers.
    travel
        The plan's own travel model (edited routes are re-timed with it).
    edits
        The edits, applied in order.
    done
        Orders already served or failed: no edit may touch them.
    locked
        Orders locked before the edits.

    Raises
    ------
    InputError
        ``edits[i].<field>: reason`` for each malformed edit.
    """
    editor = _Editor(problem, plan, travel, done, locked)
    before = editor.live.plan(engine=plan.engine or "plan")
    for i, edit in enumerate(edits):
        where = f"edits[{i}]"
        if isinstance(edit, MoveEdit):
            editor.move(where, edit)
        elif isinstance(edit, ResequenceEdit):
            editor.resequence(where, edit)
        else:
            editor.lock(where, edit)
    if editor.errors:
        raise InputError("edits", editor.errors)
    after = editor.live.plan(engine="edit")
    verdict = check(editor.live.problem, after, travel)
    violations = [
        f"{v.kind}: {v.detail}" + (f" (vehicle {v.vehicle})" if v.vehicle else "")
        for v in verdict.violations
    ]
    return EditPreview(
        plan=after,
        before=before.summary,
        after=after.summary,
        feasible=verdict.ok,
        violations=violations,
        changes=_changes(before, after),
        locked=tuple(sorted(editor.locked)),
    )
