"""The one-key rollback (``R``): plan, versions, preview and execution of a configured rollback.

A service's :class:`~oncall_tui.settings.actions.RollbackConfig` is either an argv template
(``kubectl rollout undo``, ``helm rollback``, ``kubectl argo rollouts undo`` …) or an HTTP
request to a CD system. :func:`build_plan` fills its placeholders from the selected alert's
labels (each value checked against its allow-list, SECURITY.md R3.3); a value that fails
disables the plan with the reason. :func:`fetch_versions` finds the version running now and the
one a rollback returns to. :func:`execute` runs the command (own session, timeout, output to a
file, R3.6/R6.3) or sends the request, always through :class:`ActionRunner` (read-only guard,
fsynced intent, result, timeline). A non-zero exit is a failed action, recorded, never a crash.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from oncall_tui.actions.core import ActionFailed, ActionRunner, Preview, safe_error
from oncall_tui.actions.process import ProcessResult, new_output_path, run_process
from oncall_tui.actions.template import (
    TemplateRejected,
    fill,
    fill_argv,
    fill_json,
    template_values,
)
from oncall_tui.clients.errors import MAX_BODY_CHARS, BackendError
from oncall_tui.clients.http import ApiClient, ApiResponse
from oncall_tui.clients.prometheus import PrometheusClient
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.models.prometheus import MatrixResult, VectorResult
from oncall_tui.settings.actions import RollbackConfig, duration_seconds
from oncall_tui.settings.endpoint import Endpoint

__all__ = [
    "KIND",
    "KIND_DRY_RUN",
    "HttpCall",
    "ProcessFailed",
    "RollbackOutcome",
    "RollbackPlan",
    "Versions",
    "build_plan",
    "execute",
    "fetch_versions",
    "versions_from_series",
]

KIND = "rollback"
KIND_DRY_RUN = "rollback-dry-run"
#: Points of the version range query (step = lookback / this, at least 60 s).
VERSION_POINTS = 720


# --------------------------------------------------------------------------- plan --
@dataclass(frozen=True)
class HttpCall:
    """A filled-in request to the CD system."""

    method: str
    path: str
    """Relative to the endpoint URL; placeholder values URL-encoded."""
    body: Any
    endpoint: Endpoint

    @property
    def url(self) -> str:
        """The full URL (for the preview; redacted there)."""
        return self.endpoint.url.rstrip("/") + self.path


@dataclass(frozen=True)
class RollbackPlan:
    """What ``R`` would do for one service; ``disabled_reason`` set when it cannot."""

    service: str
    context: str
    labels: Mapping[str, str] = field(default_factory=dict)
    config: RollbackConfig | None = None
    argv: tuple[str, ...] | None = None
    dry_run_argv: tuple[str, ...] | None = None
    http: HttpCall | None = None
    dry_run_http: HttpCall | None = None
    disabled_reason: str | None = None

    @property
    def enabled(self) -> bool:
        return self.disabled_reason is None and (self.argv is not None or self.http is not None)

    @property
    def has_dry_run(self) -> bool:
        return self.dry_run_argv is not None or self.dry_run_http is not None

    @property
    def target(self) -> str:
        """What a protected context asks to type: the service name."""
        return self.service

    def check(self) -> None:
        """Raise :class:`TemplateRejected` (an ActionError) when the plan is disabled."""
        if not self.enabled:
            raise TemplateRejected("rollback", self.disabled_reason or "no rollback configured")

    def preview(self, *, dry_run: bool = False) -> Preview:
        """The exact argv (one element per line) or request of the rollback or its dry run."""
        self.check()
        what = "dry run of the rollback" if dry_run else "rollback"
        summary = f"{what} of {self.service} in {self.context}"
        if self.http is not None:
            call = self.dry_run_http if dry_run else self.http
            if call is None:
                raise TemplateRejected("rollback", "no dry run is configured")
            return Preview.http(call.method, call.url, call.body, summary=summary)
        argv = self.dry_run_argv if dry_run else self.argv
        if argv is None:
            raise TemplateRejected("rollback", "no dry run is configured")
        return Preview.process(argv, summary=summary)


def build_plan(
    config: RollbackConfig | None,
    *,
    service: str,
    labels: Mapping[str, str] | None,
    context: str,
) -> RollbackPlan:
    """Fill the rollback's templates from ``labels``; never raises for bad values.

    A missing config or a placeholder value outside its allow-list gives a plan whose
    ``disabled_reason`` says why (the UI shows it and runs nothing).
    """
    labels = dict(labels or {})
    base = RollbackPlan(service=service, context=context, labels=labels, config=config)
    if config is None:
        return _replace(base, disabled_reason=f"no rollback is configured for service {sanitize_for_display(service)}")
    values = template_values(labels, service=service, context=context)
    patterns = config.placeholders
    try:
        if config.http is not None:
            req = config.http

            def call(body: Any) -> HttpCall:
                path = fill(req.path, values, patterns, quote=lambda v: urllib.parse.quote(v, safe=""))
                return HttpCall(req.method, path, fill_json(body, values, patterns), req.endpoint)

            return _replace(
                base,
                http=call(req.body),
                dry_run_http=call(req.dry_run_body) if req.dry_run_body is not None else None,
            )
        assert config.argv is not None
        argv = fill_argv(config.argv, values, patterns, shell=config.shell)
        dry = fill_argv(config.dry_run_argv, values, patterns, shell=config.shell) if config.dry_run_argv else None
        return _replace(base, argv=argv, dry_run_argv=dry)
    except TemplateRejected as exc:
        return _replace(base, disabled_reason=f"rollback disabled: {exc}")


def _replace(plan: RollbackPlan, **changes: Any) -> RollbackPlan:
    return dataclasses.replace(plan, **changes)


# ----------------------------------------------------------------------- versions --
@dataclass(frozen=True)
class Versions:
    """The version running now and the one a rollback returns to (None = unknown)."""

    current: str | None = None
    target: str | None = None
    source: str = ""
    """Where they came from: ``label model_version``, ``query``, or both."""
    error: str | None = None
    """Why they are unknown (sanitised), e.g. the query failed."""

    def describe(self) -> str:
        """``v2.4 → v2.3`` (inert text, markers for odd characters)."""
        now = sanitize_for_display(self.current, max_chars=120) if self.current else "unknown"
        then = sanitize_for_display(self.target, max_chars=120) if self.target else "unknown (the previous revision)"
        return f"{now} → {then}"

    def to_record(self) -> dict[str, Any]:
        return {"current": self.current, "target": self.target, "source": self.source}


def versions_from_series(
    series: list[tuple[Mapping[str, str], float]], label: str, *, current: str | None = None
) -> tuple[str | None, str | None]:
    """From ``(labels, last seen)`` pairs: the newest version and the newest other one.

    ``current`` (e.g. from the alert's label) wins for "now" when given.
    """
    last_seen: dict[str, float] = {}
    for labels, ts in series:
        value = labels.get(label)
        if value:
            last_seen[value] = max(ts, last_seen.get(value, -math.inf))
    ordered = sorted(last_seen, key=lambda v: last_seen[v], reverse=True)
    now = current or (ordered[0] if ordered else None)
    previous = next((v for v in ordered if v != now), None)
    return now, previous


def _promql_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


async def fetch_versions(
    prometheus: PrometheusClient | None,
    config: RollbackConfig | None,
    *,
    labels: Mapping[str, str] | None,
    service: str,
    context: str,
    now: float | None = None,
) -> Versions:
    """Version now / after from the alert's ``version_label`` and/or ``version_query``.

    The query runs over ``version_lookback``; the series last seen most recently carries the
    version now, the newest different one the version the rollback returns to. Never raises:
    failures land in ``error``.
    """
    if config is None:
        return Versions(error="no rollback configured")
    label = config.version_label
    from_label = (labels or {}).get(label) or None
    sources = [f"label {label}"] if from_label else []
    if config.version_query is None or prometheus is None:
        error = None if from_label else "no version_query configured and the alert has no version label"
        if config.version_query is not None and prometheus is None:
            error = "no Prometheus in this context for version_query"
        return Versions(from_label, None, " + ".join(sources), error)
    values = template_values(labels, service=service, context=context)
    end = time.time() if now is None else now
    try:
        expr = fill(config.version_query, values, config.placeholders, quote=_promql_quote)
        lookback = duration_seconds(config.version_lookback)
        step = max(60.0, lookback / VERSION_POINTS)
        result = await prometheus.query_range(expr, start=end - lookback, end=end, step=step)
    except (BackendError, TemplateRejected, ValueError) as exc:
        return Versions(from_label, None, " + ".join(sources), safe_error(exc))
    data = result.data
    series: list[tuple[Mapping[str, str], float]] = []
    if isinstance(data, MatrixResult):
        series = [(s.metric, max(p.timestamp for p in s.values)) for s in data.result if s.values]
    elif isinstance(data, VectorResult):
        series = [(s.metric, s.value.timestamp) for s in data.result]
    current, target = versions_from_series(series, label, current=from_label)
    sources.append("version_query")
    error = None if current else f"no series with label {label} in the last {config.version_lookback}"
    return Versions(current, target, " + ".join(sources), error)


# ---------------------------------------------------------------------- execution --
class ProcessFailed(Exception):
    """The rollback command exited non-zero or timed out (its output is in ``result``)."""

    def __init__(self, result: ProcessResult) -> None:
        tail = result.output.strip()[-600:]
        super().__init__(f"{result.summary()}; output in {result.output_path}" + (f": {tail}" if tail else ""))
        self.result = result


@dataclass(frozen=True)
class RollbackOutcome:
    """How a rollback (or its dry run) ended; ``ok`` False = recorded as a failed action."""

    ok: bool
    dry_run: bool
    detail: str
    """One inert line for a notification."""
    process: ProcessResult | None = None
    status: int | None = None
    """The HTTP status of a request."""
    response: str | None = None
    """The start of the CD system's answer (sanitised)."""
    action_id: str | None = None


class CdClient(ApiClient):
    """The CD system's API (Argo CD, Spinnaker, a webhook): one write, never retried."""

    source = "cd"

    def error_details(self, response: ApiResponse) -> tuple[str, str | None]:
        # Argo CD (grpc-gateway) answers {"error": ..., "code": N, "message": ...}
        try:
            body = json.loads(response.body) if response.body else None
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("message") or body.get("error"), str):
            return str(body.get("message") or body.get("error"))[:MAX_BODY_CHARS], None
        return super().error_details(response)


