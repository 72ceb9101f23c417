"""Walk the settings models by key path: which keys are valid where, and what type a key has.

Used to suggest the closest valid key for a typo, to tell key segments from pydantic's internal
location segments, and to give environment override values the right type.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from oncall_tui.settings.secrets import SecretRef

Segment = str | int


def unwrap(tp: Any) -> Any:
    """Strip ``Optional``/``Annotated`` wrappers."""
    origin = get_origin(tp)
    if origin is Annotated:
        return unwrap(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        return unwrap(args[0]) if len(args) == 1 else tp
    return tp


def is_model(tp: Any) -> bool:
    """True for a settings model class (a secret reference counts as a leaf value)."""
    tp = unwrap(tp)
    return isinstance(tp, type) and issubclass(tp, BaseModel) and tp is not SecretRef


def model_keys(tp: Any) -> list[str]:
    """Keys a YAML mapping of type ``tp`` may have (empty if ``tp`` is not a model)."""
    tp = unwrap(tp)
    if not is_model(tp):
        return ["env", "file", "keyring"] if tp is SecretRef else []
    hidden = getattr(tp, "_hidden_keys", frozenset())
    return [k for k in tp.model_fields if k not in hidden]


def child_type(tp: Any, segment: Segment) -> Any | None:
    """Type of ``segment`` inside a value of type ``tp``; None if there is no such key."""
    tp = unwrap(tp)
    if tp is SecretRef:
        return str if segment in ("env", "file", "keyring") else None
    if is_model(tp):
        field = tp.model_fields.get(str(segment))
        return None if field is None else field.annotation
    origin = get_origin(tp)
    if origin is dict:
        return get_args(tp)[1]
    if origin is list and isinstance(segment, int):
        return get_args(tp)[0]
    return None


def is_text(tp: Any) -> bool:
    """True when a value of type ``tp`` is written as a plain string (str, path, secret)."""
    tp = unwrap(tp)
    return tp in (str, Path, SecretRef) or get_origin(tp) is Literal


def is_mapping(tp: Any) -> bool:
    """True for models and dicts (values written as YAML mappings)."""
    tp = unwrap(tp)
    return is_model(tp) or get_origin(tp) is dict


def is_list(tp: Any) -> bool:
    """True for list types."""
    return get_origin(unwrap(tp)) is list
