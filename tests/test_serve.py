"""``oncall-tui serve``: the read-only app in a real browser (Debian's chromium driven by
Playwright), behind a token, against the realstack's Prometheus and an Alertmanager of the
test's own (so it can be checked that no write reached it).

The page draws on a canvas, so the screen is read the way the browser gets it: every byte the
app process sends down the websocket is fed to a terminal emulator (pyte) of the page's size.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyte
import pytest

from oncall_tui.serve import ServeError, app_command, is_loopback, read_token_file
from tests.conftest import realstack_required
from tests.servers import (
    Server,
    free_port,
    post_alerts,
    silences,
    start_alertmanager,
    write_config,
)

CHROMIUM = os.environ.get("ONCALL_TUI_CHROMIUM", "/usr/bin/chromium")
ALERT = "ModelServingHighErrorRate"
LABELS = {"alertname": ALERT, "severity": "critical", "service": "fraud-scorer", "namespace": "ml-serving"}


def need_browser() -> None:
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} not found (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (pip install -e '.[test]')"
    if reason:
        if realstack_required():
            pytest.fail(f"{reason}; CI requires the browser test", pytrace=False)
        pytest.skip(reason)


class Served:
    """One ``oncall-tui serve`` process; ``url`` carries the token it printed."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.port = free_port()
        script = Path(sys.executable).with_name("oncall-tui")
        self.proc = subprocess.Popen(
            [str(script), "serve", "--port", str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env}, start_new_session=True,
        )
        self.printed: list[str] = []
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.printed.append(line)
            if line.startswith("open "):
                self.url = line.split(" ", 1)[1].strip()
                break
        else:
            raise AssertionError(f"serve printed no URL: {self.printed}")
        if not hasattr(self, "url"):
            raise AssertionError(f"serve exited: {self.printed} {self.proc.stderr.read() if self.proc.stderr else ''}")
        self.token = parse_qs(urlsplit(self.url).query)["token"][0]
        self.base = f"http://127.0.0.1:{self.port}"
        _wait(lambda: _answers(self.base), "serve to listen")

    def children(self) -> list[int]:
        """The app processes it runs (one per browser session)."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False).stdout
        kids = [int(p) for p in out.split()]
        # the session command runs through a shell: count the app processes under it too
        return [k for k in kids if _cmdline(k).find("oncall_tui") >= 0] or kids

    def stop(self) -> str:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.stderr.read() if self.proc.stderr else ""


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _answers(base: str) -> bool:
    try:
        httpx.get(base, timeout=1)
        return True
    except httpx.HTTPError:
        return False


def _wait(predicate, what: str, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class BrowserScreen:
    """What the page's terminal shows: the websocket's bytes through pyte, at the page's size."""

    def __init__(self) -> None:
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        self.lock = threading.Lock()

    def attach(self, ws) -> None:  # type: ignore[no-untyped-def]
        query = parse_qs(urlsplit(ws.url).query)
        self.resize(int(query.get("width", ["80"])[0]), int(query.get("height", ["24"])[0]))
        ws.on("framereceived", self.received)
        ws.on("framesent", self.sent)

    def resize(self, cols: int, rows: int) -> None:
        with self.lock:
            self.screen.resize(rows, cols)

    def received(self, payload) -> None:  # type: ignore[no-untyped-def]
        if isinstance(payload, bytes | bytearray):
            with self.lock:
                self.stream.feed(bytes(payload))

    def sent(self, payload) -> None:  # type: ignore[no-untyped-def]
        if isinstance(payload, str) and payload.startswith('["resize"'):
            size = json.loads(payload)[1]
            self.resize(int(size["width"]), int(size["height"]))

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.screen.display)

    def cursor_line(self) -> str:
        """The line of the table cursor: the one line whose background no other line has."""
        with self.lock:
            rows = [(self.screen.buffer[y][3].bg, line) for y, line in enumerate(self.screen.display)]
        counts: dict[str, int] = {}
        for bg, _ in rows:
            counts[bg] = counts.get(bg, 0) + 1
        headers = (" SERVICE ", " SEV ")  # a focused table's header has a colour of its own too
        unique = [line for bg, line in rows if counts[bg] == 1 and line.strip() and not line.startswith(headers)]
        return unique[0] if len(unique) == 1 else ""

    def wait_cursor(self, page, pattern: str, timeout: float = 10.0) -> str:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            page.wait_for_timeout(200)
            if re.search(pattern, self.cursor_line()):
                return self.cursor_line()
        raise AssertionError(f"the cursor never reached {pattern!r}; it is on {self.cursor_line()!r}:\n{self.text()}")

    def wait_for(self, page, pattern: str, timeout: float = 30.0) -> str:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            page.wait_for_timeout(200)  # lets Playwright deliver the frames
            if re.search(pattern, self.text()):
                return self.text()
        raise AssertionError(f"the browser never showed {pattern!r}; it shows:\n{self.text()}")


