"""Every recorded Loki response, served back through the real LokiClient, plus follow mode.

Each ``_index.json`` entry becomes one test: an ``httpx.MockTransport`` answers with the
recorded status, content type and body; the test makes the client call that produces the
recorded request, checks the request the client sent against the recorded one, and checks
what a caller gets (typed data, or the right error with the server's words and guidance).
The quirks listed in ``shared/fixtures/loki/README.md`` are then checked one by one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from oncall_tui.clients import NotFound, QueryRejected, RetryPolicy, SourceUnavailable
from oncall_tui.clients.loki import (
    CATEGORIZE_LABELS,
    MAX_LIMIT,
    LokiClient,
    parse_tail_frame,
)
from oncall_tui.core.logs.buffer import display_line
from oncall_tui.core.logs.guidance import guidance_for
from oncall_tui.core.logs.levels import entry_level
from oncall_tui.core.logs.traceids import entry_trace_id
from oncall_tui.models.common import BuildInfo
from oncall_tui.models.loki import (
    DetectedField,
    DetectedLabel,
    IndexStats,
    LogEntry,
    LogPattern,
    StreamsResult,
)
from oncall_tui.models.prometheus import MatrixResult, ScalarResult, VectorResult

from .conftest import FIXTURES

LOKI = FIXTURES / "loki"
INDEX = json.loads((LOKI / "_index.json").read_text())
ENTRIES: list[dict[str, Any]] = INDEX["requests"]
BY_FILE = {e["file"]: e for e in ENTRIES}
#: Not responses: the fixture set's own documentation and the seeder's output.
NOT_RESPONSES = {"README.md", "_index.json", "seed_manifest.json"}
QUERY_PATHS = ("/loki/api/v1/query", "/loki/api/v1/query_range")
FAST = RetryPolicy(max_retries=3, base=0.001, cap=0.001)


def body_of(name: str) -> bytes:
    return (LOKI / name).read_bytes()


class Recorder:
    """A MockTransport answering every request with one recorded response."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry
        self.requests: list[httpx.Request] = []
        self.body = body_of(entry["file"])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        ctype = self.entry.get("content_type") or "text/plain; charset=utf-8"
        return httpx.Response(self.entry["status"], headers={"content-type": ctype}, content=self.body)


async def _no_sleep(_: float) -> None:
    return None


def client_for(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    retry: RetryPolicy = FAST,
    sleep: Callable[[float], Awaitable[None]] = _no_sleep,
) -> LokiClient:
    http = httpx.AsyncClient(base_url="http://loki.test", transport=httpx.MockTransport(handler))
    return LokiClient(http, retry=retry, sleep=sleep)


def _ns(params: dict[str, str], key: str) -> int | None:
    return int(params[key]) if key in params else None


def call_for(entry: dict[str, Any], loki: LokiClient) -> Callable[[], Awaitable[Any]]:
    """The client call a user of the app makes to produce the recorded request."""
    path, p = entry["path"], entry["params"]
    rng = {"start": _ns(p, "start"), "end": _ns(p, "end")}
    if path == "/loki/api/v1/query_range":
        return lambda: loki.query_range(
            p["query"],
            start=int(p["start"]),
            end=int(p["end"]),
            limit=int(p["limit"]) if "limit" in p else None,
            direction=p.get("direction", "backward"),
            step=float(p["step"]) if "step" in p else None,
        )
    if path == "/loki/api/v1/query":
        return lambda: loki.query(p["query"], time=int(p["time"]), limit=int(p["limit"]) if "limit" in p else None)
    if path == "/loki/api/v1/status/buildinfo":
        return loki.buildinfo
    if path == "/loki/api/v1/labels":
        return lambda: loki.labels(**rng)
    if m := re.fullmatch(r"/loki/api/v1/label/([^/]+)/values", path):
        return lambda: loki.label_values(m.group(1), query=p.get("query"), **rng)
    if path == "/loki/api/v1/series":
        return lambda: loki.series([p["match[]"]], **rng)
    if path == "/loki/api/v1/index/stats":
        return lambda: loki.index_stats(p["query"], **rng)
    if path == "/loki/api/v1/index/volume":
        return lambda: loki.index_volume(p["query"], target_labels=[p["targetLabels"]], **rng)
    if path == "/loki/api/v1/index/volume_range":
        return lambda: loki.index_volume_range(
            p["query"],
            start=int(p["start"]),
            end=int(p["end"]),
            step=float(p["step"]),
            target_labels=[p["targetLabels"]],
        )
    if path == "/loki/api/v1/detected_labels":
        return lambda: loki.detected_labels(p["query"], **rng)
    if path == "/loki/api/v1/detected_fields":
        return lambda: loki.detected_fields(p["query"], limit=int(p["limit"]), **rng)
    if m := re.fullmatch(r"/loki/api/v1/detected_field/([^/]+)/values", path):
        return lambda: loki.detected_field_values(m.group(1), p["query"], **rng)
    if path == "/loki/api/v1/patterns":
        return lambda: loki.patterns(p["query"], step=p.get("step"), **rng)
    if path == "/loki/api/v1/format_query":
        return lambda: loki.format_query(p["query"])
    if path == "/loki/api/v1/nope":
        return lambda: loki.get_json(path)
    if path == "/loki/api/v1/push":
        return lambda: loki.request("POST", path, json_body=json.loads(entry["request_body"]), idempotent=False)
    raise AssertionError(f"no client call for {entry['method']} {path}")


