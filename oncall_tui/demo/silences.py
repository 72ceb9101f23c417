"""Alertmanager's silences for the demo: create/update/expire with Alertmanager's own validation.

Errors come in Alertmanager's two shapes (``shared/fixtures/alertmanager``): OpenAPI validation
errors as ``{"code": 602, "message": "createdBy in body is required"}`` with HTTP 422, and
semantic errors as a bare JSON string with HTTP 400 (404/500 for unknown IDs).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oncall_tui.demo.common import Reply, hex_id, json_reply, parse_rfc3339, rfc3339_ms
from oncall_tui.models.alertmanager import Matcher
from oncall_tui.models.common import is_valid_label_name

if TYPE_CHECKING:
    from oncall_tui.demo.incident import DemoIncident

INITIAL_SILENCE_COMMENT = "vLLM pre-allocates HBM; tracked in ML-1234"
INITIAL_SILENCE_AUTHOR = "alice@example.com"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_REQUIRED = ("comment", "createdBy", "endsAt", "matchers", "startsAt")  # go-openapi checks A→Z
_MATCHER_REQUIRED = ("isRegex", "name", "value")


@dataclass
class StoredSilence:
    """One silence; times are Unix seconds."""

    id: str
    matchers: list[Matcher]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    updated_at: float

    def state(self, now: float) -> str:
        """``pending``, ``active`` or ``expired`` at ``now``."""
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher matches the label set."""
        return all(m.matches(labels) for m in self.matchers)

    def to_api(self, now: float) -> dict[str, Any]:
        """The JSON object of ``/api/v2/silences`` (key order as Alertmanager writes it)."""
        return {
            "id": self.id,
            "status": {"state": self.state(now)},
            "updatedAt": rfc3339_ms(self.updated_at),
            "comment": self.comment,
            "createdBy": self.created_by,
            "endsAt": rfc3339_ms(self.ends_at),
            "matchers": [
                {"isEqual": m.is_equal, "isRegex": m.is_regex, "name": m.name, "value": m.value}
                for m in self.matchers
            ],
            "startsAt": rfc3339_ms(self.starts_at),
        }


class SilenceStore:
    """All silences, in creation order; IDs are deterministic UUIDs."""

    def __init__(self) -> None:
        self._items: dict[str, StoredSilence] = {}
        self._counter = 0

    def _new_id(self) -> str:
        self._counter += 1
        return str(uuid.UUID(hex=hex_id("demo-silence", self._counter, nbytes=16), version=4))

    def add_initial(self, incident: DemoIncident) -> StoredSilence:
        """The silence that exists from story start: GPU memory alerts on the H100 nodes, 4 h."""
        begin = incident.wall_time(0.0)
        silence = StoredSilence(
            id=self._new_id(),
            matchers=[
                Matcher.exact("alertname", "GPUFramebufferMemoryHigh"),
                Matcher(name="Hostname", value="gpu-h100-node-.*", is_regex=True, is_equal=True),
            ],
            starts_at=begin,
            ends_at=begin + 4 * 3600,
            created_by=INITIAL_SILENCE_AUTHOR,
            comment=INITIAL_SILENCE_COMMENT,
            updated_at=begin,
        )
        self._items[silence.id] = silence
        return silence

    # ------------------------------------------------------------------ reading --
    def get(self, silence_id: str) -> StoredSilence | None:
        """The silence with that ID."""
        return self._items.get(silence_id)

    def all(self, now: float) -> list[StoredSilence]:
        """Alertmanager's order: active (by end), pending (by start), expired (latest first)."""
        items = list(self._items.values())
        active = sorted((s for s in items if s.state(now) == "active"), key=lambda s: s.ends_at)
        pending = sorted((s for s in items if s.state(now) == "pending"), key=lambda s: s.starts_at)
        expired = sorted((s for s in items if s.state(now) == "expired"), key=lambda s: -s.ends_at)
        return active + pending + expired

    def silencing(self, labels: Mapping[str, str], now: float) -> list[str]:
        """IDs of the active silences that match ``labels``."""
        return [s.id for s in self.all(now) if s.state(now) == "active" and s.matches(labels)]

    # ------------------------------------------------------------------ writing --
    def expire(self, silence_id: str, now: float) -> Reply:
        """DELETE ``/api/v2/silence/{id}``: 200 with an empty body, or Alertmanager's errors."""
        if not _UUID.fullmatch(silence_id):
            return _invalid_uuid(silence_id)
        silence = self._items.get(silence_id)
        if silence is None:
            return json_reply("silence not found", 500)
        state = silence.state(now)
        if state == "expired":
            return json_reply(f"silence {silence_id} already expired", 500)
        if state == "pending":
            silence.starts_at = now
        silence.ends_at = now
        silence.updated_at = now
        return Reply(200, b"", None)

    def post(self, body: bytes, now: float) -> Reply:
        """POST ``/api/v2/silences``: create, or update when ``id`` is set."""
        try:
            data = json.loads(body or b"null")
        except ValueError as exc:
            return json_reply({"code": 400, "message": f'parsing silence body from "" failed, because {exc}'}, 400)
        if not isinstance(data, dict):
            return json_reply({"code": 400, "message": 'parsing silence body from "" failed, because expected an object'}, 400)
        parsed = _parse_body(data)
        if isinstance(parsed, Reply):
            return parsed
        matchers, starts_at, ends_at = parsed
        if starts_at >= ends_at:
            return json_reply("Failed to create silence: start time must be before end time", 400)
        if ends_at < now:
            return json_reply("Failed to create silence: end time can't be in the past", 400)
        problem = _validate_matchers(matchers)
        if problem:
            return json_reply(f"silence invalid: {problem}", 400)
        wanted = StoredSilence(
            id="",
            matchers=matchers,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=str(data["createdBy"]),
            comment=str(data["comment"]),
            updated_at=now,
        )
        silence_id = data.get("id") or ""
        if silence_id:
            existing = self._items.get(str(silence_id))
            if existing is None:
                return json_reply("silence not found", 404)
            if _can_update(existing, wanted, now):
                existing.ends_at, existing.starts_at = wanted.ends_at, wanted.starts_at
                existing.comment, existing.created_by = wanted.comment, wanted.created_by
                existing.updated_at = now
                return json_reply({"silenceID": existing.id})
            if existing.state(now) != "expired":
                self.expire(existing.id, now)
        wanted.id = self._new_id()
        wanted.starts_at = max(wanted.starts_at, now)
        self._items[wanted.id] = wanted
        return json_reply({"silenceID": wanted.id})


