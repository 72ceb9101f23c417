"""``load_settings()``: find the config file, read it safely, apply the environment, validate.

Path precedence: ``--config`` > ``$ONCALL_TUI_CONFIG`` > ``$XDG_CONFIG_HOME/oncall-tui/config.yaml``
(``~/.config`` by default). A missing default file gives empty settings; a missing named file,
a file writable by group/others, bad YAML or invalid values raise :class:`ConfigError` listing
every problem as ``FILE:LINE:COL: KEY.PATH: what was expected``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.settings.env import CONFIG_VAR, apply_env_overrides
from oncall_tui.settings.errors import ConfigError
from oncall_tui.settings.findings import collect_warnings
from oncall_tui.settings.model import Settings
from oncall_tui.settings.problems import problems_from_validation
from oncall_tui.settings.source import MAX_CONFIG_BYTES, Locator, parse_yaml

APP_DIR = "oncall-tui"
CONFIG_NAME = "config.yaml"


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/oncall-tui/config.yaml``, or ``~/.config/oncall-tui/config.yaml``."""
    environ = os.environ if env is None else env
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore relative values
        base = Path(xdg)
    else:
        home = environ.get("HOME")
        base = (Path(home) if home else Path.home()) / ".config"
    return base / APP_DIR / CONFIG_NAME


def _read_config(path: Path) -> str:
    shown = sanitize_for_display(str(path))
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError(f"{shown}: not a regular file")
            if info.st_mode & 0o022:
                raise ConfigError(
                    f"{shown}: refusing to read a config file writable by group or others "
                    f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod go-w {shown}"
                )
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except IsADirectoryError:
        raise ConfigError(f"{shown}: not a regular file") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read the config file ({exc.strerror})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{shown}: config file larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: not UTF-8 text (byte {exc.start})") from None


def _choose_path(path: str | Path | None, env: Mapping[str, str]) -> tuple[Path, bool]:
    """The config path and whether it was named explicitly (then it must exist)."""
    if path is not None and str(path):
        return Path(os.path.expanduser(str(path))), True
    if env.get(CONFIG_VAR):
        return Path(os.path.expanduser(env[CONFIG_VAR])), True
    return default_config_path(env), False


def load_settings(path: str | Path | None = None, *, env: Mapping[str, str] | None = None) -> Settings:
    """Load, override from the environment (``env`` defaults to ``os.environ``) and validate.

    Secrets are not resolved here (see :meth:`Endpoint.resolve_auth`), so a config naming
    absent secrets still loads. Raises :class:`ConfigError`.
    """
    environ = os.environ if env is None else env
    source, explicit = _choose_path(path, environ)
    data: object = None
    locator = Locator(filename=None)
    if source.exists() or explicit:
        if not source.exists():
            raise ConfigError(
                f"{sanitize_for_display(str(source))}: config file not found "
                "(see config/example.yaml)"
            )
        filename = sanitize_for_display(str(source))
        data, marks = parse_yaml(_read_config(source), filename)
        locator = Locator(filename=filename, marks=marks)
    else:
        source = None  # type: ignore[assignment]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{locator.origin(())}: expected a mapping of settings (key: value lines)")
    overlay = apply_env_overrides(data, environ)
    locator.env_origins = overlay.origins
    if overlay.problems:
        raise ConfigError(overlay.problems)
    try:
        settings = Settings.model_validate(overlay.data)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, overlay.data, locator)) from None
    settings._source_path = source
    for context_name, context in settings.contexts.items():
        for kind, endpoint in context.configured_endpoints():
            endpoint._env = environ
            endpoint._auth_override = (context_name, kind) in overlay.auth_overrides
        for peer in context.endpoints.alertmanagers[1:]:
            peer._env = environ
    settings._warnings = [*overlay.warnings, *collect_warnings(settings, locator)]
    return settings
