"""The one gate every write goes through: read-only guard, exact preview, audit, result.

:class:`ActionRunner` refuses in read-only contexts before anything is written or sent,
writes the intent (fsynced) before the side effect, awaits it, then writes the result: ``ok``
or the sanitised error plus the payload kept for retry (SECURITY.md R6.2, R6.4, R6.5).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from oncall_tui.actions.audit import AuditLog, AuditUnavailable, Record
from oncall_tui.clients.errors import BackendError
from oncall_tui.text.redact import redact, redact_url
from oncall_tui.text.sanitize import sanitize_for_display

if TYPE_CHECKING:
    from oncall_tui.actions.timeline import Timeline
    from oncall_tui.settings import Context

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_DETAIL_CHARS = 1000


class ActionError(Exception):
    """A write action could not be done; ``str()`` is safe to show."""


class ReadOnlyRefused(ActionError):
    """The context is read-only: nothing was written, nothing was sent."""


class ActionFailed(ActionError):
    """The side effect raised; the failure and its payload are in the audit log."""

    def __init__(self, message: str, *, action_id: str, payload: Any, error: BaseException) -> None:
        super().__init__(message)
        self.action_id = action_id
        self.payload = payload
        self.error = error


def safe_error(exc: BaseException) -> str:
    """An exception as one inert, redacted line (backend errors are already clean)."""
    text = str(exc) if isinstance(exc, BackendError) else f"{type(exc).__name__}: {exc}"
    return redact(sanitize_for_display(text, max_chars=MAX_DETAIL_CHARS))


# ------------------------------------------------------------------------ preview --
@dataclass(frozen=True)
class Preview:
    """Exactly what a write will do: an HTTP request or a process argv (R6.5, R3.5)."""

    summary: str
    method: str | None = None
    url: str | None = None
    body: Any = None
    argv: tuple[str, ...] | None = None

    @classmethod
    def http(cls, method: str, url: str, body: Any = None, *, summary: str = "") -> Preview:
        """An HTTP request; the URL is redacted (user-info, token query params)."""
        return cls(summary=summary, method=method.upper(), url=redact_url(url), body=body)

    @classmethod
    def process(cls, argv: Sequence[str], *, summary: str = "") -> Preview:
        """A process started with this exact argv (never a shell string)."""
        if isinstance(argv, str):
            raise TypeError("argv must be a sequence of strings, not one string")
        return cls(summary=summary, argv=tuple(argv))

    @classmethod
    def retry_of(cls, record: Mapping[str, Any]) -> Preview:
        """The preview of retrying an audited action, rebuilt from its recorded preview."""
        old = record.get("preview") or {}
        return cls(
            summary=f"retry: {old.get('summary') or record.get('kind', '')}",
            method=old.get("method"),
            url=old.get("url"),
            body=old.get("body"),
            argv=tuple(old["argv"]) if old.get("argv") else None,
        )

    @property
    def argv_sha256(self) -> str | None:
        """SHA-256 of the argv (NUL-joined), for the audit log."""
        if self.argv is None:
            return None
        return hashlib.sha256("\0".join(self.argv).encode("utf-8", "surrogatepass")).hexdigest()

    def text(self) -> str:
        """Inert multi-line text for the confirmation dialog (control/bidi chars visible)."""
        lines = [sanitize_for_display(self.summary)] if self.summary else []
        if self.argv is not None:
            lines.append("argv (one element per line):")
            for i, arg in enumerate(self.argv):
                quoted = json.dumps(arg, ensure_ascii=False)
                lines.append(f"  [{i}] {sanitize_for_display(quoted)}")
        if self.method is not None:
            lines.append(f"{self.method} {sanitize_for_display(redact(self.url or ''))}")
            if self.body is not None:
                pretty = json.dumps(self.body, indent=2, ensure_ascii=False, default=str)
                lines.append(sanitize_for_display(redact(pretty), multiline=True))
        return "\n".join(lines)

    def to_record(self) -> dict[str, Any]:
        """JSON for the audit log."""
        rec: dict[str, Any] = {"summary": self.summary}
        if self.method is not None:
            rec.update(method=self.method, url=self.url, body=self.body)
        if self.argv is not None:
            rec.update(argv=list(self.argv), argv_sha256=self.argv_sha256)
        return rec


# ------------------------------------------------------------------------- runner --
class ActionRunner:
    """Runs write actions for one context: guard, audit, optional timeline."""

    def __init__(
        self,
        context_name: str,
        *,
        read_only: bool,
        protected: bool,
        audit: AuditLog,
        user: str,
        timeline: Timeline | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.context_name = context_name
        #: Time of timeline events (the app's clock: frozen in tests and the demo's pictures).
        self.clock = clock
        self.read_only = read_only
        self.protected = protected
        self.audit = audit
        self.user = user
        self.timeline = timeline
        #: Action ids whose effect is running now (for SIGHUP/SIGTERM handlers).
        self.in_flight: dict[str, str] = {}

    @classmethod
    def for_context(
        cls,
        context: Context,
        *,
        audit: AuditLog,
        user: str,
        read_only: bool = False,
        timeline: Timeline | None = None,
        clock: Callable[[], float] = time.time,
    ) -> ActionRunner:
        """A runner for a settings context; ``read_only`` adds ``--readonly`` from the CLI."""
        return cls(
            context.name,
            read_only=read_only or context.read_only,
            protected=context.protected,
            audit=audit,
            user=user,
            timeline=timeline,
            clock=clock,
        )

    @property
    def allowed(self) -> bool:
        """Whether write actions are possible (the UI greys them out otherwise)."""
        return not self.read_only

    def check_allowed(self) -> None:
        """Raise :class:`ReadOnlyRefused` in a read-only context."""
        if self.read_only:
            raise ReadOnlyRefused(
                f"context {sanitize_for_display(self.context_name)} is read-only: write actions are disabled"
            )

    def needs_typed_confirmation(self, target: str) -> bool:
        """Protected contexts require typing the target's name before a write."""
        return self.protected and bool(target)

    @staticmethod
    def confirmation_matches(target: str, typed: str) -> bool:
        """Whether the typed text is exactly the target's name (surrounding spaces ignored)."""
        return bool(target) and typed.strip() == target

    async def run(
        self,
        kind: str,
        target: str,
        preview: Preview,
        effect: Callable[[], Awaitable[T]],
        *,
        payload: Any = None,
        extra: Mapping[str, Any] | None = None,
        outcome: Callable[[T], Mapping[str, Any]] | None = None,
        retry_of: str | None = None,
    ) -> T:
        """Guard, write the intent, await ``effect``, write the result; return or raise.

        ``payload`` is kept with a failed result for retry (default: the preview).
        ``outcome`` turns the effect's value into extra result fields (``detail``, new IDs).
        Raises :class:`ReadOnlyRefused` (nothing written or sent), :class:`ActionError`
        when the audit log cannot be written (effect not run), :class:`ActionFailed`.
        """
        self.check_allowed()
        action_id = str(uuid.uuid4())
        kept = preview.to_record() if payload is None else payload
        more = dict(extra or {})
        if retry_of:
            more["retry_of"] = retry_of
        try:
            self.audit.intent(action_id, kind, target, preview, self.context_name, self.user, extra=more)
        except AuditUnavailable as exc:
            raise ActionError(f"refusing to act without an audit trail: {safe_error(exc)}") from None
        self._note("action", f"{kind} {target}", {"action_id": action_id, "kind": kind, "target": target})
        self.in_flight[action_id] = kind
        try:
            value = await effect()
        except Exception as exc:
            detail = safe_error(exc)
            self._result(action_id, False, detail, kept, None, kind, target)
            raise ActionFailed(
                f"{kind} failed: {detail}", action_id=action_id, payload=kept, error=exc
            ) from exc
        except BaseException as exc:  # cancelled / KeyboardInterrupt: outcome unknown
            self._interrupted(action_id, f"{type(exc).__name__} while the action was in flight")
            raise
        finally:
            self.in_flight.pop(action_id, None)
        fields = dict(outcome(value)) if outcome else {}
        detail = str(fields.pop("detail", "ok"))
        self._result(action_id, True, detail, None, fields, kind, target)
        return value

    async def retry(
        self,
        record: Mapping[str, Any],
        effect: Callable[[Any], Awaitable[T]],
        *,
        preview: Preview | None = None,
        outcome: Callable[[T], Mapping[str, Any]] | None = None,
    ) -> T:
        """Re-run a failed write (a record from :meth:`AuditLog.failed`) from its kept payload.

        ``effect(payload)`` performs it again; a new intent with ``retry_of`` is written.
        """
        if record.get("type") != "result" or record.get("ok"):
            raise ActionError("only a failed result can be retried")
        if record.get("context") not in (None, self.context_name):
            raise ActionError(
                f"that action belongs to context {sanitize_for_display(str(record.get('context')))}"
            )
        payload = record.get("payload")
        if payload is None:
            raise ActionError("no payload was kept for that action")
        shown = preview or Preview.retry_of(record)
        return await self.run(
            str(record.get("kind") or "retry"),
            str(record.get("target") or ""),
            shown,
            lambda: effect(payload),
            payload=payload,
            outcome=outcome,
            retry_of=str(record.get("id")),
        )

    def record_interrupted(self, reason: str) -> list[str]:
        """Mark every in-flight action interrupted (call from SIGHUP/SIGTERM handlers)."""
        ids = list(self.in_flight)
        for action_id in ids:
            self._interrupted(action_id, reason)
        return ids

    # -------------------------------------------------------------- helpers --
    def _interrupted(self, action_id: str, reason: str) -> None:
        try:
            self.audit.mark_interrupted(action_id, reason)
        except AuditUnavailable as exc:
            log.warning("could not record an interrupted action: %s", exc)

    def _result(
        self,
        action_id: str,
        ok: bool,
        detail: str,
        payload: Any,
        fields: Mapping[str, Any] | None,
        kind: str,
        target: str,
    ) -> None:
        try:
            self.audit.result(action_id, ok, detail, payload, extra=fields)
        except AuditUnavailable as exc:  # the effect already happened; do not hide its outcome
            log.warning("could not write the result of %s: %s", kind, exc)
        verdict = "ok" if ok else "failed"
        self._note(
            "result",
            f"{kind} {target}: {verdict}: {detail}",
            {"action_id": action_id, "kind": kind, "target": target, "ok": ok, **(fields or {})},
        )

    def _note(self, kind: str, text: str, detail: dict[str, Any]) -> None:
        if self.timeline is None:
            return
        from oncall_tui.actions.timeline import TimelineEvent

        try:
            at = datetime.fromtimestamp(self.clock(), UTC)
            self.timeline.add(TimelineEvent(at=at, kind=kind, text=text, detail=detail))  # type: ignore[arg-type]
        except OSError as exc:
            log.warning("could not write the timeline: %s", exc)


def interrupted_summary(record: Record) -> str:
    """One inert line describing an interrupted action, for the start-up notice."""
    return sanitize_for_display(
        f"{record.get('ts', '?')} {record.get('kind', '?')} {record.get('target', '')} "
        f"in {record.get('context', '?')}: {record.get('reason', 'interrupted')}"
    )
