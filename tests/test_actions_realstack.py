"""The silence actions against the real Alertmanager 0.25 of ../shared/realstack.

Uses the GPUFramebufferMemoryHigh alert (TargetDown is the client integration test's), silences
it with exact matchers through the audited actions, and cleans up every silence it creates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from oncall_tui.actions.audit import AuditLog
from oncall_tui.actions.core import ActionRunner
from oncall_tui.actions.silences import (
    ACK_DURATION,
    ack,
    build_silence,
    ensure_server_clock,
    expire,
    extend,
    silence,
)
from oncall_tui.clients import AlertmanagerClient, BackendError
from oncall_tui.clients.factory import build_http_client
from oncall_tui.models.alertmanager import AmAlert
from oncall_tui.settings import load_settings

from .conftest import REPO, wait_for

pytestmark = pytest.mark.integration
ALERT = "GPUFramebufferMemoryHigh"
ALERT_WAIT = 240.0
USER = "oncall-tui-actions-test"


@pytest.fixture
async def am(realstack: dict[str, str]) -> AsyncIterator[AlertmanagerClient]:
    context = load_settings(REPO / "config" / "local-stack.yaml", env={}).context()
    endpoint = dict(context.configured_endpoints())["alertmanager"]
    client = AlertmanagerClient(build_http_client(endpoint, kind="alertmanager"))
    yield client
    await client.aclose()


@pytest.fixture
async def created(am: AlertmanagerClient) -> AsyncIterator[list[str]]:
    """Silence IDs to expire after the test, whatever happened."""
    ids: list[str] = []
    yield ids
    for sid in ids:
        try:
            if (await am.silence(sid)).status.state != "expired":
                await am.expire_silence(sid)
        except BackendError:
            pass


@pytest.fixture
def runner(tmp_path: Path) -> ActionRunner:
    return ActionRunner(
        "local-stack", read_only=False, protected=False, audit=AuditLog(tmp_path / "audit.jsonl"), user=USER
    )


async def firing_alert(am: AlertmanagerClient) -> AmAlert:
    async def unsilenced() -> list[AmAlert]:
        return [a for a in await am.alerts([f'alertname="{ALERT}"']) if not a.status.silenced_by]

    return (await wait_for(unsilenced, timeout=ALERT_WAIT, what=f"{ALERT} firing in Alertmanager"))[0]


async def alert_state(am: AlertmanagerClient, fingerprint: str) -> AmAlert | None:
    return next((a for a in await am.alerts([f'alertname="{ALERT}"']) if a.fingerprint == fingerprint), None)


async def test_silence_suppresses_the_alert_and_expire_brings_it_back(
    am: AlertmanagerClient, runner: ActionRunner, created: list[str]
) -> None:
    alert = await firing_alert(am)
    now = await ensure_server_clock(am)
    spec = build_silence(alert.labels, "15m", USER, "actions realstack test", now_server=now)
    stored = await silence(runner, am, spec, fingerprints=[alert.fingerprint])
    created.append(stored.id)
    assert stored.status.state == "active"
    assert {(m.name, m.value, m.is_regex, m.is_equal) for m in stored.matchers} == {
        (k, v, False, True) for k, v in alert.labels.items()
    }

    async def suppressed() -> AmAlert | None:
        a = await alert_state(am, alert.fingerprint)
        return a if a and stored.id in a.status.silenced_by else None

    hit = await wait_for(suppressed, timeout=30, interval=0.5, what="the silence to suppress the alert")
    assert hit.status.state == "suppressed"

    await expire(runner, am, stored.id)
    assert (await am.silence(stored.id)).status.state == "expired"

    async def active_again() -> AmAlert | None:
        a = await alert_state(am, alert.fingerprint)
        return a if a and stored.id not in a.status.silenced_by else None

    back = await wait_for(active_again, timeout=30, interval=0.5, what="the alert to be active again")
    others = back.status.silenced_by or back.status.inhibited_by  # someone else's, if any
    assert back.status.state == ("suppressed" if others else "active")
    records = runner.audit.records()
    assert [(r["type"], r.get("kind"), r.get("ok")) for r in records] == [
        ("intent", "silence.create", None),
        ("result", None, True),
        ("intent", "silence.expire", None),
        ("result", None, True),
    ]
    assert records[1]["silence_id"] == stored.id and runner.audit.interrupted() == []


async def test_ack_creates_a_15_minute_silence_and_extend_moves_its_end(
    am: AlertmanagerClient, runner: ActionRunner, created: list[str]
) -> None:
    alert = await firing_alert(am)
    acked = await ack(runner, am, alert.labels, user=USER, fingerprint=alert.fingerprint)
    created.append(acked.id)
    assert acked.comment == f"ack by {USER} via oncall-tui" and acked.created_by == USER
    assert acked.status.state == "active"
    # Alertmanager moves a startsAt in the past to its now, so allow the POST's round trip.
    length = acked.ends_at - acked.starts_at
    assert ACK_DURATION - timedelta(seconds=10) <= length <= ACK_DURATION
    assert abs((acked.ends_at - (am.server_now() + ACK_DURATION)).total_seconds()) < 10

    longer = await extend(runner, am, acked, timedelta(minutes=30))
    created.append(longer.id)
    assert longer.ends_at - acked.ends_at == timedelta(minutes=30)
    assert longer.status.state == "active"
    assert [m.model_dump() for m in longer.matchers] == [m.model_dump() for m in acked.matchers]
    result = runner.audit.records()[-1]
    assert result["ok"] and result["old_id"] == acked.id and result["new_id"] == longer.id
    if longer.id != acked.id:  # Alertmanager replaced it: the old one is expired
        assert (await am.silence(acked.id)).status.state == "expired"
