"""``oncall-tui check``: validate the config, probe every endpoint, print one row each."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
from rich.console import Console
from rich.table import Table
from rich.text import Text

from oncall_tui.clients.http import SKEW_WARN_SECONDS
from oncall_tui.clients.probe import ProbeResult, probe_endpoint
from oncall_tui.settings import Context, Settings


async def run_checks(
    context: Context,
    *,
    env: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    allow_insecure: bool = False,
) -> list[ProbeResult]:
    """Probe every configured endpoint of ``context`` concurrently, in config order."""
    return list(
        await asyncio.gather(
            *(
                probe_endpoint(kind, ep, env=env, transport=transport, allow_insecure=allow_insecure)
                for kind, ep in [
                    *context.configured_endpoints(),
                    *(("alertmanager", peer) for peer in context.endpoints.alertmanagers[1:]),
                ]
            )
        )
    )


def render_report(
    settings: Settings, context: Context, results: list[ProbeResult], console: Console
) -> None:
    """The table a responder reads. Every cell is a Text object: nothing is parsed as markup."""
    source = str(settings.source_path) if settings.source_path else "(no file: environment only)"
    console.print(Text(f"config:  {source}"))
    ro = "  READ-ONLY" if context.read_only else ""
    console.print(Text(f"context: {context.name}{ro}"))
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for col in ("ENDPOINT", "URL", "VERSION", "LATENCY", "RESULT"):
        table.add_column(col, overflow="fold")
    for r in results:
        latency = f"{r.latency_ms:.0f} ms" if r.latency_ms is not None else "-"
        result = Text(r.badge, style="green" if r.ok else "bold red")
        table.add_row(Text(r.kind), Text(r.url), Text(r.version or "-"), Text(latency), result)
    console.print(table)
    console.print()
    for r in results:
        console.print(Text(f"{r.kind}: auth {r.auth}"))
        if r.proxy and r.proxy != "none":
            console.print(Text(f"  proxy {r.proxy}"))
        if not r.ok:
            console.print(Text(f"  {r.badge}: {r.message}", style="red"))
        if r.clock_skew is not None and abs(r.clock_skew) > SKEW_WARN_SECONDS:
            console.print(
                Text(f"  clock differs from ours by {r.clock_skew:+.0f} s (silence times use the server's)", style="yellow")
            )
    for w in settings.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
    failed = [r for r in results if not r.ok]
    if not results:
        console.print(Text("no endpoints configured in this context", style="red"))
    elif failed:
        console.print(Text(f"{len(failed)} of {len(results)} endpoints failed", style="red"))
    else:
        console.print(Text(f"all {len(results)} endpoints OK", style="green"))


def check_exit_code(results: list[ProbeResult]) -> int:
    return 0 if results and all(r.ok for r in results) else 1
