"""PyVRP on several cores: islands of iterated local search sharing their best.

``workers`` islands each run PyVRP's iterated local search (the search
``pyvrp.solve`` runs: late-acceptance hill climbing with restarts) with a
seed of its own (``seed``, ``seed + 1``, ...). The search is cut into
:data:`EPOCHS` epochs; after each, the best solution any island holds is
handed to every island as the start of its next epoch, and the best after
the last epoch is the answer. Each island keeps its random stream, local
search and penalty manager (the penalties it has learnt) from one epoch to
the next; only its starting solution changes.

Island 0 runs in this process; the others are forked once per search (the
instance is inherited, not pickled) and talk over pipes, exchanging routes
(per route its vehicle type and visits), from which each rebuilds the
solution (``pyvrp.Solution(data, routes)``). Island 0's first epoch is
``pyvrp.solve``'s own search for ``seed``, so the exchange can only add to
what PyVRP alone finds in that epoch.

Bounded by ``iterations``, every island runs the same share of them in each
epoch and ties between islands go to the lower number, so a seed gives the
same solution on every run (as long as the time limit does not end it
first); bounded by time, epochs end at fixed instants of the clock.

An island that dies, fails or does not answer within :data:`EPOCH_GRACE`
seconds of an epoch's end is dropped and named in ``lost`` ("island 1
(seed 1): its process died (exit code -9)"); the others carry on, and the
answer is the best of what they found.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.search import (
    OPERATORS,
    LocalSearch,
    NeighbourhoodParams,
    PerturbationManager,
    PerturbationParams,
    compute_neighbours,
)

#: Epochs a search is cut into: often enough that a stalled island soon
#: continues from the best, seldom enough that the islands drift apart.
EPOCHS = 10
#: Shortest epoch of a time-bounded search (seconds): shorter searches get
#: fewer epochs.
MIN_EPOCH_SECONDS = 0.5
#: Seconds past an epoch's end an island may take to hand its best back
#: (an exhaustive search on a new best can outlast the deadline).
EPOCH_GRACE = 30.0

#: A solution's routes: per route, its vehicle type and its activities
#: between the start and end depots as (``ActivityType`` value, index).
Routes = list[tuple[int, list[tuple[int, int]]]]
#: How islands' solutions rank: feasible first, then the penalised cost at
#: the highest penalties (the cost itself for a feasible solution), which is
#: the same on every island whatever penalties it has learnt.
Key = tuple[bool, float]


def routes_of(solution: pyvrp.Solution) -> Routes:
    """``solution``'s routes, to send to another process."""
    out: Routes = []
    for route in solution.routes():
        activities = [(a.type.value, a.idx) for a in route]
        out.append((route.vehicle_type(), activities[1:-1]))
    return out


def solution_of(instance: pyvrp.ProblemData, routes: Routes) -> pyvrp.Solution:
    """The solution of ``routes`` (see :func:`routes_of`) on ``instance``."""
    return pyvrp.Solution(
        instance,
        [
            pyvrp.Route(
                instance,
                [pyvrp.Activity(pyvrp.ActivityType(t), i) for t, i in activities],
                vehicle_type,
            )
            for vehicle_type, activities in routes
        ],
    )


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """PyVRP warns when its penalties saturate; the planner judges feasibility."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        yield


class _EpochStop:
    """Stop at the epoch's deadline, or after its quota of iterations."""

    def __init__(self, deadline: float, quota: int | None) -> None:
        self._deadline = deadline
        self._quota = quota
        self._done = 0

    def __call__(self, best_cost: int) -> bool:  # noqa: ARG002 - PyVRP's signature
        self._done += 1
        if self._quota is not None and self._done > self._quota:
            return True
        return time.perf_counter() > self._deadline


class _BestCallbacks(pyvrp.IteratedLocalSearchCallbacks):
    def __init__(self, on_best: Callable[[pyvrp.Solution], None]) -> None:
        self._on_best = on_best

    def on_best(self, best: pyvrp.Solution) -> None:
        self._on_best(best)


