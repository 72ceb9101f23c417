"""The handoff to the next responder (``oncall-tui incident handoff``, ``:handoff``).

What fires now (worst first), the silences made during the incident and when each expires,
the actions taken and their results, the writes that failed or were cut short and are still
open, and ``--goto`` deep links. Paste-ready for chat: in the Markdown every untrusted string
is redacted and made inert (:func:`~oncall_tui.actions.timeline.md_escape`: no control
character, no link, no markup); the JSON is redacted and sanitised too. Pure: the caller
passes the data and ``now``; :func:`incident_handoff` gathers them for an incident.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from oncall_tui.actions.audit import ensure_private_dir, scrub
from oncall_tui.actions.silences import format_matchers
from oncall_tui.actions.template import TemplateRejected, validate_value
from oncall_tui.actions.timeline import (
    TimelineEvent,
    _utc,
    action_results,
    impact_window,
    md_escape,
    result_verdict,
)
from oncall_tui.core.triage import TriageAlert, format_age
from oncall_tui.models.alertmanager import Silence
from oncall_tui.text.redact import redact
from oncall_tui.text.sanitize import sanitize_for_display

if TYPE_CHECKING:
    from oncall_tui.clients.session import TriageData
    from oncall_tui.incident.incident import Incident

Record = Mapping[str, Any]
#: Alerts listed; the rest is counted ("+N more").
MAX_ALERTS = 50
MAX_LINKS = 12
#: Result fields naming the silence an action created (create/ack: ``silence_id``, extend: ``new_id``).
_SILENCE_RESULT_KEYS = ("silence_id", "new_id")
_SILENCE_KINDS = ("silence.create", "silence.ack", "silence.extend")
#: Labels naming the GPU node of an alert (the GPU view's ``:gpu NODE``).
_NODE_LABELS = ("Hostname", "node")


@dataclass(frozen=True)
class Handoff:
    """Everything the handoff says, before it is written as Markdown or JSON."""

    context: str
    now: datetime
    fetched_at: datetime | None
    incident_start: datetime | None
    ongoing: bool
    alerts: list[TriageAlert]
    silences: list[Silence]
    other_active_silences: int
    actions: list[tuple[TimelineEvent, TimelineEvent | None]]
    interrupted: list[Record]
    failed: list[Record]
    sources: dict[str, str] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)


def _active(alert: TriageAlert) -> bool:
    return alert.state in ("firing", "pending", "silenced", "inhibited")


def created_silence_ids(events: Iterable[TimelineEvent]) -> set[str]:
    """Ids of the silences this app's silence actions created (successful results)."""
    return {
        str(e.detail[k])
        for e in events
        if e.kind == "result" and e.detail.get("ok") and str(e.detail.get("kind", "")) in _SILENCE_KINDS
        for k in _SILENCE_RESULT_KEYS
        if e.detail.get(k)
    }


def _start(events: Sequence[TimelineEvent], alerts: Sequence[TriageAlert]) -> datetime | None:
    """The first alert firing on the timeline, or the oldest alert firing now (whichever is earlier)."""
    starts = [a.starts_at for a in alerts if _active(a) and a.starts_at and a.starts_at.tzinfo and a.starts_at.year > 1]
    window = impact_window(events).start
    candidates = [*starts, *([window] if window else [])]
    return min(candidates) if candidates else None


def _safe_arg(value: str) -> str | None:
    try:
        return validate_value("link", value)
    except TemplateRejected:
        return None


