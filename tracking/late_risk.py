"""The late-risk rule: when a live ETA says an order will miss its window.

One function, shared by the replay's dispatcher and the service's
exceptions (``late_risk`` exceptions of the dispatcher console):
an order is **at risk** when the P90 of its live ETA is past the end of the
window it was promised by more than ``tolerance`` seconds. P90, not the
point ETA: a dispatcher acts when lateness is likely enough to matter, not
only when it is the expected case; the tolerance keeps a few minutes of
noise from raising alarms; the horizon keeps the rule to windows that end
soon, where an ETA is sharp enough to act on (in the 600-order replay, most
orders flagged hours ahead were delivered on time).
"""

from __future__ import annotations

from collections.abc import Sequence

from routing.model import Job, Order, TimeWindow

__all__ = [
    "LATE_HORIZON",
    "LATE_TOLERANCE",
    "late_risk",
    "order_windows",
    "promised_window_end",
]

#: Seconds the P90 of an ETA may pass the promised window's end before the
#: order counts as at risk (10 minutes).
LATE_TOLERANCE = 600
#: Only windows ending within this many seconds of now are judged (2 hours).
LATE_HORIZON = 2 * 3600


def promised_window_end(
    windows: Sequence[TimeWindow], service_start: int | None
) -> int | None:
    """The end of the window an order was promised, in seconds.

    Parameters
    ----------
    windows
        The order's time windows (none: any time, never late).
    service_start
        The service start of the plan the customer was told; the window
        holding it is the promised one. ``None`` or outside every window:
        the first window that ends at or after it (else the last).

    Returns
    -------
    int | None
        ``None`` when the order has no window.
    """
    if not windows:
        return None
    if service_start is None:
        return windows[-1].end
    for w in windows:
        if w.end >= service_start:
            return w.end
    return windows[-1].end


def order_windows(order: Order) -> Sequence[TimeWindow]:
    """The windows an order's customer waits in: a job's, a shipment's delivery's."""
    if isinstance(order, Job):
        return order.time_windows
    return order.delivery.time_windows


def late_risk(
    eta_p90: int,
    window_end: int | None,
    *,
    now: int | None = None,
    tolerance: int = LATE_TOLERANCE,
    horizon: int | None = LATE_HORIZON,
) -> bool:
    """Whether an order is at risk of being late.

    Parameters
    ----------
    eta_p90
        P90 of the order's live ETA (seconds since local midnight of the day;
        the arrival itself once the van is there).
    window_end
        End of the promised window (:func:`promised_window_end`); ``None``:
        no window, never at risk.
    now
        When the ETA was made (seconds, same clock); ``None``: no horizon.
    tolerance
        Seconds ``eta_p90`` may pass ``window_end`` (default
        :data:`LATE_TOLERANCE`); must be non-negative.
    horizon
        With ``now``: a window ending more than ``horizon`` seconds after
        ``now`` is not judged yet (default :data:`LATE_HORIZON`; ``None``:
        every window).

    Returns
    -------
    bool
        ``eta_p90 > window_end + tolerance``, for a window ending within the
        horizon.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0 seconds, got {tolerance}")
    if window_end is None:
        return False
    if now is not None and horizon is not None and window_end - now > horizon:
        return False
    return eta_p90 > window_end + tolerance
