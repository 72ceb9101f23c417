"""The write side (oncall_tui.actions): audit trail, read-only guard, silences, timeline export."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from oncall_tui.actions.audit import AuditLog, state_dir
from oncall_tui.actions.core import (
    ActionError,
    ActionFailed,
    ActionRunner,
    Preview,
    ReadOnlyRefused,
)
from oncall_tui.actions.silences import (
    ACK_DURATION,
    DURATION_PRESETS,
    MatcherSyntaxError,
    UntilResolved,
    ack,
    affected,
    build_silence,
    ensure_server_clock,
    expire,
    expiring_soon,
    extend,
    format_matchers,
    matchers_from_labels,
    parse_duration,
    parse_matchers,
    retry_failed,
    silence,
    silence_preview,
)
from oncall_tui.actions.timeline import (
    Timeline,
    TimelineEvent,
    alert_changes,
    export_json,
    export_markdown,
    impact_window,
)
from oncall_tui.clients import AlertmanagerClient
from oncall_tui.clients.http import NO_RETRY
from oncall_tui.text.redact import register_secret
from oncall_tui.core.triage import TriageAlert
from oncall_tui.models.alertmanager import InvalidSilence, Silence

from .conftest import REPO

CANARY = "CANARY-7f3a9c41d2"
WRITE_METHODS = {"POST", "PUT", "DELETE", "PATCH"}
LABELS = {
    "alertname": "ModelServingHighErrorRate",
    "service": "fraud-scorer",
    "severity": "critical",
    "namespace": "ml-serving",
    "alertstate": "firing",
}


# ------------------------------------------------------------------ fake Alertmanager --
def _ms(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class FakeAM:
    """Just enough of Alertmanager's API v2, recording every request; ``skew`` shifts its clock."""

    def __init__(
        self, *, skew: timedelta = timedelta(0), post_status: int = 200, post_lands: bool = True
    ) -> None:
        self.skew = skew
        self.post_status = post_status
        self.post_lands = post_lands
        self.requests: list[httpx.Request] = []
        self.posted: list[dict[str, Any]] = []
        self.silences: dict[str, dict[str, Any]] = {}

    def now(self) -> datetime:
        return datetime.now(UTC) + self.skew

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        headers = {"Date": format_datetime(self.now(), usegmt=True)}
        path, method = request.url.path, request.method
        if method == "GET" and path == "/api/v2/status":
            return httpx.Response(200, json={}, headers=headers)
        if method == "POST" and path == "/api/v2/silences":
            body = json.loads(request.content)
            self.posted.append(body)
            sid = body.get("id") or str(uuid.uuid4())
            if self.post_lands:
                self.silences[sid] = {
                    **body,
                    "id": sid,
                    "status": {"state": "active"},
                    "updatedAt": _ms(self.now()),
                }
            if self.post_status != 200:
                return httpx.Response(self.post_status, json=f"boom with token {CANARY}", headers=headers)
            return httpx.Response(200, json={"silenceID": sid}, headers=headers)
        if path.startswith("/api/v2/silence/"):
            sid = path.rsplit("/", 1)[1]
            if sid not in self.silences:
                return httpx.Response(404, json="silence not found", headers=headers)
            if method == "DELETE":
                self.silences[sid]["status"] = {"state": "expired"}
                return httpx.Response(200, headers=headers)
            return httpx.Response(200, json=self.silences[sid], headers=headers)
        if method == "GET" and path == "/api/v2/silences":
            return httpx.Response(200, json=list(self.silences.values()), headers=headers)
        if method == "GET" and path == "/api/v2/alerts":
            return httpx.Response(200, json=[], headers=headers)
        return httpx.Response(404, json="not found", headers=headers)

    def writes(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method in WRITE_METHODS]


def am_for(fake: FakeAM, base: str = "http://am.test:9093") -> AlertmanagerClient:
    http = httpx.AsyncClient(base_url=base, transport=httpx.MockTransport(fake))
    return AlertmanagerClient(http, retry=NO_RETRY)


def runner_for(
    tmp_path: Path, *, read_only: bool = False, protected: bool = False, timeline: Timeline | None = None
) -> ActionRunner:
    audit = AuditLog(tmp_path / "state" / "oncall-tui" / "audit.jsonl")
    return ActionRunner(
        "prod-eu", read_only=read_only, protected=protected, audit=audit, user="alice", timeline=timeline
    )