def deep_links(context: str, alerts: Sequence[TriageAlert], known_services: Iterable[str], *, launch: str | None, extra: Sequence[str] = ()) -> list[str]:
    """``oncall-tui --context NAME --goto ':svc S'`` lines: each service firing (worst first),
    each GPU node named by an alert, then ``extra`` commands. A name that fails the
    placeholder allow-list (control characters, shell metacharacters...) gets no link."""
    if launch is None:
        if _safe_arg(context) is None:
            return []
        launch = f"oncall-tui --context {shlex.quote(context)}"
    known = set(known_services)
    commands: list[str] = []
    for alert in alerts:
        if not _active(alert):
            continue
        if alert.service in known and _safe_arg(alert.service or ""):
            commands.append(f":svc {alert.service}")
        node = next((alert.labels[k] for k in _NODE_LABELS if alert.labels.get(k)), None)
        if node and _safe_arg(node):
            commands.append(f":gpu {node}")
    unique = list(dict.fromkeys(commands))[:MAX_LINKS] + list(extra)
    return [f"{launch} --goto {shlex.quote(c)}" for c in unique]


def build_handoff(
    data: TriageData | None,
    events: Sequence[TimelineEvent],
    *,
    interrupted: Sequence[Record],
    failed: Sequence[Record],
    now: datetime,
    context: str,
    launch: str | None = None,
) -> Handoff:
    """Collect the handoff from the last triage data (alerts ranked worst first), the
    timeline, and the audit log's open problems."""
    alerts = sorted((a for a in (data.alerts if data else []) if _active(a)), key=lambda a: a.rank)
    start = _start(events, alerts)
    ours = created_silence_ids(events)
    silences, others = [], 0
    for s in data.silences if data else []:
        during = s.id in ours or (start is not None and s.starts_at >= start)
        if during:
            silences.append(s)
        elif s.status.state == "active":
            others += 1
    silences.sort(key=lambda s: s.ends_at)
    fetched = datetime.fromtimestamp(data.fetched_at, UTC) if data and data.fetched_at else None
    ts = data.fetched_at if data else now.timestamp()
    sources = {name: src.status(ts) for name, src in (data.sources if data else {}).items()}
    extra = [":silences"] if silences else []
    extra += [":retry"] if failed else []
    extra += [":timeline"]
    services = [s.name for s in data.services] if data else []
    return Handoff(
        context=context,
        now=now,
        fetched_at=fetched,
        incident_start=start,
        ongoing=any(a.state in ("firing", "silenced", "inhibited") for a in alerts),
        alerts=alerts,
        silences=silences,
        other_active_silences=others,
        actions=action_results(events),
        interrupted=list(interrupted),
        failed=list(failed),
        sources=sources,
        links=deep_links(context, alerts, services, launch=launch, extra=extra),
    )


# -------------------------------------------------------------------- Markdown --
def _md(value: Any, max_chars: int = 300) -> str:
    return md_escape(redact(str(value)), max_chars=max_chars)


def _when(at: datetime, now: datetime) -> str:
    """``05:12:30 UTC, in 42m`` / ``05:12:30 UTC, 3m ago``."""
    delta = (at - now).total_seconds()
    rel = f"in {format_age(delta)}" if delta >= 0 else f"{format_age(-delta)} ago"
    return f"{_utc(at)} UTC, {rel}"


def _alert_rows(h: Handoff) -> list[str]:
    if not h.alerts:
        return ["- Nothing is firing."]
    out = ["| Severity | Alert | Service | State | Since | Summary |", "|---|---|---|---|---|---|"]
    for a in h.alerts[:MAX_ALERTS]:
        since = _when(a.starts_at, h.now) if a.starts_at and a.starts_at.year > 1 else "-"
        out.append(
            f"| {_md(a.severity, 32)} | {_md(a.name, 120)} | {_md(a.service or '-', 120)} | "
            f"{_md(a.state_detail, 160)} | {since} | {_md(a.summary)} |"
        )
    if len(h.alerts) > MAX_ALERTS:
        out.append(f"\n- +{len(h.alerts) - MAX_ALERTS} more alerts (the triage screen lists every one)")
    return out


