"""The triage screen's logic on recorded real responses: ranking, alert states, data age."""

from __future__ import annotations

import json
from oncall_tui.core.triage import SourceState, build_rows, firing_by_service, format_age, merge_alerts
from oncall_tui.models.alertmanager import parse_alerts, parse_silences
from oncall_tui.models.prometheus import AlertsData, parse_query_data
from oncall_tui.settings import Service

from .conftest import FIXTURES


def _data(name: str):  # type: ignore[no-untyped-def]
    return parse_query_data(json.loads((FIXTURES / "prometheus" / name).read_text())["data"])


SERVICES = [
    Service(name="llm-chat", preset="vllm"),
    Service(name="fraud-scorer", preset="model-server", slo={"availability": 0.99}),
    Service(name="search-embedder", preset="generic-http"),
]


def _alerts():  # type: ignore[no-untyped-def]
    am = parse_alerts(json.loads((FIXTURES / "alertmanager" / "alerts__after_silence.json").read_text()))
    silences = parse_silences(json.loads((FIXTURES / "alertmanager" / "silences.json").read_text()))
    prom = AlertsData.model_validate(json.loads((FIXTURES / "prometheus" / "alerts.json").read_text())["data"]).alerts
    return merge_alerts(am, silences, prom)


def test_alert_states_are_spelled_out() -> None:
    alerts = {a.name: a for a in _alerts()}
    assert alerts["ModelServingHighErrorRate"].state == "firing"
    assert alerts["ModelServingHighLatencyP99"].state_detail == "inhibited by ModelServingHighErrorRate"
    gpu = alerts["GPUFramebufferMemoryHigh"]
    assert gpu.state == "silenced" and gpu.state_detail == "silenced by oncall-tui-fixtures until 11:34 UTC"
    assert alerts["LLMKVCacheSaturated"].state == "pending"  # only Prometheus knows pending alerts
    assert "Watchdog" not in alerts


def test_alerts_grouped_by_severity_then_oldest_first() -> None:
    alerts = _alerts()
    assert alerts[0].name == "ModelServingHighErrorRate" and alerts[0].severity == "critical"
    warnings = [a for a in alerts if a.severity == "warning"]
    active = [a for a in warnings if a.state in ("firing", "pending")]
    assert warnings[: len(active)] == active  # silenced/inhibited after the ones needing action
    starts = [a.starts_at for a in active if a.starts_at]
    assert starts == sorted(starts)


def test_degraded_service_ranks_first_with_levels() -> None:
    instant = {
        "errors": _data("query__vector__error_ratio_by_service.json"),
        "latency_p99": _data("query__vector__p99_latency_by_service_recording_rule.json"),
        "traffic": _data("query__vector__request_rate_by_service__POST_form.json"),
    }
    ranges = {"errors": _data("query_range__error_ratio_by_service.json")}
    current = {signal: vec.by_label("service") for signal, vec in instant.items()}
    rows = build_rows(SERVICES, current, ranges, firing_by_service=firing_by_service(_alerts()))
    # Signals rank services, failing before slow: fraud-scorer's 7 % errors outrank
    # llm-chat's ~20 s p99 (latency counts a quarter); alerts only break ties with healthy.
    assert [r.service for r in rows] == ["fraud-scorer", "llm-chat", "search-embedder"]
    top = rows[0]
    assert top.firing_alerts == sum(1 for a in _alerts() if a.state == "firing" and a.service == "fraud-scorer")
    assert top.levels["errors"] == "crit" and top.values["errors"] > 0.07
    assert top.burn_rate is not None and 7 < top.burn_rate < 8  # 7.2 % errors vs a 1 % budget
    assert len(top.history["errors"]) == 12 and top.history["errors"][-1] > 0.05
    assert rows[1].values["latency_p50"] is None  # not queried: shown as missing, not as 0


