"""The theme file schema: the pydantic model a user's theme YAML is validated against.

Apart from :mod:`oncall_tui.themes.registry` so that start-up does not build it: the packaged themes
are read without validation (the test suite validates them), and this module is imported
only when a user's theme folder, ``$ONCALL_TUI_THEMES_DIR`` or an odd packaged file needs
checking, so that errors still name the file, line and key.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
)
from textual.color import Color, ColorParseError
from textual.theme import BUILTIN_THEMES, Theme

from oncall_tui.settings.source import locate
from oncall_tui.themes.variables import THEME_VARIABLES, ThemeError

__all__ = ["Colour", "ThemeFile", "ThemeVariables", "load_theme_file"]



def _not_missing(value: Any) -> Any:
    if value is None:
        raise ValueError(
            "a value is required (quote hex colours: in YAML an unquoted '#' starts a comment)"
        )
    return value


def _check_colour(value: str) -> str:
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(
            f"{value!r} is not a colour (expected e.g. '#RRGGBB' or a colour name)"
        ) from None
    return value


Colour = Annotated[str, BeforeValidator(_not_missing), AfterValidator(_check_colour)]
"""A string that ``textual.color.Color.parse`` accepts."""


@lru_cache(maxsize=1)
def _textual_variable_names() -> frozenset[str]:
    """The variables Textual's own CSS uses (``footer-key-foreground`` …); themes may set them."""
    return frozenset(BUILTIN_THEMES["textual-dark"].to_color_system().generate())


def _check_textual_colour(value: str) -> str:
    """A Textual variable's colour: ``auto`` or a colour, then an optional alpha (``35%``)."""
    head, _, alpha = value.strip().partition(" ")
    if head != "auto":
        _check_colour(head)
    alpha = alpha.strip()
    if alpha and not (alpha.endswith("%") and alpha[:-1].replace(".", "", 1).isdigit()):
        raise ValueError(f"{value!r}: expected a colour optionally followed by an alpha like 50%")
    return value


_TextualColour = Annotated[
    str, BeforeValidator(_not_missing), AfterValidator(_check_textual_colour)
]
_TextualStyle = Annotated[str, BeforeValidator(_not_missing)]  # bold, underline, none …


def _variables_model() -> type[BaseModel]:
    """A model with one optional field per allowed variable, keyed by its CSS name.

    The app's variables must be colours; Textual's own (``footer-key-foreground``,
    ``block-cursor-text-style`` …) may be set too. Any other name is an unknown key.
    """
    fields: dict[str, Any] = {}
    for name in THEME_VARIABLES:
        # Omitted is fine (the app's defaults apply); an explicit null is an error.
        fields[name.replace("-", "_")] = (Colour, Field(default=None, alias=name))
    for name in sorted(_textual_variable_names()):
        kind = _TextualStyle if name.endswith("-style") else _TextualColour
        fields["textual_" + name.replace("-", "_")] = (kind, Field(default=None, alias=name))
    return create_model(
        "ThemeVariables",
        __config__=ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True),
        __doc__="A theme's ``variables:`` mapping.",
        **fields,
    )


ThemeVariables = _variables_model()


class ThemeFile(BaseModel):
    """One theme YAML file. Unknown keys are rejected; colours must parse."""

    # Built on first use: the packaged themes skip validation at start-up (see _load_dir).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)

    name: str = Field(min_length=1, max_length=64)
    """The theme's name, as used by ``App.theme`` and the ``theme`` setting."""
    dark: bool
    """True for a dark background (Textual's ``:dark`` pseudo-class)."""
    description: str | None = None
    """One line shown to people choosing a theme."""

    primary: Colour
    secondary: Colour | None = None
    accent: Colour | None = None
    foreground: Colour | None = None
    background: Colour | None = None
    surface: Colour | None = None
    panel: Colour | None = None
    boost: Colour | None = None
    warning: Colour | None = None
    error: Colour | None = None
    success: Colour | None = None
    luminosity_spread: float = Field(default=0.15, ge=0.0, le=1.0)
    text_alpha: float = Field(default=0.95, ge=0.0, le=1.0)

    variables: ThemeVariables = Field(default_factory=ThemeVariables)  # type: ignore[valid-type]
    """The app's variables (:data:`THEME_VARIABLES`) and, optionally, Textual's own."""

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        # App.get_theme() splits on commas; whitespace would not survive the settings file.
        if value != value.strip() or any(ch.isspace() or ch == "," for ch in value):
            raise ValueError("a theme name has no spaces or commas")
        return value

    def theme_variables(self) -> dict[str, str]:
        """The variables set in the file, by CSS name."""
        return self.variables.model_dump(by_alias=True, exclude_none=True)

    def to_theme(self) -> Theme:
        """The ``textual.theme.Theme`` for this file."""
        return Theme(
            name=self.name,
            primary=self.primary,
            secondary=self.secondary,
            accent=self.accent,
            foreground=self.foreground,
            background=self.background,
            surface=self.surface,
            panel=self.panel,
            boost=self.boost,
            warning=self.warning,
            error=self.error,
            success=self.success,
            dark=self.dark,
            luminosity_spread=self.luminosity_spread,
            text_alpha=self.text_alpha,
            variables=self.theme_variables(),
        )



def load_theme_file(path: Path | str) -> ThemeFile:
    """Read and validate one theme file; raises :class:`ThemeError` naming the file and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeError(path, f"cannot read theme file: {exc}") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster
    try:
        data = yaml.load(text, Loader=loader)  # a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise ThemeError(path, [(where, "", f"invalid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise ThemeError(path, "a theme file is a mapping with at least 'name' and 'primary'")
    try:
        return ThemeFile.model_validate(data)
    except ValidationError as exc:
        where = locate(text, str(path))  # node marks, only to place the errors
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            elif message.startswith("Value error, "):
                message = message.removeprefix("Value error, ")
            key = ".".join(str(part) for part in loc)
            problems.append((where.origin(loc, at_key=True), key, message))
        raise ThemeError(path, problems) from None


