"""Models of the Alertmanager API v2, as served by Alertmanager 0.25.

Shapes follow ``shared/fixtures/alertmanager``. :class:`SilenceSpec` is the write side: it
builds the exact POST ``/api/v2/silences`` body and checks it client-side the way
Alertmanager's ``validateSilence`` does (SECURITY.md R4.7), plus non-empty ``createdBy`` and
``comment``.

Responses are decoded from bytes by msgspec into wire structs (bottom of this module), then
built into these (pydantic) models without validating twice; ``Model.model_validate`` still
works for data from elsewhere (forms, tests, the audit log).
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from pydantic import AwareDatetime, Field, ValidationError

from oncall_tui.models.common import (
    ApiModel,
    BuildInfo,
    ElementCache,
    LabelSet,
    Wire,
    WireBuildInfo,
    build_model,
    buildinfo_from_wire,
    decode_wire,
    format_rfc3339_ms,
    is_valid_label_name,
    paused_for,
    set_extra,
    set_fields_set,
    set_private,
)

__all__ = [
    "AlertGroup",
    "AlertStatus",
    "AmAlert",
    "AmConfig",
    "AmErrorBody",
    "AmStatus",
    "ClusterStatus",
    "InvalidSilence",
    "Matcher",
    "PostSilenceResponse",
    "Receiver",
    "Silence",
    "SilenceSpec",
    "SilenceStatus",
    "VersionInfo",
    "parse_alert_groups",
    "parse_alerts",
    "parse_am_error",
    "parse_am_status",
    "parse_post_silence_response",
    "parse_receivers",
    "parse_silence",
    "parse_silences",
]


class InvalidSilence(ValueError):
    """A silence Alertmanager would reject (or that we refuse to send).

    ``field`` names the offending :class:`SilenceSpec` field (``"matchers"``, ``"ends_at"``,
    ``"created_by"``, ``"comment"``) so a form can focus it. Messages never quote values.
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    """Compile an Alertmanager regex (anchored by ``fullmatch``); raises ``re.error``.

    Python ``re`` approximates Go RE2: it accepts a few things RE2 rejects (backreferences,
    lookaround) and rejects a few RE2 spellings (``\\z``).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FutureWarning for "[[:alpha:]]"-like sets
        return re.compile(f"(?:{pattern})")


def _openmetrics_escape(value: str) -> str:
    """Escape ``\\``, newline and ``"`` exactly as Alertmanager's ``Matcher.String()`` does."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Matcher(ApiModel):
    """A label matcher: ``isEqual: false`` negates; ``isRegex``: ``value`` is an anchored regex."""

    name: str
    value: str
    is_regex: bool
    is_equal: bool = True

    @classmethod
    def exact(cls, name: str, value: str) -> Matcher:
        """An ``name="value"`` matcher (what silences built from an alert's labels use)."""
        return cls(name=name, value=value, is_regex=False, is_equal=True)

    @property
    def operator(self) -> Literal["=", "!=", "=~", "!~"]:
        """``=``, ``!=``, ``=~`` or ``!~``."""
        if self.is_regex:
            return "=~" if self.is_equal else "!~"
        return "=" if self.is_equal else "!="

    def __str__(self) -> str:
        """Alertmanager filter syntax: ``name="value"``, ``name=~"regex"`` (value escaped)."""
        return f'{self.name}{self.operator}"{_openmetrics_escape(self.value)}"'

    def matches_value(self, value: str) -> bool:
        """Whether a label value (``""`` if absent) satisfies this matcher; ``re.error`` if bad."""
        if self.is_regex:
            hit = _compile(self.value).fullmatch(value) is not None
        else:
            hit = value == self.value
        return hit if self.is_equal else not hit

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies this matcher (a missing label counts as ``""``)."""
        return self.matches_value(labels.get(self.name, ""))

    def to_api(self) -> dict[str, Any]:
        """The JSON object Alertmanager expects in a POST body."""
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": self.is_regex,
            "isEqual": self.is_equal,
        }


class Receiver(ApiModel):
    """A receiver reference, ``{"name": ...}``."""

    name: str


class AlertStatus(ApiModel):
    """An alert's status: ``silenced_by`` holds silence IDs, ``inhibited_by`` alert fingerprints."""

    state: Literal["active", "suppressed", "unprocessed"]
    silenced_by: list[str] = []
    inhibited_by: list[str] = []

    @property
    def is_silenced(self) -> bool:
        """True if at least one silence mutes the alert."""
        return bool(self.silenced_by)

    @property
    def is_inhibited(self) -> bool:
        """True if at least one other alert inhibits this one."""
        return bool(self.inhibited_by)


