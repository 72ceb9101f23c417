"""Grafana annotations: the client and the audited actions against a real local HTTP server that
checks requests the way Grafana's annotations API documents them, plus the demo's Grafana."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from rich.text import Text

from oncall_tui.actions.annotations import (
    KIND_ACTION_ANNOTATION,
    KIND_ANNOTATE,
    TAG,
    annotate_action,
    annotation_preview,
    annotations_configured,
    build_annotation,
    chart_markers,
    failed_annotations,
    post_note,
    retry_failed_annotations,
)
from oncall_tui.actions.audit import AuditLog
from oncall_tui.actions.core import ActionFailed, ActionRunner, ReadOnlyRefused
from oncall_tui.actions.timeline import Timeline, TimelineEvent
from oncall_tui.clients.errors import (
    AuthFailed,
    MalformedResponse,
    QueryRejected,
    SourceUnavailable,
)
from oncall_tui.clients.factory import build_http_client
from oncall_tui.clients.grafana import GrafanaClient
from oncall_tui.clients.session import BackendSession
from oncall_tui.demo import DemoIncident, DemoTransport, demo_settings
from oncall_tui.demo.common import GRAFANA_URL
from oncall_tui.demo.incident import DEPLOY_AT
from oncall_tui.models.grafana import Annotation, AnnotationSpec, InvalidAnnotation
from oncall_tui.settings import Context, Settings
from oncall_tui.widgets.chart import marker_legend, marker_x, render_chart

TOKEN = "CANARY-7f3a9-grafana-token"
T_NOTE = datetime(2026, 11, 22, 5, 34, 51, 320000, tzinfo=UTC)
DOCUMENTED_POST_FIELDS = {"dashboardUID", "dashboardId", "panelId", "time", "timeEnd", "tags", "text"}

HOSTILE = [
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "\x1b]52;c;ZWNobyBwd25lZA==\x1b\\",
    "\x1b]8;;https://evil.example/\x1b\\https://runbooks.corp/\x1b]8;;\x1b\\",
    "\x1b[2J\x1b[HAll alerts resolved",
    "rm -rf /var/data\rstatus ok          ",
    "x [/] y",
    "[@click=app.quit]Acknowledge[/]",
    "[$error]FAKE CRITICAL[/]",
    "{labels.namespace}",
    "{{ 7*7 }}",
    "${HOME}",
    "safe\u202egnp.exe",
    "a\x00b\x7fc",
]


# --------------------------------------------------------------- a Grafana stand-in --
class FakeGrafana:
    """State of the local server: stored annotations, every request, a failure switch."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.items: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.fail: tuple[int, Any] | None = None
        self.lock = threading.Lock()

    def posts(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST"]


def _handler(state: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def _reply(self, status: int, data: Any) -> None:
            body = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _authorised(self) -> bool:
            if state.token is None:
                return True
            return self.headers.get("Authorization") == f"Bearer {state.token}"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            params = parse_qsl(url.query, keep_blank_values=True)
            with state.lock:
                state.requests.append({"method": "GET", "path": url.path, "params": params, "headers": dict(self.headers)})
            if url.path != "/api/annotations":
                return self._reply(404, {"message": "Not found"})
            if not self._authorised():
                return self._reply(401, {"message": "Unauthorized"})
            q: dict[str, list[str]] = {}
            for k, v in params:
                q.setdefault(k, []).append(v)
            for key in ("from", "to", "limit"):
                if key in q and not q[key][-1].isdigit():
                    state.problems.append(f"{key} is not an integer: {q[key][-1]!r}")
            start = int(q.get("from", ["0"])[-1])
            end = int(q.get("to", ["0"])[-1])
            for bound in (start, end):
                if bound and not 10**12 <= bound < 10**14:
                    state.problems.append(f"from/to not epoch milliseconds: {bound}")
            tags = q.get("tags", [])
            limit = int(q.get("limit", ["100"])[-1])
            out = [
                i
                for i in state.items
                if (not (start and end) or (i["time"] <= end and i["timeEnd"] >= start))
                and all(t in i["tags"] for t in tags)
            ]
            out.sort(key=lambda i: i["time"], reverse=True)
            self._reply(200, out[:limit])

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.requests.append({"method": "POST", "path": url.path, "headers": dict(self.headers), "body": raw})
            if url.path != "/api/annotations":
                return self._reply(404, {"message": "Not found"})
            if not self._authorised():
                return self._reply(401, {"message": "Unauthorized"})
            if state.fail is not None:
                return self._reply(*state.fail)
            if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                state.problems.append(f"content type {self.headers.get('Content-Type')!r}")
                return self._reply(400, {"message": "bad request data"})
            try:
                cmd = json.loads(raw)
            except ValueError:
                state.problems.append("body is not JSON")
                return self._reply(400, {"message": "bad request data"})
            if not isinstance(cmd, dict):
                return self._reply(400, {"message": "bad request data"})
            unknown = set(cmd) - DOCUMENTED_POST_FIELDS
            if unknown:
                state.problems.append(f"undocumented fields {sorted(unknown)}")
            for key in ("time", "timeEnd"):
                value = cmd.get(key)
                if value is not None and (type(value) is not int or not 10**12 <= value < 10**14):
                    state.problems.append(f"{key} is not integer epoch ms: {value!r}")
                    return self._reply(400, {"message": "bad request data"})
            tags = cmd.get("tags", [])
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                state.problems.append("tags is not a list of strings")
                return self._reply(400, {"message": "bad request data"})
            if not isinstance(cmd.get("text"), str) or not cmd["text"]:
                return self._reply(400, {"message": "Failed to save annotation"})
            with state.lock:
                item_id = len(state.items) + 1
                state.items.append(
                    {
                        "id": item_id,
                        "alertId": 0,
                        "dashboardId": 0,
                        "dashboardUID": cmd.get("dashboardUID"),
                        "panelId": cmd.get("panelId", 0),
                        "userId": 1,
                        "newState": "",
                        "prevState": "",
                        "time": cmd.get("time", 0),
                        "timeEnd": cmd.get("timeEnd", cmd.get("time", 0)),
                        "text": cmd["text"],
                        "metric": "",
                        "tags": tags,
                        "data": {},
                    }
                )
            self._reply(200, {"message": "Annotation added", "id": item_id})

    return Handler


@pytest.fixture()
def grafana() -> Iterator[tuple[FakeGrafana, str]]:
    state = FakeGrafana(TOKEN)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def context_for(url: str, *, read_only: bool = False, annotations: dict[str, Any] | None = None) -> Context:
    settings = Settings.model_validate(
        {
            "contexts": {
                "prod-eu": {
                    "read_only": read_only,
                    "endpoints": {
                        "grafana": {"url": url, "no_proxy": True, "auth": {"bearer": {"env": "GRAFANA_TOKEN"}}}
                    },
                    "annotations": annotations or {"tags": ["team-ml"]},
                }
            }
        }
    )
    return settings.context("prod-eu")


def client_for(context: Context) -> GrafanaClient:
    endpoint = context.endpoint("grafana")
    assert endpoint is not None
    http = build_http_client(endpoint, kind="grafana", env={"GRAFANA_TOKEN": TOKEN})
    return GrafanaClient(http, follow_redirects=False)


def runner_for(tmp_path: Path, context: Context, *, read_only: bool = False) -> ActionRunner:
    return ActionRunner.for_context(
        context,
        audit=AuditLog(tmp_path / "state" / "audit.jsonl"),
        user="alice",
        read_only=read_only,
        timeline=Timeline(tmp_path / "state" / "timeline.jsonl"),
    )


# ------------------------------------------------------------------------- client --
async def test_post_sends_the_documented_request_and_returns_the_id(grafana) -> None:  # type: ignore[no-untyped-def]
    state, url = grafana
    context = context_for(url, annotations={"tags": ["team-ml"], "dashboard_uid": "jcIIG-07z", "panel_id": 1})
    client = client_for(context)
    spec = build_annotation(context, "rolled back llm-server to v2.3", at=T_NOTE, extra_tags=("note",))
    assert await client.create_annotation(spec) == 1
    assert state.problems == []
    post = state.posts()[0]
    assert post["path"] == "/api/annotations"
    assert post["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert post["headers"]["Content-Type"] == "application/json"
    assert post["headers"]["Accept"] == "application/json"
    assert json.loads(post["body"]) == {
        "dashboardUID": "jcIIG-07z",
        "panelId": 1,
        "time": 1795325691320,
        "tags": [TAG, "prod-eu", "team-ml", "note"],
        "text": "rolled back llm-server to v2.3",
    }
    found = await client.annotations(from_ms=1795325691000, to_ms=1795325692000, tags=[TAG])
    assert [(a.id, a.text, a.dashboard_uid, a.panel_id, a.time) for a in found] == [
        (1, "rolled back llm-server to v2.3", "jcIIG-07z", 1, 1795325691320)
    ]
    get = next(r for r in state.requests if r["method"] == "GET")
    assert ("from", "1795325691000") in get["params"] and ("tags", TAG) in get["params"]
    assert ("limit", "100") in get["params"]
    assert state.problems == []
    await client.aclose()


async def test_region_annotation_has_time_end(grafana) -> None:  # type: ignore[no-untyped-def]
    state, url = grafana
    context = context_for(url)
    client = client_for(context)
    spec = build_annotation(context, "maintenance", at=T_NOTE, end=T_NOTE.timestamp() + 60)
    await client.create_annotation(spec)
    body = json.loads(state.posts()[0]["body"])
    assert body["timeEnd"] - body["time"] == 60_000 and state.problems == []
    await client.aclose()


async def test_errors_map_to_the_family_with_grafanas_message(grafana) -> None:  # type: ignore[no-untyped-def]
    state, url = grafana
    context = context_for(url)
    client = client_for(context)
    spec = build_annotation(context, "x", at=T_NOTE)
    state.fail = (500, {"message": "Failed to save annotation"})
    with pytest.raises(SourceUnavailable) as info:
        await client.create_annotation(spec)
    assert "HTTP 500" in str(info.value) and "Failed to save annotation" in str(info.value)
    assert len(state.posts()) == 1  # a POST is never retried
    state.fail = (400, {"message": "Failed to save annotation", "error": "text field should not be empty"})
    with pytest.raises(QueryRejected, match="text field should not be empty"):
        await client.create_annotation(spec)
    state.fail = (200, {"message": "Annotation added"})  # no id: not the documented answer
    with pytest.raises(MalformedResponse):
        await client.create_annotation(spec)
    bad = GrafanaClient(httpx.AsyncClient(base_url=url), follow_redirects=False)  # no token
    with pytest.raises(AuthFailed, match="Unauthorized"):
        await bad.create_annotation(spec)
    await bad.aclose()
    await client.aclose()


def test_spec_is_checked_client_side() -> None:
    with pytest.raises(InvalidAnnotation):
        AnnotationSpec(text="  ", time=1795325691320).validate_spec()
    with pytest.raises(InvalidAnnotation, match="milliseconds"):
        AnnotationSpec(text="x", time=1795325691).validate_spec()  # seconds by mistake
    with pytest.raises(InvalidAnnotation):
        AnnotationSpec(text="x", time=1795325691320, time_end=1795325690000).validate_spec()
    spec = AnnotationSpec(text="x", time=1795325691320, tags=["a"])
    assert AnnotationSpec.from_api(spec.to_api()) == spec
    assert spec.to_api() == {"time": 1795325691320, "tags": ["a"], "text": "x"}


def test_get_response_shape_from_the_docs_parses() -> None:
    doc = [
        {
            "id": 1124, "alertId": 0, "dashboardId": 468, "dashboardUID": "uGlb_lG7z", "panelId": 2,
            "userId": 1, "userName": "", "newState": "", "prevState": "", "time": 1507266395000,
            "timeEnd": 1507266395000, "text": "test", "metric": "", "tags": ["tag1", "tag2"], "data": {},
        },
        {
            "id": 1123, "alertId": 0, "dashboardId": 468, "dashboardUID": "jcIIG-07z", "panelId": 2,
            "userId": 1, "userName": "", "newState": "", "prevState": "", "time": 1507265111000,
            "text": "test", "metric": "", "tags": None, "data": {},
        },
    ]
    first, second = (Annotation.model_validate(d) for d in doc)
    assert first.dashboard_uid == "uGlb_lG7z" and first.tags == ["tag1", "tag2"] and first.at == 1507266395.0
    assert second.time_end is None and second.tags == []


# ------------------------------------------------------------------------ actions --
async def test_post_note_is_audited_and_on_the_timeline(grafana, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state, url = grafana
    context = context_for(url)
    client = client_for(context)
    runner = runner_for(tmp_path, context)
    assert annotations_configured(context)
    aid = await post_note(runner, client, context, "INC-42: rolled back", at=T_NOTE)
    assert aid == 1 and state.problems == []
    records = runner.audit.records()
    intent = next(r for r in records if r["type"] == "intent")
    assert intent["kind"] == KIND_ANNOTATE and intent["preview"]["method"] == "POST"
    assert intent["preview"]["url"] == f"{url}/api/annotations"
    assert intent["preview"]["body"]["text"] == "INC-42: rolled back"
    result = next(r for r in records if r["type"] == "result")
    assert result["ok"] and result["annotation_id"] == 1
    assert runner.audit.failed() == []
    # audited, but no action/result lines on the timeline: the note itself is there already
    assert runner.timeline is not None and runner.timeline.events() == []
    await client.aclose()


@pytest.mark.parametrize("fail", [(500, {"message": "Failed to save annotation"}), (401, {"message": "Unauthorized"})])
async def test_failed_post_is_kept_with_its_body_and_retry_posts_it(grafana, tmp_path: Path, fail) -> None:  # type: ignore[no-untyped-def]
    state, url = grafana
    context = context_for(url)
    client = client_for(context)
    runner = runner_for(tmp_path, context)
    state.fail = fail
    with pytest.raises(ActionFailed) as info:
        await post_note(runner, client, context, "mitigated by rollback", at=T_NOTE)
    assert f"HTTP {fail[0]}" in str(info.value)
    [failed] = failed_annotations(runner)
    assert failed["kind"] == KIND_ANNOTATE and not failed["ok"]
    assert failed["payload"]["spec"]["text"] == "mitigated by rollback"
    assert failed["payload"]["spec"]["time"] == 1795325691320
    assert state.items == []
    state.fail = None
    outcomes = await retry_failed_annotations(runner, client)
    assert [o.annotation_id for o in outcomes] == [1]
    assert [(i["text"], i["time"]) for i in state.items] == [("mitigated by rollback", 1795325691320)]
    assert failed_annotations(runner) == []
    retry_intent = [r for r in runner.audit.records() if r["type"] == "intent"][-1]
    assert retry_intent["retry_of"] == failed["id"]
    assert state.problems == []
    await client.aclose()


async def test_retry_does_not_duplicate_an_annotation_that_landed(grafana, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state, url = grafana
    context = context_for(url)
    client = client_for(context)
    runner = runner_for(tmp_path, context)
    spec = build_annotation(context, "landed", at=T_NOTE, extra_tags=("note",))

    async def lands_then_fails() -> int:
        await client.create_annotation(spec)
        raise SourceUnavailable("connection reset after the write", source="grafana")

    with pytest.raises(ActionFailed):
        await runner.run(KIND_ANNOTATE, "grafana", annotation_preview(url, spec), lands_then_fails, payload={"spec": spec.to_api()})
    outcomes = await retry_failed_annotations(runner, client)
    assert [o.annotation_id for o in outcomes] == [1] and len(state.items) == 1 and len(state.posts()) == 1
    await client.aclose()


async def test_retry_stops_at_the_first_failure(grafana, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state, url = grafana
    context = context_for(url)
    client = client_for(context)
    runner = runner_for(tmp_path, context)
    state.fail = (500, {"message": "Failed to save annotation"})
    for text in ("one", "two"):
        with pytest.raises(ActionFailed):
            await post_note(runner, client, context, text, at=T_NOTE)
    outcomes = await retry_failed_annotations(runner, client)
    assert len(outcomes) == 1 and outcomes[0].error and "HTTP 500" in outcomes[0].error
    assert len(failed_annotations(runner)) == 2  # both still kept
    await client.aclose()


async def test_read_only_sends_nothing(grafana, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state, url = grafana
    context = context_for(url, read_only=True)
    client = client_for(context)
    runner = runner_for(tmp_path, context)
    with pytest.raises(ReadOnlyRefused):
        await post_note(runner, client, context, "x", at=T_NOTE)
    outcome = await annotate_action(runner, client, context, action_kind="silence.create", target="a=b", at=T_NOTE)
    assert outcome.skipped and not outcome.ok
    with pytest.raises(ReadOnlyRefused):
        await retry_failed_annotations(runner, client)
    cli_ro = runner_for(tmp_path, context_for(url), read_only=True)  # --readonly on a writable context
    with pytest.raises(ReadOnlyRefused):
        await post_note(cli_ro, client, context, "x", at=T_NOTE)
    assert state.requests == [] and runner.audit.records() == []
    await client.aclose()


async def test_hostile_texts_are_sent_literally_and_shown_inert(grafana, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state, url = grafana
    context = context_for(url)
    client = client_for(context)
    runner = runner_for(tmp_path, context)
    for text in HOSTILE:
        await post_note(runner, client, context, text, at=T_NOTE)
    assert [json.loads(p["body"])["text"] for p in state.posts()] == HOSTILE
    assert state.problems == []
    found = await client.annotations(from_ms=1795325691000, to_ms=1795325692000)
    markers = chart_markers(found, [], start=T_NOTE.timestamp() - 60, end=T_NOTE.timestamp() + 60)
    assert len(markers) == len(HOSTILE)
    rendered = "\n".join(Text(marker_legend([m], now=T_NOTE.timestamp())).plain for m in markers)
    assert "\x1b" not in rendered and "\x07" not in rendered and "\r" not in rendered and "\x00" not in rendered
    assert "\u202e" not in rendered
    assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in rendered
    assert "[@click=app.quit]Acknowledge[/]" in rendered  # shown literally, never parsed
    await client.aclose()


async def test_token_never_in_audit_or_timeline(grafana, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state, url = grafana
    context = context_for(url)
    client = client_for(context)
    runner = runner_for(tmp_path, context)
    runner.timeline.add(TimelineEvent(at=T_NOTE, kind="note", text="ok note"))  # type: ignore[union-attr]
    await post_note(runner, client, context, "ok note", at=T_NOTE)
    state.fail = (401, {"message": f"invalid API key {TOKEN}"})  # a server echoing the token
    with pytest.raises(ActionFailed) as info:
        await post_note(runner, client, context, "second", at=T_NOTE)
    assert TOKEN not in str(info.value)
    assert state.posts()[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"  # it was sent
    raw = runner.audit.path.read_bytes() + runner.timeline.path.read_bytes()  # type: ignore[union-attr]
    assert TOKEN.encode() not in raw and b"CANARY-7f3a9" not in raw
    await client.aclose()


async def test_annotate_action_sink_posts_and_records_failures(grafana, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state, url = grafana
    context = context_for(url)
    client = client_for(context)
    runner = runner_for(tmp_path, context)
    ok = await annotate_action(
        runner, client, context, action_kind="silence.create", target="alertname=X", detail="silence 1 created", at=T_NOTE
    )
    assert ok.ok and state.problems == []
    body = json.loads(state.posts()[0]["body"])
    assert body["tags"] == [TAG, "prod-eu", "team-ml", "silence.create"]
    assert body["text"] == "silence.create alertname=X: silence 1 created"
    state.fail = (500, {"message": "Failed to save annotation"})
    bad = await annotate_action(runner, client, context, action_kind="rollback", target="llm-server", at=T_NOTE)
    assert not bad.ok and bad.error and "HTTP 500" in bad.error and bad.action_id
    [kept] = failed_annotations(runner)
    assert kept["kind"] == KIND_ACTION_ANNOTATION and kept["payload"]["spec"]["tags"][-1] == "rollback"
    # not configured: nothing happens at all
    off = context_for(url, annotations={"enabled": False})
    skipped = await annotate_action(runner, client, off, action_kind="rollback", target="x", at=T_NOTE)
    assert skipped.skipped and len(state.posts()) == 2
    await client.aclose()


async def test_setup_failure_is_recorded_for_retry(tmp_path: Path) -> None:
    context = context_for("http://grafana.invalid")
    runner = runner_for(tmp_path, context)
    err = AuthFailed("credential unavailable: GRAFANA_TOKEN is not set", source="grafana")
    with pytest.raises(ActionFailed):
        await post_note(runner, None, context, "note", at=T_NOTE, client_error=err)
    [kept] = failed_annotations(runner)
    assert "credential unavailable" in kept["detail"] and kept["payload"]["spec"]["text"] == "note"


# ------------------------------------------------------------------------ markers --
def test_chart_markers_merge_timeline_and_grafana_without_duplicates() -> None:
    t = T_NOTE.timestamp()
    events = [
        TimelineEvent(at=T_NOTE, kind="note", text="rolled back"),
        TimelineEvent(at=T_NOTE, kind="action", text="annotate grafana", detail={"kind": "annotate"}),
        TimelineEvent(at=T_NOTE, kind="action", text="silence.create a=b", detail={"kind": "silence.create"}),
        TimelineEvent(at=T_NOTE, kind="alert", text="X started firing"),
        TimelineEvent(at=datetime(2020, 1, 1, tzinfo=UTC), kind="note", text="old"),
    ]
    annotations = [
        Annotation(id=1, time=int(t * 1000), text="rolled back", tags=[TAG]),  # the same note, posted
        Annotation(id=2, time=int((t - 300) * 1000), text="Deploy v2.4", tags=["deploy"]),
        Annotation(id=3, time=int((t - 4000) * 1000), time_end=int((t - 100) * 1000), text="region"),
    ]
    markers = chart_markers(annotations, events, start=t - 1800, end=t + 10)
    assert [(m.source, m.text) for m in markers] == [
        ("grafana", "Deploy v2.4"),
        ("grafana", "region"),
        ("note", "rolled back"),
        ("action", "silence.create a=b"),
    ]


def test_chart_draws_numbered_vertical_markers() -> None:
    times = [1000.0 + 15 * i for i in range(40)]
    values = [float(i % 7) for i in range(40)]
    plain = render_chart({"traffic": values}, width=60, height=9, title="Traffic")
    marked = render_chart({"traffic": values}, width=60, height=9, title="Traffic", times=times, markers=[1300.0, 1590.0])
    assert "1" in marked and "│" in marked and marked != plain
    assert marker_x(times, 1000.0) == 0.0 and marker_x(times, 1007.5) == pytest.approx(0.5)
    assert marker_x(times, times[-1] + 10) == 39.0  # taken since the last point: on the edge
    assert marker_x(times, 5000.0) is None and marker_x(times, 500.0) is None


# --------------------------------------------------------------------------- demo --
async def test_demo_grafana_answers_like_grafana() -> None:
    clock = lambda: 1_795_300_000.0
    incident = DemoIncident(start=1_795_300_000.0, offset=900.0, clock=clock)
    transport = DemoTransport(incident)
    client = GrafanaClient(httpx.AsyncClient(base_url=GRAFANA_URL, transport=transport))
    now_ms = 1_795_300_000_000
    deploy = await client.annotations(from_ms=now_ms - 1_800_000, to_ms=now_ms)
    assert [(a.id, a.tags) for a in deploy] == [(1, ["deploy", "llm-server"])]
    assert deploy[0].at == pytest.approx(incident.wall_time(DEPLOY_AT), abs=0.001)
    spec = AnnotationSpec(text="note", time=now_ms, tags=[TAG, "demo"])
    aid = await client.create_annotation(spec)
    assert aid == 3
    tagged = await client.annotations(from_ms=now_ms - 1000, to_ms=now_ms + 1000, tags=[TAG])
    assert [(a.id, a.text, a.tags) for a in tagged] == [(3, "note", [TAG, "demo"])]
    # Grafana's own answers to bad requests
    async with httpx.AsyncClient(base_url=GRAFANA_URL, transport=transport) as raw:
        r = await raw.post("/api/annotations", json={"text": ""})
        assert r.status_code == 400 and r.json() == {"message": "Failed to save annotation"}
        r = await raw.post("/api/annotations", json={"text": "x", "time": 1.5})
        assert r.status_code == 400 and r.json() == {"message": "bad request data"}
        r = await raw.post("/api/annotations", content=b"text=x", headers={"content-type": "text/plain"})
        assert r.status_code == 400
        r = await raw.get("/api/health")
        assert r.json()["database"] == "ok"
    # rollback: the CD pipeline's annotation appears
    incident.rollback("llm-server")
    texts = [a.text for a in await client.annotations(from_ms=now_ms - 1_800_000, to_ms=now_ms + 1000, tags=["deploy"])]
    assert texts == ["Rollback llm-server to v2.3", "Deploy llm-server v2.4 (was v2.3)"]
    await client.aclose()


async def test_session_builds_a_grafana_client_for_the_demo() -> None:
    clock = lambda: 1_795_300_000.0
    transport = DemoTransport(DemoIncident(start=1_795_300_000.0, offset=900.0, clock=clock))
    session = BackendSession(demo_settings().context(), transport=transport, clock=clock)
    assert session.grafana is not None
    found = await session.fetch_annotations(1_795_300_000.0 - 1800, 1_795_300_000.0)
    assert [a.id for a in found] == [1]
    await session.aclose()
