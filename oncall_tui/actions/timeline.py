"""The incident timeline: alert state changes, actions and their results, notes, runbook steps.

Stored as JSONL (0600) in the state directory, exported as a postmortem draft in Markdown or
as JSON. Everything in the Markdown that came from a backend or a user is made inert:
control characters made visible, Markdown/HTML-active characters escaped, URLs defanged, so
an alert summary cannot inject links, images or HTML into the postmortem.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from oncall_tui.actions.audit import append_line, read_jsonl, scrub, state_dir
from oncall_tui.core.triage import TriageAlert
from oncall_tui.text.sanitize import (
    MAX_LABEL_VALUE,
    cap,
    cap_leaves,
    sanitize_for_display,
)

EventKind = Literal["alert", "action", "result", "note", "runbook", "backend"]
EVENT_KINDS: tuple[str, ...] = ("alert", "action", "result", "note", "runbook", "backend")
TIMELINE_FILE = "timeline.jsonl"
#: Kinds a person does (stamped with who); alert and backend changes come from the servers.
PEOPLE_KINDS = frozenset({"action", "result", "note", "runbook"})
MAX_CELL_CHARS = 500


@dataclass(frozen=True)
class TimelineEvent:
    """One thing that happened, at a UTC time. ``detail`` is JSON-able."""

    at: datetime
    kind: EventKind
    text: str
    detail: dict[str, Any] = field(default_factory=dict)
    #: Who wrote it (the responder's identity) and where (``host:pid``); stamped when written.
    by: str | None = None
    origin: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown timeline event kind {self.kind!r}")
        if self.at.tzinfo is None:
            raise ValueError("timeline times must be timezone-aware")

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.astimezone(UTC).isoformat(),
            "kind": self.kind,
            "text": self.text,
            "detail": self.detail,
            **({"by": self.by} if self.by else {}),
            **({"origin": self.origin} if self.origin else {}),
        }

    @property
    def who(self) -> str:
        """Who did it: the writer's identity, else a ``by`` in the details (older records)."""
        return str(self.by or self.detail.get("by") or self.detail.get("login") or "")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TimelineEvent:
        return cls(
            at=datetime.fromisoformat(str(data["at"])),
            kind=data["kind"],
            text=str(data.get("text", "")),
            detail=dict(data.get("detail") or {}),
            by=str(data["by"]) if data.get("by") else None,
            origin=str(data["origin"]) if data.get("origin") else None,
        )


