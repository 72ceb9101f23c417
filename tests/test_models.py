"""Models parse exactly what real Prometheus 2.42 / Alertmanager 0.25 sent (shared/fixtures).

``test_fixture`` runs once per file in both fixture folders; the parser is chosen from the
request in ``manifest.json`` (method, path, status). Unknown paths and files missing from the
manifest fail, so new fixtures can't be silently ignored.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from oncall_tui.models import (
    AlertingRule,
    AlertsData,
    AmAlert,
    AmErrorBody,
    AmStatus,
    BuildInfo,
    Exemplar,
    InvalidSilence,
    Matcher,
    MatrixResult,
    PostSilenceResponse,
    PromAlert,
    PromErrorBody,
    RecordingRule,
    RulesData,
    Sample,
    ScalarResult,
    SilenceSpec,
    StringResult,
    VectorResult,
    VectorSeries,
    format_rfc3339_ms,
    is_zero_time,
    parse_alert_groups,
    parse_alerts,
    parse_am_error,
    parse_exemplars,
    parse_prom_float,
    parse_query_data,
    parse_receivers,
    parse_series,
    parse_silence,
    parse_silences,
    parse_str_list,
    parse_version,
)
from oncall_tui.models.common import ShapeError

# --------------------------------------------------------------------------------------
# Locating and classifying the fixtures


def _fixtures_root() -> Path:
    env = os.environ.get("ONCALL_TUI_FIXTURES")
    repo = Path(__file__).resolve().parents[1]
    candidates = (
        [Path(env)] if env else [repo / "shared" / "fixtures", repo.parent / "shared" / "fixtures"]
    )
    for c in candidates:
        if (c / "prometheus" / "manifest.json").is_file():
            return c
    raise RuntimeError(
        f"fixtures not found in {[str(c) for c in candidates]}; set ONCALL_TUI_FIXTURES"
    )


FIXTURES = _fixtures_root()
SYSTEMS = ("prometheus", "alertmanager")
NOT_FIXTURES = {"README.md", "manifest.json"}

# Families the test skips on purpose: endpoints these models don't cover.
UNMODELLED = {"prom_unmodelled", "am_unmodelled"}

PROM_ROUTES: list[tuple[str, str]] = [
    (r"/api/v1/query", "query"),
    (r"/api/v1/query_range", "query_range"),
    (r"/api/v1/alerts", "prom_alerts"),
    (r"/api/v1/rules", "rules"),
    (r"/api/v1/query_exemplars", "exemplars"),
    (r"/api/v1/labels", "labels"),
    (r"/api/v1/label/[^/]+/values", "label_values"),
    (r"/api/v1/series", "series"),
    (r"/api/v1/status/buildinfo", "buildinfo"),
    (r"/api/v1/status/runtimeinfo", "prom_unmodelled"),
    (r"/api/v1/targets", "prom_unmodelled"),
    (r"/api/v1/targets/metadata", "prom_unmodelled"),
    (r"/api/v1/metadata", "prom_unmodelled"),
    (r"/api/v1/alertmanagers", "prom_unmodelled"),
]
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
AM_ROUTES: list[tuple[str, str, str]] = [
    ("GET", r"/api/v2/status", "am_status"),
    ("GET", r"/api/v2/receivers", "receivers"),
    ("GET", r"/api/v2/alerts", "am_alerts"),
    ("GET", r"/api/v2/alerts/groups", "alert_groups"),
    ("POST", r"/api/v2/silences", "post_silence"),
    ("GET", r"/api/v2/silences", "silences"),
    ("GET", rf"/api/v2/silence/{UUID_RE}", "silence"),
    ("POST", r"/webhook \(sent BY Alertmanager\)", "am_unmodelled"),
]


def _load_manifest(system: str) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / system / "manifest.json").read_text())


MANIFESTS = {s: _load_manifest(s) for s in SYSTEMS}


def _is_json(entry: dict[str, Any], name: str) -> bool:
    return name.endswith(".json") and "json" in (entry.get("content_type") or "")


def classify(system: str, name: str) -> tuple[str, dict[str, Any]]:
    """(family, manifest entry) of a fixture file; fails on files/paths we don't know."""
    for entry in MANIFESTS[system]:
        if entry.get("request_body_file") == name:
            ok = 200 <= entry["status"] < 300
            return ("silence_request_ok" if ok else "silence_request_bad"), entry
        if entry["file"] != name:
            continue
        if not _is_json(entry, name):
            return "non_json", entry
        if not 200 <= entry["status"] < 300:
            return ("prom_error" if system == "prometheus" else "am_error"), entry
        if system == "prometheus":
            for pattern, family in PROM_ROUTES:
                if re.fullmatch(pattern, entry["path"]):
                    return family, entry
        else:
            for method, pattern, family in AM_ROUTES:
                if entry["method"] == method and re.fullmatch(pattern, entry["path"]):
                    return family, entry
        pytest.fail(f"{system}/{name}: unknown endpoint {entry['method']} {entry['path']}")
    pytest.fail(f"{system}/{name}: not in manifest.json")


def _fixture_files() -> list[tuple[str, str]]:
    return [
        (s, p.name)
        for s in SYSTEMS
        for p in sorted((FIXTURES / s).iterdir())
        if p.is_file() and p.name not in NOT_FIXTURES
    ]


