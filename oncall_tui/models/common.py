"""Shared pieces of the API models: base config, Prometheus floats, label names, times.

Nothing here imports Textual or httpx. Label values stay raw: display code sanitises them,
silences need the exact values.
"""

from __future__ import annotations

import math
import re
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import msgspec
from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

from oncall_tui.models.gcpause import GC_PAUSE_BYTES, gc_paused, paused_for_size

__all__ = [
    "ADAPTER_CONFIG",
    "GC_PAUSE_BYTES",
    "MODEL_CONFIG",
    "ApiModel",
    "ElementCache",
    "LabelSet",
    "PromFloat",
    "ShapeError",
    "Wire",
    "WireBuildInfo",
    "build_model",
    "buildinfo_from_wire",
    "decode_wire",
    "format_rfc3339_ms",
    "gc_paused",
    "is_valid_label_name",
    "is_zero_time",
    "model_from_wire",
    "parse_buildinfo",
    "parse_prom_float",
    "parse_time",
    "parse_version",
    "paused_for",
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
    # Fast path for the common case (18,000 points and 5,000 alert values a refresh); float()
    # alone would also take Python-only spellings ("1_000", " 1", "infinity"), which the regex
    # below refuses. "NaN"/"+Inf" never pass its first/last-character test.
    if s and s[0] in _NUMBER_START and s[-1] in _DIGITS and "_" not in s:
        try:
            value = float(s)
        except ValueError:
            pass
        else:
            if math.isfinite(value):
                return value
    special = _SPECIAL_FLOATS.get(s.lower())
    if special is not None:
        return special
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


# ------------------------------------------------------------------ typed decoding --
# Responses are decoded straight from bytes into msgspec structs that mirror the wire shape
# (typed, validating, in C), then turned into the pydantic domain models above without a second
# validation (``build_model``). pydantic still validates what we *send* (``SilenceSpec``) and
# anything handed to ``Model.model_validate`` directly.

def paused_for(data: Any) -> Any:
    """:func:`~oncall_tui.models.gcpause.gc_paused` for a body over ``GC_PAUSE_BYTES``, else a
    no-op context."""
    if isinstance(data, bytes | bytearray | memoryview | msgspec.Raw):
        return paused_for_size(len(data))
    return nullcontext()


class ShapeError(ValueError):
    """A response body that is not the documented shape.

    ``detail`` says what was wrong (``Expected `str`, got `int```), ``path`` where
    (``$[3].labels[...]``, msgspec's notation; dict keys are never spelled out). Neither ever
    quotes a value from the body: the clients turn this into ``MalformedResponse``.
    """

    def __init__(self, detail: str, path: str = "", *, syntax: bool = False) -> None:
        self.detail = detail
        self.path = path
        #: True when the body is not JSON at all (malformed, truncated, nested too deeply).
        self.syntax = syntax
        super().__init__(f"{detail} - at `{path}`" if path else detail)

    def within(self, prefix: str) -> ShapeError:
        """The same error with its path re-rooted under ``prefix`` (``$`` -> ``$.data``)."""
        if self.syntax:
            return self
        return ShapeError(self.detail, prefix + (self.path[1:] if self.path else ""))


class Wire(msgspec.Struct, rename="camel", gc=False):
    """Base of the structs that mirror API bodies: camelCase on the wire, unknown fields ignored.

    Instances live only between decode and :func:`build_model` (``gc=False``: never tracked).
    """


#: msgspec messages whose wording never includes input: types and field names in backticks
#: come from our own schema or are JSON type names.
_SAFE_DETAIL = re.compile(
    r"Expected `[A-Za-z_ |\[\],.]+`(?:, got `[A-Za-z_ .]+`)?"
    r"|Expected `[a-z]+` (?:of length |)[<>=]+ \d+"
    r"|Object missing required field `[A-Za-z_]+`"
    r"|Input data was truncated"
    r"|Invalid UTF-8 encoded string"
    r"|JSON is malformed: [a-z ]+ \(byte \d+\)"
    r"|Invalid RFC3339 encoded datetime"
    r"|Array length \d+ doesn't match expected length \d+"
    r"|Expected `array` of length \d+"
)
_PATH = re.compile(r"\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\[\.\.\.\])*")
_MSG = re.compile(r"(?P<detail>.*?)(?: - at `(?P<path>[^`]*)`)?", re.DOTALL)


def _shape_error(exc: Exception, prefix: str = "") -> ShapeError:
    """A :class:`ShapeError` from a msgspec error, keeping only value-free wording and the path.

    msgspec quotes the offending value in some messages (``Invalid enum value 'x'``, a union
    tag): those become a fixed wording. ``prefix`` re-roots the path (``$.data``).
    """
    m = _MSG.fullmatch(str(exc))
    detail = m.group("detail") if m else ""
    raw_path = (m.group("path") if m else None) or ""
    if not _SAFE_DETAIL.fullmatch(detail):
        if detail.startswith("Invalid enum value"):
            detail = "Invalid value (not one of the documented values)"
        elif detail.startswith("Invalid value"):
            detail = "Invalid type tag (not one of the documented types)"
        elif detail.startswith("JSON is malformed"):
            detail = "JSON is malformed"
        else:
            detail = "Invalid value"
    path = ""
    if raw_path:
        pm = _PATH.match(raw_path)
        path = pm.group(0) if pm else "$"
    elif prefix or isinstance(exc, msgspec.ValidationError):
        path = "$"  # msgspec leaves out the path at the top level
    if prefix and path:
        path = prefix + path[1:]
    syntax = isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError)
    return ShapeError(detail, path, syntax=syntax)