def _invalid_uuid(value: str) -> Reply:
    return json_reply({"code": 601, "message": f'silenceID in path must be of type uuid: "{value}"'}, 422)


def _parse_body(data: dict[str, Any]) -> tuple[list[Matcher], float, float] | Reply:
    for name in _REQUIRED:
        if data.get(name) in (None, ""):  # go-openapi's RequiredString rejects "" too
            return json_reply({"code": 602, "message": f"{name} in body is required"}, 422)
    raw_matchers = data["matchers"]
    if not isinstance(raw_matchers, list):
        return json_reply({"code": 400, "message": 'parsing silence body from "" failed, because matchers must be a list'}, 400)
    if not raw_matchers:
        return json_reply({"code": 612, "message": "matchers in body should have at least 1 items"}, 422)
    matchers: list[Matcher] = []
    for i, raw in enumerate(raw_matchers):
        if not isinstance(raw, dict):
            return json_reply({"code": 400, "message": 'parsing silence body from "" failed, because a matcher must be an object'}, 400)
        for name in _MATCHER_REQUIRED:
            if raw.get(name) is None:
                return json_reply({"code": 602, "message": f"matchers.{i}.{name} in body is required"}, 422)
        matchers.append(
            Matcher(
                name=str(raw["name"]),
                value=str(raw["value"]),
                is_regex=bool(raw["isRegex"]),
                is_equal=bool(raw.get("isEqual", True)),
            )
        )
    times = []
    for name in ("startsAt", "endsAt"):
        try:
            times.append(parse_rfc3339(str(data[name])))
        except ValueError:
            return json_reply(
                {"code": 601, "message": f'{name} in body must be of type date-time: "{data[name]}"'}, 422
            )
    return matchers, times[0], times[1]


def _validate_matchers(matchers: list[Matcher]) -> str | None:
    """Alertmanager's ``validateSilence`` for matchers; the message without the prefix."""
    all_match_empty = True
    for i, m in enumerate(matchers):
        if not is_valid_label_name(m.name):
            return f'invalid label matcher {i}: invalid label name "{m.name}"'
        if m.is_regex:
            try:
                re.compile(m.value)
            except re.error as exc:
                return (
                    f'invalid label matcher {i}: invalid regular expression "{m.value}": '
                    f"error parsing regexp: {exc.msg}: `{m.value}`"
                )
        all_match_empty = all_match_empty and m.matches_value("")
    if all_match_empty:
        return "at least one matcher must not match the empty string"
    return None


def _same_matchers(a: list[Matcher], b: list[Matcher]) -> bool:
    key = lambda m: (m.name, m.value, m.is_regex, m.is_equal)
    return [key(m) for m in a] == [key(m) for m in b]


def _can_update(old: StoredSilence, new: StoredSilence, now: float) -> bool:
    """Alertmanager's ``canUpdate``: same matchers; active keeps its start; never expired ones."""
    if not _same_matchers(old.matchers, new.matchers):
        return False
    state = old.state(now)
    if state == "active":
        return round(old.starts_at, 3) == round(new.starts_at, 3) and new.ends_at >= now
    if state == "pending":
        return new.starts_at >= now
    return False