FIXTURE_FILES = _fixture_files()
FIXTURE_IDS = [f"{s}/{n}" for s, n in FIXTURE_FILES]

# How many fixtures of each modelled family exist today. A new fixture makes this fail on
# purpose: look at it, then update the count (and the checks below if it is a new shape).
EXPECTED_COUNTS = {
    "query": 18,
    "query_range": 5,
    "prom_alerts": 1,
    "rules": 3,
    "exemplars": 2,
    "labels": 1,
    "label_values": 3,
    "series": 2,
    "buildinfo": 1,
    "prom_error": 6,
    "am_status": 1,
    "receivers": 1,
    "am_alerts": 5,
    "alert_groups": 2,
    "post_silence": 4,
    "silences": 2,
    "silence": 1,
    "am_error": 8,
    "silence_request_ok": 4,
    "silence_request_bad": 5,
    "non_json": 2,
}

CHECKED: set[str] = set()


def _load(system: str, name: str) -> Any:
    return json.loads((FIXTURES / system / name).read_text())


def _prom_data(body: Any) -> Any:
    assert body["status"] == "success"
    return body["data"]


def _query(name: str) -> Any:
    return parse_query_data(_prom_data(_load("prometheus", name)))


def _all_floats(values: list[float]) -> bool:
    return all(isinstance(v, float) for v in values)


# --------------------------------------------------------------------------------------
# Per-family checks on every fixture


def check_query(entry: dict[str, Any], body: Any) -> None:
    data = parse_query_data(_prom_data(body))
    assert isinstance(data, VectorResult | MatrixResult | ScalarResult | StringResult)
    assert data.result_type == body["data"]["resultType"]
    if isinstance(data, VectorResult):
        assert all(v for s in data.result for v in s.metric.values())  # no empty label values
        assert _all_floats([s.value.value for s in data.result])
        assert all(isinstance(s.value.timestamp, float) for s in data.result)
        assert all(isinstance(s.metric, dict) for s in data.result)
    elif isinstance(data, MatrixResult):
        _check_matrix(data)
    if "stats" in entry["query_params"]:
        assert data.stats is not None and "timings" in data.stats


def _check_matrix(data: MatrixResult) -> None:
    for s in data.result:
        assert s.values, "a matrix series has at least one point"
        ts = [p.timestamp for p in s.values]
        assert ts == sorted(ts) and len(set(ts)) == len(ts)
        assert _all_floats([p.value for p in s.values])


def check_query_range(entry: dict[str, Any], body: Any) -> None:
    data = parse_query_data(_prom_data(body))
    assert isinstance(data, MatrixResult)
    _check_matrix(data)
    step = float(entry["query_params"]["step"])
    end = float(entry["query_params"]["end"])
    for s in data.result:
        assert s.values[-1].timestamp <= end
        gaps = {round(b.timestamp - a.timestamp, 3) for a, b in zip(s.values, s.values[1:])}
        assert gaps <= {step}


def check_prom_alerts(entry: dict[str, Any], body: Any) -> None:
    data = AlertsData.model_validate(_prom_data(body))
    assert data.alerts
    for a in data.alerts:
        assert a.state in {"firing", "pending"}  # inactive ones only appear in /rules
        assert isinstance(a.value, float)
        assert a.active_at is not None and a.active_at.tzinfo is not None
        assert a.alertname


def check_rules(entry: dict[str, Any], body: Any) -> None:
    data = RulesData.model_validate(_prom_data(body))
    names = [g.name for g in data.groups]
    assert names == sorted(names)
    for g in data.groups:
        assert g.interval > 0 and g.limit == 0
        for r in g.rules:
            assert r.health in {"ok", "err", "unknown"}
            if isinstance(r, AlertingRule):
                assert r.state in {"firing", "pending", "inactive"}
                assert (r.state == "inactive") == (not r.alerts)
                assert all(a.state == r.state for a in r.alerts)
            else:
                assert isinstance(r, RecordingRule)
    kind = entry["query_params"].get("type")
    if kind == "alert":
        assert not data.recording_rules() and data.alerting_rules()
    elif kind == "record":
        assert not data.alerting_rules() and data.recording_rules()
    else:
        assert data.alerting_rules() and data.recording_rules()


def check_exemplars(entry: dict[str, Any], body: Any) -> None:
    series = parse_exemplars(_prom_data(body))
    assert series
    for s in series:
        assert "le" in s.series_labels
        for e in s.exemplars:
            assert e.trace_id and re.fullmatch(r"[0-9a-f]{32}", e.trace_id)
            assert isinstance(e.value, float) and e.value >= 0
            assert isinstance(e.timestamp, float)


def check_labels(entry: dict[str, Any], body: Any) -> None:
    labels = parse_str_list(_prom_data(body))
    assert "__name__" in labels and labels == sorted(labels)


def check_label_values(entry: dict[str, Any], body: Any) -> None:
    values = parse_str_list(_prom_data(body))
    assert values and all(isinstance(v, str) and v for v in values)


def check_series(entry: dict[str, Any], body: Any) -> None:
    series = parse_series(_prom_data(body))
    assert series and all("__name__" in s for s in series)


def check_buildinfo(entry: dict[str, Any], body: Any) -> None:
    info = BuildInfo.model_validate(_prom_data(body))
    assert info.version == "2.42.0+ds" and info.version_tuple == (2, 42, 0)
    assert info.go_version.startswith("go")


