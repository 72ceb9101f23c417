"""Against the real thing: Prometheus 2.42 and Alertmanager 0.25 from ../shared/realstack.

The stack starts with the simulated incident already running (REALSTACK_INCIDENT_AFTER=0):
fraud-scorer's v15 rollout fails ~8% of requests, its p99 rises, an H100 sits at 92% memory
and a search-embedder pod is down. Alerts reach Alertmanager about a minute after start.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from oncall_tui.clients import AlertmanagerClient, NotFound, PrometheusClient, QueryRejected, SourceUnavailable
from oncall_tui.clients.factory import build_http_client
from oncall_tui.models.alertmanager import Matcher, SilenceSpec
from oncall_tui.models.prometheus import MatrixResult, VectorResult
from oncall_tui.settings import load_settings

from .conftest import REPO, wait_for

pytestmark = pytest.mark.integration
LOCAL_STACK = REPO / "config" / "local-stack.yaml"
ALERT_WAIT = 240.0


@pytest.fixture
async def clients(realstack: dict[str, str]) -> AsyncIterator[tuple[PrometheusClient, AlertmanagerClient]]:
    context = load_settings(LOCAL_STACK, env={}).context()
    endpoints = dict(context.configured_endpoints())
    prom = PrometheusClient(build_http_client(endpoints["prometheus"], kind="prometheus"))
    am = AlertmanagerClient(build_http_client(endpoints["alertmanager"], kind="alertmanager"))
    yield prom, am
    await prom.aclose()
    await am.aclose()


async def test_firing_alerts_of_the_simulated_incident(clients) -> None:  # type: ignore[no-untyped-def]
    prom, am = clients

    async def critical_in_alertmanager():  # type: ignore[no-untyped-def]
        alerts = await am.alerts(['severity="critical"'])
        return [a for a in alerts if a.labels.get("alertname") == "ModelServingHighErrorRate"]

    critical = (await wait_for(critical_in_alertmanager, timeout=ALERT_WAIT, what="the critical alert in Alertmanager"))[0]
    assert critical.labels["service"] == "fraud-scorer"
    assert critical.status.state == "active"
    assert critical.labels["cluster"] == "ml-prod-sim"  # external label only Alertmanager shows

    firing = {a.labels["alertname"]: a for a in await prom.alerts() if a.state == "firing"}
    assert "ModelServingHighErrorRate" in firing and "TargetDown" in firing
    assert 0.01 < firing["ModelServingHighErrorRate"].value < 0.5  # Go %e value parsed
    # for: 1h: pending on a fresh stack, firing on one that has been up for over an hour
    states = {a.labels["alertname"]: a.state for a in await prom.alerts()}
    assert states.get("LLMKVCacheSaturated") in ("pending", "firing")

    groups = await am.alert_groups()
    assert any(g.labels.get("alertname") == "TargetDown" for g in groups)


async def test_warning_is_inhibited_by_the_critical(clients) -> None:  # type: ignore[no-untyped-def]
    _, am = clients

    async def inhibited():  # type: ignore[no-untyped-def]
        alerts = await am.alerts()
        crit = [a for a in alerts if a.labels.get("alertname") == "ModelServingHighErrorRate"]
        warn = [a for a in alerts if a.labels.get("alertname") == "ModelServingHighLatencyP99" and a.status.inhibited_by]
        return (crit[0], warn[0]) if crit and warn else None

    crit, warn = await wait_for(inhibited, timeout=ALERT_WAIT, what="p99 warning inhibited by the critical alert")
    assert warn.status.state == "suppressed"
    assert warn.status.inhibited_by == [crit.fingerprint]


async def test_histogram_quantile_by_service(clients) -> None:  # type: ignore[no-untyped-def]
    prom, _ = clients
    expr = "histogram_quantile(0.99, sum by (service, le) (rate(model_inference_duration_seconds_bucket[1m])))"

    async def p99():  # type: ignore[no-untyped-def]
        data = (await prom.query(expr)).data
        assert isinstance(data, VectorResult)
        values = data.by_label("service")
        return values if values.get("fraud-scorer") and not math.isnan(values["fraud-scorer"]) else None

    values = await wait_for(p99, timeout=120, what="a p99 for fraud-scorer")
    assert 0 < values["fraud-scorer"] < 10  # seconds

    end = prom.server_now()
    ranged = (await prom.query_range(expr, start=end - timedelta(minutes=5), end=end, step=15)).data
    assert isinstance(ranged, MatrixResult)
    series = ranged.by_label("service")["fraud-scorer"]
    assert series and all(s.timestamp <= end.timestamp() + 1 for s in series)


async def test_server_errors_come_back_typed_with_the_servers_words(clients) -> None:  # type: ignore[no-untyped-def]
    prom, am = clients
    with pytest.raises(QueryRejected) as bad:
        await prom.query('sum(rate(model_inference_requests_total{status="error"}[1m])')
    assert bad.value.status == 400 and bad.value.error_type == "bad_data"
    assert "parse error" in str(bad.value)

    with pytest.raises(QueryRejected) as bad_filter:
        await am.alerts(["not a matcher"])
    assert "bad matcher format" in str(bad_filter.value)

    with pytest.raises(SourceUnavailable) as unknown:
        await am.expire_silence("f1485bac-6490-4aee-afdf-b6cebd803bd6")
    assert unknown.value.status == 500 and "silence not found" in str(unknown.value)

    with pytest.raises(NotFound):
        await prom.get_json("/api/v1/no_such_endpoint")


async def test_silence_created_read_back_suppresses_and_expires(clients) -> None:  # type: ignore[no-untyped-def]
    _, am = clients

    async def target_down():  # type: ignore[no-untyped-def]
        return [a for a in await am.alerts(['alertname="TargetDown"']) if not a.status.silenced_by]

    alert = (await wait_for(target_down, timeout=ALERT_WAIT, what="TargetDown in Alertmanager"))[0]
    now = am.server_now()
    spec = SilenceSpec(
        matchers=[
            Matcher(name="alertname", value="TargetDown", is_regex=False, is_equal=True),
            Matcher(name="pod", value=alert.labels["pod"], is_regex=False, is_equal=True),
        ],
        starts_at=now,
        ends_at=now + timedelta(minutes=15),
        created_by="oncall-tui-tests",
        comment="integration test: dead pod is known",
    )
    silence_id = await am.create_silence(spec)
    try:
        back = await am.silence(silence_id)
        assert back.status.state == "active"
        assert back.created_by == "oncall-tui-tests"
        assert [(m.name, m.value, m.is_regex, m.is_equal) for m in back.matchers] == [
            (m.name, m.value, m.is_regex, m.is_equal) for m in spec.matchers
        ]

        async def suppressed():  # type: ignore[no-untyped-def]
            for a in await am.alerts(['alertname="TargetDown"']):
                if a.fingerprint == alert.fingerprint and silence_id in a.status.silenced_by:
                    return a
            return None

        hit = await wait_for(suppressed, timeout=30, interval=0.5, what="the silence to suppress TargetDown")
        assert hit.status.state == "suppressed"
        assert any(s.id == silence_id for s in await am.silences(['alertname="TargetDown"']))
    finally:
        await am.expire_silence(silence_id)

    assert (await am.silence(silence_id)).status.state == "expired"

    async def active_again():  # type: ignore[no-untyped-def]
        for a in await am.alerts(['alertname="TargetDown"']):
            if a.fingerprint == alert.fingerprint and silence_id not in a.status.silenced_by:
                return a
        return None

    await wait_for(active_again, timeout=30, interval=0.5, what="TargetDown to be unsilenced")


def test_check_command_reports_both_endpoints_ok(realstack: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONCALL_TUI_")}
    result = subprocess.run(
        [sys.executable, "-m", "oncall_tui", "check", "--config", str(LOCAL_STACK)],
        capture_output=True, text=True, timeout=60, env={**env, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    prom = next(line for line in lines if line.startswith("prometheus"))
    am = next(line for line in lines if line.startswith("alertmanager"))
    assert "http://127.0.0.1:19090" in prom and "2.42.0" in prom and prom.rstrip().endswith("OK")
    assert "http://127.0.0.1:19093" in am and "0.25.0" in am and am.rstrip().endswith("OK")
    assert "all 2 endpoints OK" in result.stdout


def test_check_command_fails_when_an_endpoint_is_down(realstack: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "contexts:\n  mixed:\n    endpoints:\n"
        "      prometheus: {url: 'http://127.0.0.1:19090'}\n"
        "      alertmanager: {url: 'http://127.0.0.1:1'}\n"
    )
    cfg.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONCALL_TUI_")}
    result = subprocess.run(
        [sys.executable, "-m", "oncall_tui", "check", "--config", str(cfg)],
        capture_output=True, text=True, timeout=60, env={**env, "COLUMNS": "200"},
    )
    assert result.returncode == 1
    am_row = next(line for line in result.stdout.splitlines() if line.startswith("alertmanager"))
    assert "http://127.0.0.1:1" in am_row and am_row.rstrip().endswith("DOWN")
    assert "  DOWN: cannot connect" in result.stdout
    assert "1 of 2 endpoints failed" in result.stdout