def existing_silence(
    sid: str = "0b5e4c1a-9f7e-4d5a-8c21-3f0f3c1d2e4f", *, ends_in: timedelta = timedelta(minutes=5)
) -> Silence:
    now = datetime.now(UTC)
    return Silence.model_validate(
        {
            "id": sid,
            "status": {"state": "active"},
            "updatedAt": _ms(now),
            "comment": "investigating",
            "createdBy": "alice",
            "startsAt": _ms(now - timedelta(minutes=10)),
            "endsAt": _ms(now + ends_in),
            "matchers": [{"name": "alertname", "value": "X", "isRegex": False, "isEqual": True}],
        }
    )


# ------------------------------------------------------------------------ audit log --
def test_audit_default_path_follows_xdg_state_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert AuditLog().path == tmp_path / "xdg" / "oncall-tui" / "audit.jsonl"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    assert state_dir() == Path.home() / ".local" / "state" / "oncall-tui"


def test_audit_file_is_0600_dir_0700_and_records_carry_provenance(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "state" / "oncall-tui" / "audit.jsonl")
    rec = log.intent("a1", "silence.create", "X", {"summary": "s"}, "prod-eu", "alice")
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.path.parent.stat().st_mode) == 0o700
    assert rec["type"] == "intent" and rec["pid"] == os.getpid() and rec["host"]
    assert datetime.fromisoformat(rec["ts"]).utcoffset() == timedelta(0)
    log.result("a1", True, "done")
    assert [r["type"] for r in log.records()] == ["intent", "result"]


def test_audit_tightens_a_loose_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text("")
    path.chmod(0o644)
    AuditLog(path).intent("a1", "k", "t", "p", "c", "u")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_intent_is_on_disk_before_the_effect_and_result_after(tmp_path: Path) -> None:
    runner = runner_for(tmp_path)
    seen: list[list[dict[str, Any]]] = []

    async def effect() -> str:
        on_disk = [json.loads(line) for line in runner.audit.path.read_text().splitlines()]
        seen.append(on_disk)
        return "sid-1"

    preview = Preview.http("POST", "http://am.test/api/v2/silences", {"a": 1}, summary="create")
    assert await runner.run("silence.create", "X", preview, effect) == "sid-1"
    assert [r["type"] for r in seen[0]] == ["intent"]
    assert seen[0][0]["kind"] == "silence.create" and seen[0][0]["preview"]["method"] == "POST"
    records = runner.audit.records()
    assert [r["type"] for r in records] == ["intent", "result"]
    assert records[1]["ok"] is True and records[1]["id"] == records[0]["id"]


CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    from oncall_tui.actions.audit import AuditLog
    from oncall_tui.actions.core import ActionRunner, Preview

    async def effect():
        os.kill(os.getpid(), signal.SIGHUP)  # the SSH session drops mid-action
        await asyncio.sleep(30)

    runner = ActionRunner("prod-eu", read_only=False, protected=False, audit=AuditLog(Path(sys.argv[1])), user="alice")
    asyncio.run(runner.run("rollback", "llm-server", Preview.process(["kubectl", "rollout", "undo"]), effect))
    """
)


def test_action_killed_by_sighup_is_listed_as_interrupted_at_next_start(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], cwd=REPO)
    assert child.wait(timeout=60) == -signal.SIGHUP
    log = AuditLog(path)  # "the next start"
    interrupted = log.interrupted()
    assert len(interrupted) == 1
    rec = interrupted[0]
    assert rec["pid"] == child.pid and rec["kind"] == "rollback" and rec["target"] == "llm-server"
    assert "ended before the result" in rec["reason"]
    # our own in-flight intent (this process is alive) is not "interrupted"
    log.intent("mine", "silence.create", "X", {}, "prod-eu", "alice")
    assert [r["id"] for r in log.interrupted()] == [rec["id"]]
    log.dismiss(rec["id"], "checked the rollout by hand")
    assert log.interrupted() == []


async def test_cancelled_action_is_marked_interrupted(tmp_path: Path) -> None:
    runner = runner_for(tmp_path)
    started = asyncio.Event()

    async def effect() -> None:
        started.set()
        await asyncio.sleep(30)

    task = asyncio.create_task(runner.run("silence.create", "X", Preview.http("POST", "http://am/x"), effect))
    await started.wait()
    assert len(runner.in_flight) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    listed = runner.audit.interrupted()
    assert len(listed) == 1 and "CancelledError" in listed[0]["reason"]


def test_torn_last_line_is_skipped_and_next_record_survives(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.intent("a1", "k", "t", "p", "c", "u")
    with open(log.path, "ab") as fh:
        fh.write(b'{"type":"result","id":"a1","o')  # crash mid-write
    assert [r["type"] for r in log.records()] == ["intent"]
    log.result("a1", True, "ok")
    assert [r["type"] for r in log.records()] == ["intent", "result"]


async def test_audit_unwritable_means_the_effect_never_runs(tmp_path: Path) -> None:
    blocker = tmp_path / "audit.jsonl"
    blocker.mkdir()  # a directory where the file should be
    runner = ActionRunner("c", read_only=False, protected=False, audit=AuditLog(blocker), user="u")
    ran: list[bool] = []

    async def effect() -> None:
        ran.append(True)

    with pytest.raises(ActionError, match="audit"):
        await runner.run("k", "t", Preview.http("POST", "http://x/"), effect)
    assert ran == []


# ------------------------------------------------------------------------- read-only --
async def _each_write(runner: ActionRunner, am: AlertmanagerClient) -> list[tuple[str, Any]]:
    now = datetime.now(UTC)
    spec = build_silence(LABELS, "1h", "alice", "investigating", now_server=now)
    calls = {
        "silence": lambda: silence(runner, am, spec),
        "ack": lambda: ack(runner, am, LABELS, user="alice"),
        "expire": lambda: expire(runner, am, "0b5e4c1a-9f7e-4d5a-8c21-3f0f3c1d2e4f"),
        "extend": lambda: extend(runner, am, existing_silence(), timedelta(hours=1)),
    }
    outcomes = []
    for name, call in calls.items():
        try:
            await call()
        except ReadOnlyRefused as exc:
            outcomes.append((name, exc))
        else:
            outcomes.append((name, None))
    return outcomes


async def test_read_only_refuses_every_write_and_sends_nothing(tmp_path: Path) -> None:
    fake = FakeAM()
    am = am_for(fake)
    runner = runner_for(tmp_path, read_only=True)
    assert not runner.allowed
    with pytest.raises(ReadOnlyRefused, match="read-only"):
        runner.check_allowed()
    outcomes = await _each_write(runner, am)
    assert [n for n, exc in outcomes if exc is None] == []
    assert len(outcomes) == 4
    assert fake.writes() == []
    assert fake.requests == []  # not even the clock probe
    assert not runner.audit.path.exists()
    assert runner.audit.interrupted() == [] and runner.audit.records() == []
    await am.aclose()


async def test_runner_for_context_inherits_read_only_and_protected(tmp_path: Path) -> None:
    from oncall_tui.settings.model import Context

    ctx = Context(name="prod", read_only=True, protected=True)
    runner = ActionRunner.for_context(ctx, audit=AuditLog(tmp_path / "a.jsonl"), user="alice")
    assert runner.read_only and runner.needs_typed_confirmation("ModelServingHighErrorRate")
    assert runner.confirmation_matches("fraud-scorer", " fraud-scorer ")
    assert not runner.confirmation_matches("fraud-scorer", "fraud")
    staging = ActionRunner.for_context(
        Context(name="staging"), audit=AuditLog(tmp_path / "a.jsonl"), user="a"
    )
    assert staging.allowed and not staging.needs_typed_confirmation("x")
    assert ActionRunner.for_context(
        Context(name="staging"), audit=staging.audit, user="a", read_only=True
    ).read_only


# ------------------------------------------------------------------ silences (mocked) --
async def test_silence_posts_the_previewed_body_reads_back_and_audits(tmp_path: Path) -> None:
    fake = FakeAM()
    am = am_for(fake)
    runner = runner_for(tmp_path)
    now = await ensure_server_clock(am)
    spec = build_silence(LABELS, "1h", "alice", "INC-42 investigating", now_server=now)
    preview = silence_preview(am, spec)
    result = await silence(runner, am, spec, fingerprints=["3e022ffcdc7770a9"])
    assert result.status.state == "active" and result.comment == "INC-42 investigating"
    assert fake.posted == [preview.body]
    assert [(r.method, r.url.path) for r in fake.requests][-2:] == [
        ("POST", "/api/v2/silences"),
        ("GET", f"/api/v2/silence/{result.id}"),
    ]
    intent, res = runner.audit.records()
    assert intent["kind"] == "silence.create" and intent["target"] == "ModelServingHighErrorRate"
    assert (
        intent["alert_fingerprints"] == ["3e022ffcdc7770a9"] and intent["endpoint"] == "http://am.test:9093"
    )
    assert res["ok"] and res["silence_id"] == result.id
    assert "alertstate" not in {m["name"] for m in fake.posted[0]["matchers"]}
    await am.aclose()


async def test_ack_uses_the_server_clock_when_it_is_two_hours_off(tmp_path: Path) -> None:
    fake = FakeAM(skew=timedelta(hours=2))
    am = am_for(fake)
    runner = runner_for(tmp_path)
    result = await ack(runner, am, LABELS, user="alice")
    body = fake.posted[0]
    starts = datetime.fromisoformat(body["startsAt"])
    ends = datetime.fromisoformat(body["endsAt"])
    server_now = datetime.now(UTC) + timedelta(hours=2)
    assert abs((starts - server_now).total_seconds()) < 5  # server clock, not ours
    assert ends - starts == ACK_DURATION
    assert body["comment"] == "ack by alice via oncall-tui" and body["createdBy"] == "alice"
    assert all(m["isRegex"] is False and m["isEqual"] is True for m in body["matchers"])
    assert result.ends_at == ends
    assert fake.requests[0].url.path == "/api/v2/status"  # the clock probe came first
    assert abs(runner.audit.records()[0]["clock_skew_s"] - 7200) < 5
    # the same clock for a hand-built silence
    spec = build_silence(LABELS, "15m", "alice", "x", now_server=am.server_now())
    assert abs((spec.starts_at - server_now).total_seconds()) < 5
    await am.aclose()


async def test_expire_and_extend_record_ids(tmp_path: Path) -> None:
    fake = FakeAM()
    am = am_for(fake)
    runner = runner_for(tmp_path)
    old = existing_silence()
    fake.silences[old.id] = json.loads(old.model_dump_json(by_alias=True))
    longer = await extend(runner, am, old, timedelta(minutes=30))
    assert longer.ends_at - old.ends_at == timedelta(minutes=30)
    assert longer.starts_at == old.starts_at
    assert fake.posted[-1]["id"] == old.id
    result = runner.audit.records()[-1]
    assert result["old_id"] == old.id and result["new_id"] == longer.id
    await expire(runner, am, old.id)
    assert fake.writes()[-1].method == "DELETE" and fake.writes()[-1].url.path == f"/api/v2/silence/{old.id}"
    assert fake.silences[old.id]["status"]["state"] == "expired"
    kinds = [(r["type"], r.get("kind")) for r in runner.audit.records()]
    assert kinds == [
        ("intent", "silence.extend"),
        ("result", None),
        ("intent", "silence.expire"),
        ("result", None),
    ]
    with pytest.raises(ActionError, match="invalid silence ID"):
        await expire(runner, am, "../../status")
    await am.aclose()


async def test_failed_write_keeps_payload_and_retry_does_not_duplicate(tmp_path: Path) -> None:
    fake = FakeAM(post_status=500, post_lands=False)
    am = am_for(fake)
    runner = runner_for(tmp_path)
    spec = build_silence(LABELS, "1h", "alice", "investigating", now_server=datetime.now(UTC))
    with pytest.raises(ActionFailed) as info:
        await silence(runner, am, spec)
    assert "HTTP 500" in str(info.value)
    failed = runner.audit.failed()
    assert len(failed) == 1
    assert failed[0]["payload"]["spec"] == fake.posted[0]
    assert failed[0]["kind"] == "silence.create" and failed[0]["preview"]["method"] == "POST"
    # retry once the backend works again
    fake.post_status, fake.post_lands = 200, True
    again = await retry_failed(runner, am, failed[0])
    assert again is not None and again.status.state == "active"
    assert runner.audit.failed() == []
    assert runner.audit.records()[-2]["retry_of"] == failed[0]["id"]


async def test_retry_after_a_post_that_landed_reuses_the_silence(tmp_path: Path) -> None:
    fake = FakeAM(post_status=502, post_lands=True)  # the proxy failed after Alertmanager stored it
    am = am_for(fake)
    runner = runner_for(tmp_path)
    with pytest.raises(ActionFailed):
        await ack(runner, am, LABELS, user="alice")
    fake.post_status = 200
    result = await retry_failed(runner, am, runner.audit.failed()[0])
    assert result is not None and len(fake.silences) == 1 and len(fake.posted) == 1
    assert runner.audit.failed() == []


async def test_secrets_never_reach_the_audit_file(tmp_path: Path) -> None:
    register_secret(CANARY)
    fake = FakeAM(post_status=500, post_lands=False)
    am = am_for(fake, base=f"http://admin:{CANARY}@am.test:9093")
    runner = runner_for(tmp_path)
    spec = build_silence(
        LABELS, "1h", "alice", f"pasted the token {CANARY} by mistake", now_server=datetime.now(UTC)
    )
    with pytest.raises(ActionFailed):
        await silence(runner, am, spec)  # the error body quotes the canary too

    async def leaky() -> None:
        raise RuntimeError(f"Authorization: Bearer {CANARY}")

    url = f"http://am.test/api?token={CANARY}&x=1"
    with pytest.raises(ActionFailed) as info:
        await runner.run("annotate", "grafana", Preview.http("POST", url, {"text": CANARY}), leaky)
    assert CANARY not in str(info.value)
    runner.audit.mark_interrupted("x", f"signal while sending {CANARY}")
    raw = runner.audit.path.read_bytes()
    assert b"CANARY-7f3a9" not in raw
    assert raw.count(b"***") >= 4
    await am.aclose()


# ------------------------------------------------------------------ matchers & parsing --
def test_matchers_from_labels_are_exact_alertname_first_and_skip_bookkeeping() -> None:
    ms = matchers_from_labels({**LABELS, "empty": ""})
    assert [m.name for m in ms] == ["alertname", "namespace", "service", "severity"]
    assert all(m.operator == "=" for m in ms)


HOSTILE_VALUES = [
    'x", alertname=~".*',
    ".*",
    "web-1\nrm -rf ~",
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "safe\u202egnp.exe",
    "C:\\temp\\",
    "[@click=app.quit]ack[/]",
    "$(id)",
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_label_values_stay_one_literal_exact_matcher(value: str) -> None:
    ms = matchers_from_labels({"alertname": "X", "pod": value})
    assert [(m.name, m.value, m.is_regex, m.is_equal) for m in ms] == [
        ("alertname", "X", False, True),
        ("pod", value, False, True),
    ]
    line = format_matchers(ms)
    assert "\x1b" not in line and "\n" not in line and "\u202e" not in line
    assert parse_matchers(line) == ms  # the editable line round-trips exactly
    spec = build_silence({"alertname": "X", "pod": value}, "15m", "alice", "c", now_server=datetime.now(UTC))
    assert spec.matches({"alertname": "X", "pod": value})
    assert not spec.matches({"alertname": "X", "pod": "other"})  # ".*" is not a regex here


def test_parse_matchers_accepts_the_documented_forms() -> None:
    ms = parse_matchers(' { alertname="X" , service=~"llm-.*",env!="dev", pod!~"canary-.*" } ')
    assert [(m.name, m.operator, m.value) for m in ms] == [
        ("alertname", "=", "X"),
        ("service", "=~", "llm-.*"),
        ("env", "!=", "dev"),
        ("pod", "!~", "canary-.*"),
    ]
    assert parse_matchers(r'a="q\"uote\\back\nnl\u00e9"')[0].value == 'q"uote\\back\nnlé'
    assert parse_matchers('a=""')[0].value == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no matchers"),
        ("   ", "no matchers"),
        ("alertname=X", "double quotes"),
        ("alertname='X'", "double quotes"),
        ('alertname="X', "unterminated"),
        ('alertname="X" service="y"', "expected ','"),
        ('alertname="X",', "after ','"),
        ('alertname="X",,b="y"', "label name"),
        ('1abc="x"', "label name"),
        ('alert-name="x"', "expected one of"),
        ('a=="x"', "double quotes"),
        ('a<"x"', "expected one of"),
        (r'a="\q"', "unknown escape"),
        (r'a="\u12"', "unknown escape"),
        ('a=~"(unclosed"', "invalid regular expression"),
        ('a="line\nbreak"', "U+000A"),
        ('a="\x1b[2J"', "U+001B"),
        ('a="safe\u202eexe"', "U+202E"),
        ('{a="x"', "closing"),
        ('a="x"}', "expected ','"),
    ],
)
def test_parse_matchers_rejects_with_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(MatcherSyntaxError, match=re.escape(message)) as info:
        parse_matchers(text)
    assert info.value.field == "matchers" and info.value.position >= 0
    assert "\x1b" not in str(info.value)


def test_regex_injection_through_the_line_is_only_what_was_typed() -> None:
    # a value trying to close its quotes and add a catch-all regex stays one literal value
    (m,) = parse_matchers(r'pod="x\", alertname=~\".*"')
    assert (m.name, m.value, m.is_regex) == ("pod", 'x", alertname=~".*', False)
    # a catch-all is refused when building (Alertmanager's "must not match the empty string")
    with pytest.raises(InvalidSilence, match="empty string"):
        build_silence(parse_matchers('alertname=~".*"'), "1h", "a", "c", now_server=datetime.now(UTC))


# ------------------------------------------------------------------------- durations --
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("2h30m", timedelta(hours=2, minutes=30)),
        (" 15M ", timedelta(minutes=15)),
        ("1d", timedelta(days=1)),
        ("1w2d", timedelta(days=9)),
        ("45s", timedelta(seconds=45)),
        ("4h", DURATION_PRESETS["4h"]),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "0m", "-1h", "1.5h", "30m1h", "2h 30m", "1y", "h", "31d", "99999999h", "1h1h"]
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(InvalidSilence) as info:
        parse_duration(text)
    assert info.value.field == "ends_at"


def test_presets() -> None:
    assert DURATION_PRESETS == {
        "15m": timedelta(minutes=15),
        "1h": timedelta(hours=1),
        "4h": timedelta(hours=4),
    }


# --------------------------------------------------------------------- build & helpers --
def test_build_silence_requires_comment_and_ticket_and_aware_time() -> None:
    now = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)
    with pytest.raises(InvalidSilence, match="comment is required") as info:
        build_silence(LABELS, "1h", "alice", "   ", now_server=now)
    assert info.value.field == "comment"
    with pytest.raises(InvalidSilence, match="ticket"):
        build_silence(LABELS, "1h", "alice", "looking", now_server=now, ticket_pattern=r"\b(INC|OPS)-\d+\b")
    spec = build_silence(
        LABELS, "1h", "alice", "OPS-123 looking", now_server=now, ticket_pattern=r"\b(INC|OPS)-\d+\b"
    )
    assert (spec.starts_at, spec.ends_at) == (now, now + timedelta(hours=1))
    with pytest.raises(InvalidSilence, match="createdBy"):
        build_silence(LABELS, "1h", " ", "c", now_server=now)
    with pytest.raises(ValueError, match="aware"):
        build_silence(LABELS, "1h", "alice", "c", now_server=datetime(2026, 11, 22))
    with pytest.raises(InvalidSilence):
        build_silence(LABELS, timedelta(days=400), "alice", "c", now_server=now)


def _triage(name: str, state: str, fp: str | None, summary: str = "", **labels: str) -> TriageAlert:
    return TriageAlert(
        name=name,
        severity=labels.get("severity", "critical"),
        service=labels.get("service"),
        summary=summary,
        state=state,
        state_detail=state,
        starts_at=datetime(2026, 11, 22, 5, tzinfo=UTC),
        labels={"alertname": name, **labels},
        annotations={"summary": summary},
        fingerprint=fp,
    )


def test_affected_counts_firing_alerts_only() -> None:
    spec = build_silence(parse_matchers('service=~"llm-.*"'), "1h", "a", "c", now_server=datetime.now(UTC))
    alerts = [
        _triage("A", "firing", "1", service="llm-chat"),
        _triage("B", "silenced", "2", service="llm-embed"),
        _triage("C", "pending", None, service="llm-chat"),
        _triage("D", "firing", "4", service="fraud-scorer"),
        {"alertname": "E", "service": "llm-x"},
    ]
    assert [getattr(a, "name", None) or a["alertname"] for a in affected(spec, alerts)] == ["A", "B", "E"]


def test_expiring_soon_warns_about_your_silences_only() -> None:
    now = datetime.now(UTC)
    mine = existing_silence("11111111-1111-1111-1111-111111111111", ends_in=timedelta(minutes=4))
    later = existing_silence("22222222-2222-2222-2222-222222222222", ends_in=timedelta(hours=2))
    theirs = existing_silence("33333333-3333-3333-3333-333333333333").model_copy(update={"created_by": "bob"})
    soon = expiring_soon([later, theirs, mine], created_by="alice", now=now)
    assert [s.id for s, _ in soon] == [mine.id]
    assert timedelta(minutes=3) < soon[0][1] <= timedelta(minutes=4)


def test_until_resolved_needs_consecutive_quiet_refreshes() -> None:
    ur = UntilResolved("sid", matchers_from_labels({"alertname": "A", "service": "x"}), confirmations=2)
    firing = [_triage("A", "silenced", "1", service="x")]
    other = [_triage("B", "firing", "2", service="x")]
    assert not ur.should_expire(firing)
    assert not ur.should_expire(other)  # first quiet refresh
    assert not ur.should_expire(firing)  # flapped back: counter reset
    assert not ur.should_expire([])
    assert ur.should_expire([])


def test_preview_text_is_exact_and_inert() -> None:
    register_secret(CANARY)
    p = Preview.http(
        "POST",
        f"https://u:{CANARY}@am.example/api/v2/silences?token={CANARY}",
        {"comment": "a\x1b[2Jb\u202e"},
    )
    text = p.text()
    assert CANARY not in text and "\x1b" not in text and "\u202e" not in text
    assert text.splitlines()[0].startswith("POST https://***@am.example/api/v2/silences?token=***")
    assert '"comment": "a\\u001b[2Jb<U+202E>"' in text
    argv = ["kubectl", "rollout", "undo", "deploy/web-1; curl x | sh #", "-n", "a\nb"]
    proc = Preview.process(argv, summary="rollback")
    lines = proc.text().splitlines()
    assert lines[2:] == [
        '  [0] "kubectl"',
        '  [1] "rollout"',
        '  [2] "undo"',
        '  [3] "deploy/web-1; curl x | sh #"',
        '  [4] "-n"',
        '  [5] "a\\nb"',
    ]
    assert len(proc.to_record()["argv_sha256"]) == 64
    with pytest.raises(TypeError):
        Preview.process("kubectl rollout undo")  # type: ignore[arg-type]


# ------------------------------------------------------------------------- timeline --
NOW = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)


def test_alert_changes() -> None:
    prev = [
        _triage("Steady", "firing", "s"),
        _triage("WillSilence", "firing", "w"),
        _triage("WillResolve", "firing", "r"),
        _triage("WasSilenced", "silenced", "u"),
        _triage("Pending", "pending", None, service="x"),
    ]
    cur = [
        _triage("Steady", "firing", "s"),
        _triage("WillSilence", "silenced", "w"),
        _triage("WasSilenced", "firing", "u"),
        _triage("New", "firing", "n"),
        _triage("Pending", "pending", None, service="x"),
    ]
    changes = {(e.detail["alertname"], e.detail["change"]) for e in alert_changes(prev, cur, NOW)}
    assert changes == {
        ("WillSilence", "silenced"),
        ("WillResolve", "resolved"),
        ("WasSilenced", "unsilenced"),
        ("New", "firing"),
    }
    assert all(e.kind == "alert" and e.at == NOW for e in alert_changes(prev, cur, NOW))
    assert alert_changes(cur, cur, NOW) == []
    # a pending alert that starts firing in Alertmanager (gets a fingerprint) fires
    fired = alert_changes([_triage("P", "pending", None)], [_triage("P", "firing", "p")], NOW)
    assert [(e.detail["change"]) for e in fired] == ["firing"]


HOSTILE_SUMMARY = "[x](http://evil) <script>alert(1)</script> ![img](https://evil/i.png) \x1b]8;;https://evil\x07 | col www.evil.com `code`"


def _events(resolved: bool) -> list[TimelineEvent]:
    fire = _triage("ModelServingHighErrorRate", "firing", "f1", summary=HOSTILE_SUMMARY)
    events = alert_changes([], [fire], NOW)
    events.append(
        TimelineEvent(
            NOW + timedelta(minutes=3),
            "action",
            "silence.ack X",
            {"action_id": "a1", "kind": "silence.ack", "target": "<b>X</b>"},
        )
    )
    events.append(
        TimelineEvent(NOW + timedelta(minutes=3, seconds=1), "result", "ok", {"action_id": "a1", "ok": True})
    )
    events.append(
        TimelineEvent(NOW + timedelta(minutes=4), "note", "rolled back v15 [see](javascript:alert(1))")
    )
    if resolved:
        events += alert_changes([fire], [], NOW + timedelta(minutes=42))
    return events


def test_timeline_file_round_trip(tmp_path: Path) -> None:
    tl = Timeline(tmp_path / "state" / "timeline.jsonl")
    tl.extend(_events(resolved=True))
    assert stat.S_IMODE(tl.path.stat().st_mode) == 0o600
    back = tl.events()
    assert [e.kind for e in back] == ["alert", "action", "result", "note", "alert"]
    assert back[0].detail["summary"] == HOSTILE_SUMMARY


async def test_runner_writes_actions_to_the_timeline(tmp_path: Path) -> None:
    tl = Timeline(tmp_path / "timeline.jsonl")
    runner = runner_for(tmp_path, timeline=tl)

    async def effect() -> str:
        return "sid"

    await runner.run(
        "silence.ack",
        "X",
        Preview.http("POST", "http://am/"),
        effect,
        outcome=lambda s: {"detail": f"silence {s}"},
    )
    kinds = [(e.kind, e.detail.get("ok")) for e in tl.events()]
    assert kinds == [("action", None), ("result", True)]


def test_markdown_export_is_a_draft_with_inert_untrusted_text() -> None:
    from markdown_it import MarkdownIt

    md = export_markdown(_events(resolved=True), context="prod-eu", title="fraud-scorer 5xx <img src=x>")
    for heading in (
        "## Summary",
        "## Impact window",
        "## Timeline (UTC)",
        "## Actions taken",
        "## Follow-ups",
    ):
        assert heading in md
    assert "Start (first alert firing): 2026-11-22 05:00:00 UTC" in md
    assert "End (last alert resolved): 2026-11-22 05:42:00 UTC" in md and "Duration: 42m 00s" in md
    assert "| 2026-11-22 05:03:00 | silence.ack |" in md
    assert "\x1b" not in md and "[x](http://evil)" not in md and "<script>" not in md
    html = MarkdownIt("gfm-like", {"linkify": True, "html": True}).render(md)
    assert "<a " not in html and "<script" not in html and "<img" not in html and "<b>" not in html
    assert "[x](http[:]//evil)" in html  # shown literally, defanged
    assert "&lt;script&gt;" in html
    # every table row still has its three columns (a "|" in a summary cannot add cells)
    rows = [line for line in md.splitlines() if line.startswith("| 2026")]
    assert rows and all(line.replace("\\|", "").count("|") in (4, 5) for line in rows)


def test_impact_window_ongoing_and_json_export() -> None:
    events = _events(resolved=False)
    assert impact_window(events).ongoing
    md = export_markdown(events, context="prod-eu", title="t")
    assert "- End: ongoing" in md
    doc = json.loads(export_json(events, context="prod-eu", title="t"))
    assert doc["impact"] == {"start": "2026-11-22T05:00:00+00:00", "end": None, "ongoing": True}
    assert doc["events"][0]["detail"]["summary"] == HOSTILE_SUMMARY
    assert "\x1b" not in export_json(events, context="prod-eu", title="t")
