"""Models of Grafana's annotations HTTP API (``/api/annotations``), as Grafana documents it.

- ``POST /api/annotations`` takes ``dashboardUID``, ``panelId``, ``time``, ``timeEnd`` (epoch
  milliseconds), ``tags`` and the one required field ``text``; it answers
  ``{"message": "Annotation added", "id": 1}``. :class:`AnnotationSpec` builds that body.
- ``GET /api/annotations?from=&to=&tags=&limit=&type=&dashboardUID=`` answers a JSON array of
  :class:`Annotation` (``id``, ``alertId``, ``dashboardId``, ``dashboardUID``, ``panelId``,
  ``userId``, ``time``, ``timeEnd``, ``text``, ``tags``, ``login``...; unknown fields ignored).
- Errors are ``{"message": "..."}`` (plus ``error``/``traceID`` on some versions).

Texts stay raw here: display code sanitises them; the POST body must carry the user's exact text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, TypeAdapter, field_validator

from oncall_tui.models.common import ADAPTER_CONFIG, ApiModel

__all__ = [
    "MIN_EPOCH_MS",
    "Annotation",
    "AnnotationSpec",
    "ChartMarker",
    "InvalidAnnotation",
    "PostAnnotationResponse",
    "parse_annotations",
    "parse_grafana_error",
]

#: Times are epoch milliseconds; anything below this (1973 in ms, 5138 AD in seconds) is
#: almost certainly seconds sent by mistake.
MIN_EPOCH_MS = 100_000_000_000


class InvalidAnnotation(ValueError):
    """An annotation Grafana would reject (or that we refuse to send); never quotes the text."""


class AnnotationSpec(ApiModel):
    """The write side: the exact ``POST /api/annotations`` body (see :meth:`to_api`)."""

    text: str
    time: int
    """Epoch milliseconds."""
    time_end: int | None = None
    """Epoch milliseconds; set for a region annotation."""
    tags: list[str] = Field(default_factory=list)
    dashboard_uid: str | None = Field(default=None, alias="dashboardUID")
    panel_id: int | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        return [] if value is None else value

    def validate_spec(self) -> AnnotationSpec:
        """Client-side checks mirroring Grafana's (``text`` required, ms times); returns self."""
        if not self.text.strip():
            raise InvalidAnnotation("an annotation needs a text (Grafana: text field should not be empty)")
        if self.time < MIN_EPOCH_MS:
            raise InvalidAnnotation("annotation time must be epoch milliseconds")
        if self.time_end is not None and self.time_end < self.time:
            raise InvalidAnnotation("annotation timeEnd is before its time")
        if any(not isinstance(t, str) or not t for t in self.tags):
            raise InvalidAnnotation("annotation tags must be non-empty strings")
        return self

    def to_api(self) -> dict[str, Any]:
        """The JSON body, in the documented field order, unset optional fields left out."""
        body: dict[str, Any] = {}
        if self.dashboard_uid is not None:
            body["dashboardUID"] = self.dashboard_uid
        if self.panel_id is not None:
            body["panelId"] = self.panel_id
        body["time"] = self.time
        if self.time_end is not None:
            body["timeEnd"] = self.time_end
        body["tags"] = list(self.tags)
        body["text"] = self.text
        return body

    @classmethod
    def from_api(cls, body: Any) -> AnnotationSpec:
        """The spec back from a body made by :meth:`to_api` (e.g. a payload kept for retry)."""
        return cls.model_validate(body)


class PostAnnotationResponse(ApiModel):
    """``{"message": "Annotation added", "id": 1}``."""

    message: str = ""
    id: int


class Annotation(ApiModel):
    """One item of ``GET /api/annotations``."""

    id: int
    alert_id: int = 0
    dashboard_id: int | None = None
    dashboard_uid: str | None = Field(default=None, alias="dashboardUID")
    panel_id: int | None = None
    user_id: int | None = None
    login: str = ""
    time: int
    time_end: int | None = None
    text: str = ""
    tags: list[str] = Field(default_factory=list)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("text", "login", mode="before")
    @classmethod
    def _null_text(cls, value: Any) -> Any:
        return "" if value is None else value

    @property
    def at(self) -> float:
        """Start time in Unix seconds."""
        return self.time / 1000.0


_ANNOTATIONS = TypeAdapter(list[Annotation], config=ADAPTER_CONFIG)


def parse_annotations(data: Any) -> list[Annotation]:
    """The array ``GET /api/annotations`` answers (raises ``ValidationError`` otherwise)."""
    return _ANNOTATIONS.validate_python(data)


def parse_grafana_error(data: Any) -> str | None:
    """The message of a Grafana error body ``{"message": ..., "error": ...}``; None if not one."""
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        return None
    message = data["message"]
    error = data.get("error")
    if isinstance(error, str) and error and error not in message:
        message = f"{message}: {error}"
    return message


@dataclass(frozen=True)
class ChartMarker:
    """A moment to mark on the charts: a Grafana annotation or a local timeline entry.

    ``text`` is raw (untrusted for Grafana annotations); display code sanitises it.
    """

    at: float
    """Unix seconds."""
    text: str
    source: Literal["grafana", "note", "action"]
    tags: tuple[str, ...] = ()
