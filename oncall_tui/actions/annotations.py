"""Grafana annotations: notes (``N``) and the optional action sink (SECURITY.md R6.6).

A note is first written to the local timeline (by the app; allowed in read-only contexts). When
the context has a grafana endpoint and ``annotations.enabled``, the note is also posted as a
Grafana annotation through :class:`~oncall_tui.actions.core.ActionRunner`: read-only refused
before anything is sent, intent audited before the POST, a failure recorded in the audit log
with the exact body kept for :func:`retry_failed_annotations` (never dropped, never retried
automatically). Tags always include ``oncall-tui`` and the context name. Annotation posts
are audited but add no action/result lines to the timeline: the note (or the action being
annotated) is already there, and a failure is notified and kept in the audit log.

:func:`annotate_action` is the R6.6 sink other actions may call after they succeed: it never
raises for a sink failure (the failure is in the audit log).

:func:`chart_markers` merges Grafana annotations and local timeline notes/actions into the
markers the service detail charts draw (pure).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from oncall_tui.actions.core import (
    ActionError,
    ActionFailed,
    ActionRunner,
    Preview,
    ReadOnlyRefused,
    safe_error,
)
from oncall_tui.clients.errors import BackendError, SourceUnavailable
from oncall_tui.text.redact import redact_url
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.models.grafana import Annotation, AnnotationSpec, ChartMarker

if TYPE_CHECKING:
    from oncall_tui.actions.timeline import TimelineEvent
    from oncall_tui.clients.grafana import GrafanaClient
    from oncall_tui.settings import Context

log = logging.getLogger(__name__)

__all__ = [
    "ANNOTATION_KINDS",
    "KIND_ACTION_ANNOTATION",
    "KIND_ANNOTATE",
    "TAG",
    "AnnotationOutcome",
    "annotate_action",
    "annotation_preview",
    "annotation_tags",
    "annotations_configured",
    "build_annotation",
    "chart_markers",
    "failed_annotations",
    "newest",
    "post_annotation",
    "post_note",
    "retry_annotation",
    "retry_failed_annotations",
]

#: Audit kind of a note posted with ``N``.
KIND_ANNOTATE = "annotate"
#: Audit kind of the R6.6 sink's annotation after another action.
KIND_ACTION_ANNOTATION = "annotate.action"
ANNOTATION_KINDS: tuple[str, ...] = (KIND_ANNOTATE, KIND_ACTION_ANNOTATION)
#: Every annotation this app posts carries this tag.
TAG = "oncall-tui"
ANNOTATIONS_PATH = "/api/annotations"
_TARGET = "grafana"


@dataclass(frozen=True)
class AnnotationOutcome:
    """What became of one annotation post (or a retry of one). Texts are safe to show."""

    annotation_id: int | None = None
    """Grafana's id when the post succeeded."""
    error: str | None = None
    """Why it failed (sanitised, redacted); the failure and its body are in the audit log."""
    action_id: str | None = None
    """The audit id of the failed attempt (``retry_of`` of a later retry)."""
    skipped: str | None = None
    """Why nothing was sent (not configured, read-only)."""

    @property
    def ok(self) -> bool:
        return self.annotation_id is not None


# --------------------------------------------------------------------- builders --
def annotations_configured(context: Context) -> bool:
    """Whether notes and actions go to Grafana: a grafana endpoint and ``annotations.enabled``."""
    return context.annotations.enabled and context.endpoint("grafana") is not None


def annotation_tags(context: Context, extra: Iterable[str] = ()) -> list[str]:
    """``oncall-tui``, the context name, the configured tags, then ``extra`` (deduplicated, in order)."""
    out: list[str] = []
    for tag in (TAG, context.name, *context.annotations.tags, *extra):
        if tag and tag not in out:
            out.append(tag)
    return out


def _epoch_ms(at: datetime | float) -> int:
    seconds = at.timestamp() if isinstance(at, datetime) else float(at)
    return round(seconds * 1000)


def build_annotation(
    context: Context,
    text: str,
    *,
    at: datetime | float,
    end: datetime | float | None = None,
    extra_tags: Iterable[str] = (),
) -> AnnotationSpec:
    """The annotation for ``text`` at ``at`` (aware datetime or Unix seconds), checked.

    The text goes in exactly as typed (JSON-encoded on the wire, never templated).
    """
    settings = context.annotations
    return AnnotationSpec(
        text=text,
        time=_epoch_ms(at),
        time_end=_epoch_ms(end) if end is not None else None,
        tags=annotation_tags(context, extra_tags),
        dashboard_uid=settings.dashboard_uid,
        panel_id=settings.panel_id,
    ).validate_spec()


