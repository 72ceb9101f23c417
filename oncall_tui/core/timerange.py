"""The triage time range: live (ending now) or pinned, with pan and zoom like Grafana's."""

from __future__ import annotations

from dataclasses import dataclass, replace

#: Range-query steps a window snaps to (seconds), like Grafana's "align to step".
NICE_STEPS = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 43200.0, 86400.0)
SPANS = (300.0, 900.0, 1800.0, 3600.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0, 86400.0, 2 * 86400.0, 7 * 86400.0)
DEFAULT_SPAN = 1800.0


@dataclass(frozen=True)
class TimeRange:
    """``span`` seconds ending at ``end`` (a Unix time) or now when ``end`` is None (live)."""

    span: float = DEFAULT_SPAN
    end: float | None = None

    @property
    def live(self) -> bool:
        return self.end is None

    def window(self, now: float, *, points: int = 60) -> tuple[float, float, float]:
        """(start, end, step) for a range query with at most about ``points`` points.

        The step is a round number and start/end sit on multiples of it, so the evaluation
        times stay put while time passes: every refresh inside one step gets the same points
        (a trend line that does not shimmer, a result that can be reused), and a new point
        appears once per step.
        """
        end = now if self.end is None else min(self.end, now)
        raw = max(self.span / points, 1.0)
        step = next((s for s in NICE_STEPS if s >= raw), raw)
        end = (end // step) * step
        return end - self.span, end, step

    def pan(self, now: float, direction: int) -> TimeRange:
        """Half a span back (-1) or forward (+1); panning past now returns to live."""
        end = (now if self.end is None else self.end) + direction * self.span / 2
        return replace(self, end=None if end >= now else end)

    def zoom(self, direction: int) -> TimeRange:
        """Next shorter (+1, zoom in) or longer (-1, zoom out) span from :data:`SPANS`."""
        shorter = [s for s in SPANS if s < self.span]
        longer = [s for s in SPANS if s > self.span]
        if direction > 0:
            return replace(self, span=shorter[-1] if shorter else self.span)
        return replace(self, span=longer[0] if longer else self.span)

    def to_live(self) -> TimeRange:
        return TimeRange(span=DEFAULT_SPAN)

    def label(self) -> str:
        """``last 30m`` or ``30m to 14:05 UTC``."""
        span = _duration(self.span)
        if self.end is None:
            return f"last {span}"
        import time as _time

        return f"{span} to {_time.strftime('%H:%M UTC', _time.gmtime(self.end))}"


def _duration(seconds: float) -> str:
    s = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"
