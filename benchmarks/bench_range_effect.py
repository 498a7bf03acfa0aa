"""How long ``GET /v1/metrics/retention`` takes to fit its range's effect.

Run by hand (a minute or two; under ``flock /work/bench.lock`` on a shared
machine)::

    .venv/bin/python benchmarks/bench_range_effect.py

The embedded city (default size, seed 1) is read as the service reads its
tracked days (:func:`api.services.metrics.history_frame`'s columns: the
delivery day as the order day, minutes late, failed attempts); for ranges
of 30 to 365 days ending 2025-12-31, and the year's deliveries sampled down
to :data:`api.services.metrics.MAX_EFFECT_DELIVERIES`, it times
:func:`api.services.metrics.range_effect` (the estimator and the checks of
the retention fit job) and prints one line per range.
"""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd

from api.services import metrics
from routing.bench.machine import machine
from scenarios.city import build_city


def main() -> None:
    city = build_city(seed=1)
    h = city.history
    days = pd.to_datetime(h["delivery_date"])
    frame = pd.DataFrame(
        {
            "customer_id": h["customer_id"].astype(str),
            "order_id": h["order_id"].astype(str),
            "ds": days,
            "delivery_date": days,
            "minutes_late": h["minutes_late"].astype(float),
            "failed_attempts": h["failed_attempts"].astype(int),
        }
    )
    end = dt.date(2025, 12, 31)
    print(machine())
    print("days  deliveries  fitted  customers  fitted  seconds  log1p_late [95 %]")
    for n_days in (30, 90, 180, 365):
        start = end - dt.timedelta(days=n_days - 1)
        part = frame[
            (frame["ds"] >= pd.Timestamp(start)) & (frame["ds"] <= pd.Timestamp(end))
        ]
        metrics._EFFECTS.clear()
        t0 = time.perf_counter()
        effect = metrics.range_effect(part, start=start, end=end, zone=None)
        seconds = time.perf_counter() - t0
        late = next(
            (
                f"{c.coef:.4f} [{c.low:.4f}, {c.high:.4f}]"
                for c in effect.coefficients
                if c.name == "log1p_late"
            ),
            effect.reason,
        )
        print(
            f"{n_days:4d}  {len(part):10,d}  {effect.deliveries:6,d}  "
            f"{effect.customers:9,d}  {effect.customers_fitted:6,d}  "
            f"{seconds:7.2f}  {late}"
        )


if __name__ == "__main__":
    main()
