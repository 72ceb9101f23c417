"""Use the installed ``oncall-tui`` exactly as a person does: in a pseudo-terminal, with keys.

A :class:`Terminal` spawns the command in a pty (TERM=xterm-256color), feeds it bytes as a
keyboard sends them (``\\t``, ``\\r``, ``\\x1b``, arrows as escape sequences) and reads the
screen through a real terminal emulator (pyte). Nothing here touches the app's objects:
a journey reaches a state only by pressing keys, and asserts only on what the screen shows
(and on what the servers behind it hold).

Every byte the app wrote is kept in :attr:`Terminal.raw`, so tests can also scan the byte
stream for escape sequences that must never reach a terminal.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pyte

#: Keys by name, as a terminal in xterm mode sends them.
KEYS: dict[str, bytes] = {
    "tab": b"\t",
    "shift+tab": b"\x1b[Z",
    "enter": b"\r",
    "esc": b"\x1b",
    "escape": b"\x1b",
    "space": b" ",
    "backspace": b"\x7f",
    "up": b"\x1b[A",
    "down": b"\x1b[B",
    "right": b"\x1b[C",
    "left": b"\x1b[D",
    "home": b"\x1b[H",
    "end": b"\x1b[F",
    "pageup": b"\x1b[5~",
    "pagedown": b"\x1b[6~",
    **{f"ctrl+{c}": bytes([ord(c) - 96]) for c in "abcdefghijklmnopqrstuvwxyz"},
}


def oncall_tui_command() -> str:
    """The installed console script next to the interpreter running the tests."""
    script = Path(sys.executable).with_name("oncall-tui")
    if not script.exists():
        raise RuntimeError(f"{script} not found: install the package (pip install -e '.[test]')")
    return str(script)


class Terminal:
    """One ``oncall-tui`` process in a pty of ``cols`` x ``rows``, read through pyte."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        cols: int = 120,
        rows: int = 40,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> None:
        self.cols, self.rows = cols, rows
        self.screen_ = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen_)
        self.raw = bytearray()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("TEXTUAL", "ONCALL_TUI_", "PYTEST"))
        }
        full_env.update({"TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8", "COLUMNS": str(cols), "LINES": str(rows)})
        full_env.pop("NO_COLOR", None)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [oncall_tui_command(), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.fd = master
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # ---------------------------------------------------------------- reading --
    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                break
            if not data:
                break
            with self._changed:
                self.raw += data
                self.stream.feed(data)
                self._changed.notify_all()

    def screen(self) -> str:
        """What the terminal shows now: ``rows`` lines, right-trimmed."""
        with self._lock:
            return "\n".join(line.rstrip() for line in self.screen_.display)

    def line(self, y: int) -> str:
        with self._lock:
            return self.screen_.display[y].rstrip()

    def wait_until(self, predicate: Callable[[str], object], *, timeout: float = 15.0, what: str = "") -> str:
        """Wait until ``predicate(screen)`` is truthy; fail with the screen shown."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                text = "\n".join(line.rstrip() for line in self.screen_.display)
                if predicate(text):
                    return text
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    break
                self._changed.wait(min(left, 0.2))
        alive = "running" if self.proc.poll() is None else f"exited with {self.proc.returncode}"
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or predicate!r} (app {alive}); screen:\n{text}")

    def wait_for(self, text: str | re.Pattern[str], *, timeout: float = 15.0) -> str:
        """Wait until ``text`` (a string or a regex) is on the screen."""
        if isinstance(text, re.Pattern):
            return self.wait_until(lambda s: text.search(s), timeout=timeout, what=f"/{text.pattern}/")
        return self.wait_until(lambda s: text in s, timeout=timeout, what=repr(text))

    def wait_gone(self, text: str, *, timeout: float = 15.0) -> str:
        return self.wait_until(lambda s: text not in s, timeout=timeout, what=f"{text!r} to go away")

    def settle(self, quiet: float = 0.4, *, timeout: float = 10.0) -> str:
        """Wait until the app has written nothing for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = len(self.raw)
            time.sleep(quiet)
            if len(self.raw) == before:
                break
        return self.screen()

    # ---------------------------------------------------------------- writing --
    def press(self, *keys: str, pause: float = 0.15) -> None:
        """Press keys by name (``tab``, ``enter``, ``esc``, ``down``, ``ctrl+p``) or single
        characters (``S``, ``/``). ``esc`` is followed by a pause so that it is not read as
        the start of an escape sequence."""
        for key in keys:
            data = KEYS.get(key)
            if data is None:
                if len(key) != 1:
                    raise ValueError(f"unknown key {key!r}; use type_text() for text")
                data = key.encode()
            os.write(self.fd, data)
            time.sleep(0.35 if data == b"\x1b" else pause)

    def type_text(self, text: str) -> None:
        """Type ``text`` as a person would (one character at a time)."""
        for ch in text:
            os.write(self.fd, ch.encode())
            time.sleep(0.02)

    # --------------------------------------------------------------- lifetime --
    def resize(self, cols: int, rows: int) -> None:
        with self._lock:
            self.cols, self.rows = cols, rows
            self.screen_.resize(rows, cols)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.killpg(self.proc.pid, signal.SIGWINCH)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        try:
            os.close(self.fd)
        except OSError:
            pass
        self._reader.join(timeout=2)

    def started(self, *texts: str | re.Pattern[str], timeout: float = 30.0) -> Terminal:
        """Wait for ``texts`` on the first screen and settle; on failure the process is
        closed before the error propagates (a test that fails here leaves nothing running)."""
        try:
            for text in texts:
                self.wait_for(text, timeout=timeout)
            self.settle()
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