def _too_deep(data: Any) -> bool:
    """Whether a body that failed to decode is nested deeper than the interpreter allows
    (checked only on the failure path: a typed decode usually stops at the first wrong type)."""
    if not isinstance(data, bytes | bytearray | memoryview | msgspec.Raw):
        return False
    try:
        msgspec.json.decode(data)
    except RecursionError:
        return True
    except (msgspec.MsgspecError, ValueError):
        return False
    return False


_TOO_DEEP = "response JSON is nested too deeply"


T = TypeVar("T")


def decode_wire(decoder: msgspec.json.Decoder[T], wire_type: Any, data: Any, *, prefix: str = "") -> T:
    """A wire struct from a body (bytes / ``msgspec.Raw``: decoded by ``decoder``) or from
    already-decoded Python data (``msgspec.convert`` to ``wire_type``).

    Bytes that are not UTF-8 become U+FFFD where they stand (the rest still decodes). Raises
    :class:`ShapeError` for malformed, truncated, wrongly typed or too deeply nested input.
    """
    try:
        try:
            if isinstance(data, bytes | bytearray | memoryview | msgspec.Raw):
                return decoder.decode(data)
            return msgspec.convert(data, wire_type)
        except msgspec.DecodeError as exc:
            if "UTF-8" not in str(exc):
                raise
            return decoder.decode(bytes(data).decode("utf-8", errors="replace"))
    except msgspec.MsgspecError as exc:
        if _too_deep(data):
            raise ShapeError(_TOO_DEEP, syntax=True) from None
        raise _shape_error(exc, prefix) from None
    except RecursionError:
        raise ShapeError(_TOO_DEEP, syntax=True) from None


