"""A runbook as Rich renderables: its prose blocks, its steps (with status), a query step's
result and a shell step's output. Every value is inert text (sanitised, never markup)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from oncall_tui.core.runbook import Block, Segment, Step
from oncall_tui.text.sanitize import sanitize_for_display

if TYPE_CHECKING:
    from oncall_tui.actions.process import ProcessResult
    from oncall_tui.actions.runbook import QueryOutcome

#: Characters of a step's output shown under it (the whole output is in its file).
OUTPUT_CHARS = 8000


def _s(value: Any, max_chars: int | None = 2000, *, multiline: bool = False) -> str:
    return sanitize_for_display(str(value), max_chars=max_chars, multiline=multiline)


@dataclass(frozen=True)
class Palette:
    """Colours for the runbook (theme variables resolved to Rich colours)."""

    accent: str = "cyan"
    link: str = "blue"
    blocked: str = "red"
    muted: str = "grey50"
    code: str = "yellow"


def inline_text(lines: Sequence[Sequence[Segment]], palette: Palette, *, style: str = "") -> Text:
    """Inline segments as one inert Text: links as ``text <url>``, blocked ones marked."""
    out = Text(style=style)
    for n, line in enumerate(lines):
        if n:
            out.append("\n")
        for seg in line:
            if seg.kind == "link":
                verdict = seg.verdict
                label = f"image: {seg.text}" if seg.image else seg.text
                if label:
                    out.append(_s(label, 500) + " ")
                url_style = f"underline {palette.link}" if verdict is not None and verdict.allowed else palette.blocked
                out.append("<" + _s(seg.url, 500) + ">", style=url_style)
                if verdict is not None and not verdict.allowed:
                    out.append(f" [blocked: {_s(verdict.reason, 120)}]", style=f"bold {palette.blocked}")
            elif seg.kind == "code":
                out.append(_s(seg.text, 2000), style=palette.code)
            elif seg.kind == "strong":
                out.append(_s(seg.text, 2000), style="bold")
            elif seg.kind == "em":
                out.append(_s(seg.text, 2000), style="italic")
            else:
                out.append(_s(seg.text, 4000))
    return out


def _bullet(text: Text) -> Text:
    plain = text.plain
    stripped = plain.lstrip(" \t")
    if stripped[:2] in ("- ", "* ", "+ "):
        offset = len(plain) - len(stripped)
        return text[:offset] + Text("• ") + text[offset + 2 :]
    return text


def render_block(block: Block, palette: Palette) -> RenderableType:
    """A non-code block as an inert renderable."""
    if block.kind == "heading":
        style = "bold underline" if block.level <= 1 else "bold"
        text = inline_text(block.lines, palette, style=style)
        if block.level <= 2:
            text.stylize(palette.accent)
        return text
    if block.kind == "rule":
        return Text("─" * 40, style=palette.muted)
    if block.kind == "list":
        lines = [_bullet(inline_text([line], palette)) for line in block.lines]
        return Text("\n").join(lines)
    if block.kind == "quote":
        lines = [Text.assemble(("▎ ", palette.muted), inline_text([line], palette, style="italic")) for line in block.lines]
        return Text("\n").join(lines)
    if block.kind == "code":
        return Panel(
            Text(_s(block.text, 20_000, multiline=True)),
            title=Text(_s(block.lang or "code", 40)),
            title_align="left",
            box=box.ROUNDED,
            border_style=palette.muted,
        )
    return inline_text(block.lines, palette)


def render_step(step: Step, *, selected: bool, status: str, palette: Palette) -> RenderableType:
    """A step's code in a box titled with its number and language; ``status`` under the title."""
    marker = "▶ " if selected else ""
    title = Text(f"{marker}step {step.index + 1} · {step.lang}", style="bold" if selected else "")
    return Panel(
        Text(_s(step.code, 20_000, multiline=True)),
        title=title,
        title_align="left",
        subtitle=Text(_s(status, 200)),
        subtitle_align="right",
        box=box.HEAVY if selected else box.ROUNDED,
        border_style=palette.accent if selected else palette.muted,
    )


def render_query(outcome: QueryOutcome, palette: Palette) -> RenderableType:
    """A query result: a summary line and a small table (every cell inert Text)."""
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, pad_edge=False)
    for name in outcome.columns:
        last = name in ("line", "series")
        table.add_column(Text(name), overflow="ellipsis", no_wrap=True, ratio=4 if last else None)
    for row in outcome.rows:
        table.add_row(*(Text(cell, no_wrap=True, overflow="ellipsis") for cell in row))
    head = Text.assemble(("result: ", "bold"), _s(outcome.summary, 300))
    for warning in outcome.warnings:
        head.append("\n" + _s(warning, 300), style=palette.blocked)
    return Group(head, table) if outcome.rows else head


def render_output(result: ProcessResult, palette: Palette) -> RenderableType:
    """A shell step's output (already sanitised by run_process) in a box titled with its exit."""
    output = result.output
    if len(output) > OUTPUT_CHARS:
        output = f"…[{len(output) - OUTPUT_CHARS} chars omitted; full output in {result.output_path}]\n" + output[-OUTPUT_CHARS:]
    style = palette.accent if result.ok else palette.blocked
    return Panel(
        Text(_s(output, None, multiline=True) or "(no output)"),
        title=Text("output · " + _s(result.summary(), 120)),
        title_align="left",
        box=box.ROUNDED,
        border_style=style,
    )


