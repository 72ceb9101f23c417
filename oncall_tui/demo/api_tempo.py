"""The demo's Tempo HTTP API: traces by id (OTLP JSON, base64 ids) and search (hex ids).

Shapes follow ``shared/fixtures/tempo``. TraceQL is not evaluated; ``/api/search`` understands
``resource.service.name = "x"``, ``status = error`` and ``duration > 500ms`` conditions and
ignores everything else.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from oncall_tui.demo.common import NOT_FOUND, Reply, Req, json_reply, ns, text_reply
from oncall_tui.demo.fleet import CLUSTER, NAMESPACE, SERVICE_BY_NAME
from oncall_tui.demo.incident import DemoIncident
from oncall_tui.demo.traces import Span, Trace

BUILDINFO = {
    "version": "2.6.1-demo",
    "revision": "oncall-tui-demo",
    "branch": "demo",
    "buildUser": "",
    "buildDate": "",
    "goVersion": "go1.22.7",
}
_SCOPES = {
    "llm-server": {"name": "vllm.tracing", "version": "0.6.3"},
    "feature-store": {"name": "opentelemetry.instrumentation.fastapi", "version": "0.47b0"},
}
_NODES = {"llm-server": "gpu-h100-node-1", "feature-store": "cpu-node-7"}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def b64(hex_id: str) -> str:
    """Protobuf-JSON encoding of an id: base64 of its bytes."""
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": str(v)}


def _attrs(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in attrs.items()]


def _span(trace: Trace, span: Span) -> dict[str, Any]:
    out: dict[str, Any] = {"traceId": b64(trace.trace_id), "spanId": b64(span.span_id)}
    if span.parent_id:
        out["parentSpanId"] = b64(span.parent_id)
    out.update(
        name=span.name,
        kind=span.kind,
        startTimeUnixNano=str(ns(span.start)),
        endTimeUnixNano=str(ns(span.end)),
    )
    if span.attributes:
        out["attributes"] = _attrs(span.attributes)
    if span.events:
        out["events"] = [
            {"timeUnixNano": str(ns(e.time)), "name": e.name, **({"attributes": _attrs(e.attributes)} if e.attributes else {})}
            for e in span.events
        ]
    out["status"] = {"message": span.error, "code": "STATUS_CODE_ERROR"} if span.error else {}
    return out


def resource_spans(trace: Trace) -> list[dict[str, Any]]:
    """OTLP ``resourceSpans``: one per service and pod."""
    groups: dict[tuple[str, str], list[Span]] = {}
    for span in trace.spans:
        groups.setdefault((span.service, span.pod), []).append(span)
    out = []
    for (service, pod), spans in groups.items():
        version = trace.version if service == "llm-server" else SERVICE_BY_NAME[service].version
        attrs: dict[str, Any] = {
            "deployment.environment.name": CLUSTER,
            "host.name": pod,
            "k8s.node.name": _NODES.get(service, "cpu-node-7"),
            "service.namespace": NAMESPACE,
            "service.version": version,
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.version": "1.27.0",
            "k8s.namespace.name": NAMESPACE,
            "k8s.pod.name": pod,
        }
        if service == "llm-server":
            attrs["gpu.model"] = "NVIDIA H100 80GB HBM3"
        attrs["service.name"] = service
        out.append(
            {
                "resource": {"attributes": _attrs(attrs)},
                "scopeSpans": [{"scope": _SCOPES.get(service, {"name": "demo"}), "spans": [_span(trace, s) for s in spans]}],
            }
        )
    return out


def _duration(raw: str) -> float | None:
    parts = _DURATION.findall(raw)
    if not parts or "".join(a + b for a, b in parts) != raw:
        return None
    return sum(float(a) * _UNITS[b] for a, b in parts)


def _bad_id(trace_id: str) -> Reply | None:
    for i, c in enumerate(trace_id):
        if c not in "0123456789abcdefABCDEF":
            return text_reply(f"trace IDs can only contain hex characters: invalid character '{c}' at position {i + 1}", 400)
    if len(trace_id) > 32:
        return text_reply("trace IDs can't be larger than 128 bits", 400)
    return None


class TempoApi:
    """Routes ``/api/*``."""

    def __init__(self, incident: DemoIncident) -> None:
        self.incident = incident

    def handle(self, req: Req) -> Reply:
        path = req.path
        if path.startswith("/api/v2/traces/"):
            return self.trace(path[len("/api/v2/traces/") :], v2=True)
        if path.startswith("/api/traces/"):
            return self.trace(path[len("/api/traces/") :], v2=False)
        if path == "/api/search":
            return self.search(req)
        if path == "/api/status/buildinfo":
            return json_reply(BUILDINFO)
        if path == "/api/echo":
            return text_reply("echo", 200)
        if path == "/ready":
            return text_reply("ready\n", 200)
        return NOT_FOUND

    def trace(self, trace_id: str, *, v2: bool) -> Reply:
        error = _bad_id(trace_id)
        if error:
            return error
        found = self.incident.trace(trace_id)
        if found is None:
            return json_reply({"trace": {}, "metrics": {}}) if v2 else Reply(404, b"", None)
        spans = resource_spans(found)
        if not v2:
            return json_reply({"batches": spans})
        size = 1200 * len(found.spans)
        return json_reply({"trace": {"resourceSpans": spans}, "metrics": {"inspectedBytes": str(size)}})

    def search(self, req: Req) -> Reply:
        now = self.incident.now()
        try:
            end = float(req.get("end") or now)
            start = float(req.get("start") or end - 3600)
            limit = int(req.get("limit") or 20)
            spss = int(req.get("spss") or 3)
        except ValueError as exc:
            return text_reply(f"invalid parameter: {exc}", 400)
        if start >= end:
            return text_reply(f"http parameter start must be before end. received start={start:g} end={end:g}", 400)
        q = req.get("q") or ""
        services = set(re.findall(r'resource\.service\.name\s*=\s*"([^"]*)"', q))
        errors_only = re.search(r"\bstatus\s*=\s*error\b", q) is not None
        min_dur = None
        if m := re.search(r"\bduration\s*>=?\s*(\S+?)\s*(?:&&|\}|$)", q):
            min_dur = _duration(m.group(1))
        if req.get("minDuration"):
            min_dur = _duration(req.get("minDuration") or "")
        traces = []
        inspected = 0
        for trace in self.incident.traces(start, end):
            if len(traces) >= limit:
                break
            inspected += 1
            matched = [
                s for s in trace.spans
                if (not services or s.service in services)
                and (not errors_only or s.error)
                and (min_dur is None or s.duration > min_dur)
            ]
            if matched:
                traces.append(_search_hit(trace, matched, spss, bool(services), errors_only))
        metrics = {"inspectedTraces": inspected, "inspectedBytes": str(inspected * 15000), "completedJobs": 1, "totalJobs": 1}
        return json_reply({"traces": traces, "metrics": metrics})


def _search_hit(trace: Trace, matched: list[Span], spss: int, by_service: bool, by_status: bool) -> dict[str, Any]:
    spans = []
    for s in matched[:spss]:
        item: dict[str, Any] = {"spanID": s.span_id, "startTimeUnixNano": str(ns(s.start)), "durationNanos": str(ns(s.duration))}
        attrs = []
        if by_service:
            attrs.append({"key": "service.name", "value": {"stringValue": s.service}})
        if by_status:
            attrs.append({"key": "status", "value": {"stringValue": "error"}})
        if attrs:
            item["attributes"] = attrs
        spans.append(item)
    span_set = {"spans": spans, "matched": len(matched)}
    stats: dict[str, dict[str, int]] = {}
    for s in trace.spans:
        entry = stats.setdefault(s.service, {"spanCount": 0})
        entry["spanCount"] += 1
        if s.error:
            entry["errorCount"] = entry.get("errorCount", 0) + 1
    return {
        "traceID": trace.trace_id.lstrip("0") or "0",
        "rootServiceName": trace.root.service,
        "rootTraceName": trace.root.name,
        "startTimeUnixNano": str(ns(trace.start)),
        "durationMs": int(trace.root.duration * 1000),
        "spanSet": span_set,
        "spanSets": [span_set],
        "serviceStats": dict(sorted(stats.items())),
    }
