"""The trace list and the trace waterfall, driven with Textual's Pilot on the embedded demo.

The demo serves Tempo through the real client: a slow feature-store cache miss under
llm-server, CUDA OOM prefills whose trace ids also appear in the logs. The recorded
2000-span Tempo trace (``shared/fixtures/tempo``) checks that only the rows on screen are
painted; a trace full of hostile names and attributes checks that nothing but colours and
cursor moves reaches the terminal (SECURITY.md R1).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
import pyte
import pytest
from textual.app import App, ComposeResult
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import OptionList

from oncall_tui.app import OncallApp
from oncall_tui.clients.drill import ExemplarRef
from oncall_tui.core.target import DrillTarget
from oncall_tui.core.waterfall.view import Waterfall
from oncall_tui.demo import TEMPO_URL, DemoIncident, DemoTransport, demo_settings
from oncall_tui.models.tempo.decode import parse_trace
from oncall_tui.models.tempo.search import TraceSummary
from oncall_tui.screens.traces import TraceListScreen, bucket_selector, merge_rows
from oncall_tui.screens.waterfall import LOG_PAD_SECONDS, WaterfallScreen
from oncall_tui.settings import Service
from oncall_tui.themes import default_theme_variables
from oncall_tui.widgets.tables import DiffTable, SignalsTable
from oncall_tui.widgets.trace_panes import SpanDetail
from oncall_tui.widgets.waterfall import WaterfallView

from .conftest import FIXTURES
from .test_hostile_ui import CURSOR_MOVE, SGR, assert_inert, terminal_bytes
from .test_sanitize_redact import HOSTILE

T0 = 1_795_300_000.0
BIG_ID = "1725f3a1e7d5d2559253987c1463dfc5"
BIG_FIXTURE = FIXTURES / "tempo" / f"trace_v2_{BIG_ID}_huge_generation_2000_spans.json"
HOSTILE_ID = "0badc0de0badc0de0badc0de0badc0de"
TEMPO_HOST = httpx.URL(TEMPO_URL).host


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class TempoOverride(httpx.AsyncBaseTransport):
    """The demo, except for some Tempo answers: given traces by id, a given search body."""

    def __init__(self, inner: DemoTransport, traces: dict[str, bytes] | None = None, search: bytes | None = None) -> None:
        self.inner = inner
        self.traces = traces or {}
        self.search = search

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == TEMPO_HOST and not self.inner.is_down(TEMPO_URL):
            path = request.url.path
            for trace_id, body in self.traces.items():
                if path.endswith("/" + trace_id):
                    return httpx.Response(200, content=body, headers={"content-type": "application/json"}, request=request)
            if path == "/api/search" and self.search is not None:
                return httpx.Response(200, content=self.search, headers={"content-type": "application/json"}, request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def make_app(clock: Clock | None = None, *, traces: dict[str, bytes] | None = None, search: bytes | None = None, **kw: Any) -> tuple[OncallApp, DemoTransport]:
    clock = clock or Clock()
    demo = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    transport: httpx.AsyncBaseTransport = TempoOverride(demo, traces, search) if traces or search else demo
    app = OncallApp(demo_settings(), transport=transport, clock=clock, periodic_refresh=False, **kw)
    return app, demo


async def settle(app: OncallApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def loaded(app: OncallApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await app.first_load.wait()
    await settle(app, pilot)


async def open_trace_list(app: OncallApp, pilot, service: str = "llm-server") -> TraceListScreen:  # type: ignore[no-untyped-def]
    await loaded(app, pilot)
    signals = app.screen.query_one(SignalsTable)
    keys = [str(r.key.value) for r in signals.ordered_rows]
    await pilot.press("g", *["j"] * keys.index(service), "x")  # the signals table has focus
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, TraceListScreen)
    return screen


async def open_waterfall(app: OncallApp, pilot, trace_id: str) -> WaterfallScreen:  # type: ignore[no-untyped-def]
    app.open_trace(trace_id)
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, WaterfallScreen)
    return screen


def screen_text(app: App) -> str:  # type: ignore[type-arg]
    out = terminal_bytes(app)  # type: ignore[arg-type]
    return CURSOR_MOVE.sub("\n", SGR.sub("", out))


def record_logs(app: OncallApp, monkeypatch: pytest.MonkeyPatch) -> list[tuple[DrillTarget | None, str | None]]:
    calls: list[tuple[DrillTarget | None, str | None]] = []
    monkeypatch.setattr(app, "open_logs", lambda target=None, *, logql=None: calls.append((target, logql)))
    return calls


# ------------------------------------------------------------------------ trace list --
async def test_x_on_llm_server_lists_slow_and_failing_traces_then_enter_opens_the_waterfall() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_trace_list(app, pilot)
        assert screen.drill_target.service == "llm-server"
        kinds = {k for r in screen.rows for k in r.kinds}
        assert {"slow", "error"} <= kinds
        slow = [r for r in screen.rows if "slow" in r.kinds]
        assert [r.duration_ns for r in slow] == sorted((r.duration_ns for r in slow), reverse=True)
        assert any(r.errors for r in screen.rows if "error" in r.kinds)
        text = screen_text(app)
        assert "tempo ok" in text
        assert 'resource.service.name = "llm-server"' in text and "status = error" in text  # the TraceQL used
        assert "vllm[:_]e2e_request_latency_seconds_bucket" in screen.queries["exemplar"]
        table = screen.query_one(DiffTable)
        assert table.selected_key == screen.rows[0].trace_id
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, WaterfallScreen)
        assert app.screen.trace_id == screen.rows[0].trace_id
        await pilot.press("escape")
        assert app.screen is screen


async def test_trace_list_l_opens_the_logs_of_the_selected_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_trace_list(app, pilot)
        calls = record_logs(app, monkeypatch)
        await pilot.press("l")
        row = screen.rows[0]
        [(target, logql)] = calls
        assert logql == f'{{service="llm-server"}} |= "{row.trace_id}"'
        assert target is not None and target.service == "llm-server" and target.labels == {"service": "llm-server"}
        assert target.start == pytest.approx(row.start_ns / 1e9 - LOG_PAD_SECONDS)
        assert target.end == pytest.approx((row.start_ns + row.duration_ns) / 1e9 + LOG_PAD_SECONDS)


async def test_tempo_down_shows_the_badge_and_keeps_the_last_list() -> None:
    app, demo = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_trace_list(app, pilot)
        before = [r.trace_id for r in screen.rows]
        assert before
        demo.set_down(TEMPO_URL)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert [r.trace_id for r in screen.rows] == before  # the last list stays...
        assert screen.query_one(DiffTable).has_class("stale")  # ...dimmed
        text = screen_text(app)
        assert "tempo DOWN since" in text and "data " in text and "Connection refused" in text  # last list kept
        await pilot.press("escape")
    app, demo = make_app()
    demo.set_down(TEMPO_URL)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_trace_list(app, pilot)
        assert screen.rows == [] or all(r.kinds == ["exemplar"] for r in screen.rows)
        assert "tempo DOWN" in screen_text(app)
        assert app.is_running


def test_exemplar_selector_comes_from_the_preset_histogram() -> None:
    assert bucket_selector(Service(name="llm-server", preset="vllm")) == (
        '{__name__=~"vllm[:_]e2e_request_latency_seconds_bucket",service="llm-server"}'
    )
    assert bucket_selector(Service(name="api", preset="generic-http")) == 'http_request_duration_seconds_bucket{service="api"}'
    assert bucket_selector(Service(name="t", preset="triton")) is None  # a summary, no buckets


def test_merge_rows_one_row_per_trace_with_every_kind() -> None:
    a = TraceSummary("a" * 32, "svc", "GET /", 1_000_000_000, 900.0)
    b = TraceSummary("b" * 32, "svc", "GET /", 2_000_000_000, 100.0)
    rows = merge_rows([a], [a, b], [ExemplarRef("c" * 32, 0.5, 5.0, {}), ExemplarRef("b" * 32, 0.1, 2.1, {})], service="svc")
    assert [(r.trace_id[0], r.kinds) for r in rows] == [("a", ["slow", "error"]), ("b", ["error", "exemplar"]), ("c", ["exemplar"])]
    assert rows[0].kind_label == "slow+err" and rows[2].root_service == "svc"
    assert rows[2].duration_ns == 500_000_000 and rows[2].start_ns == 4_500_000_000


# ------------------------------------------------------------------------- waterfall --
def slow_cache_miss(screen: WaterfallScreen) -> int:
    wf = screen.waterfall
    assert wf is not None
    return next(k for k, s in enumerate(wf.spans) if s.service == "feature-store" and s.name == "GET /features")


async def test_waterfall_of_the_slowest_trace_shows_the_feature_store_cache_miss_on_the_critical_path(monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_trace_list(app, pilot)
        slowest = next(r for r in listing.rows if "slow" in r.kinds)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, WaterfallScreen) and screen.trace_id == slowest.trace_id
        wf = screen.waterfall
        assert wf is not None
        fs = slow_cache_miss(screen)
        span = wf.spans[fs]
        assert span.attr("cache.hit") == "false" and span.duration_ns > 500_000_000
        assert fs in wf.critical  # the bottleneck of the request
        assert any(s.name == "postgres SELECT" for s in wf.spans[fs : wf.end[fs]])
        text = screen_text(app)
        assert "feature-store GET /features" in text and "postgres SELECT" in text
        assert f"trace {slowest.trace_id}" in text and f"{len(wf)} spans" in text

        view = screen.query_one(WaterfallView)
        assert app.focused is view and view.selected_node == 0
        # ← collapses the root: one row left; * expands all again.
        await pilot.press("left")
        assert wf.row_count == 1 and 0 in wf.collapsed
        await pilot.press("asterisk")
        assert wf.row_count == len(wf)
        # p / o: one level less / more.
        await pilot.press("p")
        assert wf.row_count < len(wf)
        await pilot.press("o", "o", "o")
        assert wf.row_count == len(wf)
        # - collapses everything to the root, * brings it back.
        await pilot.press("minus")
        assert wf.row_count == 1
        await pilot.press("asterisk")

        # / search finds the feature-store span; the match is selected and highlighted.
        await pilot.press("slash", *"feature.set", "enter")
        await pilot.pause()
        assert view.selected_node == fs and fs in view.matches
        await pilot.press("slash", *"postgres", "enter")
        await pilot.pause()
        assert view.selected_span is not None and view.selected_span.name == "postgres SELECT"
        # `l` (the app's key) opens the logs of the selected span's service around the span.
        calls = record_logs(app, monkeypatch)
        await pilot.press("l")
        [(target, logql)] = calls
        pg = view.selected_span
        assert logql is None and target is not None and target.service == "feature-store"
        assert target.start == pytest.approx(pg.start_ns / 1e9 - 300) and target.end == pytest.approx(pg.end_ns / 1e9 + 300)
        # `L`: the logs of this trace id.
        await pilot.press("L")
        for _ in range(50):  # the query is asked of Loki first (which labels, trace_id metadata?)
            if len(calls) > 1:
                break
            await pilot.pause(0.05)
        target, logql = calls[1]
        # The demo Loki's streams have service_name; feature-store lines carry no trace_id metadata.
        assert logql == f'{{service_name="feature-store"}} |= "{slowest.trace_id}"'
        assert target is not None and target.start == pytest.approx(wf.start_ns / 1e9 - 300)
        assert target.end == pytest.approx(wf.end_ns / 1e9 + 300)
        # z zooms into the span, 0 resets.
        await pilot.press("z")
        assert wf.view == (pg.start_ns, pg.end_ns)
        assert "zoom +" in screen_text(app)
        await pilot.press("0")
        assert not wf.zoomed


async def test_enter_opens_the_detail_with_attributes_and_the_exception_stack_trace() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 60)) as pilot:
        listing = await open_trace_list(app, pilot)
        failing = next(r for r in listing.rows if "error" in r.kinds)
        screen = await open_waterfall(app, pilot, failing.trace_id)
        view = screen.query_one(WaterfallView)
        await pilot.press("e")  # the next error span after the (failed) root: the OOM prefill
        span = view.selected_span
        assert span is not None and span.name == "prefill" and span.is_error
        await pilot.press("enter")
        await pilot.pause()
        detail = screen.query_one(SpanDetail)
        assert not detail.has_class("hidden") and detail.span is span
        rows = {k.strip(): v for k, v, _ in detail.detail_rows(span)}
        assert rows["exception.type"] == "torch.OutOfMemoryError"
        assert rows["exception.stacktrace"].startswith("Traceback (most recent call last):\n  File ")
        assert rows["k8s.pod.name"].startswith("llm-server-")  # resource attributes
        text = screen_text(app)
        assert "error: CUDA out of memory. Tried to allocate 2.00 GiB" in text  # status message
        assert "events" in text and "torch.OutOfMemoryError" in text  # the exception comes first
        assert "Traceback (most recent call last):" in text
        assert '  File "/app/llm_server/engine.py", line 412, in step' in text  # a line of its own
        detail.scroll_end(animate=False)
        await pilot.pause()
        text = screen_text(app)
        assert "attributes" in text and "resource" in text and "k8s.pod.name" in text
        # Moving the selection updates the open detail; esc closes it, a second esc goes back.
        await pilot.press("up")
        assert detail.span is view.selected_span and detail.span is not span
        await pilot.press("escape")
        assert detail.has_class("hidden") and isinstance(app.screen, WaterfallScreen)
        await pilot.press("escape")
        assert app.screen is listing


async def test_trace_command_opens_the_waterfall() -> None:
    app, demo = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(app, pilot)
        incident_trace = next(demo.incident.traces(T0 - 300, T0))
        app.run_command(f":trace {incident_trace.trace_id.upper()}")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, WaterfallScreen) and screen.trace_id == incident_trace.trace_id
        assert screen.waterfall is not None and len(screen.waterfall) == len(incident_trace.spans)


async def test_unknown_or_invalid_ids_say_so_and_tempo_down_shows_the_badge() -> None:
    app, demo = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(app, pilot)
        incident_trace = next(demo.incident.traces(T0 - 300, T0))
        screen = await open_waterfall(app, pilot, incident_trace.trace_id.upper())
        assert screen.trace_id == incident_trace.trace_id
        assert screen.waterfall is not None and len(screen.waterfall) == len(incident_trace.spans)
        await pilot.press("escape")
        screen = await open_waterfall(app, pilot, "00000000000000000000000000abcdef")
        assert screen.waterfall is None
        assert "trace 00000000000000000000000000abcdef not found in Tempo" in screen_text(app)
        await pilot.press("escape")
        await open_waterfall(app, pilot, "not-a-trace-id")
        assert "not a trace id" in screen_text(app)
        await pilot.press("escape")
        demo.set_down(TEMPO_URL)
        await open_waterfall(app, pilot, incident_trace.trace_id)
        text = screen_text(app)
        assert "tempo DOWN since" in text and ", data " in text and "(DOWN: " in text  # an earlier answer was good: its age shows
        assert "cannot load trace" in text and "Connection refused" in " ".join(text.split())
        assert app.is_running


async def test_span_id_selects_that_span_and_a_link_opens_the_linked_trace() -> None:
    oom = (FIXTURES / "tempo" / "trace_v2_a2316ce28eb6b90c092737eba16c368f_cuda_oom_retry.json").read_bytes()
    trace = parse_trace(json.loads(oom))
    linked = next(s for s in trace.spans if s.links)
    app, _ = make_app(traces={trace.trace_id: oom})
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        app.open_trace(trace.trace_id, span_id=linked.span_id)
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, WaterfallScreen)
        view = screen.query_one(WaterfallView)
        assert view.selected_span is not None and view.selected_span.span_id == linked.span_id
        await pilot.press("enter")
        for _ in range(3):  # tab: the detail pane (scrollable), then its links
            if isinstance(app.focused, OptionList):
                break
            await pilot.press("tab")
        assert isinstance(app.focused, OptionList)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, WaterfallScreen) and app.screen is not screen
        assert app.screen.trace_id == linked.links[0].trace_id
        assert app.screen.span_id == linked.links[0].span_id


# --------------------------------------------------------------- 2000 spans, line API --
class RowCounter:
    """Counts the lines WaterfallView is asked for (``render_line``) and the rows it lays out
    (``_row_strip``, behind its strip cache)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.positions: list[int] = []
        self.lines = 0
        original = WaterfallView._row_strip
        original_line = WaterfallView.render_line

        def counting(view: WaterfallView, wf: Waterfall, pos: int, node: int, width: int):  # type: ignore[no-untyped-def]
            self.positions.append(pos)
            return original(view, wf, pos, node, width)

        def counting_line(view: WaterfallView, y: int):  # type: ignore[no-untyped-def]
            self.lines += 1
            return original_line(view, y)

        monkeypatch.setattr(WaterfallView, "_row_strip", counting)
        monkeypatch.setattr(WaterfallView, "render_line", counting_line)


