"""The incident of one context: what the app knows and does while a responder works it.

An :class:`Incident` owns, for one context of the config, the backend session (every read),
the action runner (every write: read-only guard, audit, timeline), the timeline, the alert
recorder, the silence watch and the Grafana annotation sink. It takes a clock and the
settings, returns values (:class:`Notice` for what the responder should be told) and raises
our errors (:class:`~oncall_tui.actions.core.ActionError`, :class:`Refused`, ``OSError``); it
never draws, notifies or pushes a screen: the app turns its answers into those.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from oncall_tui.actions import silences
from oncall_tui.actions.audit import AuditLog
from oncall_tui.actions.core import (
    ActionError,
    ActionFailed,
    ActionRunner,
    interrupted_summary,
    safe_error,
)
from oncall_tui.actions.timeline import (
    Timeline,
    TimelineEvent,
    outage_event,
    outage_window,
)
from oncall_tui.clients.alertmanager import AlertmanagerClient
from oncall_tui.clients.errors import BackendError
from oncall_tui.clients.session import BackendSession, TriageData
from oncall_tui.core import format as fmt
from oncall_tui.core.triage import TriageAlert
from oncall_tui.incident.alerts import AlertRecorder
from oncall_tui.incident.silences import SilenceWatch
from oncall_tui.models.alertmanager import Silence, SilenceSpec
from oncall_tui.settings import Context, Service, Settings, duration_seconds

if TYPE_CHECKING:  # the write side (annotations, rollback) loads on first use, not at start-up
    from oncall_tui.actions import rollback

log = logging.getLogger(__name__)

Record = Mapping[str, Any]
#: How long the rollback confirmation waits for the version query before showing "unknown".
VERSION_TIMEOUT = 10.0
#: Kinds whose side effect is a process: shown, never re-run from the kept payload.
PROCESS_KINDS = ("rollback", "rollback-dry-run", "runbook-step")
#: Timeline kinds another process's event is told for (its "action" intent is told by its result).
SHARED_KINDS = ("result", "note", "runbook")
#: More events than this from elsewhere in one refresh are told in one line.
MAX_SHARED_NOTICES = 3
#: How often Grafana is asked for the annotations other hosts' oncall-tui posted (seconds).
SHARED_ANNOTATIONS_EVERY = 30.0
#: How far back they are looked for when the timeline is empty or older.
SHARED_ANNOTATIONS_SPAN = 7 * 86400.0


@dataclass(frozen=True)
class Notice:
    """Something the responder should be told (the app shows it as a notification)."""

    text: str
    severity: Literal["information", "warning", "error"] = "information"
    title: str = ""
    timeout: float | None = None


@dataclass
class Observation:
    """What one refresh changed that needs the responder or a write."""

    notices: list[Notice] = field(default_factory=list)
    #: "until resolved" silences whose alerts resolved: expire each with :meth:`Incident.expire`.
    to_expire: list[str] = field(default_factory=list)


class Refused(ActionError):
    """A write that cannot start (no rollback configured, nothing selected...): nothing was sent."""

    def __init__(self, message: str, *, title: str = "") -> None:
        super().__init__(message)
        self.title = title


def file_safe(name: str) -> str:
    """A context name usable in a file name (other characters become ``_``)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:100] or "_"


def timeline_path(base: Path, context_name: str) -> Path:
    """One timeline file per context: ``<state>/timeline-<context>.jsonl`` (name made file-safe)."""
    return base / f"timeline-{file_safe(context_name)}.jsonl"


def _told(events: Sequence[TimelineEvent], where: str) -> list[Notice]:
    """Notices for events someone else wrote (one line when there are many)."""
    if len(events) > MAX_SHARED_NOTICES:
        who = ", ".join(sorted({e.who or "?" for e in events}))
        return [Notice(f"{len(events)} events from {who} ({where}): see the timeline (6)", timeout=10)]
    return [Notice(e.text, title=f"{e.who or 'someone'} ({where})", timeout=10) for e in events]


