"""Trace and span ids in every spelling Tempo and people use → lowercase hex.

Ids inside trace JSON are **base64** (protobuf-JSON bytes); search results use **hex** and strip
leading zeros from trace ids. Everything is normalised to lowercase hex, trace ids to 32
characters, span ids to 16.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["InvalidTraceId", "id_to_hex", "normalize_span_id", "normalize_trace_id"]

_HEX_ANY_CASE = re.compile(r"[0-9a-fA-F]+")
_URLSAFE = str.maketrans("-_", "+/")


class InvalidTraceId(ValueError):
    """A string that is neither a hex nor a base64 trace id."""


def id_to_hex(value: str, width: int) -> str:
    """An id as Tempo sends it (base64 in trace JSON, hex elsewhere) → lowercase hex, ``width`` chars.

    Hex may have its leading zeros stripped (search results do that). Base64 (standard or
    URL-safe, padded or not) must decode to exactly ``width / 2`` bytes, or 8 for a 64-bit
    trace id. Raises ``ValueError`` for anything else.
    """
    if not isinstance(value, str) or not value:
        raise ValueError("id is empty or not a string")
    if len(value) <= width and _HEX_ANY_CASE.fullmatch(value):
        # Padded base64 (what Tempo sends) always holds "=" for 8- and 16-byte ids, so it
        # never gets here; an unpadded one made only of hex digits would be read as hex.
        return value.lower().zfill(width)
    try:
        raw = base64.b64decode(value.translate(_URLSAFE) + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) * 2 != width and not (width == 32 and len(raw) == 8):
        raise ValueError(f"id is neither hex nor base64 of {width // 2} bytes")
    return raw.hex().zfill(width)


def normalize_trace_id(value: str) -> str:
    """Any spelling of a trace id → 32 lowercase hex characters.

    Accepts hex in either case (leading zeros stripped or not, 64-bit ids, a ``0x`` prefix) and
    base64 (standard or URL-safe, padded or not). Raises :class:`InvalidTraceId` otherwise, or
    for the all-zero id (invalid in W3C trace context).
    """
    text = value.strip() if isinstance(value, str) else ""
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    if not text:
        raise InvalidTraceId("empty trace id")
    try:
        hex_id = id_to_hex(text, 32)
    except ValueError as exc:
        raise InvalidTraceId(f"not a trace id (hex or base64): {exc}") from None
    if hex_id == "0" * 32:
        raise InvalidTraceId("the all-zero trace id is invalid")
    return hex_id


def normalize_span_id(value: str) -> str:
    """Any spelling of a span id → 16 lowercase hex characters (``ValueError`` otherwise)."""
    return id_to_hex(value.strip() if isinstance(value, str) else value, 16)