class AmAlert(ApiModel):
    """An alert from ``/api/v2/alerts``; carries Prometheus' external labels (``cluster``).

    ``starts_at`` is when it started firing; firing alerts have an ``ends_at`` in the future.
    """

    labels: LabelSet
    annotations: LabelSet = {}
    starts_at: datetime
    ends_at: datetime
    updated_at: datetime
    fingerprint: str
    receivers: list[Receiver]
    status: AlertStatus
    generator_url: str | None = Field(default=None, alias="generatorURL")

    @property
    def alertname(self) -> str:
        """The ``alertname`` label, or ``""``."""
        return self.labels.get("alertname", "")

    @property
    def is_silenced(self) -> bool:
        """Shortcut for ``status.is_silenced``."""
        return self.status.is_silenced

    @property
    def is_inhibited(self) -> bool:
        """Shortcut for ``status.is_inhibited``."""
        return self.status.is_inhibited


class AlertGroup(ApiModel):
    """One group from ``/api/v2/alerts/groups``: only the ``group_by`` labels the alerts have."""

    labels: LabelSet
    receiver: Receiver
    alerts: list[AmAlert]


class SilenceStatus(ApiModel):
    """``active``, ``pending`` (starts in the future) or ``expired``."""

    state: Literal["active", "pending", "expired"]


class Silence(ApiModel):
    """A silence from ``/api/v2/silences`` or ``/api/v2/silence/{id}``."""

    id: str
    status: SilenceStatus
    updated_at: datetime
    comment: str
    created_by: str
    starts_at: datetime
    ends_at: datetime
    matchers: list[Matcher]

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether all matchers match the label set (ignores state and time range)."""
        return all(m.matches(labels) for m in self.matchers)

    def to_spec(self) -> SilenceSpec:
        """A :class:`SilenceSpec` that updates this silence in place when posted (``id`` set)."""
        return SilenceSpec(
            matchers=self.matchers,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            created_by=self.created_by,
            comment=self.comment,
            id=self.id,
        )


class SilenceSpec(ApiModel):
    """A silence to POST to ``/api/v2/silences``; with ``id`` set it updates that silence.

    Times must be timezone-aware. Call :meth:`validate_spec` (``to_api`` does by default).
    """

    matchers: list[Matcher]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    created_by: str = ""
    comment: str = ""
    id: str | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether all matchers match the label set (for an "affects N alerts" preview)."""
        return all(m.matches(labels) for m in self.matchers)

    def validate_spec(self, *, now: datetime | None = None) -> SilenceSpec:
        """Check what Alertmanager's ``validateSilence`` checks; return ``self`` or raise.

        Rules: at least one matcher; each name a valid label name, each value valid UTF-8,
        each regex compiles; at least one matcher does not match the empty string;
        ``ends_at`` after ``starts_at`` (and after ``now`` when given); ``created_by`` and
        ``comment`` non-blank. Raises :class:`InvalidSilence`.
        """
        if not self.matchers:
            raise InvalidSilence("at least one matcher required", field="matchers")
        all_match_empty = True
        for i, m in enumerate(self.matchers):
            if not is_valid_label_name(m.name):
                raise InvalidSilence(
                    f"invalid label matcher {i}: invalid label name", field="matchers"
                )
            try:
                m.value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidSilence(
                    f"invalid label matcher {i} ({m.name}): value is not valid UTF-8",
                    field="matchers",
                ) from None
            if m.is_regex:
                try:
                    _compile(m.value)
                except re.error as exc:
                    raise InvalidSilence(
                        f"invalid label matcher {i} ({m.name}): invalid regular expression: "
                        f"{exc.msg}",
                        field="matchers",
                    ) from None
            all_match_empty = all_match_empty and m.matches_value("")
        if all_match_empty:
            raise InvalidSilence(
                "at least one matcher must not match the empty string", field="matchers"
            )
        if self.ends_at <= self.starts_at:
            raise InvalidSilence("start time must be before end time", field="ends_at")
        if now is not None and self.ends_at <= now:
            raise InvalidSilence("end time can't be in the past", field="ends_at")
        if not self.created_by.strip():
            raise InvalidSilence("createdBy is required", field="created_by")
        if not self.comment.strip():
            raise InvalidSilence("comment is required", field="comment")
        return self

    def to_api(self, *, validate: bool = True) -> dict[str, Any]:
        """The exact POST body: camelCase, times ``2026-11-22T05:34:51.320Z``, ``id`` only if set.

        Validates first unless ``validate=False``.
        """
        if validate:
            self.validate_spec()
        body: dict[str, Any] = {
            "matchers": [m.to_api() for m in self.matchers],
            "startsAt": format_rfc3339_ms(self.starts_at),
            "endsAt": format_rfc3339_ms(self.ends_at),
            "createdBy": self.created_by,
            "comment": self.comment,
        }
        if self.id:
            body["id"] = self.id
        return body


