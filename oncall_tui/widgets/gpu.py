"""Tables of the GPU screen: the dcgm-exporter fleet (worst first) and a plain cell table for
the local NVML GPUs and their processes.

No I/O here and no client imports: the fleet table takes :class:`~oncall_tui.core.gpu.FleetGpu`
rows; the local tables take ready-made ``DisplayText`` cells from the screen. Every label value goes
through :func:`~oncall_tui.core.gpu.fleet_row` (sanitised) and into ``DisplayText`` cells,
never markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from oncall_tui.core import format as fmt
from oncall_tui.core.gpu.fleet import FleetGpu, fleet_row
from oncall_tui.text.sanitize import MAX_LABEL_VALUE, sanitize_for_display
from oncall_tui.widgets.display import DisplayText, clipped
from oncall_tui.widgets.tables import DiffTable

Colors = Callable[[str], str]

#: Columns wider than this are cut with an ellipsis.
MAX_LABEL_COLUMN = 30
#: The decoded XID column: at least this wide, at most the second number.
XID_MIN, XID_MAX = 14, 44
#: Horizontal cell padding of a DataTable column (one space each side).
PADDING = 2

#: XID severity (``XidInfo.severity``) → theme variable of its cell.
XID_STYLE = {
    "drain": "severity-critical",
    "reset": "severity-warning",
    "app": "severity-warning",
    "unknown": "severity-warning",
    "info": "severity-info",
}


@dataclass(frozen=True)
class Column:
    """One fleet column: its header, the ``fleet_row`` field, a width and a priority (lower
    columns are kept first when the terminal is narrow)."""

    label: str
    field: str
    width: int
    priority: int


def fleet_row_key(gpu: FleetGpu) -> str:
    """A stable row key for one fleet GPU (never displayed)."""
    return "\x1f".join(gpu.key)


def plan_fleet_columns(rows: Sequence[dict[str, str]], width: int) -> list[tuple[str, str, int]]:
    """(header, field, width) of the fleet columns that fit in ``width`` cells, in display order.

    Label columns are as wide as their longest value (capped); the decoded XID column takes
    whatever is left, within [:data:`XID_MIN`, :data:`XID_MAX`].
    """

    def fit(field: str, label: str, cap: int = MAX_LABEL_COLUMN) -> int:
        return min(max([len(label), *(len(r.get(field, "")) for r in rows)]), cap)

    columns = [
        Column("NODE", "node", fit("node", "NODE", 24), 0),
        Column("GPU", "gpu", fit("gpu", "GPU", 8), 0),
        Column("MODEL", "model", fit("model", "MODEL", 16), 6),
        Column("UTIL", "util", 4, 1),
        Column("MEM", "mem", 4, 0),
        Column("TEMP", "temp", 4, 1),
        Column("POWER", "power", 5, 4),
        Column("LAST XID", "xid", XID_MIN, 0),
        Column("POD", "pod", fit("pod", "POD"), 2),
        Column("NAMESPACE", "namespace", fit("namespace", "NAMESPACE", 20), 5),
        Column("SERVICE", "service", fit("service", "SERVICE", 20), 0),
    ]
    budget = max(width - 2, 20)  # room for a vertical scrollbar
    kept = {c.label for c in columns if c.priority == 0}
    used = sum(c.width + PADDING for c in columns if c.label in kept)
    xid_extra = 0
    # Priority 3 is the XID column growing to a readable width before power, namespace, model.
    for priority in range(1, 7):
        if priority == 3:
            grow = min(24 - XID_MIN, max(budget - used, 0))
            xid_extra += grow
            used += grow
            continue
        for c in columns:
            if c.priority == priority and used + c.width + PADDING <= budget:
                kept.add(c.label)
                used += c.width + PADDING
    xid_extra += max(budget - used, 0)
    xid = min(XID_MIN + xid_extra, XID_MAX)
    return [
        (c.label, c.field, xid if c.field == "xid" else c.width) for c in columns if c.label in kept
    ]


class CellTable(DiffTable):
    """A table of ready-made cells (local GPUs, processes); keeps the cursor on its row key
    (a change of column widths rebuilds the columns: :meth:`DiffTable.set_table`)."""

    def show(self, columns: Sequence[tuple[str, int | None]], rows: Sequence[tuple[str, list[DisplayText]]]) -> None:
        self.set_table(columns, rows)


class FleetTable(CellTable):
    """Every GPU dcgm-exporter reports, worst first: node × GPU with its workload and last XID."""

    def show_gpus(self, gpus: Sequence[FleetGpu], *, width: int, color: Colors) -> None:
        shown = [(gpu, fleet_row(gpu)) for gpu in gpus]
        for gpu, row in shown:
            row["namespace"] = row_namespace(gpu)
        columns = plan_fleet_columns([row for _, row in shown], width)
        cells = [
            (fleet_row_key(gpu), [self._cell(gpu, row, field, color) for _, field, _ in columns])
            for gpu, row in shown
        ]
        self.show([(label, w) for label, _, w in columns], cells)

    @staticmethod
    def _cell(gpu: FleetGpu, row: dict[str, str], field: str, color: Colors) -> DisplayText:
        style = ""
        if field == "xid":
            info = gpu.xid_info
            if info is not None:
                style = f"bold {color(XID_STYLE.get(info.severity, 'severity-warning'))}"
        elif field == "mem":
            ratio = gpu.mem_ratio
            if ratio is not None and ratio >= 0.95:
                style = f"bold {color('level-crit')}"
            elif ratio is not None and ratio >= 0.85:
                style = color("level-warn")
        elif field == "temp" and gpu.temp_c is not None:
            style = f"bold {color('level-crit')}" if gpu.temp_c >= 87 else color("level-warn") if gpu.temp_c >= 80 else ""
        elif field == "node" and (gpu.xid_info is not None or gpu.memory_errors):
            style = "bold"
        elif field == "pod" and not gpu.pod:
            style = "dim"
        return clipped(row.get(field, ""), style=style.strip())


def row_namespace(gpu: FleetGpu) -> str:
    """The GPU's workload namespace for display (``fleet_row`` has no namespace field)."""
    return sanitize_for_display(gpu.namespace, max_chars=MAX_LABEL_VALUE) or fmt.MISSING
