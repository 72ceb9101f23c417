"""What each pane of the GPU screen says: a local GPU's row, its processes, a fleet GPU's facts
and its last XID, as inert text (every value sanitised, never markup)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from rich.text import Text

from oncall_tui.clients.nvml import (
    NA,
    NA_TEXT,
    GpuProcess,
    LocalGpu,
    local_gpu_row,
    show,
    throttled,
)
from oncall_tui.core import format as fmt
from oncall_tui.core.gpu.fleet import FleetGpu
from oncall_tui.core.gpu.health import decode_xid
from oncall_tui.text.sanitize import MAX_LABEL_VALUE, sanitize_for_display
from oncall_tui.widgets.display import clipped
from oncall_tui.widgets.gpu import XID_STYLE


def unit(value: float | None, suffix: str) -> str:
    return fmt.MISSING if value is None else f"{value:.0f}{suffix}"


#: (history key from ``gpu_history_queries``, chart title, value scale, "now" of a fleet GPU).
CHARTS: tuple[tuple[str, str, float, Callable[[FleetGpu], str]], ...] = (
    ("util", "GPU utilisation (%)", 1.0, lambda g: fmt.percent(None if g.util is None else g.util / 100)),
    ("memory", "Framebuffer used (%)", 100.0, lambda g: fmt.percent(g.mem_ratio)),
    ("temp", "Temperature (°C)", 1.0, lambda g: unit(g.temp_c, "°C")),
    ("power", "Power (W)", 1.0, lambda g: unit(g.power_w, "W")),
)

LOCAL_COLUMNS: tuple[tuple[str, int], ...] = (
    ("GPU", 3),
    ("NAME", 16),
    ("UTIL SM/MEM", 11),
    ("MEMORY", 11),
    ("TEMP", 5),
    ("POWER", 9),
    ("CLOCK SM/MEM", 13),
    ("THROTTLE", 18),
    ("ECC VOL c/u", 11),
    ("ECC AGG c/u", 11),
    ("RETIRED/REMAP", 18),
    ("LAST XID", 26),
)


def clean(value: object, limit: int = MAX_LABEL_VALUE) -> str:
    return sanitize_for_display(str(value), max_chars=limit)


def pair(a: Any, b: Any, unit: str = "") -> str:
    """``a/b`` plus a unit; "n/a" when neither could be read."""
    if isinstance(a, NA) and isinstance(b, NA):
        return NA_TEXT
    return f"{show(a)}/{show(b)}{unit}"


def retired_or_remapped(gpu: LocalGpu) -> str:
    """Row remapping (A100 and later) or retired pages (older GPUs), whichever the GPU has."""
    rows = gpu.remapped_rows
    if not isinstance(rows, NA):
        text = f"rows {rows.corrected}c/{rows.uncorrected}u"
        if rows.pending:
            text += " pending"
        if rows.failure:
            text += " FAILED"
        return text
    pages = gpu.retired_pages
    if isinstance(pages.multiple_single_bit, NA) and isinstance(pages.double_bit, NA):
        return NA_TEXT
    text = f"pages {show(pages.multiple_single_bit)}sbe/{show(pages.double_bit)}dbe"
    return text + (" pending" if pages.pending is True else "")


def processes_sorted(processes: list[GpuProcess]) -> list[GpuProcess]:
    return sorted(processes, key=lambda p: (-(p.used_memory if isinstance(p.used_memory, int) else -1), p.pid))


def local_gpu_cells(gpu: LocalGpu, color: Callable[[str], str]) -> list[Text]:
    """One local GPU's row of the NVML table (critical temperatures, throttling, ECC in colour)."""
    row = local_gpu_row(gpu)
    crit = f"bold {color('level-crit')}"
    temp = gpu.temperature_c
    last = gpu.last_xid
    info = decode_xid(last.code) if last else None
    values = [
        (row["gpu"], ""),
        (row["name"], ""),
        (pair(pct(gpu.util_gpu), pct(gpu.util_memory)), ""),
        (row["mem"], ""),
        (row["temp"], crit if isinstance(temp, int) and temp >= 87 else ""),
        (row["power"], ""),
        (pair(gpu.clocks.sm, gpu.clocks.mem, "MHz"), ""),
        (row["throttle"], crit if throttled(gpu) else ""),
        (
            pair(gpu.ecc.volatile_corrected, gpu.ecc.volatile_uncorrected),
            crit if isinstance(gpu.ecc.volatile_uncorrected, int) and gpu.ecc.volatile_uncorrected > 0 else "",
        ),
        (pair(gpu.ecc.aggregate_corrected, gpu.ecc.aggregate_uncorrected), ""),
        (retired_or_remapped(gpu), ""),
        (row["xid"], f"bold {color(XID_STYLE.get(info.severity, 'severity-warning'))}" if info else ""),
    ]
    return [
        clipped(text, style="dim" if text == NA_TEXT else style) for text, style in values
    ]


