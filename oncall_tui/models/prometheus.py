"""Models of the Prometheus HTTP API (v1), as served by Prometheus 2.42.

The ``parse_*`` functions take the ``data`` part of the ``{status, data, warnings?, infos?}``
envelope (:func:`parse_envelope` splits it off the body without decoding it) as bytes /
``msgspec.Raw`` or as already-decoded JSON data; msgspec decodes it into wire structs (bottom
of this module), which are built into the pydantic models without validating twice. Plus
:class:`PromErrorBody` for error bodies. Shapes follow
``shared/fixtures/prometheus``: sample values are strings (``"NaN"``, ``"+Inf"``), alert
values are Go ``%e`` strings, timestamps are Unix seconds as JSON numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from pydantic import (
    Discriminator,
    SkipValidation,
    Tag,
    field_validator,
    model_validator,
)

from oncall_tui.models.common import (
    ApiModel,
    BuildInfo,
    ElementCache,
    LabelSet,
    PromFloat,
    ShapeError,
    Wire,
    build_model,
    set_extra,
    set_fields_set,
    set_private,
    decode_wire,
    model_from_wire,
    parse_buildinfo,
    parse_prom_float,
    parse_time,
    paused_for,
)

__all__ = [
    "AlertingRule",
    "AlertsData",
    "BuildInfo",
    "Exemplar",
    "ExemplarSeries",
    "MatrixResult",
    "MatrixSeries",
    "PromAlert",
    "PromErrorBody",
    "QueryData",
    "RecordingRule",
    "Rule",
    "RuleGroup",
    "RulesData",
    "Sample",
    "ScalarResult",
    "StringResult",
    "StringValue",
    "VectorResult",
    "VectorSeries",
    "parse_buildinfo",
    "parse_envelope",
    "parse_error_body",
    "parse_exemplars",
    "parse_prom_alerts",
    "parse_query_data",
    "parse_rules",
    "parse_series",
    "parse_str_list",
]


def _pair_to_dict(data: Any) -> Any:
    """Turn a ``[timestamp, value]`` pair into ``{"timestamp", "value"}``; pass dicts through."""
    if isinstance(data, list | tuple):
        if len(data) != 2:
            raise ValueError("expected a [timestamp, value] pair")
        return {"timestamp": data[0], "value": data[1]}
    return data


class Sample(ApiModel):
    """One point, from ``[1795325691.136, "0.07"]``: Unix seconds and a float (NaN/±Inf kept)."""

    timestamp: float
    value: PromFloat

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, data: Any) -> Any:
        return _pair_to_dict(data)

    @property
    def is_nan(self) -> bool:
        """True for a ``"NaN"`` point (e.g. ``histogram_quantile`` over an idle series)."""
        return math.isnan(self.value)


class StringValue(ApiModel):
    """A string result, from ``[1795325691.136, "oncall"]``."""

    timestamp: float
    value: str

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, data: Any) -> Any:
        return _pair_to_dict(data)


class VectorSeries(ApiModel):
    """One series of an instant vector: its labels and one sample."""

    metric: LabelSet
    value: Sample


class MatrixSeries(ApiModel):
    """One series of a range vector: its labels and its samples (series lengths may differ)."""

    metric: LabelSet
    #: Built by the validator below; SkipValidation stops pydantic from re-checking each point.
    values: SkipValidation[list[Sample]]

    @field_validator("values", mode="before")
    @classmethod
    def _fast_samples(cls, data: Any) -> Any:
        # A refresh of 50 services carries ~18,000 points; validating each pair as a model
        # costs ~6x more than converting it here. Malformed pairs still raise.
        if not isinstance(data, list):
            raise ValueError("expected a list of [timestamp, value] pairs")
        out = []
        for pair in data:
            if isinstance(pair, Sample):
                out.append(pair)
                continue
            if (
                not isinstance(pair, list | tuple)
                or len(pair) != 2
                or isinstance(pair[0], bool)
                or not isinstance(pair[0], int | float)
            ):
                raise ValueError("expected a [timestamp, value] pair with a numeric timestamp")
            out.append(_sample(float(pair[0]), parse_prom_float(pair[1])))
        return out


_SAMPLE_FIELDS = frozenset({"timestamp", "value"})


def _sample(timestamp: float, value: float, _new=object.__new__, _set=object.__setattr__) -> Sample:  # type: ignore[no-untyped-def]
    """A :class:`Sample` from already-checked floats, ~2x cheaper than ``model_construct``.

    Sets exactly the attributes ``BaseModel.model_construct`` sets; a test compares the result
    with a validated ``Sample`` so a pydantic upgrade that changes them fails loudly.
    """
    obj = _new(Sample)
    _set(obj, "__dict__", {"timestamp": timestamp, "value": value})
    set_fields_set(obj, set(_SAMPLE_FIELDS))
    set_extra(obj, None)
    set_private(obj, None)
    return obj


class VectorResult(ApiModel):
    """``resultType: "vector"``."""

    result_type: Literal["vector"]
    result: list[VectorSeries]
    stats: dict[str, Any] | None = None

    def by_label(self, name: str) -> dict[str, float]:
        """Value per value of label ``name`` (e.g. per ``service``).

        Series without the label are left out. Raises ``ValueError`` if two series share a
        value (aggregate with ``by (name)`` first) rather than silently dropping one.
        """
        out: dict[str, float] = {}
        for s in self.result:
            key = s.metric.get(name)
            if key is None:
                continue
            if key in out:
                raise ValueError(f"several series share one value of label {name!r}")
            out[key] = s.value.value
        return out


class MatrixResult(ApiModel):
    """``resultType: "matrix"`` (range queries, and instant queries of a range selector)."""

    result_type: Literal["matrix"]
    result: list[MatrixSeries]
    stats: dict[str, Any] | None = None

    def by_label(self, name: str) -> dict[str, list[Sample]]:
        """Samples per value of label ``name``; same rules as :meth:`VectorResult.by_label`."""
        out: dict[str, list[Sample]] = {}
        for s in self.result:
            key = s.metric.get(name)
            if key is None:
                continue
            if key in out:
                raise ValueError(f"several series share one value of label {name!r}")
            out[key] = s.values
        return out


class ScalarResult(ApiModel):
    """``resultType: "scalar"``: a bare ``[ts, "value"]`` pair, not a list of series."""

    result_type: Literal["scalar"]
    result: Sample
    stats: dict[str, Any] | None = None


class StringResult(ApiModel):
    """``resultType: "string"``: a bare ``[ts, "text"]`` pair."""

    result_type: Literal["string"]
    result: StringValue
    stats: dict[str, Any] | None = None


def _tagger(alias: str, attr: str, tags: frozenset[str]) -> Callable[[Any], str | None]:
    """Discriminator function that never echoes an unknown tag (errors must hide input)."""

    def tag(v: Any) -> str | None:
        t = v.get(alias, v.get(attr)) if isinstance(v, dict) else getattr(v, attr, None)
        return t if isinstance(t, str) and t in tags else None

    return tag


#: ``data`` of ``/api/v1/query`` and ``/api/v1/query_range``, chosen by ``resultType``.
QueryData = Annotated[
    Annotated[VectorResult, Tag("vector")]
    | Annotated[MatrixResult, Tag("matrix")]
    | Annotated[ScalarResult, Tag("scalar")]
    | Annotated[StringResult, Tag("string")],
    Discriminator(
        _tagger("resultType", "result_type", frozenset({"vector", "matrix", "scalar", "string"})),
        custom_error_type="invalid_result_type",
        custom_error_message="resultType must be vector, matrix, scalar or string",
    ),
]
class PromAlert(ApiModel):
    """An alert from ``/api/v1/alerts`` or a rule's ``alerts``.

    ``active_at`` is when the alert became *pending* (not when it started firing); ``value``
    arrives as a Go ``%e`` string (``"7.165326808808109e-02"``).
    """

    labels: LabelSet
    annotations: LabelSet = {}
    state: Literal["firing", "pending", "inactive"]
    active_at: datetime | None = None
    value: PromFloat

    @property
    def alertname(self) -> str:
        """The ``alertname`` label, or ``""``."""
        return self.labels.get("alertname", "")


class AlertsData(ApiModel):
    """``data`` of ``/api/v1/alerts`` (firing and pending alerts)."""

    alerts: list[PromAlert]


class AlertingRule(ApiModel):
    """An alerting rule from ``/api/v1/rules``; ``duration`` is ``for`` in seconds."""

    type: Literal["alerting"]
    name: str
    query: str
    duration: float
    keep_firing_for: float = 0
    labels: LabelSet = {}
    annotations: LabelSet = {}
    alerts: list[PromAlert] = []
    health: str
    last_error: str | None = None
    evaluation_time: float
    last_evaluation: datetime
    state: str


class RecordingRule(ApiModel):
    """A recording rule from ``/api/v1/rules`` (no ``state``)."""

    type: Literal["recording"]
    name: str
    query: str
    labels: LabelSet = {}
    health: str
    last_error: str | None = None
    evaluation_time: float
    last_evaluation: datetime


#: A rule, chosen by ``type``.
Rule = Annotated[
    Annotated[AlertingRule, Tag("alerting")] | Annotated[RecordingRule, Tag("recording")],
    Discriminator(
        _tagger("type", "type", frozenset({"alerting", "recording"})),
        custom_error_type="invalid_rule_type",
        custom_error_message="rule type must be alerting or recording",
    ),
]


class RuleGroup(ApiModel):
    """A rule group; groups come back sorted by name, not in file order."""

    name: str
    file: str
    interval: float
    limit: int = 0
    evaluation_time: float
    last_evaluation: datetime
    rules: list[Rule]


class RulesData(ApiModel):
    """``data`` of ``/api/v1/rules``."""

    groups: list[RuleGroup]

    def alerting_rules(self) -> list[AlertingRule]:
        """All alerting rules, in group order."""
        return [r for g in self.groups for r in g.rules if isinstance(r, AlertingRule)]

    def recording_rules(self) -> list[RecordingRule]:
        """All recording rules, in group order."""
        return [r for g in self.groups for r in g.rules if isinstance(r, RecordingRule)]


class Exemplar(ApiModel):
    """One exemplar: its labels (``trace_id``, ``span_id``), value and timestamp (seconds)."""

    labels: LabelSet
    value: PromFloat
    timestamp: float

    @property
    def trace_id(self) -> str | None:
        """The trace ID from ``trace_id``, ``traceID`` or ``traceId``; ``None`` if absent."""
        for key in ("trace_id", "traceID", "traceId"):
            if v := self.labels.get(key):
                return v
        return None


class ExemplarSeries(ApiModel):
    """Exemplars of one series (``seriesLabels`` include ``le`` for histogram buckets)."""

    series_labels: LabelSet
    exemplars: list[Exemplar]


class PromErrorBody(ApiModel):
    """Error body (HTTP 400 ``bad_data``, 422 ``execution``, 503 ``timeout``)."""

    status: Literal["error"]
    error_type: str
    error: str


# --------------------------------------------------------------- response decoding --
# Wire structs: the JSON as Prometheus sends it. Sample values stay ``str | float`` and go
# through ``parse_prom_float`` (Go spellings: "NaN", "+Inf", "1e-07"); times stay strings and go
# through ``parse_time`` (RFC 3339 with nanoseconds, truncated to microseconds). Fields with a
# model default are UNSET when absent, so ``model_fields_set`` matches what pydantic recorded.

_Pair = tuple[float, str | float]


class _WEnvelope(Wire):
    status: Any = None
    data: msgspec.Raw | UnsetType = UNSET
    warnings: Any = None
    infos: Any = None


class _WVectorSeries(Wire):
    metric: dict[str, str]
    value: _Pair


class _WMatrixSeries(Wire):
    metric: dict[str, str]
    values: list[_Pair]


class _WVector(Wire, tag_field="resultType", tag="vector"):
    result: list[_WVectorSeries]
    stats: dict[str, Any] | None | UnsetType = UNSET


class _WMatrix(Wire, tag_field="resultType", tag="matrix"):
    result: list[_WMatrixSeries]
    stats: dict[str, Any] | None | UnsetType = UNSET


class _WScalar(Wire, tag_field="resultType", tag="scalar"):
    result: _Pair
    stats: dict[str, Any] | None | UnsetType = UNSET


class _WString(Wire, tag_field="resultType", tag="string"):
    result: tuple[float, str]
    stats: dict[str, Any] | None | UnsetType = UNSET


class _WPromAlert(Wire):
    labels: dict[str, str]
    state: Literal["firing", "pending", "inactive"]
    value: str | float
    annotations: dict[str, str] | UnsetType = UNSET
    active_at: str | None | UnsetType = UNSET


class _WAlertsData(Wire):
    alerts: list[_WPromAlert]


class _WAlertsRaw(Wire):
    alerts: list[msgspec.Raw]


class _WAlertingRule(Wire, tag_field="type", tag="alerting"):
    name: str
    query: str
    duration: float
    health: str
    evaluation_time: float
    last_evaluation: str
    state: str
    keep_firing_for: float | UnsetType = UNSET
    labels: dict[str, str] | UnsetType = UNSET
    annotations: dict[str, str] | UnsetType = UNSET
    alerts: list[_WPromAlert] | UnsetType = UNSET
    last_error: str | None | UnsetType = UNSET


class _WRecordingRule(Wire, tag_field="type", tag="recording"):
    name: str
    query: str
    health: str
    evaluation_time: float
    last_evaluation: str
    labels: dict[str, str] | UnsetType = UNSET
    last_error: str | None | UnsetType = UNSET


class _WRuleGroup(Wire):
    name: str
    file: str
    interval: float
    evaluation_time: float
    last_evaluation: str
    rules: list[_WAlertingRule | _WRecordingRule]
    limit: int | UnsetType = UNSET


class _WRulesData(Wire):
    groups: list[_WRuleGroup]


class _WExemplar(Wire):
    labels: dict[str, str]
    value: str | float
    timestamp: float


class _WExemplarSeries(Wire):
    series_labels: dict[str, str]
    exemplars: list[_WExemplar]


class _WErrorBody(Wire):
    status: Literal["error"]
    error_type: str
    error: str


_QUERY_T = _WVector | _WMatrix | _WScalar | _WString
_EXEMPLARS_T = list[_WExemplarSeries]
_STR_LIST_T = list[str]
_SERIES_T = list[dict[str, str]]
_ENVELOPE = msgspec.json.Decoder(_WEnvelope)
_QUERY = msgspec.json.Decoder(_QUERY_T)
_ALERTS = msgspec.json.Decoder(_WAlertsData)
_ALERTS_RAW = msgspec.json.Decoder(_WAlertsRaw)
_PROM_ALERT_LIST = msgspec.json.Decoder(list[_WPromAlert])
_RULES = msgspec.json.Decoder(_WRulesData)
_EXEMPLARS = msgspec.json.Decoder(_EXEMPLARS_T)
_STR_LIST = msgspec.json.Decoder(_STR_LIST_T)
_SERIES = msgspec.json.Decoder(_SERIES_T)
_ERROR = msgspec.json.Decoder(_WErrorBody)


def _strings(value: Any) -> list[str]:
    """``warnings``/``infos``: a list of strings (anything else is shown as one string)."""
    if not value:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def parse_envelope(body: Any) -> tuple[msgspec.Raw, list[str], list[str]]:
    """Split a response body into its still-encoded ``data``, ``warnings`` and ``infos``.

    Raises :class:`ShapeError` unless the body is ``{"status": "success", "data": ...}``.
    """
    env = decode_wire(_ENVELOPE, _WEnvelope, body)
    if env.status != "success" or env.data is UNSET:
        raise ShapeError("missing {status: success, data} envelope")
    return env.data, _strings(env.warnings), _strings(env.infos)


def _bad_value(path: str) -> ShapeError:
    return ShapeError("Expected a Prometheus float (a number or a string such as \"NaN\")", path)


def _pair_sample(pair: tuple[float, Any], path: str) -> Sample:
    try:
        return _sample(pair[0], parse_prom_float(pair[1]))
    except ValueError:
        raise _bad_value(path + "[1]") from None


def _samples(pairs: list[tuple[float, Any]], where: str, _parse: Any = parse_prom_float) -> list[Sample]:
    """Samples of one matrix series (~18,000 points a refresh of 50 services)."""
    new, set_ = object.__new__, object.__setattr__
    out = []
    append = out.append
    j = 0
    try:
        for j, (ts, v) in enumerate(pairs):
            obj = new(Sample)
            set_(obj, "__dict__", {"timestamp": ts, "value": _parse(v)})
            set_fields_set(obj, set(_SAMPLE_FIELDS))
            set_extra(obj, None)
            set_private(obj, None)
            append(obj)
    except ValueError:
        raise _bad_value(f"{where}[{j}][1]") from None
    return out


def _with_stats(cls: Any, kind: str, result: Any, stats: Any) -> Any:
    fields = {"result_type", "result"}
    if stats is UNSET:
        stats = None
    else:
        fields.add("stats")
    return build_model(cls, {"result_type": kind, "result": result, "stats": stats}, fields)


def _query_from_wire(w: Any) -> QueryData:
    if type(w) is _WMatrix:
        return _with_stats(
            MatrixResult,
            "matrix",
            [
                build_model(
                    MatrixSeries,
                    {"metric": s.metric, "values": _samples(s.values, f"$.result[{i}].values")},
                    {"metric", "values"},
                )
                for i, s in enumerate(w.result)
            ],
            w.stats,
        )
    if type(w) is _WVector:
        return _with_stats(
            VectorResult,
            "vector",
            [
                build_model(
                    VectorSeries,
                    {"metric": s.metric, "value": _pair_sample(s.value, f"$.result[{i}].value")},
                    {"metric", "value"},
                )
                for i, s in enumerate(w.result)
            ],
            w.stats,
        )
    if type(w) is _WScalar:
        return _with_stats(ScalarResult, "scalar", _pair_sample(w.result, "$.result"), w.stats)
    ts, text = w.result
    value = build_model(StringValue, {"timestamp": ts, "value": text}, set(_SAMPLE_FIELDS))
    return _with_stats(StringResult, "string", value, w.stats)


def parse_query_data(data: Any) -> QueryData:
    """Parse the ``data`` of a query / query_range response (bytes or decoded data).

    Raises :class:`ShapeError` (a ``ValueError`` naming the place, never a value).
    """
    with paused_for(data):
        return _query_from_wire(decode_wire(_QUERY, _QUERY_T, data))


def _time_or_none(value: Any, path: str) -> Any:
    if value is UNSET or value is None:
        return value
    try:
        return parse_time(value)
    except ValueError:
        raise ShapeError("Expected an RFC 3339 time", path) from None


def _prom_alerts(
    wires: list[_WPromAlert], where: str, _new: Any = object.__new__, _set: Any = object.__setattr__
) -> list[PromAlert]:
    """Models from wire alerts (as many as Alertmanager has: the same hot path)."""
    out = []
    append = out.append
    times: dict[str, datetime] = {}
    get_time = times.get
    all_fields = frozenset({"labels", "state", "value", "annotations", "active_at"})
    for i, w in enumerate(wires):
        try:
            value = parse_prom_float(w.value)
        except ValueError:
            raise _bad_value(f"{where}[{i}].value") from None
        annotations = w.annotations
        active_at = w.active_at
        if annotations is UNSET or active_at is UNSET:
            fields = {"labels", "state", "value"}
            if annotations is UNSET:
                annotations = {}
            else:
                fields.add("annotations")
            if active_at is UNSET:
                active_at = None
            else:
                fields.add("active_at")
        else:
            fields = set(all_fields)
        if active_at is not None:
            s = active_at
            active_at = get_time(s)
            if active_at is None:
                try:
                    active_at = times[s] = parse_time(s)
                except ValueError:
                    raise ShapeError("Expected an RFC 3339 time", f"{where}[{i}].activeAt") from None
        alert = _new(PromAlert)
        _set(
            alert,
            "__dict__",
            {
                "labels": w.labels,
                "annotations": annotations,
                "state": w.state,
                "active_at": active_at,
                "value": value,
            },
        )
        set_fields_set(alert, fields)
        set_extra(alert, None)
        set_private(alert, None)
        append(alert)
    return out


def parse_prom_alerts(data: Any, *, cache: ElementCache | None = None) -> AlertsData:
    """Parse the ``data`` of ``/api/v1/alerts`` (bytes or decoded data).

    With ``cache`` (one per client), an alert whose JSON is unchanged since the last body gets
    the same model object back (see :class:`~oncall_tui.models.common.ElementCache`).
    """
    with paused_for(data):
        if cache is not None and isinstance(data, bytes | bytearray | memoryview | msgspec.Raw):
            try:
                alerts = cache.reuse(_ALERTS_RAW.decode(data).alerts, _build_prom_alerts)
            except (msgspec.MsgspecError, ValueError, RecursionError):
                pass  # decoded again as a whole: the error names its place in this body
            else:
                return build_model(AlertsData, {"alerts": alerts}, {"alerts"})
        w = decode_wire(_ALERTS, _WAlertsData, data)
        return build_model(AlertsData, {"alerts": _prom_alerts(w.alerts, "$.alerts")}, {"alerts"})


def _build_prom_alerts(body: bytes) -> list[PromAlert]:
    return _prom_alerts(decode_wire(_PROM_ALERT_LIST, list[_WPromAlert], body), "$.alerts")


def _rule(w: Any, where: str) -> Rule:
    last = _time_or_none(w.last_evaluation, f"{where}.lastEvaluation")
    if type(w) is _WAlertingRule:
        alerts = w.alerts if w.alerts is UNSET else _prom_alerts(w.alerts, f"{where}.alerts")
        return model_from_wire(AlertingRule, w, type="alerting", alerts=alerts, last_evaluation=last)
    return model_from_wire(RecordingRule, w, type="recording", last_evaluation=last)


def parse_rules(data: Any) -> RulesData:
    """Parse the ``data`` of ``/api/v1/rules`` (bytes or decoded data)."""
    w = decode_wire(_RULES, _WRulesData, data)
    groups = []
    for i, g in enumerate(w.groups):
        where = f"$.groups[{i}]"
        groups.append(
            model_from_wire(
                RuleGroup,
                g,
                last_evaluation=_time_or_none(g.last_evaluation, f"{where}.lastEvaluation"),
                rules=[_rule(r, f"{where}.rules[{j}]") for j, r in enumerate(g.rules)],
            )
        )
    return build_model(RulesData, {"groups": groups}, {"groups"})


def parse_exemplars(data: Any) -> list[ExemplarSeries]:
    """Parse the ``data`` list of ``/api/v1/query_exemplars`` (bytes or decoded data)."""
    out = []
    for i, s in enumerate(decode_wire(_EXEMPLARS, _EXEMPLARS_T, data)):
        exemplars = []
        for j, e in enumerate(s.exemplars):
            try:
                value = parse_prom_float(e.value)
            except ValueError:
                raise _bad_value(f"$[{i}].exemplars[{j}].value") from None
            exemplars.append(
                build_model(
                    Exemplar,
                    {"labels": e.labels, "value": value, "timestamp": e.timestamp},
                    {"labels", "value", "timestamp"},
                )
            )
        out.append(
            build_model(
                ExemplarSeries,
                {"series_labels": s.series_labels, "exemplars": exemplars},
                {"series_labels", "exemplars"},
            )
        )
    return out


def parse_str_list(data: Any) -> list[str]:
    """Parse the ``data`` of ``/api/v1/labels`` or ``/api/v1/label/<name>/values``."""
    return decode_wire(_STR_LIST, _STR_LIST_T, data)


def parse_series(data: Any) -> list[dict[str, str]]:
    """Parse the ``data`` of ``/api/v1/series``: one label set per series."""
    with paused_for(data):
        return decode_wire(_SERIES, _SERIES_T, data)


def parse_error_body(data: Any) -> PromErrorBody:
    """Parse an error body ``{"status": "error", "errorType", "error"}``."""
    w = decode_wire(_ERROR, _WErrorBody, data)
    return build_model(
        PromErrorBody,
        {"status": w.status, "error_type": w.error_type, "error": w.error},
        {"status", "error_type", "error"},
    )
