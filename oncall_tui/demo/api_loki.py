"""The demo's Loki HTTP API: log queries over the story's lines, shaped like ``shared/fixtures/loki``.

Supported LogQL: a stream selector (``=``, ``!=``, ``=~``, ``!~``), line filters (``|=``,
``!=``, ``|~``, ``!~``), ``| json``, ``| logfmt`` and label filters (``| trace_id="…"``).
By default structured metadata and parsed fields merge into ``stream`` (so each distinct set is
its own stream, with ``_extracted`` on clashes); the ``categorize-labels`` encoding flag
separates them as Loki does.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from oncall_tui.demo.common import (
    NOT_FOUND,
    Reply,
    Req,
    json_reply,
    parse_rfc3339,
    text_reply,
)
from oncall_tui.demo.incident import DemoIncident
from oncall_tui.demo.logs import LogLine
from oncall_tui.models.alertmanager import Matcher

BUILDINFO = {
    "version": "3.3.2-demo",
    "revision": "oncall-tui-demo",
    "branch": "demo",
    "buildUser": "oncall-tui",
    "buildDate": "2024-12-18T00:00:00Z",
    "goVersion": "go1.23.4",
}
MAX_LIMIT = 5000
LABEL_NAMES = ("level", "namespace", "pod", "service", "service_name")
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_STAGE = re.compile(r'\s*(\|=|!=|\|~|!~)\s*"((?:[^"\\]|\\.)*)"|\s*\|\s*(json|logfmt)\b|\s*\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_LOGFMT = re.compile(r'([A-Za-z_][A-Za-z0-9_.]*)=("(?:[^"\\]|\\.)*"|\S*)')
NO_MATCHER = (
    "parse error : queries require at least one regexp or equality matcher that does not have an "
    'empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will'
)
INSTANT_LOG = "log queries are not supported as an instant query type, please change your query to a range query type"


class LogQLError(ValueError):
    """A query the demo rejects (text for a 400 body)."""


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def parse_logql(query: str) -> tuple[list[Matcher], list[tuple[str, Any]]]:
    """``(stream matchers, pipeline stages)``; raises :class:`LogQLError`."""
    q = query.strip()
    if not q.startswith("{"):
        raise LogQLError(f"the demo cannot evaluate this LogQL (only log queries): {query}")
    close = q.find("}")
    if close < 0:
        raise LogQLError(f"parse error at line 1, col {len(q) + 1}: syntax error: unexpected $end, expecting }} or ,")
    body, rest = q[1:close], q[close + 1 :]
    matchers: list[Matcher] = []
    pos = 0
    while pos < len(body.strip()):
        m = _MATCHER.match(body, pos)
        if m is None:
            raise LogQLError(f"parse error at line 1, col {pos + 2}: syntax error: unexpected character")
        op = m.group(2)
        matchers.append(Matcher(name=m.group(1), value=_unescape(m.group(3)), is_regex="~" in op, is_equal=op[0] != "!"))
        pos = m.end()
    if not matchers or all(x.matches_value("") for x in matchers):
        raise LogQLError(NO_MATCHER)
    stages: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(rest) and rest[pos:].strip():
        m = _STAGE.match(rest, pos)
        if m is None:
            raise LogQLError(f"the demo cannot evaluate this LogQL stage: {rest[pos:].strip()[:80]}")
        if m.group(1):
            stages.append(("line", (m.group(1), _unescape(m.group(2)))))
        elif m.group(3):
            stages.append(("parser", m.group(3)))
        else:
            op = m.group(5)
            stages.append(("label", Matcher(name=m.group(4), value=_unescape(m.group(6)), is_regex="~" in op, is_equal=op[0] != "!")))
        pos = m.end()
    return matchers, stages


def _parse_fields(kind: str, line: str) -> dict[str, str]:
    if kind == "json":
        try:
            data = json.loads(line)
        except ValueError:
            return {"__error__": "JSONParserErr"}
        out: dict[str, str] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}{re.sub(r'[^A-Za-z0-9_]', '_', k)}_", v)
            elif value is not None:
                out[prefix[:-1]] = value if isinstance(value, str) else json.dumps(value)

        walk("", data)
        return out
    out = {}
    for key, value in _LOGFMT.findall(line):
        if value.startswith('"'):
            try:
                value = shlex.split(value)[0] if value != '""' else ""
            except ValueError:
                value = value.strip('"')
        out[key.replace(".", "_")] = value
    return out


def _evaluate(line: LogLine, stages: list[tuple[str, Any]]) -> dict[str, str] | None:
    """Parsed fields if the line passes every stage, else None."""
    parsed: dict[str, str] = {}
    indexed = line.labels()
    for kind, arg in stages:
        if kind == "line":
            op, text = arg
            hit = (text in line.line) if op in ("|=", "!=") else re.search(text, line.line) is not None
            if hit != (op in ("|=", "|~")):
                return None
        elif kind == "parser":
            for key, value in _parse_fields(arg, line.line).items():
                clash = key in indexed or key in line.metadata or key == "detected_level"
                parsed[f"{key}_extracted" if clash else key] = value
        else:
            pool = {**indexed, **line.metadata, "detected_level": line.level, **parsed}
            if not arg.matches(pool):
                return None
    return parsed


def _time(raw: str | None, default: float) -> float:
    """Loki's time params: Unix ns or s (int or float) or RFC 3339."""
    if not raw:
        return default
    try:
        if re.fullmatch(r"\d+", raw):
            value = int(raw)
            return value / 1e9 if len(raw) > 12 else float(value)
        return float(raw)
    except ValueError:
        return parse_rfc3339(raw)


