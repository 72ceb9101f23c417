"""Environment overrides: ``ONCALL_TUI_*`` variables beat the config file.

Three schemes, applied to the raw YAML data before validation (so their values are checked
like the file's, and problems name the variable):

- ``ONCALL_TUI_CONTEXT`` (current context), ``ONCALL_TUI_READ_ONLY`` (1/true/yes forces every
  context read-only);
- per endpoint of the current context: ``ONCALL_TUI_<DS>_URL``, ``_TOKEN``, ``_USERNAME`` +
  ``_PASSWORD``, ``_TENANT`` for DS in PROMETHEUS, ALERTMANAGER, LOKI, TEMPO, GRAFANA;
- any key path, segments joined by ``__``, matched case-insensitively with ``-`` and ``_`` alike:
  ``ONCALL_TUI_CONTEXTS__PROD_EU__ENDPOINTS__PROMETHEUS__TIMEOUT=60`` (values read as YAML).
  ``ONCALL_TUI_REFRESH_SECONDS`` is one of these.

Anything else is ignored. Secret values from the environment are only ever referenced
(``{env: ONCALL_TUI_PROMETHEUS_TOKEN}``), never copied into messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.settings import schema
from oncall_tui.settings.endpoint import (
    ENDPOINT_KINDS,
    TENANT_HEADER,
    override_env_name,
    split_userinfo,
)
from oncall_tui.settings.errors import ConfigProblem
from oncall_tui.settings.model import Settings
from oncall_tui.settings.source import KeyPath, format_path

PREFIX = "ONCALL_TUI_"
CONFIG_VAR = "ONCALL_TUI_CONFIG"
CONTEXT_VAR = "ONCALL_TUI_CONTEXT"
READ_ONLY_VAR = "ONCALL_TUI_READ_ONLY"
DEFAULT_CONTEXT = "default"
_ENDPOINT_FIELDS = ("URL", "TOKEN", "USERNAME", "PASSWORD", "TENANT")
_SPECIAL = {CONFIG_VAR, CONTEXT_VAR, READ_ONLY_VAR} | {
    override_env_name(kind, what) for kind in ENDPOINT_KINDS for what in _ENDPOINT_FIELDS
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_CREATABLE = {("keymap",)}  # dicts whose new keys may come from the environment


@dataclass
class Overlay:
    """The data with overrides applied, and what the loader needs to know about them."""

    data: dict[str, Any]
    origins: dict[KeyPath, str] = field(default_factory=dict)
    """Key path → the variable that set it."""
    auth_overrides: set[tuple[str, str]] = field(default_factory=set)
    """(context, endpoint kind) whose auth came from ``ONCALL_TUI_<DS>_TOKEN``/``_PASSWORD``."""
    warnings: list[str] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)


def _copy(value: Any) -> Any:
    """Copy plain YAML data; aliases become independent copies (overrides touch one place)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _norm(text: str) -> str:
    return text.lower().replace("-", "_")


def _parse_value(raw: str, tp: Any) -> Any:
    if schema.is_text(tp) and not raw.lstrip().startswith("{"):
        return raw
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def _find_key(container: Any, tp: Any, segment: str, path: KeyPath) -> str | int | None:
    """The existing (or known) key that ``segment`` names in ``container``."""
    wanted = _norm(segment)
    if isinstance(container, list):
        if segment.isdigit() and int(segment) < len(container):
            return int(segment)
        for index, item in enumerate(container):
            if isinstance(item, dict) and _norm(str(item.get("name", ""))) == wanted:
                return index
        return None
    existing = container if isinstance(container, dict) else {}
    for key in existing:
        if isinstance(key, str) and _norm(key) == wanted:
            return key
    for key in schema.model_keys(tp):
        if _norm(key) == wanted:
            return key
    if path in _CREATABLE:
        return segment.lower()
    return None


def _apply_generic(overlay: Overlay, name: str, raw: str) -> None:
    segments = name[len(PREFIX) :].split("__")
    container: Any = overlay.data
    tp: Any = Settings
    path: KeyPath = ()
    for position, segment in enumerate(segments):
        key = _find_key(container, tp, segment, path) if segment else None
        if key is None:
            if position > 0:  # it started like a real key path: say why it did nothing
                overlay.warnings.append(
                    f"environment {name}: no key '{sanitize_for_display(segment, max_chars=64)}' "
                    f"under {format_path(path) or 'the top level'}; ignored"
                )
            return
        child_tp = schema.child_type(tp, key)
        path = (*path, key)
        if position == len(segments) - 1:
            container[key] = _parse_value(raw, child_tp)
            overlay.origins[path] = name
            return
        child = container[key] if isinstance(container, list) else container.get(key)
        if not isinstance(child, (dict, list)):
            child = [] if schema.is_list(child_tp) else {}
            container[key] = child
        container, tp = child, child_tp


def _current_context(data: dict[str, Any]) -> str | None:
    contexts = data.get("contexts")
    current = data.get("current_context")
    if isinstance(current, str):
        return current
    if isinstance(contexts, dict) and contexts:
        return str(next(iter(contexts)))
    return None


