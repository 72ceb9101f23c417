"""Every recorded Prometheus/Alertmanager response, served back through the real clients.

Each manifest entry becomes one test: an ``httpx.MockTransport`` answers with the recorded
status, content type and body; the test calls the client method a user of the app would, and
checks both the request the client sent (path, key parameters, JSON body) against the recorded
request and what the caller gets back (typed data, or the right error with the server's text).
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from oncall_tui.clients.prometheus import READ_POST_PATHS
from oncall_tui.clients import (
    AlertmanagerClient,
    MalformedResponse,
    NotFound,
    PrometheusClient,
    QueryRejected,
    RetryPolicy,
    SourceUnavailable,
    Timeout,
)
from oncall_tui.models.alertmanager import InvalidSilence, Matcher, SilenceSpec
from oncall_tui.models.prometheus import MatrixResult, ScalarResult, StringResult, VectorResult

from .conftest import FIXTURES

# Endpoints the app does not use (yet): recorded, but no client method on purpose.
UNMODELLED = {
    "/api/v1/targets",
    "/api/v1/targets/metadata",
    "/api/v1/metadata",
    "/api/v1/status/runtimeinfo",
    "/api/v1/alertmanagers",
}


def _entries(folder: str) -> list[dict[str, Any]]:
    manifest = json.loads((FIXTURES / folder / "manifest.json").read_text())
    return [
        {**e, "folder": folder}
        for e in manifest
        if e["path"] not in UNMODELLED and not e["path"].startswith("/webhook")
    ]


ENTRIES = _entries("prometheus") + _entries("alertmanager")


class Recorder:
    """A MockTransport that answers with one recorded response and remembers the request."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry
        self.requests: list[httpx.Request] = []
        self.body = (FIXTURES / entry["folder"] / entry["file"]).read_bytes()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        headers = {"content-type": self.entry["content_type"]} if self.entry["content_type"] else {}
        return httpx.Response(self.entry["status"], headers=headers, content=self.body)


def _param(entry: dict[str, Any], name: str) -> Any:
    return entry["query_params"].get(name)


def _spec_from(body: dict[str, Any]) -> SilenceSpec:
    return SilenceSpec(
        id=body.get("id"),
        matchers=[Matcher.model_validate(m) for m in body["matchers"]],
        starts_at=datetime.fromisoformat(body["startsAt"].replace("Z", "+00:00")),
        ends_at=datetime.fromisoformat(body["endsAt"].replace("Z", "+00:00")),
        created_by=body.get("createdBy", ""),
        comment=body.get("comment", ""),
    )


def _call_for(entry: dict[str, Any], prom: PrometheusClient, am: AlertmanagerClient) -> Callable[[], Awaitable[Any]]:
    """The client call that produces the recorded request."""
    path, p = entry["path"], entry["query_params"]
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "/api/v1/query": lambda: prom.query(p.get("query", ""), time=float(p["time"])),
        "/api/v1/query_range": lambda: prom.query_range(
            p["query"], start=float(p["start"]), end=float(p["end"]), step=float(p["step"])
        ),
        "/api/v1/query_exemplars": lambda: prom.query_exemplars(
            p["query"], start=float(p["start"]), end=float(p["end"])
        ),
        "/api/v1/alerts": prom.alerts,
        "/api/v1/rules": lambda: prom.rules(type=p.get("type")),
        "/api/v1/labels": prom.labels,
        "/api/v1/series": lambda: prom.series(
            [p["match[]"]] if isinstance(p["match[]"], str) else p["match[]"],
            start=float(p["start"]) if "start" in p else None,
            end=float(p["end"]) if "end" in p else None,
        ),
        "/api/v1/status/buildinfo": prom.buildinfo,
        "/api/v1/no_such_endpoint": lambda: prom.get_json("/api/v1/no_such_endpoint"),
        "/api/v2/status": am.status,
        "/api/v2/receivers": am.receivers,
        "/api/v2/alerts/groups": am.alert_groups,
        "/api/v2/silences": lambda: am.silences(
            [p["filter"]] if isinstance(p.get("filter"), str) else p.get("filter", [])
        ),
    }
    if path in calls:
        return calls[path]
    if path.startswith("/api/v1/label/"):
        return lambda: prom.label_values(path.split("/")[4])
    if path == "/api/v2/alerts":
        filters = p.get("filter", [])
        filters = [filters] if isinstance(filters, str) else filters
        return lambda: am.alerts(
            filters,
            silenced=p.get("silenced", "true") == "true",
            inhibited=p.get("inhibited", "true") == "true",
        )
    if path.startswith("/api/v2/silence/"):
        sid = path.rsplit("/", 1)[1]
        return (lambda: am.expire_silence(sid)) if entry["method"] == "DELETE" else (lambda: am.silence(sid))
    raise AssertionError(f"no client call for recorded endpoint {entry['method']} {path}")


