"""Append-only, write-ahead audit log of every write action (SECURITY.md R6.1, R6.2).

One JSON object per line in ``$XDG_STATE_HOME/oncall-tui/audit.jsonl`` (file 0600, directory
0700). Each action writes an ``intent`` record, fsynced *before* its side effect, then a
``result`` record. An intent with no result whose process is gone (or that a signal handler
marked ``interrupted``) is an *interrupted action*, listed at the next start. Every string is
run through :func:`~oncall_tui.text.redact.redact` before it reaches the disk.

Record types: ``intent``, ``result``, ``interrupted`` (SIGHUP/SIGTERM/cancel while in flight)
and ``dismissed`` (the user reviewed an interrupted or failed action).
"""

from __future__ import annotations

import fcntl
import getpass
import json
import logging
import os
import socket
import stat
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from oncall_tui.text.redact import redact

log = logging.getLogger(__name__)

Record = dict[str, Any]

APP_DIR = "oncall-tui"
AUDIT_FILE = "audit.jsonl"


class AuditUnavailable(OSError):
    """The audit log cannot be written; no action may run without it."""


class SupportsRecord(Protocol):
    """Anything that can describe itself as a JSON object (a :class:`~.core.Preview`)."""

    def to_record(self) -> dict[str, Any]: ...


# ------------------------------------------------------------------------ files --
def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/oncall-tui`` (a relative XDG path is ignored, per the spec)."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / APP_DIR


def utc_now_iso() -> str:
    """Now as an ISO 8601 UTC timestamp with microseconds."""
    return datetime.now(UTC).isoformat()


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (0700); tighten it if it is ours and looser."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.stat()
    if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o700)


