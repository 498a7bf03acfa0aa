"""The comparison report of a sweep: Markdown, HTML and PNG plots in a folder."""

from __future__ import annotations

import html
import math
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import pandas as pd

from scenarios.sweep import (
    INTERVALS,
    KPIS,
    MIN_REPLICATIONS,
    Estimate,
    SweepResult,
    summarise,
)

__all__ = ["customer_section", "write_report"]

#: KPIs drawn as distributions, one panel each.
PLOTTED = ("cost_per_order", "on_time_rate", "late_minutes_p95", "km")


def _fmt(e: Estimate, signed: bool = False) -> str:
    """``mean [low, high]``; ``mean (n=3)`` when too few days for an interval."""
    if e.mean is None:
        return "-"
    sign = "+" if signed else ""
    if e.low is None or e.high is None:
        digits = 3 if abs(e.mean) < 10 else 1
        return f"{e.mean:{sign}.{digits}f} (n={e.n})"
    digits = 3 if max(abs(e.low), abs(e.high)) < 10 else 1
    return f"{e.mean:{sign}.{digits}f} [{e.low:.{digits}f}, {e.high:.{digits}f}]"


def _table(result: SweepResult) -> tuple[list[str], list[list[str]]]:
    levels, differences = summarise(result)
    head = ["KPI"] + [s.name for s in result.scenarios]
    first = result.scenarios[0].name
    for s in result.scenarios[1:]:
        head.append(f"{s.name} - {first}")
    rows = []
    for kpi, label in KPIS.items():
        if all(level[kpi].mean is None for level in levels):
            continue  # e.g. checkout KPIs when no scenario quotes slots
        row = [label] + [_fmt(level[kpi]) for level in levels]
        row += [_fmt(d[kpi], signed=True) for d in differences[1:]]
        rows.append(row)
    return head, rows


def _plots(result: SweepResult, folder: Path) -> list[str]:
    names = [s.name for s in result.scenarios]
    files = []
    fig, axes = plt.subplots(1, len(PLOTTED), figsize=(4 * len(PLOTTED), 4))
    for ax, kpi in zip(axes, PLOTTED, strict=True):
        data = [
            [v for d in days if (v := getattr(d, kpi)) is not None]
            for days in result.days
        ]
        ax.boxplot(data, tick_labels=names)
        ax.set_title(KPIS[kpi])
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(folder / "kpi_distributions.png", dpi=110)
    plt.close(fig)
    files.append("kpi_distributions.png")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, days in zip(names, result.days, strict=True):
        hours = sorted({h for d in days for h in d.on_time_by_hour})
        means = [
            sum(d.on_time_by_hour[h] for d in days if h in d.on_time_by_hour)
            / sum(1 for d in days if h in d.on_time_by_hour)
            for h in hours
        ]
        ax.plot(hours, means, marker="o", label=name)
    ax.set_xlabel("hour of arrival")
    ax.set_ylabel("on-time rate (mean of the days)")
    ax.set_title("on-time by hour")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(folder / "on_time_by_hour.png", dpi=110)
    plt.close(fig)
    files.append("on_time_by_hour.png")

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, days in zip(names, result.days, strict=True):
        pairs = [
            (d.on_time_rate, d.cost_per_order)
            for d in days
            if d.on_time_rate is not None and d.cost_per_order is not None
        ]
        xs = [x for x, _ in pairs]
        ys = [y for _, y in pairs]
        ax.scatter(xs, ys, label=name, alpha=0.7)
    ax.set_xlabel("on-time rate")
    ax.set_ylabel("cost per order (won)")
    ax.set_title("cost against service level, one point per day")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(folder / "cost_vs_service.png", dpi=110)
    plt.close(fig)
    files.append("cost_vs_service.png")
    return files


#: Heading of the customers section.
CUSTOMERS_TITLE = "Customers by first-delivery experience"
#: Why the section is empty when there are no order histories.
NO_HISTORIES = (
    "Not reported: a sweep simulates independent days and its result carries "
    "no order histories, so repeat rates and LTV by first-delivery experience "
    "cannot be measured from it. Give the scenarios' order histories "
    "(write_report(..., histories=...)), or read the tracked days' "
    "GET /v1/metrics/retention."
)
CUSTOMER_HORIZON = 90


Record = Mapping[Hashable, Any]


def _rate(r: Record) -> str:
    """A repeat rate of :func:`tracking.crm.repeat_by_experience` as text."""
    n = int(r["customers"])
    value, low, high = float(r["rate"]), float(r["low"]), float(r["high"])
    if n == 0 or math.isnan(value):
        return "- (n=0)"
    return f"{value:.2f} [{low:.2f}, {high:.2f}] (n={n})"


def _won(r: Record) -> str:
    """An LTV of :func:`tracking.crm.ltv_by_experience` as text."""
    n = int(r["customers"])
    value, low, high = float(r["value"]), float(r["low"]), float(r["high"])
    if n == 0 or math.isnan(value):
        return "- (n=0)"
    if math.isnan(low) or math.isnan(high):
        return f"{value:,.0f} (n={n})"
    return f"{value:,.0f} [{low:,.0f}, {high:,.0f}] (n={n})"