class ViewApp(App[None]):
    def __init__(self, waterfall: Waterfall) -> None:
        super().__init__()
        self.waterfall = waterfall

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return default_theme_variables()  # the app's own variables (per-service colours)

    def compose(self) -> ComposeResult:
        yield WaterfallView()

    def on_mount(self) -> None:
        self.query_one(WaterfallView).set_waterfall(self.waterfall)
        self.query_one(WaterfallView).focus()


async def test_2000_span_trace_paints_only_the_rows_on_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    wf = Waterfall(parse_trace(json.loads(BIG_FIXTURE.read_text())))
    assert len(wf) == 2000
    counter = RowCounter(monkeypatch)
    app = ViewApp(wf)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        rows_on_screen = 40 - 1  # the ruler takes the first line
        assert counter.positions and set(counter.positions) <= set(range(rows_on_screen))
        assert len(counter.positions) <= 3 * rows_on_screen  # a frame or three, not 2000 rows
        assert counter.lines <= 3 * 40
        counter.positions.clear()
        await pilot.press("pagedown")
        await pilot.pause()
        view = app.query_one(WaterfallView)
        top = round(view.scroll_y)
        assert top > 0 and set(counter.positions) <= set(range(top - 1, top + rows_on_screen))
        assert len(counter.positions) <= 2 * rows_on_screen
        await pilot.press("end")
        await pilot.pause()
        assert view.selected_node == len(wf) - 1 and view.cursor_position == wf.row_count - 1


