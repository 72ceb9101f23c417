"""Silences: pure builders (matchers, durations, specs, previews) and the audited writes.

Silences built from an alert use exact ``=`` matchers for its labels; a regex only appears
when the user types ``=~``/``!~`` in the editable matcher line. Times come from the
Alertmanager's clock (``Date`` header, SECURITY.md R4.6). After a POST the silence is read
back with GET and checked (R4.7); an edit records the old and the new ID.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from oncall_tui.actions.core import ActionError, ActionRunner, Preview
from oncall_tui.clients.alertmanager import AlertmanagerClient
from oncall_tui.clients.errors import BackendError
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.models.alertmanager import InvalidSilence, Matcher, Silence, SilenceSpec

log = logging.getLogger(__name__)

__all__ = [
    "ACK_DURATION",
    "DEFAULT_SKIP_LABELS",
    "DURATION_PRESETS",
    "MAX_DURATION",
    "MatcherSyntaxError",
    "ReadBackFailed",
    "UntilResolved",
    "ack",
    "ack_comment",
    "affected",
    "build_silence",
    "ensure_server_clock",
    "expire",
    "expiring_soon",
    "extend",
    "format_matchers",
    "matchers_from_labels",
    "parse_duration",
    "parse_matchers",
    "retry_failed",
    "silence",
    "silence_preview",
    "silence_target",
]

#: Labels never turned into matchers (Prometheus' ALERTS series bookkeeping).
DEFAULT_SKIP_LABELS: tuple[str, ...] = ("alertstate", "__name__")
DURATION_PRESETS: dict[str, timedelta] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
}
ACK_DURATION = timedelta(minutes=15)
MAX_DURATION = timedelta(days=30)

KIND_CREATE = "silence.create"
KIND_ACK = "silence.ack"
KIND_EXTEND = "silence.extend"
KIND_EXPIRE = "silence.expire"

_SILENCE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


class MatcherSyntaxError(InvalidSilence):
    """The matcher line could not be parsed; ``position`` is the 0-based column."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (column {position + 1})", field="matchers")
        self.position = position


class ReadBackFailed(ActionError):
    """The write happened but the silence could not be read back (or differs)."""

    def __init__(self, message: str, silence_id: str) -> None:
        super().__init__(message)
        self.silence_id = silence_id


# ----------------------------------------------------------------------- matchers --
def matchers_from_labels(
    labels: Mapping[str, str], *, skip: Iterable[str] = DEFAULT_SKIP_LABELS
) -> list[Matcher]:
    """Exact ``name="value"`` matchers for an alert's labels (``alertname`` first).

    Skips ``skip`` and empty values (an empty label is an absent label).
    """
    skipped = set(skip)
    names = sorted(n for n, v in labels.items() if n not in skipped and v != "")
    names.sort(key=lambda n: n != "alertname")
    return [Matcher.exact(n, labels[n]) for n in names]


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_value(value: str) -> str:
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _needs_u_escape(ch):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def _needs_u_escape(ch: str) -> bool:
    # Controls, DEL, C1, surrogates, and the bidi/invisible characters sanitize marks.
    return sanitize_for_display(ch) != ch


def format_matchers(matchers: Sequence[Matcher]) -> str:
    """The editable line: ``alertname="X", service=~"llm-.*"``; round-trips through :func:`parse_matchers`.

    Quotes, backslashes and newlines are escaped; other control and invisible characters
    appear as ``\\uXXXX``, so the line holds nothing a terminal interprets.
    """
    return ", ".join(f'{m.name}{m.operator}"{_escape_value(m.value)}"' for m in matchers)


_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("=~", "!~", "!=", "=")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")


