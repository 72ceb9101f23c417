"""How the clients behave when backends misbehave: retries, timeouts, redirects, big bodies."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from oncall_tui.clients import (
    AlertmanagerClient,
    AuthFailed,
    MalformedResponse,
    PrometheusClient,
    QueryRejected,
    RateLimited,
    RedirectRefused,
    ResponseTooLarge,
    RetryPolicy,
    SourceUnavailable,
    Timeout,
)
from oncall_tui.clients.http import parse_retry_after
from oncall_tui.models.alertmanager import Matcher, SilenceSpec

OK_QUERY = {"status": "success", "data": {"resultType": "vector", "result": []}}


class Script:
    """A MockTransport handler that plays a list of responses (or exceptions) in order."""

    def __init__(self, *steps: httpx.Response | Exception) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        return step


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def prom_with(script: Script, sleeps: Sleeps | None = None, **kw: object) -> PrometheusClient:
    http = httpx.AsyncClient(base_url="http://prom.test", transport=httpx.MockTransport(script), timeout=30)
    return PrometheusClient(http, sleep=sleeps or Sleeps(), rng=random.Random(7), **kw)  # type: ignore[arg-type]


def am_with(script: Script, sleeps: Sleeps | None = None) -> AlertmanagerClient:
    http = httpx.AsyncClient(base_url="http://am.test", transport=httpx.MockTransport(script))
    return AlertmanagerClient(http, sleep=sleeps or Sleeps())


def spec() -> SilenceSpec:
    now = datetime.now(UTC)
    return SilenceSpec(
        matchers=[Matcher(name="alertname", value="TargetDown", is_regex=False, is_equal=True)],
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        created_by="alice",
        comment="investigating",
    )


# ------------------------------------------------------------------------- retries --
async def test_503_is_retried_with_jittered_backoff_then_succeeds() -> None:
    script = Script(
        httpx.Response(503, text="upstream unavailable"),
        httpx.Response(503, text="upstream unavailable"),
        httpx.Response(200, json=OK_QUERY),
    )
    sleeps = Sleeps()
    result = await prom_with(script, sleeps).query("up")
    assert result.data.result == []
    assert len(script.requests) == 3
    assert len(sleeps.delays) == 2
    # full jitter: attempt n waits uniformly in [0, base * 2**n]
    assert 0 <= sleeps.delays[0] <= 1.0 and 0 <= sleeps.delays[1] <= 2.0


async def test_gives_up_after_max_retries_with_the_last_error() -> None:
    script = Script(httpx.Response(502, text="<html>Bad Gateway</html>"))
    sleeps = Sleeps()
    with pytest.raises(SourceUnavailable) as info:
        await prom_with(script, sleeps, retry=RetryPolicy(max_retries=3)).query("up")
    assert len(script.requests) == 4 and len(sleeps.delays) == 3
    assert "HTTP 502" in str(info.value) and "Bad Gateway" in str(info.value)


async def test_backoff_is_capped() -> None:
    policy = RetryPolicy(base=1.0, cap=60.0)
    rng = random.Random(1)
    assert all(policy.delay(20, rng, None) <= 60.0 for _ in range(200))


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("0", 1.0), ("-1", 1.0)],
)
async def test_429_honours_retry_after_clamped(header: str, expected: float) -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": header}), httpx.Response(200, json=OK_QUERY))
    sleeps = Sleeps()
    await prom_with(script, sleeps).query("up")
    assert sleeps.delays == [expected]


@pytest.mark.parametrize(("header", "expected"), [("86400", 300.0), ("60", 60.0)])
async def test_long_retry_after_is_not_slept_inside_the_request(header: str, expected: float) -> None:
    """A wait longer than a few seconds is handed to the caller (RETRYING badge, next try
    later) instead of one request hanging for minutes with nothing on screen."""
    script = Script(httpx.Response(503, headers={"Retry-After": header}), httpx.Response(200, json=OK_QUERY))
    sleeps = Sleeps()
    with pytest.raises(SourceUnavailable) as info:
        await prom_with(script, sleeps).query("up")
    assert sleeps.delays == [] and len(script.requests) == 1
    assert info.value.retry_after == expected


async def test_retry_after_as_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=20)
    assert 15 <= (parse_retry_after(format_datetime(when, usegmt=True)) or 0) <= 20
    assert parse_retry_after("soon") is None


async def test_429_after_retries_is_rate_limited() -> None:
    script = Script(httpx.Response(429, text="slow down"))
    with pytest.raises(RateLimited):
        await prom_with(script, retry=RetryPolicy(max_retries=1)).query("up")
    assert len(script.requests) == 2


async def test_connect_errors_are_retried() -> None:
    script = Script(httpx.ConnectError("[Errno 111] Connection refused"), httpx.Response(200, json=OK_QUERY))
    await prom_with(script).query("up")
    assert len(script.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_are_not_retried(status: int) -> None:
    body = {"status": "error", "errorType": "bad_data", "error": "nope"}
    script = Script(httpx.Response(status, json=body))
    sleeps = Sleeps()
    with pytest.raises((QueryRejected, AuthFailed)):
        await prom_with(script, sleeps).query("up")
    assert len(script.requests) == 1 and sleeps.delays == []


async def test_auth_failure_is_auth_failed() -> None:
    with pytest.raises(AuthFailed) as info:
        await prom_with(Script(httpx.Response(401, text="Unauthorized"))).query("up")
    assert info.value.badge == "AUTH-FAILED"


async def test_prometheus_query_timeout_is_not_retried() -> None:
    body = {"status": "error", "errorType": "timeout", "error": "query timed out in query execution"}
    script = Script(httpx.Response(503, json=body))
    with pytest.raises(Timeout) as info:
        await prom_with(script).query("count_over_time({__name__=~\".+\"}[10m])")
    assert len(script.requests) == 1
    assert "query timed out" in str(info.value)


async def test_post_silence_is_never_retried() -> None:
    script = Script(httpx.Response(503, text="unavailable"), httpx.Response(200, json={"silenceID": "x"}))
    sleeps = Sleeps()
    with pytest.raises(SourceUnavailable):
        await am_with(script, sleeps).create_silence(spec())
    assert len(script.requests) == 1 and sleeps.delays == []


async def test_delete_silence_is_never_retried() -> None:
    script = Script(httpx.ConnectError("refused"))
    with pytest.raises(SourceUnavailable):
        await am_with(script).expire_silence("eedd4862-3fab-4a13-b641-94dc8064a2ec")
    assert len(script.requests) == 1


# ------------------------------------------------------------------------ timeouts --
async def test_read_timeout_is_a_timeout_error() -> None:
    script = Script(httpx.ReadTimeout("timed out"))
    with pytest.raises(Timeout):
        await prom_with(script).query("up")
    assert len(script.requests) == 1  # a slow query is not re-sent


async def test_query_carries_server_timeout_below_read_timeout() -> None:
    script = Script(httpx.Response(200, json=OK_QUERY))
    await prom_with(script).query("up")
    sent = script.requests[0]
    assert sent.method == "POST"  # a PromQL of any length fits in a form body, not in a URL
    assert httpx.QueryParams(sent.content.decode())["timeout"] == "29s"


async def test_factory_sets_connect_and_read_timeouts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from oncall_tui.clients.factory import build_http_client
    from oncall_tui.settings import Endpoint

    http = build_http_client(
        Endpoint.model_validate({"url": "http://prom.test", "timeout": 12}), kind="prometheus"
    )
    assert http.timeout.connect == 5 and http.timeout.read == 12
    assert http.follow_redirects is False
    await http.aclose()


def test_tls_trust_roots_only_where_tls_can_happen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain-http endpoints skip loading the CA store (start-up) but can never talk TLS unverified."""
    import ssl

    from oncall_tui.clients.factory import _verify_for
    from oncall_tui.settings import Endpoint

    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)

    def ctx(**kw: object) -> ssl.SSLContext:
        verify = _verify_for(Endpoint.model_validate(kw), "prometheus", False)
        assert isinstance(verify, ssl.SSLContext)
        assert verify.verify_mode == ssl.CERT_REQUIRED and verify.check_hostname
        return verify

    assert ctx(url="http://prom.test").cert_store_stats()["x509_ca"] == 0  # fails closed
    assert ctx(url="https://prom.test").cert_store_stats()["x509_ca"] > 0
    assert ctx(url="http://prom.test", proxy="https://proxy.test:3128").cert_store_stats()["x509_ca"] > 0
    monkeypatch.setenv("HTTP_PROXY", "https://proxy.test:3128")
    assert ctx(url="http://prom.test").cert_store_stats()["x509_ca"] > 0
    assert ctx(url="http://prom.test", no_proxy=True).cert_store_stats()["x509_ca"] == 0


