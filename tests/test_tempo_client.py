"""Every recorded Tempo response, served back through the real ``TempoClient``.

Each entry of ``shared/fixtures/tempo/_index.json`` becomes one test: an
``httpx.MockTransport`` answers the recorded path with the recorded status, content type and
body (anything else gets Tempo's own ``404 page not found``, as an older Tempo without v2
routes would answer); the test makes the client call a user of the app would, checks the
request the client sent against the recorded one, and what the caller gets back (typed data,
or the right error with the server's words). The README's quirks are then checked one by one.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from oncall_tui.clients.errors import (
    MalformedResponse,
    NotFound,
    QueryRejected,
    RateLimited,
    SourceUnavailable,
)
from oncall_tui.clients.http import RetryPolicy
from oncall_tui.clients.tempo import TempoClient
from oncall_tui.models.tempo.decode import parse_trace
from oncall_tui.models.tempo.ids import (
    InvalidTraceId,
    normalize_span_id,
    normalize_trace_id,
)
from oncall_tui.models.tempo.search import SearchResult, parse_search
from oncall_tui.models.tempo.tags import UNSCOPED
from oncall_tui.models.tempo.trace import Trace
from oncall_tui.models.tempo.values import TempoFormatError

from .conftest import FIXTURES

TEMPO = FIXTURES / "tempo"
INDEX = json.loads((TEMPO / "_index.json").read_text())
ENTRIES: list[dict[str, Any]] = INDEX["requests"]
MANIFEST = {t["trace_id"]: t for t in json.loads((TEMPO / "seed_manifest.json").read_text())["traces"]}
NOT_FOUND_PAGE = (TEMPO / "error_404_unknown_path.txt").read_bytes()
LEADING_ZERO_ID = "00008c39b02d1a29be6dc9535d8360c5"


def _body(name: str) -> bytes:
    raw = (TEMPO / name).read_bytes()
    return gzip.decompress(raw) if name.endswith(".gz") else raw


def _json(name: str) -> Any:
    return json.loads(_body(name))


def _is_trace_path(path: str) -> bool:
    return path.startswith(("/api/traces/", "/api/v2/traces/"))


def _same_path(sent: str, recorded: str) -> bool:
    """Trace paths match on the normalised id (the client pads ids Tempo would also pad)."""
    if _is_trace_path(sent) and _is_trace_path(recorded):
        s_prefix, _, s_id = sent.rpartition("/")
        r_prefix, _, r_id = recorded.rpartition("/")
        try:
            return s_prefix == r_prefix and normalize_trace_id(s_id) == normalize_trace_id(r_id)
        except InvalidTraceId:
            return sent == recorded
    return sent == recorded


class Recorder:
    """A MockTransport answering one recorded response on its path, 404 page elsewhere."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry
        self.body = _body(entry["file"])
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not _same_path(request.url.path, self.entry["path"]):
            return httpx.Response(404, headers={"content-type": "text/plain; charset=utf-8"}, content=NOT_FOUND_PAGE)
        headers = {"content-type": self.entry["content_type"]} if self.entry["content_type"] else {}
        return httpx.Response(self.entry["status"], headers=headers, content=self.body)

    @property
    def hit(self) -> httpx.Request:
        """The request that reached the recorded path."""
        return next(r for r in self.requests if _same_path(r.url.path, self.entry["path"]))


async def _no_sleep(_: float) -> None:
    return None


def _client(handler: Callable[[httpx.Request], httpx.Response], retries: int = 0) -> TempoClient:
    http = httpx.AsyncClient(base_url="http://tempo.test", transport=httpx.MockTransport(handler))
    return TempoClient(http, retry=RetryPolicy(max_retries=retries), sleep=_no_sleep)


def _int_or_none(value: str | None) -> int | None:
    return None if value is None else int(value)


def _call_for(entry: dict[str, Any], tempo: TempoClient) -> Callable[[], Awaitable[Any]]:
    """The client call that produces the recorded request."""
    path, p, method = entry["path"], entry["params"], entry["method"]
    start, end = _int_or_none(p.get("start")), _int_or_none(p.get("end"))
    if method == "POST":  # OTLP ingest: not a TempoClient method, the shared request path
        body = {"resourceSpans": []}
        return lambda: tempo.request("POST", path, json_body=body, idempotent=False)
    if _is_trace_path(path) and _generic(entry):
        # "not-a-trace-id": the client refuses it itself (test_invalid_trace_id_*); should a
        # Tempo answer such a request anyway, the shared request path maps its 400.
        return lambda: tempo.get_json(path)
    if _is_trace_path(path):
        trace_id = path.rsplit("/", 1)[1]
        return lambda: tempo.trace(
            trace_id,
            start=start,
            end=end,
            span_filter=p.get("q"),
            keep_hierarchy=p.get("keep_hierarchy") == "true",
        )
    if path == "/api/search" and "tags" in p:
        tags = dict(pair.split("=", 1) for pair in p["tags"].split(" "))
        min_duration = {"500ms": 0.5}.get(p.get("minDuration", ""), None)
        return lambda: tempo.search_tags(
            tags, start=start, end=end, limit=_int_or_none(p.get("limit")), min_duration=min_duration
        )
    if path == "/api/search":
        return lambda: tempo.search(
            p["q"], start=start, end=end, limit=_int_or_none(p.get("limit")), spss=_int_or_none(p.get("spss"))
        )
    if path in ("/api/search/tags", "/api/v2/search/tags"):
        return lambda: tempo.tag_names(p.get("scope"))
    if path.startswith(("/api/search/tag/", "/api/v2/search/tag/")):
        tag = path.split("/tag/", 1)[1].rsplit("/values", 1)[0]
        return lambda: tempo.tag_values(tag, traceql=p.get("q"))
    if path == "/api/metrics/query_range":
        return lambda: tempo.metrics_query_range(p["q"], start=start, end=end, step=p["step"])  # type: ignore[arg-type]
    if path == "/api/metrics/query":
        return lambda: tempo.metrics_query(p["q"], start=start, end=end)  # type: ignore[arg-type]
    if path == "/api/status/buildinfo":
        return tempo.buildinfo
    if path == "/api/echo":
        return tempo.echo
    return lambda: tempo.get_json(path)  # e.g. the unknown path: the shared error mapping