def _clients(rec: Recorder) -> tuple[PrometheusClient, AlertmanagerClient]:
    transport = httpx.MockTransport(rec)

    async def no_sleep(_: float) -> None:
        return None

    retry = RetryPolicy(max_retries=0)
    prom = PrometheusClient(httpx.AsyncClient(base_url="http://prom.test", transport=transport), retry=retry, sleep=no_sleep)
    am = AlertmanagerClient(httpx.AsyncClient(base_url="http://am.test", transport=transport), retry=retry, sleep=no_sleep)
    return prom, am


def _expected_error(entry: dict[str, Any]) -> type[Exception]:
    status = entry["status"]
    if status == 404:
        return NotFound
    if status == 503:
        return Timeout  # Prometheus' own query timeout
    if status in (400, 422):
        return QueryRejected
    return SourceUnavailable


def test_manifest_covers_every_endpoint_we_model() -> None:
    assert len(ENTRIES) >= 60
    assert {e["folder"] for e in ENTRIES} == {"prometheus", "alertmanager"}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e['folder']}/{e['file']}")
async def test_recorded_response_through_client(entry: dict[str, Any]) -> None:
    rec = Recorder(entry)
    prom, am = _clients(rec)

    if entry["method"] == "POST" and entry["path"] == "/api/v2/silences":
        await _check_post_silence(entry, rec, am)
        return
    call = _call_for(entry, prom, am)

    if entry["status"] >= 300:
        with pytest.raises(_expected_error(entry)) as info:
            await call()
        err = info.value
        assert err.status == entry["status"]
        # The server's own words reach the user (first line of the body), sanitised.
        body = rec.body.decode()
        server_text = json.loads(body) if entry["content_type"] == "application/json" else body.strip()
        if isinstance(server_text, dict):
            server_text = server_text.get("error") or server_text.get("message")
        assert server_text.replace('"', "")[:60] in str(err).replace('\\"', "").replace('"', "")
    else:
        result = await call()
        _check_result(entry, result)

    sent = rec.requests[0]
    assert sent.url.path == entry["path"]
    if sent.url.path in READ_POST_PATHS:
        # Queries always go as POST form bodies (a GET URL cannot hold a long PromQL); the
        # recorded GET and POST-form fixtures are the same query.
        assert sent.method == "POST"
    else:
        assert sent.method == entry["method"]
    for key in ("query", "type", "match[]", "filter", "silenced", "inhibited"):
        recorded = _param(entry, key)
        if recorded is not None:
            want = recorded if isinstance(recorded, list) else [recorded]
            assert sent_params(sent).get_list(key) == want, key


def sent_params(request: httpx.Request) -> httpx.QueryParams:
    """The parameters of a request: its query string, or its form body for a POST."""
    if request.method == "POST" and request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return httpx.QueryParams(request.content.decode())
    return request.url.params