# ----------------------------------------------------------------------- redirects --
async def test_redirect_to_another_host_is_refused_and_never_followed() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.url.host == "prom.test":
            return httpx.Response(302, headers={"Location": "http://evil.example/api/v1/query?x=1"})
        return httpx.Response(200, json=OK_QUERY)

    http = httpx.AsyncClient(
        base_url="http://prom.test",
        transport=httpx.MockTransport(handler),
        headers={"X-Scope-OrgID": "tenant-a", "Authorization": "Bearer t0ken-value"},
    )
    for follow in (False, True):
        with pytest.raises(RedirectRefused):
            await PrometheusClient(http, follow_redirects=follow).query("up")
    assert seen == ["prom.test", "prom.test"]


async def test_same_origin_redirect_followed_only_when_enabled() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old/api/v1/query":
            return httpx.Response(307, headers={"Location": "/api/v1/query?query=up"})
        return httpx.Response(200, json=OK_QUERY)

    http = httpx.AsyncClient(base_url="http://prom.test/old", transport=httpx.MockTransport(handler))
    with pytest.raises(RedirectRefused):
        await PrometheusClient(http).query("up")
    result = await PrometheusClient(http, follow_redirects=True).query("up")
    assert result.data.result == []


# ----------------------------------------------------------------- bodies & shapes --
async def test_body_over_the_cap_is_refused() -> None:
    big = b'{"status":"success","data":["' + b"a" * 5000 + b'"]}'
    script = Script(httpx.Response(200, content=big))
    with pytest.raises(ResponseTooLarge):
        await prom_with(script, max_bytes=1024).labels()


