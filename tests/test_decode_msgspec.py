"""The msgspec decoding path: every recorded Prometheus/Alertmanager body decodes straight from
bytes to exactly the models pydantic's validation builds, and hostile bodies fail cleanly.

The reference parser here is the one the models used before (pydantic ``TypeAdapter``s over the
same model classes, on ``json.loads`` output). It stays as the oracle: a model change that the
decoders miss fails these tests.
"""

from __future__ import annotations

import gc
import json
import math
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from oncall_tui.clients import AlertmanagerClient, PrometheusClient
from oncall_tui.clients.errors import MalformedResponse
from oncall_tui.models import alertmanager as am
from oncall_tui.models import common
from oncall_tui.models import prometheus as pm
from oncall_tui.models.common import ADAPTER_CONFIG, ShapeError

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
SECRET = "s3cr3t-t0ken-value"


def _manifest(kind: str) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / kind / "manifest.json").read_text())


# ------------------------------------------------------------- the reference parser --
_REF_QUERY = TypeAdapter(pm.QueryData, config=ADAPTER_CONFIG)
_REF_EXEMPLARS = TypeAdapter(list[pm.ExemplarSeries], config=ADAPTER_CONFIG)
_REF_STRS = TypeAdapter(list[str], config=ADAPTER_CONFIG)
_REF_SERIES = TypeAdapter(list[dict[str, str]], config=ADAPTER_CONFIG)
_REF_ALERTS = TypeAdapter(list[am.AmAlert], config=ADAPTER_CONFIG)
_REF_GROUPS = TypeAdapter(list[am.AlertGroup], config=ADAPTER_CONFIG)
_REF_SILENCES = TypeAdapter(list[am.Silence], config=ADAPTER_CONFIG)
_REF_RECEIVERS = TypeAdapter(list[am.Receiver], config=ADAPTER_CONFIG)

#: Prometheus path -> (new parser of the envelope's data, reference parser of decoded data)
PROM_PARSERS: dict[str, tuple[Any, Any]] = {
    "/api/v1/query": (pm.parse_query_data, _REF_QUERY.validate_python),
    "/api/v1/query_range": (pm.parse_query_data, _REF_QUERY.validate_python),
    "/api/v1/query_exemplars": (pm.parse_exemplars, _REF_EXEMPLARS.validate_python),
    "/api/v1/alerts": (pm.parse_prom_alerts, pm.AlertsData.model_validate),
    "/api/v1/rules": (pm.parse_rules, pm.RulesData.model_validate),
    "/api/v1/labels": (pm.parse_str_list, _REF_STRS.validate_python),
    "/api/v1/series": (pm.parse_series, _REF_SERIES.validate_python),
    "/api/v1/status/buildinfo": (pm.parse_buildinfo, pm.BuildInfo.model_validate),
}

#: Alertmanager GET path -> (new parser of the body, reference parser of decoded data)
AM_PARSERS: dict[str, tuple[Any, Any]] = {
    "/api/v2/alerts": (am.parse_alerts, _REF_ALERTS.validate_python),
    "/api/v2/alerts/groups": (am.parse_alert_groups, _REF_GROUPS.validate_python),
    "/api/v2/silences": (am.parse_silences, _REF_SILENCES.validate_python),
    "/api/v2/receivers": (am.parse_receivers, _REF_RECEIVERS.validate_python),
    "/api/v2/status": (am.parse_am_status, am.AmStatus.model_validate),
}


def _prom_parsers(path: str) -> tuple[Any, Any] | None:
    if path.startswith("/api/v1/label/") and path.endswith("/values"):
        return pm.parse_str_list, _REF_STRS.validate_python
    return PROM_PARSERS.get(path)