@pytest.fixture()
def am(tmp_path: Path) -> Iterator[Server]:
    server = start_alertmanager(tmp_path / "am")
    post_alerts(server.url, [{"labels": LABELS, "annotations": {"summary": "fraud-scorer is failing 8 % of requests"}}])
    post_alerts(server.url, [{"labels": {**LABELS, "alertname": "OtherAlert", "severity": "warning"}}])
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture()
def served(tmp_path: Path, realstack: dict[str, str], am: Server) -> Iterator[Served]:
    config = write_config(tmp_path / "config.yaml", prometheus=realstack["prometheus"], alertmanager=am.url)
    serve = Served(["--config", str(config), "--refresh", "3", "--max-sessions", "1"], {"XDG_STATE_HOME": str(tmp_path / "state")})
    try:
        yield serve
    finally:
        log = serve.stop()
        assert serve.token not in log  # the token is never logged


# ------------------------------------------------------------------ no browser --
pytestmark = pytest.mark.integration


def test_without_the_token_every_request_gets_403_and_no_app_starts(served: Served) -> None:
    for path in ("/", "/ws", "/static/js/textual.js", f"/?token={served.token[:-1]}x"):
        r = httpx.get(served.base + path, timeout=5, follow_redirects=False)
        assert r.status_code == 403, path
        assert served.token not in r.text
    r = httpx.get(served.base + "/ws", headers={"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, timeout=5)
    assert r.status_code == 403
    time.sleep(1)
    assert served.children() == []
    # with it: a cookie, and a URL without the token (kept out of history and Referer)
    r = httpx.get(served.url, timeout=5, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = httpx.get(served.base + "/", cookies=r.cookies, timeout=5)
    assert page.status_code == 200 and "textual" in page.text.lower()
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_every_session_is_forced_read_only_and_other_hosts_are_warned_about() -> None:
    command = app_command(["--config", "/etc/x.yaml"])
    assert " --readonly " in command and command.endswith("--config /etc/x.yaml")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")


def test_a_token_file_must_be_private_and_long_enough(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("0123456789abcdefXYZ\n")
    path.chmod(0o644)
    with pytest.raises(ServeError, match="readable by other users"):
        read_token_file(path)
    path.chmod(0o600)
    assert read_token_file(path) == "0123456789abcdefXYZ"
    path.write_text("short\n")
    with pytest.raises(ServeError, match="at least 16"):
        read_token_file(path)


def test_a_non_loopback_host_prints_a_warning(tmp_path: Path) -> None:
    serve = Served(["--demo", "--host", "0.0.0.0"], {"XDG_STATE_HOME": str(tmp_path / "state")})
    try:
        assert any(line.startswith("WARNING: serving on 0.0.0.0") for line in serve.printed)
    finally:
        serve.stop()


# --------------------------------------------------------------------- browser --
def test_the_browser_view_shows_triage_moves_by_keys_and_refuses_writes(served: Served, am: Server, tmp_path: Path) -> None:
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            screen = BrowserScreen()
            page.on("websocket", screen.attach)
            page.goto(served.url)
            assert "token" not in page.url  # traded for the cookie
            text = screen.wait_for(page, ALERT)
            assert "READ-ONLY" in text and "SERVICE" in text and "fraud-scorer" in text
            assert len(served.children()) == 1
            # a second tab is over --max-sessions 1: refused, no second process
            extra = browser.new_page()
            extra.goto(served.base + "/")
            extra.wait_for_timeout(1500)
            assert len(served.children()) == 1
            extra.close()
            # keys typed into the page move the table cursor; enter opens the selected alert
            page.locator(".xterm-screen").click()
            page.keyboard.press("Tab")
            first = screen.wait_cursor(page, "fraud-scorer|llm-chat|search-embedder")
            page.keyboard.press("ArrowDown")
            second = screen.wait_cursor(page, "fraud-scorer|llm-chat|search-embedder")
            assert second != first
            while ALERT not in screen.cursor_line():
                page.keyboard.press("Tab")
                screen.wait_cursor(page, ".")
            page.keyboard.press("ArrowDown")
            chosen = screen.wait_cursor(page, "^ (WARN|CRIT)  (?!" + ALERT + ")").split()[1]
            page.keyboard.press("Enter")
            screen.wait_for(page, rf"│ {chosen} [\s\S]*Labels[\s\S]*esc Back")  # the selected alert's detail
            page.wait_for_timeout(300)
            page.keyboard.press("Escape")
            screen.wait_for(page, "q Quit")
            # S is refused as read-only, and the Alertmanager receives nothing
            page.keyboard.press("Shift+S")
            screen.wait_for(page, "(?i)read-only")
            page.keyboard.press("Shift+A")
            page.wait_for_timeout(1000)
            assert silences(am.url) == []
            assert "Confirm" not in screen.text()
            page.screenshot(path=str(tmp_path / "browser.png"))
            page.close()
            _wait(lambda: served.children() == [], "the closed tab's process to end", timeout=15)
        finally:
            browser.close()
    assert silences(am.url) == []


@pytest.fixture(autouse=True)
def _pgrep() -> None:
    if not shutil.which("pgrep"):
        pytest.skip("pgrep (procps) is needed to count the app processes")