async def test_deeply_nested_json_is_rejected_not_a_crash() -> None:
    script = Script(httpx.Response(200, content=b"[" * 100_000))
    with pytest.raises(MalformedResponse) as info:
        await prom_with(script).labels()
    assert "nested too deeply" in str(info.value)


async def test_non_json_error_body_shows_status_and_first_200_chars() -> None:
    html = "<html><body>" + "x" * 500 + "</body></html>"
    script = Script(httpx.Response(500, text=html, headers={"content-type": "text/html"}))
    with pytest.raises(SourceUnavailable) as info:
        await prom_with(script).query("up")
    text = str(info.value)
    assert "HTTP 500" in text and "<html><body>" in text and len(text) < 300


async def test_hostile_error_body_is_inert() -> None:
    hostile = "\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J[@click=app.quit]ack[/]"
    script = Script(httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": hostile}))
    with pytest.raises(QueryRejected) as info:
        await prom_with(script).query("up")
    text = str(info.value)
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in text


async def test_warnings_mark_a_partial_result() -> None:
    body = {**OK_QUERY, "warnings": ["PromQL info: some series dropped"]}
    result = await prom_with(Script(httpx.Response(200, json=body))).query("up")
    assert result.partial and result.warnings == ["PromQL info: some series dropped"]


async def test_clock_skew_is_measured_from_the_date_header() -> None:
    ahead = datetime.now(UTC) + timedelta(minutes=10)
    script = Script(httpx.Response(200, json=OK_QUERY, headers={"Date": format_datetime(ahead, usegmt=True)}))
    prom = prom_with(script)
    await prom.query("up")
    assert prom.clock_skew is not None and 595 <= prom.clock_skew <= 601
    assert (prom.server_now() - datetime.now(UTC)).total_seconds() > 590


async def test_alertmanager_filters_and_flags_are_sent() -> None:
    script = Script(httpx.Response(200, json=[]))
    await am_with(script).alerts(
        ['service=~"fraud.*"', Matcher(name="severity", value="none", is_regex=False, is_equal=False)],
        silenced=False,
        inhibited=False,
    )
    params = script.requests[0].url.params
    assert params.get_list("filter") == ['service=~"fraud.*"', 'severity!="none"']
    assert params["silenced"] == "false" and params["inhibited"] == "false" and params["active"] == "true"


async def test_silence_id_cannot_change_the_path() -> None:
    script = Script(httpx.Response(200, json={}))
    with pytest.raises(ValueError):
        await am_with(script).silence("../../api/v2/status")
    assert script.requests == []


def test_error_repr_and_str_are_safe() -> None:
    err = SourceUnavailable("boom \x1b[2J", source="prometheus", status=502, url="http://u:pw123456@h/x?token=abc")
    assert "\x1b" not in repr(err) and "pw123456" not in (err.url or "") and "abc" not in (err.url or "")
    assert json.dumps(str(err))
