"""What reaches a real terminal: only changed cells are sent, and the screen still ends up right.

The app's output is fed to ``pyte`` (a VT100 emulator) as a terminal would receive it. After
several refreshes of the demo incident, the emulated screen must equal a fresh full repaint of
the same frame, character for character and colour for colour — the check that our
partial-update writer (``oncall_tui.widgets.partial_render``) never leaves stale cells behind.
"""

from __future__ import annotations

import pyte
from textual.drivers.headless_driver import HeadlessDriver

from oncall_tui.widgets import partial_render
from tests.test_app import Clock, make_app

SIZE = (160, 45)


class TerminalDriver(HeadlessDriver):
    """Headless, but every frame is rendered to ANSI and fed to an emulated terminal."""

    screen: pyte.Screen
    stream: pyte.ByteStream
    written: list[int]

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        raw = data.encode("utf-8", "surrogateescape")
        type(self).written.append(len(raw))
        type(self).stream.feed(raw)

    def flush(self) -> None:
        pass


def _fresh_terminal() -> tuple[pyte.Screen, pyte.ByteStream]:
    screen = pyte.Screen(*SIZE)
    return screen, pyte.ByteStream(screen)


def _cells(screen: pyte.Screen) -> list[list[tuple[str, str, str]]]:
    return [[(c.data, c.fg, c.bg) for c in (screen.buffer[y][x] for x in range(screen.columns))] for y in range(screen.lines)]


async def test_terminal_after_partial_updates_equals_a_full_repaint() -> None:
    TerminalDriver.screen, TerminalDriver.stream = _fresh_terminal()
    TerminalDriver.written = []
    clock = Clock()
    app, _ = make_app(clock)
    app.driver_class = TerminalDriver
    async with app.run_test(size=SIZE, headless=False) as pilot:
        await app.first_load.wait()
        await pilot.pause(0.2)
        screen = app.triage_screen()
        first_frames = len(TerminalDriver.written)
        for _ in range(6):  # story time moves a scrape at a time: values, ages and trends change
            clock.now += 15
            await screen.refresh_data().wait()
            await pilot.pause(0.1)
        partial_sizes = TerminalDriver.written[first_frames:]
        assert partial_sizes, "refreshes changed nothing on screen"
        full = app.screen._compositor.render_update(full=True)
        reference, stream = _fresh_terminal()
        stream.feed(full.render_segments(app.console).encode("utf-8", "surrogateescape"))
        assert _cells(TerminalDriver.screen) == _cells(reference)
        # ...and a typical refresh sends a fraction of a full frame, not whole lines.
        full_size = len(full.render_segments(app.console).encode())
        assert sorted(partial_sizes)[len(partial_sizes) // 2] < full_size / 4


def test_install_is_what_the_app_uses() -> None:
    from textual._compositor import ChopsUpdate

    make_app()
    assert ChopsUpdate.render_segments is partial_render._render_segments
