"""GPU logic without any UI or I/O: XID decoding, the dcgm-exporter fleet grid, per-GPU history
PromQL and LLM-serving saturation PromQL.

- XIDs: :func:`decode_xid` turns a driver XID code into what it means and what to do.
- Clock events: :func:`decode_clock_reasons` names the bits of NVML's clocks-event (formerly
  "throttle") reasons mask; dcgm-exporter's ``DCGM_FI_DEV_CLOCKS_EVENT_REASONS`` carries the same
  bits.
- Fleet: :data:`FLEET_QUERIES` is one instant query per dcgm-exporter metric for all GPUs;
  :func:`build_fleet` turns the results into one :class:`FleetGpu` per (node, GPU), worst first;
  :func:`missing_counters` says which counter families the exporter does not export at all.
- :func:`gpu_history_queries` for one selected GPU, :func:`llm_saturation_queries` for the
  model servers (``by (service)``, batched like :mod:`.signals`).

Label values (pod, node, model names) are kept raw in the model; :func:`fleet_row` returns
display strings that went through :func:`~oncall_tui.core.sanitize.sanitize_for_display`.
This module imports :mod:`.signals` (and so pydantic) only inside the functions that need it,
so the NVML client can use the decoders without that start-up cost.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from oncall_tui.core import format as fmt
from oncall_tui.core.sanitize import MAX_LABEL_VALUE, sanitize_for_display

# ---------------------------------------------------------------------------------------------
# XID decoding
# ---------------------------------------------------------------------------------------------

#: How urgent an XID is, least to most: informational, the application's own fault, a GPU reset
#: to schedule, drain the node now. Unknown codes rank with application errors.
SEVERITY_RANK: dict[str, int] = {"info": 1, "app": 2, "unknown": 2, "reset": 3, "drain": 4}


@dataclass(frozen=True)
class XidInfo:
    """What an XID code means for the on-call engineer."""

    code: int
    title: str
    meaning: str
    action: str
    severity: str

    @property
    def known(self) -> bool:
        return self.severity != "unknown"


def _xid(code: int, title: str, meaning: str, action: str, severity: str) -> tuple[int, XidInfo]:
    return code, XidInfo(code, title, meaning, action, severity)


#: After NVIDIA's XID catalogue (docs.nvidia.com/deploy/xid-errors), phrased for on-call use.
XID_TABLE: dict[int, XidInfo] = dict(
    [
        _xid(13, "Graphics engine exception",
             "A fault inside a GPU engine, nearly always caused by the application (out-of-range "
             "memory access, illegal instruction, device-side assert); rarely a driver bug or "
             "thermal, power or PCIe trouble.",
             "Treat it as an application error: check the workload's log for 'illegal memory "
             "access' or 'device-side assert' and restart it. If it recurs on this GPU with "
             "unrelated workloads, drain the node and run `dcgmi diag -r 3`.", "app"),
        _xid(31, "GPU memory page fault (MMU fault)",
             "The GPU touched an invalid virtual address: usually an application bug (bad "
             "pointer, use after free, out of bounds); rarely the driver or the hardware.",
             "Restart the crashing process (the kernel log line names its PID) and debug it with "
             "compute-sanitizer. Only if it shows up across unrelated workloads on one GPU: drain "
             "and run diagnostics.", "app"),
        _xid(32, "Invalid or corrupted push buffer stream",
             "The GPU's command stream was corrupt: a driver or application bug, or data "
             "corrupted on its way over PCIe (system memory, bus).",
             "Restart the workload. If it repeats on one node, look for PCIe AER errors in "
             "`dmesg` and check system memory; update the driver.", "app"),
        _xid(38, "Driver firmware error",
             "The driver detected an error in the GPU's firmware.",
             "Drain, reset the GPU or reboot; collect `nvidia-bug-report.sh`; update the "
             "driver/firmware if it repeats.", "reset"),
        _xid(43, "GPU stopped processing (reset channel verification error)",
             "The driver stopped one application after a fault in that application (often right "
             "after XID 13 or 31). The GPU itself is healthy and still usable.",
             "Nothing to do for the GPU: fix or restart the application that was stopped.", "app"),
        _xid(45, "Preemptive cleanup, due to previous errors",
             "The driver tore down a process's GPU context because the process was killed "
             "(OOM killer, SIGKILL, Ctrl-C) or an earlier error forced it. Informational.",
             "Look for an earlier XID on the same GPU (48, 63, 74, 79, 94, 95...) and act on that "
             "one; on its own it just records a killed job.", "info"),
        _xid(48, "Double-bit ECC error (DBE)",
             "An uncorrectable error in GPU memory. Applications using the GPU were stopped; the "
             "bad page is retired (before A100) or the row remapped (A100 and later), which only "
             "takes effect after a GPU reset.",
             "Drain the node, reset the GPU (`nvidia-smi -r` once no process uses it) or reboot; "
             "check `nvidia-smi -q -d ECC,PAGE_RETIREMENT,ROW_REMAPPER`. Repeated DBEs or a "
             "remap failure: replace the GPU (RMA).", "drain"),
        _xid(61, "Internal micro-controller breakpoint/warning",
             "A micro-controller inside the GPU (PMU) hit a breakpoint or warning: a driver or "
             "firmware problem; the GPU may stop behaving correctly.",
             "Drain and reset the GPU or reboot the node; collect `nvidia-bug-report.sh`; keep "
             "driver and firmware current. If it recurs, open a case with NVIDIA.", "reset"),
        _xid(62, "Internal micro-controller halt",
             "A micro-controller inside the GPU halted (the newer form of XID 61); the GPU is "
             "usually unusable until it is reset.",
             "Drain the node, reset the GPU or reboot; collect `nvidia-bug-report.sh`; update "
             "driver/firmware. If it recurs: NVIDIA support / RMA.", "drain"),
        _xid(63, "ECC page retirement or row-remapping recording event",
             "After ECC errors the driver recorded a page retirement (before A100) or a row "
             "remap (A100 and later). The repair takes effect only after a GPU reset.",
             "Not urgent: schedule a drain and GPU reset (or reboot) so the retirement/remap "
             "applies; `nvidia-smi -q -d ROW_REMAPPER` shows it as pending until then.", "reset"),
        _xid(64, "ECC page retirement or row-remapping recording failure",
             "The driver could not record a page retirement or row remap (remap table full, "
             "InfoROM write failed): the bad memory cannot be repaired.",
             "Drain the node and reset the GPU; if `nvidia-smi -q -d ROW_REMAPPER` shows "
             "'Remapping Failure Occurred: Yes', the GPU must be replaced (RMA).", "drain"),
        _xid(74, "NVLink error",
             "A fault on an NVLink between GPUs or to an NVSwitch (CRC, replay or recovery "
             "errors, a link down); multi-GPU (tensor-parallel) jobs hang or fail.",
             "Check `nvidia-smi nvlink -s` / `-e` and the fabric manager log; drain and reset the "
             "GPUs (often every GPU on the baseboard) or reboot. Errors that persist after a "
             "reset point at hardware (GPU, NVSwitch, baseboard): replace.", "drain"),
        _xid(79, "GPU has fallen off the bus",
             "The GPU stopped answering on PCIe; the driver cannot reach it at all. Causes: a "
             "hardware fault, a power or thermal trip, PCIe link/riser problems, firmware.",
             "Drain the node now and collect `nvidia-bug-report.sh`; power-cycle it (a warm "
             "reboot is often not enough). Check power, cabling, thermals and PCIe AER errors. "
             "If it recurs: reseat or replace the GPU.", "drain"),
        _xid(92, "High single-bit ECC error rate",
             "Correctable ECC errors are happening at a high rate: they are being fixed, but the "
             "memory may be degrading.",
             "No immediate impact. Watch the aggregate counts (`nvidia-smi -q -d ECC`), run "
             "`dcgmi diag -r 3` at the next drain, plan a replacement if the rate keeps "
             "climbing.", "info"),
        _xid(93, "Non-fatal violation of provisioned InfoROM wear limit",
             "The GPU's InfoROM (its persistent error/config store) was written more often than "
             "its provisioned wear limit. The GPU keeps working.",
             "No action now: note it, and raise it with NVIDIA or the vendor if other errors "
             "come with it.", "info"),
        _xid(94, "Contained ECC error",
             "An uncorrectable memory error the GPU contained (A100 and later): only the "
             "applications using the affected memory were stopped, others carry on. A row remap "
             "is pending.",
             "Restart the affected workloads (they can be rescheduled); schedule a drain and GPU "
             "reset to apply the row remap; check ROW_REMAPPER for a remap failure.", "reset"),
        _xid(95, "Uncontained ECC error",
             "An uncorrectable memory error that could not be contained: every application on "
             "the GPU is affected and the GPU must be reset before it is used again.",
             "Drain the node now and reset the GPU (or reboot); check ROW_REMAPPER. If it recurs "
             "or a remap failed: replace the GPU (RMA).", "drain"),
        _xid(109, "Context switch timeout",
             "The GPU could not switch contexts in time: a hung or extremely long-running "
             "kernel, or a driver problem.",
             "Restart the workload; if it recurs look for hung kernels and update the driver; "
             "reset the GPU if it stays stuck.", "app"),
        _xid(119, "GSP RPC timeout",
             "The GPU System Processor firmware did not answer the driver in time; the GPU is "
             "often unusable until it is reset.",
             "Drain, reset the GPU or reboot; collect `nvidia-bug-report.sh`; update the driver "
             "(many GSP timeouts are fixed in newer branches).", "drain"),
        _xid(120, "GSP error",
             "The GPU System Processor firmware reported an error.",
             "Drain, reset the GPU or reboot; collect `nvidia-bug-report.sh`; update the "
             "driver.", "drain"),
        _xid(154, "GPU recovery action changed",
             "Newer drivers (R550+) report the recovery the GPU needs: none, a GPU reset, a node "
             "reboot, or drain and reset.",
             "Read the action in the kernel log line or `nvidia-smi -q` (GPU Recovery Action) "
             "and do exactly that.", "reset"),
    ]
)


def decode_xid(code: float | None) -> XidInfo | None:
    """What XID ``code`` means; ``None`` for no XID (``None``, 0, NaN); a generic entry if unknown."""
    if code is None or not math.isfinite(code) or code <= 0:
        return None
    code = int(code)
    return XID_TABLE.get(code) or XidInfo(
        code,
        f"XID {code}",
        "An XID this table does not describe: the NVIDIA driver reported an error event for "
        "this GPU.",
        "Look it up in NVIDIA's XID catalogue (docs.nvidia.com/deploy/xid-errors); read the "
        "full message with `dmesg | grep -i xid` on the node; collect `nvidia-bug-report.sh` "
        "if it repeats.",
        "unknown",
    )


# ---------------------------------------------------------------------------------------------
# Clock event ("throttle") reasons
# ---------------------------------------------------------------------------------------------

#: NVML ``nvmlClocksEventReason*`` / ``nvmlClocksThrottleReason*`` bits (same values).
CLOCK_REASONS: dict[int, str] = {
    0x001: "GpuIdle",
    0x002: "ApplicationsClocksSetting",
    0x004: "SwPowerCap",
    0x008: "HwSlowdown",
    0x010: "SyncBoost",
    0x020: "SwThermalSlowdown",
    0x040: "HwThermalSlowdown",
    0x080: "HwPowerBrakeSlowdown",
    0x100: "DisplayClockSetting",
    0x200: "BoardLimit",
    0x400: "Reliability",
}
#: Reasons that mean the hardware is being held back (heat, power brake, slowdown signal).
ALARMING_CLOCK_REASONS = frozenset(
    {"HwSlowdown", "SwThermalSlowdown", "HwThermalSlowdown", "HwPowerBrakeSlowdown"}
)


def decode_clock_reasons(mask: float | None) -> list[str]:
    """Names of the bits set in a clocks-event reasons mask; unknown bits as ``0x...``."""
    if mask is None or not math.isfinite(mask) or mask <= 0:
        return []
    mask = int(mask)
    names = [name for bit, name in CLOCK_REASONS.items() if mask & bit]
    rest = mask & ~sum(CLOCK_REASONS)
    bit = 1
    while rest:
        if rest & bit:
            names.append(f"0x{bit:x}")
            rest &= ~bit
        bit <<= 1
    return names


# ---------------------------------------------------------------------------------------------
# dcgm-exporter fleet
# ---------------------------------------------------------------------------------------------

CLOCK_EVENTS = "DCGM_FI_DEV_CLOCKS_EVENT_REASONS"
#: DCGM before 3.3 names the same field ``..._CLOCK_THROTTLE_REASONS``.
CLOCK_THROTTLE = "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS"

#: dcgm-exporter metric → :class:`FleetGpu` attribute.
METRIC_FIELDS: dict[str, str] = {
    "DCGM_FI_DEV_GPU_UTIL": "util",
    "DCGM_FI_DEV_MEM_COPY_UTIL": "mem_copy_util",
    "DCGM_FI_DEV_FB_USED": "fb_used_mib",
    "DCGM_FI_DEV_FB_FREE": "fb_free_mib",
    "DCGM_FI_DEV_GPU_TEMP": "temp_c",
    "DCGM_FI_DEV_POWER_USAGE": "power_w",
    "DCGM_FI_DEV_SM_CLOCK": "sm_clock_mhz",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": "gr_active",
    "DCGM_FI_DEV_XID_ERRORS": "xid",
    "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL": "ecc_sbe_vol",
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": "ecc_dbe_vol",
    "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL": "ecc_sbe_agg",
    "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL": "ecc_dbe_agg",
    CLOCK_EVENTS: "clock_reasons",
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS": "remap_corrected",
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS": "remap_uncorrected",
    "DCGM_FI_DEV_ROW_REMAP_FAILURE": "remap_failure",
    "DCGM_FI_DEV_RETIRED_SBE": "retired_sbe",
    "DCGM_FI_DEV_RETIRED_DBE": "retired_dbe",
    "DCGM_FI_DEV_RETIRED_PENDING": "retired_pending",
}
_ALIASES = {CLOCK_THROTTLE: CLOCK_EVENTS}


def fleet_queries(selector: str = "") -> dict[str, str]:
    """One instant PromQL per dcgm-exporter metric for every GPU, keyed by metric name.

    ``selector`` is extra label matchers without braces (e.g. ``job="dcgm-exporter"``). The
    clock-event reasons query matches both the old and the new field name.
    """
    queries = {}
    for metric in METRIC_FIELDS:
        if metric == CLOCK_EVENTS:
            sel = f'__name__=~"{CLOCK_EVENTS}|{CLOCK_THROTTLE}"' + (f",{selector}" if selector else "")
            queries[metric] = "{" + sel + "}"
        else:
            queries[metric] = f"{metric}{{{selector}}}" if selector else metric
    return queries


#: The fleet queries with no extra selector.
FLEET_QUERIES: dict[str, str] = fleet_queries()


def fleet_combined_query(selector: str = "") -> str:
    """All fleet metrics in one query (one round trip); split the result with :func:`group_by_metric`."""
    names = "|".join([*METRIC_FIELDS, CLOCK_THROTTLE])
    return "{" + f'__name__=~"{names}"' + (f",{selector}" if selector else "") + "}"


def group_by_metric(
    series: Iterable[tuple[Mapping[str, str], float]],
) -> dict[str, list[tuple[Mapping[str, str], float]]]:
    """Split series by their ``__name__`` into the mapping :func:`build_fleet` takes."""
    out: dict[str, list[tuple[Mapping[str, str], float]]] = {}
    for labels, value in series:
        out.setdefault(labels.get("__name__", ""), []).append((labels, value))
    return out


@dataclass(frozen=True)
class ServiceRule:
    """How a GPU's workload maps to a service name (see :func:`service_for`)."""

    #: Label naming the service when the exporter's series carry one.
    label: str = "service"
    #: Values of that label that name the exporter itself, not the workload.
    ignore: frozenset[str] = frozenset({"dcgm-exporter", "nvidia-dcgm-exporter"})
    #: ``(pod regex, service)`` pairs tried first, ``re.fullmatch`` on the pod name.
    overrides: tuple[tuple[str, str], ...] = ()