class PostSilenceResponse(ApiModel):
    """Answer to POST ``/api/v2/silences``: only the (new or kept) ID."""

    silence_id: str = Field(alias="silenceID")


class ClusterStatus(ApiModel):
    """``cluster`` of ``/api/v2/status``; ``status`` is ``"disabled"`` without clustering."""

    status: str
    peers: list[dict[str, Any]] = []


class AmConfig(ApiModel):
    """``config`` of ``/api/v2/status``: the loaded YAML with defaults filled in."""

    original: str


#: ``versionInfo`` of ``/api/v2/status`` has the same fields as Prometheus' buildinfo.
VersionInfo = BuildInfo


class AmStatus(ApiModel):
    """``/api/v2/status``; ``uptime`` is the start timestamp, not a duration."""

    cluster: ClusterStatus
    config: AmConfig
    uptime: datetime
    version_info: VersionInfo


class AmErrorBody(ApiModel):
    """OpenAPI validation error (HTTP 422): ``{"code": 602, "message": "..."}``."""

    code: int
    message: str


def parse_am_error(data: Any) -> tuple[int | None, str]:
    """``(code, message)`` from either Alertmanager error shape.

    Object ``{"code", "message"}`` (HTTP 422) -> ``(602, "...")``; bare JSON string
    (HTTP 400/500) -> ``(None, "...")``. Anything else is reduced to ``(None, str)``; never raises.
    """
    if data is None:
        return None, ""
    if isinstance(data, str):
        return None, data
    if isinstance(data, Mapping):
        try:
            body = AmErrorBody.model_validate(data)
        except ValidationError:
            code = data.get("code")
            msg = data.get("message", data.get("error"))
            return (
                code if isinstance(code, int) and not isinstance(code, bool) else None,
                "" if msg is None else str(msg),
            )
        return body.code, body.message
    return None, str(data)


# --------------------------------------------------------------- response decoding --
# Wire structs: the JSON exactly as Alertmanager sends it, decoded from bytes by msgspec. Times
# are decoded by msgspec itself (RFC 3339, in C): Alertmanager's API writes them with
# milliseconds (go-openapi ``strfmt.DateTime``), so they are exact; a server writing more than
# six fractional digits would see them rounded to the microsecond, where Prometheus' times
# (``models.prometheus``, nanoseconds) are truncated like pydantic did. Fields with a default
# in the model are UNSET when absent, so the built models' ``model_fields_set`` is what
# pydantic would have recorded.


class _WReceiver(Wire):
    name: str


class _WAlertStatus(Wire):
    state: Literal["active", "suppressed", "unprocessed"]
    silenced_by: list[str] | UnsetType = UNSET
    inhibited_by: list[str] | UnsetType = UNSET


class _WAlert(Wire):
    labels: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    updated_at: datetime
    fingerprint: str
    receivers: list[_WReceiver]
    status: _WAlertStatus
    annotations: dict[str, str] | UnsetType = UNSET
    generator_url: str | None | UnsetType = msgspec.field(default=UNSET, name="generatorURL")


class _WAlertGroup(Wire):
    labels: dict[str, str]
    receiver: _WReceiver
    alerts: list[_WAlert]


class _WMatcher(Wire):
    name: str
    value: str
    is_regex: bool
    is_equal: bool | UnsetType = UNSET


class _WSilenceStatus(Wire):
    state: Literal["active", "pending", "expired"]


