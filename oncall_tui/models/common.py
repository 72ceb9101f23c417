"""Shared pieces of the API models: base config, Prometheus floats, label names, times.

Nothing here imports Textual or httpx. Label values stay raw: display code sanitises them,
silences need the exact values.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = [
    "ADAPTER_CONFIG",
    "MODEL_CONFIG",
    "ApiModel",
    "LabelSet",
    "PromFloat",
    "format_rfc3339_ms",
    "is_valid_label_name",
    "is_zero_time",
    "parse_prom_float",
    "parse_version",
]

#: Config every API model uses: unknown fields ignored (newer servers must not break us),
#: input values never printed in errors, snake_case names accepted next to the aliases.
MODEL_CONFIG = ConfigDict(
    extra="ignore",
    hide_input_in_errors=True,
    populate_by_name=True,
    frozen=True,
    # Build each model's validator on first use, not at import: most models (rules, status,
    # exemplars, silence forms) are not needed for the first screen, and building them all
    # up front cost a noticeable share of start-up.
    defer_build=True,
)

#: Config for module-level ``TypeAdapter``s (lists, unions), so their errors hide input too.
ADAPTER_CONFIG = ConfigDict(hide_input_in_errors=True, defer_build=True)

#: A label set as the APIs send it: name -> raw value.
LabelSet = dict[str, str]


class ApiModel(BaseModel):
    """Base for API models: :data:`MODEL_CONFIG` plus camelCase aliases."""

    model_config = ConfigDict(**MODEL_CONFIG, alias_generator=to_camel)


_SPECIAL_FLOATS = {
    "nan": math.nan,
    "+inf": math.inf,
    "inf": math.inf,
    "+infinity": math.inf,
    "infinity": math.inf,
    "-inf": -math.inf,
    "-infinity": -math.inf,
}
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def parse_prom_float(s: str | float) -> float:
    """Parse a Prometheus/Go float: ``"NaN"``, ``"+Inf"``, ``"-Inf"``, ``"1e-07"``, ``"7.1e-02"``.

    Numbers pass through. Raises ``ValueError`` (without echoing the input) on anything else,
    including bools and Python-only spellings such as ``"1_000"``.
    """
    if isinstance(s, bool):
        raise ValueError("expected a float or a float string, got a bool")
    if isinstance(s, int | float):
        return float(s)
    if not isinstance(s, str):
        raise ValueError("expected a float or a float string")
    special = _SPECIAL_FLOATS.get(s.lower())
    if special is not None:
        return special
    # Fast path for the common case (18,000 points a refresh); float() alone would also take
    # Python-only spellings ("1_000", " 1", "infinity"), which the regex below refuses.
    if s and s[0] in _NUMBER_START and s[-1] in _DIGITS and "_" not in s:
        try:
            value = float(s)
        except ValueError:
            pass
        else:
            if math.isfinite(value):
                return value
    if not _DECIMAL_RE.fullmatch(s):
        raise ValueError("not a valid Prometheus float string")
    return float(s)


_DIGITS = frozenset("0123456789")
_NUMBER_START = frozenset("0123456789-+.")


#: A float that the API may send as a string (sample values, alert values, exemplar values).
PromFloat = Annotated[float, BeforeValidator(parse_prom_float)]

_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def is_valid_label_name(name: str) -> bool:
    """True if ``name`` is a classic Prometheus label name (``[a-zA-Z_][a-zA-Z0-9_]*``)."""
    return bool(_LABEL_NAME_RE.fullmatch(name))


def format_rfc3339_ms(dt: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with milliseconds: ``2026-11-22T05:34:51.320Z``.

    Sub-millisecond digits are truncated (as Go does). Naive datetimes raise ``ValueError``.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    u = dt.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond // 1000:03d}Z"
    )


def is_zero_time(dt: datetime | None) -> bool:
    """True for Go's zero time (``0001-01-01T00:00:00Z``), which the APIs use for "unset"."""
    return dt is None or dt.year == 1


_VERSION_RE = re.compile(r"v?(\d+(?:\.\d+)*)")


def parse_version(s: str) -> tuple[int, ...]:
    """Leading numeric part of a version: ``"2.42.0+ds"`` -> ``(2, 42, 0)``; ``()`` if none."""
    m = _VERSION_RE.match(s.strip())
    return tuple(int(p) for p in m.group(1).split(".")) if m else ()


class BuildInfo(ApiModel):
    """Build info as Prometheus, Alertmanager (``versionInfo``), Loki and Tempo report it.

    ``version`` may carry a suffix (``2.42.0+ds``).
    """

    version: str
    revision: str
    branch: str
    build_user: str
    build_date: str
    go_version: str

    @property
    def version_tuple(self) -> tuple[int, ...]:
        """Numeric version, leniently parsed: ``(2, 42, 0)``."""
        return parse_version(self.version)
