"""The fleet grid: one :class:`FleetGpu` per (node, GPU, MIG instance) from dcgm-exporter's
instant results (:func:`build_fleet`), worst first (:func:`gpu_badness`); per-node summaries and
``:gpu NODE`` filtering; display rows (:func:`fleet_row`).

Label values (pod, node, model names) are kept raw in the model; :func:`fleet_row` returns
display strings that went through :func:`~oncall_tui.text.sanitize.sanitize_for_display`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from oncall_tui.core import format as fmt
from oncall_tui.core.gpu.dcgm import METRIC_ALIASES, METRIC_FIELDS
from oncall_tui.core.gpu.health import (
    ALARMING_CLOCK_REASONS,
    SEVERITY_RANK,
    XidInfo,
    decode_clock_reasons,
    decode_xid,
)
from oncall_tui.core.gpu.workload import ServiceRule, service_for, workload_labels
from oncall_tui.text.sanitize import MAX_LABEL_VALUE, sanitize_for_display

__all__ = [
    "FLEET_COLUMNS",
    "NODE_LABELS",
    "FleetGpu",
    "NodeSummary",
    "build_fleet",
    "filter_node",
    "fleet_nodes",
    "fleet_row",
    "gpu_badness",
    "sort_worst_first",
]

NODE_LABELS = ("node", "kubernetes_node", "Hostname", "instance")


def _node(labels: Mapping[str, str]) -> tuple[str, str]:
    for name in NODE_LABELS:
        if labels.get(name):
            return labels[name], name
    return "", ""


def _num(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


@dataclass
class FleetGpu:
    """One GPU (or MIG instance) of the fleet as dcgm-exporter reports it. Values may be ``None``
    (metric not exported); label-derived strings are raw (sanitise before display)."""

    node: str
    node_label: str
    gpu: str
    uuid: str
    model: str = ""
    pod: str = ""
    namespace: str = ""
    container: str = ""
    service: str = ""
    mig_instance: str = ""
    mig_profile: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    util: float | None = None
    mem_copy_util: float | None = None
    fb_used_mib: float | None = None
    fb_free_mib: float | None = None
    temp_c: float | None = None
    power_w: float | None = None
    sm_clock_mhz: float | None = None
    gr_active: float | None = None
    xid: float | None = None
    ecc_sbe_vol: float | None = None
    ecc_dbe_vol: float | None = None
    ecc_sbe_agg: float | None = None
    ecc_dbe_agg: float | None = None
    clock_reasons: float | None = None
    remap_corrected: float | None = None
    remap_uncorrected: float | None = None
    remap_failure: float | None = None
    retired_sbe: float | None = None
    retired_dbe: float | None = None
    retired_pending: float | None = None
    badness: float = 0.0

    @property
    def key(self) -> tuple[str, str, str]:
        return self.node, self.uuid or self.gpu, self.mig_instance

    @property
    def mem_ratio(self) -> float | None:
        """Framebuffer used / (used + free), 0–1."""
        if self.fb_used_mib is None or self.fb_free_mib is None:
            return None
        total = self.fb_used_mib + self.fb_free_mib
        return self.fb_used_mib / total if total > 0 else None

    @property
    def last_xid(self) -> int | None:
        return int(self.xid) if self.xid else None

    @property
    def xid_info(self) -> XidInfo | None:
        return decode_xid(self.xid)

    @property
    def clock_reason_names(self) -> list[str]:
        return decode_clock_reasons(self.clock_reasons)

    @property
    def memory_errors(self) -> bool:
        """Uncorrectable errors or a failed row remap since the driver loaded."""
        return any(
            (v or 0) > 0 for v in (self.ecc_dbe_vol, self.remap_uncorrected, self.remap_failure)
        )


def gpu_badness(gpu: FleetGpu) -> float:
    """Higher is worse: XID (by severity) ≫ memory errors ≫ memory ≥ 95 % ≫ heat ≫ busy."""
    score = 0.0
    info = gpu.xid_info
    if info is not None:
        score += 1000.0 * SEVERITY_RANK[info.severity]
    if gpu.memory_errors:
        score += 2000.0
    if ALARMING_CLOCK_REASONS.intersection(gpu.clock_reason_names):
        score += 300.0
    mem = gpu.mem_ratio
    if mem is not None:
        score += 500.0 if mem >= 0.95 else 0.0
        score += 100.0 * mem
    if gpu.temp_c is not None:
        score += 400.0 if gpu.temp_c >= 87 else 150.0 if gpu.temp_c >= 80 else 0.0
        score += gpu.temp_c
    if gpu.util is not None:
        score += gpu.util / 2
    return score


def _gpu_sort_key(gpu: FleetGpu) -> tuple[float, str, int, str, str]:
    index = int(gpu.gpu) if gpu.gpu.isdigit() else 1 << 20
    return (-gpu.badness, gpu.node, index, gpu.gpu, gpu.mig_instance)


def sort_worst_first(gpus: Iterable[FleetGpu]) -> list[FleetGpu]:
    """Worst first; ties by node, then numeric GPU index."""
    return sorted(gpus, key=_gpu_sort_key)


def build_fleet(
    results: Mapping[str, Iterable[tuple[Mapping[str, str], float]]],
    *,
    rule: ServiceRule = ServiceRule(),
    known_services: Iterable[str] = (),
) -> list[FleetGpu]:
    """The fleet grid from instant-vector results (metric name → ``(labels, value)`` pairs),
    one :class:`FleetGpu` per (node, GPU UUID or index, MIG instance), worst first."""
    known = tuple(known_services)
    grid: dict[tuple[str, str, str], FleetGpu] = {}
    for metric, series in results.items():
        attr = METRIC_FIELDS.get(METRIC_ALIASES.get(metric, metric))
        if attr is None:
            continue
        for labels, value in series:
            node, node_label = _node(labels)
            gpu_index, uuid = labels.get("gpu", ""), labels.get("UUID", "")
            key = (node, uuid or gpu_index, labels.get("GPU_I_ID", ""))
            entry = grid.get(key)
            if entry is None:
                pod, namespace, container = workload_labels(labels)
                entry = grid[key] = FleetGpu(
                    node=node,
                    node_label=node_label,
                    gpu=gpu_index,
                    uuid=uuid,
                    model=labels.get("modelName", ""),
                    pod=pod,
                    namespace=namespace,
                    container=container,
                    service=service_for(labels, rule, known),
                    mig_instance=labels.get("GPU_I_ID", ""),
                    mig_profile=labels.get("GPU_I_PROFILE", ""),
                    labels={k: v for k, v in labels.items() if k != "__name__"},
                )
            setattr(entry, attr, _num(value))
    for entry in grid.values():
        entry.badness = gpu_badness(entry)
    return sort_worst_first(grid.values())


# ---------------------------------------------------------------------------------------------
# Nodes and :gpu NODE
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeSummary:
    """One node of the fleet: its GPU count, models, XIDs and its worst GPU's badness."""

    node: str
    gpus: int
    models: tuple[str, ...]
    xids: int
    worst: float