class _WSilence(Wire):
    id: str
    status: _WSilenceStatus
    updated_at: datetime
    comment: str
    created_by: str
    starts_at: datetime
    ends_at: datetime
    matchers: list[_WMatcher]


class _WPostSilenceResponse(Wire):
    silence_id: str = msgspec.field(name="silenceID")


class _WClusterStatus(Wire):
    status: str
    peers: list[dict[str, Any]] | UnsetType = UNSET


class _WAmConfig(Wire):
    original: str


class _WAmStatus(Wire):
    cluster: _WClusterStatus
    config: _WAmConfig
    uptime: datetime
    version_info: WireBuildInfo


_ALERTS_T = list[_WAlert]
_GROUPS_T = list[_WAlertGroup]
_SILENCES_T = list[_WSilence]
_RECEIVERS_T = list[_WReceiver]
_ALERTS = msgspec.json.Decoder(_ALERTS_T)
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_GROUPS = msgspec.json.Decoder(_GROUPS_T)
_SILENCES = msgspec.json.Decoder(_SILENCES_T)
_SILENCE = msgspec.json.Decoder(_WSilence)
_RECEIVERS = msgspec.json.Decoder(_RECEIVERS_T)
_POST_SILENCE = msgspec.json.Decoder(_WPostSilenceResponse)
_STATUS = msgspec.json.Decoder(_WAmStatus)

_ALERT_FIELDS = frozenset(
    {"labels", "starts_at", "ends_at", "updated_at", "fingerprint", "receivers", "status"}
)
_SILENCE_FIELDS = frozenset(
    {"id", "status", "updated_at", "comment", "created_by", "starts_at", "ends_at", "matchers"}
)
def _receiver(w: _WReceiver) -> Receiver:
    return build_model(Receiver, {"name": w.name}, {"name"})


def _alerts_from_wire(
    wires: list[_WAlert],
    _new: Any = object.__new__,
    _set: Any = object.__setattr__,
) -> list[AmAlert]:
    """Models from wire alerts: the hot path (5,000 alerts a refresh on a big fleet).

    :func:`build_model` inlined (same four slots) — it is a tenth of the cost here.
    """
    out = []
    append = out.append
    receivers: dict[str, Receiver] = {}  # frozen, one str each: shared by name
    get_receiver = receivers.get
    all_fields = _ALERT_FIELDS | {"annotations", "generator_url"}
    status_fields = frozenset({"state", "silenced_by", "inhibited_by"})
    for w in wires:
        wr = w.receivers
        if len(wr) == 1:  # the usual case
            r = wr[0]
            rec = get_receiver(r.name)
            if rec is None:
                rec = receivers[r.name] = _receiver(r)
            rs = [rec]
        else:
            rs = []
            for r in wr:
                rec = get_receiver(r.name)
                if rec is None:
                    rec = receivers[r.name] = _receiver(r)
                rs.append(rec)
        st = w.status
        silenced = st.silenced_by
        inhibited = st.inhibited_by
        if silenced is UNSET or inhibited is UNSET:
            st_fields = {"state"}
            if silenced is UNSET:
                silenced = []
            else:
                st_fields.add("silenced_by")
            if inhibited is UNSET:
                inhibited = []
            else:
                st_fields.add("inhibited_by")
        else:
            st_fields = set(status_fields)
        status = _new(AlertStatus)
        _set(status, "__dict__", {"state": st.state, "silenced_by": silenced, "inhibited_by": inhibited})
        set_fields_set(status, st_fields)
        set_extra(status, None)
        set_private(status, None)
        annotations = w.annotations
        url = w.generator_url
        if annotations is UNSET or url is UNSET:
            fields = set(_ALERT_FIELDS)
            if annotations is UNSET:
                annotations = {}
            else:
                fields.add("annotations")
            if url is UNSET:
                url = None
            else:
                fields.add("generator_url")
        else:
            fields = set(all_fields)
        alert = _new(AmAlert)
        _set(
            alert,
            "__dict__",
            {
                "labels": w.labels,
                "annotations": annotations,
                "starts_at": w.starts_at,
                "ends_at": w.ends_at,
                "updated_at": w.updated_at,
                "fingerprint": w.fingerprint,
                "receivers": rs,
                "status": status,
                "generator_url": url,
            },
        )
        set_fields_set(alert, fields)
        set_extra(alert, None)
        set_private(alert, None)
        append(alert)
    return out