def test_trends_of_an_unchanged_range_result_are_read_once() -> None:
    current = {"errors": _data("query__vector__error_ratio_by_service.json").by_label("service")}
    ranges = {"errors": _data("query_range__error_ratio_by_service.json")}
    plain = build_rows(SERVICES, current, ranges)
    cache: dict = {}
    first = build_rows(SERVICES, current, ranges, history_cache=cache)
    again = build_rows(SERVICES, current, ranges, history_cache=cache)
    assert [(r.service, r.history, r.values) for r in first] == [(r.service, r.history, r.values) for r in plain]
    assert [r.history for r in again] == [r.history for r in plain]
    by_name = {r.service: r for r in first}
    assert all(r.history["errors"] is by_name[r.service].history["errors"] for r in again if r.history["errors"])
    # a new result (the window moved a step) is read again, even when equal
    fresh = build_rows(SERVICES, current, {"errors": _data("query_range__error_ratio_by_service.json")}, history_cache=cache)
    assert [r.history for r in fresh] == [r.history for r in plain]
    assert all(r.history["errors"] is not by_name[r.service].history["errors"] for r in fresh if r.history["errors"])
    assert build_rows(SERVICES, current, {}, history_cache=cache)[0].history["errors"] == [] and cache == {}


def test_source_state_fresh_stale_down_auth() -> None:
    s = SourceState("prometheus", stale_after=30)
    assert s.status(0) == "loading"
    s.failed(1, "DOWN", "cannot connect")
    assert s.status(1) == "down"
    s.ok(10)
    assert s.status(20) == "fresh" and format_age(s.age(20)) == "10s"
    assert s.status(45) == "stale"
    s.failed(50, "DOWN", "cannot connect")
    assert s.status(50) == "down" and format_age(s.age(130)) == "2m"  # last good data kept, aged
    assert s.badge(130) == "DOWN since 00:00:50, data 2m old"
    s.failed(60, "AUTH-FAILED", "401")
    assert s.status(60) == "auth"


def test_source_state_ticks_slow_retrying_and_records_the_outage() -> None:
    """The badge is a function of now: it moves between refreshes, while a request hangs."""
    s = SourceState("alertmanager", stale_after=5, interval=2)
    s.started(0)
    assert s.badge(1) == "…" and s.badge(3) == "SLOW 3s"  # in flight longer than the interval
    assert s.ok(3) is None
    assert [s.badge(t) for t in (3, 4, 8, 9)] == ["ok 0s", "ok 1s", "ok 5s", "STALE 6s"]
    s.started(10)
    s.retrying(10, 1, 3, 2.0, "cannot connect: connection refused")
    assert s.status(10.5) == "retrying" and s.badge(10.5) == "RETRYING 1/3 next in 1s"
    s.failed(14, "DOWN", "cannot connect: connection refused")
    assert s.badge(14) == "DOWN since 00:00:10, data 11s old"
    assert s.ok(70) == (10, 70, "cannot connect: connection refused")  # the blind minute
    assert s.ok(72) is None and s.badge(72) == "ok 0s"


def test_rows_do_not_flip_on_noise_at_a_bucket_edge() -> None:
    from oncall_tui.models.prometheus import VectorResult

    def rows_for(errors: dict[str, float], previous=None):  # type: ignore[no-untyped-def]
        vec = VectorResult.model_validate(
            {"resultType": "vector", "result": [{"metric": {"service": k}, "value": [0, str(v)]} for k, v in errors.items()]}
        )
        services = [Service(name=k, preset="generic-http") for k in errors]
        return build_rows(services, {"errors": vec.by_label("service")}, previous_buckets=previous)

    first = rows_for({"a": 0.039, "b": 0.041})  # 3.9x vs 4.1x the 1 % threshold: buckets 4 and 5
    assert [r.service for r in first] == ["b", "a"]
    noisy = rows_for({"a": 0.041, "b": 0.039}, {r.service: r.bucket for r in first})
    assert [r.service for r in noisy] == ["b", "a"]  # within 15 %: keep the order
    moved = rows_for({"a": 0.09, "b": 0.039}, {r.service: r.bucket for r in noisy})
    assert [r.service for r in moved] == ["a", "b"]  # a real change reorders