# Kubernetes' safe alphabet for generated names (no vowels, no 0/1/3).
_K8S_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
_DEPLOYMENT_SUFFIX = re.compile(rf"-{_K8S_SAFE}{{5,10}}-{_K8S_SAFE}{{5}}$")
_STATEFULSET_SUFFIX = re.compile(r"-\d+$")


def workload_labels(labels: Mapping[str, str]) -> tuple[str, str, str]:
    """The (pod, namespace, container) using the GPU, or empty strings when idle.

    With ``honor_labels: false`` Prometheus renames the exporter's ``pod``/``namespace``/
    ``container`` to ``exported_*`` (the plain ones then name the exporter's own pod), so the
    ``exported_*`` labels win when present.
    """

    def pick(name: str) -> str:
        return labels.get(f"exported_{name}") or labels.get(name) or ""

    return pick("pod"), pick("namespace"), pick("container")


def strip_pod_suffix(pod: str) -> str:
    """``fraud-scorer-7d9f8b-h7wzm`` → ``fraud-scorer``, ``llm-server-0`` → ``llm-server``."""
    stripped = _DEPLOYMENT_SUFFIX.sub("", pod)
    if stripped != pod:
        return stripped
    return _STATEFULSET_SUFFIX.sub("", pod)


def service_for(
    labels: Mapping[str, str], rule: ServiceRule = ServiceRule(), known: Iterable[str] = ()
) -> str:
    """The service a GPU serves, or ``""`` when no workload uses it.

    Order: ``exported_<label>``; ``<label>`` unless it names the exporter (listed in
    ``rule.ignore`` or equal to ``job``); a ``rule.overrides`` regex on the pod; the longest
    ``known`` service name the pod name starts with (``llm-chat`` for ``llm-chat-vllm-0``); the
    pod name minus its Deployment hash or StatefulSet ordinal.
    """
    value = labels.get(f"exported_{rule.label}")
    if value:
        return value
    value = labels.get(rule.label)
    if value and value not in rule.ignore and value != labels.get("job"):
        return value
    pod = workload_labels(labels)[0]
    if not pod:
        return ""
    for pattern, service in rule.overrides:
        if re.fullmatch(pattern, pod):
            return service
    matches = [k for k in known if k and (pod == k or pod.startswith(k + "-"))]
    if matches:
        return max(matches, key=len)
    return strip_pod_suffix(pod)


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
        attr = METRIC_FIELDS.get(_ALIASES.get(metric, metric))
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


