"""Where themes come from (packaged, ``oncall-mono``, the user's folder) and putting them on the app."""


from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from textual.color import Color
from textual.theme import BUILTIN_THEMES, Theme

from oncall_tui.themes.colour import greyscale_theme, opaque
from oncall_tui.themes.variables import (
    _MONO_BASE,
    APP_DIR,
    DEFAULT_THEME,
    MONO_THEME,
    THEME_VARIABLES,
    THEMES_DIR_ENV,
    ThemeError,
)

if TYPE_CHECKING:
    from textual.app import App

    from oncall_tui.themes.schema import ThemeFile

log = logging.getLogger(__name__)



def load_theme_file(path: Path | str) -> ThemeFile:
    """Read and validate one theme file; raises :class:`ThemeError` naming the file and key."""
    from oncall_tui.themes.schema import load_theme_file as load

    return load(path)


def _config_home(environ: Mapping[str, str]) -> Path:
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore relative values
        return Path(xdg)
    home = environ.get("HOME")
    return (Path(home) if home else Path.home()) / ".config"


def themes_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The built-in themes folder: ``$ONCALL_TUI_THEMES_DIR``, else ``<repo>/themes`` (a source
    checkout or editable install), else ``<prefix>/share/oncall-tui/themes`` where a wheel
    installs them (pyproject ``data-files``). The path may not exist.
    """
    environ = os.environ if environ is None else environ
    override = environ.get(THEMES_DIR_ENV, "")
    if override:
        return Path(override).expanduser()
    source = Path(__file__).resolve().parents[2] / "themes"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "oncall-tui" / "themes"


def user_themes_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/oncall-tui/themes``, or ``~/.config/oncall-tui/themes``."""
    return _config_home(os.environ if environ is None else environ) / APP_DIR / "themes"


_THEME_BASE_KEYS = (
    "name", "dark", "primary", "secondary", "accent", "foreground", "background", "surface",
    "panel", "boost", "warning", "error", "success",
)  # fmt: skip


def _packaged_theme(path: Path) -> Theme:
    """A theme file shipped with the package, read without validation (start-up cost).

    Every packaged file is validated by the test suite (``tests/test_themes.py`` also checks
    that this path and :func:`load_theme_file` give the same theme); anything that does not
    look right here falls back to the validating loader, so errors still name file and key.
    """
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        fields = {key: data[key] for key in _THEME_BASE_KEYS if key in data}
        extra = {k: data[k] for k in ("luminosity_spread", "text_alpha") if k in data}
        variables = data.get("variables") or {}
        if set(data) - set(fields) - set(extra) - {"description", "variables"} or not all(
            isinstance(v, str) for v in variables.values()
        ):
            raise ValueError("unexpected keys")
        return Theme(**fields, **extra, variables=dict(variables))
    except Exception:  # noqa: BLE001 - anything odd goes through the validating loader
        return load_theme_file(path).to_theme()


def _load_dir(directory: Path, *, packaged: bool = False) -> dict[str, Theme]:
    """Every ``*.yaml``/``*.yml`` in ``directory``, by name; two files with one name is an error."""
    themes: dict[str, Theme] = {}
    files: dict[str, Path] = {}
    paths = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    for path in paths:
        theme = _packaged_theme(path) if packaged else load_theme_file(path).to_theme()
        if theme.name in files:
            raise ThemeError(
                path,
                [(str(path), "name", f"theme '{theme.name}' is also defined in {files[theme.name]}")],
            )
        files[theme.name] = path
        themes[theme.name] = theme
    return themes


def load_themes(
    extra_dirs: Iterable[Path | str] = (),
    *,
    include_user: bool = True,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Theme]:
    """All themes by name: built-in, ``oncall-mono``, the user's, then ``extra_dirs``.

    Later sources override earlier ones by name (a user theme named ``oncall-dark`` replaces
    the built-in one). A missing built-in folder is logged and skipped unless it was named by
    ``$ONCALL_TUI_THEMES_DIR``; a missing user folder is normal; a missing extra folder, or any
    bad file, raises :class:`ThemeError`.
    """
    environ = os.environ if environ is None else environ
    themes: dict[str, Theme] = {}

    builtin = themes_dir(environ)
    if builtin.is_dir():
        themes.update(_load_dir(builtin, packaged=not environ.get(THEMES_DIR_ENV)))
    elif environ.get(THEMES_DIR_ENV):
        raise ThemeError(builtin, f"{THEMES_DIR_ENV} names a folder that does not exist")
    else:
        log.warning("built-in themes folder %s not found; set %s", builtin, THEMES_DIR_ENV)

    themes[MONO_THEME] = mono_theme(themes.get(_MONO_BASE))

    if include_user:
        user = user_themes_dir(environ)
        if user.is_dir():
            themes.update(_load_dir(user))
    for extra in extra_dirs:
        directory = Path(extra).expanduser()
        if not directory.is_dir():
            raise ThemeError(directory, "themes folder does not exist")
        themes.update(_load_dir(directory))
    return themes


