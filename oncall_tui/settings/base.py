"""Shared base of the settings models and the one way they report a problem."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError


class StrictModel(BaseModel):
    """Base of every settings model: unknown keys rejected, input never echoed in errors."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


def invalid(message: str, *key_path: str | int) -> PydanticCustomError:
    """A validation error with a fixed message (never containing input values).

    ``key_path``, relative to the model raising it, tells the loader which key to point at
    (a model-level check about ``url`` points at ``url``, not at the whole endpoint).
    """
    return PydanticCustomError("config", message, {"key_path": key_path} if key_path else None)