@dataclass(frozen=True)
class CounterFamily:
    """A group of dcgm fields that answer one question (is ECC bad? is it throttling?)."""

    name: str
    metrics: tuple[str, ...]
    csv_lines: tuple[str, ...]
    note: str


COUNTER_FAMILIES: tuple[CounterFamily, ...] = (
    CounterFamily(
        "XID",
        ("DCGM_FI_DEV_XID_ERRORS",),
        ("DCGM_FI_DEV_XID_ERRORS, gauge, Value of the last XID error encountered.",),
        "in dcgm-exporter's default counters; missing means a custom counters CSV dropped it",
    ),
    CounterFamily(
        "ECC",
        tuple(m for m in METRIC_FIELDS if m.startswith("DCGM_FI_DEV_ECC_")),
        (
            "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL, counter, Total number of single-bit volatile ECC errors.",
            "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL, counter, Total number of double-bit volatile ECC errors.",
            "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL, counter, Total number of single-bit persistent ECC errors.",
            "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL, counter, Total number of double-bit persistent ECC errors.",
        ),
        "commented out in dcgm-exporter's default-counters.csv",
    ),
    CounterFamily(
        "clock events",
        (CLOCK_EVENTS, CLOCK_THROTTLE),
        ("DCGM_FI_DEV_CLOCKS_EVENT_REASONS, gauge, Current clock event reasons (bitmask).",),
        "not in dcgm-exporter's default-counters.csv (DCGM before 3.3 calls the field "
        "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS)",
    ),
    CounterFamily(
        "row remapping",
        (
            "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
            "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
            "DCGM_FI_DEV_ROW_REMAP_FAILURE",
        ),
        (
            "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS, counter, Number of remapped rows for uncorrectable errors",
            "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS, counter, Number of remapped rows for correctable errors",
            "DCGM_FI_DEV_ROW_REMAP_FAILURE, gauge, Whether remapping of rows has failed",
        ),
        "in recent default counters; missing means an older exporter, a custom counters CSV "
        "without it, or GPUs without row remapping (before A100)",
    ),
    CounterFamily(
        "retired pages",
        ("DCGM_FI_DEV_RETIRED_SBE", "DCGM_FI_DEV_RETIRED_DBE", "DCGM_FI_DEV_RETIRED_PENDING"),
        (
            "DCGM_FI_DEV_RETIRED_SBE, counter, Total number of retired pages due to single-bit errors.",
            "DCGM_FI_DEV_RETIRED_DBE, counter, Total number of retired pages due to double-bit errors.",
            "DCGM_FI_DEV_RETIRED_PENDING, counter, Total number of pages pending retirement.",
        ),
        "commented out in dcgm-exporter's default-counters.csv (GPUs before A100 retire pages; "
        "A100 and later remap rows instead)",
    ),
)