@lru_cache(maxsize=8)
def _builtin_theme_cached(directory: str, name: str) -> Theme | None:
    path = Path(directory)
    if not path.is_dir():
        return None
    try:
        return _load_dir(path).get(name)
    except ThemeError:
        log.warning("cannot load built-in theme %s from %s", name, directory, exc_info=True)
        return None


def _builtin_theme(name: str) -> Theme | None:
    return _builtin_theme_cached(str(themes_dir()), name)


# --------------------------------------------------------------------------------------------
# Variables


def _derived_variables(theme: Theme) -> dict[str, str]:
    """Values for :data:`THEME_VARIABLES` derived from ``theme``'s base colours (opaque hex)."""
    generated = theme.to_color_system().generate()
    background = Color.parse(generated["background"])
    foreground = Color.parse(generated["foreground"])

    def pick(name: str) -> str:
        return opaque(generated[name], background).hex

    def fade(colour: Color, alpha: float) -> str:
        return opaque(colour.with_alpha(alpha), background).hex

    step = "lighten" if theme.dark else "darken"
    muted = fade(foreground, 0.6)
    dimmer = fade(foreground, 0.45)
    return {
        "severity-critical": pick("error"),
        "severity-error": pick(f"error-{step}-1"),
        "severity-warning": pick("warning"),
        "severity-info": pick(f"primary-{step}-1"),
        "severity-none": muted,
        "state-firing": pick("error"),
        "state-pending": pick("warning"),
        "state-silenced": muted,
        "state-inhibited": dimmer,
        "level-ok": pick("success"),
        "level-warn": pick("warning"),
        "level-crit": pick("error"),
        "source-fresh": pick("success"),
        "source-stale": pick("warning"),
        "source-down": pick("error"),
        "sparkline-low": pick("primary"),
        "sparkline-high": pick("warning"),
        "readonly-badge": pick("accent"),
        "paused-banner": pick("warning"),
    }


def default_theme_variables(theme: Theme | None = None) -> dict[str, str]:
    """Defaults for :data:`THEME_VARIABLES`, for ``App.get_theme_variable_defaults()``.

    With no ``theme``: the values of the built-in ``oncall-dark`` (or, if its file cannot be
    found, values derived from Textual's ``textual-dark``). With a theme (pass
    ``self.current_theme``): values derived from that theme's error/warning/success/primary
    colours, so Textual's built-in themes (``nord`` …) get matching severities; a theme's own
    ``variables`` still win over these in Textual.

    The values are concrete colours: Textual does not resolve ``$error`` inside a variable's
    value (the CSS then fails with "Invalid value ('$error')").
    """
    if theme is None:
        base = _builtin_theme(DEFAULT_THEME)
        if base is None:
            return _derived_variables(BUILTIN_THEMES["textual-dark"])
        derived = _derived_variables(base)
        return {name: base.variables.get(name, derived[name]) for name in THEME_VARIABLES}
    derived = _derived_variables(theme)
    return {name: theme.variables.get(name, derived[name]) for name in THEME_VARIABLES}


# --------------------------------------------------------------------------------------------
# The app side


def no_color(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``NO_COLOR`` is set to a non-empty value (https://no-color.org)."""
    environ = os.environ if environ is None else environ
    return bool(environ.get("NO_COLOR", ""))


def choose_theme(
    requested: str | None,
    available: Iterable[str],
    *,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The theme to start with: ``oncall-mono`` under NO_COLOR, else ``requested`` if known,
    else ``oncall-dark``, else Textual's ``textual-dark``."""
    names = set(available)
    if no_color(environ) and MONO_THEME in names:
        return MONO_THEME
    if requested and requested in names:
        return requested
    if requested:
        log.warning("unknown theme %r; using %s", requested, DEFAULT_THEME)
    return DEFAULT_THEME if DEFAULT_THEME in names else "textual-dark"


def register_themes(
    app: App[Any],
    extra_dirs: Iterable[Path | str] = (),
    *,
    include_user: bool = True,
) -> list[str]:
    """Register every theme of :func:`load_themes` with ``app``; returns their names."""
    themes = load_themes(extra_dirs, include_user=include_user)
    for theme in themes.values():
        app.register_theme(theme)
    return list(themes)


def apply_theme(
    app: App[Any],
    requested: str | None = None,
    *,
    extra_dirs: Iterable[Path | str] = (),
    include_user: bool = True,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Register the themes, pick one with :func:`choose_theme`, set ``app.theme``; its name."""
    register_themes(app, extra_dirs, include_user=include_user)
    name = choose_theme(requested, app.available_themes, environ=environ)
    app.theme = name
    return name


def mono_theme(base: Theme | None = None) -> Theme:
    """``oncall-mono`` from ``base`` (``oncall-high-contrast`` by default): greys only, for ``NO_COLOR``."""
    return greyscale_theme(base or _builtin_theme(_MONO_BASE) or BUILTIN_THEMES["textual-dark"])