class Island:
    """One island's search: what ``pyvrp.solve`` builds, kept across epochs."""

    def __init__(
        self,
        instance: pyvrp.ProblemData,
        seed: int,
        penalty: pyvrp.PenaltyParams,
        on_best: Callable[[pyvrp.Solution], None] | None = None,
    ) -> None:
        # The same objects in the same order as pyvrp.solve, so island 0's
        # first epoch is PyVRP's own search for this seed.
        self._instance = instance
        rng = pyvrp.RandomNumberGenerator(seed=seed)
        neighbours = compute_neighbours(instance, NeighbourhoodParams())
        self._ls = LocalSearch(
            instance, rng, neighbours, PerturbationManager(PerturbationParams())
        )
        for op in OPERATORS:
            if op.supports(instance):
                self._ls.add_operator(op(instance))
        self._pm = pyvrp.PenaltyManager(penalty.midpoint_penalties(instance), penalty)
        self._rank = self._pm.max_cost_evaluator()
        random = pyvrp.Solution.make_random(instance, rng)
        self.current = self._ls(random, self._rank, exhaustive=True)
        self._params = pyvrp.IteratedLocalSearchParams()
        if on_best is not None:
            self._params = pyvrp.IteratedLocalSearchParams(
                callbacks=_BestCallbacks(on_best)
            )

    def epoch(
        self, start: pyvrp.Solution | None, deadline: float, quota: int | None
    ) -> pyvrp.Solution:
        """Search from ``start`` (else from where the last epoch ended)."""
        init = self.current if start is None else start
        search = pyvrp.IteratedLocalSearch(
            self._instance, self._pm, self._ls, init, self._params
        )
        self.current = search.run(_EpochStop(deadline, quota), collect_stats=False).best
        return self.current

    def key(self, solution: pyvrp.Solution) -> Key:
        """Where ``solution`` ranks (see :data:`Key`)."""
        return (not solution.is_feasible(), float(self._rank.penalised_cost(solution)))


@dataclass
class IslandsResult:
    """The best solution, its key after each epoch, and the islands lost."""

    best: pyvrp.Solution
    history: list[Key] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    gave_up: bool = False
    islands: int = 1


def search(
    instance: pyvrp.ProblemData,
    *,
    workers: int,
    seed: int,
    seconds: float,
    penalty: pyvrp.PenaltyParams,
    iterations: int | None = None,
    give_up_share: float | None = None,
    on_best: Callable[[pyvrp.Solution], None] | None = None,
) -> IslandsResult:
    """Search ``instance`` with ``workers`` islands (module docstring).

    Parameters
    ----------
    workers
        Islands, this process included.
    seed
        Island ``k`` searches with ``seed + k``.
    seconds
        Wall time of the whole search.
    penalty
        PyVRP's penalty parameters.
    iterations
        Also stop after this many iterations per island, spread evenly over
        the epochs: the search is then repeatable.
    give_up_share
        With it, stop when no island has anything feasible after this share
        of the time (or of ``iterations``): ``gave_up`` is then set.
    on_best
        Called with each new best solution: island 0's as it finds them,
        the other islands' when they hand them over.

    Returns
    -------
    IslandsResult
        The best solution of the last epoch (never worse than an earlier
        epoch's), and the islands lost on the way, by name.
    """
    t_start = time.perf_counter()
    end = t_start + seconds
    schedule = _schedule(seconds, iterations, t_start)
    context = multiprocessing.get_context("fork")
    others: dict[int, tuple[BaseProcess, Connection]] = {}
    unborn: list[str] = []
    result: IslandsResult | None = None
    try:
        with quiet():
            for k in range(1, max(1, workers)):
                here, there = context.Pipe()
                proc = context.Process(
                    target=_island_process,
                    args=(there, instance, seed + k, penalty),
                    name=f"island {k} (seed {seed + k})",
                    daemon=True,
                )
                try:
                    proc.start()
                except (AssertionError, OSError) as exc:
                    # A daemonic process (a pool or Dask worker) may not
                    # fork: the search goes on with the islands there are.
                    here.close()
                    unborn.append(f"{proc.name}: not started ({exc})")
                    continue
                finally:
                    there.close()
                others[k] = (proc, here)
            home = Island(instance, seed, penalty, on_best)
            result = IslandsResult(
                best=home.current, islands=max(1, workers), lost=unborn
            )
            best_key: Key | None = None
            done = 0
            for deadline, quota in schedule:
                start = None if best_key is None else routes_of(result.best)
                for k in list(others):
                    _ask(others, k, ("epoch", start, deadline, quota), result.lost)
                mine = home.epoch(
                    None if start is None else result.best, deadline, quota
                )
                found: list[tuple[Key, int, Routes]] = [(home.key(mine), 0, [])]
                for k in list(others):
                    got = _answer(others, k, deadline + EPOCH_GRACE, result.lost)
                    if got is not None:
                        found.append((got[0], k, got[1]))
                key, k, routes = min(found, key=lambda item: item[:2])
                if best_key is None or key < best_key:
                    best_key = key
                    result.best = mine if k == 0 else solution_of(instance, routes)
                    if k != 0 and on_best is not None:
                        on_best(result.best)
                result.history.append(best_key)
                done += quota or 0
                if _gives_up(
                    best_key, give_up_share, t_start, seconds, iterations, done
                ):
                    result.gave_up = True
                    break
                if time.perf_counter() >= end:
                    break
    finally:
        _stop_all(others)
    return result


