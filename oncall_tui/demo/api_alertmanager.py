"""The demo's Alertmanager API v2, shaped like ``shared/fixtures/alertmanager``.

Alerts are Prometheus' firing alerts plus the external label ``cluster``. The inhibit rule of
the fixtures' config applies (critical inhibits warning with equal ``namespace`` and
``service``), silences from :class:`~oncall_tui.demo.silences.SilenceStore` really silence,
and both give ``state: "suppressed"``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from oncall_tui.demo.api_prometheus import generator_url
from oncall_tui.demo.common import (
    NOT_FOUND,
    Reply,
    Req,
    json_reply,
    rfc3339_ms,
    text_reply,
)
from oncall_tui.demo.fleet import CLUSTER
from oncall_tui.demo.incident import DemoIncident
from oncall_tui.demo.silences import _UUID, _invalid_uuid
from oncall_tui.models.alertmanager import Matcher

VERSION_INFO = {
    "branch": "demo",
    "buildDate": "20240228-00:00:00",
    "buildUser": "oncall-tui",
    "goVersion": "go1.21.7",
    "revision": "oncall-tui-demo",
    "version": "0.27.0-demo",
}
RECEIVERS = ("null", "oncall-pager")
GROUP_BY = ("alertname", "service")
INHIBIT_EQUAL = ("namespace", "service")
CONFIG_YAML = """global:
  resolve_timeout: 5m
route:
  receiver: "null"
  group_by:
  - alertname
  - service
  continue: false
  routes:
  - receiver: "null"
    matchers:
    - alertname="Watchdog"
    continue: false
  - receiver: oncall-pager
    matchers:
    - severity=~"critical|warning"
    continue: false
  group_wait: 10s
  group_interval: 1m
  repeat_interval: 4h
inhibit_rules:
- source_matchers:
  - severity="critical"
  target_matchers:
  - severity="warning"
  equal:
  - namespace
  - service
receivers:
- name: "null"
- name: oncall-pager
  webhook_configs:
  - send_resolved: true
    url: http://oncall-pager.demo.invalid/webhook
    max_alerts: 0
