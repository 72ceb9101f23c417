"""Issue 16 item 3: the handoff for the next responder (``oncall-tui incident handoff``, ``:handoff``).

The demo incident at a fixed time, after an ack, a failed write and an interrupted one, as a
Markdown snapshot; hostile label values and secrets inert/redacted in Markdown and JSON; the
CLI headless on the demo; ``:handoff`` typed in the app.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from oncall_tui.actions.audit import AuditLog
from oncall_tui.actions.timeline import TimelineEvent
from oncall_tui.clients.session import TriageData
from oncall_tui.core.commands import parse_command
from oncall_tui.core.timerange import TimeRange
from oncall_tui.core.triage import TriageAlert
from oncall_tui.demo import DemoIncident, DemoTransport, demo_services, demo_settings
from oncall_tui.incident import Incident
from oncall_tui.incident.handoff import (
    build_handoff,
    handoff_json,
    handoff_markdown,
    incident_handoff,
)
from oncall_tui.models.alertmanager import Silence
from oncall_tui.settings import Service
from oncall_tui.text.redact import register_secret

from .test_actions import HOSTILE_VALUES
from .test_app import make_app
from .test_hostile_ui import MARKUP
from .test_sanitize_redact import HOSTILE

T0 = 1_795_300_000.0  # 2026-11-21 22:26:40 UTC
NOW = datetime.fromtimestamp(T0, UTC)
BIDI = "safe\u202egnp.exe\u200b"
HOSTILE_ALL = [*HOSTILE, *MARKUP, *HOSTILE_VALUES, BIDI, "[x](javascript:alert(1)) <script>x</script> ![i](https://evil/i.png)"]


def controls(text: str) -> list[str]:
    """Characters a terminal or chat client would interpret (newline is the only one allowed)."""
    return [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F or c in "\u202e\u200b\u2066\ufeff"]


def audit_line(path: Path, **record: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"pid": 1, "host": "bastion-gone", **record}) + "\n")


def failed_write(audit: Path, n: int, kind: str, target: str, detail: str) -> None:
    """A failed write kept for retry (written at fixed times)."""
    audit_line(audit, ts="2026-11-21T22:20:00+00:00", type="intent", id=f"f{n}", kind=kind, target=target, context="demo")
    audit_line(audit, ts="2026-11-21T22:20:01+00:00", type="result", id=f"f{n}", ok=False, detail=detail, payload={"spec": {}})


def interrupted_write(audit: Path, n: int, kind: str, target: str, reason: str) -> None:
    """A write cut short (no result, marked interrupted)."""
    audit_line(audit, ts="2026-11-21T22:21:00+00:00", type="intent", id=f"i{n}", kind=kind, target=target, context="demo")
    audit_line(audit, ts="2026-11-21T22:21:05+00:00", type="interrupted", id=f"i{n}", reason=reason)


async def demo_incident(tmp_path: Path) -> Incident:
    """The demo 15 story minutes in at T0, one refresh observed, LLMServerHighErrorRate acked."""
    clock = lambda: T0
    settings = demo_settings().model_copy(update={"identity": "oncall-bot@example.com"})
    transport = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock), services=demo_services())
    incident = Incident(
        settings, settings.context(), audit=AuditLog(tmp_path / "audit.jsonl"), state_path=tmp_path,
        refresh_seconds=5.0, clock=clock, transport=transport,
    )  # fmt: skip
    incident.observe(await incident.session.fetch_triage(TimeRange()))
    data = incident.last_data
    assert data is not None
    await incident.ack(next(a for a in data.alerts if a.name == "LLMServerHighErrorRate"))
    incident.observe(await incident.session.fetch_triage(TimeRange()))
    failed_write(tmp_path / "audit.jsonl", 1, "silence.create", 'service="llm-server"', "HTTP 503")
    interrupted_write(tmp_path / "audit.jsonl", 1, "rollback", "llm-server", "SIGHUP (terminal closed)")
    return incident


async def test_handoff_of_the_demo_incident_at_a_fixed_time(tmp_path: Path, snapshot: Any) -> None:
    incident = await demo_incident(tmp_path)
    try:
        md = incident_handoff(incident, now=NOW + timedelta(minutes=1))
    finally:
        await incident.session.aclose()
    lines = md.splitlines()
    firing = lines.index("## Firing now (worst first)")
    assert "| critical | LLMServerHighErrorRate | llm-server | silenced by oncall-bot\\[@\\]example.com" in lines[firing + 4]
    assert "| warning | FeatureStoreLatencyHigh | feature-store | firing |" in lines[firing + 5]
    silences = md.split("## Silences created during the incident")[1].split("##")[0]
    assert 'alertname="LLMServerHighErrorRate"' in silences and "expires 2026-11-21 22:41:40 UTC, in 14m" in silences
    assert "GPUFramebufferMemoryHigh" not in silences  # alice's silence predates the incident
    assert "1 other active silence(s) predate the incident" in silences
    assert "| silence.ack | LLMServerHighErrorRate | ok at 2026-11-21 22:26:40" in md
    assert "- [ ] INTERRUPTED rollback llm-server at 2026-11-21 22:21:00 UTC: SIGHUP" in md
    assert "- [ ] FAILED silence.create service=\"llm-server\" at 2026-11-21 22:20:01 UTC: HTTP 503" in md
    assert "oncall-tui --context demo --goto ':svc llm-server'" in md
    assert "oncall-tui --context demo --goto :retry" in md
    assert controls(md) == []
    assert md == snapshot


def hostile_data() -> tuple[TriageData, list[TimelineEvent]]:
    alerts, silences, events = [], [], []
    for i, v in enumerate(HOSTILE_ALL):
        labels = {"alertname": v, "service": v, "severity": "critical", "pod": v, "Hostname": v}
        alerts.append(
            TriageAlert(
                name=v, severity="critical", service=v, summary=f"summary {v}", state="firing", state_detail=v,
                starts_at=NOW - timedelta(minutes=5), labels=labels, annotations={"summary": v}, fingerprint=f"{i:016x}",
            )
        )
        silences.append(
            Silence.model_validate(
                {
                    "id": f"00000000-0000-4000-8000-{i:012x}", "status": {"state": "active"}, "updatedAt": NOW.isoformat(),
                    "comment": v, "createdBy": v, "startsAt": NOW.isoformat(), "endsAt": (NOW + timedelta(hours=1)).isoformat(),
                    "matchers": [{"name": "pod", "value": v, "isRegex": False, "isEqual": True}],
                }
            )
        )
        detail = {"action_id": f"a{i}", "kind": v, "target": v}
        events.append(TimelineEvent(NOW, "action", v, detail))
        events.append(TimelineEvent(NOW, "result", v, {**detail, "ok": False}))
    data = TriageData(context="demo", services=[Service(name=v, preset="generic-http") for v in HOSTILE_ALL[:3]], alerts=alerts, silences=silences, fetched_at=T0)
    return data, events


def hostile_handoff(tmp_path: Path) -> tuple[str, str]:
    data, events = hostile_data()
    audit = AuditLog(tmp_path / "audit.jsonl")
    for n, v in enumerate(HOSTILE_ALL):
        failed_write(audit.path, n, v, v, v)
        interrupted_write(audit.path, n, v, v, v)
    handoff = build_handoff(data, events, interrupted=audit.interrupted(), failed=audit.failed(), now=NOW, context="demo")
    assert len(handoff.alerts) == len(HOSTILE_ALL) and len(handoff.failed) == len(HOSTILE_ALL)
    return handoff_markdown(handoff), handoff_json(handoff)


def test_hostile_label_values_render_inert_in_the_markdown(tmp_path: Path) -> None:
    md, _ = hostile_handoff(tmp_path)
    assert controls(md) == []
    html = MarkdownIt("gfm-like", {"linkify": True, "html": True}).render(md)
    assert "&lt;U+202E&gt;" in html  # the bidi override is a visible marker
    assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in html  # rendered visible, not executed
    assert "<a " not in html and "<script" not in html and "<img" not in html
    assert "[@click=app.quit]" not in md and "\\[@\\]click=app.quit\\]" in md  # markup escaped
    # every row keeps its columns: a "|" in a value cannot add a cell
    for line in md.splitlines():
        if line.startswith("| critical"):
            assert line.replace("\\|", "").count("|") == 7, line
    # hostile names get no deep link (they fail the allow-list); the fixed commands remain
    block = md.split("```sh\n")[1].split("```")[0].splitlines()
    assert block == [
        "oncall-tui --context demo --goto :silences",
        "oncall-tui --context demo --goto :retry",
        "oncall-tui --context demo --goto :timeline",
    ]


def test_hostile_label_values_are_inert_in_the_json(tmp_path: Path) -> None:
    _, text = hostile_handoff(tmp_path)
    assert controls(text) == []
    doc = json.loads(text)
    strings: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(doc)
    assert strings and all(controls(s) == [] for s in strings)  # jq -r prints no escape sequence
    assert {a["name"] for a in doc["alerts"]} >= {"\\x1b[2J\\x1b[HAll alerts resolved", "x [/] y"}
    assert len(doc["open"]) == 2 * len(HOSTILE_ALL)


def test_no_secret_reaches_the_handoff(tmp_path: Path) -> None:
    register_secret("CANARY-7f3a9")
    data, _ = hostile_data()
    leaky = TriageAlert(
        name="TokenLeak", severity="critical", service="llm-server", state="firing", state_detail="firing",
        summary="see https://grafana.example/d/x?token=s3cr3t-tok&orgId=1", starts_at=NOW,
        labels={"alertname": "TokenLeak", "pod": "CANARY-7f3a9"}, annotations={}, fingerprint="ff",
    )  # fmt: skip
    data.alerts = [leaky]
    silence = data.silences[0].model_copy(update={"comment": "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345", "created_by": "CANARY-7f3a9"})
    data.silences = [silence]
    event = TimelineEvent(NOW, "action", "x", {"action_id": "a", "kind": "silence.create", "target": "pod=CANARY-7f3a9"})
    handoff = build_handoff(data, [event], interrupted=[], failed=[], now=NOW, context="demo")
    for text, mask in ((handoff_markdown(handoff), "\\*\\*\\*"), (handoff_json(handoff), "***")):
        assert "CANARY-7f3a9" not in text and "s3cr3t-tok" not in text and "abcdefghijklmnopqrstuvwxyz012345" not in text
        assert "TokenLeak" in text and f"token={mask}" in text


def test_handoff_command_on_the_demo(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONCALL_TUI_")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    cmd = [sys.executable, "-m", "oncall_tui", "incident", "handoff", "--demo"]
    result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    md = result.stdout
    assert md.startswith("# Handoff: demo\n") and "- Backends: prometheus ok, alertmanager ok" in md
    rows = [line for line in md.splitlines() if line.startswith(("| critical", "| warning"))]
    assert rows[0].startswith("| critical | LLMServerHighErrorRate | llm-server | firing")
    assert "oncall-tui --demo --goto ':svc llm-server'" in md and controls(md) == []
    out = tmp_path / "handoff.json"
    result = subprocess.run([*cmd, "--format", "json", "-o", str(out)], check=False, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text())
    assert doc["context"] == "demo" and doc["alerts"][0]["name"] == "LLMServerHighErrorRate"
    assert doc["sources"] == {"prometheus": "fresh", "alertmanager": "fresh"}


def test_handoff_is_a_command_line_verb() -> None:
    assert parse_command(":handoff").verb == "handoff"
    with pytest.raises(ValueError):
        parse_command(":handoff now")


async def test_handoff_typed_in_the_app_shows_it_and_w_writes_it(tmp_path: Path) -> None:
    from textual.widgets import TextArea

    from oncall_tui.screens.handoff import HandoffScreen
    from oncall_tui.screens.triage import TriageScreen

    app, _ = make_app(state_path=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.first_load.wait()
        await pilot.pause()
        await pilot.press("colon", *"handoff", "enter")
        await pilot.pause()
        assert isinstance(app.screen, HandoffScreen)
        text = app.screen.query_one(TextArea).text
        assert text.startswith("# Handoff: demo") and "## Firing now (worst first)" in text
        assert "| critical | LLMServerHighErrorRate | llm-server | firing" in text
        assert "oncall-tui --context demo --goto ':svc llm-server'" in text
        await pilot.press("w")
        await pilot.pause()
        saved = Path(app.screen.saved_to or "")
        assert saved.parent == tmp_path and saved.read_text() == text
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TriageScreen)
