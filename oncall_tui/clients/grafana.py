"""Typed async client for Grafana's annotations HTTP API.

``POST /api/annotations`` (never retried: a retried POST can add a duplicate annotation) and
``GET /api/annotations`` (an idempotent read, retried like every read). Callers
(``oncall_tui.actions.annotations``) own the read-only guard and the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

import pydantic

from oncall_tui.clients.http import ApiClient, ApiResponse
from oncall_tui.models.grafana import (
    Annotation,
    AnnotationSpec,
    PostAnnotationResponse,
    parse_annotations,
    parse_grafana_error,
)

ANNOTATIONS_PATH = "/api/annotations"
#: Grafana's default and the most one GET returns unless ``limit`` says otherwise.
DEFAULT_LIMIT = 100
_ACCEPT = {"Accept": "application/json"}


class GrafanaClient(ApiClient):
    """Create and find annotations."""

    source = "grafana"

    async def create_annotation(self, spec: AnnotationSpec) -> int:
        """POST one annotation (checked client-side first, never retried); returns its id."""
        spec.validate_spec()
        response = await self.request(
            "POST", ANNOTATIONS_PATH, json_body=spec.to_api(), idempotent=False, headers=_ACCEPT
        )
        data = await self.decode_json(response)
        try:
            return PostAnnotationResponse.model_validate(data).id
        except pydantic.ValidationError as exc:
            raise self.malformed(response, exc) from None

    async def annotations(
        self,
        *,
        from_ms: int | None = None,
        to_ms: int | None = None,
        tags: Sequence[str] = (),
        limit: int = DEFAULT_LIMIT,
        type: Literal["annotation", "alert"] | None = None,
        dashboard_uid: str | None = None,
        panel_id: int | None = None,
    ) -> list[Annotation]:
        """Annotations overlapping ``[from_ms, to_ms]`` (epoch ms), having every tag in ``tags``."""
        params: list[tuple[str, str]] = []
        if from_ms is not None:
            params.append(("from", str(int(from_ms))))
        if to_ms is not None:
            params.append(("to", str(int(to_ms))))
        params += [("tags", t) for t in tags]
        params.append(("limit", str(int(limit))))
        if type is not None:
            params.append(("type", type))
        if dashboard_uid is not None:
            params.append(("dashboardUID", dashboard_uid))
        if panel_id is not None:
            params.append(("panelId", str(int(panel_id))))
        response = await self.request("GET", ANNOTATIONS_PATH, params=params, idempotent=True, headers=_ACCEPT)
        data = await self.decode_json(response)
        try:
            return parse_annotations(data)
        except (pydantic.ValidationError, ValueError, TypeError) as exc:
            raise self.malformed(response, exc) from None

    def annotations_url(self) -> str:
        """The (redacted) URL a POST goes to, for previews."""
        return self.base_url.rstrip("/") + ANNOTATIONS_PATH

    def error_details(self, response: ApiResponse) -> tuple[str, str | None]:
        # {"message": "Failed to save annotation"} (and "error" outside production mode).
        if response.body.strip():
            try:
                data: Any = json.loads(response.body)
            except ValueError:
                pass
            else:
                message = parse_grafana_error(data)
                if message is not None:
                    return message, None
        return super().error_details(response)