class Timeline:
    """Append-only JSONL timeline (default ``$XDG_STATE_HOME/oncall-tui/timeline.jsonl``).

    Shared: every ``oncall-tui`` of a context on this host (the responder's, the incident
    commander's terminal or browser) appends to the same file. Each record is stamped with its
    writer (``by``, ``origin`` = host:pid); :meth:`poll` returns what the others appended since
    the last look, so each process sees the others' actions within one refresh.
    """

    def __init__(self, path: Path | None = None, *, user: str | None = None, origin: str | None = None) -> None:
        self.path = Path(path) if path is not None else state_dir() / TIMELINE_FILE
        self.user = user
        self.origin = origin or _new_origin()
        #: Called after each write (a view of the timeline redraws); see :meth:`watch`.
        self._watchers: list[Callable[[], None]] = []
        #: Bytes of the file already seen (ours, or the others' returned by :meth:`poll`).
        self._offset = self._size()
        self._foreign: list[TimelineEvent] = []

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` after every event written; returns the function that stops it."""
        self._watchers.append(callback)
        return lambda: self._watchers.remove(callback) if callback in self._watchers else None

    def changed(self) -> None:
        """Tell the watchers (a view redraws): written here, elsewhere, or merged from Grafana."""
        for callback in list(self._watchers):
            callback()

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def _write(self, event: TimelineEvent) -> None:
        record = event.to_json()
        if self.user and "by" not in record and event.kind in PEOPLE_KINDS:
            record["by"] = self.user
        record["origin"] = self.origin
        line = json.dumps(scrub(record), ensure_ascii=True, separators=(",", ":"))
        start, end = append_line(self.path, line, fsync=False)
        if start > self._offset:  # another process appended since we last looked
            self._read_new(start)
        self._offset = end

    def _read_new(self, upto: int) -> None:
        """Parse the complete lines in ``[offset, upto)`` into the foreign events not yet polled."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read(upto - self._offset)
        except OSError:
            return
        complete = chunk.rfind(b"\n") + 1  # a line still being written is read next time
        for raw in chunk[:complete].split(b"\n"):
            try:
                event = TimelineEvent.from_json(json.loads(raw)) if raw.strip() else None
            except (KeyError, ValueError, TypeError, AttributeError):
                continue
            if event is not None and event.origin != self.origin:
                self._foreign.append(event)
        self._offset += complete

    def poll(self) -> list[TimelineEvent]:
        """The events other processes appended since the last call (watchers told when any)."""
        size = self._size()
        if size < self._offset:  # replaced or truncated: start over, as history
            self._offset = size
        elif size > self._offset:
            self._read_new(size)
        found, self._foreign = self._foreign, []
        if found:
            self.changed()
        return found

    def add(self, event: TimelineEvent) -> TimelineEvent:
        """Append one event (strings redacted)."""
        self._write(event)
        self.changed()
        return event

    def extend(self, events: Iterable[TimelineEvent]) -> None:
        written = 0
        for event in events:
            self._write(event)
            written += 1
        if written:
            self.changed()

    def events(self) -> list[TimelineEvent]:
        """All readable events, oldest first (torn or malformed lines skipped; an alert change
        two processes both recorded is shown once)."""
        out = []
        for rec in read_jsonl(self.path):
            try:
                out.append(TimelineEvent.from_json(rec))
            except (KeyError, ValueError, TypeError):
                continue
        out.sort(key=lambda e: e.at)
        return _without_repeated_changes(out)


_opened = itertools.count(1)


def _new_origin() -> str:
    """``host:pid``, and ``#n`` for the n-th timeline a process opens (each its own writer)."""
    n = next(_opened)
    return f"{socket.gethostname()}:{os.getpid()}" + (f"#{n}" if n > 1 else "")


def event_alert_key(event: TimelineEvent) -> str:
    """Which alert an alert event is about: its fingerprint (labels for Prometheus' pending ones)."""
    return str(event.detail.get("fingerprint") or event.detail.get("labels") or event.text)


def _without_repeated_changes(events: list[TimelineEvent]) -> list[TimelineEvent]:
    """Drop an alert event that repeats the same alert's previous change (an alert cannot start
    firing twice without resolving between): what two processes watching one Alertmanager both
    wrote in the same refresh."""
    last: dict[str, Any] = {}
    out = []
    for e in events:
        if e.kind == "alert":
            key = event_alert_key(e)
            change = e.detail.get("change")
            if last.get(key) == change:
                continue
            last[key] = change
        out.append(e)
    return out


# ------------------------------------------------------------------ alert changes --
_FIRING_STATES = ("firing", "silenced", "inhibited")


def _alert_key(alert: TriageAlert) -> str:
    if alert.fingerprint:
        return alert.fingerprint
    return "labels:" + ",".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))


def _alert_detail(alert: TriageAlert, change: str) -> dict[str, Any]:
    # Label values and annotations are untrusted and unbounded: 1 KiB each is kept (R1.8).
    return cap_leaves({
        "change": change,
        "alertname": alert.name,
        "severity": alert.severity,
        "service": alert.service,
        "state": alert.state,
        "state_detail": alert.state_detail,
        "fingerprint": alert.fingerprint,
        "summary": alert.summary,
        "labels": dict(alert.labels),
    })  # type: ignore[return-value]


def outage_window(since: float, until: float) -> str:
    """``20:31:05–20:33:10 UTC (2m05s)``."""
    span = int(until - since)
    length = f"{span // 60}m{span % 60:02d}s" if span >= 60 else f"{span}s"
    start, end = datetime.fromtimestamp(since, UTC), datetime.fromtimestamp(until, UTC)
    return f"{start:%H:%M:%S}–{end:%H:%M:%S} UTC ({length})"


def outage_event(backend: str, since: float, until: float, why: str) -> TimelineEvent:
    """``alertmanager down 20:31:05–20:33:10 UTC (2m05s): cannot connect …`` — the minutes the
    responder's view of that backend was blind, for the postmortem."""
    start, end = datetime.fromtimestamp(since, UTC), datetime.fromtimestamp(until, UTC)
    text = f"{backend} down {outage_window(since, until)}: {why}"
    return TimelineEvent(
        at=start,
        kind="backend",
        text=cap(text, 2 * MAX_LABEL_VALUE),
        detail={"backend": backend, "since": start.isoformat(), "until": end.isoformat(), "error": cap(why, MAX_LABEL_VALUE)},
    )


def alert_changes(
    previous_alerts: Sequence[TriageAlert], current_alerts: Sequence[TriageAlert], now: datetime
) -> list[TimelineEvent]:
    """Events for alerts that started firing, resolved, got silenced or unsilenced (pure).

    Alerts are keyed by fingerprint (labels for Prometheus' pending ones); pending alerts
    only count once they fire.
    """
    before = {_alert_key(a): a for a in previous_alerts}
    after = {_alert_key(a): a for a in current_alerts}
    events: list[TimelineEvent] = []

    def add(alert: TriageAlert, change: str, text: str, at: datetime | None = None) -> None:
        events.append(TimelineEvent(at=at or now, kind="alert", text=cap(text, 2 * MAX_LABEL_VALUE), detail=_alert_detail(alert, change)))

    for key, cur in after.items():
        old = before.get(key)
        was_firing = old is not None and old.state in _FIRING_STATES
        if cur.state not in _FIRING_STATES:
            if was_firing and old is not None:
                add(old, "resolved", f"{old.name} resolved")
            continue
        if not was_firing:
            state = f" [{cur.state}]" if cur.state != "firing" else ""
            summary = f": {cur.summary}" if cur.summary else ""
            # The onset is the server's startsAt, not when this app first saw the alert: the
            # postmortem's "start" must not move to whenever the responder opened the app.
            onset = cur.starts_at if cur.starts_at is not None and cur.starts_at.tzinfo and cur.starts_at.year > 1 else None
            add(cur, "firing", f"{cur.name} ({cur.severity}) started firing{state}{summary}", onset)
        elif old is not None and old.state != "silenced" and cur.state == "silenced":
            add(cur, "silenced", f"{cur.name} {cur.state_detail}")
        elif old is not None and old.state == "silenced" and cur.state != "silenced":
            add(cur, "unsilenced", f"{cur.name} no longer silenced")
    for key, old in before.items():
        if key not in after and old.state in _FIRING_STATES:
            add(old, "resolved", f"{old.name} resolved")
    return events


# ---------------------------------------------------------------------- Markdown --
_MD_ACTIVE = re.compile(r"([\\`*_{}\[\]()<>#!|~$&^])")
_URL_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)")
_WWW = re.compile(r"(?i)\bwww\.")
_EMAIL_AT = re.compile(r"@")


