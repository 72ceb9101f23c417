"""The Incident without Textual: what a refresh records, warns about and expires; notes,
rollback refusals, retries and the unfinished-actions report. Served by the demo transport
(the recorded API shapes), driven by a fake clock; no app, no screen."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import pytest

from oncall_tui.actions.audit import AuditLog
from oncall_tui.actions.core import ActionError, Preview
from oncall_tui.actions.silences import matchers_from_labels
from oncall_tui.core.timerange import TimeRange
from oncall_tui.demo import DemoIncident, DemoTransport
from oncall_tui.incident import Incident, Refused

from .test_app import T0, Clock, settings


class FailingAlertmanager(httpx.AsyncBaseTransport):
    """The demo, except that Alertmanager refuses connections while ``down`` is set."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.down = inner, False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down and request.url.path.startswith("/api/v2/"):
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


def make(tmp_path: Path, *, clock: Clock | None = None, context: str = "demo", **kw) -> tuple[Incident, FailingAlertmanager, Clock]:  # type: ignore[no-untyped-def]
    clock = clock or Clock()
    transport = kw.pop("transport", None) or FailingAlertmanager(DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock)))
    conf = kw.pop("conf", None) or settings()
    incident = Incident(
        conf,
        conf.context(context),
        audit=AuditLog(tmp_path / "audit.jsonl"),
        state_path=tmp_path,
        refresh_seconds=5.0,
        clock=clock,
        transport=transport,
        **kw,
    )
    return incident, transport, clock


async def refreshed(incident: Incident):  # type: ignore[no-untyped-def]
    for kind in incident.session.backends:
        await incident.session.refresh(kind, TimeRange(), force=True)
    return incident.session.assemble(TimeRange())


async def test_alert_changes_go_on_the_timeline_once_even_across_a_restart(tmp_path: Path) -> None:
    incident, _, _ = make(tmp_path)
    data = await refreshed(incident)
    firing = [a for a in data.alerts if a.state == "firing"]
    assert firing
    incident.observe(data)
    started = [e.text for e in incident.timeline.events() if e.kind == "alert"]
    assert any(t.startswith(f"{firing[0].name} (") and "started firing" in t for t in started)
    incident.observe(data)  # the same alerts again: nothing new
    assert [e.text for e in incident.timeline.events() if e.kind == "alert"] == started
    await incident.session.aclose()
    again, _, _ = make(tmp_path)  # a restart reads what the timeline already knows
    again.observe(await refreshed(again))
    assert [e.text for e in again.timeline.events() if e.kind == "alert"] == started
    await again.session.aclose()


async def test_a_failed_alertmanager_fetch_is_not_every_alert_resolved(tmp_path: Path) -> None:
    """Restarted while Alertmanager is down: no alerts arrive, and none is "resolved"."""
    incident, _, _ = make(tmp_path)
    incident.observe(await refreshed(incident))
    before = len(incident.timeline.events())
    await incident.session.aclose()
    again, transport, _ = make(tmp_path)
    transport.down = True
    data = await refreshed(again)
    assert data.sources["alertmanager"].error and data.alerts == []
    again.observe(data)
    assert not [e for e in again.timeline.events()[before:] if e.kind == "alert"]
    await again.session.aclose()


async def test_an_outage_that_ended_is_on_the_timeline_and_told_when_it_lasted(tmp_path: Path) -> None:
    incident, transport, clock = make(tmp_path)
    incident.observe(await refreshed(incident))
    transport.down = True
    clock.now += 5
    incident.observe(await refreshed(incident))
    clock.now += 40  # blind for 40 s: longer than two refresh intervals
    transport.down = False
    observed = incident.observe(await refreshed(incident))
    outages = [e for e in incident.timeline.events() if e.kind == "backend"]
    assert outages and "alertmanager down" in outages[-1].text
    assert [n.text for n in observed.notices if "answers again" in n.text]
    assert all(n.severity == "warning" for n in observed.notices if "answers again" in n.text)
    await incident.session.aclose()


async def test_your_silence_ending_soon_is_told_once(tmp_path: Path) -> None:
    incident, _, clock = make(tmp_path)
    data = await refreshed(incident)
    alert = next(a for a in data.alerts if a.state == "firing")
    spec = incident.ack_spec(alert)  # the configured ack: a short silence by this user
    created = await incident.silence(spec)
    clock.now = created.ends_at.timestamp() - 120  # two minutes left
    data = await refreshed(incident)
    first = [n for n in incident.observe(data).notices if n.title == "Silence expiring"]
    assert len(first) == 1 and "expires in 2m" in first[0].text
    assert not [n for n in incident.observe(data).notices if n.title == "Silence expiring"]
    await incident.session.aclose()


async def test_until_resolved_expires_after_two_quiet_refreshes(tmp_path: Path) -> None:
    incident, _, _ = make(tmp_path)
    data = await refreshed(incident)
    alert = next(a for a in data.alerts if a.state == "firing")
    incident.silence_watch.expire_when_resolved("sil-1", matchers_from_labels(alert.labels))
    assert incident.observe(data).to_expire == []  # still firing
    quiet = dataclasses.replace(data, alerts=[a for a in data.alerts if a.fingerprint != alert.fingerprint])
    assert incident.observe(quiet).to_expire == []  # one quiet refresh is not enough (a flap)
    assert incident.observe(quiet).to_expire == ["sil-1"]
    assert incident.observe(quiet).to_expire == []  # and only once
    await incident.session.aclose()


