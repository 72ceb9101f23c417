"""The demo's CD system: a tiny Argo CD API (``/api/v1/applications``) over the incident.

Routes: ``GET /api/v1/applications/{name}`` and ``POST /api/v1/applications/{name}/rollback``
with Argo CD's ``ApplicationRollbackRequest`` body (``id``: the ``status.history`` entry to
return to; ``dryRun``; ``name``...). Answers are shaped like Argo CD's
``v1alpha1Application`` (metadata, spec.source/destination, status.sync/health/history/
operationState), errors like grpc-gateway's ``{"error", "code", "message"}``. A rollback that is
not a dry run rolls the incident back (:meth:`DemoIncident.rollback`), which lets the error
rate fall. Unknown application → 404; nothing to roll back → 400.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from oncall_tui.demo.common import NOT_FOUND, Reply, Req, json_reply, rfc3339_ms
from oncall_tui.demo.fleet import NAMESPACE, SERVICE_BY_NAME
from oncall_tui.demo.incident import DEPLOY_AT, NEW_VERSION, OLD_VERSION, DemoIncident

REPO_URL = "https://git.example.com/ml-platform/deploy.git"
ARGOCD_NAMESPACE = "argocd"
_APP = re.compile(r"/api/v1/applications/([^/]+)")
_ROLLBACK = re.compile(r"/api/v1/applications/([^/]+)/rollback")
#: Story time at which every service's current version was first deployed.
FIRST_DEPLOY = -7 * 24 * 3600.0
# grpc status codes used by Argo CD's API server
_INVALID_ARGUMENT, _NOT_FOUND = 3, 5


def _error(message: str, code: int, status: int) -> Reply:
    return json_reply({"error": message, "code": code, "message": message}, status)


def _revision(name: str, version: str) -> str:
    return hashlib.blake2b(f"{name}@{version}".encode(), digest_size=20).hexdigest()


class CdApi:
    """Argo CD's application rollback for the demo services (one application each)."""

    def __init__(self, incident: DemoIncident) -> None:
        self.incident = incident
        self.requests: list[tuple[str, str, Any]] = []

    def handle(self, req: Req) -> Reply:
        m = _ROLLBACK.fullmatch(req.path)
        if m is not None:
            if req.method != "POST":
                return _error("method not allowed", 12, 405)
            return self.rollback(req, m.group(1))
        m = _APP.fullmatch(req.path)
        if m is not None and req.method == "GET":
            name = m.group(1)
            if name not in SERVICE_BY_NAME:
                return _not_found(name)
            return json_reply(self.application(name))
        return NOT_FOUND

    # ----------------------------------------------------------------- state --
    def history(self, name: str) -> list[dict[str, Any]]:
        """``status.history``: one entry per deploy (and rollback) so far, oldest first."""
        t = self.incident.story_time()
        entries: list[tuple[float, str]] = []
        if name == "llm-server":
            entries.append((FIRST_DEPLOY, OLD_VERSION))
            if t >= DEPLOY_AT:
                entries.append((DEPLOY_AT, NEW_VERSION))
            back = self.incident.rollback_at(name)
            if back is not None:
                entries.append((back, OLD_VERSION))
        else:
            entries.append((FIRST_DEPLOY, SERVICE_BY_NAME[name].version))
        out = []
        for i, (at, version) in enumerate(entries, start=1):
            wall = self.incident.wall_time(at)
            out.append(
                {
                    "id": i,
                    "revision": _revision(name, version),
                    "deployStartedAt": rfc3339_ms(wall - 20),
                    "deployedAt": rfc3339_ms(wall),
                    "source": self._source(name, version),
                }
            )
        return out

    def _source(self, name: str, version: str) -> dict[str, Any]:
        return {"repoURL": REPO_URL, "path": f"apps/{name}", "targetRevision": version}

    def application(self, name: str, *, operation: dict[str, Any] | None = None) -> dict[str, Any]:
        """The application as Argo CD returns it (``v1alpha1Application``)."""
        version = self.incident.version(name, self.incident.now())
        history = self.history(name)
        llm = name == "llm-server"
        degraded = llm and self.incident.factor(self.incident.story_time()) > 0.3
        status: dict[str, Any] = {
            "sync": {"status": "Synced", "revision": _revision(name, version)},
            "health": {"status": "Degraded" if degraded else "Healthy"},
            "history": history,
        }
        if operation is not None:
            status["operationState"] = operation
        return {
            "metadata": {"name": name, "namespace": ARGOCD_NAMESPACE},
            "spec": {
                "project": "default",
                "source": self._source(name, version),
                "destination": {"server": "https://kubernetes.default.svc", "namespace": NAMESPACE},
            },
            "status": status,
        }

    # -------------------------------------------------------------- rollback --
    def rollback(self, req: Req, name: str) -> Reply:
        if name not in SERVICE_BY_NAME:
            return _not_found(name)
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            return _error("invalid JSON body", _INVALID_ARGUMENT, 400)
        if not isinstance(body, dict):
            return _error("invalid rollback request", _INVALID_ARGUMENT, 400)
        dry_run = bool(body.get("dryRun", False))
        raw_id = body.get("id", 0)
        try:
            wanted = int(raw_id or 0)
        except (TypeError, ValueError):
            return _error(f"invalid history id {str(raw_id)[:40]!r}", _INVALID_ARGUMENT, 400)
        self.requests.append((req.method, req.path, body))
        history = self.history(name)
        if len(history) < 2 or self.incident.rollback_at(name) is not None:
            return _error(f"application {name} has no previous revision to roll back to", _INVALID_ARGUMENT, 400)
        current = history[-1]
        target = next((h for h in history if h["id"] == wanted), None)
        if target is None:
            return _error(f"application {name} does not have deployment with id {wanted}", _INVALID_ARGUMENT, 400)
        if target["source"]["targetRevision"] == current["source"]["targetRevision"]:
            return _error(f"application {name} already runs that revision", _INVALID_ARGUMENT, 400)
        now = rfc3339_ms(self.incident.now())
        if not dry_run and not self.incident.rollback(name):
            return _error(f"application {name} has no previous revision to roll back to", _INVALID_ARGUMENT, 400)
        operation = {
            "phase": "Succeeded" if dry_run else "Running",
            "message": ("dry run: " if dry_run else "")
            + f"rollback to {target['source']['targetRevision']} (history id {target['id']})",
            "startedAt": now,
        }
        if dry_run:
            operation["finishedAt"] = now
        return json_reply(self.application(name, operation=operation))


def _not_found(name: str) -> Reply:
    return _error(f'applications.argoproj.io "{name}" not found', _NOT_FOUND, 404)