def md_escape(text: Any, *, max_chars: int = MAX_CELL_CHARS) -> str:
    """Untrusted text as inert Markdown inline text (safe in a table cell).

    Control characters become visible escapes; Markdown/HTML-active ASCII punctuation is
    backslash-escaped; ``scheme://``, ``www.`` and ``@`` are defanged (``http[:]//``,
    ``www[.]``, ``[@]``) so no renderer autolinks them.
    """
    s = sanitize_for_display(str(text), max_chars=max_chars)
    s = _URL_SCHEME.sub(r"\1[:]", s)
    s = _WWW.sub(lambda m: m.group()[:-1] + "[.]", s)
    s = _EMAIL_AT.sub("[@]", s)
    return _MD_ACTIVE.sub(r"\\\1", s)


def _utc(dt: datetime | None) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if dt else "-"


def _duration(seconds: float) -> str:
    s = int(seconds)
    h, rem = divmod(s, 3600)
    return f"{h}h {rem // 60:02d}m" if h else f"{rem // 60}m {rem % 60:02d}s"


@dataclass(frozen=True)
class ImpactWindow:
    """First firing → last resolve; ``end`` None while an alert still fires."""

    start: datetime | None
    end: datetime | None
    ongoing: bool


def impact_window(events: Iterable[TimelineEvent]) -> ImpactWindow:
    """From the first alert that fired to the last resolve (or ongoing)."""
    start: datetime | None = None
    last_resolve: datetime | None = None
    open_alerts: set[str] = set()
    for e in sorted(events, key=lambda e: e.at):
        if e.kind != "alert":
            continue
        key = str(e.detail.get("fingerprint") or e.detail.get("alertname") or e.text)
        change = e.detail.get("change")
        if change == "firing":
            start = start or e.at
            open_alerts.add(key)
        elif change == "resolved":
            open_alerts.discard(key)
            last_resolve = e.at
    ongoing = bool(open_alerts)
    return ImpactWindow(
        start=start, end=None if ongoing else last_resolve, ongoing=ongoing and start is not None
    )


def action_results(events: Iterable[TimelineEvent]) -> list[tuple[TimelineEvent, TimelineEvent | None]]:
    """Each action event, oldest first, with its result event (None: no result recorded)."""
    evs = sorted(events, key=lambda e: e.at)
    results = {str(e.detail.get("action_id")): e for e in evs if e.kind == "result"}
    return [(a, results.get(str(a.detail.get("action_id")))) for a in evs if a.kind == "action"]


def result_verdict(result: TimelineEvent | None) -> str:
    """``ok at 2026-11-22 05:03:01: ...``, ``FAILED at ...`` or "no result recorded (interrupted?)"."""
    if result is None:
        return "no result recorded (interrupted?)"
    return ("ok" if result.detail.get("ok") else "FAILED") + f" at {_utc(result.at)}: {result.text}"


