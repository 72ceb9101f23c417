"""Issue 18: hostile inputs that used to get through (a quadratic regex, -Inf, invalid UTF-8,
uncapped values, Retry-After: 86400, the SEV column), each checked where it now stops."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from rich.text import Text

from oncall_tui.actions.timeline import alert_changes
from oncall_tui.clients.loki import LokiClient
from oncall_tui.clients.prometheus import PrometheusClient
from oncall_tui.core import format as fmt
from oncall_tui.text.redact import redact, register_secret
from oncall_tui.text.sanitize import MAX_LABEL_VALUE
from oncall_tui.core.signals import discover_services
from oncall_tui.core.triage import SourceState, TriageAlert, format_age
from oncall_tui.widgets.display import DisplayText, SafeTable, TerminalGuard, display
from oncall_tui.widgets.header import SourceBadge
from tests.conftest import FIXTURES


# ---------------------------------------------------------------- redaction (item 2) --
@pytest.mark.parametrize(
    "text",
    [
        "a" * 1_000_000,
        "tokenA" * 170_000,
        "a=" * 500_000,
        "https://" * 125_000,
        "x" * 999_000 + "?token=abc",
        "authorization: " * 70_000,
        "Bearer " * 150_000,
    ],
    ids=["alnum", "token-run", "pairs", "schemes", "tail", "headers", "bearer"],
)
def test_redaction_of_1mb_input_is_linear(text: str) -> None:
    register_secret("CANARY-7f3a9")
    redact(text[:1000])  # compile, warm up
    started = time.perf_counter()
    out = redact(text)
    assert time.perf_counter() - started < 0.05
    assert out.endswith(" bytes]") and len(out) < 70_000  # cut with a visible marker


def test_redaction_still_masks_after_the_rewrite() -> None:
    register_secret("CANARY-7f3a9")
    text = "GET https://bob:pw@h/x?api_key=zzz&q=1 Authorization: Bearer abcdefghijklmnopqrstu CANARY-7f3a9"
    out = redact(text)
    assert "pw@" not in out and "zzz" not in out and "abcdefghijklmnopqrstu" not in out and "CANARY" not in out
    assert "q=1" in out and "normal=1" in redact("normal=1")


def test_a_cut_never_leaves_half_a_secret_visible() -> None:
    register_secret("CANARY-7f3a9")
    for shift in range(1, 12):
        text = "x" * (64 * 1024 - shift) + "CANARY-7f3a9" + "y" * 50
        assert "CANA"[: min(shift, 4)] not in redact(text)[-40:].replace("…[+", "")


# ----------------------------------------------------------------- numbers (item 4) --
@pytest.mark.parametrize("value", [float("-inf"), float("inf"), float("nan"), 1e300, -1e300])
def test_every_formatter_takes_nan_inf_and_huge_values(value: float) -> None:
    cells = [fmt.rate(value), fmt.percent(value), fmt.seconds(value), fmt.burn(value)]
    cells += [fmt.saturation(value, unit) for unit in ("ratio", "kv-cache", "queue", "in-flight")]
    assert all(cell and len(cell) <= 8 for cell in cells), cells
    if value != value:
        assert set(cells) == {"NaN"}
    elif abs(value) == float("inf"):
        assert set(cells) == {"+Inf" if value > 0 else "-Inf"}


# -------------------------------------------------------------------- ages (item 6) --
@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(42, "42s"), (300, "5m"), (4560, "1h16m"), (3600, "1h"), (2 * 86400 + 3 * 3600, "2d03h"),
     (3 * 365 * 86400, "3y"), ((datetime.now(UTC) - datetime(1, 1, 1, tzinfo=UTC)).total_seconds(), ">99y"),
     (-5, "0s"), (None, "-")],
)
def test_ages_fit_five_cells_and_never_lose_their_meaning(seconds: float | None, shown: str) -> None:
    assert format_age(seconds) == shown and len(shown) <= 5


# ------------------------------------------------------------ display text (item 1) --
async def test_safe_tables_refuse_anything_but_display_text() -> None:
    from textual.app import App

    class Host(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield SafeTable()

    async with Host().run_test() as pilot:
        table = pilot.app.query_one(SafeTable)
        with pytest.raises(TypeError):
            table.add_column("plain str")
        table.add_column(display("SEV"), key="sev")
        with pytest.raises(TypeError):
            table.add_row(Text("\x1b[2J"))
        table.add_row(display("\x1b[2J"))
        assert str(table.get_row_at(0)[0]) == "\\x1b[2J"


def test_display_makes_controls_visible_and_caps_with_a_marker() -> None:
    shown = display("\x1b]52;c;ZWNobyBwd25lZA==\x07" + "A" * 3000)
    assert isinstance(shown, DisplayText)
    assert shown.plain.startswith("\\x1b]52;c;ZWNobyBwd25lZA==\\x07")
    assert shown.plain.endswith("…[+2000 bytes]") or "…[+" in shown.plain
    assert "\x1b" not in shown.plain


def test_terminal_guard_drops_control_characters_a_widget_let_through() -> None:
    from rich.segment import Segment
    from textual.color import Color

    segments = [Segment("ok "), Segment("\x1b[2J\x9b31m\u202ewiped\x07"), Segment("\x1b[0m", None, [(1,)])]
    out = TerminalGuard().apply(segments, Color(0, 0, 0))
    assert [s.text for s in out[:2]] == ["ok ", "[2J31mwiped"]
    assert out[2] is segments[2]  # control segments (Textual's own) are untouched


# -------------------------------------------------------------- service label (item 3) --
def test_a_100kb_service_label_is_not_queried() -> None:
    found = discover_services(
        [{"service": "s" * 100_000, "__name__": "http_requests_total"}, {"service": "web", "__name__": "http_requests_total"}]
    )
    assert [s.name for s in found] == ["web"]


async def test_queries_go_as_post_form_bodies_of_any_length() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": []}})

    prom = PrometheusClient(httpx.AsyncClient(base_url="http://p", transport=httpx.MockTransport(handler)))
    expr = 'up{service="' + "s" * 100_000 + '"}'
    await prom.query(expr)
    assert sent[0].method == "POST" and len(str(sent[0].url)) < 100
    assert httpx.QueryParams(sent[0].content.decode())["query"] == expr


# --------------------------------------------------------------- Loki UTF-8 (item 5) --
async def test_invalid_utf8_in_one_loki_line_keeps_every_other_line() -> None:
    body = (FIXTURES / "loki" / "query_range_streams_llm_server_limit20.json").read_bytes()
    data = json.loads(body)
    first = data["data"]["result"][0]["values"][0][1]
    raw = json.dumps(first)[1:-1].encode()
    assert raw in body
    broken = body.replace(raw, b"bad \xff\xfe\xc0\xaf " + raw, 1)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=broken, headers={"content-type": "application/json"})

    loki = LokiClient(httpx.AsyncClient(base_url="http://loki", transport=httpx.MockTransport(handler)))
    result = await loki.query_range('{service="llm-server"}', start=0, end=1)
    lines = [e.line for e in result.data.entries]
    total = sum(len(s["values"]) for s in data["data"]["result"])
    assert len(lines) == total
    assert any(line.startswith("bad \ufffd") and line.endswith(first) for line in lines)


# ------------------------------------------------------------- timeline caps (item 6) --
def test_alert_events_keep_1kib_per_value_with_a_marker() -> None:
    now = datetime.now(UTC)
    alert = TriageAlert(
        name="X", severity="critical", service="s", summary="S" * 3000, state="firing", state_detail="firing",
        starts_at=now, labels={"alertname": "X", "big": "B" * 3000}, annotations={}, fingerprint="f",
    )
    [event] = alert_changes([], [alert], now)
    assert event.detail["summary"].endswith("…[+1976 bytes]")
    assert len(event.detail["labels"]["big"]) < MAX_LABEL_VALUE + 20
    assert len(event.text) < 2 * MAX_LABEL_VALUE + 20


async def test_timeline_detail_shows_a_3kb_value_cut_with_its_marker(tmp_path: Path) -> None:
    from textual.app import App

    from oncall_tui.actions.timeline import TimelineEvent
    from oncall_tui.screens.timeline import EventDetailScreen

    event = TimelineEvent(at=datetime.now(UTC), kind="note", text="n", detail={"comment": "C" * 3072, "output": "o" * 3072})

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(EventDetailScreen(event))

    async with Host().run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        shown = str(pilot.app.screen.query_one("#event-detail").render())
        assert "…[+2048 bytes]" in shown  # a label-like value: 1 KiB, then the marker
        assert "o" * 3072 in shown  # a step's output keeps up to 16 KiB


# ------------------------------------------------------------ Retry-After (item 7) --
def test_retry_after_shows_retrying_with_the_wait_and_no_request_until_then() -> None:
    state = SourceState("alertmanager")
    state.ok(0)
    state.failed(10, "UNAVAILABLE", "503 Service Unavailable", retry_after=300)
    assert state.status(11) == "retrying" and state.waiting(11)
    assert state.badge(11) == "RETRYING next in 4m"
    assert SourceBadge("alertmanager", state.status(11), "", label=state.badge(11)).text() == "alertmanager RETRYING next in 4m"
    assert not state.waiting(311) and state.status(311) == "down"


async def test_silence_form_spells_invisible_characters_as_markers() -> None:
    """R1.3: the editable line keeps ``\\u200b`` (it must round-trip), and the form spells the
    value out with ``<U+200B>`` markers beside it."""
    from textual.app import App

    from oncall_tui.screens.actions import SilenceForm

    now = datetime.now(UTC)
    alert = TriageAlert(
        name="X", severity="critical", service="web", summary="", state="firing", state_detail="firing",
        starts_at=now, labels={"alertname": "X", "pod": "web\u200b-1\u202e"}, annotations={}, fingerprint="f",
    )

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(SilenceForm(alert, alerts=[], created_by="me", now_server=lambda: now))

    async with Host().run_test(size=(120, 50)) as pilot:
        await pilot.pause()
        form = pilot.app.screen
        assert "\\u200b" in form.query_one("#silence-matchers").value
        markers = form.query_one("#silence-markers")
        assert not markers.has_class("hidden")
        assert 'pod="web<U+200B>-1<U+202E>"' in str(markers.render())