async def test_read_only_context_keeps_notes_local_and_refuses_writes(tmp_path: Path) -> None:
    incident, _, _ = make(tmp_path, context="prod-eu")
    assert incident.read_only
    notice, post_at = incident.add_note("looking at llm-server")
    assert post_at is None and "note added" in notice.text
    assert [e.text for e in incident.timeline.events() if e.kind == "note"] == ["looking at llm-server"]
    data = await refreshed(incident)
    alert = next(a for a in data.alerts if a.state == "firing")
    with pytest.raises(ActionError):
        await incident.ack(alert)
    assert incident.audit.records() == []  # nothing was sent, so nothing to audit
    await incident.session.aclose()


async def test_rollback_without_a_configured_rollback_is_refused_with_the_reason(tmp_path: Path) -> None:
    incident, _, _ = make(tmp_path)
    with pytest.raises(Refused, match="no rollback is configured for llm-server"):
        incident.rollback_plan("llm-server", {})
    await incident.session.aclose()


async def test_processes_are_never_retried_and_unfinished_actions_are_reported(tmp_path: Path) -> None:
    incident, _, clock = make(tmp_path)
    refusal = incident.retry_refusal({"kind": "rollback", "target": "llm-server"})
    assert refusal is not None and "never re-run" in refusal.text
    assert incident.retry_refusal({"kind": "silence.create"}) is None
    incident.audit.intent(
        "a1", "silence.create", "alertname=X", Preview.http("POST", "http://am/api/v2/silences", summary="silence"), "demo", "me"
    )
    incident.audit.mark_interrupted("a1", "SIGHUP while in flight")
    notices = incident.unfinished()
    assert notices and "1 interrupted action" in notices[0].title and "SIGHUP" in notices[0].text
    await incident.session.aclose()


def test_the_incident_package_imports_no_textual() -> None:
    import subprocess
    import sys

    code = "import sys, oncall_tui.incident; print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"



async def test_the_other_processes_actions_are_told_with_who_did_them(tmp_path: Path) -> None:
    """The responder's and the commander's app share the context's timeline: the responder's
    ack reaches the commander on its next refresh, with who did it; alert changes the responder
    recorded are not recorded twice."""
    responder, servers, clock = make(tmp_path)
    commander, _, _ = make(tmp_path, clock=clock, transport=servers, force_read_only=True)  # the same Alertmanager
    data = await refreshed(responder)
    responder.observe(data)
    commander.observe(await refreshed(commander))
    firing = next(a for a in data.alerts if a.state == "firing")
    await responder.ack(firing)
    responder.observe(await refreshed(responder))  # records "silenced"
    told = commander.observe(await refreshed(commander)).notices
    ack = [n for n in told if n.text.startswith(f"silence.ack {firing.name}: ok")]
    assert ack and ack[0].title == f"{responder.user} (another oncall-tui)"
    assert commander.observe(await refreshed(commander)).notices == []  # told once
    changes = [(e.detail["fingerprint"], e.detail["change"]) for e in commander.timeline.events() if e.kind == "alert"]
    assert len(changes) == len(set(changes))
    lines = (tmp_path / "timeline-demo.jsonl").read_text().splitlines()
    assert sum('"kind":"alert"' in line for line in lines) == len(changes)  # written once, not hidden
    await responder.session.aclose()
    await commander.session.aclose()


async def test_other_hosts_annotations_in_grafana_join_the_timeline_once(tmp_path: Path) -> None:
    """A responder on another host posts notes and action annotations to Grafana (tags
    oncall-tui + context): they join this incident's timeline view, each once; what this host
    posted itself (already on the timeline) is not repeated; other contexts' are not taken."""
    from oncall_tui.demo import demo_settings
    from oncall_tui.models.grafana import AnnotationSpec

    incident, _, clock = make(tmp_path, conf=demo_settings())
    incident.observe(await refreshed(incident))
    grafana = incident.session.grafana
    assert grafana is not None and incident.shared_annotations_due()
    at = int(clock() * 1000)
    elsewhere = await grafana.create_annotation(AnnotationSpec(text="bob: paged the DB team", time=at, tags=["oncall-tui", "demo", "note"]))
    await grafana.create_annotation(AnnotationSpec(text="other context", time=at, tags=["oncall-tui", "staging"]))
    _, post_at = incident.add_note("our own note")
    assert post_at is not None
    await incident.post_note("our own note", post_at)
    told = await incident.fetch_shared_annotations()
    assert [n.text for n in told] == ["bob: paged the DB team"] and "Grafana annotation" in told[0].title
    merged = [e for e in incident.timeline_events() if e.origin == "grafana"]
    assert [(e.text, e.detail["annotation_id"]) for e in merged] == [("bob: paged the DB team", elsewhere)]
    assert not incident.shared_annotations_due()  # asked again in 30 s, not each refresh
    assert await incident.fetch_shared_annotations() == []
    assert sum(e.text == "our own note" for e in incident.timeline_events()) == 1
    await incident.session.aclose()