class LokiApi:
    """Routes ``/loki/api/v1/*``."""

    def __init__(self, incident: DemoIncident) -> None:
        self.incident = incident

    def handle(self, req: Req) -> Reply:
        path = req.path
        if path == "/loki/api/v1/query_range":
            return self.query_range(req)
        if path == "/loki/api/v1/query":
            return text_reply(INSTANT_LOG if (req.get("query") or "").strip().startswith("{") else
                              "the demo cannot evaluate metric queries", 400)
        if path == "/loki/api/v1/status/buildinfo":
            return json_reply(BUILDINFO)
        if path == "/loki/api/v1/labels":
            return json_reply({"status": "success", "data": list(LABEL_NAMES)})
        if path.startswith("/loki/api/v1/label/") and path.endswith("/values"):
            return self.label_values(req, path[len("/loki/api/v1/label/") : -len("/values")])
        if path == "/ready":
            return text_reply("ready\n", 200)
        return NOT_FOUND

    def _window(self, req: Req) -> tuple[float, float]:
        now = self.incident.now()
        end = _time(req.get("end"), now)
        start = _time(req.get("start"), end - 3600)
        return start, end

    def label_values(self, req: Req, name: str) -> Reply:
        if name not in LABEL_NAMES:
            return json_reply({"status": "success"})
        start, end = self._window(req)
        values = {line.labels()[name] for line in self.incident.log_lines(max(start, end - 600), end)}
        return json_reply({"status": "success", "data": sorted(values)})

    def query_range(self, req: Req) -> Reply:
        try:
            matchers, stages = parse_logql(req.get("query") or "")
            start, end = self._window(req)
        except (LogQLError, ValueError) as exc:
            return text_reply(str(exc), 400)
        try:
            limit = int(req.get("limit") or 100)
        except ValueError:
            return text_reply(f'invalid limit: "{req.get("limit")}"', 400)
        if limit > MAX_LIMIT:
            return text_reply(
                f"max entries limit per query exceeded, limit > max_entries_limit_per_query ({limit} > {MAX_LIMIT})", 400
            )
        if end <= start:
            return text_reply("end timestamp must not be before or equal to start time", 400)
        backward = (req.get("direction") or "backward").lower() != "forward"
        categorize = "categorize-labels" in req.headers.get("x-loki-response-encoding-flags", "")
        picked: list[tuple[LogLine, dict[str, str]]] = []
        for line in self.incident.log_lines(start, end, newest_first=backward):
            if len(picked) >= limit:
                break
            if not all(m.matches(line.labels()) for m in matchers):
                continue
            parsed = _evaluate(line, stages)
            if parsed is not None:
                picked.append((line, parsed))
        streams: dict[tuple[tuple[str, str], ...], list[list[Any]]] = {}
        for line, parsed in picked:
            meta = {**line.metadata, "detected_level": line.level}
            if categorize:
                labels = line.labels()
                entry: list[Any] = [str(line.ns), line.line, {"structuredMetadata": meta, **({"parsed": parsed} if parsed else {})}]
            else:
                labels = {**line.labels(), **meta, **parsed}
                entry = [str(line.ns), line.line]
            streams.setdefault(tuple(sorted(labels.items())), []).append(entry)
        result = [{"stream": dict(k), "values": v} for k, v in streams.items()]
        data: dict[str, Any] = {"resultType": "streams", "result": result, "stats": _stats(len(picked))}
        if categorize:
            data["encodingFlags"] = ["categorize-labels"]
        return json_reply({"status": "success", "data": data}, content_type="application/json; charset=UTF-8")


def _stats(entries: int) -> dict[str, Any]:
    """A small ``data.stats`` with the summary keys Loki reports."""
    return {
        "summary": {
            "bytesProcessedPerSecond": 0,
            "linesProcessedPerSecond": 0,
            "totalBytesProcessed": 0,
            "totalLinesProcessed": 0,
            "execTime": 0.001,
            "queueTime": 0.0001,
            "subqueries": 0,
            "totalEntriesReturned": entries,
            "splits": 1,
            "shards": 1,
            "totalPostFilterLines": entries,
            "totalStructuredMetadataBytesProcessed": 0,
        },
        "querier": {"store": {}},
        "ingester": {},
        "cache": {},
        "index": {},
    }