PROM_ERROR_TYPES = {400: "bad_data", 422: "execution", 503: "timeout"}


def check_prom_error(entry: dict[str, Any], body: Any) -> None:
    err = PromErrorBody.model_validate(body)
    assert err.status == "error"
    assert err.error_type == PROM_ERROR_TYPES[entry["status"]]
    assert err.error


def check_am_status(entry: dict[str, Any], body: Any) -> None:
    status = AmStatus.model_validate(body)
    assert status.cluster.status == "disabled" and status.cluster.peers == []
    assert status.config.original.startswith("global:")
    assert status.version_info.version_tuple == (0, 25, 0)
    assert status.uptime.tzinfo is not None


def check_receivers(entry: dict[str, Any], body: Any) -> None:
    assert [r.name for r in parse_receivers(body)] == ["null", "oncall-webhook"]


def check_am_alerts(entry: dict[str, Any], body: Any) -> None:
    alerts = parse_alerts(body)
    assert alerts
    for a in alerts:
        _check_am_alert(a)
    if entry["query_params"].get("silenced") == "false":
        assert all(a.status.state == "active" for a in alerts)


def _check_am_alert(a: AmAlert) -> None:
    assert a.status.state in {"active", "suppressed", "unprocessed"}
    assert (a.status.state == "suppressed") == (a.is_silenced or a.is_inhibited)
    assert a.receivers and a.fingerprint
    assert a.labels["cluster"] == "ml-prod-sim"  # external label, Alertmanager only
    assert a.starts_at < a.ends_at and a.updated_at.tzinfo is not None
    assert a.generator_url and a.generator_url.startswith("http://")


def check_alert_groups(entry: dict[str, Any], body: Any) -> None:
    groups = parse_alert_groups(body)
    assert groups
    for g in groups:
        assert g.alerts and g.receiver.name
        for a in g.alerts:
            _check_am_alert(a)
            assert g.labels.items() <= a.labels.items()


def check_post_silence(entry: dict[str, Any], body: Any) -> None:
    resp = PostSilenceResponse.model_validate(body)
    assert re.fullmatch(UUID_RE, resp.silence_id)


def check_silences(entry: dict[str, Any], body: Any) -> None:
    silences = parse_silences(body)
    assert silences
    for s in silences:
        assert s.status.state in {"active", "pending", "expired"} and s.matchers
        assert s.starts_at <= s.ends_at
        if "filter" in entry["query_params"]:
            labels = {"alertname": "GPUFramebufferMemoryHigh", "Hostname": "gpu-h100-node-0"}
            assert s.matches(labels)


def check_silence(entry: dict[str, Any], body: Any) -> None:
    s = parse_silence(body)
    assert s.id == entry["path"].rsplit("/", 1)[1]
    assert s.status.state == "active"


# Exact (code, message) of every Alertmanager error fixture; code None = bare JSON string.
AM_ERRORS = {
    "post_silences__error_endsat_before_startsat__response.json": (
        None,
        "Failed to create silence: start time must be before end time",
    ),
    "post_silences__error_empty_matchers__response.json": (
        612,
        "matchers in body should have at least 1 items",
    ),
    "post_silences__error_matcher_matches_empty__response.json": (
        None,
        "silence invalid: at least one matcher must not match the empty string",
    ),
    "post_silences__error_missing_createdby__response.json": (602, "createdBy in body is required"),
    "post_silences__error_bad_regex__response.json": (
        None,
        'silence invalid: invalid label matcher 0: invalid regular expression "(unclosed": '
        "error parsing regexp: missing closing ): `(unclosed`",
    ),
    "delete_silence__error_500_unknown_id.json": (None, "silence not found"),
    "get_silence__error_422_invalid_uuid.json": (
        601,
        'silenceID in path must be of type uuid: "not-a-uuid"',
    ),
    "alerts__error_400_bad_filter.json": (None, "bad matcher format: not a matcher"),
}


def check_am_error(entry: dict[str, Any], body: Any) -> None:
    code, message = parse_am_error(body)
    assert (code is not None) == (entry["status"] == 422)
    assert (code, message) == AM_ERRORS[entry["file"]]


def check_silence_request_ok(entry: dict[str, Any], body: Any) -> None:
    spec = SilenceSpec.model_validate(body)
    spec.validate_spec()
    # Same keys, same order, same values as what we POSTed.
    assert json.dumps(spec.to_api()) == json.dumps(body)


# What validate_spec must say about each rejected request: (InvalidSilence.field, words).
BAD_REQUESTS = {
    "post_silences__error_endsat_before_startsat__request.json": (
        "ends_at",
        "start time must be before end time",
    ),
    "post_silences__error_empty_matchers__request.json": ("matchers", "at least one matcher"),
    "post_silences__error_matcher_matches_empty__request.json": (
        "matchers",
        "must not match the empty string",
    ),
    "post_silences__error_missing_createdby__request.json": ("created_by", "createdBy"),
    "post_silences__error_bad_regex__request.json": ("matchers", "invalid regular expression"),
}


def check_silence_request_bad(entry: dict[str, Any], body: Any) -> None:
    spec = SilenceSpec.model_validate(body)
    field, words = BAD_REQUESTS[entry["request_body_file"]]
    with pytest.raises(InvalidSilence, match=re.escape(words)) as exc:
        spec.validate_spec()
    assert exc.value.field == field
    with pytest.raises(InvalidSilence):
        spec.to_api()


