"""The comparison report of a sweep: Markdown, HTML and PNG plots in a folder."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from scenarios.sweep import (
    INTERVALS,
    KPIS,
    MIN_REPLICATIONS,
    Estimate,
    SweepResult,
    summarise,
)

__all__ = ["write_report"]

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


def write_report(result: SweepResult, folder: str | Path) -> list[Path]:
    """Write ``summary.md``, ``summary.html`` and the plots into ``folder``.

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
        f"{images}</body></html>\n"
    )
    (folder / "summary.html").write_text(page, encoding="utf-8")
    return [folder / "summary.md", folder / "summary.html"] + [
        folder / p for p in plots
    ]