def append_line(path: Path, line: str, *, fsync: bool) -> tuple[int, int]:
    """Append one line (``O_APPEND|O_CREAT|O_WRONLY``, 0600, no symlinks); optionally fsync.

    Several processes may append to one file at once (two responders, an IC's terminal): each
    record is one ``write`` under an exclusive ``flock``, so records never interleave. A torn
    last line (crash mid-write) is closed with a newline first, so this record is never glued
    onto it. Returns the file offsets where the record starts and ends.
    """
    ensure_private_dir(path.parent)
    created = not path.exists()
    flags = os.O_APPEND | os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
            raise AuditUnavailable(f"{path} is not a regular file owned by this user")
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, 0o600)
        data = line.encode("utf-8") + b"\n"
        if st.st_size and _last_byte(path) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if fsync:
            os.fsync(fd)
        end = os.fstat(fd).st_size
    finally:
        os.close(fd)  # releases the lock
    if created and fsync:
        _fsync_dir(path.parent)
    return end - len(data), end


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_jsonl(path: Path) -> list[Record]:
    """Every JSON object line of ``path``; torn or corrupt lines are skipped."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    out: list[Record] = []
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:  # torn write (crash mid-line) or corruption
            log.warning("skipping an unreadable line in %s", path)
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def scrub(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with every string (keys too) redacted."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, Mapping):
        return {redact(str(k)): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(v) for v in value]
    if hasattr(value, "to_record"):
        return scrub(value.to_record())
    return redact(str(value))


# ------------------------------------------------------------------- processes --
_HOST = socket.gethostname()


def _process_start(pid: int) -> str | None:
    """The process' start time in clock ticks since boot (Linux), to tell reused PIDs apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # Field 2 (comm) may contain spaces and parentheses: split after the last ')'.
    fields = data[data.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def pid_alive(pid: int, started: str | None = None) -> bool:
    """Whether ``pid`` runs on this host (and, when known, is the same process)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if started is not None:
        now_started = _process_start(pid)
        if now_started is not None and now_started != started:
            return False  # the PID was reused
    return True


def _source() -> dict[str, Any]:
    """Where the action came from: host, pid, SSH client address, tty, OS user."""
    ssh = os.environ.get("SSH_CONNECTION", "").split()
    try:
        tty = os.ttyname(sys.stdin.fileno()) if sys.stdin and sys.stdin.isatty() else None
    except (OSError, ValueError, AttributeError):
        tty = None
    try:
        os_user = getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment or passwd
        os_user = None
    return {"ssh_client": ssh[0] if ssh else None, "tty": tty, "os_user": os_user}


# ------------------------------------------------------------------------ audit --
_RESERVED = frozenset({"ts", "pid", "pid_start", "host", "type", "id"})


class AuditLog:
    """The append-only JSONL audit log; every method opens, appends and closes the file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else state_dir() / AUDIT_FILE
        self._pid = os.getpid()
        self._started = _process_start(self._pid)

    # -------------------------------------------------------------- writing --
    def _write(self, record: Record, *, fsync: bool = True) -> Record:
        base = {"ts": utc_now_iso(), "pid": os.getpid(), "host": _HOST}
        if os.getpid() == self._pid:
            base["pid_start"] = self._started
        else:  # forked
            base["pid_start"] = _process_start(os.getpid())
        clean = scrub({**base, **record})
        try:
            line = json.dumps(clean, ensure_ascii=True, sort_keys=False, separators=(",", ":"))
            append_line(self.path, line, fsync=fsync)
        except OSError as exc:
            raise AuditUnavailable(f"cannot write the audit log {self.path}: {exc.strerror or exc}") from None
        return clean

    def intent(
        self,
        action_id: str,
        kind: str,
        target: str,
        preview: SupportsRecord | Mapping[str, Any] | str,
        context: str,
        user: str,
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> Record:
        """Write and fsync the intent of an action; call before its side effect. Returns it."""
        record: Record = {
            "type": "intent",
            "id": action_id,
            "kind": kind,
            "target": target,
            "context": context,
            "user": user,
            **_source(),
            "preview": preview,
        }
        if extra:
            record.update({k: v for k, v in extra.items() if k not in record and k not in _RESERVED})
        return self._write(record)

    def result(
        self,
        action_id: str,
        ok: bool,
        detail: str,
        payload: Any = None,
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> Record:
        """Write the outcome; a failed write keeps its ``payload`` for :meth:`failed` / retry."""
        record: Record = {"type": "result", "id": action_id, "ok": ok, "detail": detail}
        if payload is not None:
            record["payload"] = payload
        if extra:
            record.update({k: v for k, v in extra.items() if k not in record and k not in _RESERVED})
        return self._write(record)

    def mark_interrupted(self, action_id: str, reason: str) -> Record:
        """Record that an in-flight action was cut short (signal, cancellation)."""
        return self._write({"type": "interrupted", "id": action_id, "reason": reason})

    def dismiss(self, action_id: str, note: str = "") -> Record:
        """The user reviewed an interrupted or failed action; stop listing it."""
        return self._write({"type": "dismissed", "id": action_id, "note": note})

    # -------------------------------------------------------------- reading --
    def records(self) -> list[Record]:
        """Every record, oldest first (a torn last line is skipped)."""
        return read_jsonl(self.path)

    def interrupted(self) -> list[Record]:
        """Intents with no result whose process is gone or that were marked interrupted.

        Each is the intent record plus ``reason``. Intents of this very process that are
        still running are not listed; intents from another host cannot be checked and are.
        """
        intents: dict[str, Record] = {}
        closed: set[str] = set()
        marked: dict[str, str] = {}
        for rec in self.records():
            rid, rtype = str(rec.get("id", "")), rec.get("type")
            if rtype == "intent":
                intents[rid] = rec
            elif rtype in ("result", "dismissed"):
                closed.add(rid)
            elif rtype == "interrupted":
                marked[rid] = str(rec.get("reason", "interrupted"))
        out = []
        for rid, rec in intents.items():
            if rid in closed:
                continue
            reason = marked.get(rid) or self._gone(rec)
            if reason:
                out.append({**rec, "reason": reason})
        return out

    def _gone(self, rec: Record) -> str | None:
        pid = rec.get("pid")
        if not isinstance(pid, int):
            return "no process recorded"
        if rec.get("host") != _HOST:
            return f"started on another host ({rec.get('host')}); outcome unknown"
        if pid_alive(pid, rec.get("pid_start")):
            return None
        return f"process {pid} ended before the result was written"

    def failed(self) -> list[Record]:
        """Failed results (with their ``payload``) not dismissed and not retried since.

        A retried failure gives way to its retry (listed itself if it fails too). Each is the
        result record plus the intent's ``kind``/``target``/``context``/``preview``/``retry_of``.
        """
        records = self.records()
        intents = {str(r.get("id")): r for r in records if r.get("type") == "intent"}
        dismissed = {str(r.get("id")) for r in records if r.get("type") == "dismissed"}
        retried = {str(i["retry_of"]) for i in intents.values() if i.get("retry_of")}
        out = []
        for rec in records:
            rid = str(rec.get("id"))
            if rec.get("type") != "result" or rec.get("ok") or rid in dismissed or rid in retried:
                continue
            intent = intents.get(rid, {})
            out.append(
                {
                    **rec,
                    "kind": intent.get("kind"),
                    "target": intent.get("target"),
                    "context": intent.get("context"),
                    "preview": intent.get("preview"),
                    "retry_of": intent.get("retry_of"),
                }
            )
        return out