def _generic(entry: dict[str, Any]) -> bool:
    """Entries served through the base ``ApiClient`` request path, not a TempoClient method."""
    if _is_trace_path(entry["path"]):
        try:
            normalize_trace_id(entry["path"].rsplit("/", 1)[1])
        except InvalidTraceId:
            return True
        return False
    return entry["path"] in ("/api/nope", "/v1/traces")


def _expected_error(entry: dict[str, Any]) -> type[Exception] | None:
    name = entry["file"]
    if name.endswith(".pb"):
        return MalformedResponse  # binary OTLP where JSON was asked for
    if entry["status"] == 404 or name == "trace_v2_404_unknown_id.json":
        return NotFound  # v1: 404 with an empty body; v2: 200 with {"trace": {}}
    if entry["status"] == 400:
        return QueryRejected
    return None


def test_every_fixture_file_is_indexed_and_served() -> None:
    """No recorded response escapes the parametrised test below."""
    indexed = {e["file"] for e in ENTRIES}
    on_disk = {p.name for p in TEMPO.iterdir() if not p.name.startswith("_")}
    assert on_disk - indexed == {"README.md", "seed_manifest.json"}
    assert len(ENTRIES) == 51


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["file"])
async def test_recorded_response_through_client(entry: dict[str, Any]) -> None:
    rec = Recorder(entry)
    tempo = _client(rec)
    call = _call_for(entry, tempo)
    expected = _expected_error(entry)

    if expected is not None:
        with pytest.raises(expected) as info:
            await call()
        _check_error(entry, rec, info.value)
    else:
        _check_result(entry, await call())

    sent = rec.hit
    assert sent.method == entry["method"]
    if entry["method"] == "GET":
        assert dict(sent.url.params) == entry["params"]
    if not _generic(entry):
        assert sent.headers["accept"] == "application/json"  # never protobuf or the LLM format


def _check_error(entry: dict[str, Any], rec: Recorder, err: Exception) -> None:
    name = entry["file"]
    if name.endswith(".pb"):
        assert "expected JSON, got application/protobuf" in str(err)
        return
    if name in ("trace_v1_404_unknown_id.txt", "trace_v2_404_unknown_id.json"):
        assert "0123456789abcdef0123456789abcdef not found" in str(err)
        return
    if entry["content_type"] == "application/json":
        words = json.loads(rec.body)["message"][:50]
    else:
        words = rec.body.decode().strip()
    assert words.replace('"', '\\"')[:60] in str(err)
    assert isinstance(err, NotFound | QueryRejected) and err.status == entry["status"]


