"""Golden-signal PromQL: batching, presets, discovery — checked against the real Prometheus."""

from __future__ import annotations

import math

import httpx
import pytest

from oncall_tui.clients import PrometheusClient
from oncall_tui.core.signals import (
    SIGNALS,
    build_signal_queries,
    discover_services,
    discovery_query,
    quote,
    regex_escape,
    service_query,
)
from oncall_tui.models.prometheus import VectorResult
from oncall_tui.settings import Service

from .conftest import PROM_URL

FLEET = [
    Service(name="llm-chat", preset="vllm"),
    Service(name="fraud-scorer", preset="model-server"),
    Service(name="search-embedder", preset="generic-http"),
    Service(name="search.v2", preset="generic-http"),
]


def test_one_query_per_signal_for_all_services() -> None:
    queries = build_signal_queries(FLEET)
    assert list(queries) == list(SIGNALS)
    for q in queries.values():
        # every service is covered by the single query, never one query per service
        assert "llm-chat" in q and "fraud-scorer" in q and "search-embedder" in q
    assert 'service=~"search-embedder|search\\\\.v2"' in queries["traffic"]


def test_vllm_preset_accepts_both_spellings_and_both_cache_gauges() -> None:
    q = build_signal_queries([FLEET[0]])
    assert 'vllm[:_]e2e_request_latency_seconds_bucket' in q["latency_p99"]
    assert 'vllm[:_](gpu|kv)_cache_usage_perc' in q["saturation"]
    assert "histogram_quantile(0.99," in q["latency_p99"] and "histogram_quantile(0.5," in q["latency_p50"]


def test_error_ratio_keeps_services_without_error_series_at_zero() -> None:
    q = build_signal_queries([FLEET[1]])["errors"]
    assert q.startswith("((sum by (service)") and ") * 0) / (" in q


def test_custom_selector_and_explicit_query_are_labelled_with_the_service() -> None:
    custom = Service(name="ranker", preset="tgi", selector={"job": "ranker-tgi"})
    explicit = Service(name="legacy", queries={"traffic": "sum(rate(legacy_hits_total[5m]))"})
    queries = build_signal_queries([custom, explicit])
    assert 'label_replace(sum(rate(legacy_hits_total[5m])), "service", "legacy", "", "")' in queries["traffic"]
    assert 'tgi_request_count{job="ranker-tgi"}' in queries["traffic"]
    assert "latency_p99" in queries and "legacy" not in queries["latency_p99"]  # legacy has no p99
    assert service_query(explicit, "latency_p99") is None


def test_hostile_service_names_stay_inside_their_string_literal() -> None:
    evil = Service(name='a"} or vector(1) or {x="', preset="generic-http", selector={"service": 'a"} or vector(1) or {x="'})
    q = build_signal_queries([evil])["traffic"]
    literal = quote(regex_escape('a"} or vector(1) or {x="'))
    assert f"service=~{literal}" in q

    assert regex_escape("a.b|c") == "a\\.b\\|c"


def test_discovery_picks_the_most_specific_preset() -> None:
    labels = [
        {"service": "llm-chat", "__name__": "vllm:e2e_request_latency_seconds_count"},
        {"service": "llm-chat", "__name__": "http_requests_total"},
        {"service": "fraud-scorer", "__name__": "model_inference_requests_total"},
        {"service": "web", "__name__": "http_requests_total"},
        {"__name__": "http_requests_total"},
    ]
    found = {s.name: s.preset for s in discover_services(labels)}
    assert found == {"llm-chat": "vllm", "fraud-scorer": "model-server", "web": "generic-http"}


@pytest.mark.integration
async def test_batched_queries_against_real_prometheus(realstack: dict[str, str]) -> None:
    from .conftest import wait_for

    prom = PrometheusClient(httpx.AsyncClient(base_url=PROM_URL))
    try:
        discovered = (await prom.query(discovery_query())).data
        assert isinstance(discovered, VectorResult)
        services = discover_services(s.metric for s in discovered.result)
        assert {(s.name, s.preset) for s in services} == {
            ("fraud-scorer", "model-server"), ("llm-chat", "vllm"), ("search-embedder", "generic-http"),
        }
        queries = build_signal_queries(services)

        async def all_signals():  # type: ignore[no-untyped-def]
            out = {}
            for signal, expr in queries.items():
                data = (await prom.query(expr)).data
                assert isinstance(data, VectorResult)
                out[signal] = data.by_label("service")
            ready = all(len(v) == 3 and not any(math.isnan(x) for x in v.values()) for v in out.values())
            return out if ready else None

        values = await wait_for(all_signals, timeout=120, what="all six signals for all three services")
        # The simulated incident: fraud-scorer fails ~8 % of requests, the others far less.
        assert values["errors"]["fraud-scorer"] > 0.02
        assert values["errors"]["llm-chat"] < 0.02 and values["errors"]["search-embedder"] < 0.02
        assert all(v > 0 for v in values["traffic"].values())
        assert values["saturation"]["llm-chat"] > 0.8  # KV cache ~0.93
        # A hostile service name stays a string: the real server returns nothing, not vector(1).
        evil = Service(name='x"} or vector(1) or {x="', preset="generic-http")
        injected = (await prom.query(build_signal_queries([evil])["traffic"])).data
        assert isinstance(injected, VectorResult) and injected.result == []
        for svc in values["latency_p99"]:
            assert values["latency_p50"][svc] <= values["latency_p95"][svc] <= values["latency_p99"][svc]
    finally:
        await prom.aclose()
