"""The app's theme variables, the names of its own themes, and the error a bad theme file raises."""

from __future__ import annotations

from pathlib import Path

from oncall_tui.settings.errors import ConfigError, ConfigProblem

THEMES_DIR_ENV = "ONCALL_TUI_THEMES_DIR"
"""Environment variable naming the folder of built-in themes (wins over the checkout's)."""
APP_DIR = "oncall-tui"
DEFAULT_THEME = "oncall-dark"
MONO_THEME = "oncall-mono"
_MONO_BASE = "oncall-high-contrast"

THEME_VARIABLES: tuple[str, ...] = (
    "severity-critical",
    "severity-error",
    "severity-warning",
    "severity-info",
    "severity-none",
    "state-firing",
    "state-pending",
    "state-silenced",
    "state-inhibited",
    "level-ok",
    "level-warn",
    "level-crit",
    "source-fresh",
    "source-stale",
    "source-down",
    "sparkline-low",
    "sparkline-high",
    "readonly-badge",
    "paused-banner",
)
"""The app's own theme variables; every theme defines them (or gets the defaults)."""




class ThemeError(ConfigError):
    """A theme file (or the themes folder) cannot be used.

    ``str()`` names the file (with line and column where known), the key and what was
    expected; ``file`` and ``key`` hold the first problem's file and dotted key.
    """

    def __init__(self, file: Path | str, problems: list[tuple[str, str, str]] | str) -> None:
        self.file = Path(file)
        if isinstance(problems, str):
            problems = [(str(file), "", problems)]
        self.key = problems[0][1] if problems else ""
        super().__init__([ConfigProblem(origin, key, message) for origin, key, message in problems])