def _check_result(entry: dict[str, Any], result: Any) -> None:
    name, path = entry["file"], entry["path"]
    if _is_trace_path(path):
        assert isinstance(result, Trace)
        trace_id = normalize_trace_id(path.rsplit("/", 1)[1])
        assert result.trace_id == trace_id
        assert all(s.trace_id == trace_id for s in result.spans)
        want = MANIFEST[trace_id]
        if "filtered" in name:
            assert result.partial and "filtered" in result.message
            assert 0 < len(result.spans) < want["span_count"]
            assert any(s.status == "error" for s in result.spans)
        else:
            assert not result.partial
            assert len(result.spans) == want["span_count"]
            assert result.services == sorted(want["services"])
            assert (result.error_count > 0) == want["has_error"]
            roots = [s for s in result.spans if s.parent_id is None]
            assert [(r.service, r.name) for r in roots] == [(want["root_service"], want["root_name"])]
            assert abs(result.duration_ns / 1e6 - want["duration_ms"]) < 1
    elif path == "/api/search":
        assert isinstance(result, SearchResult)
        assert all(len(t.trace_id) == 32 for t in result.traces)
        assert all(t.trace_id in MANIFEST for t in result.traces)
        if "empty" in name or "matches_nothing" in name:
            assert result.traces == []
        else:
            assert result.traces
            assert result.metrics.inspected_bytes and result.metrics.inspected_bytes > 0
        if "tags" in entry["params"]:
            # Tag search: no span sets, no service stats.
            assert all(t.span_sets == [] and t.service_stats == {} for t in result.traces)
        elif result.traces:
            assert all(t.span_sets and t.span_count > 0 for t in result.traces)
        if "status" in entry["params"].get("q", "") or "error" in entry["params"].get("tags", ""):
            assert all(MANIFEST[t.trace_id]["has_error"] for t in result.traces)
    elif path.endswith("/search/tags"):
        assert isinstance(result, dict) and result
        if path.startswith("/api/v2/"):
            scope = entry["params"].get("scope")
            if scope:
                assert list(result) == [scope]
            else:
                assert {"resource", "span", "link"} <= set(result)
            assert "service.name" in result["resource"] and "service.name" not in result.get("span", [])
        else:
            assert list(result) == [UNSCOPED] and "http.route" in result[UNSCOPED]
    elif "/values" in path:
        assert result and all(isinstance(v.value, str) for v in result)
        if path.startswith("/api/v2/"):
            assert all(v.type for v in result)
        if "service" in path:
            assert {v.value for v in result} <= {"api-gateway", "feature-store", "llm-server", "model-router"}
            if "q" in entry["params"]:  # only services with error spans
                assert "feature-store" not in {v.value for v in result}
    elif path.startswith("/api/metrics/"):
        assert result and all(s.labels.get("resource.service.name") for s in result)
        if path.endswith("query_range"):
            assert all(len(s.samples) == 10 for s in result)
        else:
            assert all(s.value and s.value > 0 for s in result)
    elif path == "/api/status/buildinfo":
        assert result.version == "v3.1.0-dev" and result.revision == "ad33aa8f"
    elif path == "/api/echo":
        assert result is True
    elif path == "/v1/traces":
        assert result.status == 200 and json.loads(result.body) == {"partialSuccess": {}}
    else:  # pragma: no cover - a new fixture needs a check here
        raise AssertionError(f"no result check for {name}")


# ------------------------------------------------------------------ README quirks --
async def test_otlp_ingest_rejects_base64_ids_with_the_backends_words() -> None:
    entry = next(e for e in ENTRIES if e["file"] == "otlp_push_400_base64_ids.json")
    tempo = _client(Recorder(entry))
    with pytest.raises(QueryRejected) as info:
        await tempo.request("POST", "/v1/traces", json_body={"resourceSpans": []}, idempotent=False)
    assert "ID.UnmarshalJSONIter: length mismatch" in str(info.value)


def test_ids_in_trace_json_are_base64_and_match_hex_everywhere_else() -> None:
    trace = parse_trace(_json("trace_v2_00008c39b02d1a29be6dc9535d8360c5_leading_zeros.json"))
    assert trace.trace_id == LEADING_ZERO_ID  # from "AACMObAtGim+bclTXYNgxQ==", zeros kept
    ids = {s.span_id for s in trace.spans}
    # Span ids from a search (hex) are the same spans as in the trace (base64 there).
    search = parse_search(_json("search_traceql_leading_zero_trace.json"))
    assert {s.span_id for s in search.traces[0].span_sets[0].spans} <= ids
    root = parse_search(_json("search_traceql_leading_zero_root_span.json")).traces[0].span_sets[0].spans[0]
    assert root.span_id == "00bcf5665e4d1b11"  # span ids keep their leading zeros
    assert trace.span("00bcf5665e4d1b11") is not None and trace.span("00bcf5665e4d1b11").parent_id is None
    raw_root = next(
        s for rs in _json("trace_v2_00008c39b02d1a29be6dc9535d8360c5_leading_zeros.json")["trace"]["resourceSpans"]
        for ss in rs["scopeSpans"] for s in ss["spans"] if "parentSpanId" not in s
    )
    assert base64.b64decode(raw_root["spanId"]).hex() == "00bcf5665e4d1b11"
    # Links carry base64 ids too: the retry links to the failed attempt in the same trace.
    oom = parse_trace(_json("trace_v2_a2316ce28eb6b90c092737eba16c368f_cuda_oom_retry.json"))
    (link,) = [ln for s in oom.spans for ln in s.links]
    assert link.trace_id == oom.trace_id and oom.span(link.span_id) is not None
    assert ("link.reason", "retry_of") in link.attributes


def test_search_strips_leading_zeros_and_we_pad_them_back() -> None:
    body = _json("search_traceql_leading_zero_trace.json")
    assert body["traces"][0]["traceID"] == "8c39b02d1a29be6dc9535d8360c5"
    result = parse_search(body)
    assert result.traces[0].trace_id == LEADING_ZERO_ID
    assert result.traces[0].duration_ms == 1071 and result.traces[0].start_ns == 1795325725674742925


def test_64bit_numbers_as_strings_become_ints_and_text() -> None:
    trace = parse_trace(_json("trace_v2_a2316ce28eb6b90c092737eba16c368f_cuda_oom_retry.json"))
    root = next(s for s in trace.spans if s.parent_id is None)
    assert root.start_ns == 1795325689674742925 and isinstance(root.start_ns, int)
    assert root.end_ns == 1795325692771260371
    retry = next(e for s in trace.spans for e in s.events if e.name == "retry")
    assert retry.time_ns == 1795325690298860371 and retry.attr("retry.attempt") == "1"
    booleans = [v for s in trace.spans for e in s.events for k, v in e.attributes if k == "exception.escaped"]
    assert booleans == ["true"]
    stats = parse_search(_json("search_traceql_leading_zero_trace.json")).traces[0].span_sets[0].spans
    assert stats[0].duration_ns == 19868433