CHECKS = {name[len("check_"):]: fn for name, fn in globals().items() if name.startswith("check_")}


@pytest.mark.parametrize(("system", "name"), FIXTURE_FILES, ids=FIXTURE_IDS)
def test_fixture(system: str, name: str) -> None:
    family, entry = classify(system, name)
    path = FIXTURES / system / name
    if family in UNMODELLED:
        pytest.skip(f"{entry['path']} is not modelled")
    if family == "non_json":
        # The client handles these bodies (empty DELETE answer, plain-text 404).
        text = path.read_text()
        if text.strip():
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
    else:
        CHECKS[family](entry, json.loads(path.read_text()))
    CHECKED.add(f"{system}/{name}")


def test_every_fixture_of_a_modelled_endpoint_was_checked(request: pytest.FixtureRequest) -> None:
    counts = Counter(classify(s, n)[0] for s, n in FIXTURE_FILES)
    modelled = {f"{s}/{n}" for s, n in FIXTURE_FILES if classify(s, n)[0] not in UNMODELLED}
    assert {k: v for k, v in counts.items() if k not in UNMODELLED} == EXPECTED_COUNTS
    assert set(CHECKS) >= set(EXPECTED_COUNTS) - {"non_json"}
    assert set(AM_ERRORS) == {n for s, n in FIXTURE_FILES if classify(s, n)[0] == "am_error"}
    selected = {
        item.callspec.id
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_fixture"
    }
    if not modelled <= selected or os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("test_fixture did not run in full in this process")
    assert CHECKED == modelled, f"not checked: {sorted(modelled - CHECKED)}"


def test_manifest_entries_have_files() -> None:
    for system in SYSTEMS:
        for entry in MANIFESTS[system]:
            assert (FIXTURES / system / entry["file"]).is_file(), entry["file"]
            if entry["request_body_file"]:
                assert (FIXTURES / system / entry["request_body_file"]).is_file()


# --------------------------------------------------------------------------------------
# parse_prom_float and samples


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+Inf", math.inf),
        ("-Inf", -math.inf),
        ("1e-07", 1e-07),
        ("123456789012", 123456789012.0),
        ("7.165326808808109e-02", 0.07165326808808109),
        ("0e+00", 0.0),
        ("1e+00", 1.0),
        ("1.716020408163265e+00", 1.716020408163265),
        ("0.07", 0.07),
        ("-3", -3.0),
        (".5", 0.5),
        (2.5, 2.5),
        (3, 3.0),
    ],
)
def test_parse_prom_float(raw: str | float, expected: float) -> None:
    value = parse_prom_float(raw)
    assert isinstance(value, float) and value == expected


def test_parse_prom_float_nan() -> None:
    assert math.isnan(parse_prom_float("NaN"))


@pytest.mark.parametrize("raw", ["", "abc", "1_000", " 1", "1,5", "0x10", True, None, [1]])
def test_parse_prom_float_rejects(raw: Any) -> None:
    with pytest.raises(ValueError):
        parse_prom_float(raw)


def test_special_float_values() -> None:
    data = _query("query__vector__special_float_values.json")
    assert isinstance(data, VectorResult)
    by_case = data.by_label("case")
    assert by_case["pos_inf"] == math.inf
    assert by_case["neg_inf"] == -math.inf
    assert math.isnan(by_case["nan"])
    assert by_case["tiny"] == 1e-07
    assert by_case["big"] == 123456789012.0
    assert next(s for s in data.result if s.metric["case"] == "nan").value.is_nan
    assert {s.value.timestamp for s in data.result} == {1795325691.136}


def test_range_with_nan_and_gaps() -> None:
    body = _load("prometheus", "query_range__p99_by_pod_model_version__with_nan_and_gaps.json")
    data = parse_query_data(_prom_data(body))
    assert isinstance(data, MatrixResult)
    by_series = {(s.metric["pod"], s.metric["model_version"]): s.values for s in data.result}
    assert {k: len(v) for k, v in by_series.items()} == {
        ("fraud-scorer-6d5f8b7c9-2xkqp", "v14"): 12,
        ("fraud-scorer-6d5f8b7c9-h7wzm", "v14"): 12,
        ("fraud-scorer-6d5f8b7c9-h7wzm", "v15"): 10,
    }
    idle = by_series[("fraud-scorer-6d5f8b7c9-h7wzm", "v14")]
    assert idle[-1].is_nan and not idle[0].is_nan
    v15 = by_series[("fraud-scorer-6d5f8b7c9-h7wzm", "v15")]
    assert v15[0].timestamp > idle[0].timestamp  # starts late: no leading points
    assert v15[-1].timestamp == idle[-1].timestamp == 1795325691.136
    assert v15[-1].value == pytest.approx(2.1562)
    # Two series share pod h7wzm: by_label refuses to drop one silently.
    with pytest.raises(ValueError):
        data.by_label("pod")


def test_by_label_duplicates_and_missing() -> None:
    vec = VectorResult.model_validate(
        {
            "resultType": "vector",
            "result": [
                {"metric": {"service": "a"}, "value": [1.0, "1"]},
                {"metric": {}, "value": [1.0, "2"]},
            ],
        }
    )
    assert vec.by_label("service") == {"a": 1.0}
    dup = vec.model_copy(update={"result": [vec.result[0], vec.result[0]]})
    with pytest.raises(ValueError):
        dup.by_label("service")


