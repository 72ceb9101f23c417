"""Running runbook steps: read-only queries, and shell snippets through the action gate.

- ```promql / ```logql steps are reads: their placeholders are filled from the alert's labels
  (validated, quoted for the string they sit in), they run through the context's own clients,
  and the result (a small table) is recorded on the timeline as a ``runbook`` event. Allowed
  in read-only contexts: nothing is written anywhere but the local timeline.
- ```sh steps run only from local runbooks and only through
  :class:`~oncall_tui.actions.core.ActionRunner` (read-only guard, write-ahead audit with the
  argv and its hash, timeline). Label values never become script text: each placeholder turns
  into a positional parameter (``"$1"``) and the validated values follow the script:
  ``["sh", "-c", SCRIPT, "sh", VALUE1, ...]``. The output (untrusted) is sanitised, capped and
  recorded on the timeline.
- Steps of runbooks fetched from a URL never run (SECURITY.md R3.4).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oncall_tui.actions.core import ActionError, ActionFailed, ActionRunner, Preview
from oncall_tui.actions.process import ProcessResult, run_process
from oncall_tui.actions.template import template_values, validate_value
from oncall_tui.core.runbook import (
    QueryTemplateError,
    Step,
    fill_query,
    shell_positional,
)
from oncall_tui.text.sanitize import sanitize_for_display

if TYPE_CHECKING:
    from oncall_tui.actions.timeline import Timeline
    from oncall_tui.clients.drill import DrillDown
    from oncall_tui.clients.prometheus import PrometheusClient
    from oncall_tui.settings.actions import RunbookSettings

__all__ = [
    "QUERY_ROWS",
    "URL_DISPLAY_ONLY",
    "QueryOutcome",
    "StepDisabled",
    "StepFailed",
    "plan_shell_step",
    "prepare_query",
    "record_query",
    "run_query_step",
    "run_shell_step",
    "shell_step_reason",
]

#: Rows of a query result kept for display (the summary counts all of them).
QUERY_ROWS = 50
#: Rows of a query result written to the timeline event.
TIMELINE_ROWS = 10
URL_DISPLAY_ONLY = "runbook fetched from a URL: display-only, its steps never run"
_CELL = 300


class StepDisabled(ActionError):
    """The step cannot run (display-only runbook, a label value failed its allow-list...)."""


class StepFailed(ActionError):
    """A shell step ran but did not succeed (non-zero exit or timeout)."""


def _cell(value: Any, max_chars: int = _CELL) -> str:
    return sanitize_for_display(str(value), max_chars=max_chars)


def _num(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.6g}"


def _labels_text(labels: Mapping[str, str]) -> str:
    name = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


# ---------------------------------------------------------------------- queries --
@dataclass(frozen=True)
class QueryOutcome:
    """A query step's result as a small inert table (every cell sanitised)."""

    step: Step
    query: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total: int
    """Rows before the display cap."""
    summary: str
    warnings: tuple[str, ...] = field(default_factory=tuple)


def prepare_query(
    step: Step,
    labels: Mapping[str, str] | None,
    *,
    service: str,
    context: str,
    patterns: Mapping[str, str] | None = None,
) -> str:
    """The step's query with its placeholders filled; raises :class:`StepDisabled` with a reason."""
    if not step.is_query:
        raise StepDisabled(f"{step.label} is not a query")
    values = template_values(labels, service=service, context=context)
    try:
        query = fill_query(step.code, values, lambda name, value: validate_value(name, value, patterns))
    except QueryTemplateError as exc:
        raise StepDisabled(str(exc)) from None
    except ActionError as exc:  # TemplateRejected
        raise StepDisabled(str(exc)) from None
    if not query.strip():
        raise StepDisabled(f"{step.label} is empty")
    return query.strip()


