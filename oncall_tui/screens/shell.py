"""What a screen may ask of the app, and the messages it posts to ask for navigation.

Screens never import ``oncall_tui.app`` (an import-linter contract holds it). They reach the
app only through :class:`Shell` — the incident of the current context, the theme's colours,
the time range and pause state — via :attr:`ShellAccess.shell`/:attr:`ShellAccess.incident`,
and ask it to open another screen by posting one of the messages below; messages bubble from
a screen to the app, which handles them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from textual.app import App
from textual.dom import DOMNode
from textual.message import Message

from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.core.target import DrillTarget
from oncall_tui.core.triage import format_age
from oncall_tui.widgets.header import HeaderState, SourceBadge

if TYPE_CHECKING:
    from oncall_tui.clients.session import TriageData
    from oncall_tui.core.timerange import TimeRange
    from oncall_tui.incident import Incident, Notice


class Shell(Protocol):
    """The app as screens see it (``OncallApp`` implements it)."""

    incident: Incident
    time_range: TimeRange
    paused: bool
    refresh_seconds: float
    periodic_refresh: bool

    def theme_color(self, name: str) -> str:
        """A theme variable's colour for Rich styles (cells cannot use CSS variables)."""
        ...


class ShellAccess:
    """Mixin for screens: ``self.shell`` and ``self.incident``."""

    @property
    def shell(self) -> Shell:
        return cast("Shell", cast(DOMNode, self).app)

    @property
    def incident(self) -> Incident:
        return self.shell.incident


def header_state(shell: Shell) -> HeaderState:
    """The status header's line: context, read-only, range, refresh and each backend's badge."""
    incident = shell.incident
    now = incident.clock()
    session = incident.session
    sources = dict(session.sources)
    if session.members:  # several Alertmanagers: a badge each (one down member is not an outage)
        sources.pop("alertmanager", None)
        sources.update(session.members)
    badges = [
        SourceBadge(name, src.status(now), format_age(src.age(now)), src.error or "", label=src.badge(now))
        for name, src in sources.items()
    ]
    return HeaderState(
        context=incident.context.name,
        color=incident.context.color,
        read_only=incident.read_only,
        range_label=shell.time_range.label(),
        refresh_seconds=shell.refresh_seconds,
        paused=shell.paused,
        sources=badges,
    )


def tell(app: App[Any], notice: Notice) -> None:
    """Show an incident's :class:`~oncall_tui.incident.Notice` (sanitised, never markup)."""
    app.notify(
        sanitize_for_display(notice.text, max_chars=1200),
        title=notice.title,
        severity=notice.severity,
        markup=False,
        **({"timeout": notice.timeout} if notice.timeout is not None else {}),
    )


# ------------------------------------------------------------------ messages --
class OpenLogs(Message):
    """The logs of ``target`` (LogQL from its labels) or of an explicit ``logql``."""

    def __init__(self, target: DrillTarget | None = None, *, logql: str | None = None) -> None:
        super().__init__()
        self.target, self.logql = target, logql


class OpenTraces(Message):
    """The slowest and failing traces of ``target``."""

    def __init__(self, target: DrillTarget | None = None) -> None:
        super().__init__()
        self.target = target


class OpenTrace(Message):
    """One trace's waterfall (``span_id`` selected when given)."""

    def __init__(self, trace_id: str, *, span_id: str | None = None) -> None:
        super().__init__()
        self.trace_id, self.span_id = trace_id, span_id


class OpenService(Message):
    """The detail screen of the service ``name``."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class AddNote(Message):
    """Ask for a note on the timeline (``N``)."""


class RefreshNow(Message):
    """Refresh every backend now (``ctrl+r``, after a write)."""


class DataLoaded(Message):
    """The triage screen painted new data from ``kind`` (None: every backend)."""

    def __init__(self, data: TriageData, kind: str | None) -> None:
        super().__init__()
        self.data, self.kind = data, kind
