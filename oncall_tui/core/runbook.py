"""Markdown runbooks as data: blocks, runnable steps, links and their verdicts (no I/O, no UI).

A runbook is parsed into blocks (headings, paragraphs, lists, quotes, rules, fenced code).
Fenced blocks whose language is ``promql``, ``logql`` or ``sh`` (``bash``/``shell``) are
*steps*. Inline text is split into segments (plain, code, strong, emphasis, link) so the screen
can style it without ever parsing the runbook as Rich/Textual markup; every link is shown as
``text <url>`` and classified (SECURITY.md R1.6): only ``https:`` to an allow-listed host is
"allowed"; ``javascript:``, ``file:``, relative targets, IP literals, user-info and plain
``http:`` are "blocked". Nothing here opens a link.

Placeholders (``{labels.NAME}``, ``{service}``, ``{context}``) in query steps are filled in a
single pass with values checked by a validator (``actions.template.validate_value``); inside a
double-quoted PromQL/LogQL string ``\\`` and ``"`` are escaped, so a label value can never
close the string it sits in.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from oncall_tui.settings.actions import PLACEHOLDER

StepLang = Literal["promql", "logql", "sh"]
BlockKind = Literal["heading", "paragraph", "list", "quote", "rule", "code"]
SegmentKind = Literal["text", "code", "strong", "em", "link"]

#: Fence info-string languages that make a code block a step, and the step kind.
STEP_LANGS: dict[str, StepLang] = {
    "promql": "promql",
    "logql": "logql",
    "sh": "sh",
    "shell": "sh",
    "bash": "sh",
}
#: Longest runbook text parsed (bigger texts are cut with a marker by the fetcher first).
MAX_PARSE_CHARS = 2 * 1024 * 1024

_FENCE_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+")
_QUOTE = re.compile(r"^ {0,3}>[ \t]?")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")

# Inline: code spans, images/links ``[text](url "title")``, autolinks ``<scheme:...>``,
# bare ``https://`` / ``http://`` URLs, ``**strong**`` / ``__strong__``, ``*em*`` / ``_em_``.
_INLINE = re.compile(
    r"(?P<code>`+)(?P<codebody>.+?)(?P=code)"
    r"|(?P<img>!?)\[(?P<ltext>(?:[^\[\]\\]|\\.)*)\]\(\s*(?P<lurl><[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
    r"|<(?P<auto>[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>"
    r"|(?P<bare>\bhttps?://[^\s<>()\[\]]*[^\s<>()\[\].,;:!?'\"])"
    r"|(?P<strong>\*\*|__)(?P<strongbody>\S(?:.*?\S)?)(?P=strong)"
    r"|(?<![\w*])\*(?P<em>[^\s*](?:[^*]*?[^\s*])?)\*(?![\w*])"
)
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


# ------------------------------------------------------------------------- links --
@dataclass(frozen=True)
class LinkVerdict:
    """Whether a link target may be offered for opening, and why not."""

    allowed: bool
    reason: str = ""


def is_ip_literal(host: str) -> bool:
    """Whether ``host`` is an IPv4/IPv6 address in any spelling (``127.1``, ``0x7f.0.0.1``,
    ``2130706433``, ``[::1]``)."""
    h = host.strip("[]").split("%", 1)[0]
    if not h:
        return False
    try:
        ipaddress.ip_address(h)
        return True
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-FxX.]+", h) and not re.search(r"[g-wyzG-WYZ]", h):
        try:  # inet_aton accepts the short, octal, hex and integer IPv4 forms browsers accept
            socket.inet_aton(h)
            return True
        except OSError:
            return False
    return False


def normalize_host(host: str) -> str:
    """Lower-case, without a trailing dot."""
    return host.lower().rstrip(".")


def classify_link(url: str, allowed_hosts: Iterable[str] = ()) -> LinkVerdict:
    """Allowed only for ``https://`` to a host on the allow-list (exact match, no user-info,
    no IP literal); everything else is blocked with a reason to show."""
    raw = url.strip()
    if not raw:
        return LinkVerdict(False, "empty link")
    if re.search(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]", raw):
        return LinkVerdict(False, "control, space or invisible character in the link")
    scheme_match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", raw)
    if scheme_match is None:
        return LinkVerdict(False, "relative link (no https:// host)")
    scheme = scheme_match.group(1).lower()
    if scheme in ("javascript", "vbscript", "data", "file"):
        return LinkVerdict(False, f"{scheme}: link")
    if scheme == "http":
        return LinkVerdict(False, "not https")
    if scheme != "https":
        return LinkVerdict(False, f"{scheme}: link (only https is allowed)")
    try:
        parts = urlsplit(raw)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return LinkVerdict(False, "malformed URL")
    if "@" in parts.netloc:
        return LinkVerdict(False, "user-info in the URL (user@host)")
    if not host:
        return LinkVerdict(False, "no host")
    if is_ip_literal(host):
        return LinkVerdict(False, "IP-literal host")
    allowed = {normalize_host(h) for h in allowed_hosts}
    if normalize_host(host) not in allowed:
        return LinkVerdict(False, "host not allow-listed")
    return LinkVerdict(True)


# ------------------------------------------------------------------------ inline --
@dataclass(frozen=True)
class Segment:
    """A run of inline text. For links ``url`` and ``verdict`` are set; ``text`` is the label."""

    kind: SegmentKind
    text: str
    url: str = ""
    verdict: LinkVerdict | None = None
    image: bool = False


@dataclass(frozen=True)
class Link:
    """A link found in the runbook, with its verdict."""

    text: str
    url: str
    verdict: LinkVerdict
    image: bool = False


def _unescape(text: str) -> str:
    return _BACKSLASH_ESCAPE.sub(r"\1", text)


def parse_inline(text: str, allowed_hosts: Iterable[str] = ()) -> list[Segment]:
    """Split one block's text into segments; links are classified, never followed."""
    hosts = tuple(allowed_hosts)
    out: list[Segment] = []
    pos = 0

    def plain(s: str) -> None:
        if s:
            out.append(Segment("text", _unescape(s)))

    for m in _INLINE.finditer(text):
        if m.start() > 0 and text[m.start() - 1] == "\\" and m.group("code") is None:
            continue  # an escaped "[", "<" or "*": literal text
        plain(text[pos : m.start()])
        pos = m.end()
        if m.group("code") is not None:
            body = m.group("codebody")
            out.append(Segment("code", body.strip() if body.strip() else body))
        elif m.group("lurl") is not None:
            url = m.group("lurl")
            if url.startswith("<") and url.endswith(">"):
                url = url[1:-1]
            label = _unescape(m.group("ltext"))
            out.append(Segment("link", label, url, classify_link(url, hosts), image=bool(m.group("img"))))
        elif m.group("auto") is not None:
            url = m.group("auto")
            out.append(Segment("link", "", url, classify_link(url, hosts)))
        elif m.group("bare") is not None:
            url = m.group("bare")
            out.append(Segment("link", "", url, classify_link(url, hosts)))
        elif m.group("strong") is not None:
            out.append(Segment("strong", _unescape(m.group("strongbody"))))
        else:
            out.append(Segment("em", _unescape(m.group("em"))))
    plain(text[pos:])
    return out