def parse_matchers(text: str) -> list[Matcher]:
    """Parse ``name="value", other=~"re.*"`` (optionally in ``{}``); operators ``= != =~ !~``.

    Values must be double-quoted; escapes ``\\\\ \\" \\n \\t \\r \\uXXXX``. Raw control or
    invisible characters are refused (write them escaped). Raises :class:`MatcherSyntaxError`.
    """
    s = text.strip()
    offset = len(text) - len(text.lstrip())
    if s.startswith("{"):
        if not s.endswith("}"):
            raise MatcherSyntaxError("'{' without a closing '}'", offset + len(s))
        s, offset = s[1:-1], offset + 1
    matchers: list[Matcher] = []
    i, n = 0, len(s)

    def err(message: str, at: int) -> MatcherSyntaxError:
        return MatcherSyntaxError(f"matcher {len(matchers) + 1}: {message}", offset + at)

    def skip_ws(at: int) -> int:
        while at < n and s[at] in " \t":
            at += 1
        return at

    i = skip_ws(i)
    if i == n:
        raise MatcherSyntaxError('no matchers: expected name="value"', offset)
    while True:
        m = _NAME_RE.match(s, i)
        if not m:
            raise err("expected a label name ([A-Za-z_][A-Za-z0-9_]*)", i)
        name, i = m.group(), skip_ws(m.end())
        op = next((o for o in _OPERATORS if s.startswith(o, i)), None)
        if op is None:
            raise err(f"expected one of = != =~ !~ after {name}", i)
        i = skip_ws(i + len(op))
        if i >= n or s[i] != '"':
            raise err(f'the value of {name} must be in double quotes, e.g. {name}{op}"value"', i)
        value, i = _parse_quoted(s, i, err)
        matcher = Matcher(name=name, value=value, is_regex="~" in op, is_equal=not op.startswith("!"))
        if matcher.is_regex:
            try:
                matcher.matches_value("")
            except re.error as exc:
                raise err(f"invalid regular expression for {name}: {exc.msg}", i) from None
        matchers.append(matcher)
        i = skip_ws(i)
        if i == n:
            return matchers
        if s[i] != ",":
            raise err("expected ',' between matchers", i)
        i = skip_ws(i + 1)
        if i == n:
            raise err("expected a matcher after ','", i)


def _parse_quoted(s: str, start: int, err: Any) -> tuple[str, int]:
    """The value of the quoted string at ``s[start] == '"'`` and the index after it."""
    out: list[str] = []
    i = start + 1
    while i < len(s):
        ch = s[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\":
            nxt = s[i + 1 : i + 2]
            if nxt in ('"', "\\"):
                out.append(nxt)
            elif nxt in ("n", "t", "r"):
                out.append({"n": "\n", "t": "\t", "r": "\r"}[nxt])
            elif nxt == "u" and _HEX4.fullmatch(s, i + 2, i + 6):
                out.append(chr(int(s[i + 2 : i + 6], 16)))
                i += 6
                continue
            else:
                raise err('unknown escape; use \\\\, \\", \\n, \\t, \\r or \\uXXXX', i)
            i += 2
            continue
        if _needs_u_escape(ch):
            raise err(
                f"raw control or invisible character U+{ord(ch):04X} in a value; write it as \\u{ord(ch):04x}",
                i,
            )
        out.append(ch)
        i += 1
    raise err("unterminated quoted value", start)


def silence_target(matchers: Sequence[Matcher]) -> str:
    """What a silence is "about", for audit and typed confirmation: the alertname, else the matchers."""
    for m in matchers:
        if m.name == "alertname" and m.operator == "=" and m.value:
            return m.value
    return format_matchers(matchers)


# ---------------------------------------------------------------------- durations --
_DURATION_RE = re.compile(r"(?:(\d{1,6})w)?(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,7})m)?(?:(\d{1,9})s)?")


def parse_duration(text: str, *, maximum: timedelta = MAX_DURATION) -> timedelta:
    """``"90m"``, ``"2h30m"``, ``"1d"``, ``"1w2d"`` (units w d h m s, largest first) or a preset."""
    s = text.strip().lower()
    if s in DURATION_PRESETS:
        return DURATION_PRESETS[s]
    m = _DURATION_RE.fullmatch(s)
    if not s or m is None:
        raise InvalidSilence(
            "invalid duration: use e.g. 15m, 90m, 2h30m, 1d (units w d h m s, largest first)",
            field="ends_at",
        )
    w, d, h, mi, sec = (int(g) if g else 0 for g in m.groups())
    total = timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=sec)
    if total <= timedelta(0):
        raise InvalidSilence("the duration must be longer than zero", field="ends_at")
    if total > maximum:
        raise InvalidSilence(f"the duration must be at most {_fmt_td(maximum)}", field="ends_at")
    return total


