"""Logs written through Loki's native OTLP endpoint (issue 17): service/pod labels, levels and
trace → logs, on the fixtures of ``tests/fixtures/loki_otlp`` (derived from the real recorded
``shared/fixtures/loki`` responses; see that folder's README for exactly how).

Three paths: service and pod detection (``service_name``/``k8s_pod_name``), the level from
structured metadata (``detected_level``/``severity_text``/``severity_number``), and the
trace → logs LogQL (``| trace_id="…"`` through structured metadata when the stream has it,
``|= "…"`` text match otherwise); plus the client's categorize-labels header.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from oncall_tui.clients import RetryPolicy
from oncall_tui.clients.drill import DrillDown
from oncall_tui.clients.loki import CATEGORIZE_LABELS, LokiClient
from oncall_tui.core.logs.conventions import (
    LogConventions,
    pod_label,
    service_label,
    stream_source,
    trace_logs_logql,
)
from oncall_tui.core.logs.levels import detect_level, entry_level, otel_severity_level
from oncall_tui.core.logs.logql import build_logql
from oncall_tui.core.logs.traceids import entry_trace_id
from oncall_tui.models.loki import LogEntry, StreamsResult, parse_loki_query_data
from oncall_tui.settings import Context

from .conftest import FIXTURES

OTLP = Path(__file__).parent / "fixtures" / "loki_otlp"
INDEX = json.loads((OTLP / "_index.json").read_text())
BY_FILE: dict[str, dict[str, Any]] = {e["file"]: e for e in INDEX["requests"]}
CLASSIC = FIXTURES / "loki"
OOM = "a2316ce28eb6b90c092737eba16c368f"
CAT = "query_range_otlp_llm_server_limit20_categorize_labels.json"
MERGED = "query_range_otlp_llm_server_limit20.json"
TRACE_CAT = "query_range_otlp_trace_id_metadata_categorize_labels.json"
TRACE_MERGED = "query_range_otlp_trace_id_metadata.json"
TEXT_MATCH = "query_range_otlp_line_filter_trace_id.json"
OTLP_LABELS = ("k8s_namespace_name", "k8s_pod_name", "service_name")


def body(name: str, folder: Path = OTLP) -> Any:
    return json.loads((folder / name).read_text())


def entries(name: str, folder: Path = OTLP) -> tuple[list[LogEntry], bool]:
    data = parse_loki_query_data(body(name, folder)["data"])
    assert isinstance(data, StreamsResult)
    return data.entries, data.categorized


def serve(files: dict[str, str], seen: list[httpx.Request]) -> httpx.MockTransport:
    """Answers each path (and, for query_range, the query) with one fixture file."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        key = request.url.path
        if key == "/loki/api/v1/query_range":
            key += " " + request.url.params["query"]
        name = files.get(key)
        if name is None:
            return httpx.Response(404, text="404 page not found\n", headers={"Content-Type": "text/plain"})
        return httpx.Response(
            200, content=(OTLP / name).read_bytes(), headers={"Content-Type": BY_FILE[name]["content_type"]}
        )

    return httpx.MockTransport(handler)


def drill(transport: httpx.MockTransport) -> DrillDown:
    context = Context.model_validate({"name": "otlp", "endpoints": {"loki": {"url": "http://loki.test"}}})
    return DrillDown(context, None, transport=transport)


# ------------------------------------------------------------------- provenance --
def test_every_file_is_indexed_and_its_provenance_stated() -> None:
    on_disk = {p.name for p in OTLP.glob("*.json")} - {"_index.json"}
    assert on_disk == set(BY_FILE)
    assert INDEX["provenance"] in ("derived", "recorded")
    for entry in INDEX["requests"]:
        assert entry["provenance"] == INDEX["provenance"]
        if entry["provenance"] == "derived":
            assert (CLASSIC / entry["derived_from"]).is_file(), entry
    readme = (OTLP / "README.md").read_text()
    assert "DERIVED" in readme and all(name in readme for name in BY_FILE)


