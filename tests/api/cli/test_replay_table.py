"""``milepost replay``'s table: one line per figure of the report."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from api.cli.replay import replay_table


def _figures() -> dict[str, Any]:
    return {
        "day": "2026-12-09",
        "orders": 120,
        "simulated_until": "14:00",
        "wall_seconds": 31.4,
        "plan_versions": 3,
        "checker_violations": 0,
        "parcels_lost": 0,
        "orders_served": 70,
        "on_time": 65,
        "on_time_share": 0.9286,
        "baskets": {"orders": 124, "with_value": 117, "mean_value": 34_512},
        "events": {
            "sent_http": 300,
            "sent_mqtt": 280,
            "lost": 0,
            "duplicated": 0,
            "rejected_http": 0,
        },
        "eta": {"mae_minutes": 6.1, "p10_p90_coverage": 0.81, "samples": 500},
        "reoptimisations": {
            "count": 2,
            "ok": 2,
            "p50_seconds": 1.5,
            "p95_seconds": None,
        },
        "late_risk": {"raised": 3, "open_minutes_p50": 20.0, "open_minutes_max": None},
        "rescue": {"rescued": 9, "lost": 1},
        "service_exceptions": {
            "count": 2,
            "still_open": 1,
            "by_kind": {"sensor_excursion": 1, "late_risk": 1},
        },
        "outcomes": {"delivered": 70, "cancelled": 4},
    }


def test_every_figure_is_a_line_with_the_baskets_stored() -> None:
    """The baskets stored beside the orders, missing figures as '-', the
    service exceptions by kind and the outcomes, each on its line."""
    console = Console(width=120, record=True)
    console.print(replay_table(_figures()))
    text = console.export_text()
    assert "orders stored with a basket (mean)" in text
    assert "117 of 124 (34512)" in text
    assert "1.50 / -" in text  # re-optimisation p50 / p95
    assert "service exceptions sensor_excursion" in text
    assert "orders cancelled" in text