HTTP_ENTRIES = [e for e in ENTRIES if not e["method"].endswith("(websocket)")]


def test_every_fixture_file_is_exercised() -> None:
    on_disk = {p.name for p in LOKI.iterdir()} - NOT_RESPONSES
    assert on_disk == set(BY_FILE), "a fixture file is missing from _index.json (or vice versa)"
    websocket = {e["file"] for e in ENTRIES if e["method"].endswith("(websocket)")}
    # HTTP fixtures run through test_recorded_response; the two tail ones have their own tests.
    assert websocket == {"tail_websocket_frames.json", "tail_websocket_400_bad_query.txt"}
    assert len(HTTP_ENTRIES) + len(websocket) == len(on_disk)


@pytest.mark.parametrize("entry", HTTP_ENTRIES, ids=lambda e: e["file"])
async def test_recorded_response(entry: dict[str, Any]) -> None:
    rec = Recorder(entry)
    loki = client_for(rec)
    call = call_for(entry, loki)

    if entry["status"] >= 300:
        with pytest.raises(NotFound if entry["status"] == 404 else QueryRejected) as info:
            await call()
        err = info.value
        assert err.status == entry["status"]
        # The server's own words (text/plain) reach the user, first line, sanitised.
        assert rec.body.decode().strip().splitlines()[0][:80] in err.message
        assert len(rec.requests) == 1, "a 4xx must never be retried"
    else:
        check_result(entry["file"], await call())

    sent = rec.requests[0]
    assert sent.method == entry["method"]
    assert sent.url.path == entry["path"]
    for key, recorded in entry["params"].items():
        if key == "step" and recorded.endswith("s"):
            assert sent.url.params[key] == recorded
        elif key == "step":
            assert float(sent.url.params[key]) == float(recorded)
        else:
            assert sent.url.params.get(key) == recorded, key
    if entry["path"] in QUERY_PATHS:
        assert sent.headers["X-Loki-Response-Encoding-Flags"] == "categorize-labels"
    else:
        assert "X-Loki-Response-Encoding-Flags" not in sent.headers


