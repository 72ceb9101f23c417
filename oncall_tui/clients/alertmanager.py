"""Typed async client for the Alertmanager API v2, as recorded from Alertmanager 0.25.

Bodies are decoded straight from bytes into typed models (``oncall_tui.models.alertmanager``,
msgspec); a body of the wrong shape is a ``MalformedResponse`` naming the field.

Reads retry like every read; writes (create/update/expire silence) never do: a retried POST
can create a duplicate silence. Callers (``oncall_tui.actions``) own confirmation and audit.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

from oncall_tui.clients.http import ApiClient, ApiResponse
from oncall_tui.models.alertmanager import (
    AlertGroup,
    AmAlert,
    AmStatus,
    Matcher,
    Receiver,
    Silence,
    SilenceSpec,
    parse_alert_groups,
    parse_alerts,
    parse_am_error,
    parse_am_status,
    parse_post_silence_response,
    parse_receivers,
    parse_silence,
    parse_silences,
)
from oncall_tui.models.common import ElementCache

Filter = str | Matcher


def _filters(filters: Sequence[Filter]) -> list[str]:
    return [str(f) for f in filters]


def _flag(value: bool) -> str:
    return "true" if value else "false"


class AlertmanagerClient(ApiClient):
    """alerts, alert groups, silences (list/get/create/update/expire), status, receivers."""

    source = "alertmanager"

    # ------------------------------------------------------------------- alerts --
    async def alerts(
        self,
        filters: Sequence[Filter] = (),
        *,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        unprocessed: bool = True,
        receiver: str | None = None,
    ) -> list[AmAlert]:
        """Alerts matching every filter (``name="v"``, ``=~``, ``!=``, ``!~``)."""
        params = self._alert_params(filters, active, silenced, inhibited, unprocessed, receiver)
        if params != _ALL_ALERTS:
            return await self._read("/api/v2/alerts", params, parse_alerts)
        # Every refresh asks for all of them: an alert whose JSON did not change keeps its model.
        cache = self.__dict__.get("_alerts_cache")
        if cache is None:
            cache = self._alerts_cache = ElementCache()
        return await self._read("/api/v2/alerts", params, functools.partial(parse_alerts, cache=cache))

    async def alert_groups(
        self,
        filters: Sequence[Filter] = (),
        *,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        receiver: str | None = None,
    ) -> list[AlertGroup]:
        params = self._alert_params(filters, active, silenced, inhibited, None, receiver)
        return await self._read("/api/v2/alerts/groups", params, parse_alert_groups)

    @staticmethod
    def _alert_params(
        filters: Sequence[Filter],
        active: bool,
        silenced: bool,
        inhibited: bool,
        unprocessed: bool | None,
        receiver: str | None,
    ) -> list[tuple[str, str]]:
        params = [("filter", f) for f in _filters(filters)]
        params += [("active", _flag(active)), ("silenced", _flag(silenced)), ("inhibited", _flag(inhibited))]
        if unprocessed is not None:
            params.append(("unprocessed", _flag(unprocessed)))
        if receiver:
            params.append(("receiver", receiver))
        return params

    # ----------------------------------------------------------------- silences --
    async def silences(self, filters: Sequence[Filter] = ()) -> list[Silence]:
        params = [("filter", f) for f in _filters(filters)]
        return await self._read("/api/v2/silences", params or None, parse_silences)

    async def silence(self, silence_id: str) -> Silence:
        return await self._read(f"/api/v2/silence/{_check_id(silence_id)}", None, parse_silence)

    async def create_silence(self, spec: SilenceSpec) -> str:
        """POST a new silence (never retried); returns its ID."""
        spec.validate_spec()
        body = spec.model_copy(update={"id": None}).to_api()
        return await self._post_silence(body)

    async def update_silence(self, silence_id: str, spec: SilenceSpec) -> str:
        """POST the silence with its ID; Alertmanager may answer with a new ID (record both)."""
        spec.validate_spec()
        body = spec.model_copy(update={"id": _check_id(silence_id)}).to_api()
        return await self._post_silence(body)

    async def expire_silence(self, silence_id: str) -> None:
        """DELETE expires a silence (it stays listed as ``expired``). Never retried."""
        await self.request("DELETE", f"/api/v2/silence/{_check_id(silence_id)}", idempotent=False)

    async def _post_silence(self, body: dict[str, Any]) -> str:
        response = await self.request("POST", "/api/v2/silences", json_body=body, idempotent=False)
        return (await self.decode_typed(response, parse_post_silence_response)).silence_id

    # ------------------------------------------------------------------- status --
    async def status(self) -> AmStatus:
        return await self._read("/api/v2/status", None, parse_am_status)

    async def receivers(self) -> list[Receiver]:
        return await self._read("/api/v2/receivers", None, parse_receivers)

    # ----------------------------------------------------------------- plumbing --
    async def _read(self, path: str, params: Any, parse: Callable[[bytes], Any]) -> Any:
        """GET and decode: ``parse`` takes the body's bytes (see ``ApiClient.decode_typed``)."""
        response = await self.request("GET", path, params=params, idempotent=True)
        return await self.decode_typed(response, parse)

    def error_details(self, response: ApiResponse) -> tuple[str, str | None]:
        # Two shapes: {"code": 602, "message": ...} (422) and a bare JSON string (400/500).
        if response.body.strip():
            try:
                code, message = parse_am_error(json.loads(response.body))
            except (ValueError, TypeError):
                pass
            else:
                return message, (f"code {code}" if code is not None else None)
        return super().error_details(response)


def _check_id(silence_id: str) -> str:
    """Silence IDs are UUIDs; refuse anything that could change the request path."""
    if not silence_id or any(c in silence_id for c in "/?#%") or len(silence_id) > 64:
        raise ValueError(f"invalid silence ID {silence_id!r}")
    return silence_id


#: The parameters of an unfiltered ``alerts()`` (what every refresh asks for).
_ALL_ALERTS = AlertmanagerClient._alert_params((), True, True, True, True, None)