def test_status_enums_unset_status_and_exception_events() -> None:
    trace = parse_trace(_json("trace_v2_a2316ce28eb6b90c092737eba16c368f_cuda_oom_retry.json"))
    by_status: dict[str, int] = {}
    for s in trace.spans:
        by_status[s.status] = by_status.get(s.status, 0) + 1
    assert set(by_status) == {"unset", "error"}  # "status": {} is unset
    prefill = next(s for s in trace.spans if s.name == "prefill" and s.is_error)
    assert prefill.kind == "internal" and prefill.attr("k8s.pod.name") == "llm-server-1"
    assert [s.kind for s in trace.spans if s.name == "llm-server.Generate"] == ["client", "client"]
    (exc,) = prefill.exceptions
    assert exc.exception_type == "torch.OutOfMemoryError"
    assert exc.exception_message and exc.exception_message.startswith("CUDA out of memory")
    assert exc.exception_stacktrace and exc.exception_stacktrace.startswith("Traceback (most recent call last):\n")
    root = next(s for s in trace.spans if s.parent_id is None)
    assert root.kind == "server" and root.status == "unset" and root.status_message == ""


def test_v1_and_v2_shapes_give_the_same_spans() -> None:
    def key(t: Trace) -> set[tuple[Any, ...]]:
        return {(s.span_id, s.parent_id, s.service, s.name, s.kind, s.start_ns, s.end_ns, s.status) for s in t.spans}

    v1 = parse_trace(_json("trace_v1_922f3d9b20be061f1b6990928701ce93_chat_ok.json"))
    v2 = parse_trace(_json("trace_v2_922f3d9b20be061f1b6990928701ce93_chat_ok.json"))
    assert key(v1) == key(v2) and len(v1.spans) == 13
    big1 = parse_trace(_json("trace_v1_1725f3a1e7d5d2559253987c1463dfc5_huge_generation_2000_spans.json.gz"))
    big2 = parse_trace(_json("trace_v2_1725f3a1e7d5d2559253987c1463dfc5_huge_generation_2000_spans.json"))
    assert key(big1) == key(big2) and len(big1.spans) == 2000
    # The simplified "LLM" JSON (hex ids, attribute maps) maps to the same spans as well.
    llm = parse_trace(_json("trace_v2_a2316ce28eb6b90c092737eba16c368f_cuda_oom_retry_accept_llm.json"))
    full = parse_trace(_json("trace_v2_a2316ce28eb6b90c092737eba16c368f_cuda_oom_retry.json"))
    assert key(llm) == key(full)
    a = next(s for s in llm.spans if s.name == "prefill" and s.is_error)
    b = full.span(a.span_id)
    assert b is not None and dict(a.attributes) == dict(b.attributes)


def test_resource_attributes_are_shared_and_reachable_from_spans() -> None:
    trace = parse_trace(_json("trace_v2_a2316ce28eb6b90c092737eba16c368f_cuda_oom_retry.json"))
    llm = [s for s in trace.spans if s.service == "llm-server"]
    assert {s.attr("k8s.pod.name") for s in llm} == {"llm-server-0", "llm-server-1"}
    assert all(s.attr("gpu.model") for s in llm)
    pods = {id(s.resource) for s in llm}
    assert len(pods) == 2  # one resource list per (service, pod), shared by its spans
    assert trace.spans[0].attr("no.such.key") is None


def test_omitted_zero_fields_have_defaults() -> None:
    result = parse_search(_json("search_traceql_status_error.json"))
    stats = {t.trace_id: t.service_stats for t in result.traces}
    timeout = stats["1dcc9ded87ae5bec96ae022692df519a"]
    assert timeout["feature-store"].error_count == 0  # errorCount missing when 0
    assert timeout["llm-server"].error_count == 1
    assert result.metrics.inspected_traces is None  # sometimes missing
    assert not result.metrics.partial
    # spss=10: at most 10 spans per set, `matched` is the real count.
    assert all(len(ss.spans) <= 10 and ss.matched >= len(ss.spans) for t in result.traces for ss in t.span_sets)
    # Only the attributes the query touched: here `status`.
    assert all(sp.attributes == [("status", "error")] for t in result.traces for ss in t.span_sets for sp in ss.spans)


def test_deprecated_single_span_set_is_used_when_span_sets_is_missing() -> None:
    body = _json("search_traceql_leading_zero_trace.json")
    del body["traces"][0]["spanSets"]  # an older Tempo sends only spanSet
    trace = parse_search(body).traces[0]
    assert len(trace.span_sets) == 1 and trace.span_sets[0].matched == 13


