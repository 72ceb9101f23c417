"""Secret references: ``{env: NAME}``, ``{file: PATH}``, ``{keyring: SERVICE/USER}`` or inline.

A :class:`SecretRef` says *where* a secret lives; it is resolved lazily, when a client needs
it, so a config that names absent secrets still loads. Resolution never falls back silently
and never puts the value into a message: failures raise :class:`SecretUnavailable` with a
remediation. Every resolved value is registered with :func:`oncall_tui.text.redact.register_secret`
so it is masked in logs and on screen.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import PrivateAttr, SecretStr, field_validator, model_validator

from oncall_tui.text.redact import register_secret
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.settings.base import StrictModel, invalid
from oncall_tui.settings.errors import SecretUnavailable
from oncall_tui.settings.keystore import KeyringUnusable, keyring_get

MIN_SECRET_LENGTH = 4
MAX_SECRET_FILE_BYTES = 64 * 1024
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SOURCES = ("env", "file", "keyring")

SecretKind = Literal["env", "file", "keyring", "inline"]


def _show(value: object) -> str:
    return sanitize_for_display(str(value), max_chars=200)


def _checked(value: str, where: str) -> SecretStr:
    if len(value) < MIN_SECRET_LENGTH:
        raise SecretUnavailable(
            f"{where}: value too short to be a real secret (fewer than {MIN_SECRET_LENGTH} characters)"
        )
    register_secret(value)
    return SecretStr(value)


def read_secret_file(path: str | Path) -> SecretStr:
    """Read a secret from a file that only its owner can read (mode 0600, owned by you).

    ``~`` is expanded and one trailing newline stripped. The value is registered for
    redaction. Raises :class:`SecretUnavailable` (naming ``chmod 600 PATH``) when the file is
    missing, not a regular file, not owned by the current user or accessible to group/others.
    Clients that re-read a token file per request (rotation) call this each time.
    """
    expanded = Path(os.path.expanduser(str(path)))
    shown = _show(expanded)
    fix = f"create it with your token and run: chmod 600 {shown}"
    try:
        info = os.stat(expanded)
    except FileNotFoundError:
        raise SecretUnavailable(f"secret file {shown} does not exist; {fix}") from None
    except OSError as exc:
        raise SecretUnavailable(f"secret file {shown} cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise SecretUnavailable(f"secret file {shown} is not a regular file")
    try:
        fd = os.open(expanded, os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise SecretUnavailable(f"secret file {shown} cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())  # the file actually opened, not the one stat()ed
        uid = getattr(os, "getuid", lambda: info.st_uid)()
        if info.st_uid != uid:
            raise SecretUnavailable(
                f"secret file {shown} is owned by uid {info.st_uid}, not by you (uid {uid}); "
                f"refusing to read it. Use a file you own and run: chmod 600 {shown}"
            )
        if info.st_mode & 0o077:
            raise SecretUnavailable(
                f"secret file {shown} is accessible to group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); refusing to read it. "
                f"Run: chmod 600 {shown}"
            )
        data = handle.read(MAX_SECRET_FILE_BYTES + 1)
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise SecretUnavailable(f"secret file {shown} is larger than {MAX_SECRET_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretUnavailable(f"secret file {shown} is not UTF-8 text") from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    return _checked(text, f"secret file {shown}")


class SecretRef(StrictModel):
    """Where a secret comes from: exactly one of ``env``, ``file``, ``keyring``, or inline.

    In YAML: ``{env: PROM_TOKEN}``, ``{file: ~/.config/oncall-tui/prom.token}``,
    ``{keyring: oncall-tui/prod-prom}`` (service / user, split at the first ``/``), or a plain
    string, which is an *inline* secret: accepted, but reported in ``Settings.warnings``.
    """

    env: str | None = None
    """Name of the environment variable holding the secret."""
    file: str | None = None
    """Path of a file (mode 0600, owned by you) holding the secret; ``~`` is expanded."""
    keyring: str | None = None
    """``SERVICE/USER`` entry in the system keyring."""

    _inline: SecretStr | None = PrivateAttr(default=None)
    _origin: str = PrivateAttr(default="in config file")

    @classmethod
    def inline(cls, value: str, *, origin: str = "in config file") -> SecretRef:
        """An inline secret (already known value); ``origin`` is shown by :meth:`describe`."""
        ref = cls.model_construct()
        ref._inline = SecretStr(value)
        ref._origin = origin
        register_secret(value)
        return ref

    @model_validator(mode="wrap")
    @classmethod
    def _parse(cls, data: Any, handler: Any) -> SecretRef:
        if isinstance(data, SecretRef):
            return data
        if isinstance(data, str):
            return cls.inline(data)
        if not isinstance(data, dict):
            raise invalid(
                "expected a secret reference: {env: NAME}, {file: PATH}, {keyring: SERVICE/USER} "
                "or a quoted string",
            )
        present = [k for k in _SOURCES if k in data]
        if len(present) > 1:
            raise invalid(
                "ambiguous secret reference: give exactly one of env, file, keyring, not "
                + " and ".join(repr(k) for k in present)
                + " together"
            )
        if not present and set(data) <= set(_SOURCES):
            raise invalid("expected exactly one of env, file, keyring")
        return handler(data)

    @field_validator("env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.fullmatch(value):
            raise invalid(
                "expected an environment variable name (letters, digits, _)"
            )
        return value

    @field_validator("file")
    @classmethod
    def _file_path(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise invalid(
                "expected a file path")
        return value

    @field_validator("keyring")
    @classmethod
    def _keyring_entry(cls, value: str | None) -> str | None:
        if value is not None:
            service, _, user = value.partition("/")
            if not service or not user:
                raise invalid(
                "expected SERVICE/USER, e.g. oncall-tui/prod-prometheus"
                )
        return value

    @property
    def kind(self) -> SecretKind:
        """``env``, ``file``, ``keyring`` or ``inline``."""
        if self.env is not None:
            return "env"
        if self.file is not None:
            return "file"
        if self.keyring is not None:
            return "keyring"
        return "inline"

    @property
    def keyring_entry(self) -> tuple[str, str] | None:
        """``(service, user)`` for a keyring reference."""
        if self.keyring is None:
            return None
        service, _, user = self.keyring.partition("/")
        return service, user

    def describe(self) -> str:
        """Where the secret comes from, never its value (``env PROM_TOKEN``, ``keyring a/b``...)."""
        if self.env is not None:
            return f"env {self.env}"
        if self.file is not None:
            return f"file {_show(self.file)}"
        if self.keyring is not None:
            return f"keyring {_show(self.keyring)}"
        return f"inline ({self._origin})"

    def resolve(
        self,
        *,
        env: Mapping[str, str] | None = None,
        keyring_timeout: float = 5.0,
        hint: str | None = None,
    ) -> SecretStr:
        """Return the secret, registered for redaction.

        ``env`` defaults to ``os.environ``. ``hint`` names the environment variable that can
        replace this secret (e.g. ``ONCALL_TUI_PROMETHEUS_TOKEN``); it is used in the message
        when no keyring is usable. Raises :class:`SecretUnavailable` with a remediation.
        """
        environ = os.environ if env is None else env
        if self.env is not None:
            value = environ.get(self.env)
            if not value:
                raise SecretUnavailable(
                    f"environment variable {self.env} is not set or empty; export it or use "
                    "another secret reference"
                )
            return _checked(value, f"environment variable {self.env}")
        if self.file is not None:
            return read_secret_file(self.file)
        if self.keyring is not None:
            return self._resolve_keyring(keyring_timeout, hint)
        if self._inline is None:
            raise SecretUnavailable("empty secret reference")
        return _checked(self._inline.get_secret_value(), f"inline secret ({self._origin})")

    def _resolve_keyring(self, timeout: float, hint: str | None) -> SecretStr:
        service, user = self.keyring_entry or ("", "")
        where = f"keyring {_show(self.keyring)}"
        try:
            value = keyring_get(service, user, timeout=timeout)
        except KeyringUnusable as exc:
            instead = f"set the environment variable {hint}, or" if hint else "use {env: NAME} or"
            raise SecretUnavailable(
                f"{where}: {exc.reason}. There is no usable keyring on this host (typical over "
                f"SSH or on a headless server). Instead, {instead} {{file: PATH}} pointing at a "
                "file with mode 0600 (chmod 600 PATH)."
            ) from None
        if value is None:
            raise SecretUnavailable(
                f"{where}: not found in keyring; store it with `keyring set {_show(service)} "
                f"{_show(user)}` or use another secret reference"
            )
        return _checked(value, where)
