"""Who holds a running job: runner ids, and telling a dead runner at once.

A runner's id is ``host/pid/start/nonce``: the host name, its process id,
the process's start time (clock ticks since boot, from ``/proc``), so a
recycled process id never passes for the runner that died, and a random
nonce, so two runners of one process (tests) differ. A runner on this host whose
process is gone (or is another process now) is dead at once; of a runner on
another host only its lapsed lease tells.
"""

from __future__ import annotations

import os
import secrets
import socket

__all__ = ["is_dead", "this_runner"]


def _started(pid: int) -> str | None:
    """The start time of process ``pid`` ("0" without /proc; None if gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            # Field 22; the name (field 2) may hold spaces, so count from its ")".
            return stat.read().rsplit(")", 1)[1].split()[19]
    except FileNotFoundError:
        return None if os.path.isdir("/proc/self") else _alive_elsewhere(pid)
    except (OSError, IndexError):
        return "0"


def _alive_elsewhere(pid: int) -> str | None:
    """Without /proc: "0" while ``pid`` exists, else None."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return "0"
    return "0"


def this_runner() -> str:
    """The id of a runner in this process."""
    pid = os.getpid()
    nonce = secrets.token_hex(4)
    return f"{socket.gethostname()}/{pid}/{_started(pid) or '0'}/{nonce}"


def is_dead(worker: str) -> bool:
    """Whether the runner ``worker`` is known to be gone (only on this host)."""
    host, pid_text, started, *_ = [*worker.split("/"), "", ""]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    now = _started(int(pid_text))
    return now is None or (started not in ("", "0") and now not in (started, "0"))