def test_vector_by_service() -> None:
    data = _query("query__vector__error_ratio_by_service.json")
    assert isinstance(data, VectorResult)
    ratios = data.by_label("service")
    assert set(ratios) == {"fraud-scorer", "llm-chat", "search-embedder"}
    assert ratios["fraud-scorer"] == pytest.approx(0.0716, abs=1e-3)
    assert data.result[0].metric["__name__"] == "service:request_errors:ratio_rate1m"


def test_matrix_by_label() -> None:
    data = _query("query_range__error_ratio_by_service.json")
    assert isinstance(data, MatrixResult)
    per_service = data.by_label("service")
    assert "fraud-scorer" in per_service
    assert all(isinstance(p, Sample) for p in per_service["fraud-scorer"])


def test_scalar_and_string_results() -> None:
    scalar = _query("query__scalar__total_request_rate.json")
    assert isinstance(scalar, ScalarResult)
    assert scalar.result.timestamp == 1795325691.136
    assert scalar.result.value == pytest.approx(117.7635651010101)
    string = _query("query__string_literal.json")
    assert isinstance(string, StringResult)
    assert (string.result.timestamp, string.result.value) == (1795325691.136, "oncall")


def test_matrix_from_instant_query() -> None:
    data = _query("query__matrix__range_selector_instant_query.json")
    assert isinstance(data, MatrixResult)
    ups = data.by_label("instance")
    assert [p.value for p in ups["127.0.0.1:19108"]] == [0.0] * 4
    assert [p.value for p in ups["127.0.0.1:19105"]] == [1.0] * 4


def test_empty_vector_and_stats() -> None:
    empty = _query("query__vector__empty_result.json")
    assert isinstance(empty, VectorResult) and empty.result == [] and empty.stats is None
    stats = _query("query__vector__with_stats_all.json")
    assert stats.stats is not None and stats.stats["samples"]["totalQueryableSamples"] == 3


def test_idle_gpu_has_no_empty_labels() -> None:
    data = _query("query__vector__gpu_framebuffer_used_ratio.json")
    assert isinstance(data, VectorResult)
    assert all(v != "" for s in data.result for v in s.metric.values())


def test_sample_shapes() -> None:
    assert Sample.model_validate([1.5, "NaN"]).is_nan
    assert Sample.model_validate((1.5, "2")).value == 2.0
    assert Sample.model_validate({"timestamp": 1.5, "value": "+Inf"}).value == math.inf
    for bad in ([1.5], [1.5, "1", "x"], [1.5, "oops"], "1.5", None):
        with pytest.raises(ValidationError):
            Sample.model_validate(bad)


def test_unknown_result_type_and_malformed_data() -> None:
    with pytest.raises(ShapeError):
        parse_query_data({"resultType": "histogram", "result": []})
    with pytest.raises(ShapeError):
        parse_query_data({"result": []})
    with pytest.raises(ShapeError):
        parse_query_data({"resultType": "vector", "result": [{"metric": {}, "values": []}]})
    with pytest.raises(ShapeError):
        parse_str_list({"a": 1})
    with pytest.raises(ShapeError):
        parse_str_list(["ok", 1])
    with pytest.raises(ShapeError):
        parse_series([{"__name__": 1}])
    with pytest.raises(ShapeError):
        parse_series(["up"])


# --------------------------------------------------------------------------------------
# Prometheus alerts, rules, exemplars


def test_prom_alert_values_and_times() -> None:
    data = AlertsData.model_validate(_prom_data(_load("prometheus", "alerts.json")))
    by_name = {a.alertname: a for a in data.alerts}
    err = by_name["ModelServingHighErrorRate"]
    assert err.value == pytest.approx(0.07165326808808109)
    assert err.active_at == datetime(2026, 11, 22, 5, 30, 0, 468921, tzinfo=UTC)  # ns truncated
    assert by_name["TargetDown"].value == 0.0
    assert by_name["LLMKVCacheSaturated"].state == "pending"
    assert "cluster" not in err.labels  # external labels are not in Prometheus' own API


def test_prom_alert_without_active_at() -> None:
    a = PromAlert.model_validate({"labels": {}, "state": "inactive", "value": "0e+00"})
    assert a.active_at is None and a.annotations == {}


def test_rules_details() -> None:
    data = RulesData.model_validate(_prom_data(_load("prometheus", "rules.json")))
    rules = {r.name: r for g in data.groups for r in g.rules}
    gpu = rules["GPUFramebufferMemoryHigh"]
    assert isinstance(gpu, AlertingRule)
    assert (gpu.duration, gpu.keep_firing_for, gpu.state) == (30.0, 0.0, "firing")
    assert gpu.alerts[0].value == pytest.approx(0.9263176080062194)
    assert gpu.last_error is None
    rec = rules["service:requests:rate1m"]
    assert isinstance(rec, RecordingRule) and rec.labels == {}
    assert not hasattr(rec, "state")
    assert rules["GPUTemperatureHigh"].state == "inactive"
    # The recording-rules group is listed with no rules when filtering type=alert.
    alert_only = RulesData.model_validate(_prom_data(_load("prometheus", "rules__type_alert.json")))
    assert any(not g.rules for g in alert_only.groups)