ENABLE_COUNTERS_HOWTO = (
    "dcgm-exporter exports only the fields listed in its counters CSV (flag -f/--collectors, "
    "env DCGM_EXPORTER_COLLECTORS; default /etc/dcgm-exporter/default-counters.csv). To enable "
    "a family, copy that file, add its lines, mount the result (e.g. from a ConfigMap) and "
    "point -f at it."
)


def missing_counters(
    results: Mapping[str, Iterable[tuple[Mapping[str, str], float]]],
) -> list[CounterFamily]:
    """The counter families with no series at all in ``results`` (keyed by metric name)."""
    present = {
        _ALIASES.get(metric, metric)
        for metric, series in results.items()
        if any(True for _ in series)
    }
    present |= {m for m, alias in _ALIASES.items() if alias in present}
    return [f for f in COUNTER_FAMILIES if not present.intersection(f.metrics)]


def missing_counters_note(missing: Sequence[CounterFamily]) -> str:
    """A multi-line explanation for the GPU screen ("" when nothing is missing)."""
    if not missing:
        return ""
    lines = [f"Not exported: {', '.join(f.name for f in missing)}."]
    lines += [f"- {f.name}: {f.note}." for f in missing]
    lines.append(ENABLE_COUNTERS_HOWTO)
    lines += [line for f in missing for line in f.csv_lines]
    return "\n".join(lines)


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
# History of one GPU
# ---------------------------------------------------------------------------------------------