def _base_url(context: Context, client: GrafanaClient | None) -> str:
    if client is not None:
        return client.base_url
    endpoint = context.endpoint("grafana")
    return redact_url(str(endpoint.url)) if endpoint is not None else ""


def annotation_preview(base_url: str, spec: AnnotationSpec, *, summary: str = "") -> Preview:
    """The exact request: ``POST {grafana}/api/annotations`` with its JSON body."""
    text = sanitize_for_display(spec.text, max_chars=80)
    return Preview.http(
        "POST",
        base_url.rstrip("/") + ANNOTATIONS_PATH,
        spec.to_api(),
        summary=summary or f"Grafana annotation: {text}",
    )


# ------------------------------------------------------------------------ writes --
def _quiet(runner: ActionRunner) -> ActionRunner:
    """The runner without its timeline (same context, guard, audit log and in-flight table)."""
    if runner.timeline is None:
        return runner
    quiet = ActionRunner(
        runner.context_name,
        read_only=runner.read_only,
        protected=runner.protected,
        audit=runner.audit,
        user=runner.user,
        timeline=None,
    )
    quiet.in_flight = runner.in_flight  # SIGHUP/SIGTERM handlers see these posts too
    return quiet


async def post_annotation(
    runner: ActionRunner,
    client: GrafanaClient | None,
    spec: AnnotationSpec,
    *,
    context: Context,
    kind: str = KIND_ANNOTATE,
    target: str = _TARGET,
    client_error: BackendError | None = None,
    extra: Mapping[str, Any] | None = None,
) -> int:
    """POST ``spec`` through the runner (guard, audit, body kept on failure); returns its id.

    With no usable client (``client_error``: e.g. the credential could not be resolved) the
    attempt is still audited as failed with its body, so it can be retried later.
    Raises :class:`ReadOnlyRefused`, :class:`ActionError` or :class:`ActionFailed`.
    """
    runner.check_allowed()
    spec.validate_spec()
    preview = annotation_preview(_base_url(context, client), spec)

    async def effect() -> int:
        if client is None:
            raise client_error or SourceUnavailable("no Grafana client for this context", source="grafana")
        return await client.create_annotation(spec)

    return await _quiet(runner).run(
        kind,
        target,
        preview,
        effect,
        payload={"spec": spec.to_api()},
        extra=extra,
        outcome=lambda aid: {"detail": f"annotation {aid} added", "annotation_id": aid},
    )


async def post_note(
    runner: ActionRunner,
    client: GrafanaClient | None,
    context: Context,
    text: str,
    *,
    at: datetime | float,
    client_error: BackendError | None = None,
) -> int:
    """A timeline note as a Grafana annotation (tags: oncall-tui, context, configured, ``note``)."""
    runner.check_allowed()
    spec = build_annotation(context, text, at=at, extra_tags=("note",))
    return await post_annotation(
        runner, client, spec, context=context, kind=KIND_ANNOTATE, client_error=client_error
    )


async def annotate_action(
    runner: ActionRunner,
    client: GrafanaClient | None,
    context: Context,
    *,
    action_kind: str,
    target: str,
    detail: str = "",
    at: datetime | float,
    client_error: BackendError | None = None,
) -> AnnotationOutcome:
    """R6.6 sink: after an action succeeded, annotate Grafana (tags oncall-tui, context, the kind).

    Call it after the action's own result is written. Never raises for a sink failure: the
    failure is recorded in the audit log with its body (see :func:`retry_failed_annotations`)
    and returned. Skipped (nothing sent or written) when not configured or read-only.
    """
    if not annotations_configured(context):
        return AnnotationOutcome(skipped="no Grafana annotations configured for this context")
    if not runner.allowed:
        return AnnotationOutcome(skipped="read-only context: nothing sent")
    text = f"{action_kind} {target}".strip() + (f": {detail}" if detail else "")
    try:
        spec = build_annotation(context, text, at=at, extra_tags=(action_kind,))
        aid = await post_annotation(
            runner,
            client,
            spec,
            context=context,
            kind=KIND_ACTION_ANNOTATION,
            target=f"{_TARGET}: {action_kind} {target}".strip(),
            client_error=client_error,
            extra={"annotates": action_kind},
        )
    except ReadOnlyRefused as exc:
        return AnnotationOutcome(skipped=str(exc))
    except ActionFailed as exc:
        return AnnotationOutcome(error=safe_error(exc.error), action_id=exc.action_id)
    except (ActionError, ValueError) as exc:  # no audit trail / an unusable text
        log.warning("annotation sink: %s", safe_error(exc))
        return AnnotationOutcome(error=safe_error(exc))
    return AnnotationOutcome(annotation_id=aid)