def fleet_gpu_facts(gpu: FleetGpu) -> tuple[str, str]:
    """A fleet GPU's title line and its facts: workload, numbers, error counters."""
    model = gpu.model.removeprefix("NVIDIA ")
    mig = f" MIG {gpu.mig_instance} {gpu.mig_profile}".rstrip() if gpu.mig_instance else ""
    head = f"{gpu.node} · GPU {gpu.gpu}{mig} · {model or 'model ?'} · {gpu.uuid or 'no UUID'}"
    workload = (
        f"pod {gpu.pod} · namespace {gpu.namespace or '-'} · container {gpu.container or '-'} · "
        f"service {gpu.service or '-'}"
        if gpu.pod
        else "idle: no pod is using this GPU"
    )
    mem = fmt.percent(gpu.mem_ratio)
    if gpu.fb_used_mib is not None and gpu.fb_free_mib is not None:
        mem += f" ({gpu.fb_used_mib / 1024:.1f} of {(gpu.fb_used_mib + gpu.fb_free_mib) / 1024:.1f} GiB)"
    numbers = (
        f"util {fmt.percent(None if gpu.util is None else gpu.util / 100)} · memory {mem} · "
        f"{unit(gpu.temp_c, '°C')} · {unit(gpu.power_w, 'W')} · SM clock {unit(gpu.sm_clock_mhz, ' MHz')}"
    )
    counters, absent = [], []
    for name, a, b in (
        ("ECC volatile sbe/dbe", gpu.ecc_sbe_vol, gpu.ecc_dbe_vol),
        ("ECC aggregate sbe/dbe", gpu.ecc_sbe_agg, gpu.ecc_dbe_agg),
        ("remapped rows c/u", gpu.remap_corrected, gpu.remap_uncorrected),
        ("retired pages sbe/dbe", gpu.retired_sbe, gpu.retired_dbe),
    ):
        if a is None and b is None:
            absent.append(name.rsplit(" ", 1)[0])
        else:
            counters.append(f"{name} {count(a)}/{count(b)}")
    if (gpu.remap_failure or 0) > 0:
        counters.append("ROW REMAP FAILED")
    if gpu.clock_reasons is None:
        absent.append("clock events")
    else:
        counters.append(f"clock events {', '.join(gpu.clock_reason_names) or 'none'}")
    if absent:
        counters.append(f"not exported: {', '.join(absent)}")
    facts = sanitize_for_display(f"{workload}\n{numbers}\n{' · '.join(counters)}", multiline=True, max_chars=4000)
    return clean(head, 400), facts


def xid_text(gpu: FleetGpu, color: Callable[[str], str]) -> Text:
    """The last XID decoded: what it means and what to do (or that none was reported)."""
    info = gpu.xid_info
    if info is None:
        text = "last XID: none reported" if gpu.xid is not None else "last XID: not exported"
        return Text(text, style=color("level-ok") if gpu.xid is not None else "dim")
    return Text.assemble(
        (f"XID {info.code} — {info.title} [{info.severity}]", f"bold {color(XID_STYLE.get(info.severity, 'severity-warning'))}"),
        "\nWhat it means: ",
        info.meaning,
        "\nWhat to do: ",
        info.action,
    )


def pct(value: Any) -> Any:
    return value if isinstance(value, NA) else f"{value}%"


def count(value: float | None) -> str:
    return fmt.MISSING if value is None or math.isnan(value) else f"{value:.0f}"