def _check_result(entry: dict[str, Any], result: Any) -> None:
    path = entry["path"]
    if path in ("/api/v1/query", "/api/v1/query_range"):
        data = result.data
        if "scalar" in entry["file"]:
            assert isinstance(data, ScalarResult) and data.result.value > 0
        elif "string" in entry["file"]:
            assert isinstance(data, StringResult) and data.result.value == "oncall"
        elif path == "/api/v1/query_range" or "matrix" in entry["file"]:
            assert isinstance(data, MatrixResult)
            assert all(len(s.values) > 0 for s in data.result)
        else:
            assert isinstance(data, VectorResult)
            assert all(isinstance(s.value.value, float) for s in data.result)
            if "empty" in entry["file"]:
                assert data.result == []
            else:
                assert data.result
    elif path == "/api/v1/alerts":
        assert {a.state for a in result} <= {"firing", "pending"} and result
    elif path == "/api/v1/rules":
        rules = [r for g in result.groups for r in g.rules]
        assert rules
        wanted = {"alert": {"alerting"}, "record": {"recording"}}.get(_param(entry, "type"), {"alerting", "recording"})
        assert {r.type for r in rules} == wanted
    elif path == "/api/v1/query_exemplars":
        assert result.data and all(e.trace_id for s in result.data for e in s.exemplars)
    elif path == "/api/v1/status/buildinfo":
        assert result.version == "2.42.0+ds"
    elif path == "/api/v2/status":
        assert result.version_info.version == "0.25.0"
    elif path.startswith("/api/v2/silence/") and entry["method"] == "DELETE":
        assert result is None
    elif path.startswith("/api/v2/silence/"):
        assert result.id == path.rsplit("/", 1)[1]
    else:
        assert result, f"{entry['file']} parsed to an empty result"


async def _check_post_silence(entry: dict[str, Any], rec: Recorder, am: AlertmanagerClient) -> None:
    body = json.loads((FIXTURES / "alertmanager" / entry["request_body_file"]).read_text())
    if entry["status"] == 200:
        spec = _spec_from(body)
        if spec.id:
            sid = await am.update_silence(spec.id, spec)
        else:
            sid = await am.create_silence(spec)
        assert sid == json.loads(rec.body)["silenceID"]
        assert json.loads(rec.requests[0].content) == body  # byte-for-byte the recorded request
        return
    # Our client-side checks refuse these before they reach the server...
    if "createdBy" in body and body["matchers"]:
        with pytest.raises(InvalidSilence):
            await am.create_silence(_spec_from(body))
    else:
        with pytest.raises((InvalidSilence, ValueError)):
            await am.create_silence(_spec_from(body))
    assert rec.requests == []
    # ...and when the server refuses one anyway, its message reaches the user.
    with pytest.raises(QueryRejected) as info:
        await am._post_silence(body)
    assert info.value.status == entry["status"]
    data = json.loads(rec.body)
    message = data["message"] if isinstance(data, dict) else data
    assert message[:40].replace('"', "") in str(info.value).replace('"', "").replace("\\", "")


async def test_special_float_values_parse_as_floats() -> None:
    entry = next(e for e in ENTRIES if e["file"] == "query__vector__special_float_values.json")
    prom, _ = _clients(Recorder(entry))
    values = (await prom.query("x")).data.by_label("case")
    assert values["pos_inf"] == math.inf and values["neg_inf"] == -math.inf
    assert math.isnan(values["nan"]) and values["tiny"] == 1e-7 and values["big"] == 123456789012


async def test_envelope_without_data_is_malformed_not_a_crash() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"status": "success"}))
    prom = PrometheusClient(httpx.AsyncClient(base_url="http://p", transport=transport))
    with pytest.raises(MalformedResponse):
        await prom.query("up")


async def test_wrong_shape_is_malformed_with_location() -> None:
    bad = {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": "x"}]}}
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=bad))
    prom = PrometheusClient(httpx.AsyncClient(base_url="http://p", transport=transport))
    with pytest.raises(MalformedResponse) as info:
        await prom.query("up")
    assert "unexpected response shape" in str(info.value)