def check_result(name: str, result: Any) -> None:
    if name == "buildinfo.json":
        assert isinstance(result, BuildInfo) and result.version == "main-65e30f8" and result.go_version == "go1.27.3"
    elif name.startswith("query_range_streams"):
        data = result.data
        assert isinstance(data, StreamsResult)
        assert all(isinstance(e, LogEntry) for e in data.entries)
        assert [e.ts for e in data.entries] == sorted(e.ts for e in data.entries), "oldest first"
        raw = json.loads(body_of(name))["data"]["result"]
        assert len(data.entries) == sum(len(s["values"]) for s in raw)
        assert data.categorized == name.endswith("_categorize_labels.json")
    elif name.startswith(("query_range_matrix", "index_volume_range")):
        data = getattr(result, "data", result)
        assert isinstance(data, MatrixResult) and data.result
        assert all(
            isinstance(s.timestamp, float) and 1.79e9 < s.timestamp < 1.8e9
            for series in data.result
            for s in series.values
        )
    elif name.startswith("query_instant_vector") or name == "index_volume_by_service.json":
        data = getattr(result, "data", result)
        assert isinstance(data, VectorResult) and data.result
        assert all(1.79e9 < s.value.timestamp < 1.8e9 for s in data.result)
    elif name == "query_instant_scalar.json":
        assert isinstance(result.data, ScalarResult)
    elif name.startswith(("labels", "label_")):
        assert isinstance(result, list) and all(isinstance(v, str) for v in result)
    elif name.startswith("series_"):
        assert result and all(list(s) == sorted(s) for s in result)
    elif name.startswith("index_stats"):
        assert isinstance(result, IndexStats)
    elif name == "detected_labels.json":
        assert [d.label for d in result] == ["pod", "namespace", "level", "service_name", "service"]
        assert all(isinstance(d, DetectedLabel) for d in result)
    elif name == "detected_fields_llm_server.json":
        assert all(isinstance(f, DetectedField) for f in result)
        by_name = {f.label: f for f in result}
        assert by_name["trace_id"].cardinality == 14 and by_name["trace_id"].json_path == ["trace_id"]
        assert by_name["detected_level"].parsers is None
    elif name == "detected_field_values_logger.json":
        assert result == ["llm_server.engine", "llm_server.metrics"]
    elif name.startswith("patterns_"):
        assert all(isinstance(p, LogPattern) for p in result)
    elif name == "format_query.json":
        assert result == '{service="llm-server", level="error"} | json | line_format "{{.message}}"'
    else:
        raise AssertionError(f"no check for {name}")


async def fetch(name: str) -> Any:
    entry = BY_FILE[name]
    return await call_for(entry, client_for(Recorder(entry)))()


# ---------------------------------------------------------------- README quirks --
async def test_entry_timestamps_are_exact_nanoseconds() -> None:
    data = (await fetch("query_range_streams_errors_forward.json")).data
    oom = next(e for e in data.entries if "CUDA out of memory" in e.line and e.line.startswith("{"))
    assert oom.ts == 1795325690296860371  # the decimal string, exactly (a float would lose it)
    assert oom.time == datetime(2026, 11, 22, 5, 34, 50, 296860, tzinfo=UTC)
    assert data.entries[0].ts == 1795324590679742925  # the raw traceback line, an hour earlier


async def test_merged_and_categorized_forms_give_the_same_entries() -> None:
    merged = (await fetch("query_range_streams_llm_server_limit20.json")).data
    categorized = (await fetch("query_range_streams_llm_server_limit20_categorize_labels.json")).data
    raw = json.loads(body_of("query_range_streams_llm_server_limit20.json"))["data"]["result"]
    assert len(raw) > 2, "merged form splits one pushed stream into many"
    assert [(e.ts, e.line) for e in merged.entries] == [(e.ts, e.line) for e in categorized.entries]
    with_trace = [e for e in categorized.entries if "trace_id" in e.line]
    assert with_trace
    for m, c in zip(merged.entries, categorized.entries, strict=True):
        # Categorized: stream labels are the indexed ones only; metadata is per entry.
        assert set(c.labels) == {"level", "namespace", "pod", "service", "service_name"}
        assert c.metadata["detected_level"] == m.labels["detected_level"]
        assert c.metadata.get("trace_id") == m.labels.get("trace_id")
        # Either way the app finds the same level and trace id.
        assert entry_level(m) == entry_level(c) == "info"
        assert entry_trace_id(m) == entry_trace_id(c)
        assert m.all_labels() == c.all_labels()