def _matcher(w: _WMatcher) -> Matcher:
    fields = {"name", "value", "is_regex"}
    is_equal = w.is_equal
    if is_equal is UNSET:
        is_equal = True
    else:
        fields.add("is_equal")
    return build_model(
        Matcher,
        {"name": w.name, "value": w.value, "is_regex": w.is_regex, "is_equal": is_equal},
        fields,
    )


def _silence_from_wire(w: _WSilence) -> Silence:
    return build_model(
        Silence,
        {
            "id": w.id,
            "status": build_model(SilenceStatus, {"state": w.status.state}, {"state"}),
            "updated_at": w.updated_at,
            "comment": w.comment,
            "created_by": w.created_by,
            "starts_at": w.starts_at,
            "ends_at": w.ends_at,
            "matchers": [_matcher(m) for m in w.matchers],
        },
        set(_SILENCE_FIELDS),
    )


def parse_alerts(data: Any, *, cache: ElementCache | None = None) -> list[AmAlert]:
    """Parse GET ``/api/v2/alerts``: the body's bytes (or already-decoded JSON data).

    With ``cache`` (one per client: the last body's alerts), an alert whose JSON is unchanged
    since that body gets the same model object back; only the others are decoded and built.
    Raises :class:`ShapeError` (a ``ValueError`` naming the place, never a value).
    """
    with paused_for(data):
        if cache is not None and isinstance(data, bytes | bytearray | memoryview | msgspec.Raw):
            try:
                return cache.reuse(_RAW_LIST.decode(data), _build_alerts)
            except (msgspec.MsgspecError, ValueError, RecursionError):
                pass  # decoded again as a whole: the error names its place in this body
        return _alerts_from_wire(decode_wire(_ALERTS, _ALERTS_T, data))


def _build_alerts(body: bytes) -> list[AmAlert]:
    return _alerts_from_wire(decode_wire(_ALERTS, _ALERTS_T, body))


def parse_alert_groups(data: Any) -> list[AlertGroup]:
    """Parse GET ``/api/v2/alerts/groups`` (bytes or decoded data)."""
    with paused_for(data):
        wires = decode_wire(_GROUPS, _GROUPS_T, data)
        return [
            build_model(
                AlertGroup,
                {
                    "labels": g.labels,
                    "receiver": _receiver(g.receiver),
                    "alerts": _alerts_from_wire(g.alerts),
                },
                {"labels", "receiver", "alerts"},
            )
            for g in wires
        ]


def parse_silences(data: Any) -> list[Silence]:
    """Parse GET ``/api/v2/silences`` (bytes or decoded data)."""
    with paused_for(data):
        wires = decode_wire(_SILENCES, _SILENCES_T, data)
        return [_silence_from_wire(w) for w in wires]


def parse_silence(data: Any) -> Silence:
    """Parse GET ``/api/v2/silence/{id}`` (bytes or decoded data)."""
    return _silence_from_wire(decode_wire(_SILENCE, _WSilence, data))


def parse_receivers(data: Any) -> list[Receiver]:
    """Parse GET ``/api/v2/receivers`` (bytes or decoded data)."""
    return [_receiver(w) for w in decode_wire(_RECEIVERS, _RECEIVERS_T, data)]


def parse_post_silence_response(data: Any) -> PostSilenceResponse:
    """Parse the answer to POST ``/api/v2/silences`` (``{"silenceID": ...}``)."""
    w = decode_wire(_POST_SILENCE, _WPostSilenceResponse, data)
    return build_model(PostSilenceResponse, {"silence_id": w.silence_id}, {"silence_id"})


def parse_am_status(data: Any) -> AmStatus:
    """Parse GET ``/api/v2/status`` (bytes or decoded data)."""
    w = decode_wire(_STATUS, _WAmStatus, data)
    cluster_fields = {"status"}
    peers = w.cluster.peers
    if peers is UNSET:
        peers = []
    else:
        cluster_fields.add("peers")
    return build_model(
        AmStatus,
        {
            "cluster": build_model(
                ClusterStatus, {"status": w.cluster.status, "peers": peers}, cluster_fields
            ),
            "config": build_model(AmConfig, {"original": w.config.original}, {"original"}),
            "uptime": w.uptime,
            "version_info": buildinfo_from_wire(w.version_info),
        },
        {"cluster", "config", "uptime", "version_info"},
    )
