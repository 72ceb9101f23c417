"""Shared test fixtures: fixture files, the real Prometheus/Alertmanager stack, redaction reset."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from oncall_tui.text.redact import forget_secrets

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ONCALL_TUI_SHARED", REPO.parent / "shared")).resolve()
FIXTURES = SHARED / "fixtures"
REALSTACK = SHARED / "realstack"
PROM_URL = "http://127.0.0.1:19090"
AM_URL = "http://127.0.0.1:19093"
EXPORTER_URL = "http://127.0.0.1:19100"


def realstack_required() -> bool:
    """Under CI a missing server is a failure, never a skip."""
    truthy = ("1", "true", "yes")
    return (
        os.environ.get("CI", "").lower() in truthy
        or os.environ.get("ONCALL_TUI_REQUIRE_REALSTACK", "").lower() in truthy
    )


@pytest.fixture(autouse=True)
def _forget_registered_secrets() -> Iterator[None]:
    yield
    forget_secrets()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def realstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Real Prometheus 2.42 + Alertmanager 0.25 fed by the simulated incident.

    Reuses a stack that is already up (a developer's); otherwise starts one with the incident
    beginning at once and stops it after the session.
    """
    if _ready(PROM_URL) and _ready(AM_URL):
        yield {"prometheus": PROM_URL, "alertmanager": AM_URL, "exporter": EXPORTER_URL}
        return
    am_bin = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    missing = [b for b in ("prometheus", "promtool", "amtool") if not shutil.which(b)]
    if not am_bin:
        missing.append("prometheus-alertmanager")
    reason = None
    if missing:
        reason = f"real stack unavailable: missing {', '.join(missing)} (apt-get install -y prometheus prometheus-alertmanager)"
    elif not (REALSTACK / "start.sh").exists():
        reason = f"real stack unavailable: {REALSTACK}/start.sh not found (set ONCALL_TUI_SHARED)"
    if reason:
        if realstack_required():
            pytest.fail(f"{reason}; CI requires the real servers", pytrace=False)
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("realstack")
    env = {
        **os.environ,
        "REALSTACK_STATE_DIR": str(state),
        "REALSTACK_INCIDENT_AFTER": "0",
        "REALSTACK_PYTHON": sys.executable,
    }
    started = subprocess.run(
        [str(REALSTACK / "start.sh"), "--fresh"], env=env, capture_output=True, text=True, timeout=180
    )
    if started.returncode != 0:
        pytest.fail(f"realstack start.sh failed:\n{started.stdout}\n{started.stderr}", pytrace=False)
    try:
        yield {"prometheus": PROM_URL, "alertmanager": AM_URL, "exporter": EXPORTER_URL}
    finally:
        subprocess.run([str(REALSTACK / "stop.sh")], env=env, capture_output=True, timeout=60)


async def wait_for(predicate, *, timeout: float, interval: float = 2.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll an async predicate until it returns something truthy; fail with ``what`` on timeout."""
    import asyncio

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await predicate()
        if last:
            return last
        await asyncio.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}", pytrace=False)


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Audit logs and timelines of apps built in tests go to a temporary state dir, never ~."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