def test_metrics_samples_without_value_are_zero() -> None:
    from oncall_tui.models.tempo.metrics import parse_metrics

    series = parse_metrics(_json("metrics_query_range_rate_by_service.json"))
    gateway = next(s for s in series if s.labels["resource.service.name"] == "api-gateway")
    assert gateway.samples[0] == (1795325610000, 0.0)
    assert gateway.samples[3] == (1795325700000, 0.26666666666666666)


# ------------------------------------------------------------------ client behaviour --
def _trace_server(v2: bool, found: bool = True) -> tuple[list[str], Callable[[httpx.Request], httpx.Response]]:
    """A Tempo with or without the v2 trace route; records the paths asked for."""
    paths: list[str] = []
    v1_body = _body("trace_v1_922f3d9b20be061f1b6990928701ce93_chat_ok.json")
    v2_body = _body("trace_v2_922f3d9b20be061f1b6990928701ce93_chat_ok.json")

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        paths.append(path)
        if path.startswith("/api/v2/traces/"):
            if not v2:
                return httpx.Response(404, content=NOT_FOUND_PAGE, headers={"content-type": "text/plain"})
            return httpx.Response(200, content=v2_body if found else b'{"trace":{},"metrics":{}}')
        if path.startswith("/api/traces/"):
            return httpx.Response(200, content=v1_body) if found else httpx.Response(404)
        return httpx.Response(404, content=NOT_FOUND_PAGE)

    return paths, handler


async def test_v2_answer_is_used_without_asking_v1() -> None:
    paths, handler = _trace_server(v2=True)
    trace = await _client(handler).trace("922f3d9b20be061f1b6990928701ce93")
    assert len(trace.spans) == 13
    assert paths == ["/api/v2/traces/922f3d9b20be061f1b6990928701ce93"]


async def test_older_tempo_without_v2_falls_back_to_v1_and_remembers() -> None:
    paths, handler = _trace_server(v2=False)
    tempo = _client(handler)
    trace = await tempo.trace("922f3d9b20be061f1b6990928701ce93")
    assert len(trace.spans) == 13
    assert paths == ["/api/v2/traces/922f3d9b20be061f1b6990928701ce93", "/api/traces/922f3d9b20be061f1b6990928701ce93"]
    await tempo.trace("922F3D9B20BE061F1B6990928701CE93")
    assert paths[2:] == ["/api/traces/922f3d9b20be061f1b6990928701ce93"]  # no second v2 try


async def test_unknown_trace_is_not_found_in_both_shapes() -> None:
    for v2 in (True, False):
        paths, handler = _trace_server(v2=v2, found=False)
        with pytest.raises(NotFound) as info:
            await _client(handler).trace("0123456789abcdef0123456789abcdef")
        assert "trace 0123456789abcdef0123456789abcdef not found" in str(info.value)
        assert "(empty body)" not in str(info.value)
        assert len(paths) == (1 if v2 else 2)


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("922f3d9b20be061f1b6990928701ce93", "922f3d9b20be061f1b6990928701ce93"),
        ("922F3D9B20BE061F1B6990928701CE93", "922f3d9b20be061f1b6990928701ce93"),
        ("  0x922f3d9b20be061f1b6990928701ce93\n", "922f3d9b20be061f1b6990928701ce93"),
        ("8c39b02d1a29be6dc9535d8360c5", LEADING_ZERO_ID),  # as search results show it
        ("AACMObAtGim+bclTXYNgxQ==", LEADING_ZERO_ID),  # as trace JSON shows it
        ("AACMObAtGim-bclTXYNgxQ", LEADING_ZERO_ID),  # URL-safe, unpadded
        ("ojFs4o62uQwJJzfroWw2jw==", "a2316ce28eb6b90c092737eba16c368f"),
        ("be6dc9535d8360c5", "0000000000000000be6dc9535d8360c5"),  # 64-bit (Jaeger) id
    ],
)
def test_trace_id_normalisation(spelling: str, expected: str) -> None:
    assert normalize_trace_id(spelling) == expected


@pytest.mark.parametrize(
    "bad", ["", "   ", "not-a-trace-id", "0" * 32, "1" * 33, "xyz!", "Z" * 32, "ggg", "ojFs4o62uQwJJzfroWw2jw"[:-2]]
)
def test_invalid_trace_ids_are_refused(bad: str) -> None:
    with pytest.raises(InvalidTraceId):
        normalize_trace_id(bad)


async def test_invalid_trace_id_is_refused_before_any_request() -> None:
    sent: list[httpx.Request] = []
    tempo = _client(lambda r: sent.append(r) or httpx.Response(500))
    with pytest.raises(InvalidTraceId):
        await tempo.trace("not-a-trace-id")
    assert sent == []


async def test_invalid_trace_id_400_from_tempo_keeps_its_words() -> None:
    """Should a Tempo refuse an id anyway, its plain-text 400 reaches the user."""
    entry = next(e for e in ENTRIES if e["file"] == "trace_v1_400_invalid_id.txt")
    tempo = _client(Recorder(entry))
    with pytest.raises(QueryRejected) as info:
        await tempo.get_json(entry["path"])
    assert info.value.status == 400
    assert "trace IDs can only contain hex characters: invalid character 'n' at position 1" in str(info.value)


