"""Models of the Prometheus HTTP API (v1), as served by Prometheus 2.42.

They parse the ``data`` part of the ``{status, data, warnings?, infos?}`` envelope (the client
unwraps it), plus :class:`PromErrorBody` for error bodies. Shapes follow
``shared/fixtures/prometheus``: sample values are strings (``"NaN"``, ``"+Inf"``), alert
values are Go ``%e`` strings, timestamps are Unix seconds as JSON numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Discriminator, SkipValidation, Tag, TypeAdapter, field_validator, model_validator

from oncall_tui.models.common import (
    ADAPTER_CONFIG,
    ApiModel,
    BuildInfo,
    LabelSet,
    PromFloat,
    parse_prom_float,
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
    "parse_exemplars",
    "parse_query_data",
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
    _set(obj, "__pydantic_fields_set__", set(_SAMPLE_FIELDS))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
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
_QUERY_DATA = TypeAdapter(QueryData, config=ADAPTER_CONFIG)


def parse_query_data(data: Any) -> QueryData:
    """Parse the ``data`` of a query / query_range response; raises ``ValidationError``."""
    return _QUERY_DATA.validate_python(data)


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


_EXEMPLARS = TypeAdapter(list[ExemplarSeries], config=ADAPTER_CONFIG)


def parse_exemplars(data: Any) -> list[ExemplarSeries]:
    """Parse the ``data`` list of ``/api/v1/query_exemplars``."""
    return _EXEMPLARS.validate_python(data)




_STR_LIST = TypeAdapter(list[str], config=ADAPTER_CONFIG)
_SERIES = TypeAdapter(list[LabelSet], config=ADAPTER_CONFIG)


def parse_str_list(data: Any) -> list[str]:
    """Parse the ``data`` of ``/api/v1/labels`` or ``/api/v1/label/<name>/values``."""
    return _STR_LIST.validate_python(data)


def parse_series(data: Any) -> list[dict[str, str]]:
    """Parse the ``data`` of ``/api/v1/series``: one label set per series."""
    return _SERIES.validate_python(data)


class PromErrorBody(ApiModel):
    """Error body (HTTP 400 ``bad_data``, 422 ``execution``, 503 ``timeout``)."""

    status: Literal["error"]
    error_type: str
    error: str
