"""Run one configured command: no shell, own session, minimal env, output to a file, timeout.

SECURITY.md R3.1, R3.6, R6.3: ``asyncio.create_subprocess_exec`` only (never a shell string),
``start_new_session=True`` so a dropped SSH session (SIGHUP to the app) does not kill a
half-done rollback, stdin from ``/dev/null``, stdout and stderr to a 0600 file (kept after the
app is gone), an environment of PATH, HOME, LANG plus allow-listed extras (no datasource
secrets, no ``ONCALL_TUI_*``), and on timeout SIGTERM to the process group, then SIGKILL.
The output is untrusted: it is returned sanitised and capped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from oncall_tui.actions.audit import ensure_private_dir
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.settings.actions import CHILD_ENV_ALLOWED

__all__ = ["MAX_OUTPUT_BYTES", "ProcessResult", "child_env", "new_output_path", "run_process"]

#: How much of the output is returned for display (the whole output stays in the file).
MAX_OUTPUT_BYTES = 64 * 1024
#: Seconds between SIGTERM and SIGKILL of the process group after a timeout.
KILL_GRACE_SECONDS = 5.0
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
#: Output kept on the timeline per process (the full output stays in its file).
TIMELINE_OUTPUT_CHARS = 4000


@dataclass(frozen=True)
class ProcessResult:
    """What a finished (or timed-out) process did."""

    argv: tuple[str, ...]
    exit_code: int | None
    """The exit status; negative = killed by that signal; None if unknown."""
    timed_out: bool
    output: str
    """stdout + stderr, sanitised (multi-line), capped at :data:`MAX_OUTPUT_BYTES` with a marker."""
    output_path: Path
    """The full output, mode 0600."""
    duration_s: float
    pid: int | None = None

    @property
    def ok(self) -> bool:
        """Exited with status 0 before its timeout."""
        return self.exit_code == 0 and not self.timed_out

    def output_tail(self, max_chars: int = TIMELINE_OUTPUT_CHARS) -> str:
        """The last ``max_chars`` of the (sanitised) output, for the timeline, marked when cut."""
        cut = len(self.output) - max_chars
        return self.output if cut <= 0 else f"…[{cut} chars omitted]\n" + self.output[-max_chars:]

    def summary(self) -> str:
        """One inert line: exit status or timeout, and how long it took."""
        if self.timed_out:
            state = f"timed out after {self.duration_s:.1f}s (process group killed)"
        elif self.exit_code is None:
            state = "exit status unknown"
        elif self.exit_code < 0:
            state = f"killed by signal {-self.exit_code}"
        else:
            state = f"exit code {self.exit_code}"
        return f"{state} in {self.duration_s:.1f}s"


def child_env(env_extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a child: PATH, HOME, LANG and allow-listed extras (R3.6)."""
    env = {
        "PATH": os.environ.get("PATH") or _DEFAULT_PATH,
        "HOME": os.environ.get("HOME") or str(Path.home()),
        "LANG": os.environ.get("LANG") or "C.UTF-8",
    }
    for name, value in (env_extra or {}).items():
        if name not in CHILD_ENV_ALLOWED:
            raise ValueError(f"environment variable {name!r} may not be passed to a child")
        if "\0" in value:
            raise ValueError(f"environment variable {name!r} contains a NUL byte")
        env[name] = os.path.expanduser(value) if name == "KUBECONFIG" else value
    return env


def new_output_path(output_dir: Path, argv0: str) -> Path:
    """A fresh, unique output file name under ``output_dir`` (not created yet).

    Callers that want the path in the audit intent (written before the process starts)
    compute it first and pass it to :func:`run_process` as ``output_path``.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = _SAFE_NAME.sub("_", os.path.basename(argv0))[:40] or "process"
    return Path(output_dir) / f"{stamp}-{name}-{uuid.uuid4().hex[:8]}.log"


def _output_file(path: Path) -> int:
    ensure_private_dir(path.parent)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)


def _read_output(path: Path, cap: int = MAX_OUTPUT_BYTES) -> str:
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            if size > cap:
                f.seek(size - cap)
            data = f.read(cap)
    except OSError as exc:
        return f"(could not read the output file: {sanitize_for_display(str(exc))})"
    text = sanitize_for_display(data.decode("utf-8", errors="backslashreplace"), multiline=True)
    if size > cap:
        text = f"…[first {size - cap} bytes omitted; full output in {path}]\n" + text
    return text


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def run_process(
    argv: Sequence[str],
    *,
    timeout: float,
    output_dir: Path,
    env_extra: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    kill_grace: float = KILL_GRACE_SECONDS,
    output_path: Path | None = None,
) -> ProcessResult:
    """Start ``argv`` (no shell) in its own session, wait up to ``timeout`` seconds.

    Raises ``TypeError`` for a string command, ``ValueError`` for a disallowed env variable,
    ``OSError`` (e.g. ``FileNotFoundError``) if the program cannot be started. If the awaiting
    task is cancelled the child keeps running (it is in its own session; its output file
    stays), so a half-done rollback is never cut off by the UI going away.
    """
    if isinstance(argv, (str, bytes)):
        raise TypeError("argv must be a sequence of strings, never one string for a shell")
    args = tuple(str(a) for a in argv)
    if not args or not args[0]:
        raise ValueError("empty command")
    env = child_env(env_extra)
    path = Path(output_path) if output_path is not None else new_output_path(Path(output_dir), args[0])
    fd = _output_file(path)
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=fd,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            cwd=None if cwd is None else str(cwd),
            start_new_session=True,
            close_fds=True,
        )
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.write_text("(the process could not be started)\n")
        raise
    os.close(fd)  # the child holds its own copy
    timed_out = False
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        timed_out = True
        _kill_group(proc.pid, signal.SIGTERM)  # pgid == pid with start_new_session
        try:
            await asyncio.wait_for(proc.wait(), kill_grace)
        except TimeoutError:
            _kill_group(proc.pid, signal.SIGKILL)
            await proc.wait()
        else:
            _kill_group(proc.pid, signal.SIGKILL)  # stragglers left in the group
    duration = time.monotonic() - started
    return ProcessResult(
        argv=args,
        exit_code=proc.returncode,
        timed_out=timed_out,
        output=_read_output(path),
        output_path=path,
        duration_s=duration,
        pid=proc.pid,
    )