def _am_parsers(entry: dict[str, Any]) -> tuple[Any, Any] | None:
    path, method = entry["path"], entry["method"]
    if method == "POST" and path == "/api/v2/silences":
        return am.parse_post_silence_response, am.PostSilenceResponse.model_validate
    if method != "GET":
        return None
    if path.startswith("/api/v2/silence/"):
        return am.parse_silence, am.Silence.model_validate
    return AM_PARSERS.get(path)


def _ok_entries(kind: str) -> list[dict[str, Any]]:
    pick = _prom_parsers if kind == "prometheus" else None
    out = []
    for e in _manifest(kind):
        if e["status"] != 200 or not e["file"].endswith(".json"):
            continue
        parsers = _prom_parsers(e["path"]) if pick else _am_parsers(e)
        if parsers is not None:
            out.append(e)
    return out


PROM_OK = _ok_entries("prometheus")
AM_OK = _ok_entries("alertmanager")


def assert_same(new: Any, ref: Any, where: str = "") -> None:
    """Equal values, same types, and the same pydantic bookkeeping (fields set, extra, private)."""
    assert type(new) is type(ref), where
    if isinstance(ref, BaseModel):
        assert new.model_fields_set == ref.model_fields_set, where
        assert new.__pydantic_extra__ == ref.__pydantic_extra__, where
        assert new.__pydantic_private__ == ref.__pydantic_private__, where
        assert set(new.__dict__) == set(ref.__dict__), where
        for name in ref.__dict__:
            assert_same(new.__dict__[name], ref.__dict__[name], f"{where}.{name}")
        assert _dump_equal(new, ref), where
    elif isinstance(ref, list | tuple):
        assert len(new) == len(ref), where
        for i, (a, b) in enumerate(zip(new, ref, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(ref, dict):
        assert list(new) == list(ref), where
        for k in ref:
            assert_same(new[k], ref[k], f"{where}[{k!r}]")
    elif isinstance(ref, float) and math.isnan(ref):
        assert math.isnan(new), where
    elif isinstance(ref, datetime):
        # pydantic's TzInfo(0) and datetime.timezone.utc compare equal; so must the instants
        assert new == ref and new.utcoffset() == ref.utcoffset(), where
        assert new.replace(tzinfo=None) == ref.replace(tzinfo=None), where
    else:
        assert new == ref, where


def _dump_equal(a: BaseModel, b: BaseModel) -> bool:
    return json.dumps(a.model_dump(mode="json")) == json.dumps(b.model_dump(mode="json"))


# ------------------------------------------------------------------ every fixture --
def test_the_fixtures_cover_every_parser() -> None:
    prom_paths = {e["path"] for e in PROM_OK}
    assert {"/api/v1/query", "/api/v1/query_range", "/api/v1/alerts", "/api/v1/rules"} <= prom_paths
    assert {"/api/v1/query_exemplars", "/api/v1/series", "/api/v1/labels"} <= prom_paths
    am_paths = {(e["method"], e["path"].split("/api/v2/")[1].split("/")[0]) for e in AM_OK}
    assert {("GET", "alerts"), ("GET", "silences"), ("GET", "silence"), ("POST", "silences")} <= am_paths
    assert {("GET", "status"), ("GET", "receivers")} <= am_paths
    assert len(PROM_OK) >= 30 and len(AM_OK) >= 15


@pytest.mark.parametrize("entry", PROM_OK, ids=lambda e: e["file"])
def test_every_prometheus_fixture_decodes_to_the_same_models(entry: dict[str, Any]) -> None:
    body = (FIXTURES / "prometheus" / entry["file"]).read_bytes()
    new_parse, ref_parse = _prom_parsers(entry["path"])  # type: ignore[misc]
    raw, warnings, infos = pm.parse_envelope(body)
    decoded = json.loads(body)
    assert warnings == [str(w) for w in decoded.get("warnings") or []]
    assert infos == [str(i) for i in decoded.get("infos") or []]
    ref = ref_parse(decoded["data"])
    assert_same(new_parse(raw), ref, entry["file"])
    # already-decoded data (what Loki's client hands in) takes the same path
    assert_same(new_parse(decoded["data"]), ref, entry["file"])


@pytest.mark.parametrize("entry", AM_OK, ids=lambda e: e["file"])
def test_every_alertmanager_fixture_decodes_to_the_same_models(entry: dict[str, Any]) -> None:
    body = (FIXTURES / "alertmanager" / entry["file"]).read_bytes()
    new_parse, ref_parse = _am_parsers(entry)  # type: ignore[misc]
    ref = ref_parse(json.loads(body))
    assert_same(new_parse(body), ref, entry["file"])
    assert_same(new_parse(json.loads(body)), ref, entry["file"])


def test_prometheus_error_fixtures_decode_like_pydantic() -> None:
    files = [e["file"] for e in _manifest("prometheus") if e["status"] >= 400 and e["file"].endswith(".json")]
    assert files
    for name in files:
        body = (FIXTURES / "prometheus" / name).read_bytes()
        assert_same(pm.parse_error_body(body), pm.PromErrorBody.model_validate_json(body), name)


def test_nanosecond_times_truncate_to_microseconds_like_before() -> None:
    rule_file = json.loads((FIXTURES / "prometheus" / "rules.json").read_bytes())
    ns = [g["lastEvaluation"] for g in rule_file["data"]["groups"]]
    assert any(len(t.split(".")[1]) > 7 for t in ns)  # the fixture really has nanoseconds
    assert common.parse_time("2026-11-22T05:34:49.952251503Z").microsecond == 952251
    assert common.parse_time("2026-11-22T05:34:49.9999999Z").second == 49


def test_models_from_the_decoders_behave_like_validated_ones() -> None:
    alerts = am.parse_alerts((FIXTURES / "alertmanager" / "alerts__after_silence.json").read_bytes())
    a = alerts[0]
    with pytest.raises(ValidationError):
        a.fingerprint = "x"  # type: ignore[misc]  (frozen)
    copy = a.model_copy(update={"fingerprint": "x"})
    assert copy.fingerprint == "x" and a.fingerprint != "x"
    assert am.AmAlert.model_validate(a.model_dump(by_alias=True)) == a
    assert json.loads(a.model_dump_json(by_alias=True))["generatorURL"] == a.generator_url
    silences = am.parse_silences((FIXTURES / "alertmanager" / "silences.json").read_bytes())
    spec = silences[0].to_spec()
    assert spec.matchers == silences[0].matchers and spec.to_api(validate=False)["id"] == silences[0].id


# --------------------------------------------------------------------- bad bodies --
GOOD_ALERT = json.loads((FIXTURES / "alertmanager" / "alerts__after_silence.json").read_bytes())[0]
QUERY_OK = b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}'

BAD_AM_BODIES = {
    "not json": b"{<html>" + SECRET.encode() + b"</html>",
    "truncated": json.dumps([GOOD_ALERT]).encode()[:-40],
    "trailing": json.dumps([GOOD_ALERT]).encode() + SECRET.encode(),
    "object not list": json.dumps({"alerts": [SECRET]}).encode(),
    "wrong type": json.dumps([{**GOOD_ALERT, "fingerprint": 12345}]).encode(),
    "label not str": json.dumps([{**GOOD_ALERT, "labels": {SECRET: [SECRET]}}]).encode(),
    "unknown state": json.dumps([{**GOOD_ALERT, "status": {"state": SECRET}}]).encode(),
    "bad time": json.dumps([{**GOOD_ALERT, "startsAt": SECRET}]).encode(),
    "missing field": json.dumps([{k: v for k, v in GOOD_ALERT.items() if k != "receivers"}]).encode(),
    "null": b"null",
    "empty": b"",
    "nested 10k": b"[" * 10_000 + b"]" * 10_000,
    "nested 100k unclosed": b"[" * 100_000,
    "deep in a label": b'[{"labels":' + b"[" * 10_000 + b"]" * 10_000 + b"}]",
}


@pytest.mark.parametrize("name", list(BAD_AM_BODIES))
def test_bad_alertmanager_bodies_raise_shape_errors_without_values(name: str) -> None:
    with pytest.raises(ShapeError) as info:
        am.parse_alerts(BAD_AM_BODIES[name])
    assert SECRET not in str(info.value) and "12345" not in str(info.value)


def test_shape_errors_name_the_field() -> None:
    cases = {
        "wrong type": "$[0].fingerprint",
        "label not str": "$[0].labels[...]",
        "unknown state": "$[0].status.state",
        "bad time": "$[0].startsAt",
        "missing field": "$[0]",
    }
    for name, path in cases.items():
        with pytest.raises(ShapeError) as info:
            am.parse_alerts(BAD_AM_BODIES[name])
        assert info.value.path == path, name
    with pytest.raises(ShapeError, match="receivers"):
        am.parse_alerts(BAD_AM_BODIES["missing field"])
    with pytest.raises(ShapeError) as info:
        am.parse_silences(json.dumps([{"id": "x"}]).encode())
    assert "Object missing required field" in str(info.value)


BAD_QUERY_DATA = {
    "unknown resultType": {"resultType": SECRET, "result": []},
    "no resultType": {"result": []},
    "resultType not str": {"resultType": 7, "result": []},
    "bad value": {"resultType": "vector", "result": [{"metric": {}, "value": [1, SECRET]}]},
    "bad matrix value": {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1"], [2, SECRET]]}]},
    "bool timestamp": {"resultType": "matrix", "result": [{"metric": {}, "values": [[True, "1"]]}]},
    "short pair": {"resultType": "scalar", "result": [1]},
    "metric not str": {"resultType": "vector", "result": [{"metric": {"k": [SECRET]}, "value": [1, "1"]}]},
}


@pytest.mark.parametrize("name", list(BAD_QUERY_DATA))
def test_bad_query_data_raises_shape_errors_without_values(name: str) -> None:
    data = BAD_QUERY_DATA[name]
    for form in (json.dumps(data).encode(), data):
        with pytest.raises(ShapeError) as info:
            pm.parse_query_data(form)
        assert SECRET not in str(info.value)
        assert info.value.path.startswith("$")


def test_matrix_value_errors_point_at_the_sample() -> None:
    with pytest.raises(ShapeError) as info:
        pm.parse_query_data(json.dumps(BAD_QUERY_DATA["bad matrix value"]).encode())
    assert info.value.path == "$.result[0].values[1][1]"


def test_envelope_errors() -> None:
    for body in (b'{"status":"error","data":[]}', b'{"status":"success"}', b"[]", b'"x"'):
        with pytest.raises(ShapeError):
            pm.parse_envelope(body)
    raw, warnings, infos = pm.parse_envelope(b'{"status":"success","data":[1],"warnings":["w", 2],"infos":"i"}')
    assert bytes(raw) == b"[1]" and warnings == ["w", "2"] and infos == ["i"]


def test_invalid_utf8_becomes_replacement_characters() -> None:
    alert = {**GOOD_ALERT, "labels": {**GOOD_ALERT["labels"], "pod": "POD"}}
    body = json.dumps([alert]).encode().replace(b"POD", b"p\xffd")
    (parsed,) = am.parse_alerts(body)
    assert parsed.labels["pod"] == "p\ufffdd"


# ------------------------------------------------------------------- GC and threads --
def test_large_bodies_pause_the_gc_and_restore_it() -> None:
    big = json.dumps([{**GOOD_ALERT, "fingerprint": f"{i:016x}"} for i in range(600)]).encode()
    assert len(big) > common.GC_PAUSE_BYTES
    seen: list[bool] = []
    original = am._alerts_from_wire

    def spy(*args: Any, **kw: Any) -> Any:
        seen.append(gc.isenabled())
        return original(*args, **kw)

    assert gc.isenabled()
    am._alerts_from_wire = spy  # type: ignore[assignment]
    try:
        am.parse_alerts(big)
        am.parse_alerts(json.dumps([GOOD_ALERT]).encode())
        with pytest.raises(ShapeError):
            am.parse_alerts(big[:-10])
    finally:
        am._alerts_from_wire = original  # type: ignore[assignment]
    assert seen == [False, True] and gc.isenabled()


def test_gc_pause_nests_across_threads() -> None:
    barrier = threading.Barrier(2)

    def work() -> None:
        with common.gc_paused():
            barrier.wait()
            assert not gc.isenabled()
            barrier.wait()

    t = threading.Thread(target=work)
    t.start()
    with common.gc_paused():
        barrier.wait()
        barrier.wait()
    t.join()
    assert gc.isenabled()


def test_deep_nesting_in_a_thread_is_an_error_not_a_crash() -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            pm.parse_query_data(b'{"resultType":"vector","result":[],"stats":' + b"[" * 50_000 + b"}")
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert len(errors) == 1 and isinstance(errors[0], ShapeError)


# ----------------------------------------------------------------------- clients --
def _prom(body: bytes) -> PrometheusClient:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    return PrometheusClient(httpx.AsyncClient(base_url="http://p", transport=transport))


def _am(body: bytes) -> AlertmanagerClient:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    return AlertmanagerClient(httpx.AsyncClient(base_url="http://a", transport=transport))


@pytest.mark.parametrize("name", list(BAD_AM_BODIES))
async def test_clients_turn_bad_bodies_into_malformed_response(name: str) -> None:
    with pytest.raises(MalformedResponse) as info:
        await _am(BAD_AM_BODIES[name]).alerts()
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("name", list(BAD_QUERY_DATA))
async def test_prometheus_client_names_the_field_under_data(name: str) -> None:
    body = json.dumps({"status": "success", "data": BAD_QUERY_DATA[name]}).encode()
    with pytest.raises(MalformedResponse) as info:
        await _prom(body).query("up")
    text = str(info.value)
    assert SECRET not in text and "unexpected response shape" in text and "$.data" in text


async def test_prometheus_client_reads_fixtures() -> None:
    result = await _prom(QUERY_OK).query("up")
    assert isinstance(result.data, pm.VectorResult) and result.data.result[0].value.value == 1.0
    big = json.dumps(
        {"status": "success", "data": {"alerts": [{"labels": {"i": str(i)}, "state": "firing", "value": "1e+00"} for i in range(30_000)]}}
    ).encode()
    assert len(big) > 1024 * 1024  # decoded in a thread
    alerts = await _prom(big).alerts()
    assert len(alerts) == 30_000 and alerts[-1].labels == {"i": "29999"}


# ------------------------------------------------------- models reused by element --
def _alerts_fixtures() -> list[tuple[str, bytes]]:
    am_files = [e["file"] for e in AM_OK if e["method"] == "GET" and e["path"].split("?")[0] == "/api/v2/alerts"]
    prom_files = [e["file"] for e in PROM_OK if e["path"] == "/api/v1/alerts"]
    assert am_files and prom_files
    return [("am", (FIXTURES / "alertmanager" / f).read_bytes()) for f in am_files] + [
        ("prom", bytes(pm.parse_envelope((FIXTURES / "prometheus" / f).read_bytes())[0])) for f in prom_files
    ]


def _parse(kind: str, body: bytes, cache: common.ElementCache | None = None) -> Any:
    return am.parse_alerts(body, cache=cache) if kind == "am" else pm.parse_prom_alerts(body, cache=cache)


def _alert_list(kind: str, parsed: Any) -> list[Any]:
    return parsed if kind == "am" else parsed.alerts


def test_a_cache_gives_the_same_models_and_reuses_unchanged_alerts() -> None:
    for kind, body in _alerts_fixtures():
        cache = common.ElementCache()
        ref = _parse(kind, body)
        first = _parse(kind, body, cache)
        assert_same(first, ref, kind)
        again = _parse(kind, body, cache)
        assert_same(again, ref, kind)
        assert all(a is b for a, b in zip(_alert_list(kind, first), _alert_list(kind, again), strict=True))
        # one alert changed and one gone: only the changed one is new
        items = json.loads(body) if kind == "am" else json.loads(body)["alerts"]
        if len(items) < 2:
            continue

        def encode(alerts: list[Any], kind: str = kind) -> bytes:
            return json.dumps(alerts if kind == "am" else {"alerts": alerts}).encode()

        old = _alert_list(kind, _parse(kind, encode(items), cache))
        changed = [{**items[0], "labels": {**items[0]["labels"], "extra": "x"}}, *items[2:]]
        third = _parse(kind, encode(changed), cache)
        assert_same(third, _parse(kind, encode(changed)), kind)
        got = _alert_list(kind, third)
        assert got[0] is not old[0] and got[0].labels["extra"] == "x"
        assert all(a is b for a, b in zip(got[1:], old[2:], strict=True))
        assert len(cache) == len(changed)


def test_a_cache_reports_bad_bodies_exactly_as_without() -> None:
    cache = common.ElementCache()
    good = json.dumps([GOOD_ALERT, GOOD_ALERT]).encode()
    am.parse_alerts(good, cache=cache)
    for name, body in BAD_AM_BODIES.items():
        with pytest.raises(ShapeError) as plain:
            am.parse_alerts(body)
        with pytest.raises(ShapeError) as cached:
            am.parse_alerts(body, cache=cache)
        assert (cached.value.path, cached.value.detail, cached.value.syntax) == (
            plain.value.path,
            plain.value.detail,
            plain.value.syntax,
        ), name
    # a bad second element is named by its place in the body, not in the re-decoded batch
    bad = json.dumps([GOOD_ALERT, {**GOOD_ALERT, "fingerprint": 12345}]).encode()
    with pytest.raises(ShapeError) as info:
        am.parse_alerts(bad, cache=cache)
    assert info.value.path == "$[1].fingerprint"
    with pytest.raises(ShapeError) as info:
        pm.parse_prom_alerts(b'{"alerts":[{"labels":{},"state":"firing","value":"1"},{"labels":{},"state":"firing","value":"x"}]}', cache=cache)
    assert info.value.path == "$.alerts[1].value"
    alert = {**GOOD_ALERT, "labels": {**GOOD_ALERT["labels"], "pod": "POD"}}
    body = json.dumps([alert]).encode().replace(b"POD", b"p\xffd")
    (parsed,) = am.parse_alerts(body, cache=cache)
    assert parsed.labels["pod"] == "p\ufffdd"
    assert am.parse_alerts(good, cache=cache) == am.parse_alerts(good)


async def test_clients_reuse_unchanged_alerts_between_calls() -> None:
    body = (FIXTURES / "alertmanager" / "alerts__after_silence.json").read_bytes()
    client = AlertmanagerClient(httpx.AsyncClient(base_url="http://am", transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body))))
    first, second = await client.alerts(), await client.alerts()
    assert first == second and all(a is b for a, b in zip(first, second, strict=True))
    filtered = await client.alerts(["alertname=x"])  # a filtered read builds its own
    assert filtered == first and filtered[0] is not first[0]
    prom_body = json.dumps({"status": "success", "data": {"alerts": [{"labels": {"a": "1"}, "state": "pending", "value": "1e+00"}]}}).encode()
    prom = PrometheusClient(httpx.AsyncClient(base_url="http://p", transport=httpx.MockTransport(lambda r: httpx.Response(200, content=prom_body))))
    p1, p2 = await prom.alerts(), await prom.alerts()
    assert p1 == p2 and p1[0] is p2[0]