async def test_stripped_id_is_padded_before_it_is_sent() -> None:
    paths, handler = _trace_server(v2=True)
    await _client(handler).trace("8c39b02d1a29be6dc9535d8360c5")
    assert paths == [f"/api/v2/traces/{LEADING_ZERO_ID}"]


async def test_job_queue_full_is_rate_limited_and_retried() -> None:
    answers = [
        httpx.Response(429, content=b"job queue full", headers={"content-type": "text/plain; charset=utf-8"}),
        httpx.Response(200, content=_body("search_traceql_empty_result.json")),
    ]
    tempo = _client(lambda r: answers.pop(0), retries=3)
    result = await tempo.search('{ resource.service.name = "nope" }')
    assert result.traces == [] and tempo.retries_done == 1


async def test_job_queue_full_after_the_retries_is_rate_limited_with_tempos_words() -> None:
    calls: list[httpx.Request] = []

    def busy(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(429, content=b"job queue full\n", headers={"content-type": "text/plain"})

    tempo = _client(busy, retries=2)
    with pytest.raises(RateLimited) as info:
        await tempo.search("{ status = error }")
    assert str(info.value) == "tempo: HTTP 429: job queue full"
    assert info.value.badge == "RATE-LIMITED" and len(calls) == 3


async def test_hostile_plain_text_error_is_sanitised() -> None:
    body = b"invalid TraceQL query: \x1b]52;c;ZWNobyBwd25lZA==\x07 [/] [@click=app.quit]x"
    tempo = _client(lambda r: httpx.Response(400, content=body, headers={"content-type": "text/plain"}))
    with pytest.raises(QueryRejected) as info:
        await tempo.search("{ }")
    text = str(info.value)
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in text and "[@click=app.quit]" in text


async def test_long_plain_text_error_is_cut_to_200_characters() -> None:
    tempo = _client(lambda r: httpx.Response(500, content=b"E" * 5000, headers={"content-type": "text/plain"}))
    with pytest.raises(SourceUnavailable) as info:
        await tempo.buildinfo()
    assert info.value.message == "E" * 200


async def test_range_limit_error_comes_with_guidance() -> None:
    msg = b"range specified by start and end exceeds 168h0m0s. received start=1 end=999999"
    tempo = _client(lambda r: httpx.Response(400, content=msg, headers={"content-type": "text/plain"}))
    with pytest.raises(QueryRejected) as info:
        await tempo.search("{ }", start=1, end=999999)
    assert "exceeds 168h0m0s" in str(info.value) and "narrow the time range" in str(info.value)


async def test_malformed_trace_is_a_clear_bad_response_not_a_crash() -> None:
    body = {"trace": {"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "AAAAAAAAAAE=", "startTimeUnixNano": "x1"}]}]}]}}
    tempo = _client(lambda r: httpx.Response(200, json=body))
    with pytest.raises(MalformedResponse) as info:
        await tempo.trace("922f3d9b20be061f1b6990928701ce93")
    text = str(info.value)
    assert "unexpected response shape" in text
    assert "trace.resourceSpans[0].scopeSpans[0].spans[0]: startTimeUnixNano is not an integer" in text
    assert "x1" not in text  # field names, never values


async def test_time_parameters_are_unix_seconds_covering_the_window() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=_body("search_traceql_empty_result.json"))

    tempo = _client(handler)
    start = datetime(2026, 11, 22, 6, 0, 0, 500_000, tzinfo=UTC)
    await tempo.search("{ }", start=start, end=1795325889.2, limit=20, spss=5)
    params = dict(sent[0].url.params)
    assert params == {"q": "{ }", "start": str(int(start.timestamp())), "end": "1795325890", "limit": "20", "spss": "5"}


async def test_tag_search_builds_logfmt_and_quotes_odd_values() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=_body("search_tags_error_true_matches_nothing.json"))

    tempo = _client(handler)
    await tempo.search_tags({"service.name": "llm-server", "http.route": 'say "hi" now'}, max_duration=2.5)
    params = dict(sent[0].url.params)
    assert params["tags"] == 'service.name=llm-server http.route="say \\"hi\\" now"'
    assert params["maxDuration"] == "2.5s"
    with pytest.raises(ValueError):
        await tempo.search_tags({"bad key": "x"})


async def test_tag_values_falls_back_to_v1_with_the_unscoped_name() -> None:
    entry = next(e for e in ENTRIES if e["file"] == "search_tag_service_name_values_v1.json")
    rec = Recorder(entry)
    tempo = _client(rec)
    values = await tempo.tag_values("resource.service.name")
    assert [r.url.path for r in rec.requests] == [
        "/api/v2/search/tag/resource.service.name/values",
        "/api/search/tag/service.name/values",
    ]
    assert [v.value for v in values] == ["api-gateway", "feature-store", "llm-server", "model-router"]
    assert all(v.type == "" for v in values)
    with pytest.raises(ValueError):
        await tempo.tag_values("a/../b")


async def test_echo_that_is_not_tempo_is_a_bad_response() -> None:
    tempo = _client(lambda r: httpx.Response(200, content=b"<html>proxy</html>"))
    with pytest.raises(MalformedResponse):
        await tempo.echo()


# ----------------------------------------------------------- malformed input, model --
@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([], "not an object"),
        ({"nope": 1}, "none of 'trace', 'batches', 'resourceSpans'"),
        ({"batches": {"a": 1}}, "batches is an object, not a list or null"),
        ({"batches": [5]}, "batches[0] is an integer, not an object"),
        ({"batches": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "1"}]}]}]}, "spans[0]: spanId is missing"),
        ({"batches": [{"scopeSpans": [{"spans": [{"spanId": "!!"}]}]}]}, "spans[0]: spanId: id is neither hex nor base64 of 8 bytes"),
        ({"batches": [{"scopeSpans": [{"spans": [{"spanId": "AAAAAAAAAAE="}]}]}]}, "startTimeUnixNano is missing"),
        (
            {"batches": [{"scopeSpans": [{"spans": [{"spanId": "AAAAAAAAAAE=", "startTimeUnixNano": "1", "endTimeUnixNano": "2", "status": "bad"}]}]}]},
            "batches[0].scopeSpans[0].spans[0].status is a string, not an object or null",
        ),
        (
            {"batches": [{"scopeSpans": [{"spans": [{"spanId": "AAAAAAAAAAE=", "startTimeUnixNano": "1", "endTimeUnixNano": "2", "events": [{"name": "x"}]}]}]}]},
            "events[0].timeUnixNano is missing",
        ),
        ({"trace": []}, "trace is a list, not an object or null"),
        (b"{\"batches\": [", "trace response is not valid JSON (Input data was truncated)"),
        ({"batches": [{"scopeSpans": [{"spans": [{"spanId": "AAAAAAAAAAE=", "startTimeUnixNano": "sekrit"}]}]}]}, "startTimeUnixNano is not an integer (str)"),
    ],
)
def test_malformed_trace_bodies_raise_a_value_error_saying_where(body: Any, words: str) -> None:
    with pytest.raises(TempoFormatError) as info:
        parse_trace(body)
    assert isinstance(info.value, ValueError)
    assert words in str(info.value)
    assert "sekrit" not in str(info.value)


