"""What the user can do about a query Loki rejected (a limit or a syntax error):
:func:`guidance_for`."""

from __future__ import annotations

import re

__all__ = [
    "guidance_for",
]

# ------------------------------------------------------------------------ errors --
_GUIDANCE: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"max entries limit per query exceeded.*?\((\d+) > (\d+)\)"),
        (
            "ask for at most {2} lines (the server's limit) and page by time, or narrow the "
            "time range or add a label selector"
        ),
    ),
    (re.compile(r"max entries limit"), "ask for fewer lines: narrow the time range or add a label selector"),
    (
        re.compile(r"query time range exceeds the limit \(query length: ([^,]+), limit: ([^)]+)\)"),
        "narrow the time range to at most {2}",
    ),
    (re.compile(r"time range exceeds the limit|query length"), "narrow the time range"),
    (
        re.compile(r"maximum (?:number )?of series \((\d+)\)"),
        "add a label selector or aggregate (sum by …) to return fewer than {1} series",
    ),
    (re.compile(r"max(?:imum)? (?:number of )?series|series limit"), "add a label selector or aggregate (sum by …)"),
    (
        re.compile(r"too many bytes|max number of chunks|too many chunks"),
        "narrow the time range or add a label selector or a line filter",
    ),
    (re.compile(r"max streams matchers per query"), "use fewer label matchers"),
    (re.compile(r"maximum resolution of"), "widen the step or narrow the time range"),
    (
        re.compile(r"past now - max_query_lookback|no longer available"),
        "the data is older than the server keeps: move the time range later",
    ),
    (
        re.compile(r"log queries are not supported as an instant query"),
        "log lines need a range query, not an instant one",
    ),
    (
        re.compile(r"at least one regexp or equality matcher"),
        'add a label matcher with a non-empty value, e.g. {{service="x"}}',
    ),
    (
        re.compile(r"end timestamp must not be before or equal to start"),
        "the end of the time range must be after its start",
    ),
    (re.compile(r"parse error|syntax error"), "fix the LogQL syntax at the position shown"),
)


def guidance_for(error: object) -> str | None:
    """What the user can do about a rejected Loki query (limit or syntax), or ``None``.

    Takes the exception (``QueryRejected``: its ``message`` and ``status`` are used) or its
    message. Errors outside 4xx get none: those are retried or shown as "down".
    """
    status = getattr(error, "status", None)
    if isinstance(status, int) and not 400 <= status < 500:
        return None
    message = getattr(error, "message", None)
    text = message if isinstance(message, str) else str(error)
    for regex, advice in _GUIDANCE:
        match = regex.search(text)
        if match:
            return advice.format(match.group(0), *match.groups())
    return None