HISTORY_METRICS: dict[str, str] = {
    "util": "DCGM_FI_DEV_GPU_UTIL",
    "temp": "DCGM_FI_DEV_GPU_TEMP",
    "power": "DCGM_FI_DEV_POWER_USAGE",
    "gr_active": "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    "sm_clock": "DCGM_FI_DEV_SM_CLOCK",
    "xid": "DCGM_FI_DEV_XID_ERRORS",
}


def gpu_history_queries(
    gpu: FleetGpu | None = None,
    *,
    uuid: str | None = None,
    node: str | None = None,
    index: str | None = None,
    node_label: str = "Hostname",
    mig_instance: str | None = None,
) -> dict[str, str]:
    """Range-query PromQL for one GPU, by UUID or by node + GPU index.

    ``max by (<identity>)`` keeps one continuous series when the pod labels change (a restart
    moves the GPU to a new pod). ``memory`` is the framebuffer used ratio (0–1).
    """
    from oncall_tui.core.signals import quote

    if gpu is not None:
        uuid, node, index = gpu.uuid or None, gpu.node, gpu.gpu
        node_label, mig_instance = gpu.node_label or node_label, gpu.mig_instance or None
    if uuid:
        matchers, by = [f"UUID={quote(uuid)}"], ["UUID"]
    elif node and index is not None:
        matchers, by = [f"{node_label}={quote(node)}", f"gpu={quote(index)}"], [node_label, "gpu"]
    else:
        raise ValueError("a GPU needs a UUID, or a node and a GPU index")
    if mig_instance:
        matchers.append(f"GPU_I_ID={quote(mig_instance)}")
        by.append("GPU_I_ID")
    sel, grp = ",".join(matchers), ", ".join(by)

    def one(metric: str) -> str:
        return f"max by ({grp}) ({metric}{{{sel}}})"

    queries = {name: one(metric) for name, metric in HISTORY_METRICS.items()}
    used, free = one("DCGM_FI_DEV_FB_USED"), one("DCGM_FI_DEV_FB_FREE")
    queries["memory"] = f"{used} / ({used} + {free})"
    return queries


