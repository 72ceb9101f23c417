"""Send only the changed cells of a line to the terminal, not the line up to them.

Textual's partial update (``ChopsUpdate.render_segments``, Textual 8.x) writes a dirty span
from the left edge of the widget that contains it: when one cell at column 120 of a table
changes, the 120 columns before it are sent again, with an SGR sequence per segment. Over a
slow SSH link at a 1 s refresh that is most of what the triage screen writes. This replacement
crops each widget strip to the dirty span itself, so a changed cell costs its own width.

Applied once from :class:`oncall_tui.app.OncallApp`; ``tests/test_partial_render.py`` checks
that a terminal fed the patched output shows exactly what a full repaint shows.
"""

from __future__ import annotations

from rich.console import Console
from rich.control import Control
from textual._compositor import ChopsUpdate

_ORIGINAL = ChopsUpdate.render_segments


def _render_segments(self: ChopsUpdate, console: Console) -> str:
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    chops = self.chops
    chop_ends = self.chop_ends
    last_y = self.spans[-1][0]

    for y, x1, x2 in self.spans:
        line = chops[y]
        ends = chop_ends[y]
        for end, (x, strip) in zip(ends, line.items(), strict=False):
            if strip is None or x >= x2 or end <= x1:
                continue
            start = max(x, x1)
            stop = min(end, x2)
            if start != x or stop != end:
                # A wide character cut in two becomes spaces, as Rich's own crop does.
                strip = strip.crop(start - x, stop - x)
            append(move_to(start, y).segment.text)
            append(strip.render(console))
        if y != last_y:
            append("\n")
    return "".join(sequences)


def install() -> None:
    """Replace Textual's partial-update writer (idempotent)."""
    ChopsUpdate.render_segments = _render_segments  # type: ignore[method-assign]


def uninstall() -> None:
    """Put Textual's own writer back (for tests that compare the two)."""
    ChopsUpdate.render_segments = _ORIGINAL  # type: ignore[method-assign]
