"""What a GPU driver's health signals mean: XID codes (:func:`decode_xid`, with what to do) and
the clocks-event (formerly "throttle") reasons mask (:func:`decode_clock_reasons`).

NVML reports both directly; dcgm-exporter's ``DCGM_FI_DEV_XID_ERRORS`` and
``DCGM_FI_DEV_CLOCKS_EVENT_REASONS`` carry the same codes and bits. No imports beyond the
standard library, so the NVML client can use the decoders without start-up cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ALARMING_CLOCK_REASONS",
    "CLOCK_REASONS",
    "SEVERITY_RANK",
    "XID_TABLE",
    "XidInfo",
    "decode_clock_reasons",
    "decode_xid",
]

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
