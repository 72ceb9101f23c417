"""Settings of the write side: rollbacks, runbooks, silences and Grafana annotations.

Everything that can start a process or send a write is declared here, in trusted local config
(SECURITY.md R3.1, R3.4): argv lists only (a string command is rejected), placeholders
``{labels.NAME}`` / ``{service}`` / ``{context}`` each checked with ``re.fullmatch`` against an
allow-list when the action is built (``actions/template.py``).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from oncall_tui.settings.base import StrictModel, invalid
from oncall_tui.settings.endpoint import Endpoint

#: Default allow-list for label-derived placeholder values (SECURITY.md R3.3).
DEFAULT_VALUE_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:/=-]{0,252}"
#: ``{labels.NAME}``, ``{service}``, ``{context}``: the only placeholder forms.
PLACEHOLDER = re.compile(r"\{(labels\.[A-Za-z_][A-Za-z0-9_]*|service|context)\}")
#: Things that look like a placeholder (``{name}``, ``{a.b}``, or an unclosed ``{labels.``);
#: other braces (kubectl jsonpath ``{.items[*]}``) are literal text.
_ANY_BRACE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.]*\}|\{labels\.[^}]*$|\{(?:service|context)(?!\})")
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
#: Environment variables a child may receive besides PATH, HOME, LANG (R3.6).
CHILD_ENV_ALLOWED = frozenset({"KUBECONFIG", "HELM_NAMESPACE", "ARGOCD_SERVER", "LC_ALL", "TZ"})


def duration_seconds(text: str) -> float:
    """``90s``, ``15m``, ``4h``, ``1d2h``… → seconds; ValueError if not a duration > 0."""
    match = _DURATION.fullmatch(text.strip()) if text.strip() else None
    if not match or not any(match.groups()):
        raise ValueError("expected a duration such as 15m, 1h, 4h or 1d")
    d, h, m, s = (int(g or 0) for g in match.groups())
    total = float(((d * 24 + h) * 60 + m) * 60 + s)
    if total <= 0:
        raise ValueError("a duration must be longer than 0s")
    return total


def _check_template(value: str, where: str) -> None:
    """Reject braces that are not one of the known placeholders (typos fail at load time)."""
    for match in _ANY_BRACE.finditer(value):
        if not PLACEHOLDER.fullmatch(match.group(0)):
            raise invalid(
                f"unknown or unclosed placeholder {match.group(0)[:60]!r} in {where}; use "
                "{labels.NAME}, {service} or {context}"
            )


def placeholders_in(values: list[str]) -> set[str]:
    """The placeholder names (``labels.x``, ``service``…) used in these template strings."""
    return {m.group(1) for v in values for m in PLACEHOLDER.finditer(v)}


def _template_strings(body: Any) -> list[str]:
    if isinstance(body, str):
        return [body]
    if isinstance(body, dict):
        return [s for k, v in body.items() for s in [str(k), *_template_strings(v)]]
    if isinstance(body, list):
        return [s for item in body for s in _template_strings(item)]
    return []


class HttpRequestAction(StrictModel):
    """An HTTP request to a CD system (Argo CD, Spinnaker, a deploy webhook...)."""

    endpoint: Endpoint
    """Base URL, auth, TLS and proxy of the CD system (same keys as a datasource)."""
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    path: str = Field(min_length=1)
    """Appended to the endpoint URL; placeholders are URL-encoded when filled in."""
    body: dict[str, Any] | list[Any] | None = None
    """JSON body; placeholders in string values are filled in (never re-evaluated)."""
    dry_run_body: dict[str, Any] | list[Any] | None = None
    """Body of the dry-run variant (e.g. Argo CD's ``dryRun: true``); none = no dry run."""

    @model_validator(mode="after")
    def _templates(self) -> HttpRequestAction:
        self.endpoint._kind = "cd"
        if not self.path.startswith("/"):
            raise invalid("path must start with /", "path")
        _check_template(self.path, "path")
        for s in _template_strings(self.body) + _template_strings(self.dry_run_body):
            _check_template(s, "body")
        return self

    def template_strings(self) -> list[str]:
        """Every template string (path and body leaves), for placeholder checks."""
        return [self.path, *_template_strings(self.body), *_template_strings(self.dry_run_body)]


class RollbackConfig(StrictModel):
    """How to roll a service back: exactly one of ``argv`` or ``http``."""

    argv: list[str] | None = Field(default=None, min_length=1)
    """e.g. ``[kubectl, rollout, undo, "deployment/{labels.deployment}", -n, "{labels.namespace}"]``."""
    dry_run_argv: list[str] | None = Field(default=None, min_length=1)
    """The dry-run variant (``--dry-run=server``...); none = no dry run offered."""
    shell: bool = False
    """Only for ``[sh, -c, SCRIPT, sh, "{labels.x}"...]``: values are positional parameters."""
    http: HttpRequestAction | None = None
    placeholders: dict[str, str] = Field(default_factory=dict)
    """Placeholder → regex allow-list (``re.fullmatch``); default for labels: a safe name pattern."""
    timeout_seconds: float = Field(default=300.0, gt=0, le=3600)
    env: dict[str, str] = Field(default_factory=dict)
    """Extra child environment; only KUBECONFIG, HELM_NAMESPACE, ARGOCD_SERVER, LC_ALL, TZ."""
    version_label: str = "model_version"
    """Label naming the deployed version (on the alert, or on ``version_query``'s series)."""
    version_query: str | None = Field(default=None, min_length=1)
    """PromQL whose series carry ``version_label``; the newest is "now", the one before it
    (over ``version_lookback``) is the version a rollback returns to."""
    version_lookback: str = "24h"

    @field_validator("argv", "dry_run_argv", mode="before")
    @classmethod
    def _no_string_command(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise invalid("a command is a list of arguments (argv), never one string for a shell")
        return value

    @model_validator(mode="after")
    def _check(self) -> RollbackConfig:
        if (self.argv is None) == (self.http is None):
            raise invalid("a rollback needs exactly one of argv (a command) or http (a request)")
        if self.dry_run_argv is not None and self.argv is None:
            raise invalid("dry_run_argv needs argv", "dry_run_argv")
        for key in ("argv", "dry_run_argv"):
            for index, arg in enumerate(getattr(self, key) or []):
                _check_template(arg, f"{key}[{index}]")
        if self.shell:
            for key in ("argv", "dry_run_argv"):
                argv = getattr(self, key)
                if argv is None:
                    continue
                if len(argv) < 3 or argv[1] != "-c" or argv[0] not in ("sh", "bash", "/bin/sh", "/bin/bash"):
                    raise invalid("with shell: true the command must be [sh, -c, SCRIPT, sh, ARGS...]", key)
                if PLACEHOLDER.search(argv[2]):
                    raise invalid(
                        "with shell: true placeholders go in the arguments after the script "
                        '("$1", "$2" in the script), never in the script text',
                        key,
                        2,
                    )
        elif self.argv is not None and self.argv[0] in ("sh", "bash", "/bin/sh", "/bin/bash") and "-c" in self.argv:
            raise invalid("a shell command needs shell: true (values then go in as $1, $2...)", "argv")
        for name, pattern in self.placeholders.items():
            if not PLACEHOLDER.fullmatch("{" + name + "}"):
                raise invalid("expected a placeholder name such as labels.namespace", "placeholders", name)
            try:
                re.compile(pattern)
            except re.error as exc:
                raise invalid(f"not a valid regular expression: {exc.msg}", "placeholders", name) from None
        for name in self.env:
            if name not in CHILD_ENV_ALLOWED:
                raise invalid(
                    "only " + ", ".join(sorted(CHILD_ENV_ALLOWED)) + " may be set for the child", "env", name
                )
        try:
            duration_seconds(self.version_lookback)
        except ValueError as exc:
            raise invalid(str(exc), "version_lookback") from None
        return self

    def template_strings(self) -> list[str]:
        """Every template string of the command or request."""
        if self.http is not None:
            return self.http.template_strings()
        return [*(self.argv or []), *(self.dry_run_argv or [])]

    @property
    def has_dry_run(self) -> bool:
        """Whether a dry-run variant is configured."""
        if self.http is not None:
            return self.http.dry_run_body is not None
        return self.dry_run_argv is not None


class RunbookSettings(StrictModel):
    """Where runbooks come from."""

    dir: str | None = None
    """Local Markdown runbooks, matched by alert name (``<alertname>.md``); ~ expanded.
    Only these may contain runnable ```sh steps."""
    allowed_hosts: list[str] = Field(default_factory=list)
    """Hosts a ``runbook_url`` annotation may be fetched from (https only); empty = none."""
    max_bytes: int = Field(default=1_048_576, gt=0, le=16_777_216)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    placeholders: dict[str, str] = Field(default_factory=dict)
    """Allow-lists for the label variables of ```sh steps, as for rollbacks."""
    step_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    allow_private_addresses: bool = False
    """Fetch from allow-listed hosts that resolve to private (RFC 1918/ULA) addresses, e.g. an
    internal wiki. Loopback and link-local (169.254.169.254) targets are always refused."""

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", host):
                raise invalid("expected a host name such as runbooks.example.com")
        return [h.lower() for h in value]


class SilenceSettings(StrictModel):
    """Defaults of the silence form and of ack."""

    ack_duration: str = "15m"
    ack_comment: str | None = None
    """Default ack comment (default: "acknowledged by <you> via oncall-tui")."""
    ticket_pattern: str | None = None
    """Regex a silence comment must contain a match of, e.g. ``INC-\\d+``."""
    expiry_warning: str = "10m"
    """Warn this long before a silence you created expires."""

    @model_validator(mode="after")
    def _check(self) -> SilenceSettings:
        for key in ("ack_duration", "expiry_warning"):
            try:
                duration_seconds(getattr(self, key))
            except ValueError as exc:
                raise invalid(str(exc), key) from None
        if self.ticket_pattern is not None:
            try:
                re.compile(self.ticket_pattern)
            except re.error as exc:
                raise invalid(f"not a valid regular expression: {exc.msg}", "ticket_pattern") from None
        return self


class AnnotationSettings(StrictModel):
    """Grafana annotations posted for notes and actions (needs a grafana endpoint)."""

    enabled: bool = True
    dashboard_uid: str | None = None
    """Attach to one dashboard; default: an organisation-wide annotation."""
    panel_id: int | None = None
    tags: list[str] = Field(default_factory=list)
    """Extra tags; ``oncall-tui`` and the context name are always added."""