class ElementCache:
    """The models built from the last body's list elements, by each element's exact JSON text.

    A refresh of 5,000 alerts gets back mostly the alerts it got last time, byte for byte: an
    element whose text did not change gets the very same (frozen) model again, and only new or
    changed elements are decoded and built (with 5,000 unchanged alerts: ~4 ms instead of
    ~30 ms, and no new objects for the garbage collector to walk). Keeps only the last body's
    elements. Safe across threads: a call reads one generation and installs a new one.
    """

    __slots__ = ("_by_raw",)

    def __init__(self) -> None:
        self._by_raw: dict[bytes, Any] = {}

    def __len__(self) -> int:
        return len(self._by_raw)

    def reuse(self, raws: list[msgspec.Raw], build: Any) -> list[Any]:
        """One model per element of ``raws``: the cached one when its text is unchanged, else
        from ``build(body)`` (``body`` a JSON array of the new elements; it returns their
        models in order). Raises whatever ``build`` raises (callers then decode the whole body
        the ordinary way, which reports the error's place in the original body)."""
        last = self._by_raw
        keys = [bytes(r) for r in raws]
        missing = [k for k in dict.fromkeys(keys) if k not in last]
        if not missing and len(keys) == len(last):  # the same elements again (the usual case)
            return [last[k] for k in keys]
        by_raw: dict[bytes, Any] = {}
        if missing:
            built = build(b"[" + b",".join(missing) + b"]")
            if len(built) != len(missing):
                raise ShapeError("element count changed on re-decoding")
            by_raw.update(zip(missing, built, strict=True))
        for k in keys:
            if k not in by_raw:
                by_raw[k] = last[k]
        self._by_raw = by_raw
        return [by_raw[k] for k in keys]


_new = object.__new__
_set = object.__setattr__
#: Setters of ``BaseModel``'s slots (faster than ``object.__setattr__`` by name): the hot loops
#: that build thousands of models a refresh use them directly.
set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
set_private = BaseModel.__dict__["__pydantic_private__"].__set__
M = TypeVar("M", bound=BaseModel)


def build_model(cls: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """A pydantic model from already-checked values, without validating again.

    Sets exactly what ``BaseModel.model_construct`` sets (at ~2x its speed); ``values`` must
    hold every field (defaults included) under its Python name, ``fields_set`` the names the
    body had. A test compares the results with validated models for every fixture.
    """
    obj = _new(cls)
    _set(obj, "__dict__", values)
    set_fields_set(obj, fields_set)
    set_extra(obj, None)
    set_private(obj, None)
    return obj


def model_from_wire(cls: type[M], wire: Any, **converted: Any) -> M:
    """A model from a wire struct with the same field names (for the small, rare bodies).

    ``converted`` gives values already turned into their model types (times, nested models);
    UNSET there, or a field missing from the wire struct, takes the model's default (copied,
    as pydantic does) and is left out of ``model_fields_set``.
    """
    values: dict[str, Any] = {}
    fields_set: set[str] = set()
    for name, info in cls.model_fields.items():
        v = converted[name] if name in converted else getattr(wire, name, msgspec.UNSET)
        if v is msgspec.UNSET:
            values[name] = info.get_default(call_default_factory=True)
        else:
            values[name] = v
            fields_set.add(name)
    return build_model(cls, values, fields_set)


_fromisoformat = datetime.fromisoformat


def parse_time(s: Any) -> datetime:
    """An RFC 3339 time as Go writes it (``2026-11-22T05:34:51.320Z``, up to nanoseconds).

    Digits past microseconds are truncated, as pydantic did (``.952251503Z`` -> ``.952251``);
    ``Z`` gives UTC. Raises ``ValueError`` without echoing the input.
    """
    if type(s) is str and len(s) >= 19 and s[10] in "Tt":
        try:
            return _fromisoformat(s)
        except ValueError:
            pass
    raise ValueError("Expected an RFC 3339 time")


class WireBuildInfo(Wire):
    version: str
    revision: str
    branch: str
    build_user: str
    build_date: str
    go_version: str


_BUILDINFO = msgspec.json.Decoder(WireBuildInfo)
_BUILDINFO_FIELDS = ("version", "revision", "branch", "build_user", "build_date", "go_version")


def buildinfo_from_wire(w: WireBuildInfo) -> BuildInfo:
    return build_model(
        BuildInfo, {f: getattr(w, f) for f in _BUILDINFO_FIELDS}, set(_BUILDINFO_FIELDS)
    )


def parse_buildinfo(data: Any) -> BuildInfo:
    """Parse build info (Prometheus ``status/buildinfo`` data, Alertmanager ``versionInfo``)."""
    return buildinfo_from_wire(decode_wire(_BUILDINFO, WireBuildInfo, data))
