"""One datasource endpoint: URL, timeouts, auth, TLS, headers and proxy (SECURITY.md R5).

Auth is exactly one of none / basic / bearer / bearer_file; ambiguous combinations (two auth
kinds, URL user-info plus ``auth``, an ``Authorization``/``Cookie`` header plus ``auth``) are
rejected. Credentials are references resolved lazily by :meth:`Endpoint.resolve_auth`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator

from oncall_tui.text.redact import redact_url, register_secret
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.settings.errors import SecretUnavailable
from oncall_tui.settings.base import StrictModel, invalid
from oncall_tui.settings.secrets import SecretRef, read_secret_file

ENDPOINT_KINDS: tuple[str, ...] = ("prometheus", "alertmanager", "loki", "tempo", "grafana")
AUTH_KINDS: tuple[str, ...] = ("basic", "bearer", "bearer_file")
AuthKind = Literal["none", "basic", "bearer", "bearer_file"]

TENANT_HEADER = "X-Scope-OrgID"
_TENANT_PART = r"[A-Za-z0-9!._*'()-]{1,150}"
_TENANT = re.compile(rf"{_TENANT_PART}(\|{_TENANT_PART})*")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CREDENTIAL_HEADERS = ("authorization", "cookie")
_SENSITIVE_PARAM = re.compile(r"(?i)token|key|pass|secret|auth|sig")
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def override_env_name(kind: str, what: str) -> str:
    """Name of a per-endpoint environment override, e.g. ``ONCALL_TUI_PROMETHEUS_TOKEN``."""
    return f"ONCALL_TUI_{kind.upper()}_{what.upper()}"


def _expand(path: str | Path | None) -> Path | None:
    return None if path is None else Path(os.path.expanduser(str(path)))


class BasicAuth(StrictModel):
    """HTTP basic auth: a user name and a password reference."""

    username: str = Field(min_length=1)
    password: SecretRef


class Auth(StrictModel):
    """Exactly one of: ``none`` | ``{basic: ...}`` | ``{bearer: SecretRef}`` | ``{bearer_file: PATH}``."""

    basic: BasicAuth | None = None
    bearer: SecretRef | None = None
    bearer_file: str | None = Field(default=None, min_length=1)
    """Token file re-read by the client on every request (token rotation); mode 0600."""

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        if data is None or data == "none":
            return {}
        if not isinstance(data, dict):
            raise invalid(
                "expected none or exactly one of {basic: {username, password}}, "
                "{bearer: SECRET}, {bearer_file: PATH}"
            )
        present = [k for k in AUTH_KINDS if k in data]
        if len(present) > 1:
            raise invalid(
                "ambiguous auth: choose exactly one of none, basic, bearer, bearer_file, not "
                + " and ".join(repr(k) for k in present)
                + " together"
            )
        return data

    @property
    def kind(self) -> AuthKind:
        """``none``, ``basic``, ``bearer`` or ``bearer_file``."""
        if self.basic is not None:
            return "basic"
        if self.bearer is not None:
            return "bearer"
        if self.bearer_file is not None:
            return "bearer_file"
        return "none"


class TLSConfig(StrictModel):
    """TLS options; verification is always on unless ``insecure_skip_verify`` (+ a CLI flag)."""

    ca_file: Path | None = None
    """CA bundle to verify the server with (instead of the system store)."""
    cert_file: Path | None = None
    """Client certificate for mTLS; needs ``key_file``."""
    key_file: Path | None = None
    key_password: SecretRef | None = None
    """Password of an encrypted ``key_file``."""
    insecure_skip_verify: bool = False
    """Stored only: the app also requires a command-line flag before it disables verification."""

    @field_validator("ca_file", "cert_file", "key_file", mode="after")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return _expand(value)

    @model_validator(mode="after")
    def _pairs(self) -> TLSConfig:
        if self.cert_file is not None and self.key_file is None:
            raise invalid("key_file is required when cert_file is set", "key_file")
        if self.key_file is not None and self.cert_file is None:
            raise invalid("cert_file is required when key_file is set", "cert_file")
        if self.key_password is not None and self.key_file is None:
            raise invalid("key_password needs cert_file and key_file", "key_password")
        return self


@dataclass(frozen=True)
class ResolvedAuth:
    """Credentials ready for the HTTP client; secrets stay in ``SecretStr``."""

    kind: AuthKind
    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    """Bearer token (for ``bearer_file``: the file's current content)."""
    token_file: Path | None = None
    """For ``bearer_file``: re-read it per request with :func:`read_secret_file`."""


def split_userinfo(url: str) -> tuple[str, str | None]:
    """``(url without user-info, user-info or None)``; raises ValueError on a malformed URL."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=hostport)), userinfo


def _check_http_url(value: str, schemes: tuple[str, ...], what: str) -> None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise invalid(f"expected {what}") from None
    if parts.scheme.lower() not in schemes or not parts.hostname or parts.fragment:
        raise invalid(f"expected {what}")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        raise invalid(f"expected {what} (no spaces or control characters)")


class Endpoint(StrictModel):
    """How to reach one datasource (Prometheus, Alertmanager, Loki, Tempo or Grafana)."""

    url: str
    """Base URL, http or https. ``https://user:pass@host`` is moved into basic auth (warning)."""
    timeout: float = Field(default=30.0, gt=0)
    """Read timeout per request, seconds."""
    connect_timeout: float = Field(default=5.0, gt=0)
    """Connect timeout, seconds."""
    auth: Auth = Field(default_factory=Auth)
    tls: TLSConfig = Field(default_factory=TLSConfig)
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra request headers, e.g. ``X-Scope-OrgID`` (tenant)."""
    multi_tenant: bool = False
    """Allow ``a|b`` in ``X-Scope-OrgID`` (multi-tenant queries)."""
    proxy: str | None = None
    """Proxy URL for this endpoint; by default the environment's proxy variables apply."""
    no_proxy: bool = False
    """Ignore proxy environment variables for this endpoint."""
    follow_redirects: bool = False
    """Off by default; when on, the client follows same-origin redirects only."""

    _kind: str = PrivateAttr(default="")
    _auth_override: bool = PrivateAttr(default=False)
    _env: Mapping[str, str] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _userinfo_to_basic(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            return data
        try:
            url, userinfo = split_userinfo(data["url"])
        except ValueError:
            return data  # the url validator reports it
        if userinfo is None:
            return data
        if data.get("auth") not in (None, "none", {}):
            raise invalid(
                "ambiguous auth: user-info in the URL (user:password@) together with 'auth'; "
                "remove the user-info from the URL",
                "url",
            )
        user, sep, password = userinfo.partition(":")
        user, password = unquote(user), unquote(password)
        if not sep or not user or not password:
            raise invalid(
                "URL user-info must be user:password; better use auth: {basic: {username, password}}",
                "url",
            )
        ref = SecretRef.inline(password, origin="URL user-info in config file")
        return {**data, "url": url, "auth": {"basic": {"username": user, "password": ref}}}

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        _check_http_url(value, ("http", "https"), "an http:// or https:// URL with a host")
        for name, param in parse_qsl(urlsplit(value).query, keep_blank_values=True):
            if _SENSITIVE_PARAM.search(name):
                register_secret(param)
        return value

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _check_http_url(value, _PROXY_SCHEMES, "a proxy URL (http, https, socks5 or socks5h)")
        _, userinfo = split_userinfo(value)
        if userinfo:
            register_secret(unquote(userinfo.partition(":")[2]))
        return value

    @model_validator(mode="after")
    def _headers(self) -> Endpoint:
        for name, value in self.headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise invalid("expected a header name (letters, digits, '-')", "headers", name)
            if any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for c in value):
                raise invalid("header value must not contain control characters", "headers", name)
            lower = name.lower()
            if lower in _CREDENTIAL_HEADERS and self.auth.kind != "none":
                raise invalid(
                    f"ambiguous auth: header '{name}' together with auth {self.auth.kind}; "
                    "remove one of them",
                    "headers",
                    name,
                )
            if lower == TENANT_HEADER.lower():
                if not _TENANT.fullmatch(value):
                    raise invalid(
                        "expected tenant id(s) of letters, digits and !._*'()- (1-150 each)",
                        "headers",
                        name,
                    )
                if "|" in value and not self.multi_tenant:
                    raise invalid(
                        "several tenants (a|b) need multi_tenant: true on this endpoint",
                        "headers",
                        name,
                    )
            if lower == "authorization":
                credential = value.split(None, 1)[-1] if value.strip() else value
                register_secret(credential)
                register_secret(value)
        return self

    # ---------------------------------------------------------------- derived facts --
    @property
    def kind(self) -> str:
        """Which datasource this is (``prometheus``...), set by the context; may be ``""``."""
        return self._kind

    @property
    def tenant(self) -> str | None:
        """The ``X-Scope-OrgID`` header value, if any."""
        for name, value in self.headers.items():
            if name.lower() == TENANT_HEADER.lower():
                return value
        return None

    @property
    def display_url(self) -> str:
        """The URL safe to print (credentials and sensitive query values masked)."""
        return redact_url(self.url)

    @property
    def auth_from_url(self) -> bool:
        """True when basic auth came from user-info in the configured URL."""
        basic = self.auth.basic
        return basic is not None and basic.password.describe().startswith("inline (URL")

    def _hint(self, what: str) -> str | None:
        return override_env_name(self._kind, what) if self._kind else None

    def _environ(self, env: Mapping[str, str] | None) -> Mapping[str, str]:
        if env is not None:
            return env
        return self._env if self._env is not None else os.environ

    # ------------------------------------------------------------------ resolution --
    def resolve_auth(
        self, *, env: Mapping[str, str] | None = None, keyring_timeout: float = 5.0
    ) -> ResolvedAuth:
        """Resolve the credentials (env, file, keyring...); raises :class:`SecretUnavailable`.

        ``env`` defaults to the environment the settings were loaded with.
        """
        environ = self._environ(env)
        label = self._kind or "endpoint"
        auth = self.auth
        try:
            if auth.basic is not None:
                password = auth.basic.password.resolve(
                    env=environ, keyring_timeout=keyring_timeout, hint=self._hint("password")
                )
                return ResolvedAuth("basic", username=auth.basic.username, password=password)
            if auth.bearer is not None:
                token = auth.bearer.resolve(
                    env=environ, keyring_timeout=keyring_timeout, hint=self._hint("token")
                )
                return ResolvedAuth("bearer", token=token)
            if auth.bearer_file is not None:
                path = _expand(auth.bearer_file)
                return ResolvedAuth("bearer_file", token=read_secret_file(path), token_file=path)
        except SecretUnavailable as exc:
            raise SecretUnavailable(f"{label} {auth.kind} auth: {exc}") from None
        return ResolvedAuth("none")

    def resolve_key_password(
        self, *, env: Mapping[str, str] | None = None, keyring_timeout: float = 5.0
    ) -> SecretStr | None:
        """The TLS client key password, if configured; raises :class:`SecretUnavailable`."""
        ref = self.tls.key_password
        if ref is None:
            return None
        try:
            return ref.resolve(env=self._environ(env), keyring_timeout=keyring_timeout)
        except SecretUnavailable as exc:
            raise SecretUnavailable(f"{self._kind or 'endpoint'} tls.key_password: {exc}") from None

    def describe_auth(self) -> str:
        """Where the credentials come from, never their value (for ``oncall-tui check``)."""
        auth = self.auth
        suffix = " (override)" if self._auth_override else ""
        if auth.basic is not None:
            user = sanitize_for_display(auth.basic.username, max_chars=100)
            return f"basic {user}, password from {auth.basic.password.describe()}{suffix}"
        if auth.bearer is not None:
            return f"bearer token from {auth.bearer.describe()}{suffix}"
        if auth.bearer_file is not None:
            path = sanitize_for_display(auth.bearer_file, max_chars=200)
            return f"bearer token from file {path} (re-read per request){suffix}"
        headers = [n for n in self.headers if n.lower() in _CREDENTIAL_HEADERS]
        if headers:
            return f"header {', '.join(headers)} (inline in config file)"
        return "none"

    def describe_tls(self) -> str:
        """TLS verification and client-certificate summary."""
        tls = self.tls
        if tls.insecure_skip_verify:
            text = "INSECURE: certificate verification disabled (needs the CLI flag too)"
        elif tls.ca_file is not None:
            text = f"verify with CA file {sanitize_for_display(str(tls.ca_file))}"
        else:
            text = "verify with the system CA store"
        if tls.cert_file is not None:
            text += f", client certificate {sanitize_for_display(str(tls.cert_file))}"
        return text

    def describe_proxy(self, env: Mapping[str, str] | None = None) -> str:
        """The proxy this endpoint would use, credentials masked."""
        if self.proxy is not None:
            return f"{redact_url(self.proxy)} (config)"
        if self.no_proxy:
            return "none (environment proxies ignored)"
        environ = self._environ(env)
        scheme = urlsplit(self.url).scheme.lower()
        for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY", "all_proxy", "ALL_PROXY"):
            value = environ.get(name)
            if value:
                return f"{redact_url(value)} (environment {name}; NO_PROXY may exempt this host)"
        return "none"
