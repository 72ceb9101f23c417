"""Helpers shared by the benchmarks. Imports only the standard library at module level.

``counting_driver_class()`` returns a Textual driver that behaves like the headless one
(no real terminal, fixed size) but reports ``is_headless = False``, so Textual really renders
every frame to an ANSI string (``CompositorUpdate.render_segments``) and hands it to
``write()``, which counts the bytes and throws them away. Use it with
``app.driver_class = cls`` and ``app.run_test(headless=False, size=...)``: the CPU cost of a
frame then includes producing the terminal output, as in a real terminal.

``install_frame_probe()`` reports the first compositor refresh that painted a DataTable line
holding a data row (not just the header), i.e. the first frame a user would see with data.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def counting_driver_class() -> type:
    from textual.drivers.headless_driver import HeadlessDriver

    class CountingDriver(HeadlessDriver):
        """Headless, but the app renders and writes every frame; we count the bytes."""

        bytes_written = 0
        writes = 0

        @property
        def is_headless(self) -> bool:
            return False

        def write(self, data: str) -> None:
            type(self).bytes_written += len(data.encode("utf-8", "surrogateescape"))
            type(self).writes += 1

        def flush(self) -> None:
            pass

    return CountingDriver


class FrameProbe:
    """Times of the first painted frame and of the first frame showing DataTable rows."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.first_paint: float | None = None
        self.first_data_frame: float | None = None
        self.frames = 0
        self._row_painted = False
        self.callbacks: list[Callable[[], None]] = []

    def install(self) -> FrameProbe:
        from textual.screen import Screen
        from textual.widgets import DataTable

        probe = self
        original_render_line = DataTable.render_line
        original_refresh = Screen._compositor_refresh

        def render_line(table: Any, y: int) -> Any:
            if not probe._row_painted and table.row_count:
                header = table.header_height if table.show_header else 0
                if y >= header:
                    probe._row_painted = True
            return original_render_line(table, y)

        def compositor_refresh(screen: Any) -> None:
            original_refresh(screen)
            probe.frames += 1
            now = probe.clock()
            if probe.first_paint is None:
                probe.first_paint = now
            if probe._row_painted and probe.first_data_frame is None:
                probe.first_data_frame = now
                for cb in probe.callbacks:
                    cb()

        DataTable.render_line = render_line  # type: ignore[method-assign]
        Screen._compositor_refresh = compositor_refresh  # type: ignore[method-assign]
        return self


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "mean": statistics.fmean(values),
        "min": min(values),
        "max": max(values),
    }


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def parse_size(text: str) -> tuple[int, int]:
    """``"160x45"`` -> ``(160, 45)``."""
    w, h = text.lower().split("x")
    return int(w), int(h)
