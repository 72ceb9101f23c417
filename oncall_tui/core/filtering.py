"""The ``/`` filter language of every list: ``text``, ``!text`` (inverse), ``label=value``."""

from __future__ import annotations

from collections.abc import Mapping


def matches_filter(expr: str, text: str, labels: Mapping[str, str] | None = None) -> bool:
    """Whether a row passes ``expr``.

    - empty: everything passes;
    - ``label=value`` / ``label!=value``: exact label match (``labels``);
    - ``!text``: rows *not* containing ``text``;
    - otherwise a case-insensitive substring of ``text`` or of any label value.
    Several terms separated by spaces must all hold.
    """
    labels = labels or {}
    for term in expr.split():
        if not _term(term, text, labels):
            return False
    return True


def _term(term: str, text: str, labels: Mapping[str, str]) -> bool:
    for op in ("!=", "="):
        name, sep, value = term.partition(op)
        if sep and name and name.replace("_", "").isalnum():
            equal = labels.get(name, "") == value
            return equal if op == "=" else not equal
    if term.startswith("!") and len(term) > 1:
        return not _term(term[1:], text, labels)
    needle = term.lower()
    return needle in text.lower() or any(needle in v.lower() for v in labels.values())