def test_rule_type_discriminator() -> None:
    when = "2026-11-22T05:34:49.209680553Z"
    rule = {"name": "x", "query": "up", "health": "ok", "evaluationTime": 0.1,
            "lastEvaluation": when}
    group = {"name": "g", "file": "f", "interval": 5, "evaluationTime": 0, "lastEvaluation": when}
    with pytest.raises(ValidationError):
        RulesData.model_validate({"groups": [{**group, "rules": [{**rule, "type": "other"}]}]})
    rec = {**rule, "type": "recording", "lastError": "boom"}
    data = RulesData.model_validate({"groups": [{**group, "rules": [rec]}]})
    assert data.groups[0].rules[0].last_error == "boom"
    assert data.groups[0].limit == 0


def test_exemplars() -> None:
    body = _load("prometheus", "query_exemplars__from_histogram_quantile_expression.json")
    series = parse_exemplars(_prom_data(body))
    first = series[0].exemplars[0]
    assert series[0].series_labels["le"] == "0.005"
    assert first.value == pytest.approx(0.004799483196897129)
    assert first.timestamp == 1795325682.97
    assert first.trace_id == "f422959f1954bc5b1e7fd4501825f509"
    assert Exemplar(labels={"traceID": "abc"}, value=1, timestamp=1).trace_id == "abc"
    assert Exemplar(labels={"traceId": "def"}, value=1, timestamp=1).trace_id == "def"
    assert Exemplar(labels={"span_id": "x"}, value=1, timestamp=1).trace_id is None


def test_prom_error_body() -> None:
    body = _load("prometheus", "query__error_400_missing_query_param.json")
    err = PromErrorBody.model_validate(body)
    assert err.error_type == "bad_data"
    assert err.error.endswith("no expression found in input")
    with pytest.raises(ValidationError):
        PromErrorBody.model_validate({"status": "success", "data": []})


def test_parse_version() -> None:
    assert parse_version("2.42.0+ds") == (2, 42, 0)
    assert parse_version("v0.25.0") == (0, 25, 0)
    assert parse_version("main") == ()


# --------------------------------------------------------------------------------------
# Alertmanager


def test_silenced_and_inhibited_alerts() -> None:
    after = parse_alerts(_load("alertmanager", "alerts__after_silence.json"))
    alerts = {a.alertname: a for a in after}
    gpu = alerts["GPUFramebufferMemoryHigh"]
    assert gpu.status.state == "suppressed"
    assert gpu.status.silenced_by == ["eedd4862-3fab-4a13-b641-94dc8064a2ec"]
    assert gpu.is_silenced and not gpu.is_inhibited
    p99 = alerts["ModelServingHighLatencyP99"]
    assert p99.status.state == "suppressed" and p99.is_inhibited and not p99.is_silenced
    fingerprints = {a.fingerprint for a in alerts.values()}
    assert p99.status.inhibited_by == [alerts["ModelServingHighErrorRate"].fingerprint]
    assert set(p99.status.inhibited_by) <= fingerprints
    assert alerts["Watchdog"].receivers[0].name == "null"
    before = {
        a.alertname: a for a in parse_alerts(_load("alertmanager", "alerts__before_silence.json"))
    }
    assert before["GPUFramebufferMemoryHigh"].status.state == "active"


def test_alert_groups_labels() -> None:
    groups = parse_alert_groups(_load("alertmanager", "alerts_groups__after_silence.json"))
    gpu = next(g for g in groups if g.labels.get("alertname") == "GPUFramebufferMemoryHigh")
    assert gpu.labels == {"alertname": "GPUFramebufferMemoryHigh"}  # no service label
    assert gpu.receiver.name == "oncall-webhook"


def test_go_zero_and_max_times() -> None:
    raw = _load("alertmanager", "alerts__before_silence.json")[0]
    alert = AmAlert.model_validate(
        {**raw, "startsAt": "0001-01-01T00:00:00Z", "endsAt": "9999-12-31T23:59:59Z"}
    )
    assert alert.starts_at == datetime(1, 1, 1, tzinfo=UTC) and is_zero_time(alert.starts_at)
    assert alert.ends_at == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert not is_zero_time(alert.ends_at)
    no_url = {k: v for k, v in raw.items() if k != "generatorURL"}
    assert AmAlert.model_validate(no_url).generator_url is None


def test_label_values_stay_raw() -> None:
    raw = _load("alertmanager", "alerts__before_silence.json")[0]
    hostile = "\x1b]52;c;ZWNobyBwd25lZA==\x07 [/] \u202e"
    alert = AmAlert.model_validate({**raw, "labels": {**raw["labels"], "pod": hostile}})
    assert alert.labels["pod"] == hostile


def test_silences_listing() -> None:
    silences = {s.status.state: s for s in parse_silences(_load("alertmanager", "silences.json"))}
    assert set(silences) == {"active", "pending", "expired"}
    pending = silences["pending"]
    assert [str(m) for m in pending.matchers] == [
        'service="search-embedder"',
        'severity!="critical"',
    ]
    assert str(silences["active"].matchers[1]) == 'Hostname=~"gpu-h100-node-.*"'
    assert silences["expired"].ends_at == datetime(2026, 11, 22, 5, 34, 51, 826000, tzinfo=UTC)
    spec = silences["active"].to_spec()
    assert spec.to_api() == _load("alertmanager", "post_silences__update_existing__request.json")