def _schedule(
    seconds: float, iterations: int | None, t_start: float
) -> list[tuple[float, int | None]]:
    """Each epoch's deadline and iteration quota."""
    end = t_start + seconds
    if iterations is not None:
        # Epochs by iterations alone: the clock then only ends the search.
        n = max(1, min(EPOCHS, iterations))
        bounds = [round(e * iterations / n) for e in range(n + 1)]
        return [(end, bounds[e + 1] - bounds[e]) for e in range(n)]
    n = max(1, min(EPOCHS, math.floor(seconds / MIN_EPOCH_SECONDS)))
    return [(t_start + seconds * (e + 1) / n, None) for e in range(n)]


def _gives_up(
    best: Key,
    share: float | None,
    t_start: float,
    seconds: float,
    iterations: int | None,
    done: int,
) -> bool:
    if share is None or not best[0]:
        return False
    if iterations is not None:
        return done > share * iterations
    return time.perf_counter() - t_start > share * seconds


def _ask(
    others: dict[int, tuple[BaseProcess, Connection]],
    k: int,
    message: tuple[object, ...],
    lost: list[str],
) -> None:
    proc, conn = others[k]
    try:
        conn.send(message)
    except OSError:  # its end of the pipe is gone: the process died
        _lose(others, k, _died(proc), lost)


def _answer(
    others: dict[int, tuple[BaseProcess, Connection]],
    k: int,
    until: float,
    lost: list[str],
) -> tuple[Key, Routes] | None:
    """Island ``k``'s ``(key, routes)`` for this epoch, or ``None`` (lost)."""
    proc, conn = others[k]
    try:
        if not conn.poll(max(0.0, until - time.perf_counter())):
            _lose(others, k, f"no answer {EPOCH_GRACE:g} s after the epoch", lost)
            return None
        got = conn.recv()
    except (EOFError, OSError):
        _lose(others, k, _died(proc), lost)
        return None
    if got[0] == "error":
        _lose(others, k, str(got[1]), lost)
        return None
    return got[1], got[2]


def _died(proc: BaseProcess) -> str:
    proc.join(timeout=1.0)
    return f"its process died (exit code {proc.exitcode})"


def _lose(
    others: dict[int, tuple[BaseProcess, Connection]],
    k: int,
    why: str,
    lost: list[str],
) -> None:
    proc, conn = others.pop(k)
    lost.append(f"{proc.name}: {why}")
    conn.close()
    if proc.is_alive():
        proc.kill()
    proc.join(timeout=1.0)


def _stop_all(others: dict[int, tuple[BaseProcess, Connection]]) -> None:
    for _, conn in others.values():
        with contextlib.suppress(OSError):
            conn.send(("stop",))
        conn.close()
    for proc, _ in others.values():
        proc.join(timeout=1.0)
        if proc.is_alive():
            proc.kill()
            proc.join()


def _island_process(
    conn: Connection,
    instance: pyvrp.ProblemData,
    seed: int,
    penalty: pyvrp.PenaltyParams,
) -> None:
    """Forked island: search an epoch each time it is asked, send its best."""
    try:
        with quiet():
            island = Island(instance, seed, penalty)
            while True:
                message = conn.recv()
                if message[0] == "stop":
                    return
                _, routes, deadline, quota = message
                start = None if routes is None else solution_of(instance, routes)
                best = island.epoch(start, deadline, quota)
                conn.send(("done", island.key(best), routes_of(best)))
    except (EOFError, BrokenPipeError):  # the search is over without us
        return
    except Exception as exc:  # reported by name; the other islands carry on
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()
