"""Where runbooks come from: a local directory (runnable) or an alert's ``runbook_url`` (display-only).

SECURITY.md R5.7, R3.4, R1.6. URL runbooks are fetched by :class:`RunbookFetcher`'s own
``httpx.AsyncClient``: it never carries a datasource's credentials or headers (no
Authorization, Cookie, X-Scope-OrgID), fetches ``https://`` only, only from allow-listed hosts,
never from a host that resolves to a loopback, link-local (169.254.169.254 cloud metadata),
private or otherwise non-public address, follows at most 3 redirects itself and only to targets
that pass the same checks, streams the body and stops at ``max_bytes`` (a visible "truncated"
marker), and gives up after ``timeout_seconds`` overall. Their code blocks never run.

Local runbooks are ``<dir>/<alertname>.md`` (the name made a safe file name; nothing outside
``dir`` is read, symlinks included), then the service's ``runbook`` setting. A local file or
directory writable by other users is shown but its steps are disabled.

Known limit: the DNS check and httpx's connection resolve the name separately (a rebinding
DNS server could answer differently the second time); the allow-list is the primary control.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
import stat
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx

from oncall_tui.text.redact import redact, redact_url
from oncall_tui.core.runbook import classify_link, is_ip_literal
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.settings.actions import RunbookSettings

__all__ = [
    "MAX_REDIRECTS",
    "Runbook",
    "RunbookFetcher",
    "RunbookLookup",
    "RunbookRefused",
    "RunbookUnavailable",
    "address_problem",
    "safe_file_name",
]

MAX_REDIRECTS = 3
_REDIRECTS = (301, 302, 303, 307, 308)
_USER_AGENT = "oncall-tui (runbook fetcher)"
_TRUNCATED = "\n\n…[truncated at {n} bytes]"

Resolver = Callable[[str, int], Awaitable[list[str]]]


class RunbookUnavailable(Exception):
    """The runbook could not be read (network, HTTP status, file). ``str()`` is safe to show."""


class RunbookRefused(RunbookUnavailable):
    """A target was refused by policy (scheme, host allow-list, address, redirect)."""


@dataclass(frozen=True)
class Runbook:
    """A runbook's text and where it came from. URL runbooks are never runnable."""

    source: Literal["local", "url"]
    origin: str
    """The local file path, or the URL (redacted) it was fetched from."""
    text: str
    runnable: bool
    truncated: bool = False
    note: str = ""
    """Why its steps are disabled, or other things to show in the header."""


@dataclass
class RunbookLookup:
    """What :meth:`RunbookFetcher.find` found, and every place it looked (for "not found")."""

    runbook: Runbook | None
    tried: list[str] = field(default_factory=list)
    url: str | None = None
    """The alert's ``runbook_url`` annotation, if any."""


def safe_file_name(name: str) -> str | None:
    """An alert name as a file name: ``[A-Za-z0-9_.-]`` only, no leading dot; None if empty."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:200].lstrip(".")
    return safe or None


def address_problem(address: str, *, allow_private: bool = False) -> str | None:
    """Why connecting to ``address`` is refused, or None. Loopback, link-local, multicast,
    unspecified and reserved addresses always are; private/shared ones unless ``allow_private``."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0].strip("[]"))
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address (e.g. cloud metadata)"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "not a public unicast address"
    if not ip.is_global and not allow_private:
        return "private address (set runbooks.allow_private_addresses to allow internal hosts)"
    return None


async def _system_resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _shown(url: str) -> str:
    return sanitize_for_display(redact_url(url), max_chars=300)


