"""``oncall-tui serve``: the app in a browser, for incident commanders who follow an incident.

Each browser tab gets its own ``oncall-tui`` process (textual-serve's web driver), always
**read-only**: the command it runs carries ``--readonly`` and ``ONCALL_TUI_READ_ONLY=1``, which
no key or page can lift (the action layer refuses every write, as for ``--readonly``).

Access needs the random token printed at start (or the one in ``--token-file``): the first
request carries it as ``?token=``, is answered with an HttpOnly, SameSite=Strict cookie and a
redirect to a URL without it (so it stays out of history and Referer headers); every other
request, the websocket included, needs that cookie. Without it: 403, and no process starts.
``--max-sessions`` caps the processes; a closed tab ends its process. The token is never
logged (no access log; log records are redacted).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import os
import secrets
import shlex
import stat
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from oncall_tui.settings.env import READ_ONLY_VAR

log = logging.getLogger(__name__)

COOKIE = "oncall_tui_session"
MIN_TOKEN_CHARS = 16
#: How long a closed tab's process gets to quit before it is killed.
QUIT_GRACE_SECONDS = 5.0
FORBIDDEN = "403 Forbidden: oncall-tui serve needs the token of the URL it printed at start.\n"
BUSY = "503: oncall-tui serve already runs {n} sessions (--max-sessions); close a tab and reload.\n"
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


class ServeError(Exception):
    """A setting ``serve`` cannot start with (the message says which and why)."""


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    token: str = ""
    max_sessions: int = 4
    public_url: str | None = None
    title: str = "oncall-tui (read-only)"


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost``: reachable from this host only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token_file(path: str | os.PathLike[str]) -> str:
    """The token in ``path`` (first line); refused when short or readable by others."""
    p = Path(path)
    try:
        st = p.stat()
        token = p.read_text(encoding="utf-8").splitlines()[0].strip() if st.st_size else ""
    except (OSError, UnicodeDecodeError, IndexError) as exc:
        raise ServeError(f"--token-file {p}: cannot read it ({getattr(exc, 'strerror', None) or type(exc).__name__})") from None
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise ServeError(f"--token-file {p}: readable by other users; chmod 600 {p}")
    if len(token) < MIN_TOKEN_CHARS:
        raise ServeError(f"--token-file {p}: the token must be at least {MIN_TOKEN_CHARS} characters")
    return token


def new_token() -> str:
    return secrets.token_urlsafe(24)


def app_command(app_args: Sequence[str]) -> str:
    """The shell command each session runs: this interpreter's oncall-tui, forced read-only."""
    return shlex.join([sys.executable, "-m", "oncall_tui", "--readonly", *app_args])


class ReadOnlyServer(Server):
    """textual-serve's server behind a token, with a cap on sessions and their processes."""

    def __init__(self, command: str, options: ServeOptions) -> None:
        if not options.token:
            raise ServeError("serve needs a token")
        if options.max_sessions < 1:
            raise ServeError("--max-sessions must be at least 1")
        host = f"[{options.host}]" if ":" in options.host else options.host
        super().__init__(command, host=options.host, port=options.port, title=options.title,
                         public_url=options.public_url or f"http://{host}:{options.port}")
        self.options = options
        self.sessions: set[AppService] = set()

    # -------------------------------------------------------------------- guard --
    def authorised(self, request: web.Request) -> bool:
        supplied = request.query.get("token") or request.cookies.get(COOKIE) or ""
        return hmac.compare_digest(supplied.encode(), self.options.token.encode())

    @web.middleware
    async def guard(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if not self.authorised(request):
            return web.Response(status=403, text=FORBIDDEN, headers=_HEADERS)
        if request.path == "/ws" and not self._same_origin(request):
            return web.Response(status=403, text="403 Forbidden: cross-origin websocket\n", headers=_HEADERS)
        if "token" in request.query:  # trade the URL's token for a cookie, then drop it from the URL
            query = {k: v for k, v in request.query.items() if k != "token"}
            target = request.rel_url.with_query(query) if query else request.rel_url.with_query(None)
            response = web.HTTPSeeOther(location=str(target), headers=_HEADERS)
            response.set_cookie(COOKIE, self.options.token, httponly=True, samesite="Strict", path="/")
            return response
        response = await handler(request)
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def _same_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if not origin:
            return True  # not a browser page (a browser always sends Origin on a websocket)
        return urlsplit(origin).netloc == request.host

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.guard)
        return app

    # ----------------------------------------------------------------- sessions --
    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        """One tab, one read-only app process; refused (503) past ``max_sessions``."""
        if len(self.sessions) >= self.options.max_sessions:
            return web.Response(status=503, text=BUSY.format(n=self.options.max_sessions), headers=_HEADERS)
        websocket = web.WebSocketResponse(heartbeat=15)
        width = _int(request.query.get("width"), 80)
        height = _int(request.query.get("height"), 24)
        service = AppService(
            self.command,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=False,
        )
        self.sessions.add(service)
        try:
            await websocket.prepare(request)
            await service.start(width, height)
            log.info("session started (%d of at most %d)", len(self.sessions), self.options.max_sessions)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as exc:  # a broken socket or a failed start: end this session only
            log.warning("session ended: %s", type(exc).__name__)
        finally:
            await self._end(service)
            self.sessions.discard(service)
        return websocket

    async def _end(self, service: AppService) -> None:
        """Ask the app to quit; kill its process if it has not within the grace period."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(service.stop(), QUIT_GRACE_SECONDS)
        process = service._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait(), QUIT_GRACE_SECONDS)

    # ------------------------------------------------------------------- run --
    async def on_startup(self, app: web.Application) -> None:  # textual-serve prints a banner
        return None

    def initialize_logging(self) -> None:
        from oncall_tui.text.redact import install_log_redaction

        install_log_redaction()
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def serve(self, debug: bool = False) -> None:
        """Serve until Ctrl+C / SIGTERM (no access log: it would hold the token)."""
        self.initialize_logging()
        web.run_app(self._make_app(), host=self.options.host, port=self.port, access_log=None, print=None)


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, min(1000, int(value or "")))
    except ValueError:
        return default


def run(app_args: Sequence[str], options: ServeOptions, *, say: Callable[[str], None]) -> None:
    """Start serving; ``say`` prints the URL (with the token) and the warnings."""
    os.environ[READ_ONLY_VAR] = "1"  # every session's process inherits it
    server = ReadOnlyServer(app_command(app_args), options)
    if not is_loopback(options.host):
        say(
            f"WARNING: serving on {options.host}, not loopback: anyone who can reach this port and has the "
            "token can watch this incident, and the connection is not encrypted (put it behind HTTPS)."
        )
    say(f"oncall-tui serve: the read-only incident view, at most {options.max_sessions} browser sessions")
    say(f"open {server.public_url}/?token={options.token}")
    say("Ctrl+C stops it")
    server.serve()