def _silence_rows(h: Handoff) -> list[str]:
    out = []
    if h.silences:
        out += ["| Silence | Matchers | State | Created by | Comment | Expires |", "|---|---|---|---|---|---|"]
        for s in h.silences:
            verb = "expired" if s.status.state == "expired" else "expires"
            out.append(
                f"| {_md(s.id[:8], 8)} | {_md(format_matchers(s.matchers))} | {_md(s.status.state, 16)} | {_md(s.created_by, 120)} | "
                f"{_md(s.comment)} | {verb} {_when(s.ends_at, h.now)} |"
            )
    else:
        out.append("- None.")
    if h.other_active_silences:
        out.append(f"\n- {h.other_active_silences} other active silence(s) predate the incident (`:silences` lists them).")
    return out


def _action_rows(h: Handoff) -> list[str]:
    if not h.actions:
        return ["- None recorded."]
    out = ["| Time (UTC) | Action | Target | Result |", "|---|---|---|---|"]
    for action, result in h.actions:
        out.append(
            f"| {_utc(action.at)} | {_md(action.detail.get('kind', action.text), 64)} | "
            f"{_md(action.detail.get('target', ''))} | {_md(result_verdict(result))} |"
        )
    return out


def _record_time(record: Record) -> str:
    try:
        return f"{_utc(datetime.fromisoformat(str(record.get('ts'))))} UTC"
    except ValueError:
        return _md(record.get("ts", "?"), 40)


def _open_rows(h: Handoff) -> list[str]:
    out = []
    for r in h.interrupted:
        out.append(
            f"- [ ] INTERRUPTED {_md(r.get('kind', '?'), 64)} {_md(r.get('target', ''))} at {_record_time(r)}: "
            f"{_md(r.get('reason', 'no result recorded'))}; check its effect before anything else"
        )
    for r in h.failed:
        out.append(
            f"- [ ] FAILED {_md(r.get('kind', '?'), 64)} {_md(r.get('target', ''))} at {_record_time(r)}: "
            f"{_md(r.get('detail', ''))} (kept for retry: `:retry`)"
        )
    return out or ["- None: every write finished, and none failed."]


def _header(h: Handoff) -> list[str]:
    out = [
        f"# Handoff: {_md(h.context, 100)}",
        "",
        f"- Generated: {_utc(h.now)} UTC by oncall-tui"
        + (f" (data as of {_utc(h.fetched_at)} UTC)" if h.fetched_at else " (no data: backends not read)"),
    ]
    if h.incident_start is None:
        out.append("- Incident: no alert has fired.")
    else:
        span = format_age((h.now - h.incident_start).total_seconds())
        state = "ongoing" if h.ongoing else "nothing firing now"
        out.append(f"- Incident: since {_utc(h.incident_start)} UTC ({span}), {state}")
    if h.sources:
        out.append("- Backends: " + ", ".join(f"{_md(n, 40)} {'ok' if s == 'fresh' else s.upper()}" for n, s in h.sources.items()))
        if any(s != "fresh" for s in h.sources.values()):
            out.append("- WARNING: a backend is not live; what it shows may be old or missing.")
    return out


def handoff_markdown(h: Handoff) -> str:
    """The handoff as Markdown for an incident channel (inert, redacted, no control characters)."""
    out = _header(h)
    out += ["", "## Firing now (worst first)", "", *_alert_rows(h)]
    out += ["", "## Silences created during the incident", "", *_silence_rows(h)]
    out += ["", "## Actions taken", "", *_action_rows(h)]
    out += ["", "## Open: failed or interrupted writes", "", *_open_rows(h)]
    out += ["", "## Deep links for the next responder", ""]
    out += ["```sh", *h.links, "```"] if h.links else ["- None."]
    out.append("")
    return "\n".join(out)