class RunbookFetcher:
    """Finds and reads runbooks. Its HTTP client is separate from every datasource client."""

    def __init__(
        self,
        settings: RunbookSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.resolver = resolver or _system_resolve
        self.base_dir = base_dir
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    # -------------------------------------------------------------- plumbing --
    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            timeout = httpx.Timeout(self.settings.timeout_seconds, connect=min(5.0, self.settings.timeout_seconds))
            self._http = httpx.AsyncClient(
                transport=self._transport,
                follow_redirects=False,
                timeout=timeout,
                headers={"User-Agent": _USER_AGENT},
                auth=None,
                cookies=None,
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def directory(self) -> Path | None:
        """The local runbook directory (``~`` expanded; relative to ``base_dir``), or None."""
        if not self.settings.dir:
            return None
        path = Path(os.path.expanduser(self.settings.dir))
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return path

    # ------------------------------------------------------------------ find --
    async def find(
        self,
        alertname: str | None,
        *,
        annotations: Mapping[str, str] | None = None,
        service_runbook: str | None = None,
    ) -> RunbookLookup:
        """Local ``<alertname>.md``, then the service's runbook file, then ``runbook_url``.

        Never raises for "not found" or "refused": ``tried`` says where it looked and why a
        URL was not fetched.
        """
        url = (annotations or {}).get("runbook_url") or None
        lookup = RunbookLookup(None, url=url)
        local = await asyncio.to_thread(self._find_local, alertname, service_runbook, lookup.tried)
        if local is not None:
            lookup.runbook = local
            return lookup
        if url:
            try:
                lookup.runbook = await self.fetch_url(url)
            except RunbookUnavailable as exc:
                lookup.tried.append(f"runbook_url {_shown(url)}: not fetched: {exc}")
        else:
            lookup.tried.append("runbook_url: the alert has no runbook_url annotation")
        return lookup

    # ----------------------------------------------------------------- local --
    def _find_local(self, alertname: str | None, service_runbook: str | None, tried: list[str]) -> Runbook | None:
        directory = self.directory
        if directory is None:
            tried.append("local: no runbook directory configured (runbooks.dir)")
            return None
        candidates: list[tuple[str, str]] = []
        if alertname:
            safe = safe_file_name(alertname)
            if safe:
                candidates.append((f"{safe}.md", "alert name"))
        if service_runbook:
            candidates.append((service_runbook, "service runbook"))
        if not candidates:
            tried.append(f"local: {sanitize_for_display(str(directory))}: nothing to look for (no alert name)")
        for name, why in candidates:
            try:
                found = self.read_local(directory, name)
            except RunbookUnavailable as exc:
                tried.append(f"local ({why}): {exc}")
                continue
            if found is not None:
                return found
            tried.append(f"local ({why}): {sanitize_for_display(str(directory / name))} does not exist")
        return None

    def read_local(self, directory: Path, name: str) -> Runbook | None:
        """``directory/name`` if it exists inside ``directory``; None if missing."""
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or not name.strip():
            raise RunbookRefused(f"{sanitize_for_display(name)!r} is not a file name inside the runbook directory")
        try:
            root = directory.resolve(strict=True)
        except OSError:
            raise RunbookUnavailable(f"the runbook directory {sanitize_for_display(str(directory))} does not exist") from None
        path = directory / rel
        try:
            real = path.resolve(strict=True)
        except OSError:
            return None
        if not real.is_relative_to(root):
            raise RunbookRefused(f"{sanitize_for_display(str(path))} points outside the runbook directory")
        if not real.is_file():
            raise RunbookUnavailable(f"{sanitize_for_display(str(path))} is not a file")
        cap = self.settings.max_bytes
        try:
            with real.open("rb") as fh:
                data = fh.read(cap + 1)
            writable = _writable_by_others(real) or _writable_by_others(root)
        except OSError as exc:
            raise RunbookUnavailable(f"cannot read {sanitize_for_display(str(path))}: {sanitize_for_display(exc.strerror or str(exc))}") from None
        truncated = len(data) > cap
        text = data[:cap].decode("utf-8", errors="replace")
        if truncated:
            text += _TRUNCATED.format(n=cap)
        note = "steps disabled: the file or its directory is writable by other users" if writable else ""
        return Runbook("local", str(path), text, runnable=not writable, truncated=truncated, note=note)

    # ------------------------------------------------------------------- url --
    async def check_target(self, url: str) -> None:
        """Raise :class:`RunbookRefused` unless ``url`` may be fetched (policy + DNS)."""
        if not self.settings.allowed_hosts:
            raise RunbookRefused(
                "no runbook hosts are allow-listed; to fetch it, add its host to "
                "runbooks.allowed_hosts in the config (https only)"
            )
        verdict = classify_link(url, self.settings.allowed_hosts)
        if not verdict.allowed:
            reason = verdict.reason
            if reason == "host not allow-listed":
                host = sanitize_for_display(urlsplit(url.strip()).hostname or "", max_chars=120)
                reason = f"host {host} is not in runbooks.allowed_hosts"
            raise RunbookRefused(reason)
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        if is_ip_literal(host):  # classify_link refuses these too; keep the check local
            raise RunbookRefused("IP-literal host")
        try:
            addresses = await self.resolver(host, parts.port or 443)
        except (OSError, UnicodeError) as exc:
            raise RunbookUnavailable(f"cannot resolve {sanitize_for_display(host)}: {sanitize_for_display(str(exc), max_chars=200)}") from None
        if not addresses:
            raise RunbookUnavailable(f"{sanitize_for_display(host)} has no address")
        for address in addresses:
            problem = address_problem(address, allow_private=self.settings.allow_private_addresses)
            if problem:
                raise RunbookRefused(f"{sanitize_for_display(host)} resolves to {sanitize_for_display(address)}: {problem}")

    async def fetch_url(self, url: str) -> Runbook:
        """GET the runbook over https (display-only); raises :class:`RunbookUnavailable`."""
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                return await self._fetch(url)
        except TimeoutError:
            raise RunbookUnavailable(f"no answer within {self.settings.timeout_seconds:g}s") from None
        except httpx.HTTPError as exc:
            detail = redact(sanitize_for_display(str(exc) or type(exc).__name__, max_chars=200))
            raise RunbookUnavailable(f"{type(exc).__name__}: {detail}") from None

    async def _fetch(self, url: str) -> Runbook:
        current = url.strip()
        client = self._client()
        for hop in range(MAX_REDIRECTS + 1):
            await self.check_target(current)
            client.cookies.clear()
            async with client.stream(
                "GET", current, headers={"Accept": "text/markdown, text/plain;q=0.9, */*;q=0.1"}
            ) as response:
                if response.status_code in _REDIRECTS:
                    location = response.headers.get("location", "")
                    if not location:
                        raise RunbookUnavailable(f"HTTP {response.status_code} redirect without a Location")
                    target = urljoin(current, location.strip())
                    if hop == MAX_REDIRECTS:
                        raise RunbookRefused(f"more than {MAX_REDIRECTS} redirects")
                    try:
                        await self.check_target(target)
                    except RunbookRefused as exc:
                        raise RunbookRefused(f"redirect to {_shown(target)} refused: {exc}") from None
                    current = target
                    continue
                if response.status_code != 200:
                    raise RunbookUnavailable(f"HTTP {response.status_code} from {_shown(current)}")
                data, truncated = await self._read_capped(response)
            text = data.decode(_charset(response.headers.get("content-type", "")), errors="replace")
            if truncated:
                text += _TRUNCATED.format(n=self.settings.max_bytes)
            note = "fetched from a URL: display-only (its steps never run)"
            return Runbook("url", redact_url(current), text, runnable=False, truncated=truncated, note=note)
        raise RunbookRefused(f"more than {MAX_REDIRECTS} redirects")  # pragma: no cover - loop returns/raises

    async def _read_capped(self, response: httpx.Response) -> tuple[bytes, bool]:
        cap = self.settings.max_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                return b"".join(chunks)[:cap], True
        return b"".join(chunks), False


def _charset(content_type: str) -> str:
    m = re.search(r"charset=([A-Za-z0-9._-]{1,40})", content_type)
    if m:
        try:
            "".encode(m.group(1))
            return m.group(1)
        except LookupError:
            pass
    return "utf-8"


def _writable_by_others(path: Path) -> bool:
    """Group- or world-writable (a sticky directory still lets others add files)."""
    return bool(path.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH))
