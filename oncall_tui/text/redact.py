"""Secret redaction for logs, error text and anything shown on screen (SECURITY.md R5.5).

Three layers, all applied by :func:`redact`:

1. every secret value the app resolved (tokens, passwords, URL user-info) is registered with
   :func:`register_secret` and replaced by ``***`` wherever it appears;
2. URL user-info becomes ``***@``;
3. query parameters and header-like ``key: value`` pairs whose name looks sensitive
   (token, key, pass, secret, auth, sig, cookie) get their value replaced by ``***``.

:func:`install_log_redaction` applies this to every log record the process creates (through a
log-record factory, so no handler can bypass it) and quiets httpx/httpcore, which log full URLs
at INFO.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words; they are rejected by settings

_lock = threading.Lock()
_secrets: set[str] = set()
_secret_re: re.Pattern[str] | None = None

_SENSITIVE_NAME = re.compile(r"(?i)token|key|pass|secret|auth|sig|cookie|session|credential")
# Every pattern below is linear in its input: each one that starts with a character run is
# anchored by a look-behind at the start of that run, so a long run of letters and digits is
# scanned once, not once per start position (a 16 KB label took 31 s with the unanchored form).
_USERINFO = re.compile(
    r"(?<![A-Za-z0-9+.-])(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s?#]+)@"
)
_NAME_CHARS = r"A-Za-z0-9_.\-\[\]"
_QUERY_PAIR = re.compile(rf"(?<![{_NAME_CHARS}])(?P<name>[{_NAME_CHARS}]+)=(?P<value>[^&\s#'\"]+)")
_QUERY_NAME = re.compile(r"(?i)token|key|pass|secret|auth|sig")
#: Text longer than this is cut (with a visible marker) before any pattern runs (R1.8).
MAX_REDACT_CHARS = 64 * 1024
_HEADER_PAIR = re.compile(
    r"(?im)(?P<name>authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token)"
    r"(?P<sep>['\"]?\s*[:=,]\s*['\"]?)(?P<value>(?:bearer |basic )?[^'\"\s,)]+)"
)
# Credentials quoted in free text ("... with Bearer abc", "Basic YWxp...") by servers or libraries.
_SCHEME_CREDENTIAL = re.compile(r"(?i)\b(?P<scheme>bearer)\s+(?P<value>[A-Za-z0-9._~+/=-]{16,})")


def register_secret(value: str | None) -> None:
    """Remember a secret value so that :func:`redact` masks it wherever it appears."""
    global _secret_re
    if not value or len(value) < _MIN_SECRET_LEN:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        # Longest first so that a secret containing another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _secret_re = re.compile("|".join(re.escape(s) for s in ordered))


def forget_secrets() -> None:
    """Forget all registered secrets (tests)."""
    global _secret_re
    with _lock:
        _secrets.clear()
        _secret_re = None


def _mask_query_pair(m: re.Match[str]) -> str:
    name = m.group("name")
    return f"{name}={MASK}" if _QUERY_NAME.search(name) else m.group(0)


def _cut(text: str, limit: int) -> tuple[str, str]:
    """``text`` cut to ``limit`` characters with a ``…[+N bytes]`` marker; a registered secret
    that the cut splits loses its visible prefix too (the masking pass cannot see half of it)."""
    rest = text[limit:]
    head = text[:limit]
    with _lock:
        secrets = list(_secrets)
    for secret in secrets:
        for k in range(min(len(secret), limit) - 1, 0, -1):
            if head.endswith(secret[:k]) and text[limit - k : limit - k + len(secret)] == secret:
                head = head[: limit - k]
                rest = text[limit - k :]
                break
    return head, f"…[+{len(rest.encode('utf-8', 'surrogatepass'))} bytes]"


def redact(text: str, *, max_chars: int = MAX_REDACT_CHARS) -> str:
    """Mask registered secrets, URL user-info, sensitive query params and auth headers.

    Linear in the input, and the input is first cut to ``max_chars`` (default 64 KiB) with a
    visible marker, so a hostile 1 MB label costs a few milliseconds wherever it is redacted.
    """
    if not text:
        return text
    marker = ""
    if len(text) > max_chars:
        text, marker = _cut(text, max_chars)
    pattern = _secret_re
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    text = _QUERY_PAIR.sub(_mask_query_pair, text)
    text = _HEADER_PAIR.sub(lambda m: f"{m.group('name')}{m.group('sep')}{MASK}", text)
    text = _SCHEME_CREDENTIAL.sub(lambda m: f"{m.group('scheme')} {MASK}", text)
    return text + marker


def redact_url(url: str) -> str:
    """A URL safe to print: user-info and sensitive query parameter values masked."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return redact(str(url))
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, MASK if _SENSITIVE_NAME.search(k) else v) for k, v in pairs], safe="*:/{}\"=~!,"
        )
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


# ---------------------------------------------------------------------------- logging --
_installed = False
_exc_formatter = logging.Formatter()


def _wrap_factory(factory):  # type: ignore[no-untyped-def]
    def make_record(*args, **kwargs):  # type: ignore[no-untyped-def]
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format must not hide the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = ()
        if record.exc_info:
            record.exc_text = redact(_exc_formatter.formatException(record.exc_info))
        return record

    return make_record


def install_log_redaction() -> None:
    """Redact every log record created from now on; keep httpx/httpcore at WARNING."""
    global _installed
    for name in ("httpx", "httpcore", "hpack"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if _installed:
        return
    logging.setLogRecordFactory(_wrap_factory(logging.getLogRecordFactory()))
    _installed = True
