"""Colour arithmetic for themes: contrast ratios (WCAG) and the greyscale ``oncall-mono``."""

from __future__ import annotations

from textual.color import Color
from textual.theme import Theme

from oncall_tui.themes.variables import MONO_THEME, THEME_VARIABLES


def opaque(colour: Color | str, background: Color | str) -> Color:
    """``colour`` composited on ``background`` (drops any alpha)."""
    bg = Color.parse(background) if isinstance(background, str) else background
    fg = Color.parse(colour) if isinstance(colour, str) else colour
    return (bg.with_alpha(1.0) + fg).with_alpha(1.0)


def _relative_luminance(colour: Color) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = colour.rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(colour: Color | str, background: Color | str) -> float:
    """WCAG 2 contrast ratio (1 to 21) of two colours; alpha is composited on ``background``."""
    bg = opaque(background, background)
    fg = opaque(colour, bg)
    high, low = sorted((_relative_luminance(fg), _relative_luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


_MONO_WEIGHT: dict[str, float] = {
    "severity-critical": 1.0,
    "severity-error": 0.9,
    "severity-warning": 0.8,
    "severity-info": 0.7,
    "severity-none": 0.55,
    "state-firing": 1.0,
    "state-pending": 0.8,
    "state-silenced": 0.55,
    "state-inhibited": 0.5,
    "level-ok": 0.7,
    "level-warn": 0.85,
    "level-crit": 1.0,
    "source-fresh": 0.7,
    "source-stale": 0.85,
    "source-down": 1.0,
    "sparkline-low": 0.55,
    "sparkline-high": 1.0,
    "readonly-badge": 0.85,
    "paused-banner": 1.0,
}
"""oncall-mono: how far from the background toward the foreground each variable's grey is —
the more urgent, the brighter; the app's text (``CRIT``, ``firing`` …) tells them apart."""


def greyscale_theme(base: Theme) -> Theme:
    """``oncall-mono``: black, white and greys only, for ``NO_COLOR``.

    The base colours are ``base``'s (``oncall-high-contrast`` by default) turned grey with
    Textual's ``Color.monochrome`` (the formula of its own NO_COLOR filter). Each app variable
    is a grey between background and foreground, brighter for more urgent states, and keeps
    at least 4.5:1 contrast against the background.
    """
    generated = base.to_color_system().generate()
    background = Color.parse(generated["background"]).monochrome.with_alpha(1.0)
    foreground = opaque(Color.parse(generated["foreground"]).monochrome, background)

    def grey(name: str) -> str:
        return Color.parse(generated[name]).monochrome.hex

    def shade(weight: float) -> str:
        colour = background.blend(foreground, weight)
        while contrast_ratio(colour, background) < 4.5 and weight < 1.0:
            weight = min(1.0, weight + 0.05)
            colour = background.blend(foreground, weight)
        return colour.hex

    return Theme(
        name=MONO_THEME,
        primary=grey("primary"),
        secondary=grey("secondary"),
        accent=grey("accent"),
        foreground=foreground.hex,
        background=background.hex,
        surface=grey("surface"),
        panel=grey("panel"),
        boost=grey("boost"),
        warning=grey("warning"),
        error=grey("error"),
        success=grey("success"),
        dark=base.dark,
        luminosity_spread=base.luminosity_spread,
        text_alpha=base.text_alpha,
        variables={name: shade(_MONO_WEIGHT[name]) for name in THEME_VARIABLES},
    )