async def test_2000_span_trace_through_the_client_and_the_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = RowCounter(monkeypatch)
    app, _ = make_app(traces={BIG_ID: BIG_FIXTURE.read_bytes()})
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, pilot)
        counter.positions.clear()
        screen = await open_waterfall(app, pilot, BIG_ID)
        assert screen.waterfall is not None and len(screen.waterfall) == 2000
        view = screen.query_one(WaterfallView)
        assert max(counter.positions) < view.size.height
        text = screen_text(app)
        assert "2000 spans" in text and "decode_step" in text
        assert "12.1s" in text  # the trace duration, in the header
        assert "duration" not in text and "80ms" in text  # narrow: no column, the duration sits by the bar


# ------------------------------------------------------------------------- hostile --
HOSTILE_TEXT = [*HOSTILE, "[bold red]x[/]", "[link=https://evil.example]https://runbooks.corp[/link]", "[@click=app.quit]ack[/]", "bidi \u202egnp.exe", "x [/] y", "tab\there"]
BIG_VALUE = "V" * 100_000


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def hostile_trace_body() -> bytes:
    start = int(T0 * 1e9) + 750 * 1_000_000_000
    spans = []
    root = "1" * 16
    for i, text in enumerate(HOSTILE_TEXT):
        spans.append(
            {
                "traceId": _b64(HOSTILE_ID),
                "spanId": _b64(f"{i + 2:016x}"),
                "parentSpanId": _b64(root),
                "name": text,
                "kind": "SPAN_KIND_INTERNAL",
                "startTimeUnixNano": str(start + i * 1_000_000),
                "endTimeUnixNano": str(start + (i + 5) * 1_000_000),
                "attributes": [{"key": text, "value": {"stringValue": text}}, {"key": "big", "value": {"stringValue": BIG_VALUE}}],
                "events": [
                    {
                        "timeUnixNano": str(start + i * 1_000_000 + 1),
                        "name": "exception",
                        "attributes": [
                            {"key": "exception.type", "value": {"stringValue": text}},
                            {"key": "exception.message", "value": {"stringValue": text}},
                            {"key": "exception.stacktrace", "value": {"stringValue": f"Traceback\n  {text}\n\x1b[2Jend"}},
                        ],
                    }
                ],
                "links": [{"traceId": _b64("ab" * 16), "spanId": _b64("cd" * 8), "attributes": [{"key": "link.reason", "value": {"stringValue": text}}]}],
                "status": {"code": "STATUS_CODE_ERROR", "message": text},
            }
        )
    spans.insert(
        0,
        {
            "traceId": _b64(HOSTILE_ID),
            "spanId": _b64(root),
            "name": "[bold red]x[/] root " + BIG_VALUE,
            "kind": "SPAN_KIND_SERVER",
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + 60 * 1_000_000),
            "status": {},
        },
    )
    service = "\x1b]52;c;ZWNobyBwd25lZA==\x07svc[bold]\u202e"
    body = {"trace": {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}, {"key": "\x1b[2J", "value": {"stringValue": BIG_VALUE}}]}, "scopeSpans": [{"scope": {"name": "x"}, "spans": spans}]}]}}
    return json.dumps(body).encode()