class Incident:
    """One context's incident. ``refresh_seconds`` paces the session (a backend is never
    "ok" after 2x the interval without an answer, DESIGN.md)."""

    def __init__(
        self,
        settings: Settings,
        context: Context,
        *,
        audit: AuditLog,
        state_path: Path,
        refresh_seconds: float,
        clock: Callable[[], float] = time.time,
        force_read_only: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        env: Mapping[str, str] | None = None,
        allow_insecure: bool = False,
    ) -> None:
        self.settings, self.context, self.audit, self.state_path = settings, context, audit, state_path
        self.refresh_seconds, self.clock, self.force_read_only = refresh_seconds, clock, force_read_only
        self.transport, self.env, self.allow_insecure = transport, env, allow_insecure
        self.user = settings.effective_identity
        self.timeline = Timeline(timeline_path(state_path, context.name), user=self.user)
        self.runner = ActionRunner.for_context(
            context, audit=audit, user=self.user, read_only=force_read_only, timeline=self.timeline, clock=clock
        )
        self.alerts = AlertRecorder(self.timeline)
        self.silence_watch = SilenceWatch(self.user, self.silence_warning_window())
        self.last_data: TriageData | None = None
        #: Annotations from other hosts' oncall-tui (by Grafana id), merged into the timeline view.
        self.remote_events: dict[int, TimelineEvent] = {}
        self._annotations_asked_at: float | None = None
        self.session = self.open_session()

    # ------------------------------------------------------------------ reads --
    @property
    def read_only(self) -> bool:
        return self.force_read_only or self.context.read_only

    def open_session(self) -> BackendSession:
        """A new backend session (the previous one, if any, is the caller's to close)."""
        self.session = BackendSession(
            self.context,
            transport=self.transport,
            env=self.env,
            allow_insecure=self.allow_insecure,
            clock=self.clock,
            stale_after=max(2 * self.refresh_seconds, 5.0),
            interval=self.refresh_seconds,
        )
        self.last_data = None
        return self.session

    def answered(self) -> bool:
        """Every backend has answered (or failed) at least once."""
        return all(s.last_ok is not None or s.error is not None for s in self.session.sources.values())

    def service(self, name: str) -> Service | None:
        """The service ``name`` as the last data or the config knows it."""
        known = list(self.last_data.services) if self.last_data else []
        return next((s for s in [*known, *self.context.services] if s.name == name), None)

    def silence_warning_window(self) -> timedelta:
        """How long before one of your silences expires you are warned (``silences.expiry_warning``)."""
        return timedelta(seconds=duration_seconds(self.settings.silences.expiry_warning))

    # -------------------------------------------------------------- refreshes --
    def observe(self, data: TriageData) -> Observation:
        """New data arrived: record alert changes and ended outages on the timeline, warn about
        your silences ending soon, and say which "until resolved" silences to expire."""
        self.last_data = data
        out = Observation()
        now = datetime.fromtimestamp(data.fetched_at or self.clock(), UTC)
        out.notices += self._from_elsewhere()
        try:
            self.alerts.observe(data, now=self.clock())
        except OSError as exc:
            log.warning("could not write the timeline: %s", exc)
        out.notices += self._ended_outages()
        if data.silences:
            out.notices += [
                Notice(text, "warning", title="Silence expiring", timeout=30)
                for text in self.silence_watch.expiring(data.silences, now=now)
            ]
        if not self.read_only and self.session.alertmanager is not None:
            out.to_expire = self.silence_watch.resolved(data.alerts, now=now)
        return out

    def _from_elsewhere(self) -> list[Notice]:
        """What the other ``oncall-tui`` processes of this context wrote to the shared timeline
        since the last refresh: their silences, acks, notes, rollbacks and runbook steps are
        told (with who did them); their alert changes keep this process from repeating them."""
        try:
            events = self.timeline.poll()
        except OSError as exc:
            log.warning("cannot read the timeline: %s", exc)
            return []
        if any(e.kind == "alert" for e in events):
            self.alerts.resync()
        return _told([e for e in events if e.kind in SHARED_KINDS], "another oncall-tui")

    def timeline_events(self) -> list[TimelineEvent]:
        """This context's timeline as the views show it: the shared file, plus the annotations
        other hosts' oncall-tui posted to Grafana (raises ``OSError``)."""
        return sorted([*self.timeline.events(), *self.remote_events.values()], key=lambda e: e.at)

    def shared_annotations_due(self) -> bool:
        asked = self._annotations_asked_at
        return self.session.grafana is not None and (asked is None or self.clock() - asked >= SHARED_ANNOTATIONS_EVERY)

    async def fetch_shared_annotations(self) -> list[Notice]:
        """Grafana's annotations tagged ``oncall-tui`` and this context that no oncall-tui on this
        host posted (those are on the timeline already): merged into the timeline view, each
        once (by id). A Grafana that does not answer is logged, never an error here."""
        from oncall_tui.actions import annotations
        self._annotations_asked_at = now = self.clock()
        grafana = self.session.grafana
        if grafana is None:
            return []
        try:
            local = self.timeline.events()
        except OSError:
            local = []
        posted_here = {e.detail.get("annotation_id") for e in local}
        try:  # every oncall-tui of this host audits its posts (quietly: not on the timeline)
            posted_here |= {r.get("annotation_id") for r in self.audit.records() if r.get("type") == "result"}
        except OSError:
            pass
        since = max(min((e.at.timestamp() for e in local), default=now), now - SHARED_ANNOTATIONS_SPAN)
        try:
            found = await grafana.annotations(
                from_ms=int((since - 60) * 1000), to_ms=int((now + 60) * 1000),
                tags=[annotations.TAG, self.context.name], type="annotation", limit=500,
            )
        except BackendError as exc:
            log.info("shared annotations not read from Grafana: %s", exc)
            return []
        new = []
        for item in found:
            if item.id in posted_here or item.id in self.remote_events:
                continue
            event = TimelineEvent(
                at=datetime.fromtimestamp(item.at, UTC), kind="note", text=item.text, by=item.login or None,
                origin="grafana", detail={"annotation_id": item.id, "source": "grafana", "tags": list(item.tags)},
            )
            self.remote_events[item.id] = event
            new.append(event)
        if new:
            self.timeline.changed()
        return _told(new, "Grafana annotation")

    def _ended_outages(self) -> list[Notice]:
        """Backend outages that just ended go on the timeline: the minutes the view was blind."""
        notices = []
        for kind, since, until, why in self.session.take_outages():
            try:
                self.timeline.add(outage_event(kind, since, until, why))
            except OSError as exc:
                log.warning("cannot record an outage on the timeline: %s", exc)
            if until - since >= 2 * self.refresh_seconds:  # not for one failed request
                text = f"{kind} answers again; it was not live {outage_window(since, until)} (on the timeline)"
                notices.append(Notice(text, "warning", timeout=10))
        return notices

    # ------------------------------------------------------------ annotations --
    def add_note(self, text: str) -> tuple[Notice, datetime | None]:
        """A note on the local timeline (allowed when read-only). Returns what to tell the
        responder and, when a Grafana is configured and writable, the note's time for
        :meth:`post_note` (None: nothing to post)."""
        from oncall_tui.actions import annotations
        at = self._now()
        event = TimelineEvent(at=at, kind="note", text=text, detail={"by": self.user})
        post = at if annotations.annotations_configured(self.context) and not self.read_only else None
        try:
            self.timeline.add(event)
        except OSError as exc:
            return Notice(f"could not write the timeline: {exc}", "error"), post
        if not annotations.annotations_configured(self.context):
            return Notice("note added to the timeline"), None
        if self.read_only:
            return Notice("note added to the timeline (local only: read-only context, nothing sent to Grafana)"), None
        return Notice("note added to the timeline; posting it to Grafana"), post

    async def post_note(self, text: str, at: datetime) -> Notice:
        """The note as a Grafana annotation (audited; a failed post is kept for retry)."""
        from oncall_tui.actions import annotations
        try:
            annotation_id = await annotations.post_note(
                self.runner, self.session.grafana, self.context, text, at=at, client_error=self.session.grafana_error
            )
        except ActionFailed as exc:
            return Notice(f"note kept locally; Grafana post failed: {safe_error(exc.error)} (kept for retry)", "error", timeout=15)
        except (ActionError, ValueError) as exc:  # read-only, no audit trail, unusable text
            reason = str(exc) if isinstance(exc, ActionError) else safe_error(exc)
            return Notice(f"note kept locally; not posted to Grafana: {reason}", "warning", timeout=15)
        return Notice(f"note posted to Grafana (annotation {annotation_id})")

    async def annotate(self, kind: str, target: str, detail: str = "") -> Notice | None:
        """After a successful write: a Grafana annotation when configured (SECURITY R6.6); a
        failed post is kept in the audit log for ``:retry``. None when nothing to tell."""
        from oncall_tui.actions import annotations
        if self.read_only or not annotations.annotations_configured(self.context):
            return None
        outcome = await annotations.annotate_action(
            self.runner,
            self.session.grafana,
            self.context,
            action_kind=kind,
            target=target,
            detail=detail,
            at=self.clock(),
            client_error=self.session.grafana_error,
        )
        if outcome.error:
            return Notice(f"Grafana annotation of the {kind} failed (kept for :retry): {outcome.error}", "warning")
        return None

    # ------------------------------------------------------------------ writes --
    def check_writable(self) -> None:
        """Raises :class:`~oncall_tui.actions.core.ReadOnlyRefused` in a read-only context."""
        self.runner.check_allowed()

    def alertmanager(self, name: str | None = None, *, silence_id: str | None = None) -> AlertmanagerClient:
        """The Alertmanager a write goes to: ``name``, else the one holding ``silence_id``, else
        the first healthy one; raises :class:`Refused` when the context has none."""
        chosen = self.session.alertmanager_for(name, silence_id=silence_id)
        if chosen is None:
            raise Refused("no Alertmanager configured in this context" if name is None else f"no Alertmanager named {name!r}")
        return chosen[1]

    def alertmanager_names(self) -> list[str]:
        """The members a silence may go to, the default (first healthy) first; empty with one."""
        if not self.session.members:
            return []
        default = self.session.alertmanager_for()
        names = list(self.session.alertmanagers)
        return sorted(names, key=lambda n: n != (default[0] if default else None))

    async def silence(
        self, spec: SilenceSpec, *, fingerprints: Sequence[str] = (), until_resolved: bool = False, target: str | None = None
    ) -> Silence:
        created = await silences.silence(self.runner, self.alertmanager(target), spec, fingerprints=fingerprints)
        if until_resolved:
            self.silence_watch.expire_when_resolved(created.id, created.matchers)
        return created

    def ack_defaults(self) -> tuple[timedelta, str]:
        """The ack silence's duration and comment from ``silences.ack_duration`` / ``ack_comment``."""
        conf = self.settings.silences
        return timedelta(seconds=duration_seconds(conf.ack_duration)), conf.ack_comment or silences.ack_comment(self.user)

    def ack_spec(self, alert: TriageAlert) -> SilenceSpec:
        """The short silence of exactly ``alert`` that ``A`` creates (raises on unusable labels)."""
        duration, comment = self.ack_defaults()
        return silences.build_silence(alert.labels, duration, self.user, comment, now_server=self.alertmanager().server_now())

    async def ack(self, alert: TriageAlert) -> Silence:
        duration, comment = self.ack_defaults()
        return await silences.ack(
            self.runner, self.alertmanager(), alert.labels, user=self.user, duration=duration, comment=comment, fingerprint=alert.fingerprint
        )

    async def expire(self, silence_id: str) -> None:
        await silences.expire(self.runner, self.alertmanager(silence_id=silence_id), silence_id)

    def rollback_plan(self, service: str, labels: Mapping[str, str]) -> rollback.RollbackPlan:
        """The rollback of ``service``; raises :class:`Refused` saying why there is none."""
        from oncall_tui.actions import rollback
        found = self.service(service)
        if found is None or found.rollback is None:
            raise Refused(f"no rollback is configured for {service} (add services[].rollback to the config)")
        plan = rollback.build_plan(found.rollback, service=service, labels={**found.selector, **labels}, context=self.context.name)
        if not plan.enabled:
            raise Refused(plan.disabled_reason or "rollback disabled", title="Rollback disabled")
        return plan

    async def rollback_versions(self, plan: rollback.RollbackPlan) -> rollback.Versions:
        """The version now and the one the rollback returns to (never raises)."""
        from oncall_tui.actions import rollback
        lookup = rollback.fetch_versions(
            self.session.prometheus, plan.config, labels=plan.labels, service=plan.service, context=plan.context, now=self.clock()
        )
        try:
            return await asyncio.wait_for(lookup, VERSION_TIMEOUT)
        except TimeoutError:
            return rollback.Versions(error=f"no answer within {VERSION_TIMEOUT:g}s")

    def signal_facts(self, service: str) -> tuple[str, str]:
        """The service's error rate and p99 now, formatted (``–`` when unknown)."""
        row = next((r for r in (self.last_data.rows if self.last_data else []) if r.service == service), None)
        if row is None:
            return fmt.MISSING, fmt.MISSING
        return fmt.percent(row.values.get("errors")), fmt.seconds(row.values.get("latency_p99"))

    async def rollback(
        self, plan: rollback.RollbackPlan, versions: rollback.Versions, *, dry_run: bool, fingerprint: str | None
    ) -> rollback.RollbackOutcome:
        from oncall_tui.actions import rollback
        errors, p99 = self.signal_facts(plan.service)
        extra: dict[str, Any] = {"versions": versions.to_record(), "error_rate": errors, "p99": p99}
        if fingerprint:
            extra["alert_fingerprint"] = fingerprint
        return await rollback.execute(
            self.runner,
            plan,
            dry_run=dry_run,
            output_dir=self.state_path / "rollback",
            transport=self.transport,
            env=self.env,
            allow_insecure=self.allow_insecure,
            extra=extra,
        )

    # ----------------------------------------------------- failed and unfinished --
    def failed_writes(self) -> list[Record]:
        """Failed writes of this context kept for retry, newest first (raises ``OSError``)."""
        return [r for r in reversed(self.audit.failed()) if r.get("context") in (None, self.context.name)]

    def dismiss(self, record: Record) -> None:
        self.audit.dismiss(str(record.get("id")), note=f"dismissed by {self.user}")

    def retry_refusal(self, record: Record) -> Notice | None:
        """Why ``record`` is not retried from here (None: it can be)."""
        kind = str(record.get("kind") or "")
        if kind in PROCESS_KINDS:
            return Notice(
                f"a {kind} is never re-run automatically: check the service's state, then start it again "
                "(R, or from the runbook); d dismisses it here",
                "warning",
                timeout=10,
            )
        if not (kind.startswith("silence.") or kind.startswith("annotate")):
            return Notice(f"cannot retry a {kind} action here", "error")
        return None

    async def retry(self, record: Record) -> None:
        """Retry one failed write from its kept payload (the failure stays kept when it fails)."""
        from oncall_tui.actions import annotations
        if str(record.get("kind") or "").startswith("silence."):
            await silences.retry_failed(self.runner, self.alertmanager(), record)
            return
        grafana = self.session.grafana
        if grafana is None:
            raise Refused("no Grafana endpoint configured in this context")
        outcome = await annotations.retry_annotation(self.runner, grafana, record)
        if outcome.error:
            raise Refused(outcome.error)

    def unfinished(self) -> list[Notice]:
        """At start: actions cut short earlier (no result) and failed writes kept for retry."""
        try:
            interrupted = self.audit.interrupted()
            failed = self.failed_writes()
        except OSError as exc:
            log.warning("cannot read the audit log: %s", exc)
            return []
        out = []
        if interrupted:
            lines = [interrupted_summary(r) for r in interrupted[-3:]]
            more = f" (+{len(interrupted) - 3} more)" if len(interrupted) > 3 else ""
            text = "\n".join(lines) + more + "\ncheck their effect; the audit log has each intent"
            out.append(Notice(text, "warning", title=f"{len(interrupted)} interrupted action(s) from an earlier session", timeout=30))
        if failed:
            out.append(Notice(f"{len(failed)} failed write(s) kept for retry: :retry (or r on the timeline)", "warning", timeout=15))
        return out

    def record_interrupted(self, reason: str) -> None:
        """SIGHUP/SIGTERM: every in-flight write is marked interrupted in the audit log."""
        self.runner.record_interrupted(reason)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)