def segments_plain(segments: Sequence[Segment]) -> str:
    """The segments as plain text, links as ``text <url>`` (what the screen shows, unstyled)."""
    parts = []
    for s in segments:
        if s.kind == "link":
            label = f"image: {s.text}" if s.image else s.text
            parts.append(f"{label} <{s.url}>" if label else f"<{s.url}>")
        else:
            parts.append(s.text)
    return "".join(parts)


# ------------------------------------------------------------------------ blocks --
@dataclass(frozen=True)
class Step:
    """A fenced block that can run: a PromQL/LogQL query or a shell snippet."""

    index: int
    """0-based position among the runbook's steps."""
    lang: StepLang
    code: str
    info: str
    """The fence's info string as written (``bash``, ``promql range=1h``...)."""
    block: int
    """Index of its block in :attr:`ParsedRunbook.blocks`."""
    title: str
    """The nearest heading above it (plain text), or ``""``."""

    @property
    def shell(self) -> str:
        """The interpreter of a shell step: ``bash`` for ```bash fences, else ``sh``."""
        return "bash" if self.info.split(maxsplit=1)[:1] == ["bash"] else "sh"

    @property
    def is_query(self) -> bool:
        return self.lang in ("promql", "logql")

    @property
    def label(self) -> str:
        """``step 2 (promql)``: 1-based for people."""
        return f"step {self.index + 1} ({self.lang})"