async def test_parser_labels_with_extracted_suffix() -> None:
    merged = (await fetch("query_range_streams_json_parser_trace_id.json")).data
    categorized = (await fetch("query_range_streams_json_parser_trace_id_categorize_labels.json")).data
    warn = next(e for e in merged.entries if "freeing KV cache" in e.line)
    assert warn.labels["level"] == "warn" and warn.labels["level_extracted"] == "WARNING"
    cwarn = next(e for e in categorized.entries if "freeing KV cache" in e.line)
    assert cwarn.parsed["level_extracted"] == "WARNING" and "level_extracted" not in cwarn.labels
    assert cwarn.metadata["trace_id"] == "a2316ce28eb6b90c092737eba16c368f"
    assert {entry_trace_id(e) for e in categorized.entries} == {"a2316ce28eb6b90c092737eba16c368f"}
    assert sorted(entry_level(e) for e in categorized.entries) == ["error", "info", "info", "info", "warn"]


async def test_loki_added_labels_service_name_and_detected_level() -> None:
    data = (await fetch("query_range_streams_ansi_escapes.json")).data
    for entry in data.entries:
        assert entry.labels["service_name"] == entry.labels["service"] == "llm-server"
        assert entry.labels["detected_level"] == "info"


async def test_metric_timestamps_seconds_vs_scalar_milliseconds() -> None:
    matrix = (await fetch("query_range_matrix_count_by_level_llm_server.json")).data
    assert isinstance(matrix, MatrixResult)
    assert [(s.timestamp, s.value) for s in matrix.by_label("level")["error"]] == [
        (1795324620.0, 1.0),
        (1795325700.0, 1.0),
    ]
    vector = (await fetch("query_instant_vector_count_by_service.json")).data
    assert isinstance(vector, VectorResult)
    assert vector.by_label("service") == {"llm-server": 663.0, "model-router": 287.0, "feature-store": 275.0}
    assert vector.result[0].value.timestamp == 1795325850.674
    scalar = (await fetch("query_instant_scalar.json")).data
    assert isinstance(scalar, ScalarResult)
    # Sent as the integer 1795325850674 (milliseconds): the same instant as the vector's.
    assert scalar.result.timestamp == pytest.approx(1795325850.674)
    assert scalar.result.value == 2.0


async def test_stats_are_kept_and_exec_time_exposed() -> None:
    data = (await fetch("query_range_streams_errors_forward.json")).data
    raw = json.loads(body_of("query_range_streams_errors_forward.json"))["data"]["stats"]["summary"]["execTime"]
    assert data.exec_time == raw


async def test_empty_streams_result() -> None:
    data = (await fetch("query_range_streams_empty_result.json")).data
    assert isinstance(data, StreamsResult) and data.entries == []


async def test_instant_query_of_a_log_selector_is_rejected_with_guidance() -> None:
    with pytest.raises(QueryRejected) as info:
        await fetch("error_400_instant_log_query.txt")
    assert "log queries are not supported as an instant query" in str(info.value)
    assert "range query" in info.value.guidance  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "cls", "advice"),
    [
        ("error_400_limit_too_high.txt", QueryRejected, "narrow the time range or add a label selector"),
        ("error_400_bad_logql_syntax.txt", QueryRejected, "fix the LogQL syntax"),
        ("error_400_metric_query_missing_range.txt", QueryRejected, "fix the LogQL syntax"),
        ("error_400_bad_logql_no_matcher.txt", QueryRejected, "non-empty value"),
        ("error_400_bad_time_range.txt", QueryRejected, "after its start"),
        ("error_400_push_bad_json.txt", QueryRejected, None),
        ("error_404_unknown_path.txt", NotFound, None),
    ],
)
async def test_plain_text_errors_map_to_the_error_family(name: str, cls: type, advice: str | None) -> None:
    rec = Recorder(BY_FILE[name])
    with pytest.raises(cls) as info:
        await call_for(BY_FILE[name], client_for(rec))()
    err = info.value
    assert err.message == rec.body.decode().strip()[: len(err.message)]
    assert err.error_type is None  # no JSON envelope, no errorType
    guidance = getattr(err, "guidance", None)
    if advice is None:
        assert guidance is None
    else:
        assert guidance is not None and advice in guidance
        assert guidance == guidance_for(err)
    assert len(rec.requests) == 1