def export_markdown(
    events: Iterable[TimelineEvent],
    *,
    context: str,
    title: str,
    now: datetime | None = None,
) -> str:
    """A postmortem draft: summary, impact window, timeline table (UTC), actions, follow-ups."""
    evs = sorted(events, key=lambda e: e.at)
    now = now or datetime.now(UTC)
    window = impact_window(evs)
    fired = sorted({str(e.detail.get("alertname") or "?") for e in evs if e.detail.get("change") == "firing"})
    pairs = action_results(evs)
    actions = [a for a, _ in pairs]
    failed = sum(1 for _, r in pairs if r is not None and r.detail.get("ok") is False)

    out = [
        f"# Postmortem draft: {md_escape(title)}",
        "",
        f"- Context: {md_escape(context)}",
        f"- Generated: {_utc(now)} UTC by oncall-tui (a draft: check every line)",
        "",
        "## Summary",
        "",
        "_TODO: what happened, who was affected, how it was mitigated._",
        "",
        f"- Alerts that fired: {len(fired)}"
        + (f" ({', '.join(md_escape(n) for n in fired)})" if fired else ""),
        f"- Actions taken: {len(actions)} ({failed} failed)",
        "",
        "## Impact window",
        "",
    ]
    if window.start is None:
        out.append("- No alert fired in this timeline.")
    else:
        out.append(f"- Start (first alert firing): {_utc(window.start)} UTC")
        if window.ongoing or window.end is None:
            out.append("- End: ongoing")
        else:
            out.append(f"- End (last alert resolved): {_utc(window.end)} UTC")
            out.append(f"- Duration: {_duration((window.end - window.start).total_seconds())}")
    gaps = [e for e in evs if e.kind == "backend"]
    out += ["", "## Monitoring gaps", ""]
    out += [f"- {md_escape(e.text)}" for e in gaps] or ["- None recorded: every backend answered while oncall-tui ran."]
    out += ["", "## Timeline (UTC)", "", "| Time (UTC) | Kind | By | Event |", "|---|---|---|---|"]
    for e in evs:
        out.append(f"| {_utc(e.at)} | {e.kind} | {md_escape(e.who or '-', max_chars=64)} | {md_escape(e.text)} |")
    if not evs:
        out.append("| - | - | - | no events recorded |")
    out += ["", "## Actions taken", ""]
    if actions:
        out += ["| Time (UTC) | Action | Target | Result |", "|---|---|---|---|"]
        for a, res in pairs:
            out.append(
                f"| {_utc(a.at)} | {md_escape(a.detail.get('kind', a.text))} | "
                f"{md_escape(a.detail.get('target', ''))} | {md_escape(result_verdict(res))} |"
            )
    else:
        out.append("- None recorded.")
    steps = [e for e in evs if e.kind == "runbook"]
    out += ["", "## Runbook steps and checks", ""]
    if steps:
        out += ["| Time (UTC) | Step | Result |", "|---|---|---|"]
        for e in steps:
            what = e.detail.get("query") or " ".join(str(a) for a in e.detail.get("argv") or []) or e.text
            if e.detail.get("summary"):
                result = str(e.detail["summary"])
            elif "exit_code" in e.detail:
                first = next((ln for ln in str(e.detail.get("output") or "").splitlines() if ln.strip()), "")
                code = "timed out" if e.detail.get("timed_out") else f"exit {e.detail.get('exit_code')}"
                result = f"{code}: {first}" if first else code
            else:
                result = e.text
            out.append(f"| {_utc(e.at)} | {md_escape(what)} | {md_escape(result)} |")
    else:
        out.append("- None recorded.")
    out += ["", "## Follow-ups", ""]
    for a, res in pairs:
        if res is None or res.detail.get("ok") is False:
            state = "was interrupted" if res is None else "failed"
            out.append(
                f"- [ ] check: {md_escape(a.detail.get('kind', a.text))} {md_escape(a.detail.get('target', ''))} "
                f"{state} at {_utc(a.at)} UTC"
            )
    out += [
        "- [ ] TODO: root cause",
        "- [ ] TODO: detection (did the right alert fire early enough?)",
        "- [ ] TODO: prevention",
        "",
    ]
    return "\n".join(out)


def export_json(
    events: Iterable[TimelineEvent], *, context: str, title: str, now: datetime | None = None
) -> str:
    """The same timeline as JSON (strings redacted; JSON escapes make it inert)."""
    evs = sorted(events, key=lambda e: e.at)
    window = impact_window(evs)
    doc = {
        "title": title,
        "context": context,
        "generated_at": (now or datetime.now(UTC)).astimezone(UTC).isoformat(),
        "impact": {
            "start": window.start.astimezone(UTC).isoformat() if window.start else None,
            "end": window.end.astimezone(UTC).isoformat() if window.end else None,
            "ongoing": window.ongoing,
        },
        "events": [e.to_json() for e in evs],
    }
    return json.dumps(scrub(doc), indent=2, ensure_ascii=True)