@dataclass(frozen=True)
class Block:
    """One block. ``lines`` holds inline segments per line (none for code blocks)."""

    kind: BlockKind
    text: str
    level: int = 0
    lang: str = ""
    lines: tuple[tuple[Segment, ...], ...] = ()
    step: int | None = None


@dataclass
class ParsedRunbook:
    blocks: list[Block] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    @property
    def title(self) -> str:
        """The first heading's plain text, or ``""``."""
        for block in self.blocks:
            if block.kind == "heading":
                return block.text
        return ""


def _step_lang(info: str) -> StepLang | None:
    words = info.strip().split(maxsplit=1)
    if not words:
        return None
    word = words[0].lower().lstrip("{.").rstrip("}")
    return STEP_LANGS.get(word)


def parse_runbook(text: str, allowed_hosts: Iterable[str] = ()) -> ParsedRunbook:
    """Parse Markdown (a practical CommonMark subset) into blocks, steps and links."""
    hosts = tuple(allowed_hosts)
    text = text[:MAX_PARSE_CHARS].replace("\r\n", "\n")
    lines = text.split("\n")
    out = ParsedRunbook()
    heading = ""
    para: list[str] = []
    para_kind: BlockKind = "paragraph"

    def inline_block(kind: BlockKind, raw_lines: list[str], level: int = 0) -> None:
        segs = tuple(tuple(parse_inline(line, hosts)) for line in raw_lines)
        for line_segs in segs:
            for s in line_segs:
                if s.kind == "link" and s.verdict is not None:
                    out.links.append(Link(s.text, s.url, s.verdict, s.image))
        plain = "\n".join(segments_plain(ls) for ls in segs)
        out.blocks.append(Block(kind, plain, level=level, lines=segs))

    def flush() -> None:
        nonlocal para
        if para:
            inline_block(para_kind, para)
            para = []

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE_OPEN.match(line)
        if fence and not (fence.group("fence")[0] == "`" and "`" in fence.group("info")):
            flush()
            marker = fence.group("fence")
            indent = len(fence.group("indent"))
            info = fence.group("info").strip()
            body: list[str] = []
            i += 1
            close = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$")
            while i < len(lines) and not close.match(lines[i]):
                raw = lines[i]
                strip = min(indent, len(raw) - len(raw.lstrip(" ")))
                body.append(raw[strip:])
                i += 1
            i += 1  # the closing fence (or past the end)
            code = "\n".join(body)
            lang = _step_lang(info)
            step_index = None
            if lang is not None:
                step_index = len(out.steps)
                out.steps.append(Step(step_index, lang, code, info, len(out.blocks), heading))
            out.blocks.append(Block("code", code, lang=info.split(maxsplit=1)[0] if info else "", step=step_index))
            continue
        if not line.strip():
            flush()
            para_kind = "paragraph"
            i += 1
            continue
        head = _HEADING.match(line)
        if head:
            flush()
            level = len(head.group(1))
            title = (head.group(2) or "").strip()
            inline_block("heading", [title], level)
            heading = out.blocks[-1].text
            i += 1
            continue
        if para and para_kind == "paragraph" and _SETEXT.match(line):
            level = 1 if line.strip().startswith("=") else 2
            raw = para
            para = []
            inline_block("heading", [" ".join(s.strip() for s in raw)], level)
            heading = out.blocks[-1].text
            i += 1
            continue
        if _RULE.match(line):
            flush()
            out.blocks.append(Block("rule", ""))
            i += 1
            continue
        if _QUOTE.match(line):
            if para_kind != "quote":
                flush()
                para_kind = "quote"
            para.append(_QUOTE.sub("", line, count=1))
            i += 1
            continue
        if _LIST_ITEM.match(line):
            if para_kind != "list":
                flush()
                para_kind = "list"
            para.append(line.rstrip())
            i += 1
            continue
        if para_kind == "list" and line.startswith((" ", "\t")):
            para.append(line.rstrip())  # a list item's continuation
            i += 1
            continue
        if para_kind != "paragraph":
            flush()
            para_kind = "paragraph"
        para.append(line.strip())
        i += 1
    flush()
    return out