def fleet_nodes(gpus: Iterable[FleetGpu]) -> list[NodeSummary]:
    """Nodes worst first (then by name)."""
    by_node: dict[str, list[FleetGpu]] = {}
    for gpu in gpus:
        by_node.setdefault(gpu.node, []).append(gpu)
    nodes = [
        NodeSummary(
            node=name,
            gpus=len(members),
            models=tuple(sorted({g.model for g in members if g.model})),
            xids=sum(1 for g in members if g.last_xid),
            worst=max(g.badness for g in members),
        )
        for name, members in by_node.items()
    ]
    return sorted(nodes, key=lambda n: (-n.worst, n.node))


def filter_node(gpus: Iterable[FleetGpu], node: str) -> list[FleetGpu]:
    """GPUs of ``node`` (``:gpu NODE``): exact name match, else case-insensitive substring."""
    gpus = list(gpus)
    exact = [g for g in gpus if g.node == node]
    if exact or not node:
        return exact if node else gpus
    needle = node.casefold()
    return [g for g in gpus if needle in g.node.casefold()]


# ---------------------------------------------------------------------------------------------
# Display
# ---------------------------------------------------------------------------------------------

FLEET_COLUMNS = ("node", "gpu", "model", "service", "pod", "util", "mem", "temp", "power", "xid")


def _clean(value: str) -> str:
    return sanitize_for_display(value, max_chars=MAX_LABEL_VALUE)


def _unit(value: float | None, unit: str) -> str:
    return fmt.MISSING if value is None else f"{value:.0f}{unit}"


def fleet_row(gpu: FleetGpu) -> dict[str, str]:
    """Display strings for one fleet row (sanitised labels, formatted numbers)."""
    info = gpu.xid_info
    index = gpu.gpu + (f"/{gpu.mig_instance}" if gpu.mig_instance else "")
    return {
        "node": _clean(gpu.node),
        "gpu": _clean(index),
        "model": _clean(gpu.model.removeprefix("NVIDIA ")),
        "service": _clean(gpu.service) or fmt.MISSING,
        "pod": _clean(gpu.pod) or "idle",
        "util": fmt.percent(None if gpu.util is None else gpu.util / 100),
        "mem": fmt.percent(gpu.mem_ratio),
        "temp": _unit(gpu.temp_c, "°C"),
        "power": _unit(gpu.power_w, "W"),
        "xid": f"{info.code} {info.title}" if info else "",
    }
