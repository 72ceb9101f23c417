"""Build one long-lived ``httpx.AsyncClient`` per configured endpoint (DESIGN.md "clients").

Credentials come from the settings' secret references, resolved once here; the values live
only inside the httpx auth objects below and are registered for redaction. TLS verification
is always on (custom CA and client certificates supported, TLS 1.2 minimum); redirects are
never followed by httpx itself (:class:`~oncall_tui.clients.http.ApiClient` decides).
"""

from __future__ import annotations

import base64
import functools
import os
import ssl
from collections.abc import Generator, Mapping
from pathlib import Path

import httpx
from pydantic import SecretStr

from oncall_tui import __version__
from oncall_tui.clients.errors import AuthFailed, SourceUnavailable
from oncall_tui.text.redact import register_secret
from oncall_tui.settings import Endpoint, SecretUnavailable, read_secret_file

USER_AGENT = f"oncall-tui/{__version__}"


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer`` from a secret held as SecretStr (never in a repr)."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


class BearerFileAuth(httpx.Auth):
    """Bearer token re-read from a file on every request (rotated service-account tokens)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        try:
            token = read_secret_file(self._path)  # permission-checked, registered for redaction
        except SecretUnavailable as exc:
            raise AuthFailed(f"bearer_file unusable: {exc}") from None
        request.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return f"BearerFileAuth({self._path})"


class BasicAuth(httpx.Auth):
    """HTTP basic auth whose password stays a SecretStr until the request is built."""

    def __init__(self, username: str, password: SecretStr) -> None:
        self._username = username
        self._password = password
        # The header carries base64("user:password"): mask that form too if anything echoes it.
        encoded = base64.b64encode(f"{username}:{password.get_secret_value()}".encode()).decode()
        register_secret(encoded)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        header = httpx.BasicAuth(self._username, self._password.get_secret_value())
        yield from header.auth_flow(request)

    def __repr__(self) -> str:
        return f"BasicAuth({self._username!r}, ***)"


@functools.lru_cache(maxsize=16)
def _ssl_context(
    ca_file: str | None, cert_file: str | None, key_file: str | None, key_password: str | None
) -> ssl.SSLContext:
    """One context per distinct TLS setting (building one costs ~20 ms)."""
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file:
        ctx.load_cert_chain(cert_file, key_file, password=key_password)
    return ctx


@functools.lru_cache(maxsize=1)
def _no_tls_context() -> ssl.SSLContext:
    """For plain-http endpoints: verification on but no trust roots, so any TLS fails closed.

    Loading the system CA store costs ~45 ms at start-up for a context nothing would use.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _may_use_tls(endpoint: Endpoint) -> bool:
    """Whether a request to this endpoint can involve TLS (an https URL or an https proxy)."""
    if not str(endpoint.url).startswith("http://") or (endpoint.tls.ca_file or endpoint.tls.cert_file):
        return True
    if endpoint.proxy and not str(endpoint.proxy).startswith("http://"):
        return True
    if not endpoint.no_proxy:  # proxies from the environment
        return any(
            not os.environ.get(name, "").startswith("http://")
            for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
            if os.environ.get(name)
        )
    return False


def _auth_for(endpoint: Endpoint, kind: str, env: Mapping[str, str] | None) -> httpx.Auth | None:
    try:
        resolved = endpoint.resolve_auth(env=env)
    except SecretUnavailable as exc:
        raise AuthFailed(f"credential unavailable: {exc}", source=kind) from None
    if resolved.kind == "basic":
        assert resolved.username is not None and resolved.password is not None
        return BasicAuth(resolved.username, resolved.password)
    if resolved.kind == "bearer":
        assert resolved.token is not None
        return BearerAuth(resolved.token)
    if resolved.kind == "bearer_file":
        assert resolved.token_file is not None
        return BearerFileAuth(resolved.token_file)
    return None


def _verify_for(endpoint: Endpoint, kind: str, allow_insecure: bool) -> ssl.SSLContext | bool:
    tls = endpoint.tls
    if tls.insecure_skip_verify:
        if not allow_insecure:
            raise SourceUnavailable(
                "tls.insecure_skip_verify is set in the config but --insecure was not given",
                source=kind,
            )
        return False
    if not _may_use_tls(endpoint):
        return _no_tls_context()
    try:
        secret = endpoint.resolve_key_password()
    except SecretUnavailable as exc:
        raise AuthFailed(f"client key password unavailable: {exc}", source=kind) from None
    key_password = secret.get_secret_value() if secret is not None else None
    try:
        return _ssl_context(
            str(tls.ca_file) if tls.ca_file else None,
            str(tls.cert_file) if tls.cert_file else None,
            str(tls.key_file) if tls.key_file else None,
            key_password,
        )
    except (OSError, ssl.SSLError) as exc:
        raise SourceUnavailable(f"TLS setup failed: {exc}", source=kind) from None


def build_http_client(
    endpoint: Endpoint,
    *,
    kind: str,
    env: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    allow_insecure: bool = False,
) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` for one endpoint. Raises AuthFailed/SourceUnavailable."""
    auth = _auth_for(endpoint, kind, env)
    verify = _verify_for(endpoint, kind, allow_insecure)
    return httpx.AsyncClient(
        base_url=endpoint.url,
        auth=auth,
        headers={"User-Agent": USER_AGENT, **dict(endpoint.headers)},
        timeout=httpx.Timeout(endpoint.timeout, connect=endpoint.connect_timeout),
        follow_redirects=False,
        verify=verify,
        proxy=endpoint.proxy,
        trust_env=not endpoint.no_proxy,
        transport=transport,
    )
