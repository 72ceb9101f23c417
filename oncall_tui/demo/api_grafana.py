"""The demo's Grafana: the annotations HTTP API (and ``/api/health``), kept in memory.

Answers as Grafana documents it: ``POST /api/annotations`` takes a JSON body whose only
required field is ``text`` (``time``/``timeEnd`` are integer epoch milliseconds, ``tags`` a
list of strings, ``dashboardUID``/``panelId`` optional) and answers
``{"message": "Annotation added", "id": N}``; errors are ``{"message": ...}`` with 400.
``GET /api/annotations`` filters by ``from``/``to`` (overlap, epoch ms, both needed),
``tags`` (all of them, or any with ``matchAny=true``), ``type``, ``dashboardUID``,
``panelId``, ``limit`` (default 100) and answers an array, newest first.

The CD pipeline's deploy of llm-server v2.4 (and a rollback, once one happened) are there as
annotations, the way a deploy job would have posted them.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from oncall_tui.demo.common import NOT_FOUND, Reply, Req, json_reply
from oncall_tui.demo.incident import DEPLOY_AT, NEW_VERSION, OLD_VERSION, DemoIncident

VERSION = "11.3.0-demo"
DEPLOY_ID, ROLLBACK_ID = 1, 2
_FIRST_ID = 3
_API_USER = {"userId": 1, "login": "admin", "email": "admin@localhost"}
_CD_USER = {"userId": 2, "login": "argocd", "email": "argocd@localhost"}


def _error(message: str, status: int = 400) -> Reply:
    return json_reply({"message": message}, status)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _query_int(req: Req, name: str) -> int:
    """Grafana's ``QueryInt64``: 0 when absent or not a number."""
    try:
        return int(req.get(name) or 0)
    except ValueError:
        return 0


class GrafanaApi:
    """Routes ``/api/annotations`` and ``/api/health``."""

    def __init__(self, incident: DemoIncident) -> None:
        self.incident = incident
        self._items: list[dict[str, Any]] = []
        self._next_id = _FIRST_ID
        self._lock = threading.Lock()

    def handle(self, req: Req) -> Reply:
        if req.path == "/api/health" and req.method == "GET":
            return json_reply({"commit": "oncall-tui-demo", "database": "ok", "version": VERSION})
        if req.path == "/api/annotations":
            if req.method == "POST":
                return self.post(req)
            if req.method == "GET":
                return self.find(req)
            return _error("Method Not Allowed", 405)
        return NOT_FOUND

    # ------------------------------------------------------------------- writes --
    def post(self, req: Req) -> Reply:
        if req.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return _error("bad request data")
        try:
            cmd = json.loads(req.body or b"null")
        except ValueError:
            return _error("bad request data")
        if not isinstance(cmd, dict):
            return _error("bad request data")
        ints = ("time", "timeEnd", "panelId", "dashboardId")
        if any(k in cmd and cmd[k] is not None and not _int(cmd[k]) for k in ints):
            return _error("bad request data")  # Go cannot decode it into an int64
        tags = cmd.get("tags")
        if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
            return _error("bad request data")
        text = cmd.get("text")
        if text is not None and not isinstance(text, str):
            return _error("bad request data")
        if not text:
            return _error("Failed to save annotation")  # text field should not be empty
        now_ms = int(self.incident.now() * 1000)
        start = cmd.get("time") or now_ms
        end = cmd.get("timeEnd") or start
        with self._lock:
            item_id = self._next_id
            self._next_id += 1
            self._items.append(
                self._item(
                    item_id,
                    start,
                    end,
                    text,
                    tags or [],
                    dashboard_uid=cmd.get("dashboardUID") or None,
                    panel_id=cmd.get("panelId") or 0,
                    created=now_ms,
                    user=_API_USER,
                )
            )
        return json_reply({"message": "Annotation added", "id": item_id})

    # -------------------------------------------------------------------- reads --
    def find(self, req: Req) -> Reply:
        start, end = _query_int(req, "from"), _query_int(req, "to")
        tags = req.getall("tags")
        match_any = (req.get("matchAny") or "").lower() == "true"
        kind = req.get("type") or ""
        dashboard_uid = req.get("dashboardUID") or ""
        panel_id = _query_int(req, "panelId")
        limit = _query_int(req, "limit") or 100
        out = []
        for item in self.items():
            if start > 0 and end > 0 and not (item["time"] <= end and item["timeEnd"] >= start):
                continue
            if tags:
                have = [t in item["tags"] for t in tags]
                if not (any(have) if match_any else all(have)):
                    continue
            if kind == "alert" and item["alertId"] == 0 or kind == "annotation" and item["alertId"] != 0:
                continue
            if dashboard_uid and item["dashboardUID"] != dashboard_uid:
                continue
            if panel_id and item["panelId"] != panel_id:
                continue
            out.append(item)
        out.sort(key=lambda i: (i["time"], i["timeEnd"]), reverse=True)
        return json_reply(out[:limit])

    def items(self) -> list[dict[str, Any]]:
        """Every annotation: the CD pipeline's (deploy, rollback) and those posted, oldest first."""
        incident = self.incident
        now = incident.now()
        seeded = []
        deploy = incident.wall_time(DEPLOY_AT)
        if deploy <= now:
            ms = int(deploy * 1000)
            seeded.append(
                self._item(
                    DEPLOY_ID, ms, ms, f"Deploy llm-server {NEW_VERSION} (was {OLD_VERSION})",
                    ["deploy", "llm-server"], created=ms, user=_CD_USER,
                )
            )
        rolled = incident.rollback_at("llm-server")
        if rolled is not None:
            ms = int(incident.wall_time(rolled) * 1000)
            seeded.append(
                self._item(
                    ROLLBACK_ID, ms, ms, f"Rollback llm-server to {OLD_VERSION}",
                    ["deploy", "rollback", "llm-server"], created=ms, user=_CD_USER,
                )
            )
        with self._lock:
            return seeded + [dict(i) for i in self._items]

    @staticmethod
    def _item(
        item_id: int,
        start: int,
        end: int,
        text: str,
        tags: list[str],
        *,
        dashboard_uid: str | None = None,
        panel_id: int = 0,
        created: int,
        user: dict[str, Any],
    ) -> dict[str, Any]:
        """One annotation as ``GET /api/annotations`` lists it."""
        return {
            "id": item_id,
            "alertId": 0,
            "alertName": "",
            "dashboardId": 0,
            "dashboardUID": dashboard_uid,
            "panelId": panel_id,
            "userId": user["userId"],
            "newState": "",
            "prevState": "",
            "created": created,
            "updated": created,
            "time": start,
            "timeEnd": end,
            "text": text,
            "tags": list(tags),
            "login": user["login"],
            "email": user["email"],
            "avatarUrl": "",
            "data": {},
        }