@pytest.mark.skipif(INDEX["provenance"] != "derived", reason="recorded from a real Loki")
def test_derived_files_are_what_derive_py_makes(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(OTLP / "derive.py"), "--source", str(CLASSIC), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in [*BY_FILE, "_index.json"]:
        assert (tmp_path / name).read_text() == (OTLP / name).read_text(), name


def test_derived_entries_keep_the_recorded_timestamps_ids_and_stats() -> None:
    if INDEX["provenance"] != "derived":
        pytest.skip("recorded from a real Loki")
    for name, entry in BY_FILE.items():
        if not name.startswith("query_range"):
            continue
        source = body(entry["derived_from"], CLASSIC)
        assert body(name)["data"]["stats"] == source["data"]["stats"], name
        if name == TEXT_MATCH:
            continue
        derived, _ = entries(name)
        real, _ = entries("query_range_streams_llm_server_limit20_categorize_labels.json" if "limit20" in name
                          else "query_range_streams_json_parser_trace_id_categorize_labels.json", CLASSIC)
        assert sorted(e.ts for e in derived) == sorted(e.ts for e in real if "trace_id" in name and OOM in e.line
                                                       or "trace_id" not in name)
        real_ids = {e.ts: e.metadata.get("trace_id") for e in real}
        for e in derived:
            assert entry_trace_id(e) == real_ids[e.ts] or real_ids[e.ts] is None


# ---------------------------------------------------------- the OTLP shape itself --
def test_categorized_streams_carry_only_index_labels_and_the_rest_is_metadata() -> None:
    found, categorized = entries(CAT)
    assert categorized and found
    for e in found:
        assert tuple(sorted(e.labels)) == OTLP_LABELS
        assert {"detected_level", "severity_number", "severity_text", "scope_name"} <= set(e.metadata)
        assert not e.parsed
    traced = [e for e in found if "trace_id" in e.metadata]
    assert traced, "some lines were written inside a span"
    assert all(e.metadata["trace_id"] not in e.line for e in traced), "OTLP bodies do not repeat the id"


def test_merged_form_splits_streams_by_metadata_and_keeps_the_same_lines() -> None:
    merged, categorized = entries(MERGED)
    cat, _ = entries(CAT)
    assert not categorized
    assert [(e.ts, e.line) for e in merged] == [(e.ts, e.line) for e in cat]
    assert len({e.stream for e in merged}) > len({e.stream for e in cat})
    for m, c in zip(merged, cat, strict=True):
        assert m.labels == {**c.labels, **c.metadata}
        assert not m.metadata


def test_the_text_match_finds_nothing_and_the_metadata_filter_finds_the_trace() -> None:
    assert body(TEXT_MATCH)["data"]["result"] == []
    found, categorized = entries(TRACE_CAT)
    assert categorized and len(found) >= 3
    assert {e.metadata["trace_id"] for e in found} == {OOM}
    assert all(OOM not in e.line for e in found)
    assert {e.labels["k8s_pod_name"] for e in found} == {"llm-server-0", "llm-server-1"}


# ------------------------------------------------------- path 1: service and pod --
def test_service_and_pod_labels_follow_the_otel_conventions() -> None:
    otlp_names = body("labels_otlp.json")["data"]
    assert service_label(otlp_names) == "service_name"
    assert pod_label(otlp_names) == "k8s_pod_name"
    classic = body("labels.json", CLASSIC)["data"]
    assert pod_label(classic) == "pod"
    assert service_label(classic) == "service_name"  # Loki 3 copies service into service_name
    assert service_label(["service", "level"]) == "service"
    assert service_label(["app", "namespace"]) == "app"
    assert service_label([]) == "service"
    assert pod_label(["service"]) is None
    series = body("series_otlp_llm_server.json")["data"]
    assert {service_label(s) for s in series} == {"service_name"}


@pytest.mark.parametrize("name", [CAT, MERGED, TRACE_CAT, TRACE_MERGED])
def test_the_pod_column_shows_the_pod_not_the_service(name: str) -> None:
    found, _ = entries(name)
    assert {stream_source(e.labels, e.metadata) for e in found} <= {"llm-server-0", "llm-server-1"}
    assert {stream_source(e.labels) for e in found} <= {"llm-server-0", "llm-server-1"}


def test_stream_source_order() -> None:
    classic, _ = entries("query_range_streams_llm_server_limit20_categorize_labels.json", CLASSIC)
    assert {stream_source(e.labels) for e in classic} == {"llm-server-0", "llm-server-1"}
    assert stream_source({"service_name": "api"}) == "api"
    assert stream_source({"service_name": "api"}, {"k8s_pod_name": "api-7f9c"}) == "api-7f9c"
    assert stream_source({"k8s_container_name": "c", "job": "j"}) == "c"
    assert stream_source({}) is None
    assert stream_source({"pod": ""}) is None


# ---------------------------------------------------------------- path 2: levels --
@pytest.mark.parametrize("name", [CAT, MERGED, TRACE_CAT, TRACE_MERGED])
def test_levels_come_from_the_metadata_not_the_text(name: str) -> None:
    found, _ = entries(name)
    by_line = {e.line: entry_level(e) for e in found}
    for e in found:
        meta = e.metadata or e.labels
        assert entry_level(e) == {"info": "info", "warn": "warn", "error": "error"}[meta["detected_level"]]
    if name.startswith("query_range_otlp_trace"):
        assert by_line["freeing KV cache blocks after OOM; request aborted"] == "warn"
        assert any(level == "error" and line.startswith("CUDA out of memory") for line, level in by_line.items())


def test_severity_text_and_number_stand_in_for_detected_level() -> None:
    found, _ = entries(TRACE_CAT)
    for e in found:
        meta = dict(e.metadata)
        expected = entry_level(e)
        del meta["detected_level"]
        assert detect_level(e.line, e.labels, meta) == expected  # severity_text (WARNING → warn)
        del meta["severity_text"]
        assert detect_level(e.line, e.labels, meta) == expected  # severity_number (13 → warn)
        merged_labels = {**e.labels, "severity_number": e.metadata["severity_number"]}
        assert detect_level(e.line, merged_labels) == expected
    assert [otel_severity_level(n) for n in (1, 5, "9", "13", "17", "21", "24")] == [
        "trace", "debug", "info", "warn", "error", "critical", "critical"
    ]
    assert {otel_severity_level(v) for v in (0, "0", 25, "x", "", "１", True, None, "9999")} == {"unknown"}


# --------------------------------------------------------- path 3: trace → logs --
def test_trace_logs_uses_structured_metadata_when_the_stream_has_it() -> None:
    conventions = LogConventions()
    conventions.observe_label_names(body("labels_otlp.json")["data"])
    found, categorized = entries(CAT)
    conventions.observe_entries(found, categorized=categorized)
    assert conventions.trace_metadata_key("llm-server") == "trace_id"
    logql = trace_logs_logql("llm-server", OOM.upper(), conventions)
    assert logql == '{service_name="llm-server"} | trace_id="a2316ce28eb6b90c092737eba16c368f"'
    assert logql == BY_FILE[TRACE_CAT]["params"]["query"], "the query the metadata fixture answers"


def test_trace_logs_falls_back_to_a_text_match() -> None:
    assert trace_logs_logql("llm-server", OOM) == f'{{service="llm-server"}} |= "{OOM}"'
    # Labels known, no proof of metadata: the right label, the text match.
    conventions = LogConventions()
    conventions.observe_label_names(body("labels_otlp.json")["data"])
    assert trace_logs_logql("llm-server", OOM, conventions) == BY_FILE[TEXT_MATCH]["params"]["query"]
    # The merged form does not prove metadata (a parser could have put trace_id in stream).
    merged, categorized = entries(MERGED)
    conventions.observe_entries(merged, categorized=categorized)
    assert conventions.trace_metadata_key("llm-server") is None
    # Classic streams whose lines carry the id only in the text (model-router).
    classic, categorized = entries("query_range_streams_errors_forward.json", CLASSIC)
    conventions.observe_entries(classic, categorized=categorized)
    assert trace_logs_logql("model-router", OOM, conventions).endswith(f'|= "{OOM}"')
    # A stream known per service: the classic llm-server lines carry it as metadata too.
    llm, categorized = entries("query_range_streams_llm_server_limit20_categorize_labels.json", CLASSIC)
    conventions.observe_entries(llm, categorized=categorized)
    assert trace_logs_logql("llm-server", OOM, conventions).endswith(f'| trace_id="{OOM}"')
    assert trace_logs_logql("model-router", OOM, conventions).endswith(f'|= "{OOM}"')


def test_trace_logs_query_quotes_hostile_values() -> None:
    conventions = LogConventions()
    conventions.note_trace_metadata('x"} |= "')
    logql = trace_logs_logql('x"} |= "', 'a"\n|= "b', conventions)
    assert logql == '{service="x\\"} |= \\""} | trace_id="a\\"\\n|= \\"b"'
    assert "\n" not in trace_logs_logql("svc", "id\x1b]52;c;x\x07")
    with pytest.raises(ValueError):
        trace_logs_logql("", OOM)
    with pytest.raises(ValueError):
        trace_logs_logql("svc", "  ")
    with pytest.raises(ValueError):
        trace_logs_logql("svc", OOM, metadata_key="trace-id")
    with pytest.raises(ValueError):
        trace_logs_logql("svc", OOM, label="bad label")


# ------------------------------------------------ the client and the drill-down --
@pytest.mark.parametrize("name", sorted(BY_FILE))
async def test_the_client_sends_what_the_fixture_was_asked_with(name: str) -> None:
    entry = BY_FILE[name]
    seen: list[httpx.Request] = []
    query = entry["params"].get("query") or ""
    transport = serve({entry["path"] + (" " + query if entry["path"].endswith("query_range") else ""): name}, seen)
    params = entry["params"]
    client = LokiClient(httpx.AsyncClient(base_url="http://loki.test", transport=transport))
    try:
        if entry["path"].endswith("query_range"):
            result = await client.query_range(
                query, start=int(params["start"]), end=int(params["end"]), limit=int(params["limit"]),
                direction=params.get("direction", "backward"),
            )
            assert isinstance(result.data, StreamsResult)
        elif entry["path"].endswith("labels"):
            assert await client.labels(start=int(params["start"]), end=int(params["end"])) == list(OTLP_LABELS)
        else:
            found = await client.series([params["match[]"]], start=int(params["start"]), end=int(params["end"]))
            assert all(tuple(s) == OTLP_LABELS for s in found)
    finally:
        await client.aclose()
    sent = seen[0]
    for key, value in params.items():
        assert sent.url.params[key] == value, key
    if entry["path"].endswith("query_range"):
        assert sent.headers["X-Loki-Response-Encoding-Flags"] == "categorize-labels" == CATEGORIZE_LABELS[
            "X-Loki-Response-Encoding-Flags"
        ]
    else:
        assert "X-Loki-Response-Encoding-Flags" not in sent.headers


async def test_drill_down_learns_from_the_logs_it_loads() -> None:
    seen: list[httpx.Request] = []
    d = drill(serve({'/loki/api/v1/query_range {service_name="llm-server"}': CAT}, seen))
    try:
        await d.logs('{service_name="llm-server"}', start=1, end=2)
        assert d.log_conventions.service_label == "service_name"
        assert d.log_conventions.pod_label == "k8s_pod_name"
        logql = await d.trace_logs_query("llm-server", OOM, start=1, end=2)
    finally:
        await d.aclose()
    assert logql == f'{{service_name="llm-server"}} | trace_id="{OOM}"'
    assert len(seen) == 1, "nothing left to probe"


async def test_drill_down_probes_the_metadata_filter_before_choosing() -> None:
    seen: list[httpx.Request] = []
    files = {"/loki/api/v1/labels": "labels_otlp.json", "/loki/api/v1/query_range " + BY_FILE[TRACE_CAT]["params"]["query"]: TRACE_CAT}
    d = drill(serve(files, seen))
    try:
        logql = await d.trace_logs_query("llm-server", OOM.upper(), start=1, end=2)
        assert logql == BY_FILE[TRACE_CAT]["params"]["query"]
        assert [r.url.path for r in seen] == ["/loki/api/v1/labels", "/loki/api/v1/query_range"]
        assert seen[1].url.params["limit"] == "1"
        assert seen[1].headers["X-Loki-Response-Encoding-Flags"] == "categorize-labels"
        assert await d.trace_logs_query("llm-server", OOM, start=1, end=2) == logql
        assert len(seen) == 2, "learnt once"
    finally:
        await d.aclose()


async def test_drill_down_falls_back_to_the_text_match() -> None:
    seen: list[httpx.Request] = []
    probe = "/loki/api/v1/query_range " + BY_FILE[TRACE_CAT]["params"]["query"]
    d = drill(serve({"/loki/api/v1/labels": "labels_otlp.json", probe: TEXT_MATCH}, seen))
    try:
        assert await d.trace_logs_query("llm-server", OOM, start=1, end=2) == BY_FILE[TEXT_MATCH]["params"]["query"]
    finally:
        await d.aclose()

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    d = drill(httpx.MockTransport(down))
    assert d.loki is not None
    d.loki.retry = RetryPolicy(max_retries=1, base=0.001, cap=0.001)
    try:
        assert await d.trace_logs_query("llm-server", OOM, start=1, end=2) == f'{{service="llm-server"}} |= "{OOM}"'
        with pytest.raises(ValueError):
            await d.trace_logs_query("", OOM, start=1, end=2)
    finally:
        await d.aclose()


async def test_l_selects_otlp_streams_by_their_own_label_names() -> None:
    """``l`` builds the selector from the alert's labels; on a Loki whose streams were written
    through the OTLP endpoint (no ``service`` label, ``service_name`` instead) it uses theirs."""
    seen: list[httpx.Request] = []
    d = drill(serve({"/loki/api/v1/labels": "labels_otlp.json"}, seen))
    try:
        mapping = await d.stream_label_map(start=1, end=2)
        assert build_logql({"service": "llm-server", "pod": "llm-server-0"}, mapping) == (
            '{service_name="llm-server", k8s_pod_name="llm-server-0"}'
        )
        assert await d.stream_label_map(start=1, end=2) == mapping and len(seen) == 1, "read once"
    finally:
        await d.aclose()
    classic = drill(httpx.MockTransport(lambda r: httpx.Response(200, json={"status": "success", "data": ["service", "pod", "service_name"]})))
    try:  # streams that have `service` (Loki adds service_name beside it): the alert's own name
        assert build_logql({"service": "x"}, await classic.stream_label_map(start=1, end=2)) == '{service="x"}'
    finally:
        await classic.aclose()
