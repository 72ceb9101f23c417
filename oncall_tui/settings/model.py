"""The configuration model: settings → contexts → endpoints and services.

Contexts work like kubeconfig contexts: each names its endpoints, whether it is read-only or
protected, its colour and its services. ``Settings.context()`` returns the current one.
"""

from __future__ import annotations

import getpass
import re
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any, ClassVar, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.settings.actions import AnnotationSettings, RollbackConfig, RunbookSettings, SilenceSettings
from oncall_tui.settings.base import StrictModel, invalid
from oncall_tui.settings.endpoint import ENDPOINT_KINDS, Endpoint
from oncall_tui.settings.errors import ConfigError

Preset = Literal["vllm", "triton", "tgi", "generic-http", "model-server"]
PRESETS: tuple[str, ...] = ("vllm", "triton", "tgi", "generic-http", "model-server")
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class GoldenQueries(StrictModel):
    """Explicit PromQL per golden signal; each one optional (a preset fills the rest)."""

    traffic: str | None = Field(default=None, min_length=1)
    """Requests per second."""
    errors: str | None = Field(default=None, min_length=1)
    """Error ratio (0-1)."""
    latency_p50: str | None = Field(default=None, min_length=1)
    latency_p95: str | None = Field(default=None, min_length=1)
    latency_p99: str | None = Field(default=None, min_length=1)
    saturation: str | None = Field(default=None, min_length=1)
    """0-1 (queue, KV cache, in-flight vs capacity...)."""

    def configured(self) -> dict[str, str]:
        """The signals that have a query."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


#: A Prometheus duration (``30d``, ``4w``, ``1h30m``): units largest first, each at most once.
_PROM_DURATION = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_PROM_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)


def prometheus_duration_seconds(text: str) -> float:
    """Seconds of a Prometheus duration such as ``30d`` or ``1h30m``; ValueError otherwise."""
    match = _PROM_DURATION.fullmatch(text) if text else None
    if match is None or not any(match.groups()):
        raise ValueError("expected a Prometheus duration such as 30d, 4w, 7d or 1h30m")
    total = sum(int(g) * unit for g, unit in zip(match.groups(), _PROM_UNITS, strict=True) if g)
    if total <= 0:
        raise ValueError("a Prometheus duration must be longer than 0s")
    return float(total)


class SLO(StrictModel):
    """Service level objectives used for burn rates, the error budget and thresholds."""

    availability: float | None = Field(default=None, gt=0, lt=1)
    """Target success ratio, e.g. 0.999."""
    latency_p99_seconds: float | None = Field(default=None, gt=0)
    window: str = "30d"
    """The SLO window the error budget is counted over (a Prometheus duration: 30d, 4w, 7d)."""
    errors_ratio: str | None = Field(default=None, min_length=1)
    """The error ratio (0-1) as a PromQL template with ``$window`` where the range goes, e.g.
    ``sum(rate(errs_total{job="x"}[$window])) / sum(rate(reqs_total{job="x"}[$window]))``.
    Needed for the error budget only when ``queries.errors`` has no ``[5m]``-style window to
    widen (a preset's own query is widened by itself)."""

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        try:
            prometheus_duration_seconds(value)
        except ValueError as exc:
            raise invalid(str(exc)) from None
        return value

    @field_validator("errors_ratio")
    @classmethod
    def _errors_ratio(cls, value: str | None) -> str | None:
        if value is not None and "$window" not in value:
            raise invalid("errors_ratio needs $window where the range goes, e.g. rate(x[$window])")
        return value

    @property
    def window_seconds(self) -> float:
        return prometheus_duration_seconds(self.window)


class Service(StrictModel):
    """A service to watch: a preset or explicit queries, a label selector and SLOs."""

    name: str = Field(min_length=1)
    preset: Preset | None = None
    selector: dict[str, str] = Field(default_factory=dict)
    """Exact label matchers; default ``{service: <name>}``."""
    queries: GoldenQueries = Field(default_factory=GoldenQueries)
    slo: SLO = Field(default_factory=SLO)
    rollback: RollbackConfig | None = None
    """The one-key rollback (``R``): an argv template or an HTTP request."""
    runbook: str | None = Field(default=None, min_length=1)
    """Local runbook file (relative to ``runbooks.dir``) used for this service's alerts
    when no ``<alertname>.md`` exists."""

    @model_validator(mode="after")
    def _complete(self) -> Service:
        if self.preset is None and not self.queries.configured():
            raise invalid(
                "a service needs a preset (" + ", ".join(PRESETS) + ") or at least one entry "
                "in queries (traffic, errors, latency_p50/p95/p99, saturation)"
            )
        for label in self.selector:
            if not _LABEL_NAME.fullmatch(label):
                raise invalid("expected a Prometheus label name", "selector", label)
        if not self.selector:
            self.selector = {"service": self.name}
        return self


class PeerEndpoint(Endpoint):
    """One member of ``alertmanagers`` (an HA pair, or one Alertmanager per region)."""

    name: str | None = None
    """How badges, alerts and the silence form call it (default: its host:port)."""

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        parts = urlsplit(self.url)
        return parts.netloc.rpartition("@")[2] or self.url


class Endpoints(StrictModel):
    """The datasources of one context; each optional."""

    prometheus: Endpoint | None = None
    alertmanager: Endpoint | None = None
    alertmanagers: list[PeerEndpoint] = Field(default_factory=list)
    """Several Alertmanagers (instead of ``alertmanager``): alerts deduplicated by fingerprint,
    each member its own badge, a silence sent to the member chosen (default: the first healthy)."""
    loki: Endpoint | None = None
    tempo: Endpoint | None = None
    grafana: Endpoint | None = None

    @model_validator(mode="after")
    def _name_kinds(self) -> Endpoints:
        if self.alertmanagers:
            if self.alertmanager is not None:
                raise invalid("give either 'alertmanager' or 'alertmanagers', not both", "alertmanagers")
            names = [peer.display_name for peer in self.alertmanagers]
            if len(set(names)) != len(names):
                raise invalid("two alertmanagers have the same name: set 'name' on each", "alertmanagers")
            self.alertmanager = self.alertmanagers[0]  # "the" Alertmanager wherever one is meant
        for kind, endpoint in self.items():
            endpoint._kind = kind
        for peer in self.alertmanagers:
            peer._kind = "alertmanager"
        return self

    def alertmanager_members(self) -> list[tuple[str, Endpoint]]:
        """(name, endpoint) of each Alertmanager: the members of ``alertmanagers``, or the one
        ``alertmanager`` (named ``alertmanager``)."""
        if self.alertmanagers:
            return [(peer.display_name, peer) for peer in self.alertmanagers]
        return [("alertmanager", self.alertmanager)] if self.alertmanager is not None else []

    def items(self) -> list[tuple[str, Endpoint]]:
        """Configured endpoints as ``(kind, Endpoint)`` in ENDPOINT_KINDS order."""
        return [(k, e) for k in ENDPOINT_KINDS if (e := getattr(self, k)) is not None]

    def __iter__(self):  # type: ignore[override]
        """Iterate ``(kind, Endpoint)`` pairs of the configured endpoints."""
        return iter(self.items())


class Context(StrictModel):
    """One environment (cluster/region): endpoints, safety flags, colour and services."""

    _hidden_keys: ClassVar[frozenset[str]] = frozenset({"name"})

    name: str = ""
    """Set from the key under ``contexts``; not written in YAML."""
    color: str = "green"
    """Header colour, so prod never looks like staging."""
    read_only: bool = False
    """Hide and refuse every write action."""
    protected: bool = False
    """Destructive actions require typing the context name."""
    endpoints: Endpoints = Field(default_factory=Endpoints)
    services: list[Service] = Field(default_factory=list)
    annotations: AnnotationSettings = Field(default_factory=AnnotationSettings)

    @model_validator(mode="after")
    def _unique_services(self) -> Context:
        seen: set[str] = set()
        for index, service in enumerate(self.services):
            if service.name in seen:
                raise invalid(
                    f"duplicate service name '{sanitize_for_display(service.name)}'",
                    "services",
                    index,
                    "name",
                )
            seen.add(service.name)
        return self

    def configured_endpoints(self) -> list[tuple[str, Endpoint]]:
        """``(kind, Endpoint)`` pairs in ENDPOINT_KINDS order."""
        return self.endpoints.items()

    def endpoint(self, kind: str) -> Endpoint | None:
        """The endpoint of that kind, or None."""
        if kind not in ENDPOINT_KINDS:
            raise KeyError(kind)
        return getattr(self.endpoints, kind)

    def service(self, name: str) -> Service | None:
        """The service with that name, or None."""
        return next((s for s in self.services if s.name == name), None)


class AlertSettings(StrictModel):
    """How the alerts table groups alerts."""

    group_by: list[str] | None = None
    """Labels whose values make a group (default: the Alertmanager route's ``group_by``, else
    ``[alertname, service]``); ``["..."]`` shows every alert on its own row."""

    @model_validator(mode="after")
    def _check(self) -> AlertSettings:
        if self.group_by is not None and (not self.group_by or not all(name.strip() for name in self.group_by)):
            raise invalid("a list of label names (or [\"...\"] for no grouping)", "group_by")
        return self


class Settings(StrictModel):
    """The whole configuration; see ``config/example.yaml``."""

    current_context: str | None = None
    """Context used at start (default: the first one)."""
    identity: str | None = None
    """Who you are, e.g. silence ``createdBy`` (default: the OS user)."""
    refresh_seconds: float = Field(default=10.0, gt=0)
    theme: str = "oncall-dark"
    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id → key(s), e.g. ``{refresh: "ctrl+r,f5"}``."""
    contexts: dict[str, Context] = Field(default_factory=dict)
    silences: SilenceSettings = Field(default_factory=SilenceSettings)
    runbooks: RunbookSettings = Field(default_factory=RunbookSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    _source_path: Path | None = PrivateAttr(default=None)
    _warnings: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _link(self) -> Settings:
        for name, context in self.contexts.items():
            if context.name and context.name != name:
                raise invalid("a context's name is its key under contexts", "contexts", name, "name")
            context.name = name
        if self.current_context is not None and self.current_context not in self.contexts:
            raise invalid(
                f"unknown context '{sanitize_for_display(self.current_context)}'; "
                + _known(self.contexts),
                "current_context",
            )
        return self

    @property
    def source_path(self) -> Path | None:
        """The config file read, or None when there was none."""
        return self._source_path

    @property
    def warnings(self) -> list[str]:
        """Things that work but should be fixed (inline secrets...); never contain a secret."""
        return self._warnings

    @property
    def current_context_name(self) -> str | None:
        """The current context's name (``current_context`` or the first), None if none."""
        if self.current_context is not None:
            return self.current_context
        return next(iter(self.contexts), None)

    @property
    def effective_identity(self) -> str:
        """``identity`` or the OS user name."""
        if self.identity:
            return self.identity
        try:
            return getpass.getuser()
        except Exception:  # no user name in the environment or passwd
            return "unknown"

    def context(self, name: str | None = None) -> Context:
        """The named context, or the current one; raises :class:`ConfigError` if unknown."""
        wanted = name if name is not None else self.current_context_name
        if wanted is None:
            raise ConfigError("no contexts configured; see config/example.yaml or use --demo")
        try:
            return self.contexts[wanted]
        except KeyError:
            raise ConfigError(
                f"unknown context '{sanitize_for_display(wanted)}'; {_known(self.contexts)}"
            ) from None


def _known(contexts: dict[str, Any]) -> str:
    names = ", ".join(sanitize_for_display(n) for n in contexts)
    return f"known contexts: {names}" if names else "no contexts are configured"