async def test_limit_error_says_what_limit_to_use_and_is_not_retried() -> None:
    rec = Recorder(BY_FILE["error_400_limit_too_high.txt"])
    loki = client_for(rec, retry=RetryPolicy(max_retries=5, base=0.001, cap=0.001))
    with pytest.raises(QueryRejected) as info:
        await loki.query_range('{service="llm-server"}', start=1795322190674742925, limit=100000)
    assert "5000" in info.value.guidance  # type: ignore[attr-defined]
    assert len(rec.requests) == 1 and loki.retries_done == 0


async def test_envelopes_vary_by_endpoint() -> None:
    assert await fetch("labels.json") == ["level", "namespace", "pod", "service", "service_name"]
    # An unknown label: {"status": "success"} with no data at all.
    assert await fetch("label_unknown_values.json") == []
    assert await fetch("label_service_values_with_query.json") == ["llm-server-0", "llm-server-1"]
    # No envelope at all.
    assert (await fetch("index_stats_ml_serving_after_flush.json")).entries == 1246
    assert (await fetch("buildinfo.json")).revision == "65e30f84"
    assert [d.label for d in await fetch("detected_labels.json")][:2] == ["pod", "namespace"]
    # index/volume looks like a query response.
    volume = await fetch("index_volume_by_service.json")
    assert set(volume.by_label("service")) == {"llm-server", "model-router", "feature-store"}


async def test_missing_envelope_where_one_is_expected_is_malformed() -> None:
    loki = client_for(lambda _: httpx.Response(200, json=["level"]))
    with pytest.raises(SourceUnavailable, match="envelope"):
        await loki.labels()


async def test_series_key_order_is_normalised() -> None:
    raw = json.loads(body_of("series_llm_server.json"))["data"]
    assert any(list(s) != sorted(s) for s in raw), "the fixture really is in random key order"
    series = await fetch("series_llm_server.json")
    assert series == [dict(sorted(s.items())) for s in raw]
    assert {(s["pod"], s["level"]) for s in series} >= {("llm-server-1", "error"), ("llm-server-0", "info")}


async def test_index_stats_count_only_flushed_chunks() -> None:
    before = await fetch("index_stats_ml_serving_before_flush.json")
    after = await fetch("index_stats_ml_serving_after_flush.json")
    assert (before.streams, before.entries, before.bytes) == (0, 0, 0)
    assert (after.streams, after.entries) == (11, 1246)


async def test_patterns_numbers_and_empty_result() -> None:
    assert await fetch("patterns_llm_server.json") == []
    (pattern,) = await fetch("patterns_feature_store_step.json")
    assert pattern.level == "info" and "<_>" in pattern.pattern
    assert pattern.samples[0] == (1795321800, 13) and pattern.total == 13 + 40 * 5 + 26
    (router,) = await fetch("patterns_model_router.json")
    assert router.pattern == "<_>queue depth above threshold<_>" and router.total == 34


def test_tail_websocket_frames_parse() -> None:
    recorded = json.loads(body_of("tail_websocket_frames.json"))
    first, live = (parse_tail_frame(f["frame"]) for f in recorded["frames"])
    assert [e.ts for e in first.entries] == [1795325767679242925, 1795325776072045189]
    assert all(e.labels["detected_level"] == "info" for e in first.entries)
    # Live frames carry no detected_level and no structured metadata; levels still come through.
    assert all("detected_level" not in e.labels and not e.metadata for e in live.entries)
    assert [entry_level(e) for e in live.entries] == ["info", "warn"]
    assert first.dropped == [] and live.dropped == []
    assert entry_trace_id(first.entries[0]) == "d71db30336f75a6bb353108a3383e26b"
    # The same frame as text (as it arrives on the socket).
    assert parse_tail_frame(json.dumps(recorded["frames"][1]["frame"])).entries == live.entries


def test_tail_frame_with_dropped_entries_and_bad_frames() -> None:
    frame = {
        "streams": [{"stream": {"app": "x"}, "values": [["1795325886494764909", "hi"]]}],
        "dropped_entries": [{"labels": {"app": "x"}, "timestamp": "1795325886494764000"}],
    }
    parsed = parse_tail_frame(frame)
    assert parsed.dropped[0].ts == 1795325886494764000 and parsed.dropped[0].labels == {"app": "x"}
    for bad in ("[1]", '{"streams": [{"stream": {}, "values": [[1.5, "x"]]}]}', "[" * 100_000, b'{"streams": "x"}'):
        with pytest.raises(ValueError):
            parse_tail_frame(bad)


