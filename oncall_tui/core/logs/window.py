"""The time window of an alert's logs (:func:`alert_window`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from oncall_tui.models.common import is_zero_time

__all__ = [
    "alert_window",
]


def alert_window(
    starts_at: datetime,
    ends_at: datetime | None,
    now: datetime,
    *,
    pad_before: timedelta = timedelta(minutes=15),
    pad_after: timedelta = timedelta(minutes=5),
) -> tuple[datetime, datetime]:
    """(start, end) of the logs to show for an alert.

    From ``pad_before`` before it started to ``pad_after`` after it ended, never past
    ``now``. A firing alert (``ends_at`` None, Go's zero time, or in the future, as
    Alertmanager sends it) ends at ``now``. The window is at least ``pad_before`` long.
    """
    if ends_at is None or is_zero_time(ends_at) or ends_at >= now:
        end = now
    else:
        end = min(ends_at + pad_after, now)
    floor = end - pad_before
    if is_zero_time(starts_at):
        return floor, end
    try:
        start = starts_at - pad_before
    except OverflowError:
        return floor, end
    return min(start, floor), end
