"""Live changes, as the streams of this process await them.

:class:`LiveChanges` counts the ``milepost_live`` notifications this process
hears (:class:`api.db.notify.Bus`: any process's commit of a status, a van's
state, a route revision or a plan). A stream remembers the count it last
drew at and awaits a higher one, so it redraws as soon as anything changes
and otherwise only when its clock-driven ETAs may have moved. Without a
listening bus (SQLite, or the connection down) :attr:`LiveChanges.heard` is
False and streams poll instead.
"""

from __future__ import annotations

import asyncio
import threading

import anyio

from api.db.notify import LIVE, Bus

__all__ = ["LiveChanges"]


class LiveChanges:
    """A counter of live changes, bumped by the bus, awaited by streams."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.count = 0
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        bus.subscribe(LIVE, self.bump)

    @property
    def heard(self) -> bool:
        """Whether changes of every process reach this counter now."""
        return self.bus.listening

    def bump(self) -> None:
        """Something changed (called from the bus's thread): wake the waiters."""
        with self._lock:
            self.count += 1
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            loop.call_soon_threadsafe(_resolve, future)

    async def wait(self, seen: int, timeout: float) -> int:
        """Wait until the count passes ``seen`` or ``timeout`` s pass; the count."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self.count != seen:
                return self.count
            self._waiters.append((loop, future))
        with anyio.move_on_after(timeout):
            await future
        with self._lock:
            if (loop, future) in self._waiters:
                self._waiters.remove((loop, future))
        return self.count


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