@pytest.mark.parametrize(
    ("is_regex", "is_equal", "op"),
    [(False, True, "="), (False, False, "!="), (True, True, "=~"), (True, False, "!~")],
)
def test_matcher_operator(is_regex: bool, is_equal: bool, op: str) -> None:
    m = Matcher(name="severity", value="crit", is_regex=is_regex, is_equal=is_equal)
    assert m.operator == op
    assert str(m) == f'severity{op}"crit"'
    api = {"name": "severity", "value": "crit", "isRegex": is_regex, "isEqual": is_equal}
    assert m.to_api() == api
    assert list(m.to_api()) == ["name", "value", "isRegex", "isEqual"]


def test_matcher_escaping_and_defaults() -> None:
    m = Matcher.exact("summary", 'say "hi"\\n\nnext')
    assert str(m) == 'summary="say \\"hi\\"\\\\n\\nnext"'
    assert Matcher.model_validate({"name": "a", "value": "b", "isRegex": False}).is_equal is True


def test_matcher_matching() -> None:
    regex = Matcher(name="Hostname", value="gpu-h100-node-.*", is_regex=True)
    assert regex.matches({"Hostname": "gpu-h100-node-0"})
    assert not regex.matches({"Hostname": "xgpu-h100-node-0"})  # anchored
    assert not regex.matches({})
    neg = Matcher(name="severity", value="critical", is_regex=False, is_equal=False)
    assert neg.matches({}) and not neg.matches({"severity": "critical"})


def _spec(**kw: Any) -> SilenceSpec:
    base: dict[str, Any] = {
        "matchers": [Matcher.exact("alertname", "TargetDown")],
        "starts_at": datetime(2026, 11, 22, 5, 34, 51, 320000, tzinfo=UTC),
        "ends_at": datetime(2026, 11, 22, 6, 34, 51, 320000, tzinfo=UTC),
        "created_by": "alice",
        "comment": "ML-1234",
    }
    return SilenceSpec(**{**base, **kw})


def test_silence_spec_reproduces_request_fixture() -> None:
    request = _load("alertmanager", "post_silences__active_regex_matcher__request.json")
    spec = SilenceSpec(
        matchers=[
            Matcher.exact("alertname", "GPUFramebufferMemoryHigh"),
            Matcher(name="Hostname", value="gpu-h100-node-.*", is_regex=True, is_equal=True),
        ],
        starts_at=datetime(2026, 11, 22, 5, 34, 51, 320000, tzinfo=UTC),
        ends_at=datetime(2026, 11, 22, 9, 34, 51, 320000, tzinfo=UTC),
        created_by="oncall-tui-fixtures",
        comment="vLLM pre-allocates ~92% of HBM by design; expected. Tracked in ML-1234.",
    )
    assert spec.to_api() == request
    assert "id" not in spec.to_api()
    assert spec.model_copy(update={"id": "eedd4862-3fab-4a13-b641-94dc8064a2ec"}).to_api()["id"]


def test_silence_spec_time_format() -> None:
    cet = timezone(timedelta(hours=1))
    spec = _spec(
        starts_at=datetime(2026, 11, 22, 6, 34, 51, 320999, tzinfo=cet),
        ends_at=datetime(2026, 11, 22, 7, 0, tzinfo=cet),
    )
    body = spec.to_api()
    assert body["startsAt"] == "2026-11-22T05:34:51.320Z"
    assert body["endsAt"] == "2026-11-22T06:00:00.000Z"
    assert format_rfc3339_ms(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000Z"
    with pytest.raises(ValueError):
        format_rfc3339_ms(datetime(2026, 1, 1))
    with pytest.raises(ValidationError):
        _spec(starts_at=datetime(2026, 11, 22, 5, 0))  # naive datetimes are ambiguous


@pytest.mark.parametrize(
    ("matchers", "ok"),
    [
        ([Matcher.exact("alertname", "")], False),
        ([Matcher(name="a", value=".*", is_regex=True)], False),
        ([Matcher(name="a", value="x|", is_regex=True)], False),
        ([Matcher(name="a", value="x+", is_regex=True)], True),
        ([Matcher(name="a", value="x", is_regex=False, is_equal=False)], False),
        ([Matcher(name="a", value="", is_regex=False, is_equal=False)], True),
        ([Matcher(name="a", value="x", is_regex=True, is_equal=False)], False),
        ([Matcher(name="a", value="x*", is_regex=True, is_equal=False)], True),
        ([Matcher.exact("a", ""), Matcher.exact("b", "x")], True),
    ],
)
def test_validate_spec_empty_string_rule(matchers: list[Matcher], ok: bool) -> None:
    spec = _spec(matchers=matchers)
    if ok:
        assert spec.validate_spec() is spec
    else:
        with pytest.raises(InvalidSilence, match="must not match the empty string"):
            spec.validate_spec()


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"matchers": []}, "matchers"),
        ({"matchers": [Matcher.exact("", "x")]}, "matchers"),
        ({"matchers": [Matcher.exact("bad-name", "x")]}, "matchers"),
        ({"matchers": [Matcher.exact("1abc", "x")]}, "matchers"),
        ({"matchers": [Matcher(name="a", value="[", is_regex=True)]}, "matchers"),
        ({"matchers": [Matcher.exact("a", "\ud800")]}, "matchers"),
        ({"ends_at": datetime(2026, 11, 22, 5, 34, 51, 320000, tzinfo=UTC)}, "ends_at"),
        ({"ends_at": datetime(2026, 11, 22, 4, 0, tzinfo=UTC)}, "ends_at"),
        ({"created_by": ""}, "created_by"),
        ({"created_by": "  \t"}, "created_by"),
        ({"comment": ""}, "comment"),
        ({"comment": "   "}, "comment"),
    ],
)
def test_validate_spec_rejects(kw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidSilence) as exc:
        _spec(**kw).validate_spec()
    assert isinstance(exc.value, ValueError) and exc.value.field == field


