"""The exception watch: the dispatcher's rules evaluated without a reader.

The rules of :mod:`api.services.console` (``late_risk``,
``van_not_started``, ``van_silent``, ``failed_attempt``) depend on the
clock: nobody sends an event when a van *stays* silent. ``GET
/v1/exceptions`` evaluates the day before it reads, but the console's
exceptions panel is fed by the plan's live stream, which only reads. So
each serving process runs one :class:`ExceptionWatch`: a daemon thread that
every ``MILEPOST_EXCEPTION_WATCH_SECONDS`` evaluates today's dispatched
plans (:func:`api.services.console.refresh_exceptions`, the shop's day in the
deployment's timezone, ``MILEPOST_TIMEZONE``) and commits. An exception it opens or
closes is a write to ``dispatch_exceptions``, so the live streams redraw
as for any other change (the database's notification on PostgreSQL, the
streams' 1-second poll on SQLite).

Several processes (``milepost serve --workers N``) each run their own
watch, and the list's readers evaluate too: that is safe because
evaluating is idempotent. An exception is keyed by its condition
(``van_silent:<van>``...) and opens at the time of the condition, so two
evaluations at once make the same exception; one that collides with
another's insert gives way (the savepoint in ``refresh_exceptions``).

A tick that fails is logged with its traceback and counted
(``milepost_exception_watch_runs_total{outcome="error"}``); the watch goes
on at the next tick. It stops promptly: it waits on an event, not a sleep.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from api.services.console import refresh_exceptions
from api.services.tracking import LiveEtas
from api.settings import Settings
from routing.locale import Locale

__all__ = ["ExceptionWatch", "shop_today"]

log = logging.getLogger("milepost.watch")


def shop_today(locale: Locale) -> dt.date:
    """Today in the shop's timezone (the deployment's ``locale``)."""
    return dt.datetime.now(locale.zone).date()


class ExceptionWatch:
    """Evaluates today's exception rules every ``interval`` seconds.

    Parameters
    ----------
    sessions
        The service's write sessionmaker.
    etas
        The app's live ETAs (``late_risk`` reads them).
    settings
        The service's settings: the rules' thresholds and
        ``exception_watch_seconds``, the interval (0: the watch is off and
        :meth:`start` does nothing).
    today
        The day evaluated at each tick (default: :func:`shop_today` of the
        settings' locale).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        etas: LiveEtas,
        settings: Settings,
        *,
        today: Callable[[], dt.date] | None = None,
    ) -> None:
        self.sessions = sessions
        self.etas = etas
        self.settings = settings
        self.interval = settings.exception_watch_seconds
        self.today = today or (lambda: shop_today(settings.locale))
        #: Ticks run, by outcome (``ok``, ``error``), for ``/metrics``.
        self.runs: dict[str, int] = {"ok": 0, "error": 0}
        #: Unix time of the last tick that succeeded (None: none yet).
        self.last_ok: float | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        """Whether the watch runs at all (a positive interval)."""
        return self.interval > 0

    @property
    def running(self) -> bool:
        """Whether the watch's thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Start the thread (no-op when off or already running)."""
        if not self.enabled or self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._watch, name="exception-watch", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread, waiting up to ``timeout`` s for a tick under way."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("exception watch still evaluating after %.0f s", timeout)

    def tick(self) -> bool:
        """Evaluate today's rules once and commit; whether it worked.

        Never raises: a failure is logged with its traceback and counted.
        """
        try:
            day = self.today()
            with self.sessions.begin() as session:
                refresh_exceptions(
                    session, day=day, etas=self.etas, settings=self.settings
                )
        except Exception:
            self.runs["error"] += 1
            log.exception("exception watch: evaluating today's rules failed")
            return False
        self.runs["ok"] += 1
        self.last_ok = time.time()
        return True

    def _watch(self) -> None:
        log.info("exception watch every %s s", self.interval)
        while not self._stopping.wait(self.interval):
            self.tick()
