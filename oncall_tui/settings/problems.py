"""Turn pydantic validation errors into ``FILE:LINE:COL: KEY.PATH: what was expected``.

Pydantic's ``loc`` mixes real keys with internal segments (``function-after[...]``,
``[key]``...): only segments that are keys in the data or fields of the model at that level are
kept. Messages are written here from the error *type*, so no input value can leak into them
(the models also set ``hide_input_in_errors``).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import ValidationError

from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.settings import schema
from oncall_tui.settings.errors import ConfigProblem
from oncall_tui.settings.model import Settings
from oncall_tui.settings.secrets import SecretRef
from oncall_tui.settings.source import KeyPath, Locator, format_path

_SAFE_SECRET_KEY = re.compile(r"[a-z_]{1,16}")

_EXPECTED: dict[str, str] = {
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "finite_number": "expected a finite number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "list_type": "expected a list (- item lines)",
    "path_type": "expected a file path",
    "missing": "required key is missing",
    "string_too_short": "expected a non-empty string",
}


_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "of at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "of at most"),
}
_POSITION = re.compile(r":(\d+):(\d+)$")


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _expected(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        return f"expected a number {words} {_number(ctx.get(name))}"
    if kind == "literal_error":
        return f"expected one of: {ctx.get('expected')}"
    if kind == "config":
        return str(error["msg"])
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    return f"invalid value ({sanitize_for_display(kind)})"


def _key_path(loc: tuple[Any, ...], data: Any) -> tuple[KeyPath, Any]:
    """Real key path of ``loc`` and the model type at its parent."""
    path: list[str | int] = []
    current: Any = data
    tp: Any = Settings
    parent_tp = tp
    for segment in loc:
        child = None
        if isinstance(current, dict) and segment in current:
            child = current[segment]
        elif isinstance(current, list) and isinstance(segment, int) and 0 <= segment < len(current):
            child = current[segment]
        elif not (schema.is_model(tp) or schema.unwrap(tp) is SecretRef):
            continue  # internal segment below a dict/list/leaf
        elif schema.child_type(tp, segment) is None:
            continue  # internal segment (validator name, union branch...)
        path.append(segment)
        parent_tp = tp
        tp = schema.child_type(tp, segment)
        current = child
    return tuple(path), parent_tp


def _unknown_key(key: Any, parent_tp: Any) -> tuple[str, str]:
    """``(key as shown, message)``; a key inside a secret reference may itself be a secret."""
    valid = schema.model_keys(parent_tp)
    text = str(key)
    if schema.unwrap(parent_tp) is SecretRef and not _SAFE_SECRET_KEY.fullmatch(text):
        return "<hidden>", "unknown key (hidden: it may be a secret); expected one of: " + ", ".join(
            valid
        )
    shown = sanitize_for_display(text, max_chars=64)
    close = difflib.get_close_matches(text, valid, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(text.lower().replace("-", "_"), valid, n=1, cutoff=0.6)
    if close:
        return text, f"unknown key '{shown}' (did you mean '{close[0]}'?)"
    return text, f"unknown key '{shown}' (expected one of: {', '.join(valid)})"


def problems_from_validation(
    exc: ValidationError, data: Any, locator: Locator
) -> list[ConfigProblem]:
    """One :class:`ConfigProblem` per pydantic error, in file order, without duplicates."""
    problems: list[ConfigProblem] = []
    for error in exc.errors(include_input=False, include_url=False):
        path, parent_tp = _key_path(tuple(error["loc"]), data)
        extra = (error.get("ctx") or {}).get("key_path") or ()
        path = (*path, *extra)
        if error["type"] == "extra_forbidden" and path:
            origin = locator.origin(path, at_key=True)
            shown, message = _unknown_key(path[-1], parent_tp)
            path = (*path[:-1], shown)
        else:
            message = _expected(error)
            origin = locator.origin(path)
        problem = ConfigProblem(origin, format_path(path), message)
        if problem not in problems:
            problems.append(problem)
    return sorted(problems, key=_file_order)


def _file_order(problem: ConfigProblem) -> tuple[int, int, int]:
    """File problems by line and column, then environment ones."""
    match = _POSITION.search(problem.origin)
    if match:
        return (0, int(match.group(1)), int(match.group(2)))
    return (1, 0, 0)
