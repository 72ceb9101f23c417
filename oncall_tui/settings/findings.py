"""Warnings about a config that works but should change (SECURITY.md R5.8).

Inline secrets (plain strings, URL user-info, credentials in headers, proxy user-info,
token-looking query parameters) and disabled TLS verification. Each warning names the file,
line and key, never the value.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from oncall_tui.settings.endpoint import Endpoint, split_userinfo
from oncall_tui.settings.model import Settings
from oncall_tui.settings.secrets import SecretRef
from oncall_tui.settings.source import KeyPath, Locator, format_path

_USE_REF = "use {env: NAME}, {file: PATH} (mode 0600) or {keyring: SERVICE/USER} instead"
_SENSITIVE_PARAM = ("token", "key", "pass", "secret", "auth", "sig")


def _secret_refs(endpoint: Endpoint) -> list[tuple[KeyPath, SecretRef]]:
    refs: list[tuple[KeyPath, SecretRef | None]] = [
        (("auth", "basic", "password"), endpoint.auth.basic and endpoint.auth.basic.password),
        (("auth", "bearer"), endpoint.auth.bearer),
        (("tls", "key_password"), endpoint.tls.key_password),
    ]
    return [(path, ref) for path, ref in refs if ref is not None]


def _endpoint_findings(endpoint: Endpoint) -> list[tuple[KeyPath, str]]:
    found: list[tuple[KeyPath, str]] = []
    for path, ref in _secret_refs(endpoint):
        if ref.kind != "inline":
            continue
        if endpoint.auth_from_url and path == ("auth", "basic", "password"):
            found.append(
                (
                    ("url",),
                    "user-info (user:password@) in the URL is an inline secret; it is used as "
                    "basic auth and stripped from the URL. Use auth: {basic: {username: ..., "
                    "password: {env: NAME}}} instead",
                )
            )
        else:
            found.append((path, f"inline secret in the config file; {_USE_REF}"))
    for name in endpoint.headers:
        if name.lower() in ("authorization", "cookie"):
            found.append(
                (("headers", name), "credential in a header is an inline secret; use auth: instead")
            )
    for name, _ in parse_qsl(urlsplit(endpoint.url).query, keep_blank_values=True):
        if any(word in name.lower() for word in _SENSITIVE_PARAM):
            found.append((("url",), "a query parameter in the URL looks like an inline secret"))
    if endpoint.proxy and split_userinfo(endpoint.proxy)[1]:
        found.append((("proxy",), "the proxy URL contains credentials (inline secret)"))
    if endpoint.tls.insecure_skip_verify:
        found.append(
            (
                ("tls", "insecure_skip_verify"),
                "TLS verification is disabled here; it only takes effect with the command-line "
                "flag too, and the app then shows a permanent warning",
            )
        )
    return found


def collect_warnings(settings: Settings, locator: Locator) -> list[str]:
    """Warnings for ``settings``; inline secrets set from the environment are not flagged."""
    warnings: list[str] = []
    for context_name, context in settings.contexts.items():
        for kind, endpoint in context.configured_endpoints():
            base: KeyPath = ("contexts", context_name, "endpoints", kind)
            for path, ref in _secret_refs(endpoint):
                var = locator.env_var((*base, *path))
                if ref.kind == "inline" and var is not None:
                    ref._origin = f"from environment {var}"
            for path, message in _endpoint_findings(endpoint):
                full = (*base, *path)
                if locator.env_var(full) is None:
                    warnings.append(f"{locator.origin(full)}: {format_path(full)}: {message}")
    return warnings