async def test_tail_bad_query_ends_follow_at_once_without_retry() -> None:
    # The tail endpoint rejects a bad query with a plain 400 before the upgrade; follow mode
    # polls query_range, which answers the same way: the error ends the iteration, unretried.
    entry = {**BY_FILE["tail_websocket_400_bad_query.txt"], "status": 400}
    rec = Recorder(entry)
    loki = client_for(rec)
    with pytest.raises(QueryRejected) as info:
        async for _ in loki.follow('{service="llm-server"', start=1795325764487990206):
            pass
    assert "syntax error: unexpected $end" in str(info.value)
    assert "LogQL syntax" in info.value.guidance  # type: ignore[attr-defined]
    assert len(rec.requests) == 1


async def test_line_content_is_returned_unmodified_and_displayed_inert() -> None:
    ansi = (await fetch("query_range_streams_ansi_escapes.json")).data.entries[0]
    assert ansi.line.startswith("\x1b[32mINFO\x1b[0m:")
    shown = display_line(ansi)
    assert "\x1b" not in shown and shown.startswith("\\x1b[32mINFO\\x1b[0m:")
    markup = (await fetch("query_range_streams_rich_markup.json")).data.entries
    assert any("[bold red]x[/]" in e.line for e in markup)
    special = (await fetch("query_range_streams_special_lines.json")).data.entries
    osc = next(e for e in special if "hyperlink" in e.line)
    assert "\x1b]8;;https://example.invalid\x1b\\" in osc.line and "\x07" in osc.line
    visible = display_line(osc)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", visible)
    assert "\\x1b]8;;https://example.invalid" in visible and "\\x07bell" in visible and "\\rcarriage" in visible
    multi = next(e for e in special if "ERROR llm_server.worker" in e.line)
    assert "\n" in multi.line and "\n" not in display_line(multi) and "\n" in display_line(multi, multiline=True)


async def test_json_error_body_from_a_proxy_is_understood() -> None:
    body = {
        "status": "error",
        "errorType": "bad_data",
        "error": "the query time range exceeds the limit (query length: 721h0m0s, limit: 720h0m0s)",
    }
    loki = client_for(lambda _: httpx.Response(400, json=body))
    with pytest.raises(QueryRejected) as info:
        await loki.query_range('{service="x"}', start=1795322190674742925)
    assert info.value.error_type == "bad_data"
    assert info.value.guidance == "narrow the time range to at most 720h0m0s"  # type: ignore[attr-defined]


async def test_malformed_streams_are_reported_without_echoing_input() -> None:
    secret_line = "token=hunter2hunter2"
    body = {
        "status": "success",
        "data": {"resultType": "streams", "result": [{"stream": {"a": "b"}, "values": [["not-a-time", secret_line]]}]},
    }
    loki = client_for(lambda _: httpx.Response(200, json=body))
    with pytest.raises(SourceUnavailable) as info:
        await loki.query_range('{a="b"}', start=1795322190674742925)
    assert "hunter2" not in str(info.value) and "not-a-time" not in str(info.value)


def test_time_parameters() -> None:
    from oncall_tui.models.loki import to_ns

    assert to_ns(1795325850) == 1795325850_000_000_000  # <= 10 digits: seconds, as Loki reads it
    assert to_ns(1795325850674742925) == 1795325850674742925
    assert to_ns(datetime(2026, 11, 22, 5, 34, 50, 296860, tzinfo=UTC)) == 1795325690296860000
    assert to_ns(1795325850.5) == 1795325850_500_000_000
    with pytest.raises(ValueError):
        to_ns(datetime(2026, 11, 22))  # naive


# ------------------------------------------------------------------------ follow --
T0 = 1_795_325_700_000_000_000