async def execute(
    runner: ActionRunner,
    plan: RollbackPlan,
    *,
    dry_run: bool = False,
    output_dir: Path,
    http: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    env: Mapping[str, str] | None = None,
    allow_insecure: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> RollbackOutcome:
    """Run the rollback (or its dry run) through ``runner``.

    Raises :class:`~oncall_tui.actions.core.ReadOnlyRefused` in a read-only context (nothing
    started or sent), :class:`TemplateRejected` for a disabled plan, and
    :class:`~oncall_tui.actions.core.ActionError` when the audit log cannot be written. A
    command that exits non-zero or times out, or a request that fails, returns
    ``ok=False`` (the audit log and the timeline hold the failure).
    """
    runner.check_allowed()
    preview = plan.preview(dry_run=dry_run)  # raises TemplateRejected when disabled
    kind = KIND_DRY_RUN if dry_run else KIND
    more: dict[str, Any] = {"service": plan.service, "dry_run": dry_run, **dict(extra or {})}
    if plan.http is not None:
        call = plan.dry_run_http if dry_run else plan.http
        assert call is not None
        return await _execute_http(
            runner, plan, call, kind, preview, more, dry_run,
            http=http, transport=transport, env=env, allow_insecure=allow_insecure,
        )
    argv = plan.dry_run_argv if dry_run else plan.argv
    assert argv is not None and plan.config is not None
    config = plan.config
    output_path = new_output_path(Path(output_dir), argv[0])
    more["output_path"] = str(output_path)

    async def effect() -> ProcessResult:
        result = await run_process(
            argv,
            timeout=config.timeout_seconds,
            output_dir=Path(output_dir),
            env_extra=config.env,
            output_path=output_path,
        )
        if not result.ok:
            raise ProcessFailed(result)
        return result

    def outcome(result: ProcessResult) -> dict[str, Any]:
        return {
            "detail": result.summary(),
            "exit_code": result.exit_code,
            "output": result.output_tail(),
            "output_path": str(result.output_path),
        }

    try:
        result = await runner.run(kind, plan.target, preview, effect, extra=more, outcome=outcome)
    except ActionFailed as exc:
        failed = exc.error.result if isinstance(exc.error, ProcessFailed) else None
        return RollbackOutcome(False, dry_run, str(exc), process=failed, action_id=exc.action_id)
    what = "dry run" if dry_run else "rollback"
    return RollbackOutcome(True, dry_run, f"{what} of {plan.service}: {result.summary()}", process=result)


async def _execute_http(
    runner: ActionRunner,
    plan: RollbackPlan,
    call: HttpCall,
    kind: str,
    preview: Preview,
    more: dict[str, Any],
    dry_run: bool,
    *,
    http: httpx.AsyncClient | None,
    transport: httpx.AsyncBaseTransport | None,
    env: Mapping[str, str] | None,
    allow_insecure: bool,
) -> RollbackOutcome:
    from oncall_tui.clients.factory import build_http_client

    own = http is None
    try:
        client_http = http or build_http_client(
            call.endpoint, kind="cd", env=env, transport=transport, allow_insecure=allow_insecure
        )
    except BackendError as exc:
        return RollbackOutcome(False, dry_run, f"{kind} not sent: {safe_error(exc)}")
    client = CdClient(client_http, follow_redirects=False)

    async def effect() -> ApiResponse:
        return await client.request(call.method, call.path, json_body=call.body, idempotent=False)

    def outcome(response: ApiResponse) -> dict[str, Any]:
        return {
            "detail": f"{call.method} {sanitize_for_display(call.path, max_chars=300)}: HTTP {response.status}",
            "status": response.status,
            "response": sanitize_for_display(response.text(500), max_chars=500),
        }

    try:
        response = await runner.run(kind, plan.target, preview, effect, extra=more, outcome=outcome)
    except ActionFailed as exc:
        status = getattr(exc.error, "status", None)
        return RollbackOutcome(False, dry_run, str(exc), status=status, action_id=exc.action_id)
    finally:
        if own:
            await client_http.aclose()
    what = "dry run" if dry_run else "rollback"
    return RollbackOutcome(
        True,
        dry_run,
        f"{what} of {plan.service}: HTTP {response.status}",
        status=response.status,
        response=sanitize_for_display(response.text(500), max_chars=500),
    )
