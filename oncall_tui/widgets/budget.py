"""The service detail's "Error budget" section as a ``rich.text.Text`` (no markup anywhere:
the PromQL and error messages come from config and backends and are sanitised here)."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text

from oncall_tui.core import format as fmt
from oncall_tui.core.budget import Budget
from oncall_tui.core.triage import format_age
from oncall_tui.text.sanitize import sanitize_for_display

BAR_CELLS = 20
NO_SLO = "Error budget: no SLO configured for this service (slo.availability)"


def budget_bar(remaining: float | None, cells: int = BAR_CELLS) -> str:
    """``[██████░░░░]`` filled by the share of budget left (empty when spent or unknown)."""
    share = 0.0 if remaining is None else min(max(remaining, 0.0), 1.0)
    full = round(share * cells)
    return "[" + "█" * full + "░" * (cells - full) + "]"


def _pct(value: float | None) -> str:
    return fmt.MISSING if value is None else f"{value * 100:.1f}%"


def _utc(ts: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(ts))


def budget_text(
    budget: Budget | None,
    *,
    now: float,
    color: Callable[[str], str],
    has_slo: bool = True,
    unavailable: str | None = None,
    down: str | None = None,
) -> Text:
    """The section: SLO and window, remaining budget with a bar, the multi-window burn pairs,
    the incident's spend and the PromQL behind them. ``down``: why the last fetch failed (the
    values shown, if any, are the last good ones)."""
    if not has_slo:
        return Text(NO_SLO)
    text = Text()
    text.append("Error budget", style="bold")
    if unavailable is not None:
        text.append(f": unavailable: {sanitize_for_display(unavailable, max_chars=300)}")
        return text
    if budget is None and down is None:
        text.append(": loading…", style="dim")
        return text
    if budget is not None:
        text.append(f"  SLO {budget.availability * 100:g}% over {sanitize_for_display(budget.window)} (as of {_utc(budget.at)})")
    if down is not None:
        line = f"Prometheus unavailable: {sanitize_for_display(down, max_chars=300)}"
        if budget is not None:
            line += f" — values from {format_age(now - budget.at)} ago"
        text.append(("\n" if budget is not None else ": ") + line, style=f"bold {color('level-crit')}")
    if budget is None:
        return text

    def level_style(bad: bool, warn: bool = False) -> str:
        return f"bold {color('level-crit')}" if bad else f"bold {color('level-warn')}" if warn else ""

    remaining = budget.remaining
    text.append("\n  remaining  ")
    text.append(budget_bar(remaining), style=level_style(remaining is not None and remaining <= 0, remaining is not None and remaining < 0.25))
    text.append(f" {_pct(remaining)} of the {sanitize_for_display(budget.window)} budget left")
    text.append(
        f"  (error ratio {_pct(budget.ratios.get('slo'))} vs {budget.allowed * 100:g}% allowed)", style="dim"
    )
    for i, pair in enumerate(budget.pairs()):
        text.append("\n  burn rate  " if i == 0 else "\n             ")
        text.append(f"{pair.pair.name:<6} ")
        for j, (window, value) in enumerate(((pair.pair.short, pair.short), (pair.pair.long, pair.long))):
            text.append(" · " if j else "")
            text.append(f"{window} ")
            text.append(fmt.burn(value), style=level_style(value is not None and value > pair.pair.threshold))
        fires = pair.fires
        verdict = "no data" if fires is None else "FIRES" if fires else "no"
        text.append(f"   both > {pair.pair.threshold:g}x: ")
        text.append(verdict, style=level_style(bool(fires)))
    text.append("\n  incident   ")
    spent = budget.incident_spent
    if budget.incident_start is None:
        text.append("no alert of this service has fired: nothing to count yet", style="dim")
    elif spent is None:
        text.append(f"since {_utc(budget.incident_start)}: {fmt.MISSING} (no data)")
    else:
        text.append(f"{_pct(spent)} of the budget spent", style=level_style(spent >= 0.1, spent >= 0.02))
        source = sanitize_for_display(budget.incident_source, max_chars=200)
        text.append(f" since {_utc(budget.incident_start)} ({format_age(budget.at - budget.incident_start)}; {source})")
    window = sanitize_for_display(budget.window)
    text.append(
        f"\n  formulas   burn = ratio ÷ (1 − {budget.availability:g}) · remaining = 1 − burn({window})"
        f" · incident = ratio(D) × D ÷ {window} ÷ (1 − {budget.availability:g})",
        style="dim",
    )
    others = [_label(budget, name) for name in budget.queries if name != "slo"]
    text.append(
        f"\n  PromQL (error ratio over {window}; the other windows replace [{window}] by "
        + " ".join(f"[{o}]" for o in others)
        + f"):\n  {sanitize_for_display(budget.queries.get('slo', ''), max_chars=2000)}",
        style="dim",
    )
    for name, error in budget.errors.items():
        text.append(
            f"\n  {sanitize_for_display(_label(budget, name))}: query failed: {sanitize_for_display(error, max_chars=300)}",
            style=f"{color('level-crit')}",
        )
    return text


def _label(budget: Budget, name: str) -> str:
    """A query's window as written in its PromQL (``30d``, ``5m``, ``770s`` for the incident)."""
    if name == "slo":
        return budget.window
    if name == "incident":
        return f"{budget.incident_seconds}s"
    return name