def hostile_search_body() -> bytes:
    traces = [
        {
            "traceID": f"{i + 1:x}",
            "rootServiceName": text,
            "rootTraceName": text,
            "startTimeUnixNano": str(int(T0 * 1e9) + i),
            "durationMs": 900 + i,
            "serviceStats": {text: {"spanCount": 3, "errorCount": 1}},
        }
        for i, text in enumerate(HOSTILE_TEXT)
    ]
    return json.dumps({"traces": traces, "metrics": {"completedJobs": 1, "totalJobs": 1}}).encode()


class RecordingDriver(HeadlessDriver):
    """Headless, but every frame is rendered to ANSI: we keep the bytes and feed a terminal."""

    written: list[str] = []
    screen: pyte.Screen
    stream: pyte.ByteStream

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        type(self).written.append(data)
        type(self).stream.feed(data.encode("utf-8", "surrogateescape"))

    def flush(self) -> None:
        pass


PRIVATE_MODES = re.compile(r"\x1b\[\?\d+[hl]")  # the compositor's own (sync output, cursor)
POINTER_SHAPE = re.compile(r"\x1b\]22;[a-z-]+\x07")  # Textual's own OSC 22 mouse-pointer shape


def assert_stream_inert(data: str) -> None:
    data = POINTER_SHAPE.sub("", data)
    for raw in ("\x1b]52", "\x1b]8;", "\x1b]2;", "\x1b]0;", "\x1b]50", "\x1b[2J", "\x1b[6n", "\x1bP", "\x1bc", "\x1b[21t", "\x1b(0", "\x07", "\x08", "\r", "\x9b", "\u202e"):
        assert raw not in data, f"{raw!r} reached the terminal"
    rest = PRIVATE_MODES.sub("", CURSOR_MOVE.sub("", SGR.sub("", data)))
    bad = sorted({repr(c) for c in rest if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F})
    assert bad == [], bad


