"""Small deterministic helpers shared by the demo: ramps, hash noise, ids, time and number formats."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

PROMETHEUS_URL = "http://demo-prometheus"
ALERTMANAGER_URL = "http://demo-alertmanager"
LOKI_URL = "http://demo-loki"
TEMPO_URL = "http://demo-tempo"
GRAFANA_URL = "http://demo-grafana"
#: The demo's CD system (Argo CD's API shape): a rollback there rolls the incident back.
CD_URL = "http://demo-argocd"

_M64 = (1 << 64) - 1
_C1, _C2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_C1_INV, _C2_INV = pow(_C1, -1, 1 << 64), pow(_C2, -1, 1 << 64)


def clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    """``x`` limited to ``[lo, hi]``."""
    return lo if x < lo else min(x, hi)


def smoothstep(x: float) -> float:
    """0 → 1 with zero slope at both ends (``x`` is clamped to [0, 1])."""
    x = clamp(x)
    return x * x * (3.0 - 2.0 * x)


@functools.lru_cache(maxsize=1 << 16)
def unit(key: str, bucket: int) -> float:
    """A stable pseudo-random number in [0, 1) for ``(key, bucket)`` (no process-salted hash)."""
    digest = hashlib.blake2b(f"{key}|{bucket}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def noise(key: str, t: float, period: float = 10.0) -> float:
    """Smooth noise in [-1, 1]: hash values per ``period`` bucket of ``t``, linearly joined."""
    pos = t / period
    bucket = math.floor(pos)
    frac = pos - bucket
    a, b = unit(key, bucket), unit(key, bucket + 1)
    return 2.0 * (a + (b - a) * frac) - 1.0


def hex_id(*parts: object, nbytes: int = 8) -> str:
    """A stable lowercase hex id (16 chars for a span id) from ``parts``."""
    raw = "|".join(str(p) for p in parts).encode()
    return hashlib.blake2b(raw, digest_size=nbytes).hexdigest()


def _mix(x: int) -> int:
    x = ((x ^ (x >> 30)) * _C1) & _M64
    x = ((x ^ (x >> 27)) * _C2) & _M64
    return x ^ (x >> 31)


def _unshift(y: int, s: int) -> int:
    x = y
    for _ in range(64 // s + 1):
        x = y ^ (x >> s)
    return x & _M64


def _unmix(x: int) -> int:
    x = _unshift(x, 31)
    x = (x * _C2_INV) & _M64
    x = _unshift(x, 27)
    x = (x * _C1_INV) & _M64
    return _unshift(x, 30)


_SLOT_BIAS = 1 << 40
_SALT = 0x6F6E63616C6C7475  # "oncalltu"


def encode_slot_id(slot: int) -> str:
    """A random-looking 32-hex trace id that encodes ``slot`` (reversible, see :func:`decode_slot_id`)."""
    low = _mix(((slot + _SLOT_BIAS) ^ _SALT) & _M64)
    high = _mix(low ^ _SALT)
    return f"{high:016x}{low:016x}"


def decode_slot_id(trace_id: str) -> int | None:
    """The slot a trace id from :func:`encode_slot_id` stands for, or None for a foreign id."""
    try:
        value = int(trace_id, 16)
    except ValueError:
        return None
    high, low = value >> 64, value & _M64
    if _mix(low ^ _SALT) != high:
        return None
    return (_unmix(low) ^ _SALT) - _SLOT_BIAS


# ------------------------------------------------------------------------ formats --
def prom_value(v: float) -> str:
    """A sample value as Prometheus writes it: ``"0.07"``, ``"1e-07"``, ``"NaN"``, ``"+Inf"``."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    text = repr(float(v))
    return text.removesuffix(".0")


def go_e(v: float) -> str:
    """Go's ``%e`` with shortest digits, as alert values: ``"7.165326808808109e-02"``, ``"0e+00"``."""
    if math.isnan(v) or math.isinf(v):
        return prom_value(v)
    for digits in range(17):
        text = f"{v:.{digits}e}"
        if float(text) == v:
            return text
    return f"{v:.16e}"


def prom_ts(ts: float) -> float:
    """A sample timestamp: Unix seconds with millisecond precision."""
    return round(ts, 3)


def rfc3339_ms(ts: float) -> str:
    """``2026-11-22T05:34:51.320Z`` (Alertmanager's format)."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def rfc3339_ns(ts: float) -> str:
    """``2026-11-22T05:30:00.468921741Z`` (Prometheus' ``activeAt``; digits past µs are zero)."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}000Z"


def rfc3339_us(ts: float) -> str:
    """``2026-11-22T05:34:50.296860Z`` (timestamps inside log lines)."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}Z"


def parse_rfc3339(text: str) -> float:
    """Unix seconds from an RFC 3339 time (``Z`` or an offset); raises ValueError."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    m = re.fullmatch(r"(.*?T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)", value)
    if m and m.group(2):  # Python accepts at most 6 fraction digits
        value = f"{m.group(1)}.{m.group(2)[:6].ljust(6, '0')}{m.group(3)}"
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        raise ValueError("time without a zone")
    return dt.timestamp()


def ns(ts: float) -> int:
    """Unix nanoseconds (integer) for a float timestamp."""
    return round(ts * 1e6) * 1000


# ------------------------------------------------------------------ request/reply --
@dataclass
class Reply:
    """A response before it becomes an ``httpx.Response``."""

    status: int
    body: bytes
    content_type: str | None = "application/json"


def json_reply(data: Any, status: int = 200, content_type: str = "application/json") -> Reply:
    """JSON body (compact, UTF-8 kept)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(status, body, content_type)


def text_reply(text: str, status: int) -> Reply:
    """Plain-text body, as Go servers send errors."""
    return Reply(status, text.encode(), "text/plain; charset=utf-8")


NOT_FOUND = text_reply("404 page not found", 404)


@dataclass
class Req:
    """The parts of a request the demo routes on; POST form fields join the query params."""

    method: str
    path: str
    params: list[tuple[str, str]]
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def build(cls, method: str, path: str, params: list[tuple[str, str]], headers: dict[str, str], body: bytes) -> Req:
        """Merge a form-encoded body into ``params``."""
        merged = list(params)
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded") and body:
            merged += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return cls(method.upper(), path, merged, headers, body)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The last value of a parameter."""
        values = self.getall(name)
        return values[-1] if values else default

    def getall(self, name: str) -> list[str]:
        """Every value of a (repeatable) parameter."""
        return [v for k, v in self.params if k == name]
