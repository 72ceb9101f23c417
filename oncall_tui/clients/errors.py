"""One error family for every backend (DESIGN.md "clients").

Every client raises a subclass of :class:`BackendError`; the UI shows ``str(err)`` on the
panel's badge. The message is the backend's own words, made safe once here: control
characters made visible (:func:`sanitize_for_display`), secrets masked (:func:`redact`), and
non-JSON bodies cut to their first 200 characters (SECURITY.md R4.3).
"""

from __future__ import annotations

from oncall_tui.text.redact import redact, redact_url
from oncall_tui.text.sanitize import sanitize_for_display

MAX_BODY_CHARS = 200


def clean_message(text: object, *, max_chars: int = 1000) -> str:
    """Sanitise and redact text from a backend or an exception for display."""
    return redact(sanitize_for_display(str(text), max_chars=max_chars))


class BackendError(Exception):
    """A backend request failed. ``str()`` is safe to show and to log."""

    #: Short label for a panel badge.
    badge = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        source: str = "",
        status: int | None = None,
        url: str | None = None,
        error_type: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = clean_message(message)
        self.source = source
        self.status = status
        self.url = redact_url(url) if url else None
        self.error_type = clean_message(error_type, max_chars=64) if error_type else None
        self.retry_after = retry_after
        super().__init__(self.message)

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        status = f"HTTP {self.status}: " if self.status else ""
        kind = f"{self.error_type}: " if self.error_type else ""
        return f"{where}{status}{kind}{self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class SourceUnavailable(BackendError):
    """Cannot reach the backend, or it answered 5xx / something that is not its API."""

    badge = "DOWN"


class RateLimited(SourceUnavailable):
    """HTTP 429 after the retries ran out."""

    badge = "RATE-LIMITED"


class Timeout(BackendError):
    """Connect/read timeout, or the server's own query timeout."""

    badge = "TIMEOUT"


class AuthFailed(BackendError):
    """HTTP 401/403, or the credential could not be obtained."""

    badge = "AUTH-FAILED"


class QueryRejected(BackendError):
    """The backend understood the request and refused it (400, 422): fix the query."""

    badge = "REJECTED"


class NotFound(QueryRejected):
    """HTTP 404: unknown path or object."""

    badge = "NOT-FOUND"


class MalformedResponse(SourceUnavailable):
    """The response was not the JSON shape the API documents."""

    badge = "BAD-RESPONSE"


class ResponseTooLarge(SourceUnavailable):
    """The response body exceeded the byte cap (SECURITY.md R4.5)."""

    badge = "TRUNCATED"


class RedirectRefused(SourceUnavailable):
    """The backend redirected and redirects are off for datasource clients (R5.4)."""

    badge = "REDIRECT"