def _fmt_td(td: timedelta) -> str:
    secs = int(td.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size:
            parts.append(f"{secs // size}{unit}")
            secs %= size
    return "".join(parts) or "0s"


# -------------------------------------------------------------------------- specs --
def build_silence(
    target: Mapping[str, str] | Sequence[Matcher],
    duration: timedelta | str,
    created_by: str,
    comment: str,
    *,
    now_server: datetime,
    ticket_pattern: str | None = None,
    max_duration: timedelta = MAX_DURATION,
) -> SilenceSpec:
    """A validated spec from an alert's labels (exact matchers) or edited matchers.

    Starts at ``now_server`` (the Alertmanager's clock: ``client.server_now()``) and ends
    ``duration`` later. The comment is required; with ``ticket_pattern`` it must contain a
    match. Raises :class:`InvalidSilence` naming the offending field.
    """
    if now_server.tzinfo is None:
        raise ValueError("now_server must be timezone-aware")
    matchers = matchers_from_labels(target) if isinstance(target, Mapping) else list(target)
    if isinstance(duration, str):
        duration = parse_duration(duration, maximum=max_duration)
    elif duration <= timedelta(0) or duration > max_duration:
        raise InvalidSilence(f"the duration must be between 0 and {_fmt_td(max_duration)}", field="ends_at")
    comment, created_by = comment.strip(), created_by.strip()
    if not comment:
        raise InvalidSilence("a comment is required (why is this silenced?)", field="comment")
    if ticket_pattern and not re.search(ticket_pattern, comment):
        raise InvalidSilence(
            f"the comment must reference a ticket (pattern {sanitize_for_display(ticket_pattern)})",
            field="comment",
        )
    spec = SilenceSpec(
        matchers=matchers,
        starts_at=now_server,
        ends_at=now_server + duration,
        created_by=created_by,
        comment=comment,
    )
    return spec.validate_spec(now=now_server)


def ack_comment(user: str) -> str:
    """The default comment of an ack."""
    return f"ack by {user} via oncall-tui"


def affected(
    spec: SilenceSpec | Silence, alerts: Iterable[Any], *, include_pending: bool = False
) -> list[Any]:
    """The alerts a silence would mute ("affects N firing alerts"): AmAlert, TriageAlert or label dicts."""
    out = []
    for alert in alerts:
        if not include_pending and getattr(alert, "state", None) == "pending":
            continue
        labels = alert if isinstance(alert, Mapping) else alert.labels
        if spec.matches(labels):
            out.append(alert)
    return out


def _api_url(am: AlertmanagerClient, path: str) -> str:
    return am.base_url.rstrip("/") + path


def silence_preview(am: AlertmanagerClient, spec: SilenceSpec, *, update_of: str | None = None) -> Preview:
    """The exact request: ``POST /api/v2/silences`` with the body (``id`` when updating)."""
    body = spec.model_copy(update={"id": update_of}).to_api()
    verb = f"update silence {update_of}" if update_of else "create silence"
    summary = (
        f"{verb}: {format_matchers(spec.matchers)} for {_fmt_td(spec.ends_at - spec.starts_at)} "
        f"until {spec.ends_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    return Preview.http("POST", _api_url(am, "/api/v2/silences"), body, summary=summary)


# ---------------------------------------------------------------- audited writes --
async def ensure_server_clock(am: AlertmanagerClient) -> datetime:
    """``am.server_now()``, after one cheap GET if the clock skew is not known yet."""
    if am.clock_skew is None:
        try:
            await am.request("GET", "/api/v2/status", idempotent=True)
        except BackendError as exc:
            log.warning("could not read the Alertmanager clock; using the local one: %s", exc)
    return am.server_now()


def _extra(am: AlertmanagerClient, fingerprints: Sequence[str] = ()) -> dict[str, Any]:
    extra: dict[str, Any] = {"endpoint": am.base_url, "clock_skew_s": am.clock_skew}
    if fingerprints:
        extra["alert_fingerprints"] = list(fingerprints)
    return extra


def _key(matchers: Iterable[Matcher]) -> frozenset[tuple[str, str, bool, bool]]:
    return frozenset((m.name, m.value, m.is_regex, m.is_equal) for m in matchers)


async def _read_back(am: AlertmanagerClient, silence_id: str, spec: SilenceSpec) -> Silence:
    try:
        stored = await am.silence(silence_id)
    except BackendError as exc:
        raise ReadBackFailed(
            f"silence {silence_id} was written but reading it back failed: {exc}", silence_id
        ) from None
    if _key(stored.matchers) != _key(spec.matchers):
        raise ReadBackFailed(
            f"silence {silence_id} was stored with other matchers than were sent; check it", silence_id
        )
    return stored


def _check_id(silence_id: str) -> str:
    if not _SILENCE_ID.fullmatch(silence_id or ""):
        raise ActionError("invalid silence ID")
    return silence_id


async def silence(
    runner: ActionRunner,
    am: AlertmanagerClient,
    spec: SilenceSpec,
    *,
    fingerprints: Sequence[str] = (),
    kind: str = KIND_CREATE,
) -> Silence:
    """Create the silence (POST, audited), read it back with GET and return it."""
    runner.check_allowed()
    create = spec.model_copy(update={"id": None}).validate_spec()
    preview = silence_preview(am, create)
    silence_id = await runner.run(
        kind,
        silence_target(create.matchers),
        preview,
        lambda: am.create_silence(create),
        payload={"spec": preview.body},
        extra=_extra(am, fingerprints),
        outcome=lambda sid: {"detail": f"silence {sid} created", "silence_id": sid},
    )
    return await _read_back(am, silence_id, create)


async def ack(
    runner: ActionRunner,
    am: AlertmanagerClient,
    alert_labels: Mapping[str, str],
    *,
    user: str,
    duration: timedelta = ACK_DURATION,
    comment: str | None = None,
    fingerprint: str | None = None,
) -> Silence:
    """A short silence of exactly this alert (exact matchers), on the server's clock."""
    runner.check_allowed()
    now = await ensure_server_clock(am)
    spec = build_silence(alert_labels, duration, user, comment or ack_comment(user), now_server=now)
    return await silence(runner, am, spec, fingerprints=[fingerprint] if fingerprint else (), kind=KIND_ACK)


async def expire(runner: ActionRunner, am: AlertmanagerClient, silence_id: str) -> None:
    """Expire a silence (DELETE, audited)."""
    runner.check_allowed()
    sid = _check_id(silence_id)
    preview = Preview.http("DELETE", _api_url(am, f"/api/v2/silence/{sid}"), summary=f"expire silence {sid}")
    await runner.run(
        KIND_EXPIRE,
        sid,
        preview,
        lambda: am.expire_silence(sid),
        payload={"silence_id": sid},
        extra=_extra(am),
        outcome=lambda _: {"detail": f"silence {sid} expired", "silence_id": sid},
    )


def extended_spec(existing: Silence, by: timedelta, *, now_server: datetime) -> SilenceSpec:
    """The update body that moves ``endsAt`` ``by`` later (from now if already ended)."""
    if by <= timedelta(0):
        raise InvalidSilence("extend by a positive duration", field="ends_at")
    base = max(existing.ends_at, now_server)
    starts = existing.starts_at if existing.status.state != "expired" else now_server
    spec = existing.to_spec().model_copy(update={"ends_at": base + by, "starts_at": starts})
    return spec.validate_spec(now=now_server)


async def extend(runner: ActionRunner, am: AlertmanagerClient, existing: Silence, by: timedelta) -> Silence:
    """Move a silence's end later (POST with its ID); records the old and the new ID."""
    runner.check_allowed()
    old_id = _check_id(existing.id)
    now = await ensure_server_clock(am)
    spec = extended_spec(existing, by, now_server=now)
    preview = silence_preview(am, spec, update_of=old_id)
    new_id = await runner.run(
        KIND_EXTEND,
        silence_target(spec.matchers),
        preview,
        lambda: am.update_silence(old_id, spec),
        payload={"silence_id": old_id, "spec": preview.body},
        extra=_extra(am),
        outcome=lambda nid: {
            "detail": f"silence {old_id} extended as {nid}",
            "old_id": old_id,
            "new_id": nid,
        },
    )
    return await _read_back(am, new_id, spec)


async def retry_failed(
    runner: ActionRunner, am: AlertmanagerClient, record: Mapping[str, Any]
) -> Silence | None:
    """Retry a failed silence write from :meth:`AuditLog.failed` with its kept payload.

    A create is re-based on the server's clock (same duration) and skipped when an identical
    active silence already exists (the first POST may have landed before the error).
    """
    runner.check_allowed()
    kind, payload = record.get("kind"), record.get("payload") or {}
    if kind in (KIND_CREATE, KIND_ACK):
        spec = SilenceSpec.model_validate(payload["spec"])
        now = await ensure_server_clock(am)
        if spec.starts_at < now:
            spec = spec.model_copy(
                update={"starts_at": now, "ends_at": now + (spec.ends_at - spec.starts_at)}
            )
        spec.validate_spec(now=now)

        async def create(_: Any) -> str:
            for s in await am.silences():
                if (
                    s.status.state in ("active", "pending")
                    and _key(s.matchers) == _key(spec.matchers)
                    and (s.created_by, s.comment) == (spec.created_by, spec.comment)
                ):
                    return s.id
            return await am.create_silence(spec)

        sid = await runner.retry(
            record,
            create,
            preview=silence_preview(am, spec),
            outcome=lambda i: {"detail": f"silence {i} created", "silence_id": i},
        )
        return await _read_back(am, sid, spec)
    if kind == KIND_EXTEND:
        old_id = _check_id(str(payload["silence_id"]))
        spec = SilenceSpec.model_validate(payload["spec"])
        new_id = await runner.retry(
            record,
            lambda _: am.update_silence(old_id, spec),
            preview=silence_preview(am, spec, update_of=old_id),
            outcome=lambda nid: {
                "detail": f"silence {old_id} extended as {nid}",
                "old_id": old_id,
                "new_id": nid,
            },
        )
        return await _read_back(am, new_id, spec)
    if kind == KIND_EXPIRE:
        sid = _check_id(str(payload["silence_id"]))
        await runner.retry(record, lambda _: am.expire_silence(sid))
        return None
    raise ActionError(f"cannot retry a {sanitize_for_display(str(kind))} action here")


# ------------------------------------------------------------------------ helpers --
def expiring_soon(
    silences: Iterable[Silence],
    *,
    created_by: str,
    within: timedelta = timedelta(minutes=10),
    now: datetime,
) -> list[tuple[Silence, timedelta]]:
    """Your active silences that end within ``within``, soonest first, with the time left."""
    out = []
    for s in silences:
        left = s.ends_at - now
        if s.status.state == "active" and s.created_by == created_by and timedelta(0) < left <= within:
            out.append((s, left))
    out.sort(key=lambda pair: pair[1])
    return out


def _is_firing(alert: Any, now: datetime | None) -> bool:
    if getattr(alert, "state", None) == "pending":
        return False
    ends_at = getattr(alert, "ends_at", None)
    return not (now is not None and ends_at is not None and ends_at <= now)


@dataclass
class UntilResolved:
    """Expire a silence once none of its alerts fire (checked on each successful refresh).

    ``confirmations`` consecutive refreshes without a matching firing alert are needed, so
    one flap or a refresh racing the rule evaluation does not end the silence early.
    """

    silence_id: str
    matchers: list[Matcher]
    confirmations: int = 2
    _quiet: int = field(default=0, init=False, repr=False)

    def firing(self, current_alerts: Iterable[Any], *, now: datetime | None = None) -> list[Any]:
        """The currently firing alerts this silence covers (silenced ones included)."""
        return [
            a
            for a in current_alerts
            if _is_firing(a, now)
            and all(m.matches(a if isinstance(a, Mapping) else a.labels) for m in self.matchers)
        ]

    def should_expire(self, current_alerts: Iterable[Any], *, now: datetime | None = None) -> bool:
        """True once none of its alerts has fired for ``confirmations`` refreshes in a row."""
        if self.firing(current_alerts, now=now):
            self._quiet = 0
            return False
        self._quiet += 1
        return self._quiet >= self.confirmations