class FakeLoki:
    """A Loki that answers ``query_range`` over a growing list of lines, like the real one:
    ``start`` inclusive, ``end`` exclusive, ``limit`` across streams in time order,
    categorize-labels form. ``fail_calls`` are call numbers that raise ConnectError."""

    def __init__(self, fail_calls: Iterable[int] = ()) -> None:
        self.lines: list[tuple[int, dict[str, str], str]] = []
        self.fail_calls = set(fail_calls)
        self.calls: list[httpx.Request] = []

    def push(self, ts: int, line: str, **labels: str) -> None:
        self.lines.append((ts, labels or {"app": "a"}, line))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if len(self.calls) in self.fail_calls:
            raise httpx.ConnectError("connection refused", request=request)
        p = request.url.params
        assert p["direction"] == "forward"
        start, limit = int(p["start"]), int(p["limit"])
        end = int(p["end"]) if "end" in p else 1 << 63
        picked = sorted((x for x in self.lines if start <= x[0] < end), key=lambda x: x[0])[:limit]
        streams: dict[tuple[tuple[str, str], ...], list[Any]] = {}
        for ts, labels, line in picked:
            streams.setdefault(tuple(sorted(labels.items())), []).append([str(ts), line, {}])
        result = [{"stream": dict(k), "values": v} for k, v in streams.items()]
        data = {"resultType": "streams", "encodingFlags": ["categorize-labels"], "result": result}
        return httpx.Response(200, json={"status": "success", "data": data})


def key(entry: LogEntry) -> tuple[int, str, str]:
    return (entry.ts, ",".join(f"{k}={v}" for k, v in sorted(entry.labels.items())), entry.line)


@pytest.mark.parametrize("client_retries", [0, 2])
async def test_follow_resumes_after_a_disconnect_without_duplicates_or_gaps(client_retries: int) -> None:
    fake = FakeLoki(fail_calls={4})
    # Lines sharing one nanosecond across streams and within a stream, bursts bigger than a page.
    fake.push(T0, "first")
    fake.push(T0 + 1, "same ns, stream a", app="a")
    fake.push(T0 + 1, "same ns, stream b", app="b")
    fake.push(T0 + 1, "same ns, stream a, other line", app="a")
    later = [
        [(T0 + 1, "late at the resume ns", {"app": "c"}), (T0 + 5, "five", {"app": "a"})],
        [(T0 + 6 + i, f"burst {i}", {"app": "b"}) for i in range(7)],
        [(T0 + 20, "twenty", {"app": "a"}), (T0 + 20, "twenty", {"app": "b"})],
    ]
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        assert len(delays) < 50, "follow never delivered every line (a gap)"
        if seconds == 0.5 and later:  # a poll interval passed: new lines arrived
            for ts, line, labels in later.pop(0):
                fake.push(ts, line, **labels)

    loki = client_for(fake, retry=RetryPolicy(max_retries=client_retries, base=0.01, cap=0.01), sleep=sleep)
    follower = loki.follow(
        '{app=~".+"}', start=T0, limit=3, poll_interval=0.5, reconnect=RetryPolicy(max_retries=5, base=0.02, cap=0.02)
    )
    got: list[LogEntry] = []
    async for batch in follower:
        assert batch, "only non-empty batches are yielded"
        got.extend(batch)
        if len(got) >= len(fake.lines) and not later:
            break

    assert len({key(e) for e in got}) == len(got), "no duplicates"
    assert sorted(key(e) for e in got) == sorted(
        (ts, ",".join(f"{k}={v}" for k, v in sorted(lb.items())), ln) for ts, lb, ln in fake.lines
    ), "no gaps"
    assert [e.ts for e in got] == sorted(e.ts for e in got)
    starts = [int(r.url.params["start"]) for r in fake.calls]
    # The failed request (4th) is repeated from the same resume point.
    assert starts[4] == starts[3]
    backoffs = [d for d in delays if d != 0.5]
    if client_retries:
        assert follower.reconnects == 0 and loki.retries_done == 1
    else:
        assert follower.reconnects == 1 and loki.retries_done == 0
    assert len(backoffs) == 1 and 0 <= backoffs[0] <= 0.02  # one backoff, from the given policy
    assert follower.disconnected_since is None and follower.last_error is None