async def run_query_step(
    step: Step,
    query: str,
    *,
    prometheus: PrometheusClient | None,
    drill: DrillDown | None,
    start: float,
    end: float,
    limit: int = QUERY_ROWS,
) -> QueryOutcome:
    """Run a prepared query read-only: PromQL as an instant query at ``end``; LogQL over
    [start, end] (log lines newest first, or a metric's last values). Backend errors propagate
    (the client error family, safe to show)."""
    from oncall_tui.clients.errors import SourceUnavailable

    if step.lang == "promql":
        if prometheus is None:
            raise SourceUnavailable("no Prometheus endpoint in this context", source="prometheus")
        result = await prometheus.query(query, time=end)
        columns, rows = _prom_rows(result.data)
        warnings = tuple(_cell(w) for w in result.warnings)
    elif step.lang == "logql":
        loki = drill.loki if drill is not None else None
        if loki is None:
            raise SourceUnavailable("no Loki endpoint in this context", source="loki")
        lresult = await loki.query_range(query, start=start, end=end, limit=max(1, min(limit, 5000)), direction="backward")
        columns, rows = _loki_rows(lresult.data)
        warnings = tuple(_cell(w) for w in getattr(lresult, "warnings", []) or [])
    else:
        raise StepDisabled(f"{step.label} is not a query")
    total = len(rows)
    shown = tuple(rows[:limit])
    noun = "line" if columns and columns[-1] == "line" else "series" if columns and columns[0] == "series" else "row"
    plural = "" if total == 1 or noun == "series" else "s"
    summary = f"{total} {noun}{plural}"
    if total and columns and columns[-1] == "value" and len(shown) == 1:
        summary += f": {shown[0][-1]}"
    if total > limit:
        summary += f" (first {limit} shown)"
    if warnings:
        summary += " (partial result)"
    return QueryOutcome(step, query, columns, shown, total, summary, warnings)


def _prom_rows(data: Any) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    from oncall_tui.models.prometheus import (
        MatrixResult,
        ScalarResult,
        StringResult,
        VectorResult,
    )

    if isinstance(data, VectorResult):
        series = sorted(data.result, key=lambda s: (-(s.value.value if not math.isnan(s.value.value) else -math.inf)))
        return ("series", "value"), [(_cell(_labels_text(s.metric)), _num(s.value.value)) for s in series]
    if isinstance(data, MatrixResult):
        rows = []
        for s in data.result:
            last = s.values[-1].value if s.values else math.nan
            rows.append((_cell(_labels_text(s.metric)), f"{len(s.values)} points", _num(last)))
        return ("series", "points", "value"), rows
    if isinstance(data, ScalarResult):
        return ("scalar", "value"), [("scalar", _num(data.result.value))]
    if isinstance(data, StringResult):
        return ("string", "value"), [("string", _cell(data.result.value))]
    return ("result",), [(_cell(type(data).__name__),)]


def _loki_rows(data: Any) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    from oncall_tui.models.loki import StreamsResult

    if isinstance(data, StreamsResult):
        entries = sorted(data.entries, key=lambda e: e.ts, reverse=True)
        rows = []
        for e in entries:
            when = datetime.fromtimestamp(e.ts / 1e9, UTC).strftime("%H:%M:%S")
            who = e.labels.get("pod") or e.labels.get("service") or e.labels.get("service_name") or ""
            rows.append((when, _cell(who, 80), _cell(e.line, 1000)))
        return ("time", "stream", "line"), rows
    return _prom_rows(data)


def record_query(timeline: Timeline | None, outcome: QueryOutcome, *, origin: str, now: datetime | None = None) -> None:
    """Add the query and a short result summary to the timeline (a ``runbook`` event)."""
    if timeline is None:
        return
    from oncall_tui.actions.timeline import TimelineEvent

    step = outcome.step
    one_line = " ".join(outcome.query.split())
    text = f"runbook {step.label}: {_cell(one_line, 200)} → {outcome.summary}"
    detail = {
        "runbook": origin,
        "step": step.index,
        "lang": step.lang,
        "title": step.title,
        "query": outcome.query,
        "summary": outcome.summary,
        "columns": list(outcome.columns),
        "rows": [list(r) for r in outcome.rows[:TIMELINE_ROWS]],
    }
    timeline.add(TimelineEvent(at=now or datetime.now(UTC), kind="runbook", text=text, detail=detail))


# ------------------------------------------------------------------------ shell --
def shell_step_reason(*, runnable: bool, read_only: bool, note: str = "") -> str | None:
    """Why a shell step cannot run here (None: it may, after confirmation)."""
    if not runnable:
        return note or URL_DISPLAY_ONLY
    if read_only:
        return "read-only context: shell steps are disabled"
    return None