async def test_hostile_span_names_and_attributes_reach_the_terminal_inert() -> None:
    RecordingDriver.written = []
    RecordingDriver.screen = pyte.Screen(160, 45)
    RecordingDriver.stream = pyte.ByteStream(RecordingDriver.screen)
    app, _ = make_app(traces={HOSTILE_ID: hostile_trace_body()}, search=hostile_search_body())
    app.driver_class = RecordingDriver
    async with app.run_test(size=(160, 45), headless=False) as pilot:
        await loaded(app, pilot)
        screen = await open_waterfall(app, pilot, HOSTILE_ID)
        wf = screen.waterfall
        assert wf is not None and len(wf) == len(HOSTILE_TEXT) + 1
        assert_inert(terminal_bytes(app))
        shown = "\n".join(RecordingDriver.screen.display)
        assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07svc[bold]<U+202E>" in shown  # visible, literal
        assert "[bold red]x[/] root" in shown
        for _ in range(len(HOSTILE_TEXT)):  # every row selected (the cursor style repaints it)
            await pilot.press("down")
        await pilot.press("enter")  # the detail of the last hostile span
        await pilot.pause()
        detail = screen.query_one(SpanDetail)
        assert detail.span is wf.spans[-1]
        for _ in range(len(HOSTILE_TEXT)):
            await pilot.press("up")  # the open detail follows the selection
            await pilot.pause()
            assert_inert(terminal_bytes(app))
        rows = detail.detail_rows(wf.spans[1])
        assert any("…[+" in v for _, v, _ in rows)  # the 100 KB value is cut, visibly
        assert all(len(v) < 20_000 for _, v, _ in rows)
        detail.scroll_end(animate=False)
        await pilot.press("slash", *"[bold", "enter")
        await pilot.pause()
        assert_inert(terminal_bytes(app))
        await pilot.press("escape")
        app.push_screen(TraceListScreen(DrillTarget(T0, T0 + 900, "llm-server", {"service": "llm-server"})))
        await settle(app, pilot)
        assert len(app.screen.rows) >= len(HOSTILE_TEXT)  # type: ignore[attr-defined]
        assert_inert(terminal_bytes(app))
        shown = "\n".join(RecordingDriver.screen.display)
        assert "[@click=app.quit]ack[/]" in shown
        assert app.is_running
    assert_stream_inert("".join(RecordingDriver.written))


