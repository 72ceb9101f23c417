"""Regenerate the README screenshots from the demo incident (fixed time, so diffs mean changes).

    .venv/bin/python screenshots/generate.py          # writes screenshots/*.svg (and *.png with rsvg-convert)
    .venv/bin/python screenshots/generate.py logs     # only the shots whose name contains "logs"
    .venv/bin/python screenshots/generate.py browser  # browser-view.png: `oncall-tui serve --demo` in chromium

Each shot starts a fresh demo app at the same story time (15 minutes into the incident) with a
throw-away state directory, so nothing of yours (audit log, timeline) appears in a picture.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oncall_tui.app import OncallApp  # noqa: E402
from oncall_tui.demo import DemoIncident, DemoTransport, demo_settings  # noqa: E402

HERE = Path(__file__).resolve().parent
T0 = 1_795_300_000.0
ALERT = "LLMServerHighErrorRate"
Steps = Callable[[OncallApp, Any], Awaitable[None]]


async def settle(app: OncallApp, pilot: Any) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def select_alert(app: OncallApp, pilot: Any, name: str = ALERT) -> None:
    from oncall_tui.widgets.tables import AlertsTable

    screen = app.triage_screen()
    assert screen is not None and app.incident.last_data is not None
    table = screen.query_one(AlertsTable)
    table.focus()
    alert = next(a for a in app.incident.last_data.alerts if a.name == name)
    keys = [str(r.key.value) for r in table.ordered_rows]
    table.move_cursor(row=keys.index(alert.fingerprint))
    await pilot.pause()


def keys(*pressed: str, alert: str | None = None) -> Steps:
    async def run(app: OncallApp, pilot: Any) -> None:
        if alert:
            await select_alert(app, pilot, alert)
        for key in pressed:
            await pilot.press(key)
            await settle(app, pilot)

    return run


async def waterfall(app: OncallApp, pilot: Any) -> None:
    await keys("x", alert=ALERT)(app, pilot)
    row = next(r for r in app.screen.rows if "error" in r.kinds and "slow" in r.kinds)  # type: ignore[attr-defined]
    app.open_trace(row.trace_id)
    await settle(app, pilot)
    await pilot.press("e", "enter")
    await settle(app, pilot)


async def gpus(app: OncallApp, pilot: Any) -> None:
    app.open_gpu()
    await settle(app, pilot)


async def timeline(app: OncallApp, pilot: Any) -> None:
    await keys("A", alert=ALERT)(app, pilot)
    await pilot.press("tab", "enter")  # Cancel has the focus: move to Confirm
    await settle(app, pilot)
    app.add_note("rolling back llm-server to v2.3 (INC-4711)")
    await settle(app, pilot)
    await pilot.press("6")
    await settle(app, pilot)


async def alert_groups(app: OncallApp, pilot: Any) -> None:
    """The warning alerts as one group (``alerts.group_by: [severity]``), opened with →."""
    from oncall_tui.widgets.tables import AlertsTable

    screen = app.triage_screen()
    assert screen is not None
    table = screen.query_one(AlertsTable)
    await pilot.press("tab")
    group = next(key for key in screen._groups)
    keys_ = [str(r.key.value) for r in table.ordered_rows]
    await pilot.press("g", *["j"] * keys_.index(group), "right")
    await settle(app, pilot)


#: Config changes of a shot (over the demo's settings).
SETTINGS: dict[str, dict[str, Any]] = {"alert-groups": {"alerts": {"group_by": ["severity"]}}, "timeline": {"identity": "alice"}}

SHOTS: list[tuple[str, tuple[int, int], str | None, Steps | None]] = [
    # name, size, deep link, steps
    ("triage-120x40", (120, 40), None, None),
    ("triage-80x24", (80, 24), None, None),
    ("triage-160x45", (160, 45), None, None),
    ("service-detail", (120, 40), ":svc llm-server", None),
    ("help-overlay", (120, 40), None, keys("question_mark")),
    ("logs", (120, 40), None, keys("l", alert=ALERT)),
    ("waterfall", (120, 40), None, waterfall),
    ("gpus", (120, 40), None, gpus),
    ("runbook", (120, 40), None, keys("b", alert=ALERT)),
    ("rollback-confirm", (120, 40), None, keys("R", alert=ALERT)),
    ("timeline", (120, 40), None, timeline),
    ("alert-groups", (120, 40), None, alert_groups),
]


async def shoot(name: str, size: tuple[int, int], goto: str | None, steps: Steps | None, state: Path) -> Path:
    clock = lambda: T0  # noqa: E731
    transport = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    settings = demo_settings()
    if name in SETTINGS:
        settings = type(settings).model_validate({**settings.model_dump(mode="json", exclude_none=True), **SETTINGS[name]})
    app = OncallApp(
        settings, transport=transport, clock=clock, goto=goto, periodic_refresh=False, state_path=state
    )
    async with app.run_test(size=size) as pilot:
        await app.first_load.wait()
        await settle(app, pilot)
        if steps is not None:
            await steps(app, pilot)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        svg = app.export_screenshot(title=f"oncall-tui --demo ({size[0]}x{size[1]})")
    path = HERE / f"{name}.svg"
    path.write_text(svg, encoding="utf-8")
    return path


def browser_view(chromium: str = "/usr/bin/chromium") -> Path | None:
    """``oncall-tui serve --demo`` opened in headless chromium (Playwright), as a PNG."""
    import os
    import socket

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipped browser-view.png: playwright is not installed")
        return None
    if not Path(chromium).exists():
        print(f"skipped browser-view.png: {chromium} not found (apt-get install chromium)")
        return None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="oncall-shot-") as state:
        serve = subprocess.Popen(
            [str(Path(sys.executable).with_name("oncall-tui")), "serve", "--demo", "--port", str(port)],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "XDG_STATE_HOME": state},
        )
        try:
            assert serve.stdout is not None
            url = next(line.split(" ", 1)[1].strip() for line in serve.stdout if line.startswith("open "))
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1400, "height": 760})
                page.goto(url)
                page.wait_for_selector("body.-first-byte", timeout=30_000)
                page.wait_for_timeout(4000)  # the first refresh and its paint
                path = HERE / "browser-view.png"
                page.screenshot(path=str(path))
                browser.close()
        finally:
            serve.terminate()
            serve.wait(timeout=15)
    return path


def main(argv: list[str]) -> None:
    if not argv or "browser" in argv:
        shot = browser_view()
        if shot is not None:
            print(f"wrote {shot.relative_to(HERE.parent)}")
    wanted = [s for s in SHOTS if not argv or any(a in s[0] for a in argv)]
    for name, size, goto, steps in wanted:
        with tempfile.TemporaryDirectory(prefix="oncall-shot-") as state:
            path = asyncio.run(shoot(name, size, goto, steps, Path(state)))
        print(f"wrote {path.relative_to(HERE.parent)}")
        if shutil.which("rsvg-convert"):
            png = path.with_suffix(".png")
            subprocess.run(["rsvg-convert", "-w", "1400", str(path), "-o", str(png)], check=True)
            print(f"wrote {png.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:])
