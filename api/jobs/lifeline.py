"""Lifelines: the job pool's processes end when the service process dies.

A ``kill -9`` of ``milepost serve`` runs no clean-up, so without help the
pool's forkserver and its workers live on as orphans (a worker would keep
solving a job the next start re-queues). :func:`watch` starts a thread that
waits for a process to end and then kills its own process with SIGKILL; the
pool's workers watch the service from their initializer. A fork copies no
thread, so a process that watches another also makes every process it forks
from then on (a solver's helpers) watch it in turn: a chain that ends with
the service.

The forkserver is started by :mod:`multiprocessing` and runs no code of ours
but its preloaded modules: this module is one of them
(:func:`preload_modules`). On import it watches its parent when the parent is
the service process named in ``MILEPOST_LIFELINE_PID`` (set by the runner
before it starts a pool), so the forkserver, too, ends with the service.
Nothing else happens on import.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time

__all__ = ["ENV", "preload_modules", "watch"]

#: The environment variable naming the service process (set by the runner).
ENV = "MILEPOST_LIFELINE_PID"


def _wait_for_end(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # already gone
    except (AttributeError, OSError):
        # No pidfd (not Linux, or an old kernel): poll instead.
        while _exists(pid):
            time.sleep(0.5)
        return
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die_with(pid: int) -> None:
    _wait_for_end(pid)
    os.kill(os.getpid(), signal.SIGKILL)


#: The processes this one watches (pids; per process: a fork starts empty).
_watching: set[int] = set()
#: Whether forks watch their parent (a fork inherits the registration).
_forks_watch = False


def watch(pid: int) -> None:
    """Kill this process (SIGKILL) as soon as process ``pid`` ends.

    Processes this one forks from then on watch this one.
    """
    global _forks_watch
    if pid in _watching:
        return
    if not _forks_watch:
        os.register_at_fork(after_in_child=_watch_the_forker)
        _forks_watch = True
    _watching.add(pid)
    threading.Thread(
        target=_die_with, args=(pid,), name="lifeline", daemon=True
    ).start()


def _watch_the_forker() -> None:
    """In a child forked by a watching process: watch that process."""
    _watching.clear()  # the parent's threads were not copied
    watch(os.getppid())


def preload_modules() -> list[str]:
    """What the forkserver imports: the main module (the default), this one,
    and the jobs' code.

    A pool's workers are forked from the forkserver with what it imported:
    with the jobs' code (the solvers, forecasting, the scenarios: 1.5 s of
    imports) among it, the first job of every new pool starts at once. A
    pool is new after each cancelled or crashed job, and in each test app.
    """
    return ["__main__", __name__, "api.jobs.kinds"]


def _watch_parent_if_named() -> None:
    named = os.environ.get(ENV, "")
    if named.isdigit() and int(named) == os.getppid() != os.getpid():
        watch(int(named))


_watch_parent_if_named()
