"""core/logs: LogQL building, alert windows, levels, fields, trace ids, patterns, LogBuffer.

Real lines come from ``shared/fixtures/loki`` (recorded from Loki) and the trace ids from the
seeder's ``seed_manifest.json``.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from oncall_tui.core.logs.buffer import LogBuffer, display_line
from oncall_tui.core.logs.fields import parse_fields
from oncall_tui.core.logs.guidance import guidance_for
from oncall_tui.core.logs.levels import detect_level, entry_level, normalize_level
from oncall_tui.core.logs.logql import add_line_filter, build_logql
from oncall_tui.core.logs.patterns import group_patterns, line_shape
from oncall_tui.core.logs.traceids import (
    entry_trace_id,
    extract_trace_id,
    normalize_trace_id,
)
from oncall_tui.core.logs.window import alert_window
from oncall_tui.demo.api_loki import parse_logql
from oncall_tui.models.loki import LogEntry, StreamsResult, parse_loki_query_data

from .conftest import FIXTURES

LOKI = FIXTURES / "loki"
MANIFEST = json.loads((LOKI / "seed_manifest.json").read_text())
TRACE_IDS = {t["trace_id"] for t in MANIFEST["traces"]}
HOSTILE = [
    'a"b',
    "back\\slash",
    "new\nline",
    "tab\tand\rcr",
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    '"} |= "x" or {a="',
    "}{`",
    "\\",
    '\\"',
    "\u202eevil\u2028",
    "日本語 🚀",
]


@cache
def fixture_entries(name: str) -> list[LogEntry]:
    data = parse_loki_query_data(json.loads((LOKI / name).read_text())["data"])
    assert isinstance(data, StreamsResult)
    return data.entries


def all_fixture_entries() -> list[LogEntry]:
    out = []
    for path in sorted(LOKI.glob("query_range_streams_*.json")):
        out.extend(fixture_entries(path.name))
    frames = json.loads((LOKI / "tail_websocket_frames.json").read_text())["frames"]
    from oncall_tui.models.loki import parse_tail_frame

    for frame in frames:
        out.extend(parse_tail_frame(frame["frame"]).entries)
    return out


def entry(ts: int, line: str, **labels: str) -> LogEntry:
    return LogEntry(ts, line, labels or {"app": "a"})


# ---------------------------------------------------------------------- LogQL --
_GO_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*")')


def selector_matchers(query: str) -> list[tuple[str, str]]:
    """Decode ``{name="value", …}`` the way Loki (Go strconv.Unquote) reads it."""
    assert query.startswith("{") and query.endswith("}")
    body = query[1:-1]
    pairs = [(m.group(1), json.loads(m.group(2))) for m in _MATCHER.finditer(body)]
    # Nothing but the matchers and their separators: no injected stage or extra matcher.
    assert _MATCHER.sub("", body).replace(",", "").strip() == ""
    return pairs


def test_build_logql_from_alert_labels() -> None:
    labels = {"alertname": "HighErrorRate", "severity": "page", "namespace": "ml-serving", "service": "llm-server"}
    assert build_logql(labels) == '{service="llm-server", namespace="ml-serving"}'
    # The demo's Loki understands it.
    matchers, stages = parse_logql(build_logql(labels, line_filter="CUDA out of memory"))
    assert [(m.name, m.value) for m in matchers] == [("service", "llm-server"), ("namespace", "ml-serving")]
    assert stages == [("line", ("|=", "CUDA out of memory"))]


def test_build_logql_mapping_is_configurable_and_skips_empty_values() -> None:
    labels = {"app_kubernetes_io_name": "router", "namespace": "", "kubernetes_pod_name": "router-0", "app": "other"}
    mapping = {"app_kubernetes_io_name": "app", "app": "app", "kubernetes_pod_name": "pod", "namespace": "namespace"}
    # First alert label mapped to a stream label wins; empty values are left out.
    assert build_logql(labels, mapping) == '{app="router", pod="router-0"}'
    with pytest.raises(ValueError, match="none of the labels"):
        build_logql({"alertname": "X", "service": ""})
    with pytest.raises(ValueError, match="invalid log stream label name"):
        build_logql({"service": "x"}, {"service": "bad-name"})


@pytest.mark.parametrize("value", HOSTILE)
def test_build_logql_escapes_hostile_values(value: str) -> None:
    query = build_logql({"service": value, "namespace": "ml-serving"})
    assert "\n" not in query and "\r" not in query and "\x1b" not in query and "\x07" not in query
    assert selector_matchers(query) == [("service", value), ("namespace", "ml-serving")]


@pytest.mark.parametrize("text", HOSTILE)
def test_add_line_filter_escapes_hostile_text(text: str) -> None:
    query = add_line_filter('{service="x"}', text)
    prefix = '{service="x"} |= '
    assert query.startswith(prefix)
    literal = query[len(prefix) :]
    assert _GO_STRING.fullmatch(literal), "exactly one string literal, nothing after it"
    assert json.loads(literal) == text
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", query)


def test_add_line_filter_goes_right_after_each_selector() -> None:
    assert add_line_filter('{a="b"} | json | level="error"', "oom") == '{a="b"} |= "oom" | json | level="error"'
    # A brace inside a label value or a template is not the end of the selector.
    assert (
        add_line_filter('{a="x}y"} | line_format "{{.message}}"', "t")
        == '{a="x}y"} |= "t" | line_format "{{.message}}"'
    )
    assert add_line_filter("{a=`x}`}", "t") == '{a=`x}`} |= "t"'
    # Metric queries: inside the range selector, in every selector of a binary expression.
    assert (
        add_line_filter('sum(count_over_time({a="b"}[5m])) / sum(count_over_time({a="c"}[5m]))', "x")
        == 'sum(count_over_time({a="b"} |= "x"[5m])) / sum(count_over_time({a="c"} |= "x"[5m]))'
    )
    assert add_line_filter('{a="b"}', "debug", negate=True) == '{a="b"} != "debug"'
    assert add_line_filter('{a="b"}', "") == '{a="b"}'
    with pytest.raises(ValueError):
        add_line_filter("vector(1)", "x")


# ---------------------------------------------------------------- alert window --
NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def test_alert_window_for_firing_and_resolved_alerts() -> None:
    started = NOW - 30 * M
    assert alert_window(started, None, NOW) == (started - 15 * M, NOW)
    # Alertmanager sends a firing alert's endsAt in the future; Go's zero time means unset.
    assert alert_window(started, NOW + 4 * M, NOW) == (started - 15 * M, NOW)
    assert alert_window(started, datetime(1, 1, 1, tzinfo=UTC), NOW) == (started - 15 * M, NOW)
    assert alert_window(started, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), NOW) == (started - 15 * M, NOW)
    resolved = NOW - 20 * M
    assert alert_window(started, resolved, NOW) == (started - 15 * M, resolved + 5 * M)
    assert alert_window(started, NOW - 2 * M, NOW) == (started - 15 * M, NOW)  # never past now
    assert alert_window(started, resolved, NOW, pad_before=timedelta(0), pad_after=M) == (started, resolved + M)


def test_alert_window_with_odd_start_times() -> None:
    # A start in the future (clock skew) or unset still gives the last pad_before of logs.
    assert alert_window(NOW + 10 * M, None, NOW) == (NOW - 15 * M, NOW)
    assert alert_window(datetime(1, 1, 1, tzinfo=UTC), None, NOW) == (NOW - 15 * M, NOW)


# ---------------------------------------------------------------------- levels --
def test_line_level_agrees_with_loki_detected_level_on_real_lines() -> None:
    checked = 0
    for e in all_fixture_entries():
        loki = e.metadata.get("detected_level") or e.labels.get("detected_level")
        if loki is None:
            continue
        line_only = detect_level(e.line)
        if "WARNING" in e.line and "progress" in e.line:
            # Pushed with level="info": Loki (and we) trust the stream label over the text.
            assert (loki, line_only, entry_level(e)) == ("info", "warn", "info")
        else:
            assert line_only == loki, e.line[:80]
        checked += 1
    assert checked > 60


def test_level_sources_in_order() -> None:
    warn_logfmt = 'ts=2026-11-22T05:16:30Z level=warning msg="slow"'
    assert detect_level(warn_logfmt) == "warn"
    assert detect_level(warn_logfmt, {"level": "error"}) == "error"  # stream label first
    assert detect_level("plain text", {"detected_level": "debug"}) == "debug"
    assert detect_level("plain text", {"level": "bogus"}, {"detected_level": "ERROR"}) == "error"
    assert detect_level("plain text", parsed={"level_extracted": "WARNING"}) == "warn"
    assert detect_level('{"lvl": "crit", "msg": "x"}') == "critical"
    assert detect_level('{"severity": "Notice"}') == "info"
    assert detect_level('{"level": 50, "msg": "pino"}') == "error"
    assert detect_level('{"msg": "no level", "nested": {"level": "error"}}') == "unknown"
    assert detect_level("2024-01-01 00:00:00,000 ERROR worker crashed") == "error"
    assert detect_level("an error occurred somewhere") == "unknown"  # prose is not a level
    assert detect_level("\x1b[1;31mFATAL\x1b[0m: out of disk") == "critical"


@pytest.mark.parametrize(
    "line", ["{" * 100_000, '{"level": ' + "[" * 50_000, "level=" + "x" * 1_000_000, "\ud800\x00\x1b"]
)
def test_level_detection_survives_hostile_lines(line: str) -> None:
    assert detect_level(line) in ("unknown", "trace", "debug", "info", "warn", "error", "critical")


def test_normalize_level() -> None:
    assert [
        normalize_level(v) for v in ("WARN", " warning ", "Err", "FATAL", "dbg", "verbose", 30, True, None, "x")
    ] == [
        "warn",
        "warn",
        "error",
        "critical",
        "debug",
        "trace",
        "info",
        "unknown",
        "unknown",
        "unknown",
    ]


# ---------------------------------------------------------------------- fields --
def test_fields_of_a_zap_json_line() -> None:
    frames = json.loads((LOKI / "tail_websocket_frames.json").read_text())["frames"]
    line = frames[0]["frame"]["streams"][1]["values"][0][1]
    fields = parse_fields(line)
    assert fields is not None
    assert [k for k, _ in fields] == ["level", "ts", "caller", "msg", "replicas", "strategy"]
    assert dict(fields)["replicas"] == '{"llm-server-0":5,"llm-server-1":2}'
    assert dict(fields)["msg"] == "replica stats"


def test_fields_of_python_json_lines_keep_numbers_and_tracebacks() -> None:
    oom = next(e for e in fixture_entries("query_range_streams_cuda_oom_line_filter.json") if e.line.startswith("{"))
    fields = dict(parse_fields(oom.line) or [])
    assert fields["level"] == "ERROR" and fields["gpu"] == "0"
    assert fields["exc_info"].startswith("Traceback (most recent call last):\n")
    stats = next(
        e for e in fixture_entries("query_range_streams_llm_server_limit20.json") if "05:36:15.949976Z" in e.line
    )
    assert dict(parse_fields(stats.line) or [])["gpu_util"] == "79.7"
    assert dict(parse_fields(stats.line) or [])["running"] == "10"


def test_fields_of_logfmt_lines() -> None:
    line = next(
        e.line
        for e in fixture_entries("query_range_streams_line_filter_trace_id_all_services.json")
        if e.line.startswith("ts=")
    )
    assert parse_fields(line) == [
        ("ts", "2026-11-22T05:34:49.681042Z"),
        ("level", "info"),
        ("logger", "feature_store.api"),
        ("msg", "features served"),
        ("cache", "hit"),
        ("duration_ms", "12.1"),
        ("trace_id", "a2316ce28eb6b90c092737eba16c368f"),
        ("span_id", "bf5b3018b6eb4646"),
    ]
    markup = next(e.line for e in fixture_entries("query_range_streams_rich_markup.json") if e.line.startswith("ts="))
    assert (
        dict(parse_fields(markup) or [])["preview"]
        == "please render [bold red]x[/] and [link=https://evil.example]click[/link] [/]"
    )
    tail = json.loads((LOKI / "tail_websocket_frames.json").read_text())["frames"][1]["frame"]["streams"][1]["values"][
        0
    ][1]
    assert parse_fields(tail) == [("level", "warn"), ("msg", "tail test \x1b[31mred\x1b[0m [bold]markup[/]")]
    assert parse_fields('a=1 msg="say \\"hi\\"\\n" empty= q=""') == [
        ("a", "1"),
        ("msg", 'say "hi"\n'),
        ("empty", ""),
        ("q", ""),
    ]


@pytest.mark.parametrize(
    "line",
    [
        '\x1b[32mINFO\x1b[0m:     10.42.3.70:59937 - "POST /v1/generate HTTP/1.1" 200',
        "2024-01-01 00:00:00,000 ERROR llm_server.worker Traceback (most recent call last):",
        "retrying with attempt=2",
        'a="unterminated',
        "[1, 2]",
        "{not json}",
        "{" * 100_000,
        "[" * 100_000,
        '{"a": ' * 5000 + "1" + "}" * 5000,
        "a=" + "b" * (300 * 1024),
        "",
        "   ",
    ],
)
def test_fields_none_for_other_or_hostile_lines(line: str) -> None:
    started = time.perf_counter()
    assert parse_fields(line) is None
    assert time.perf_counter() - started < 1.0


def test_fields_never_raise_on_odd_values() -> None:
    assert parse_fields(None) is None  # type: ignore[arg-type]
    assert parse_fields('{"a": NaN, "b": null, "c": true, "d": "\\ud800"}') == [
        ("a", "NaN"),
        ("b", "null"),
        ("c", "true"),
        ("d", "\ud800"),
    ]
    assert parse_fields("k=v" + " k=v" * 20_000) is not None  # long but fine: 20,001 pairs


# ------------------------------------------------------------------- trace ids --
def test_trace_ids_from_real_lines_are_the_seeded_ones() -> None:
    found = set()
    for e in all_fixture_entries():
        from_line = extract_trace_id(e.line)  # the line alone, no labels or metadata
        if from_line is not None:
            assert from_line in TRACE_IDS, e.line[:80]
            assert entry_trace_id(e) == from_line
            found.add(from_line)
        elif "trace" not in e.line:
            assert entry_trace_id(e) is None
    assert len(found) >= 8
    lines = fixture_entries("query_range_streams_line_filter_trace_id_all_services.json")
    assert {extract_trace_id(e.line) for e in lines} == {"a2316ce28eb6b90c092737eba16c368f"}
    services = {e.labels["service"] for e in lines}
    assert services == {"llm-server", "model-router", "feature-store"}  # JSON, zap JSON and logfmt


def test_trace_id_sources_in_order() -> None:
    tid, other = sorted(TRACE_IDS)[:2]
    line = f'{{"msg": "x", "traceId": "{other.upper()}"}}'
    assert extract_trace_id(line) == other  # JSON field, normalised to lower case
    assert extract_trace_id(line, metadata={"trace_id": tid}) == tid  # structured metadata first
    assert extract_trace_id(line, labels={"traceID": tid}) == tid
    assert extract_trace_id(line, parsed={"trace_id_extracted": tid}) == tid
    assert extract_trace_id(f"msg=x trace-id={tid}") == tid
    assert extract_trace_id(f'payload {{"span": 1, "otel": {{"trace_id": "{tid}"}}}} sent') == tid  # regex, nested
    assert extract_trace_id(f"req {tid} done") is None  # a bare id with no key is not taken by default
    assert extract_trace_id(f"req {tid} done", pattern=r"req ([0-9a-f]{32})") == tid
    assert extract_trace_id("x", pattern="(") is None  # a broken configured regex does not crash
    assert extract_trace_id("trace_id=00000000000000000000000000000000") is None
    assert extract_trace_id("trace_id=5f2fc57a9d26b279") == "5f2fc57a9d26b279"  # 16 hex digits
    assert extract_trace_id("trace_id=5f2fc57a9d26b2795f2fc57a") is None  # 24: neither length


def test_normalize_trace_id() -> None:
    assert normalize_trace_id(" A2316CE28EB6B90C092737EBA16C368F ") == "a2316ce28eb6b90c092737eba16c368f"
    assert (
        normalize_trace_id("00-a2316ce28eb6b90c092737eba16c368f-5f2fc57a9d26b279-01")
        == "a2316ce28eb6b90c092737eba16c368f"
    )
    assert normalize_trace_id("a2316ce2-8eb6-b90c-0927-37eba16c368f") == "a2316ce28eb6b90c092737eba16c368f"
    assert [normalize_trace_id(v) for v in ("xyz", "", 5, None, "a" * 100)] == [None] * 5


# -------------------------------------------------------------------- patterns --
def test_pattern_grouping_of_real_lines() -> None:
    entries = fixture_entries("query_range_streams_llm_server_limit20.json")
    groups = group_patterns(entries)
    counts = {(dict(parse_fields(g.example.line) or []).get("message") or "access"): g.count for g in groups}
    assert counts == {"engine stats": 6, "request accepted": 6, "request finished": 6, "access": 2}
    assert [g.count for g in groups] == [6, 6, 6, 2]
    # Equal counts: the group with the most recent line first.
    assert [g.latest_ns for g in groups[:3]] == sorted((g.latest_ns for g in groups[:3]), reverse=True)
    access = next(g for g in groups if "INFO:" in g.shape)
    # Different client IPs and ports, one shape; ANSI colours dropped from the shape.
    assert access.shape == "INFO:     <ip> - <str> <num> OK" and access.count == 2
    newest_access = max(e.ts for e in entries if "POST /v1/generate HTTP" in e.line)
    assert access.latest_ns == newest_access
    assert access.example.ts == min(e.ts for e in entries if "POST /v1/generate HTTP" in e.line)


def test_shapes_keep_what_tells_lines_apart() -> None:
    oom = [e for e in fixture_entries("query_range_streams_errors_forward.json")]
    shapes = {line_shape(e.line) for e in oom}
    assert len(shapes) == 3  # JSON OOM, raw traceback, zap "upstream call failed"
    json_oom = next(s for s in shapes if "CUDA out of memory" in s)
    assert "Tried to allocate <num> GiB" in json_oom and "level=ERROR" in json_oom
    assert "trace_id=<_>" in json_oom and "a2316ce2" not in json_oom
    assert line_shape("took 12.5ms from 10.0.0.1 id=3f2a9c1e-0b1d-4c1e-9a1e-1234567890ab at 2026-11-22T05:34:49Z") == (
        "took <duration> from <ip> id=<uuid> at <ts>"
    )
    assert line_shape("span 5f2fc57a9d26b279 done") == "span <hex> done"
    assert line_shape('{"msg": "a"}') != line_shape('{"msg": "b"}')
    assert line_shape('{"msg": "a", "n": 1}') == line_shape('{"msg": "a", "n": 2}')


def test_shape_cost_is_capped() -> None:
    huge = "word 123 " * 200_000
    started = time.perf_counter()
    shape = line_shape(huge, max_chars=512)
    assert time.perf_counter() - started < 0.5
    assert shape == line_shape(huge[:512]) and shape.startswith("word <num> word <num>")
    assert line_shape("{" * 100_000)  # hostile: no exception


def test_pattern_display_is_inert() -> None:
    (group,) = group_patterns([entry(1, "\x07bell [bold]x[/] \x9b2J")])
    shown = group.display()
    assert "\x07" not in shown and "\x9b" not in shown and "[bold]x[/]" in shown


# -------------------------------------------------------------------- guidance --
def test_guidance_for_loki_limit_messages() -> None:
    text = (LOKI / "error_400_limit_too_high.txt").read_text()
    assert "narrow the time range or add a label selector" in guidance_for(text)
    assert "at most 5000 lines" in guidance_for(text)
    assert guidance_for("the query time range exceeds the limit (query length: 721h0m0s, limit: 720h0m0s)") == (
        "narrow the time range to at most 720h0m0s"
    )
    assert "fewer than 500 series" in guidance_for("maximum of series (500) reached for a single query")
    assert "narrow the time range" in guidance_for(
        "the query would read too many bytes (query: 10 GiB, limit: 1 GiB); consider adding more specific "
        "stream selectors"
    )
    assert guidance_for("something else entirely") is None

    class Err(Exception):
        def __init__(self, status: int, message: str) -> None:
            self.status, self.message = status, message

    assert guidance_for(Err(400, text)) is not None
    assert guidance_for(Err(503, text)) is None  # not a rejection: retried or shown as down


# ---------------------------------------------------------------------- buffer --
def test_buffer_keeps_the_newest_when_following() -> None:
    buf = LogBuffer(max_entries=5)
    assert buf.extend_newer(entry(T, f"line {T}") for T in range(10, 18)) == 8
    assert [e.ts for e in buf.entries] == [13, 14, 15, 16, 17]
    assert (buf.dropped_oldest, buf.dropped_newest) == (3, 0)
    buf.extend_newer([entry(18, "line 18")])
    assert [e.ts for e in buf.entries] == [14, 15, 16, 17, 18] and buf.dropped_oldest == 4
    assert (buf.oldest_ns, buf.newest_ns) == (14, 18)


def test_buffer_keeps_the_oldest_when_scrolling_back() -> None:
    buf = LogBuffer(max_entries=5)
    buf.extend_newer(entry(t, f"line {t}") for t in (20, 21, 22))
    assert buf.extend_older(entry(t, f"line {t}") for t in (15, 16, 17, 18, 19)) == 5
    assert [e.ts for e in buf.entries] == [15, 16, 17, 18, 19]
    assert (buf.dropped_oldest, buf.dropped_newest) == (0, 3)


def test_buffer_deduplicates_by_time_stream_and_line() -> None:
    buf = LogBuffer()
    page = [entry(1, "a"), entry(2, "b"), entry(2, "b", app="other"), entry(2, "c"), entry(2, "b")]
    assert buf.extend_newer(page) == 4  # the repeated (2, app=a, "b") counted once
    assert buf.extend_newer(page) == 0  # an overlapping page adds nothing
    assert buf.extend_older([entry(1, "a"), entry(0, "z")]) == 1
    assert [(e.ts, e.line) for e in buf.entries] == [(0, "z"), (1, "a"), (2, "b"), (2, "b"), (2, "c")]
    # Same labels in another order are the same stream.
    assert buf.extend_newer([LogEntry(2, "c", {"app": "a"})]) == 0
    assert buf.extend_newer([LogEntry(2, "x", {"b": "1", "a": "2"}), LogEntry(2, "x", {"a": "2", "b": "1"})]) == 1


def test_buffer_merges_out_of_order_arrivals() -> None:
    buf = LogBuffer(max_entries=4)
    buf.extend_newer([entry(10, "x"), entry(30, "y")])
    buf.extend_newer([entry(20, "late"), entry(40, "new"), entry(5, "very old")])
    assert [e.ts for e in buf.entries] == [10, 20, 30, 40] and buf.dropped_oldest == 1
    assert buf.filter("late") == [1]


def test_buffer_filter() -> None:
    buf = LogBuffer()
    buf.extend_newer(fixture_entries("query_range_streams_llm_server_limit20.json"))
    buf.extend_newer(fixture_entries("query_range_streams_special_lines.json"))
    lines = [e.line for e in buf.entries]
    oom = buf.filter("Request Accepted")
    assert oom and all("request accepted" in lines[i] for i in oom)
    assert buf.filter("!request") == [i for i, ln in enumerate(lines) if "request" not in ln.lower()]
    assert buf.filter("") == buf.filter("!") == list(range(len(buf)))
    # ANSI colour codes do not break a match on what the user reads.
    assert len(buf.filter("info:     10.42.")) == 2
    assert buf.filter("日本語") and buf.filter("\\!") == []
    # Typing the phrase one key at a time gives what a fresh search gives.
    for k in range(1, len("request finished") + 1):
        assert buf.filter("request finished"[:k]) == [
            i for i, ln in enumerate(lines) if "request finished"[:k] in ln.lower()
        ]
    # New lines after a filter are found by the next one.
    before = len(buf.filter("request finished"))
    buf.extend_newer([entry(2_000_000_000_000_000_000, "REQUEST FINISHED late")])
    assert len(buf.filter("request finished")) == before + 1


def test_buffer_display_is_sanitised_and_raw_is_kept() -> None:
    buf = LogBuffer()
    hostile = "\x1b]52;c;ZWNobyBwd25lZA==\x07 [@click=app.quit]ack[/]"
    buf.extend_newer([entry(1, hostile)])
    assert buf[0].line == hostile
    assert buf.display_line(0) == "\\x1b]52;c;ZWNobyBwd25lZA==\\x07 [@click=app.quit]ack[/]"
    assert display_line(entry(1, "x" * 20_000)).endswith("…[+3616 bytes]")


def test_buffer_filter_is_fast_on_100k_lines() -> None:
    buf = LogBuffer(max_entries=100_000)
    buf.extend_newer(
        entry(i, f'{{"level":"info","msg":"request {i} finished","trace_id":"{i:032x}","model":"llama"}}')
        for i in range(100_000)
    )
    assert len(buf) == 100_000
    best = min(_timed(buf.filter, "!cuda out of memory") for _ in range(3))
    assert best < 0.1, f"a keystroke took {best * 1000:.0f} ms over 100k lines"


def _timed(fn, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def test_buffer_rejects_a_zero_capacity_and_clears() -> None:
    with pytest.raises(ValueError):
        LogBuffer(max_entries=0)
    buf = LogBuffer(max_entries=2)
    buf.extend_newer([entry(1, "a"), entry(2, "b"), entry(3, "c")])
    version = buf.version
    buf.clear()
    assert len(buf) == 0 and buf.dropped_oldest == 0 and buf.version > version
    assert buf.extend_newer([entry(1, "a")]) == 1