# ------------------------------------------------------------------------ JSON --
def _inert(value: Any) -> Any:
    """Every string of an already scrubbed JSON value made printable (``jq -r`` stays inert)."""
    if isinstance(value, str):
        return sanitize_for_display(value)
    if isinstance(value, dict):
        return {_inert(k): _inert(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_inert(v) for v in value]
    return value


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat() if dt else None


def handoff_json(h: Handoff) -> str:
    """The same handoff as JSON (strings redacted and sanitised)."""
    doc = {
        "context": h.context,
        "generated_at": _iso(h.now),
        "data_as_of": _iso(h.fetched_at),
        "incident": {"start": _iso(h.incident_start), "ongoing": h.ongoing},
        "sources": h.sources,
        "alerts": [
            {
                "name": a.name, "severity": a.severity, "service": a.service, "state": a.state,
                "state_detail": a.state_detail, "starts_at": _iso(a.starts_at), "summary": a.summary,
                "labels": dict(a.labels), "fingerprint": a.fingerprint,
            }
            for a in h.alerts
        ],
        "silences": [
            {
                "id": s.id, "matchers": format_matchers(s.matchers), "state": s.status.state,
                "created_by": s.created_by, "comment": s.comment, "starts_at": _iso(s.starts_at),
                "ends_at": _iso(s.ends_at), "expires_in_seconds": int((s.ends_at - h.now).total_seconds()),
            }
            for s in h.silences
        ],
        "other_active_silences": h.other_active_silences,
        "actions": [
            {
                "at": _iso(a.at), "kind": a.detail.get("kind"), "target": a.detail.get("target"),
                "ok": r.detail.get("ok") if r else None, "result": r.text if r else None, "result_at": _iso(r.at) if r else None,
            }
            for a, r in h.actions
        ],
        "open": [
            {"state": state, "ts": r.get("ts"), "kind": r.get("kind"), "target": r.get("target"),
             "why": r.get("reason") if state == "interrupted" else r.get("detail")}
            for state, records in (("interrupted", h.interrupted), ("failed", h.failed))
            for r in records
        ],
        "links": h.links,
    }
    return json.dumps(_inert(scrub(doc)), indent=2, ensure_ascii=True) + "\n"


# --------------------------------------------------------------- for an incident --
def incident_handoff(
    incident: Incident, fmt: Literal["md", "json"] = "md", *, now: datetime | None = None, launch: str | None = None
) -> str:
    """The handoff of ``incident`` from its last data, timeline and audit log (raises ``OSError``)."""
    name = incident.context.name
    handoff = build_handoff(
        incident.last_data,
        incident.timeline.events(),
        interrupted=[r for r in incident.audit.interrupted() if r.get("context") in (None, name)],
        failed=incident.failed_writes(),
        now=now or datetime.fromtimestamp(incident.clock(), UTC),
        context=name,
        launch=launch,
    )
    return handoff_json(handoff) if fmt == "json" else handoff_markdown(handoff)


async def fetch_handoff(
    incident: Incident, fmt: Literal["md", "json"] = "md", *, launch: str | None = None, timeout: float = 60.0
) -> tuple[str, int]:
    """One headless refresh of every backend, then the handoff; closes the session.

    Returns (text, exit code): 1 when a backend did not answer (the handoff says so too).
    """
    from oncall_tui.core.timerange import TimeRange

    try:
        incident.last_data = await asyncio.wait_for(incident.session.fetch_triage(TimeRange()), timeout)
    except TimeoutError:
        incident.last_data = None
    finally:
        await incident.session.aclose()
    data = incident.last_data
    live = data is not None and all(s.status(data.fetched_at) == "fresh" for s in data.sources.values())
    return incident_handoff(incident, fmt, launch=launch), 0 if live else 1


def save_handoff(state_path: Path, context: str, text: str, now: datetime) -> Path:
    """Write ``text`` to ``<state>/handoff-<context>-<UTC time>.md`` (0600, never over a file)."""
    from oncall_tui.incident.incident import file_safe

    ensure_private_dir(state_path)
    path = state_path / f"handoff-{file_safe(context)}-{now.astimezone(UTC):%Y%m%d-%H%M%S}.md"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
