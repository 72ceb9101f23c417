"""How a Loki names things: which stream label selects a service or names a pod (classic
Promtail/Alloy labels, or the OpenTelemetry ones Loki's OTLP endpoint writes), a line's short
source, what a session has learned from its answers (:class:`LogConventions`), and the one query
trace → logs uses (:func:`trace_logs_logql`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import islice

from oncall_tui.core.logs.logql import add_line_filter, build_logql, logql_quote
from oncall_tui.core.logs.traceids import normalize_trace_id
from oncall_tui.models.common import is_valid_label_name
from oncall_tui.models.loki import EMPTY_LABELS, LogEntry, StreamKey

__all__ = [
    "POD_LABELS",
    "SERVICE_LABELS",
    "SOURCE_LABELS",
    "LogConventions",
    "pod_label",
    "service_label",
    "stream_source",
    "trace_logs_logql",
]

# ---------------------------------------------------------- stream conventions --
#: Stream labels that name a service, in the order :func:`service_label` prefers them.
#: ``service_name`` first: Loki 3 sets it on every stream (copied from ``service``, ``app``…
#: when the pusher did not send it), and it is the only one on streams written through the
#: native OTLP endpoint (``service.name``); then the classic Promtail/Alloy conventions.
SERVICE_LABELS: tuple[str, ...] = (
    "service_name",
    "service",
    "app",
    "app_kubernetes_io_name",
    "application",
    "k8s_deployment_name",
    "k8s_statefulset_name",
    "job",
)
#: Stream labels (or structured metadata) that name a pod: the classic ``pod`` first, then
#: ``k8s_pod_name`` (OTLP ``k8s.pod.name``, an index label in Loki's default OTLP config).
POD_LABELS: tuple[str, ...] = ("pod", "k8s_pod_name", "pod_name", "kubernetes_pod_name")
#: Labels tried, in order, for a line's short source (the logs view's pod column).
SOURCE_LABELS: tuple[str, ...] = (
    *POD_LABELS,
    "service",
    "service_name",
    "app",
    "app_kubernetes_io_name",
    "k8s_deployment_name",
    "k8s_statefulset_name",
    "container",
    "k8s_container_name",
    "job",
    "instance",
    "service_instance_id",
)
#: Structured-metadata keys that may hold a trace id, in the order they are trusted
#: (``trace_id`` is what Loki's OTLP endpoint writes).
_TRACE_METADATA_KEYS: tuple[str, ...] = ("trace_id", "traceId", "traceID", "traceid")


def service_label(label_names: Iterable[str]) -> str:
    """The stream label to select a service by, from the label names a Loki has (``/labels``
    or the streams of a response): the first of :data:`SERVICE_LABELS` present, else
    ``service`` (the classic convention, :data:`DEFAULT_LABEL_MAP`)."""
    names = set(label_names)
    return next((label for label in SERVICE_LABELS if label in names), "service")


def pod_label(label_names: Iterable[str]) -> str | None:
    """The label naming a pod (``pod``, else ``k8s_pod_name`` …), or ``None``."""
    names = set(label_names)
    return next((label for label in POD_LABELS if label in names), None)


def stream_source(labels: Mapping[str, str], metadata: Mapping[str, str] = EMPTY_LABELS) -> str | None:
    """A line's short source, raw (sanitise it to show it): the first set of
    :data:`SOURCE_LABELS` in the stream labels; a pod only in structured metadata (Loki's
    advice is to keep ``k8s.pod.name`` out of the index) comes before the service.
    ``None`` when nothing is set."""
    for key in POD_LABELS:
        value = labels.get(key) or metadata.get(key)
        if value:
            return value
    for key in SOURCE_LABELS:
        value = labels.get(key)
        if value:
            return value
    return None


class LogConventions:
    """What a session has learned about how its Loki names things, from the answers it got.

    Pure bookkeeping, no I/O: feed it label names (``/labels``) and query results; ask it
    which label selects a service and whether a service's lines carry the trace id as
    structured metadata (so trace → logs can filter on it instead of matching text).
    Only categorize-labels answers (or a label filter that returned lines) count as proof of
    metadata: in the merged form a ``trace_id`` in ``stream`` may come from a parser.
    """

    def __init__(self) -> None:
        self.label_names: set[str] = set()
        #: Service value -> the structured-metadata key its lines carry the trace id under.
        self._trace_keys: dict[str, str] = {}

    def observe_label_names(self, names: Iterable[str]) -> None:
        """Label names from ``/loki/api/v1/labels`` (or any stream's label keys)."""
        self.label_names.update(n for n in names if isinstance(n, str) and is_valid_label_name(n))

    def observe_entries(self, entries: Iterable[LogEntry], *, categorized: bool, limit: int = 5000) -> None:
        """Stream label names, and (when ``categorized``) which services' lines carry a trace id
        as structured metadata. Looks at most at ``limit`` entries."""
        streams: set[StreamKey] = set()
        traced: set[StreamKey] = set()
        for entry in islice(entries, limit):
            stream = entry.stream
            if stream not in streams:
                streams.add(stream)
                self.observe_label_names(entry.labels)
            if not categorized or stream in traced or not entry.metadata:
                continue
            key = next((k for k in _TRACE_METADATA_KEYS if normalize_trace_id(entry.metadata.get(k))), None)
            if key is None:
                continue  # a line written outside any span says nothing about the others
            traced.add(stream)
            for label in SERVICE_LABELS:
                value = entry.labels.get(label)
                if value:
                    self._trace_keys.setdefault(value, key)

    def note_trace_metadata(self, service: str, key: str = "trace_id") -> None:
        """Record that ``{<service label>="service"} | key="<id>"`` found lines."""
        if service and is_valid_label_name(key):
            self._trace_keys[service] = key

    def trace_metadata_key(self, service: str) -> str | None:
        """The structured-metadata key ``service``'s lines carry the trace id under, if known."""
        return self._trace_keys.get(service)

    @property
    def service_label(self) -> str:
        """:func:`service_label` of the label names seen so far."""
        return service_label(self.label_names)

    @property
    def pod_label(self) -> str | None:
        """:func:`pod_label` of the label names seen so far."""
        return pod_label(self.label_names)


def trace_logs_logql(
    service: str,
    trace_id: str,
    conventions: LogConventions | None = None,
    *,
    label: str | None = None,
    metadata_key: str | None = None,
) -> str:
    """The LogQL of one trace's lines from one service: the single place trace → logs builds it.

    ``{service_name="x"} | trace_id="<id>"`` when ``conventions`` know that the service's
    lines carry the trace id as structured metadata (Loki's OTLP endpoint stores it there and
    never in the text), else the text match ``{service="x"} |= "<id>"``. The service label is
    ``label``, else the conventions' :attr:`LogConventions.service_label`, else ``service``;
    ``metadata_key`` forces the metadata filter on that key (a probe). Values are quoted with
    :func:`logql_quote`. Raises ``ValueError`` for an empty service or trace id, or an invalid
    label name or key.
    """
    trace_id = trace_id.strip()
    if not trace_id:
        raise ValueError("no trace id to look for")
    if label is None:
        label = conventions.service_label if conventions is not None else "service"
    selector = build_logql({"service": service}, {"service": label})
    key = metadata_key
    if key is None and conventions is not None:
        key = conventions.trace_metadata_key(service)
    if key is not None:
        if not is_valid_label_name(key):
            raise ValueError(f"invalid structured metadata key {key!r}")
        return f"{selector} | {key}={logql_quote(normalize_trace_id(trace_id) or trace_id)}"
    return add_line_filter(selector, trace_id)
