"""Regenerate the README screenshots from the demo incident (fixed time, so diffs mean changes).

    .venv/bin/python screenshots/generate.py        # writes screenshots/*.svg (and *.png with rsvg-convert)
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oncall_tui.app import OncallApp  # noqa: E402
from oncall_tui.demo import DemoIncident, DemoTransport, demo_settings  # noqa: E402

HERE = Path(__file__).resolve().parent
T0 = 1_795_300_000.0
SHOTS = [
    # name, size, deep link, keys
    ("triage-120x40", (120, 40), None, ()),
    ("triage-80x24", (80, 24), None, ()),
    ("triage-160x45", (160, 45), None, ()),
    ("service-detail", (120, 40), ":svc llm-server", ()),
    ("help-overlay", (120, 40), None, ("question_mark",)),
]


async def shoot(name: str, size: tuple[int, int], goto: str | None, keys: tuple[str, ...]) -> Path:
    clock = lambda: T0  # noqa: E731
    transport = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    app = OncallApp(demo_settings(), transport=transport, clock=clock, goto=goto, periodic_refresh=False)
    async with app.run_test(size=size) as pilot:
        await app.first_load.wait()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        svg = app.export_screenshot(title=f"oncall-tui --demo ({size[0]}x{size[1]})")
    path = HERE / f"{name}.svg"
    path.write_text(svg, encoding="utf-8")
    return path


def main() -> None:
    for name, size, goto, keys in SHOTS:
        path = asyncio.run(shoot(name, size, goto, keys))
        print(f"wrote {path.relative_to(HERE.parent)}")
        if shutil.which("rsvg-convert"):
            png = path.with_suffix(".png")
            subprocess.run(["rsvg-convert", "-w", "1400", str(path), "-o", str(png)], check=True)
            print(f"wrote {png.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
