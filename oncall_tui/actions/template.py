"""Placeholder substitution for commands and requests built from alert labels (SECURITY.md R3).

Templates come from trusted local config; the *values* (label values of an alert, the service
and context names) are untrusted. Every value is checked with ``re.fullmatch`` against an
allow-list before it is used; a leading ``-``, a control character (newline included), a bidi or
invisible character or a missing label rejects it with a reason that names the placeholder.

Substitution is single-pass and inert: a value containing ``{labels.x}``, ``{{ 7*7 }}``,
``$(id)`` or a backtick is copied literally, never re-expanded. Each filled template element
stays one argv element; nothing here ever goes through a shell. With ``shell: true`` configs the
script text has no placeholders (the settings forbid it) and values are positional parameters
after it (``[sh, -c, SCRIPT, sh, "{labels.x}"]`` → ``$1``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from oncall_tui.actions.core import ActionError
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.settings.actions import DEFAULT_VALUE_PATTERN, PLACEHOLDER

__all__ = [
    "TemplateRejected",
    "fill",
    "fill_argv",
    "fill_json",
    "placeholder_names",
    "template_values",
    "validate_value",
]

#: How much of a rejected value the reason shows (sanitised, R1.3 markers).
_SHOWN_CHARS = 80
_SHELLS = ("sh", "bash", "/bin/sh", "/bin/bash")


class TemplateRejected(ActionError):
    """A placeholder value failed its allow-list; ``str()`` is safe to show (names the
    placeholder, the reason, and the value with control/bidi characters made visible)."""

    def __init__(self, name: str, reason: str, value: str | None = None) -> None:
        self.placeholder = name
        self.reason = reason
        self.value = value
        shown = "" if value is None else f" (value {shown_value(value)})"
        super().__init__(f"{{{name}}}: {reason}{shown}")


def shown_value(value: str) -> str:
    """A value as inert, quoted text for a reason or a preview (R1.3 markers, capped)."""
    return '"' + sanitize_for_display(value, max_chars=_SHOWN_CHARS) + '"'


def template_values(labels: Mapping[str, str] | None, *, service: str, context: str) -> dict[str, str]:
    """The values placeholders may refer to: ``labels.NAME`` for each label, ``service``, ``context``."""
    values = {f"labels.{k}": str(v) for k, v in (labels or {}).items()}
    values["service"] = service
    values["context"] = context
    return values


def _has_control(value: str) -> bool:
    # sanitize_for_display changes exactly the control, bidi and invisible characters (and
    # lone surrogates); tab is left alone by it, so check it separately.
    return "\t" in value or sanitize_for_display(value) != value


def validate_value(name: str, value: str | None, patterns: Mapping[str, str] | None = None) -> str:
    """Return ``value`` if it may be used for placeholder ``name``; raise :class:`TemplateRejected`.

    Checks, in order: present (a missing label rejects), no control/newline/bidi/invisible
    character, no leading ``-`` (never an option), then ``re.fullmatch`` with
    ``patterns[name]`` or :data:`DEFAULT_VALUE_PATTERN`.
    """
    if value is None:
        what = f"label {name[len('labels.'):]!r}" if name.startswith("labels.") else "value"
        raise TemplateRejected(name, f"the {what} is missing")
    if not isinstance(value, str):
        value = str(value)
    if value == "":
        raise TemplateRejected(name, "the value is empty", value)
    if _has_control(value):
        raise TemplateRejected(
            name, "the value contains a control, newline or invisible character", value
        )
    if value.startswith("-"):
        raise TemplateRejected(name, "the value starts with '-' (it could be read as an option)", value)
    pattern = (patterns or {}).get(name) or DEFAULT_VALUE_PATTERN
    try:
        matched = re.fullmatch(pattern, value) is not None
    except re.error:
        raise TemplateRejected(name, "its allow-list pattern is not a valid regular expression") from None
    if not matched:
        raise TemplateRejected(
            name, f"the value does not match the allow-list {sanitize_for_display(pattern, max_chars=120)}", value
        )
    return value


def placeholder_names(template: str) -> list[str]:
    """The placeholder names used in ``template``, in order (``labels.x``, ``service``...)."""
    return [m.group(1) for m in PLACEHOLDER.finditer(template)]


def fill(
    template: str,
    values: Mapping[str, str],
    patterns: Mapping[str, str] | None = None,
    *,
    quote: Callable[[str], str] | None = None,
) -> str:
    """Fill each placeholder of ``template`` once with its validated value.

    Single pass (``re.sub``): a value that itself looks like a placeholder, a Jinja/format
    expression or a shell substitution is copied literally. ``quote`` (e.g. URL-encoding for a
    path) is applied to each value after validation.
    """

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        value = validate_value(name, values.get(name), patterns)
        return quote(value) if quote is not None else value

    return PLACEHOLDER.sub(one, template)


def fill_argv(
    template_argv: Sequence[str],
    values: Mapping[str, str],
    patterns: Mapping[str, str] | None = None,
    *,
    shell: bool = False,
) -> tuple[str, ...]:
    """Fill an argv template element by element: each element stays exactly one argument.

    With ``shell=True`` the argv must be ``[sh, -c, SCRIPT, NAME, ARGS...]`` and the script may
    not contain a placeholder (values reach it as ``$1``, ``$2``...), checked again here.
    """
    if isinstance(template_argv, str):
        raise TypeError("an argv template is a list of arguments, never one string")
    argv = list(template_argv)
    if shell:
        if len(argv) < 3 or argv[0] not in _SHELLS or argv[1] != "-c":
            raise TemplateRejected("argv", "with shell: true the command must be [sh, -c, SCRIPT, sh, ARGS...]")
        if PLACEHOLDER.search(argv[2]):
            raise TemplateRejected("argv", "with shell: true the script text may not contain placeholders")
    return tuple(fill(arg, values, patterns) for arg in argv)


def fill_json(body: Any, values: Mapping[str, str], patterns: Mapping[str, str] | None = None) -> Any:
    """Fill placeholders in every string (keys and values) of a JSON-like body; others unchanged."""
    if isinstance(body, str):
        return fill(body, values, patterns)
    if isinstance(body, dict):
        return {fill(str(k), values, patterns): fill_json(v, values, patterns) for k, v in body.items()}
    if isinstance(body, list):
        return [fill_json(item, values, patterns) for item in body]
    return body