def _endpoint_overrides(overlay: Overlay, env: Mapping[str, str]) -> None:
    data = overlay.data
    for kind in ENDPOINT_KINDS:
        values = {w: env.get(override_env_name(kind, w)) or None for w in _ENDPOINT_FIELDS}
        if not any(values.values()):
            continue
        var = {w: override_env_name(kind, w) for w in _ENDPOINT_FIELDS}
        current = _current_context(data)
        if values["URL"] and not data.get("contexts"):  # no file (or no contexts): create one
            current = current or DEFAULT_CONTEXT
            data["contexts"] = {current: {}}
        contexts = data.get("contexts")
        context = contexts.get(current) if isinstance(contexts, dict) else None
        if not isinstance(context, dict):
            if current is not None:
                continue  # an unknown current context is reported by validation
            set_vars = ", ".join(var[w] for w, v in values.items() if v)
            overlay.warnings.append(
                f"environment {set_vars}: no context to apply it to; set {var['URL']} too"
            )
            continue
        if not isinstance(context.get("endpoints"), dict):
            context["endpoints"] = {}
        endpoints = context["endpoints"]
        base: KeyPath = ("contexts", current, "endpoints", kind)
        if values["URL"]:
            if not isinstance(endpoints.get(kind), dict):
                endpoints[kind] = {}
            endpoints[kind]["url"] = values["URL"]
            overlay.origins[(*base, "url")] = var["URL"]
        endpoint = endpoints.get(kind)
        if not isinstance(endpoint, dict):
            set_vars = ", ".join(var[w] for w, v in values.items() if v)
            overlay.warnings.append(
                f"environment {set_vars}: context '{sanitize_for_display(current)}' has no "
                f"{kind} endpoint; set {var['URL']} too (ignored)"
            )
            continue
        _auth_override(overlay, endpoint, base, values, var, (current, kind))
        if values["TENANT"]:
            headers = endpoint.get("headers")
            headers = {
                k: v
                for k, v in (headers.items() if isinstance(headers, dict) else [])
                if str(k).lower() != TENANT_HEADER.lower()
            }
            headers[TENANT_HEADER] = values["TENANT"]
            endpoint["headers"] = headers
            overlay.origins[(*base, "headers", TENANT_HEADER)] = var["TENANT"]


def _auth_override(
    overlay: Overlay,
    endpoint: dict[str, Any],
    base: KeyPath,
    values: dict[str, str | None],
    var: dict[str, str],
    target: tuple[str, str],
) -> None:
    token, user, password = values["TOKEN"], values["USERNAME"], values["PASSWORD"]
    if token and (user or password):
        other = var["USERNAME"] if user else var["PASSWORD"]
        overlay.problems.append(
            ConfigProblem(
                f"environment {var['TOKEN']}",
                format_path((*base, "auth")),
                f"ambiguous auth: both {var['TOKEN']} and {other} are set; unset one",
            )
        )
        return
    if bool(user) != bool(password):
        have, need = (var["USERNAME"], var["PASSWORD"]) if user else (var["PASSWORD"], var["USERNAME"])
        overlay.problems.append(
            ConfigProblem(f"environment {have}", format_path((*base, "auth")), f"needs {need} too")
        )
        return
    if token:
        endpoint["auth"] = {"bearer": {"env": var["TOKEN"]}}
        origin = var["TOKEN"]
    elif user:
        endpoint["auth"] = {"basic": {"username": user, "password": {"env": var["PASSWORD"]}}}
        origin = var["PASSWORD"]
    else:
        return
    # The override replaces every form of file auth: URL user-info and Authorization headers.
    url = endpoint.get("url")
    if isinstance(url, str):
        try:
            endpoint["url"] = split_userinfo(url)[0]
        except ValueError:
            pass  # the url validator reports it
    headers = endpoint.get("headers")
    if isinstance(headers, dict):
        endpoint["headers"] = {k: v for k, v in headers.items() if str(k).lower() != "authorization"}
    overlay.origins[(*base, "auth")] = origin
    overlay.auth_overrides.add(target)


def _read_only(overlay: Overlay, raw: str | None) -> None:
    if raw is None:
        return
    value = raw.strip().lower()
    if value in _FALSE:
        return
    if value not in _TRUE:
        overlay.problems.append(
            ConfigProblem(f"environment {READ_ONLY_VAR}", "", "expected 1/true/yes or 0/false/no")
        )
        return
    contexts = overlay.data.get("contexts")
    if isinstance(contexts, dict):
        for name, context in contexts.items():
            if isinstance(context, dict):
                context["read_only"] = True
                overlay.origins[("contexts", name, "read_only")] = READ_ONLY_VAR


def apply_env_overrides(data: dict[str, Any], env: Mapping[str, str]) -> Overlay:
    """Return a copy of ``data`` with every ``ONCALL_TUI_*`` override applied."""
    overlay = Overlay(_copy(data))
    for name in sorted(env):
        if name.startswith(PREFIX) and name not in _SPECIAL:
            _apply_generic(overlay, name, env[name])
    if env.get(CONTEXT_VAR):
        overlay.data["current_context"] = env[CONTEXT_VAR]
        overlay.origins[("current_context",)] = CONTEXT_VAR
    _endpoint_overrides(overlay, env)
    _read_only(overlay, env.get(READ_ONLY_VAR))
    return overlay
