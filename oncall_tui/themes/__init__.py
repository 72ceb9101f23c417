"""Themes: YAML files turned into ``textual.theme.Theme`` (validated by :mod:`oncall_tui.themes.schema`).

Every colour literal of the app lives in the YAML files of the repository's ``themes/`` folder
(never in Python or ``.tcss``). App-specific colours are theme *variables* (``$severity-critical``,
``$state-firing`` …) that our CSS and widgets use; :func:`default_theme_variables` gives them
defaults so that the CSS parses under any theme, Textual's built-in ones included.

Where themes come from, later overriding earlier by name:

1. the built-in folder, :func:`themes_dir`: ``$ONCALL_TUI_THEMES_DIR``, else ``themes/`` next
   to the package (a source checkout or an editable install);
2. ``oncall-mono``, built here from ``oncall-high-contrast`` (greys only), chosen when
   ``NO_COLOR`` is set;
3. the user's folder, :func:`user_themes_dir`: ``$XDG_CONFIG_HOME/oncall-tui/themes``
   (``~/.config/oncall-tui/themes`` by default);
4. any ``extra_dirs`` given to :func:`load_themes`.

This package is UI-layer code: it imports Textual. ``variables`` names the app's theme
variables, ``schema`` validates a theme file, ``colour`` does contrast and greyscale,
``registry`` finds, loads and registers themes.
"""

from oncall_tui.themes.colour import contrast_ratio
from oncall_tui.themes.registry import (
    apply_theme,
    choose_theme,
    default_theme_variables,
    load_theme_file,
    load_themes,
    mono_theme,
    no_color,
    register_themes,
    themes_dir,
    user_themes_dir,
)
from oncall_tui.themes.variables import (
    DEFAULT_THEME,
    MONO_THEME,
    THEME_VARIABLES,
    ThemeError,
)

__all__ = [
    "DEFAULT_THEME",
    "MONO_THEME",
    "THEME_VARIABLES",
    "ThemeError",
    "apply_theme",
    "choose_theme",
    "contrast_ratio",
    "default_theme_variables",
    "load_theme_file",
    "load_themes",
    "mono_theme",
    "no_color",
    "register_themes",
    "themes_dir",
    "user_themes_dir",
]