# ------------------------------------------------------------------------ snapshots --
def _snapshot_app(**kw: Any) -> OncallApp:
    clock = lambda: T0
    demo = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    transport = TempoOverride(demo, {BIG_ID: BIG_FIXTURE.read_bytes()})
    return OncallApp(demo_settings(), transport=transport, clock=clock, periodic_refresh=False, **kw)


async def _snapshot_loaded(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.app.first_load.wait()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


async def _slowest_failing_trace(pilot) -> None:  # type: ignore[no-untyped-def]
    await _snapshot_loaded(pilot)
    await pilot.press("x")
    await _snapshot_loaded(pilot)
    screen = pilot.app.screen
    row = next(r for r in screen.rows if "error" in r.kinds and "slow" in r.kinds)
    pilot.app.open_trace(row.trace_id)
    await _snapshot_loaded(pilot)
    await pilot.press("e", "enter")  # the OOM prefill, its detail open
    await _snapshot_loaded(pilot)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_snapshot_demo_waterfall(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(_snapshot_app(), terminal_size=size, run_before=_slowest_failing_trace)


def test_snapshot_trace_list(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _snapshot_loaded(pilot)
        await pilot.press("x")
        await _snapshot_loaded(pilot)

    assert snap_compare(_snapshot_app(), terminal_size=(120, 40), run_before=run_before)


def test_snapshot_2000_span_trace(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _snapshot_loaded(pilot)
        pilot.app.open_trace(BIG_ID)
        await _snapshot_loaded(pilot)
        await pilot.press(*["down"] * 9, "pagedown")  # into the decode steps
        await _snapshot_loaded(pilot)

    assert snap_compare(_snapshot_app(), terminal_size=(120, 40), run_before=run_before)





async def test_a_bug_while_building_the_tree_is_shown_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    import oncall_tui.screens.waterfall as waterfall_screen

    def broken(*_: Any, **__: Any) -> Waterfall:
        raise RuntimeError("boom \x1b[2J")

    monkeypatch.setattr(waterfall_screen, "Waterfall", broken)
    app, demo = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(app, pilot)
        trace = next(demo.incident.traces(T0 - 300, T0))
        await open_waterfall(app, pilot, trace.trace_id)
        text = screen_text(app)
        assert f"cannot show trace {trace.trace_id}: RuntimeError: boom \\x1b[2J" in text
        assert app.is_running
