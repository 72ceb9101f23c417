"""The loaded log lines of a view (:class:`LogBuffer`): bounded, sorted by time,
de-duplicated, filterable; and an entry's line made safe to show (:func:`display_line`)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from oncall_tui.core.logs.fields import ANSI_ESCAPE
from oncall_tui.models.loki import LogEntry, gc_paused
from oncall_tui.text.sanitize import MAX_LOG_LINE, sanitize_for_display

__all__ = [
    "MAX_FILTER_CHARS",
    "LogBuffer",
    "display_line",
]

# ------------------------------------------------------------------------ buffer --
#: How much of each line the filter looks at.
MAX_FILTER_CHARS = 64 * 1024
_BY_TS = itemgetter(0)


def _haystack(line: str) -> str:
    text = line[:MAX_FILTER_CHARS]
    if "\x1b" in text:
        text = ANSI_ESCAPE.sub("", text)
    low = text.lower()
    return text if low == text else low  # share the line's memory when already lower-case


def _run_at_end(entries: list[LogEntry], ts: int) -> Iterator[LogEntry]:
    """The entries at the end of ``entries`` whose timestamp is ``ts``."""
    i = len(entries) - 1
    while i >= 0 and entries[i].ts == ts:
        yield entries[i]
        i -= 1


def display_line(entry: LogEntry, *, max_chars: int = MAX_LOG_LINE, multiline: bool = False) -> str:
    """An entry's line made safe to show: control characters visible, long lines cut."""
    return sanitize_for_display(entry.line, multiline=multiline, max_chars=max_chars)


class LogBuffer:
    """The loaded log lines of a view: bounded, sorted by time, de-duplicated, filterable.

    :meth:`extend_newer` (follow mode) drops the oldest entries when full;
    :meth:`extend_older` (scrolling up) drops the newest. :attr:`dropped_oldest` and
    :attr:`dropped_newest` count what went. Entries are unique by (ts, stream labels, line):
    adding one already held (an overlapping page, a follow poll) is a no-op.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.dropped_oldest = 0
        self.dropped_newest = 0
        #: Bumped on every change (a view can tell whether to repaint).
        self.version = 0
        self._entries: list[LogEntry] = []
        self._hay: list[str] = []
        self._last_filter: tuple[int, str, list[int]] | None = None

    # --------------------------------------------------------------- reading --
    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> LogEntry:
        return self._entries[index]

    @property
    def entries(self) -> Sequence[LogEntry]:
        """All entries, oldest first (do not modify)."""
        return self._entries

    @property
    def oldest_ns(self) -> int | None:
        return self._entries[0].ts if self._entries else None

    @property
    def newest_ns(self) -> int | None:
        return self._entries[-1].ts if self._entries else None

    def display_line(self, index: int, *, max_chars: int = MAX_LOG_LINE) -> str:
        """Entry ``index``'s line, made safe to show."""
        return display_line(self._entries[index], max_chars=max_chars)

    # --------------------------------------------------------------- writing --
    def extend_newer(self, entries: Iterable[LogEntry]) -> int:
        """Add entries (follow mode); drop the oldest when over capacity. Returns how many were new."""
        return self._add(entries, newer=True)

    def extend_older(self, entries: Iterable[LogEntry]) -> int:
        """Add older entries (scroll up); drop the newest when over capacity. Returns how many were new."""
        return self._add(entries, newer=False)

    def clear(self) -> None:
        """Forget every entry and reset the drop counters."""
        self._entries, self._hay = [], []
        self._last_filter = None
        self.dropped_oldest = self.dropped_newest = 0
        self.version += 1

    def _add(self, entries: Iterable[LogEntry], *, newer: bool) -> int:
        with gc_paused():
            fresh = self._unique(sorted(entries, key=_BY_TS))
            if not fresh:
                return 0
            added = len(fresh)
            cap = self.max_entries
            if added > cap:  # cut before building haystacks for lines that would go at once
                if newer:
                    self.dropped_oldest += added - cap
                    fresh = fresh[-cap:]
                else:
                    self.dropped_newest += added - cap
                    fresh = fresh[:cap]
            hay = [_haystack(e.line) for e in fresh]
            old = self._entries
            if not old or (fresh[0].ts >= old[-1].ts if newer else fresh[-1].ts <= old[0].ts):
                if newer:
                    old.extend(fresh)
                    self._hay.extend(hay)
                else:
                    old[:0] = fresh
                    self._hay[:0] = hay
            else:  # overlapping times: merge (stable: equal timestamps keep arrival order)
                held = list(zip(old, self._hay, strict=True))
                added_pairs = list(zip(fresh, hay, strict=True))
                pairs = held + added_pairs if newer else added_pairs + held
                pairs.sort(key=lambda p: p[0][0])
                self._entries = [p[0] for p in pairs]
                self._hay = [p[1] for p in pairs]
            over = len(self._entries) - cap
            if over > 0:
                if newer:
                    del self._entries[:over]
                    del self._hay[:over]
                    self.dropped_oldest += over
                else:
                    del self._entries[-over:]
                    del self._hay[-over:]
                    self.dropped_newest += over
            self.version += 1
        return added

    def _unique(self, fresh: list[LogEntry]) -> list[LogEntry]:
        """``fresh`` (sorted) without entries it repeats or that are already buffered.

        Only entries sharing a timestamp can be equal, so only those are compared: the cost
        stays linear, with no key set to hold.
        """
        old = self._entries
        lo, hi = (old[0].ts, old[-1].ts) if old else (1, 0)
        out: list[LogEntry] = []
        append = out.append
        prev_ts = None
        seen: set[tuple[Any, str]] | None = None
        for entry in fresh:
            ts = entry.ts
            if ts != prev_ts:
                prev_ts = ts
                if not lo <= ts <= hi:
                    seen = None
                    append(entry)
                    continue
                i = bisect_left(old, ts, key=_BY_TS)
                seen = set()
                while i < len(old) and old[i].ts == ts:
                    seen.add((old[i].stream, old[i].line))
                    i += 1
            elif seen is None:
                seen = {(e.stream, e.line) for e in _run_at_end(out, ts)}
            key = (entry.stream, entry.line)
            if key not in seen:
                seen.add(key)
                append(entry)
        return out

    # -------------------------------------------------------------- filtering --
    def filter(self, text: str) -> list[int]:
        """Indices of entries whose line contains ``text`` (case-insensitive, ANSI ignored).

        ``!text`` keeps lines *not* containing it (``!`` alone: everything); ``\\!text``
        searches for a literal ``!text``. The whole text is one phrase, spaces included.
        Typing more of the same phrase only re-checks the previous matches.
        """
        negate = text.startswith("!")
        if negate or text.startswith("\\!"):
            text = text[1:]
        if not text:
            return list(range(len(self._hay)))
        needle = text.lower()
        hay = self._hay
        if negate:
            return [i for i, h in enumerate(hay) if needle not in h]
        last = self._last_filter
        if last is not None and last[0] == self.version and last[1] in needle:
            found = [i for i in last[2] if needle in hay[i]]
        else:
            found = [i for i, h in enumerate(hay) if needle in h]
        self._last_filter = (self.version, needle, found)
        return found