def customer_section(
    histories: Mapping[str, pd.DataFrame] | None,
) -> tuple[list[str], str]:
    """The report's customers section, as Markdown lines and HTML.

    Per scenario and experience cohort of each customer's first delivery
    (:mod:`tracking.crm`): second-order rate within 30/60/90 days and LTV
    over 90 days, with 95 % intervals and the customers counted. Without
    ``histories`` (a sweep result has none) the section says why it is
    empty.
    """
    title = f"## {CUSTOMERS_TITLE}"
    if not histories:
        return [title, "", NO_HISTORIES, ""], (
            f"<h2>{html.escape(CUSTOMERS_TITLE)}</h2><p>{html.escape(NO_HISTORIES)}</p>"
        )
    # Only with histories: a sweep's report does not need the CRM library.
    from tracking.crm import crm_metrics
    from tracking.retention import COHORTS

    head = ["Scenario", "First delivery", "repeat 30 d", "repeat 60 d"]
    head += ["repeat 90 d", f"LTV {CUSTOMER_HORIZON} d (won)"]
    rows: list[list[str]] = []
    for name, history in histories.items():
        if history.empty:
            rows.append([name, "(no orders)", "-", "-", "-", "-"])
            continue
        m = crm_metrics(history, horizon_days=CUSTOMER_HORIZON)
        repeat = {(r["experience"], r["days"]): r for r in m.repeat.to_dict("records")}
        ltv = {r["experience"]: r for r in m.ltv.to_dict("records")}
        for cohort in COHORTS:
            row = [name, cohort.replace("_", " ")]
            row += [_rate(repeat[(cohort, n)]) for n in (30, 60, 90)]
            row.append(_won(ltv[cohort]))
            rows.append(row)
    note = (
        "Customers counted only when observed for the whole horizon "
        "(right-censored ones are left out); Wilson intervals for rates, "
        "normal intervals over customers for LTV."
    )
    md = [title, "", note, "", "| " + " | ".join(head) + " |"]
    md.append("|" + "---|" * len(head))
    md += ["| " + " | ".join(row) + " |" for row in rows]
    md.append("")
    cells = "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(f"<th scope='row'>{html.escape(c)}</th>" for c in row[:2])
        + "".join(f"<td>{html.escape(c)}</td>" for c in row[2:])
        + "</tr>"
        for row in rows
    )
    page = (
        f"<h2>{html.escape(CUSTOMERS_TITLE)}</h2><p>{html.escape(note)}</p>"
        f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"
    )
    return md, page


def write_report(
    result: SweepResult,
    folder: str | Path,
    *,
    histories: Mapping[str, pd.DataFrame] | None = None,
) -> list[Path]:
    """Write ``summary.md``, ``summary.html`` and the plots into ``folder``.

    ``histories`` (scenario name -> order history, :mod:`tracking.retention`)
    fill the customers section (:func:`customer_section`); without them it
    says why it is empty.

    Returns
    -------
    list[Path]
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    head, rows = _table(result)
    plots = _plots(result, folder)
    reps = ", ".join(f"{s.name}: {s.replications}" for s in result.scenarios)
    intro = (
        f"Replications: {reps}. Differences are against "
        f"{result.scenarios[0].name}. Means with intervals: {INTERVALS}; "
        "a cell without one reads mean (n=days)."
    )
    if min(s.replications for s in result.scenarios) < MIN_REPLICATIONS:
        intro += f" Run at least {MIN_REPLICATIONS} replications for intervals."
    md = [f"# Scenario comparison\n\n{intro}\n"]
    md.append("| " + " | ".join(head) + " |")
    md.append("|" + "---|" * len(head))
    md += ["| " + " | ".join(row) + " |" for row in rows]
    md.append("")
    for s in result.scenarios:
        md.append(f"- **{s.name}**: {s.description or '(no description)'}")
    md.append("")
    md += [f"![{p}]({p})" for p in plots]
    customers_md, customers_html = customer_section(histories)
    md += ["", *customers_md]
    (folder / "summary.md").write_text("\n".join(md) + "\n", encoding="utf-8")

    cells = "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + f"<th scope='row'>{html.escape(row[0])}</th>"
        + "".join(f"<td>{html.escape(c)}</td>" for c in row[1:])
        + "</tr>"
        for row in rows
    )
    images = "".join(
        f"<figure><img src='{p}' alt='{html.escape(p)}'></figure>" for p in plots
    )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Scenario comparison</title>"
        "<style>body{font-family:sans-serif;margin:2em;color:#111}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;"
        "padding:4px 8px;text-align:right}th[scope=row]{text-align:left}"
        "img{max-width:100%}</style></head><body>"
        f"<h1>Scenario comparison</h1><p>{html.escape(intro)}</p>"
        f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"
        f"{images}{customers_html}</body></html>\n"
    )
    (folder / "summary.html").write_text(page, encoding="utf-8")
    return [folder / "summary.md", folder / "summary.html"] + [
        folder / p for p in plots
    ]