def plan_shell_step(
    step: Step,
    labels: Mapping[str, str] | None,
    *,
    settings: RunbookSettings,
    service: str,
    context: str,
    runnable: bool = True,
) -> tuple[str, ...]:
    """The exact argv a shell step runs: ``[sh, -c, SCRIPT, sh, VALUE...]``.

    Raises :class:`StepDisabled` when the runbook is display-only or a value fails its
    allow-list (the reason names the placeholder and shows the value inertly).
    """
    if step.lang != "sh":
        raise StepDisabled(f"{step.label} is not a shell step")
    if not runnable:
        raise StepDisabled(URL_DISPLAY_ONLY)
    if not step.code.strip():
        raise StepDisabled(f"{step.label} is empty")
    script, names = shell_positional(step.code)
    values = template_values(labels, service=service, context=context)
    try:
        positional = [validate_value(name, values.get(name), settings.placeholders) for name in names]
    except ActionError as exc:
        raise StepDisabled(str(exc)) from None
    return (step.shell, "-c", script, step.shell, *positional)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


async def run_shell_step(
    runner: ActionRunner,
    step: Step,
    labels: Mapping[str, str] | None,
    settings: RunbookSettings,
    output_dir: Path,
    *,
    origin: str,
    service: str,
    target: str | None = None,
    runnable: bool = True,
    argv: tuple[str, ...] | None = None,
) -> ProcessResult:
    """Run a (confirmed) shell step through the runner; record its output on the timeline.

    ``argv`` is the one shown in the confirmation (recomputed and compared when given).
    Raises :class:`~oncall_tui.actions.core.ReadOnlyRefused` before anything starts in a
    read-only context, :class:`StepDisabled`, or :class:`ActionFailed` if it could not start.
    A step that ran but failed returns its result (the audit log records it as failed).
    """
    runner.check_allowed()
    planned = plan_shell_step(
        step, labels, settings=settings, service=service, context=runner.context_name, runnable=runnable
    )
    if argv is not None and tuple(argv) != planned:
        raise StepDisabled("the step changed since it was confirmed; confirm it again")
    preview = Preview.process(planned, summary=f"runbook {origin}: {step.label}" + (f" — {step.title}" if step.title else ""))
    holder: dict[str, ProcessResult] = {}

    async def effect() -> ProcessResult:
        result = await run_process(planned, timeout=settings.step_timeout_seconds, output_dir=output_dir)
        holder["result"] = result
        if not result.ok:
            raise StepFailed(result.summary())
        return result

    def outcome(result: ProcessResult) -> dict[str, Any]:
        return {"detail": result.summary(), "exit_code": result.exit_code, "output_path": str(result.output_path)}

    extra = {"runbook": origin, "step": step.index, "step_sha256": _sha256(step.code)}
    try:
        result = await runner.run("runbook-step", target or service, preview, effect, extra=extra, outcome=outcome)
    except ActionFailed:
        if "result" not in holder:
            raise
        result = holder["result"]
    _record_shell(runner.timeline, step, result, origin=origin, at=datetime.fromtimestamp(runner.clock(), UTC))
    return result


def _record_shell(
    timeline: Timeline | None, step: Step, result: ProcessResult, *, origin: str, at: datetime | None = None
) -> None:
    if timeline is None:
        return
    from oncall_tui.actions.timeline import TimelineEvent

    output = result.output_tail()
    first = next((line.strip() for line in output.splitlines() if line.strip()), "")
    text = f"runbook {step.label} {result.summary()}" + (f": {_cell(first, 200)}" if first else "")
    detail = {
        "runbook": origin,
        "step": step.index,
        "lang": step.lang,
        "title": step.title,
        "argv": list(result.argv),
        "exit_code": result.exit_code,
        "timed_out": result.timed_out,
        "output": output,
        "output_path": str(result.output_path),
    }
    try:
        timeline.add(TimelineEvent(at=at or datetime.now(UTC), kind="runbook", text=text, detail=detail))
    except OSError:
        pass  # the audit log has the result; a timeline write failure must not hide it
