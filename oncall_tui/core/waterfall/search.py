"""Span search: the text a span is found by (name, service, span id, status message,
``key=value`` attributes, events), case-insensitively (:func:`span_haystacks`,
:func:`find_spans`)."""

from __future__ import annotations

from collections.abc import Sequence

from oncall_tui.models.tempo.trace import Span

__all__ = ["find_spans", "span_haystacks"]


def span_haystacks(spans: Sequence[Span]) -> list[str]:
    """One casefolded haystack per span, in order."""
    hay = []
    for sp in spans:
        parts = [sp.name, sp.service, sp.span_id, sp.status_message]
        for k, v in sp.attributes:
            parts.append(f"{k}={v}")
        for ev in sp.events:
            parts.append(ev.name)
            parts.extend(v for _, v in ev.attributes)
        hay.append("\x00".join(parts).casefold())
    return hay


def find_spans(haystacks: Sequence[str], query: str) -> list[int]:
    """Indices of the haystacks that contain ``query``, case-insensitively."""
    q = query.casefold()
    if not q:
        return []
    return [i for i, h in enumerate(haystacks) if q in h]