templates: []
"""
_FILTER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"]*?))\s*')


def fingerprint(labels: dict[str, str]) -> str:
    """A stable 16-hex-digit fingerprint of a label set (sorted name/value pairs)."""
    raw = "\xff".join(f"{k}\xff{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def parse_filter(text: str) -> Matcher:
    """``name="v"``, ``name=~"re"``, ``name!="v"``, ``name!~"re"``; ValueError if malformed."""
    m = _FILTER.fullmatch(text)
    if m is None:
        raise ValueError(f"bad matcher format: {text}")
    value = m.group(3) if m.group(3) is not None else m.group(4) or ""
    value = re.sub(r"\\(.)", r"\1", value)
    op = m.group(2)
    matcher = Matcher(name=m.group(1), value=value, is_regex="~" in op, is_equal=op[0] != "!")
    if matcher.is_regex:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad matcher format: {text}: {exc.msg}") from None
    return matcher


def _flag(req: Req, name: str) -> bool:
    return (req.get(name) or "true").lower() != "false"


class AlertmanagerApi:
    """Routes ``/api/v2/*``."""

    def __init__(self, incident: DemoIncident) -> None:
        self.incident = incident

    def handle(self, req: Req) -> Reply:
        path, method = req.path, req.method
        if path == "/api/v2/alerts" and method == "GET":
            return self.alerts(req)
        if path == "/api/v2/alerts/groups" and method == "GET":
            return self.groups(req)
        if path == "/api/v2/silences":
            if method == "POST":
                return self.incident.silences.post(req.body, self.incident.now())
            return self.silences(req)
        if path.startswith("/api/v2/silence/"):
            return self.silence(req, path[len("/api/v2/silence/") :])
        if path == "/api/v2/status":
            return self.status()
        if path == "/api/v2/receivers":
            return json_reply([{"name": n} for n in RECEIVERS])
        if path in ("/-/ready", "/-/healthy"):
            return text_reply("OK", 200)
        return NOT_FOUND

    # ------------------------------------------------------------------- alerts --
    def current_alerts(self) -> list[dict[str, Any]]:
        """Every alert Alertmanager holds now, with silence/inhibition status, by fingerprint."""
        now = self.incident.now()
        firing = [a for a in self.incident.alerts(now) if a.state == "firing"]
        entries = []
        for alert in firing:
            labels = dict(sorted({**alert.labels, "cluster": CLUSTER}.items()))
            entries.append((alert, labels, fingerprint(labels)))
        out = []
        for alert, labels, fp in entries:
            inhibited_by = [
                src_fp
                for _, src, src_fp in entries
                if src_fp != fp
                and src.get("severity") == "critical"
                and labels.get("severity") == "warning"
                and all(src.get(k, "") == labels.get(k, "") for k in INHIBIT_EQUAL)
            ]
            silenced_by = self.incident.silences.silencing(labels, now)
            receiver = "null" if labels.get("alertname") == "Watchdog" else "oncall-pager"
            out.append(
                {
                    "annotations": alert.annotations,
                    "endsAt": rfc3339_ms(now + 240),
                    "fingerprint": fp,
                    "receivers": [{"name": receiver}],
                    "startsAt": rfc3339_ms(alert.fired_at or alert.active_at),
                    "status": {
                        "inhibitedBy": inhibited_by,
                        "silencedBy": silenced_by,
                        "state": "suppressed" if inhibited_by or silenced_by else "active",
                    },
                    "updatedAt": rfc3339_ms(now),
                    "generatorURL": generator_url(alert.rule.query),
                    "labels": labels,
                }
            )
        return sorted(out, key=lambda a: a["fingerprint"])

    def _filtered(self, req: Req, *, unprocessed: bool) -> list[dict[str, Any]] | Reply:
        try:
            matchers = [parse_filter(f) for f in req.getall("filter")]
        except ValueError as exc:
            return json_reply(str(exc), 400)
        receiver = req.get("receiver")
        try:
            receiver_re = re.compile(f"^(?:{receiver})$") if receiver else None
        except re.error as exc:
            return json_reply(f"failed to parse receiver param: {exc.msg}", 400)
        out = []
        for a in self.current_alerts():
            status = a["status"]
            if not _flag(req, "active") and status["state"] == "active":
                continue
            if unprocessed and not _flag(req, "unprocessed") and status["state"] == "unprocessed":
                continue
            if not _flag(req, "silenced") and status["silencedBy"]:
                continue
            if not _flag(req, "inhibited") and status["inhibitedBy"]:
                continue
            if receiver_re and not any(receiver_re.match(r["name"]) for r in a["receivers"]):
                continue
            if all(m.matches(a["labels"]) for m in matchers):
                out.append(a)
        return out

    def alerts(self, req: Req) -> Reply:
        found = self._filtered(req, unprocessed=True)
        return found if isinstance(found, Reply) else json_reply(found)

    def groups(self, req: Req) -> Reply:
        found = self._filtered(req, unprocessed=False)
        if isinstance(found, Reply):
            return found
        groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[dict[str, Any]]] = {}
        for a in found:
            key_labels = tuple((k, a["labels"][k]) for k in GROUP_BY if k in a["labels"])
            groups.setdefault((a["receivers"][0]["name"], key_labels), []).append(a)
        data = [
            {"alerts": alerts, "labels": dict(labels), "receiver": {"name": receiver}}
            for (receiver, labels), alerts in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        ]
        return json_reply(data)

    # ----------------------------------------------------------------- silences --
    def silences(self, req: Req) -> Reply:
        try:
            matchers = [parse_filter(f) for f in req.getall("filter")]
        except ValueError as exc:
            return json_reply(str(exc), 400)
        now = self.incident.now()
        out = []
        for s in self.incident.silences.all(now):
            by_name = {m.name: m.value for m in s.matchers}
            if all(_silence_filter_ok(m, by_name) for m in matchers):
                out.append(s.to_api(now))
        return json_reply(out)

    def silence(self, req: Req, silence_id: str) -> Reply:
        now = self.incident.now()
        if req.method == "DELETE":
            return self.incident.silences.expire(silence_id, now)
        if not _UUID.fullmatch(silence_id):
            return _invalid_uuid(silence_id)
        found = self.incident.silences.get(silence_id)
        if found is None:
            return Reply(404, b"", None)
        return json_reply(found.to_api(now))

    # ------------------------------------------------------------------- status --
    def status(self) -> Reply:
        return json_reply(
            {
                "cluster": {"peers": [], "status": "disabled"},
                "config": {"original": CONFIG_YAML},
                "uptime": rfc3339_ms(self.incident.wall_time(-3600.0)),
                "versionInfo": VERSION_INFO,
            }
        )


def _silence_filter_ok(m: Matcher, values: dict[str, str]) -> bool:
    """Alertmanager's ``matchFilterLabels`` against a silence's own matchers."""
    present = m.name in values
    if m.value == "" and (present if not m.is_equal else not present):
        return True
    return m.matches_value(values.get(m.name, ""))