def test_validate_spec_now_and_unvalidated_body() -> None:
    spec = _spec()
    spec.validate_spec(now=datetime(2026, 11, 22, 6, 0, tzinfo=UTC))
    with pytest.raises(InvalidSilence, match="past"):
        spec.validate_spec(now=datetime(2026, 11, 22, 7, 0, tzinfo=UTC))
    bad = _spec(comment="")
    assert bad.to_api(validate=False)["comment"] == ""


def test_invalid_silence_message_does_not_quote_values() -> None:
    with pytest.raises(InvalidSilence) as exc:
        _spec(matchers=[Matcher(name="a", value="(secret-token", is_regex=True)]).validate_spec()
    assert "secret-token" not in str(exc.value)


def test_parse_am_error_shapes() -> None:
    assert parse_am_error({"code": 602, "message": "createdBy in body is required"}) == (
        602,
        "createdBy in body is required",
    )
    assert parse_am_error("silence not found") == (None, "silence not found")
    assert parse_am_error(None) == (None, "")
    assert parse_am_error({"message": "m"}) == (None, "m")
    assert parse_am_error({"code": "x", "error": "e"}) == (None, "e")
    assert parse_am_error(42) == (None, "42")


def test_post_silence_response_alias() -> None:
    resp = PostSilenceResponse.model_validate({"silenceID": "abc"})
    assert resp.silence_id == "abc"
    assert PostSilenceResponse(silence_id="x").silence_id == "x"  # populate_by_name


# --------------------------------------------------------------------------------------
# Config rules shared by every model


def test_models_are_frozen() -> None:
    s = Sample.model_validate([1.0, "2"])
    with pytest.raises(ValidationError):
        s.value = 3.0  # type: ignore[misc]


def test_extra_fields_are_ignored() -> None:
    status = AmStatus.model_validate({**_load("alertmanager", "status.json"), "newField": 1})
    assert not hasattr(status, "newField")
    series = VectorSeries.model_validate({"metric": {}, "value": [1, "1"], "histogram": [1, {}]})
    assert series.value.value == 1.0


def test_errors_hide_input_values() -> None:
    secret = "s3cr3t-t0ken-value"
    attempts = [
        lambda: VectorSeries.model_validate({"metric": {"k": [secret]}, "value": [1, "1"]}),
        lambda: Sample.model_validate([1, secret]),
        lambda: parse_str_list([secret, {"x": secret}]),
        lambda: parse_alerts([{"labels": {"a": secret}}]),
        lambda: parse_query_data({"resultType": secret, "result": []}),
        lambda: SilenceSpec.model_validate({"matchers": [], "startsAt": secret, "endsAt": secret}),
        lambda: AmAlert.model_validate({"status": {"state": secret}}),
        lambda: PromErrorBody.model_validate({"status": secret, "errorType": 1, "error": 2}),
        lambda: RulesData.model_validate({"groups": [{"rules": [{"type": secret}]}]}),
        lambda: AmErrorBody.model_validate({"code": secret, "message": 1}),
    ]
    for attempt in attempts:
        # the parse_* functions (msgspec) raise ShapeError, model_validate pydantic's error
        with pytest.raises((ValidationError, ShapeError)) as exc:
            attempt()
        assert secret not in str(exc.value)


def test_models_do_not_import_textual_or_httpx() -> None:
    code = (
        "import sys, oncall_tui.models; "
        "bad = [m for m in ('textual', 'httpx') if m in sys.modules]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_fast_matrix_samples_equal_validated_samples() -> None:
    """The matrix fast path builds Samples without validation; they must be indistinguishable."""
    from oncall_tui.models.prometheus import MatrixResult, Sample, parse_query_data

    data = parse_query_data({"resultType": "matrix", "result": [{"metric": {}, "values": [[1.5, "0.25"], [2, "NaN"], [3, "1e-07"]]}]})
    assert isinstance(data, MatrixResult)
    fast = data.result[0].values
    slow = [Sample.model_validate(p) for p in ([1.5, "0.25"], [2, "NaN"], [3, "1e-07"])]
    assert fast[0] == slow[0] and fast[2] == slow[2] and fast[1].is_nan and slow[1].is_nan
    assert [s.model_dump() for s in fast][0] == slow[0].model_dump()
    assert fast[0].model_fields_set == slow[0].model_fields_set
    for bad in (["x", "1"], [1, "1_000"], [1, " 1"], [1, "1.0 "], [True, "1"], [1]):
        with pytest.raises(ValueError):
            parse_query_data({"resultType": "matrix", "result": [{"metric": {}, "values": [bad]}]})
