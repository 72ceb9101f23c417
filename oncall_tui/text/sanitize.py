"""The one place untrusted text is made safe to show (SECURITY.md R1.1, R1.3, R1.8).

Everything that comes from a backend (labels, annotations, log lines, span attributes, error
bodies, silence comments) passes through :func:`sanitize_for_display` before it reaches a
widget, a log record or an exception message. Control characters become visible escapes, so
an OSC 52 clipboard write shows up as the literal text ``\\x1b]52;...`` instead of reaching
the terminal; bidi and invisible characters become ``<U+202E>`` markers; very long values are
cut with a visible ``…[+N bytes]`` marker.
"""

from __future__ import annotations

import re

#: Default per-field caps (R1.8).
MAX_LOG_LINE = 16 * 1024
MAX_LABEL_VALUE = 1024

# Bidi controls and invisible characters that can make two different strings look identical.
_INVISIBLE = (
    [*range(0x200B, 0x2010)]
    + [*range(0x202A, 0x202F)]
    + [*range(0x2066, 0x206A)]
    + [0x061C, 0xFEFF, 0x2060, 0x2028, 0x2029]
)


def _build_table(multiline: bool) -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]:
        if cp == 0x09:  # tab stays
            continue
        if cp == 0x0A and multiline:
            continue
        table[cp] = {0x0A: "\\n", 0x0D: "\\r"}.get(cp, f"\\x{cp:02x}")
    for cp in _INVISIBLE:
        table[cp] = f"<U+{cp:04X}>"
    return table


_TABLE_ONE_LINE = _build_table(multiline=False)
_TABLE_MULTI_LINE = _build_table(multiline=True)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def sanitize_for_display(
    value: str | bytes | None,
    *,
    multiline: bool = False,
    max_chars: int | None = None,
) -> str:
    """Return ``value`` as inert, printable text.

    - C0 controls (except ``\\t``; ``\\n`` too when ``multiline``), ESC, DEL and C1 controls are
      replaced by visible escapes (``\\x1b``, ``\\x07``, ``\\r``, ``\\x9b``).
    - Bidi overrides and zero-width characters become ``<U+XXXX>`` markers.
    - Bytes that are not UTF-8 are shown as ``\\xff`` escapes; lone surrogates as markers.
    - With ``max_chars``, longer text is cut and ends in ``…[+N bytes]``.

    The result contains no character that a terminal interprets. It is still *text*: hand it
    to widgets as ``rich.text.Text``/``Content`` or with ``markup=False``, never as markup.
    """
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="backslashreplace")
    elif not isinstance(value, str):
        value = str(value)
    suffix = ""
    if max_chars is not None and len(value) > max_chars:
        value, suffix = _split_cap(value, max_chars)
    out = value.translate(_TABLE_MULTI_LINE if multiline else _TABLE_ONE_LINE)
    if _LONE_SURROGATE.search(out):
        out = _LONE_SURROGATE.sub(lambda m: f"<U+{ord(m.group()):04X}>", out)
    return out + suffix


def _split_cap(value: str, max_chars: int) -> tuple[str, str]:
    rest = value[max_chars:]
    return value[:max_chars], f"…[+{len(rest.encode('utf-8', 'surrogatepass'))} bytes]"


def cap(value: str, max_chars: int) -> str:
    """``value`` cut to ``max_chars`` characters plus a visible ``…[+N bytes]`` marker (R1.8),
    without sanitising it (for storing untrusted text that is sanitised when shown)."""
    if len(value) <= max_chars:
        return value
    head, marker = _split_cap(value, max_chars)
    return head + marker


def cap_leaves(value: object, max_chars: int = MAX_LABEL_VALUE) -> object:
    """``value`` with every string inside it (dict keys and values, list items) capped."""
    if isinstance(value, str):
        return cap(value, max_chars)
    if isinstance(value, dict):
        return {cap(str(k), max_chars): cap_leaves(v, max_chars) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [cap_leaves(v, max_chars) for v in value]
    return value


def sanitize_labels(labels: dict[str, str], *, max_chars: int = MAX_LABEL_VALUE) -> dict[str, str]:
    """Sanitise every label name and value (identity-bearing: invisible characters marked)."""
    return {
        sanitize_for_display(k, max_chars=max_chars): sanitize_for_display(v, max_chars=max_chars)
        for k, v in labels.items()
    }