def test_odd_but_valid_values_are_tolerated() -> None:
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "k", "value": {"arrayValue": {"values": [{"intValue": 1}, {"stringValue": "a"}]}}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "spanId": "00000000000000ab",  # hex, as other encoders send it
                                "startTimeUnixNano": 10,  # a number instead of a string
                                "endTimeUnixNano": 5.0,  # ends before it starts
                                "kind": 2,  # enum as integer
                                "status": {"code": 2, "message": "boom"},
                                "attributes": [{"key": "d", "value": {"doubleValue": 0.5}}, {"key": "e", "value": {}}, "junk"],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    (span,) = parse_trace(body, trace_id="ab").spans
    assert span.trace_id == "000000000000000000000000000000ab"
    assert span.span_id == "00000000000000ab" and span.service == "unknown_service"
    assert (span.kind, span.status, span.status_message) == ("server", "error", "boom")
    assert span.duration_ns == 0
    assert span.resource == [("k", "[1, a]")]
    assert span.attributes == [("d", "0.5"), ("e", ""), ("<attribute>", "<malformed: str>")]


def test_empty_trace_shapes_parse_to_an_empty_trace() -> None:
    assert parse_trace(_json("trace_v2_404_unknown_id.json")).empty
    assert parse_trace({"batches": []}).empty
    assert parse_trace({"trace": None}).empty


def test_span_id_normalisation() -> None:
    assert normalize_span_id("bcf5665e4d1b11") == "00bcf5665e4d1b11"
    assert normalize_span_id("6iCwsPK+3+M=") == "ea20b0b0f2bedfe3"
    with pytest.raises(ValueError):
        normalize_span_id("ojFs4o62uQwJJzfroWw2jw==")  # 16 bytes: a trace id, not a span id


# ---------------------------------------------------------------- TraceQL builders --
_RECORDED_Q = {e["file"]: e["params"].get("q") for e in ENTRIES}


def go_unquote(literal: str) -> str:
    """Read a TraceQL string literal back as Tempo's lexer does (Go scanner + strconv.Unquote)."""
    assert literal[0] == literal[-1] == '"' and len(literal) >= 2
    body, out, i = literal[1:-1], [], 0
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}
    while i < len(body):
        ch = body[i]
        assert ch not in '"\n', "the literal would end or break here"
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        else:
            size = {"x": 2, "u": 4, "U": 8}[nxt]
            out.append(chr(int(body[i + 2 : i + 2 + size], 16)))
            i += 2 + size
    return "".join(out)


HOSTILE_SERVICES = [
    'a"b',
    "a\\b",
    "x\ny\r\tz",
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    '" } || { true } | { "',
    "\\\" && status = error",
    "\u202eevil\u200b",
    "llm-server 🚀",
    "\x00\x7f\x9b\u2028",
]


@pytest.mark.parametrize("service", HOSTILE_SERVICES)
def test_hostile_service_names_stay_one_string_literal(service: str) -> None:
    from oncall_tui.core.traceql import failing_traces, slow_traces, string_literal

    literal = string_literal(service)
    assert go_unquote(literal) == service
    assert all(ch.isprintable() for ch in literal)  # controls and bidi written as escapes
    for query in (slow_traces(service, 1.0), failing_traces(service)):
        prefix = "{ resource.service.name = "
        assert query.startswith(prefix)
        rest = query[len(prefix):]
        end = len(literal)
        assert rest[:end] == literal and go_unquote(rest[:end]) == service
        assert rest[end:] in (" && kind = server && duration > 1s }", " && status = error }")


