"""One timeline shared by every ``oncall-tui`` of a context on a host (issue 16, item 2).

Two processes append at once without corrupting the timeline or the audit log; what one writes
the other sees on its next refresh, with who wrote it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from oncall_tui.actions.audit import AuditLog
from oncall_tui.actions.timeline import Timeline, TimelineEvent, alert_changes
from oncall_tui.core.triage import TriageAlert

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from pathlib import Path
    from oncall_tui.actions.audit import AuditLog
    from oncall_tui.actions.timeline import Timeline, TimelineEvent

    kind, path, who, n = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    sys.stdin.readline()  # both writers start together
    if kind == "timeline":
        timeline = Timeline(path, user=who)
        for i in range(n):
            timeline.add(TimelineEvent(at=datetime.now(UTC), kind="note", text=f"{who} note {i} " + "x" * (i % 300)))
    else:
        audit = AuditLog(path)
        for i in range(n):
            audit.result(f"{who}-{i}", True, "ok " + "y" * (i % 300), {"i": i})
    """
)


def _two_writers(kind: str, path: Path, n: int) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, kind, str(path), who, str(n)], stdin=subprocess.PIPE, text=True)
        for who in ("alice", "bob")
    ]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        assert p.wait(timeout=120) == 0


def test_two_processes_appending_1000_events_each_leave_2000_valid_lines(tmp_path: Path) -> None:
    path = tmp_path / "state" / "timeline-prod.jsonl"
    _two_writers("timeline", path, 1000)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]  # every line is whole JSON
    assert len(records) == 2000
    for who in ("alice", "bob"):
        mine = [r["text"].split(" ")[2] for r in records if r["by"] == who]
        assert mine == [str(i) for i in range(1000)]  # none lost, none torn, in order
    assert len({r["origin"] for r in records}) == 2


def test_two_processes_appending_to_the_audit_log_at_once_never_corrupt_it(tmp_path: Path) -> None:
    path = tmp_path / "state" / "audit.jsonl"
    _two_writers("audit", path, 1000)
    records = [json.loads(line) for line in path.read_bytes().splitlines()]
    assert len(records) == 2000 and {r["type"] for r in records} == {"result"}
    assert len(AuditLog(path).records()) == 2000


def _note(text: str, at: datetime | None = None) -> TimelineEvent:
    return TimelineEvent(at=at or datetime.now(UTC), kind="note", text=text)


def test_poll_returns_what_the_other_process_wrote_with_who_wrote_it(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    responder = Timeline(path, user="alice", origin="host-a:1")
    responder.add(_note("history before the commander opened the app"))
    commander = Timeline(path, user="ic-bob", origin="host-a:2")
    redraws: list[int] = []
    commander.watch(lambda: redraws.append(1))
    assert commander.poll() == []  # what was there at start is history, not news

    responder.add(_note("rolled back llm-server"))
    commander.add(_note("the commander's own note"))  # its own writes are never "from elsewhere"
    responder.add(_note("silence created"))
    seen = commander.poll()
    assert [(e.text, e.who, e.origin) for e in seen] == [
        ("rolled back llm-server", "alice", "host-a:1"),
        ("silence created", "alice", "host-a:1"),
    ]
    assert redraws and commander.poll() == []
    assert [e.who for e in commander.events()] == ["alice", "alice", "ic-bob", "alice"]


def test_a_line_still_being_written_is_read_once_it_is_whole(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    reader = Timeline(path, origin="r:1")
    whole = json.dumps(_note("whole").to_json())
    torn = json.dumps(_note("second").to_json())
    with open(path, "ab") as fh:
        fh.write(whole.encode() + b"\n" + torn[:20].encode())
    assert [e.text for e in reader.poll()] == ["whole"]
    with open(path, "ab") as fh:
        fh.write(torn[20:].encode() + b"\n")
    assert [e.text for e in reader.poll()] == ["second"]


def _alert(onset_minute: int = 0) -> TriageAlert:
    return TriageAlert(
        name="LLMServerHighErrorRate", severity="critical", service="llm-server", summary="", state="firing",
        state_detail="", starts_at=datetime(2026, 12, 3, 20, onset_minute, tzinfo=UTC), labels={"alertname": "LLMServerHighErrorRate"},
        annotations={}, fingerprint="abc123",
    )


def test_an_alert_change_both_processes_recorded_is_shown_once(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    now = datetime(2026, 12, 3, 20, 1, tzinfo=UTC)
    for origin in ("a:1", "b:2"):  # both saw the same refresh
        Timeline(path, origin=origin).extend(alert_changes([], [_alert()], now))
    later = datetime(2026, 12, 3, 20, 9, tzinfo=UTC)
    Timeline(path, origin="a:1").extend(alert_changes([_alert()], [], later))
    Timeline(path, origin="b:2").extend(alert_changes([_alert()], [], later.replace(second=3)))
    Timeline(path, origin="a:1").extend(alert_changes([], [_alert(onset_minute=20)], later.replace(minute=20)))
    changes = [e.detail["change"] for e in Timeline(path).events()]
    assert changes == ["firing", "resolved", "firing"]  # it fired again later: that one is kept
