"""The demo incident, served by DemoTransport and read back through the real clients."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from oncall_tui.clients import (
    AlertmanagerClient,
    NotFound,
    PrometheusClient,
    QueryRejected,
    SourceUnavailable,
)
from oncall_tui.clients.http import NO_RETRY, ApiClient
from oncall_tui.core.signals import build_signal_queries
from oncall_tui.demo import (
    ALERTMANAGER_URL,
    LOKI_URL,
    PROMETHEUS_URL,
    TEMPO_URL,
    DemoIncident,
    DemoTransport,
    demo_settings,
    demo_transport,
)
from oncall_tui.demo.common import GRAFANA_URL, decode_slot_id, encode_slot_id
from oncall_tui.models.alertmanager import Matcher, SilenceSpec
from oncall_tui.models.prometheus import MatrixResult, VectorResult

T0 = 1_800_000_000.0  # wall time of story second 0
SERVICES = ["llm-server", "feature-store", "model-router", "embedder", "reranker"]


class Clock:
    """A settable fake clock (story time = wall - T0, since offset=0)."""

    def __init__(self, story: float) -> None:
        self.now = T0 + story

    def __call__(self) -> float:
        return self.now

    def story(self, t: float) -> None:
        self.now = T0 + t


def make(story: float = 300.0) -> tuple[Clock, DemoIncident, DemoTransport]:
    clock = Clock(story)
    incident = DemoIncident(start=T0, offset=0.0, clock=clock)
    return clock, incident, demo_transport(incident)


def client(cls: type[ApiClient], url: str, transport: DemoTransport) -> ApiClient:
    return cls(httpx.AsyncClient(base_url=url, transport=transport), retry=NO_RETRY)


@pytest.fixture
async def stack() -> AsyncIterator[tuple[Clock, DemoIncident, DemoTransport, PrometheusClient, AlertmanagerClient]]:
    clock, incident, transport = make(300.0)
    prom = client(PrometheusClient, PROMETHEUS_URL, transport)
    am = client(AlertmanagerClient, ALERTMANAGER_URL, transport)
    yield clock, incident, transport, prom, am  # type: ignore[misc]
    await prom.aclose()
    await am.aclose()


def signal_queries() -> dict[str, str]:
    return build_signal_queries(demo_settings().context().services)


# ------------------------------------------------------------------------ settings --
def test_demo_settings_has_one_context_with_all_endpoints() -> None:
    settings = demo_settings()
    ctx = settings.context()
    assert ctx.name == "demo" and not ctx.read_only
    assert {k: e.url for k, e in ctx.configured_endpoints()} == {
        "prometheus": PROMETHEUS_URL,
        "alertmanager": ALERTMANAGER_URL,
        "loki": LOKI_URL,
        "tempo": TEMPO_URL,
        "grafana": GRAFANA_URL,
    }
    assert [(s.name, s.preset) for s in ctx.services] == [
        ("llm-server", "vllm"),
        ("feature-store", "generic-http"),
        ("model-router", "generic-http"),
        ("embedder", "triton"),
        ("reranker", "tgi"),
    ]


# ---------------------------------------------------------------------- prometheus --
async def test_golden_signals_answer_one_series_per_service(stack) -> None:
    _, _, _, prom, _ = stack
    queries = signal_queries()
    assert set(queries) == {"traffic", "errors", "latency_p50", "latency_p95", "latency_p99", "saturation"}
    for signal, expr in queries.items():
        result = await prom.query(expr)
        assert not result.partial, signal
        assert isinstance(result.data, VectorResult)
        values = result.data.by_label("service")
        assert sorted(values) == sorted(SERVICES), signal
        assert all(s.metric["namespace"] == "ml-serving" for s in result.data.result)


async def test_llm_error_ratio_is_low_before_and_high_during_the_incident(stack) -> None:
    _, _, _, prom, _ = stack
    expr = signal_queries()["errors"]
    before = (await prom.query(expr, time=T0 + 30)).data.by_label("service")
    during = (await prom.query(expr, time=T0 + 300)).data.by_label("service")
    assert before["llm-server"] < 0.01
    assert during["llm-server"] == pytest.approx(0.11, abs=0.012)
    assert 0.01 < during["model-router"] < 0.03
    p99 = (await prom.query(signal_queries()["latency_p99"])).data.by_label("service")
    assert p99["llm-server"] == pytest.approx(4.6, rel=0.06)
    assert p99["feature-store"] == pytest.approx(1.8, rel=0.06)
    kv = (await prom.query(signal_queries()["saturation"])).data.by_label("service")
    assert kv["llm-server"] == pytest.approx(0.97, abs=0.015)


async def test_query_range_points_cover_the_range_at_each_step(stack) -> None:
    _, _, _, prom, _ = stack
    start, end, step = T0 - 300, T0 + 300, 15.0
    result = await prom.query_range(signal_queries()["latency_p99"], start=start, end=end, step=step)
    assert isinstance(result.data, MatrixResult)
    assert len(result.data.result) == len(SERVICES)
    for series in result.data.result:
        stamps = [p.timestamp for p in series.values]
        assert len(stamps) == (end - start) / step + 1
        assert all(start <= t <= end for t in stamps)
        assert stamps == sorted(stamps)
    llm = result.data.by_label("service")["llm-server"]
    assert llm[0].value < 1.6 and llm[-1].value > 4


async def test_too_many_points_is_the_prometheus_400() -> None:
    _, _, transport = make()
    prom = client(PrometheusClient, PROMETHEUS_URL, transport)
    with pytest.raises(QueryRejected) as err:
        await prom.query_range("up", start=T0 - 86400, end=T0, step=1)
    assert err.value.status == 400 and err.value.error_type == "bad_data"
    assert "11,000 points" in err.value.message


async def test_same_time_gives_identical_numbers() -> None:
    bodies = []
    for _ in range(2):
        _, _, transport = make(300.0)
        async with httpx.AsyncClient(base_url=PROMETHEUS_URL, transport=transport) as http:
            for expr in signal_queries().values():
                r = await http.get("/api/v1/query_range", params={"query": expr, "start": T0, "end": T0 + 300, "step": 7})
                bodies.append(r.content)
            r = await http.get("/api/v1/query", params={"query": "DCGM_FI_DEV_GPU_UTIL", "time": T0 + 250})
            bodies.append(r.content)
    half = len(bodies) // 2
    assert bodies[:half] == bodies[half:]


async def test_unknown_expression_is_an_empty_partial_vector(stack) -> None:
    _, _, _, prom, _ = stack
    result = await prom.query("sum(rate(something_else_total[5m]))")
    assert result.partial and result.warnings == ["the demo cannot evaluate this expression"]
    assert isinstance(result.data, VectorResult) and result.data.result == []


async def test_raw_selectors_gpu_and_vllm_series(stack) -> None:
    _, _, _, prom, _ = stack
    util = (await prom.query('DCGM_FI_DEV_GPU_UTIL{Hostname="gpu-h100-node-1",gpu="0"}')).data
    assert len(util.result) == 1
    labels = util.result[0].metric
    assert labels["pod"] == "llm-server-7d9f8-abcde" and labels["modelName"] == "NVIDIA H100 80GB HBM3"
    assert {"gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname", "container", "namespace", "pod"} <= set(labels)
    used = (await prom.query('DCGM_FI_DEV_FB_USED{Hostname="gpu-h100-node-1",gpu="0"}')).data.result[0].value.value
    free = (await prom.query('DCGM_FI_DEV_FB_FREE{Hostname="gpu-h100-node-1",gpu="0"}')).data.result[0].value.value
    assert used / (used + free) == pytest.approx(0.97, abs=0.005)
    xid = (await prom.query("DCGM_FI_DEV_XID_ERRORS")).data.by_label("UUID")
    assert sorted(xid.values()) == [0, 0, 0, 79]
    xid_before = (await prom.query('DCGM_FI_DEV_XID_ERRORS{Hostname="gpu-h100-node-2",gpu="1"}', time=T0 + 140)).data
    assert xid_before.result[0].value.value == 0
    kv = (await prom.query('vllm:gpu_cache_usage_perc{pod="llm-server-7d9f8-abcde"}')).data.result
    assert [s.metric["model_version"] for s in kv] == ["v2.4"]
    old = (await prom.query('vllm:num_requests_waiting{service="llm-server"}', time=T0 + 30)).data.result
    assert {s.metric["model_version"] for s in old} == {"v2.3"} and len(old) == 2
    up = (await prom.query("up")).data.result
    assert all(s.value.value == 1 for s in up) and len(up) >= 8


async def test_metadata_endpoints(stack) -> None:
    _, _, _, prom, _ = stack
    assert (await prom.buildinfo()).version == "2.53.0-demo"
    assert "Hostname" in await prom.labels()
    assert sorted(await prom.label_values("service")) == sorted(SERVICES)
    series = await prom.series(['DCGM_FI_DEV_FB_USED{gpu="0"}'])
    assert {s["Hostname"] for s in series} == {"gpu-h100-node-1", "gpu-h100-node-2"}
    with pytest.raises(NotFound) as err:
        await prom.get_json("/api/v1/no_such_endpoint")
    assert err.value.message == "404 page not found"


async def test_exemplars_carry_trace_ids_of_real_traces(stack) -> None:
    _, incident, _, prom, _ = stack
    expr = signal_queries()["latency_p99"]
    result = await prom.query_exemplars(expr, start=T0 + 200, end=T0 + 300)
    assert result.data
    llm = [s for s in result.data if s.series_labels.get("service") == "llm-server"]
    assert llm and all("le" in s.series_labels for s in llm)
    ids = {e.trace_id for s in result.data for e in s.exemplars}
    assert ids and all(incident.trace(i) is not None for i in ids)


# -------------------------------------------------------------------------- alerts --
async def test_alert_states_at_story_300(stack) -> None:
    _, _, _, prom, am = stack
    alerts = {a.alertname: a for a in await am.alerts()}
    assert set(alerts) == {"LLMServerHighErrorRate", "LLMServerHighLatencyP99", "GPUFramebufferMemoryHigh", "Watchdog"}
    critical = alerts["LLMServerHighErrorRate"]
    assert critical.status.state == "active" and critical.labels["severity"] == "critical"
    assert critical.labels["cluster"] == "demo-prod"
    assert critical.starts_at.timestamp() == pytest.approx(T0 + 130, abs=3)
    assert critical.annotations["runbook_url"].startswith("https://runbooks.example.com/")
    warning = alerts["LLMServerHighLatencyP99"]
    assert warning.status.state == "suppressed" and warning.status.inhibited_by == [critical.fingerprint]
    gpu = alerts["GPUFramebufferMemoryHigh"]
    silences = await am.silences()
    assert len(silences) == 1
    pre = silences[0]
    assert pre.created_by == "alice@example.com" and pre.comment == "vLLM pre-allocates HBM; tracked in ML-1234"
    assert pre.ends_at - pre.starts_at == timedelta(hours=4)
    assert gpu.status.silenced_by == [pre.id] and gpu.status.state == "suppressed"
    assert gpu.labels["Hostname"] == "gpu-h100-node-1" and gpu.labels["gpu"] == "0"
    assert alerts["Watchdog"].receivers[0].name == "null" and critical.receivers[0].name == "oncall-pager"
    assert len(critical.fingerprint) == 16

    prom_alerts = {a.alertname: a for a in await prom.alerts()}
    assert prom_alerts["FeatureStoreLatencyHigh"].state == "pending"
    assert prom_alerts["LLMServerHighErrorRate"].state == "firing"
    assert "cluster" not in prom_alerts["LLMServerHighErrorRate"].labels
    rules = await prom.rules()
    assert {r.name: r.state for r in rules.alerting_rules()}["FeatureStoreLatencyHigh"] == "pending"

    active_only = await am.alerts(silenced=False, inhibited=False)
    assert {a.alertname for a in active_only} == {"LLMServerHighErrorRate", "Watchdog"}
    critical_only = await am.alerts(['severity="critical"'])
    assert [a.alertname for a in critical_only] == ["LLMServerHighErrorRate"]
    groups = await am.alert_groups()
    assert {tuple(sorted(g.labels.items())) for g in groups} >= {(("alertname", "Watchdog"),)}
    status = await am.status()
    assert status.version_info.version == "0.27.0-demo" and status.cluster.status == "disabled"
    assert [r.name for r in await am.receivers()] == ["null", "oncall-pager"]


async def test_alerts_follow_the_timeline() -> None:
    clock, incident, transport = make(60.0)
    am = client(AlertmanagerClient, ALERTMANAGER_URL, transport)
    assert {a.alertname for a in await am.alerts()} == {"Watchdog"}
    clock.story(120.0)
    names = {a.alertname: a.state for a in incident.alerts()}
    assert names["LLMServerHighErrorRate"] == "pending" and names["GPUFramebufferMemoryHigh"] == "firing"


async def test_a_silence_silences_and_expiring_it_unsilences(stack) -> None:
    clock, _, _, _, am = stack
    now = datetime.fromtimestamp(clock.now, UTC)
    spec = SilenceSpec(
        matchers=[Matcher.exact("alertname", "LLMServerHighErrorRate")],
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        created_by="bob@example.com",
        comment="investigating the v2.4 rollout",
    )
    silence_id = await am.create_silence(spec)
    alert = (await am.alerts(['alertname="LLMServerHighErrorRate"']))[0]
    assert alert.status.state == "suppressed" and alert.status.silenced_by == [silence_id]
    # the warning stays inhibited: a silenced alert still inhibits
    warning = (await am.alerts(['alertname="LLMServerHighLatencyP99"']))[0]
    assert warning.status.inhibited_by == [alert.fingerprint]
    # updating only the comment keeps the ID
    got = await am.silence(silence_id)
    same = await am.update_silence(silence_id, got.to_spec().model_copy(update={"comment": "still looking"}))
    assert same == silence_id and (await am.silence(silence_id)).comment == "still looking"

    await am.expire_silence(silence_id)
    alert = (await am.alerts(['alertname="LLMServerHighErrorRate"']))[0]
    assert alert.status.state == "active" and alert.status.silenced_by == []
    expired = await am.silence(silence_id)
    assert expired.status.state == "expired"
    listed = await am.silences(['alertname="LLMServerHighErrorRate"'])
    assert [s.id for s in listed] == [silence_id]


async def test_the_initial_silence_ends_after_four_hours() -> None:
    clock, _, transport = make(300.0)
    am = client(AlertmanagerClient, ALERTMANAGER_URL, transport)
    clock.story(4 * 3600 + 10)
    gpu = (await am.alerts(['alertname="GPUFramebufferMemoryHigh"']))[0]
    assert gpu.status.state == "active" and gpu.status.silenced_by == []


async def test_bad_silence_posts_get_alertmanagers_error_shapes(stack) -> None:
    clock, _, _, _, am = stack
    start = datetime.fromtimestamp(clock.now, UTC)
    good = {
        "matchers": [{"name": "alertname", "value": "Watchdog", "isRegex": False, "isEqual": True}],
        "startsAt": start.isoformat().replace("+00:00", "Z"),
        "endsAt": (start + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "createdBy": "bob",
        "comment": "test",
    }
    cases = [
        ({k: v for k, v in good.items() if k != "createdBy"}, 422, "code 602", "createdBy in body is required"),
        ({**good, "matchers": []}, 422, "code 612", "matchers in body should have at least 1 items"),
        ({**good, "endsAt": good["startsAt"]}, 400, None, "Failed to create silence: start time must be before end time"),
        (
            {**good, "matchers": [{"name": "alertname", "value": ".*", "isRegex": True}]},
            400,
            None,
            "silence invalid: at least one matcher must not match the empty string",
        ),
    ]
    for body, status, error_type, message in cases:
        with pytest.raises(QueryRejected) as err:
            await am._post_silence(body)
        assert (err.value.status, err.value.error_type, err.value.message) == (status, error_type, message)
    async with httpx.AsyncClient(base_url=ALERTMANAGER_URL, transport=stack[2]) as http:
        r = await http.post("/api/v2/silences", json={k: v for k, v in good.items() if k != "createdBy"})
        assert (r.status_code, r.json()) == (422, {"code": 602, "message": "createdBy in body is required"})
        r = await http.post("/api/v2/silences", json={**good, "endsAt": good["startsAt"]})
        assert (r.status_code, r.json()) == (400, "Failed to create silence: start time must be before end time")
        r = await http.get("/api/v2/silence/not-a-uuid")
        assert r.status_code == 422 and r.json()["code"] == 601
        r = await http.delete("/api/v2/silence/f1485bac-6490-4aee-afdf-b6cebd803bd6")
        assert (r.status_code, r.json()) == (500, "silence not found")
        r = await http.get("/api/v2/alerts", params={"filter": "not a matcher"})
        assert (r.status_code, r.json()) == (400, "bad matcher format: not a matcher")


# ------------------------------------------------------------------------ rollback --
async def test_rollback_brings_llm_errors_back_down() -> None:
    clock, incident, transport = make(300.0)
    prom = client(PrometheusClient, PROMETHEUS_URL, transport)
    am = client(AlertmanagerClient, ALERTMANAGER_URL, transport)
    expr = signal_queries()["errors"]
    assert (await prom.query(expr)).data.by_label("service")["llm-server"] > 0.09
    assert incident.rollback("llm-server") is True
    assert incident.rollback("llm-server") is False  # already rolled back
    assert incident.rollback("embedder") is False
    clock.story(390.0)
    errors = (await prom.query(expr)).data.by_label("service")
    assert errors["llm-server"] < 0.01 and errors["model-router"] < 0.005
    # history is kept: before the rollback the incident is still there
    assert (await prom.query(expr, time=T0 + 290)).data.by_label("service")["llm-server"] > 0.09
    kv = (await prom.query('vllm:gpu_cache_usage_perc{pod="llm-server-7d9f8-abcde"}')).data.result
    assert [s.metric["model_version"] for s in kv] == ["v2.3"]
    assert incident.version("llm-server", T0 + 290) == "v2.4"
    names = {a.alertname for a in await am.alerts()}
    assert "LLMServerHighErrorRate" not in names and "LLMServerHighLatencyP99" not in names
    rng = (await prom.query_range(expr, start=T0 + 240, end=T0 + 390, step=30)).data.by_label("service")["llm-server"]
    assert rng[0].value > 0.09 and rng[-1].value < 0.01


# -------------------------------------------------------------------- loki & tempo --
async def test_loki_oom_lines_link_to_tempo_traces(stack) -> None:
    _, _, transport, _, _ = stack
    loki = ApiClient(httpx.AsyncClient(base_url=LOKI_URL, transport=transport), name="loki", retry=NO_RETRY)
    tempo = ApiClient(httpx.AsyncClient(base_url=TEMPO_URL, transport=transport), name="tempo", retry=NO_RETRY)
    params = {
        "query": '{service="llm-server"} |= "CUDA out of memory"',
        "start": str(int((T0 + 0) * 1e9)),
        "end": str(int((T0 + 300) * 1e9)),
        "limit": "20",
    }
    body = await loki.get_json("/loki/api/v1/query_range", params)
    assert body["status"] == "success" and body["data"]["resultType"] == "streams"
    values = [v for s in body["data"]["result"] for v in s["values"]]
    assert 0 < len(values) <= 20
    stamps = [int(v[0]) for v in values]
    assert all(isinstance(v[0], str) for v in values)
    assert all(T0 + 95 <= t / 1e9 <= T0 + 300 for t in stamps)
    stream = body["data"]["result"][0]["stream"]
    assert stream["level"] == "error" and stream["service"] == "llm-server" and "trace_id" in stream
    line = json.loads(values[0][1])
    assert line["level"] == "ERROR" and line["message"].startswith("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert line["trace_id"] == stream["trace_id"] and len(line["trace_id"]) == 32

    trace = await tempo.get_json(f"/api/v2/traces/{line['trace_id']}")
    spans = [s for rs in trace["trace"]["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert {base64.b64decode(s["traceId"]).hex() for s in spans} == {line["trace_id"]}
    by_id = {base64.b64decode(s["spanId"]).hex(): s for s in spans}
    assert all(len(k) == 16 for k in by_id)
    failed = by_id[line["span_id"]]
    assert failed["status"]["code"] == "STATUS_CODE_ERROR"
    assert failed["events"][0]["name"] == "exception"
    root = next(s for s in spans if "parentSpanId" not in s)
    assert root["name"] == "POST /v1/chat/completions" and isinstance(root["startTimeUnixNano"], str)
    services = {a["value"]["stringValue"] for rs in trace["trace"]["resourceSpans"] for a in rs["resource"]["attributes"] if a["key"] == "service.name"}
    assert services == {"llm-server", "feature-store"}
    assert any(s["name"] == "GET /features" for s in spans)

    unknown = await tempo.get_json("/api/v2/traces/0123456789abcdef0123456789abcdef")
    assert unknown == {"trace": {}, "metrics": {}}
    for client_ in (loki, tempo):
        await client_.aclose()


async def test_loki_logfmt_cache_miss_and_direction(stack) -> None:
    _, _, transport, _, _ = stack
    async with httpx.AsyncClient(base_url=LOKI_URL, transport=transport) as http:
        params = {"query": '{service="feature-store", level="warn"} |= "cache miss"', "start": str(int(T0 * 1e9)),
                  "end": str(int((T0 + 300) * 1e9)), "limit": "5", "direction": "forward"}
        body = (await http.get("/loki/api/v1/query_range", params=params)).json()
        values = [v for s in body["data"]["result"] for v in s["values"]]
        assert len(values) == 5
        for s in body["data"]["result"]:
            assert [int(v[0]) for v in s["values"]] == sorted(int(v[0]) for v in s["values"])
        assert all("level=warning" in v[1] and "trace_id=" in v[1] for v in values)
        params = {"query": '{service="llm-server"} | json | level_extracted="ERROR"', "start": str(int(T0 * 1e9)),
                  "end": str(int((T0 + 300) * 1e9)), "limit": "3"}
        body = (await http.get("/loki/api/v1/query_range", params=params)).json()
        streams = body["data"]["result"]
        assert streams and all(s["stream"]["level_extracted"] == "ERROR" for s in streams)
        assert (await http.get("/loki/api/v1/query_range", params={"query": "{}"})).status_code == 400
        build = (await http.get("/loki/api/v1/status/buildinfo")).json()
        assert "version" in build


async def test_tempo_search_by_service(stack) -> None:
    _, incident, transport, _, _ = stack
    async with httpx.AsyncClient(base_url=TEMPO_URL, transport=transport) as http:
        params = {"q": '{ resource.service.name = "feature-store" }', "start": str(int(T0 + 200)), "end": str(int(T0 + 300)), "limit": "5"}
        body = (await http.get("/api/search", params=params)).json()
        assert len(body["traces"]) == 5
        for t in body["traces"]:
            assert t["rootServiceName"] == "llm-server" and t["rootTraceName"] == "POST /v1/chat/completions"
            assert isinstance(t["startTimeUnixNano"], str) and isinstance(t["durationMs"], int)
            assert t["spanSets"][0]["spans"][0]["attributes"][0]["value"]["stringValue"] == "feature-store"
            assert incident.trace(t["traceID"].zfill(32)) is not None
        assert (await http.get("/api/v2/traces/not-a-trace-id")).status_code == 400
        assert (await http.get("/api/status/buildinfo")).json()["version"]


def test_trace_ids_round_trip() -> None:
    for slot in (-4320, -1, 0, 1, 59, 123456):
        trace_id = encode_slot_id(slot)
        assert len(trace_id) == 32 and decode_slot_id(trace_id) == slot
    assert decode_slot_id("0123456789abcdef0123456789abcdef") is None


# -------------------------------------------------------------------------- outage --
async def test_set_down_makes_the_client_raise_source_unavailable(stack) -> None:
    _, _, transport, prom, am = stack
    transport.set_down("demo-prometheus")
    with pytest.raises(SourceUnavailable):
        await prom.query("up")
    assert await am.alerts()  # the others keep working
    transport.set_down(PROMETHEUS_URL, False)
    assert (await prom.query("up")).data.result


async def test_every_demo_endpoint_probes_ok_through_the_client_factory() -> None:
    from oncall_tui.clients.probe import probe_endpoint

    _, _, transport = make()
    versions = {}
    for kind, endpoint in demo_settings().context().configured_endpoints():
        result = await probe_endpoint(kind, endpoint, transport=transport)
        assert result.ok, (kind, result.message)
        versions[kind] = result.version
    assert versions["prometheus"] == "2.53.0-demo" and versions["alertmanager"] == "0.27.0-demo"
    assert set(versions) == {"prometheus", "alertmanager", "loki", "tempo", "grafana"}


async def test_prometheus_accepts_post_form_queries(stack) -> None:
    _, _, transport, _, _ = stack
    async with httpx.AsyncClient(base_url=PROMETHEUS_URL, transport=transport) as http:
        r = await http.post("/api/v1/query", data={"query": signal_queries()["traffic"], "time": str(T0 + 30)})
        body = r.json()
        assert body["status"] == "success" and len(body["data"]["result"]) == len(SERVICES)
        assert all(isinstance(s["value"][1], str) for s in body["data"]["result"])
        r = await http.get("/api/v1/query")
        assert r.status_code == 400 and r.json()["errorType"] == "bad_data"