# ------------------------------------------------------------------ placeholders --
def placeholders(code: str) -> list[str]:
    """Distinct placeholder names in ``code``, in order of first use."""
    seen: list[str] = []
    for m in PLACEHOLDER.finditer(code):
        if m.group(1) not in seen:
            seen.append(m.group(1))
    return seen


def _quote_state(code: str, end: int) -> str | None:
    """The PromQL/LogQL string ``code[end]`` sits in: ``'"'``, ``"'"``, ``"`"`` or None."""
    state: str | None = None
    i = 0
    while i < end:
        c = code[i]
        if state is None:
            if c in "\"'`":
                state = c
            elif c == "#":  # a comment runs to the end of the line
                nl = code.find("\n", i)
                if nl < 0 or nl >= end:
                    return "#"
                i = nl
        elif state == "`":
            if c == "`":
                state = None
        elif c == "\\":
            i += 1
        elif c == state:
            state = None
        i += 1
    return state


class QueryTemplateError(ValueError):
    """A placeholder in a query step cannot be filled; ``str()`` is safe to show."""


#: A value used outside a quoted string (a range ``[{labels.window}]``, a number) must be this.
_BARE_VALUE = re.compile(r"[A-Za-z0-9_.:]{1,128}")


def fill_query(
    code: str,
    values: Mapping[str, str],
    validate: Callable[[str, str | None], str],
) -> str:
    """``code`` with each placeholder replaced once (single pass) by its validated value.

    ``validate(name, value)`` returns the value or raises (e.g. ``TemplateRejected``). Inside
    a double- or single-quoted string ``\\`` and the quote are escaped; inside a backtick
    string a backtick is refused; outside strings only ``[A-Za-z0-9_.:]`` values are used.
    """

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        value = validate(name, values.get(name))
        state = _quote_state(code, m.start())
        if state in ('"', "'"):
            return value.replace("\\", "\\\\").replace(state, "\\" + state)
        if state == "`":
            if "`" in value:
                raise QueryTemplateError(f"{{{name}}}: a backtick cannot go into a `raw` string")
            return value
        if state == "#":
            return value
        if not _BARE_VALUE.fullmatch(value):
            raise QueryTemplateError(
                f"{{{name}}}: used outside a quoted string, so only letters, digits, _ . : are allowed"
            )
        return value

    return PLACEHOLDER.sub(one, code)


# -------------------------------------------------------------------- shell steps --
def shell_positional(script: str) -> tuple[str, list[str]]:
    """Turn placeholders in a shell script into positional parameters (never spliced text).

    Returns ``(converted script, placeholder names)``: the n-th distinct placeholder becomes
    ``$n`` (``${n}`` from 10): ``"$1"`` outside quotes, ``$1`` inside double quotes (already
    quoted there), ``'"$1"'`` inside single quotes. The values are then passed after the
    script as ``sh -c SCRIPT sh VALUE1 VALUE2…`` so the shell never parses them.
    """
    names = placeholders(script)
    index = {name: i + 1 for i, name in enumerate(names)}
    out: list[str] = []
    state: str | None = None  # None, "'" or '"'
    i = 0
    n = len(script)
    while i < n:
        m = PLACEHOLDER.match(script, i)
        if m is not None:
            k = index[m.group(1)]
            ref = f"${k}" if k < 10 else f"${{{k}}}"
            if state == '"':
                out.append(ref)
            elif state == "'":
                out.append(f"'\"{ref}\"'")
            else:
                out.append(f'"{ref}"')
            i = m.end()
            continue
        c = script[i]
        out.append(c)
        if state is None:
            if c == "\\" and i + 1 < n:
                out.append(script[i + 1])
                i += 1
            elif c in "'\"":
                state = c
        elif state == '"':
            if c == "\\" and i + 1 < n:
                out.append(script[i + 1])
                i += 1
            elif c == '"':
                state = None
        elif c == "'":
            state = None
        i += 1
    return "".join(out), names