async def test_follow_reports_the_outage_then_gives_up_after_its_reconnects() -> None:
    fake = FakeLoki(fail_calls={2, 3, 4, 5})
    fake.push(T0, "one")
    seen_state: list[tuple[float | None, str]] = []
    follower = None

    async def sleep(_: float) -> None:
        if follower is not None and follower.disconnected_since is not None:
            seen_state.append((follower.disconnected_since, str(follower.last_error)))

    loki = client_for(fake, retry=RetryPolicy(max_retries=0), sleep=sleep)
    follower = loki.follow('{app="a"}', start=T0, reconnect=RetryPolicy(max_retries=2, base=0.01, cap=0.01))
    got = []
    with pytest.raises(SourceUnavailable):
        async for batch in follower:
            got.extend(batch)
    assert [e.line for e in got] == ["one"]
    assert len(seen_state) == 2 and len({s for s, _ in seen_state}) == 1, "disconnected since the first failure"
    assert "cannot connect" in seen_state[0][1]
    assert len(fake.calls) == 4  # 1 ok + 1 failure + 2 reconnect attempts


async def test_follow_widens_the_page_when_one_nanosecond_holds_more_than_a_page() -> None:
    fake = FakeLoki()
    for i in range(5):
        fake.push(T0, f"same instant {i}")
    fake.push(T0 + 1, "next")
    loki = client_for(fake)
    got: list[LogEntry] = []
    async for batch in loki.follow('{app="a"}', start=T0, limit=2):
        got.extend(batch)
        if got[-1].line == "next":
            break
    assert [e.line for e in got] == [f"same instant {i}" for i in range(5)] + ["next"]
    assert max(int(r.url.params["limit"]) for r in fake.calls) == 8
    assert int(fake.calls[-1].url.params["limit"]) == 8 and len(fake.calls) < 10


async def test_follow_steps_past_a_nanosecond_with_more_lines_than_loki_returns() -> None:
    fake = FakeLoki()
    for i in range(MAX_LIMIT + 1):
        fake.push(T0, f"same instant {i}")
    fake.push(T0 + 1, "next")
    polls = 0

    async def sleep(_: float) -> None:
        nonlocal polls
        polls += 1
        assert polls < 5, "follow keeps polling without progress"

    loki = client_for(fake, sleep=sleep)
    got: list[LogEntry] = []
    async for batch in loki.follow('{app="a"}', start=T0, limit=MAX_LIMIT):
        got.extend(batch)
        if got[-1].line == "next":
            break
    # The line beyond Loki's page limit at that one nanosecond is skipped; nothing repeats.
    assert len(got) == MAX_LIMIT + 1 and len({e.line for e in got}) == len(got)
    assert len(fake.calls) == 3


async def test_follow_rejects_a_metric_query() -> None:
    loki = client_for(Recorder(BY_FILE["query_range_matrix_count_by_level_llm_server.json"]))
    with pytest.raises(QueryRejected, match="log query"):
        async for _ in loki.follow('sum(count_over_time({a="b"}[1m]))', start=T0):
            pass


def test_categorize_header_constant() -> None:
    assert CATEGORIZE_LABELS == {"X-Loki-Response-Encoding-Flags": "categorize-labels"}


def test_entries_share_their_stream_labels_and_identical_metadata() -> None:
    """100,000 lines hold a few label/metadata mappings, not one per line."""
    from oncall_tui.models.loki import decode_query_body

    body = (
        b'{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":['
        b'{"stream":{"app":"a"},"values":[["3","x",{"structuredMetadata":{"detected_level":"info"}}],'
        b'["2","y",{"structuredMetadata":{"detected_level":"info"}}],["1","z"]]}]}}'
    )
    entries = decode_query_body(body).data.entries  # type: ignore[union-attr]
    assert [e.ts for e in entries] == [1, 2, 3]
    assert entries[0].labels is entries[1].labels is entries[2].labels
    assert entries[1].metadata is entries[2].metadata == {"detected_level": "info"}
    assert entries[0].metadata == {}


async def test_a_body_that_is_not_json_is_reported_as_before() -> None:
    loki = client_for(lambda _: httpx.Response(200, text="<html>proxy login</html>", headers={"content-type": "text/html"}))
    with pytest.raises(SourceUnavailable) as info:
        await loki.query_range('{a="b"}', start=1795322190674742925)
    assert "expected JSON, got text/html" in str(info.value)