def test_builders_match_the_recorded_queries() -> None:
    from oncall_tui.core.traceql import failing_traces, slow_traces, trace_by_id

    assert trace_by_id("8c39b02d1a29be6dc9535d8360c5") == _RECORDED_Q["search_traceql_leading_zero_trace.json"]
    assert failing_traces() == _RECORDED_Q["search_traceql_status_error.json"]
    assert slow_traces("llm-server", 0.5, server_spans=False) == _RECORDED_Q[
        "search_traceql_llm_server_duration_gt_500ms.json"
    ]
    assert slow_traces("llm-server") == '{ resource.service.name = "llm-server" && kind = server && duration > 500ms }'
    assert failing_traces("nope") == '{ resource.service.name = "nope" && status = error }'
    with pytest.raises(InvalidTraceId):
        trace_by_id('x" } || { true')


def test_slow_threshold_from_a_latency_hint_is_readable() -> None:
    from oncall_tui.core.traceql import slow_threshold, slow_traces

    assert slow_traces("s", latency_hint=0.8734).endswith("duration > 870ms }")
    assert slow_traces("s", latency_hint=12.345).endswith("duration > 12s }")
    assert slow_traces("s", latency_hint=0.0000123).endswith("duration > 1ms }")  # floor
    assert slow_threshold(None) == slow_threshold(float("nan")) == slow_threshold(0) == 0.5


@pytest.mark.parametrize(
    ("seconds", "literal"),
    [(0, "0ns"), (1e-9, "1ns"), (0.00025, "250us"), (0.00125, "1.25ms"), (0.5, "500ms"), (2, "2s"), (90, "90s"), (1.5, "1.5s")],
)
def test_duration_literals(seconds: float, literal: str) -> None:
    from oncall_tui.core.traceql import duration_literal

    assert duration_literal(seconds) == literal


def test_bad_durations_and_attribute_names() -> None:
    from oncall_tui.core.traceql import attribute, duration_literal

    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            duration_literal(bad)
    assert attribute("http.route") == "span.http.route"
    assert attribute("service.name", "resource") == "resource.service.name"
    assert attribute('odd "name" {x}', "resource") == 'resource."odd \\"name\\" {x}"'
    assert attribute("k", "") == ".k"
    with pytest.raises(ValueError):
        attribute("x", "evil} || {")


def test_slowest_orders_search_results() -> None:
    from oncall_tui.core.traceql import slowest

    result = parse_search(_json("search_traceql_status_error.json"))
    assert [t.duration_ms for t in slowest(result.traces)] == sorted((t.duration_ms for t in result.traces), reverse=True)
    top = slowest(result.traces, 1)
    assert [t.trace_id for t in top] == ["1dcc9ded87ae5bec96ae022692df519a"]  # the 30 s router timeout


# ------------------------------------------------------------- big traces, bytes --
async def test_a_trace_may_be_bigger_than_other_answers_but_is_still_capped() -> None:
    """A 50,000-span trace is ~40 MB of JSON: over the client's cap for other answers, under
    the trace cap; the trace cap still holds (ResponseTooLarge, not a crash)."""
    from oncall_tui.clients.errors import ResponseTooLarge

    body = _body("trace_v2_922f3d9b20be061f1b6990928701ce93_chat_ok.json")
    tempo = _client(lambda r: httpx.Response(200, content=body, headers={"content-type": "application/json"}))
    tempo.max_bytes = len(body) // 2
    trace = await tempo.trace("922f3d9b20be061f1b6990928701ce93")
    assert trace.spans
    with pytest.raises(ResponseTooLarge):
        await tempo.search("{ }")  # other answers keep the client's cap
    tempo.trace_max_bytes = len(body) // 2  # type: ignore[misc]
    with pytest.raises(ResponseTooLarge):
        await tempo.trace("922f3d9b20be061f1b6990928701ce93")


def test_spans_are_not_tracked_by_the_gc_and_attributes_decode_lazily() -> None:
    import gc

    import msgspec

    trace = parse_trace(_body("trace_v2_a2316ce28eb6b90c092737eba16c368f_cuda_oom_retry.json"))
    span = trace.spans[0]
    assert not gc.is_tracked(span)
    assert type(span.raw_attributes) is msgspec.Raw
    assert span.attributes and span.raw_attributes is None


def test_bytes_that_are_not_utf8_become_replacement_characters() -> None:
    body = (
        b'{"batches":[{"scopeSpans":[{"spans":[{"spanId":"AAAAAAAAAAE=","startTimeUnixNano":"1",'
        b'"endTimeUnixNano":"2","name":"n\xff","attributes":[{"key":"k","value":{"stringValue":"v\xfe"}}]}]}]}]}'
    )
    (span,) = parse_trace(body).spans
    assert span.name == "n\ufffd" and span.attributes == [("k", "v\ufffd")]
