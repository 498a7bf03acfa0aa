# ruff: noqa: E501
"""Depot forecast on the first open day after each closure block of the embedded city.

Run: .venv/bin/python benchmarks/closure_backlog.py [SEED [DAYS_BEFORE]]
(8,000 customer slots, seed 0 by default; forecast from DAYS_BEFORE the
first closed day, 0 by default, 28 days: the depot forecaster, its closures
carrying the zones' order forecast mapped to the depots).
"""

import sys
import time
from datetime import timedelta

import pandas as pd

from forecasting.exog import CLOSURE_COLUMN
from scenarios.city import build_city
from scenarios.forecast_report import (
    _cut,
    _forecast,
    city_exog,
    city_orders,
    depot_history,
    zone_history,
)

t0 = time.time()
SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 0
city = build_city(seed=SEED, n_customers=8000)
print("city", city.start, city.end, f"{time.time() - t0:.0f}s", flush=True)
hist = depot_history(city)
ex = city_exog(city, city.start, city.end)
closed = ex.set_index("ds")[CLOSURE_COLUMN]
# blocks of >= 2 closed days in 2025
days = closed[closed > 0.5].index
blocks, cur = [], []
for d in days:
    if cur and (d - cur[-1]).days == 1:
        cur.append(d)
    else:
        if cur:
            blocks.append(cur)
        cur = [d]
blocks.append(cur)
blocks = [b for b in blocks if len(b) >= 3]
print("blocks", [(b[0].date(), b[-1].date()) for b in blocks])
tot = hist.groupby("ds")["y"].sum()
for b in blocks:
    if b[0] < pd.Timestamp(city.start) + pd.Timedelta(days=365):
        continue
    first_open = b[-1] + pd.Timedelta(days=1)
    start = b[0].date() - timedelta(days=int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    zones, _ = _forecast(
        city, _cut(zone_history(city), start), start, 28, SEED, None, []
    )
    deliveries = _cut(hist, start)
    orders = city_orders(city, deliveries, start, 28, zones)
    out, _ = _forecast(
        city, deliveries, start, 28, SEED, CLOSURE_COLUMN, [60, 80], orders=orders
    )
    row = out[out.ds == first_open]
    act = hist[hist.ds == first_open].set_index("unique_id")["y"]
    print(
        f"block {b[0].date()}..{b[-1].date()} first open {first_open.date()} start {start}"
    )
    print(
        "  per depot:",
        row[
            [
                "unique_id",
                "GlobalGBM",
                "GlobalGBM-hi-60",
                "GlobalGBM-hi-80",
                "GlobalGBM-backlog",
            ]
        ]
        .round(0)
        .to_dict("records"),
    )
    print(
        f"  total actual {act.sum():.0f} forecast {row.GlobalGBM.sum():.0f} P80 {row['GlobalGBM-hi-60'].sum():.0f} hi80 {row['GlobalGBM-hi-80'].sum():.0f}"
    )
    print(
        "  'GlobalGBM-model'",
        row["GlobalGBM-model"].tolist(),
        f"{time.time() - t0:.0f}s",
        flush=True,
    )