# ------------------------------------------------------------------------ retries --
def failed_annotations(runner: ActionRunner) -> list[dict[str, Any]]:
    """Failed annotation posts of the runner's context, kept for retry, oldest first."""
    return [
        rec
        for rec in runner.audit.failed()
        if rec.get("kind") in ANNOTATION_KINDS and rec.get("context") in (None, runner.context_name)
    ]


async def _post_unless_present(client: GrafanaClient, spec: AnnotationSpec) -> int:
    """POST, unless Grafana already has this exact annotation (a failed POST may have landed)."""
    try:
        found = await client.annotations(
            from_ms=spec.time, to_ms=spec.time_end or spec.time, tags=spec.tags, type="annotation"
        )
    except BackendError:  # cannot look: post anyway (a read permission may be missing)
        found = []
    for item in found:
        if item.time == spec.time and item.text == spec.text:
            return item.id
    return await client.create_annotation(spec)


async def retry_failed_annotations(runner: ActionRunner, client: GrafanaClient) -> list[AnnotationOutcome]:
    """Retry the failed annotation posts of this context from their kept bodies, oldest first.

    Each retry is audited (``retry_of`` the failed one) and skipped when Grafana already has
    the identical annotation. Stops at the first failure (the rest stay kept for later).
    Raises :class:`ReadOnlyRefused` in a read-only context.
    """
    runner.check_allowed()
    out: list[AnnotationOutcome] = []
    for record in failed_annotations(runner):
        outcome = await retry_annotation(runner, client, record)
        out.append(outcome)
        if outcome.error and outcome.error != UNUSABLE_BODY:
            break
    return out


UNUSABLE_BODY = "the kept body is unusable"


async def retry_annotation(runner: ActionRunner, client: GrafanaClient, record: Mapping[str, Any]) -> AnnotationOutcome:
    """Retry one failed annotation post (a record of :meth:`AuditLog.failed`) from its kept body.

    Audited as a retry of it; skipped when Grafana already has the identical annotation.
    Raises :class:`ReadOnlyRefused` in a read-only context.
    """
    runner.check_allowed()
    payload = record.get("payload") or {}
    try:
        spec = AnnotationSpec.from_api(payload["spec"]).validate_spec()
    except (KeyError, TypeError, ValueError):
        return AnnotationOutcome(error=UNUSABLE_BODY, action_id=str(record.get("id")))
    try:
        aid = await _quiet(runner).retry(
            record,
            lambda _payload: _post_unless_present(client, spec),
            preview=annotation_preview(
                client.base_url, spec, summary=f"retry Grafana annotation: {sanitize_for_display(spec.text, max_chars=80)}"
            ),
            outcome=lambda aid: {"detail": f"annotation {aid} added", "annotation_id": aid},
        )
    except ActionFailed as exc:
        return AnnotationOutcome(error=safe_error(exc.error), action_id=exc.action_id)
    return AnnotationOutcome(annotation_id=aid)


# ------------------------------------------------------------------------ markers --
def chart_markers(
    annotations: Iterable[Annotation],
    events: Iterable[TimelineEvent],
    *,
    start: float,
    end: float,
) -> list[ChartMarker]:
    """Markers inside ``[start, end]`` (Unix seconds), oldest first (pure).

    Local notes and actions come from the timeline (its own annotation posts are left out:
    the note is already there); Grafana annotations are added unless they repeat a local
    note (same text within 2 s: the note posted from here). A region annotation is marked
    at its start, or at its end when only the end lies in the window.
    """
    markers: list[ChartMarker] = []
    for event in events:
        t = event.at.timestamp()
        if not start <= t <= end:
            continue
        if event.kind == "note":
            markers.append(ChartMarker(at=t, text=event.text, source="note"))
        elif event.kind == "action" and not str(event.detail.get("kind", "")).startswith(KIND_ANNOTATE):
            markers.append(ChartMarker(at=t, text=event.text, source="action"))
    local = [(m.at, m.text) for m in markers if m.source == "note"]
    for item in annotations:
        t = item.at
        if not start <= t <= end:
            t_end = item.time_end / 1000.0 if item.time_end else None
            if t_end is None or not start <= t_end <= end:
                continue
            t = t_end
        if any(abs(t - at) <= 2.0 and item.text == text for at, text in local):
            continue
        markers.append(ChartMarker(at=t, text=item.text, source="grafana", tags=tuple(item.tags)))
    markers.sort(key=lambda m: m.at)
    return markers


def newest(markers: Sequence[ChartMarker], limit: int) -> tuple[list[ChartMarker], int]:
    """The newest ``limit`` markers (oldest first) and how many older ones were left out."""
    if len(markers) <= limit:
        return list(markers), 0
    return list(markers[-limit:]), len(markers) - limit