# ---------------------------------------------------------------------------------------------
# LLM-serving saturation extras
# ---------------------------------------------------------------------------------------------


def _both_spellings(template: str) -> str:
    """``template`` with ``{p}`` as ``vllm:``, or-ed with the ``vllm_`` spelling that
    Prometheus stores under prometheus/client_python#1177 (``or`` matches ignoring the name)."""
    return f"{template.format(p='vllm:')} or {template.format(p='vllm_')}"


def llm_saturation_queries(window: str = "1m") -> dict[str, str]:
    """Saturation signals beyond the triage presets, one PromQL each for all services
    (``by (service)``): {signal name: PromQL}.

    ``kv_cache`` and ``tgi_queue`` are rendered from :data:`.signals.PRESETS` (the saturation
    column of the triage table) so the GPU view shows the same numbers. Units: ratios 0–1,
    seconds, tokens/s, request counts.
    """
    from oncall_tui.core.signals import PRESETS, render_template

    svc = 'service!=""'

    def preset(name: str) -> str:
        return render_template(PRESETS[name].saturation, sel=svc, by="service, ", window=window)

    def rate(metric: str) -> str:
        return f"sum by (service) (rate({metric}{{{svc}}}[{window}]))"

    ttft = _both_spellings(f"rate({{p}}time_to_first_token_seconds_bucket{{{{{svc}}}}}[{window}])")
    return {
        "kv_cache": preset("vllm"),
        "vllm_waiting": "sum by (service) ("
        + _both_spellings(f"{{p}}num_requests_waiting{{{{{svc}}}}}") + ")",
        "vllm_running": "sum by (service) ("
        + _both_spellings(f"{{p}}num_requests_running{{{{{svc}}}}}") + ")",
        "vllm_ttft_p95": f"histogram_quantile(0.95, sum by (service, le) ({ttft}))",
        "vllm_tokens_per_s": "sum by (service) ("
        + _both_spellings(f"rate({{p}}generation_tokens_total{{{{{svc}}}}}[{window}])") + ")",
        "triton_queue_s": f"{rate('nv_inference_queue_duration_us')} / "
        f"{rate('nv_inference_request_success')} / 1e6",
        "triton_compute_s": f"{rate('nv_inference_compute_infer_duration_us')} / "
        f"{rate('nv_inference_request_success')} / 1e6",
        "tgi_queue": preset("tgi"),
    }


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
