"""``oncall-tui snapshot``: render one view headless once its data has loaded, then exit.

Text for pasting into an incident channel, SVG for documents, JSON (signals and alerts) for
scripts. The exit code is 1 when a backend is down or stale, so scripts can tell.

JSON needs no screen: :func:`fetch_json` refreshes the backends once and encodes the view,
without importing Textual (a script that polls it pays for the fetch, not for a UI).
"""

from __future__ import annotations

import asyncio
import io
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import msgspec

from oncall_tui.text.sanitize import sanitize_for_display as _sanitize

if TYPE_CHECKING:
    from oncall_tui.app import OncallApp
    from oncall_tui.clients.session import TriageData
    from oncall_tui.incident import Incident

LOAD_TIMEOUT = 60.0


def _render_text(app: OncallApp) -> str:
    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, color_system=None, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True))
    lines = console.export_text(styles=False).splitlines()
    return "\n".join(line.rstrip() for line in lines).rstrip() + "\n"


def snapshot_json(data: TriageData) -> dict[str, Any]:
    """Signals and alerts for scripts; label values sanitised like everywhere else."""
    now = data.fetched_at
    # 5,000 alerts repeat the same few label names and values: each distinct one is made safe once.
    sanitize_for_display = lru_cache(maxsize=1 << 16)(_sanitize)
    return {
        "context": data.context,
        "fetched_at": now,
        "range": data.time_range.label() if data.time_range else None,
        "sources": {
            name: {"status": s.status(now), "age_seconds": s.age(now), "error": s.error}
            for name, s in data.sources.items()
        },
        "services": [
            {
                "service": sanitize_for_display(r.service),
                "preset": r.preset,
                **{k: v for k, v in r.values.items()},
                "saturation_unit": r.saturation_unit,
                "burn_rate": r.burn_rate,
                "levels": r.levels,
                "firing_alerts": r.firing_alerts,
            }
            for r in data.rows
        ],
        "alerts": [
            {
                "name": sanitize_for_display(a.name),
                "severity": a.severity,
                "service": sanitize_for_display(a.service) if a.service else None,
                "state": a.state,
                "state_detail": sanitize_for_display(a.state_detail),
                "starts_at": a.starts_at.isoformat() if a.starts_at else None,
                "summary": sanitize_for_display(a.summary),
                "labels": {sanitize_for_display(k): sanitize_for_display(v) for k, v in a.labels.items()},
            }
            for a in data.alerts
        ],
        "queries": data.queries,
    }


def _encode(data: TriageData) -> str:
    return msgspec.json.format(msgspec.json.encode(snapshot_json(data), enc_hook=str), indent=2).decode() + "\n"


def _exit_code(data: TriageData, now: float) -> int:
    """1 when a backend is down, refused us or is stale."""
    return 1 if any(s.status(now) in ("down", "auth", "stale") for s in data.sources.values()) else 0


async def fetch_json(incident: Incident, *, timeout: float = LOAD_TIMEOUT) -> tuple[str, int]:
    """One headless refresh of every backend, then the JSON view; closes the session."""
    from oncall_tui.core.timerange import TimeRange

    try:
        data = await asyncio.wait_for(incident.session.fetch_triage(TimeRange()), timeout)
    except TimeoutError:
        return f"oncall-tui snapshot: no data within {timeout:g} s\n", 1
    finally:
        await incident.session.aclose()
    return _encode(data), _exit_code(data, incident.clock())


async def take_snapshot(app: OncallApp, *, size: tuple[int, int], fmt: str) -> tuple[str, int]:
    """Run ``app`` headless at ``size``; return (output, exit code)."""
    app.periodic_refresh = False
    async with app.run_test(size=size, headless=True) as pilot:
        try:
            await asyncio.wait_for(app.first_load.wait(), LOAD_TIMEOUT)
        except TimeoutError:
            return "oncall-tui snapshot: no data within 60 s\n", 1
        await pilot.pause()
        await app.workers.wait_for_complete()  # views that load more (the detail's history)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        data = app.incident.last_data
        assert data is not None
        if fmt == "svg":
            out = app.export_screenshot(title=f"oncall-tui · {data.context}")
        elif fmt == "json":
            out = _encode(data)
        else:
            out = _render_text(app)
        return out, _exit_code(data, app.clock())


__all__ = ["fetch_json", "snapshot_json", "take_snapshot"]
