"""NvmlSource against a fake pynvml: every field fails on its own, nothing escapes snapshot(),
a host without a driver is quiet, XID events, MIG, processes and /proc parsing.

:class:`FakeNvml` mimics pynvml's surface (``NVMLError_*`` subclasses with ``value``, init/
shutdown, handles, units as documented: bytes, %, mW, °C, MHz); the benchmark reuses it.
"""

from __future__ import annotations

import os
import pwd
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from oncall_tui.clients.nvml import (
    NA,
    NA_TEXT,
    LocalGpu,
    NoLocalGpu,
    NvmlSource,
    local_gpu_row,
    show,
    throttled,
)

# --- the fake pynvml -------------------------------------------------------------------------


class NVMLError(Exception):
    """Like pynvml's: ``value`` is the NVML return code; subclasses take no arguments."""

    _strings: ClassVar[dict[int, str]] = {
        1: "Uninitialized", 3: "Not Supported", 4: "Insufficient Permissions", 6: "Not Found",
        9: "Driver Not Loaded", 10: "Timeout", 12: "NVML Shared Library Not Found",
        15: "GPU is lost", 999: "Unknown Error",
    }  # fmt: skip

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return self._strings.get(self.value, f"NVML Error with code {self.value}")


def _error_class(name: str, value: int) -> type[NVMLError]:
    def init(self: NVMLError) -> None:
        NVMLError.__init__(self, value)

    return type(name, (NVMLError,), {"__init__": init})


NotSupported = _error_class("NVMLError_NotSupported", 3)
NoPermission = _error_class("NVMLError_NoPermission", 4)
NotFound = _error_class("NVMLError_NotFound", 6)
DriverNotLoaded = _error_class("NVMLError_DriverNotLoaded", 9)
NvmlTimeout = _error_class("NVMLError_Timeout", 10)
LibraryNotFound = _error_class("NVMLError_LibraryNotFound", 12)
GpuIsLost = _error_class("NVMLError_GpuIsLost", 15)
UnknownError = _error_class("NVMLError_Unknown", 999)

GIB = 2**30
NO_ID = 0xFFFFFFFF


@dataclass
class FakeGpu:
    """One fake device; ``fail`` maps a pynvml function name to the error class it raises."""

    index: int
    name: str | bytes = "NVIDIA H100 80GB HBM3"
    util: tuple[int, int] = (87, 41)
    memory: tuple[int, int] = (80 * GIB, 60 * GIB)  # total, used (bytes)
    temperature: int = 71
    power_mw: int = 512_345
    limit_mw: int = 700_000
    clocks: dict[int, int] = field(default_factory=lambda: {0: 1755, 1: 1755, 2: 2619})
    max_clocks: dict[int, int] = field(default_factory=lambda: {0: 1980, 1: 1980, 2: 2619})
    reasons: int = 0x4  # SwPowerCap
    ecc: dict[tuple[int, int], int] = field(
        default_factory=lambda: {(0, 0): 3, (1, 0): 0, (0, 1): 120, (1, 1): 1}
    )
    retired: dict[int, list[int]] = field(default_factory=lambda: {0: [0x1000], 1: []})
    retired_pending: int = 0
    remapped: tuple[int, int, int, int] = (2, 0, 0, 0)
    mig: tuple[int, int] = (0, 0)
    mig_slots: int = 0
    mig_devices: dict[int, SimpleNamespace] = field(default_factory=dict)
    compute: list[SimpleNamespace] = field(default_factory=list)
    graphics: list[SimpleNamespace] = field(default_factory=list)
    fail: dict[str, type[Exception]] = field(default_factory=dict)

    @property
    def uuid(self) -> str:
        return f"GPU-{self.index:08x}-0000-0000-0000-000000000000"


def proc_info(pid: int, used: int | None, gi: int = NO_ID) -> SimpleNamespace:
    """What nvmlDeviceGet*RunningProcesses returns (usedGpuMemory None when not available)."""
    return SimpleNamespace(pid=pid, usedGpuMemory=used, gpuInstanceId=gi, computeInstanceId=NO_ID)


class FakeNvml:
    """An object that looks like the pynvml module to NvmlSource."""

    NVMLError = NVMLError
    NVMLError_NotSupported = NotSupported
    NVMLError_NoPermission = NoPermission
    NVMLError_NotFound = NotFound
    NVMLError_DriverNotLoaded = DriverNotLoaded
    NVMLError_Timeout = NvmlTimeout
    NVMLError_LibraryNotFound = LibraryNotFound
    NVMLError_GpuIsLost = GpuIsLost
    NVMLError_Unknown = UnknownError

    NVML_CLOCK_GRAPHICS, NVML_CLOCK_SM, NVML_CLOCK_MEM = 0, 1, 2
    NVML_TEMPERATURE_GPU = 0
    NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 0, 1
    NVML_VOLATILE_ECC, NVML_AGGREGATE_ECC = 0, 1
    NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS = 0
    NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR = 1
    NVML_DEVICE_MIG_DISABLE, NVML_DEVICE_MIG_ENABLE = 0, 1
    nvmlEventTypeXidCriticalError = 0x8

    def __init__(self, gpus: list[FakeGpu], *, init_error: type[Exception] | None = None) -> None:
        self.gpus = gpus
        self.init_error = init_error
        self.calls: dict[str, int] = {}
        self.pending_events: list[SimpleNamespace] = []
        self.event_waits: list[int] = []
        self.event_sets_freed = 0
        self.fail_global: dict[str, type[Exception]] = {}
        self.lost_handles: set[int] = set()

    def _call(self, name: str, handle: Any = None) -> Any:
        self.calls[name] = self.calls.get(name, 0) + 1
        if name in self.fail_global:
            raise self.fail_global[name]()
        if handle is not None and name in handle.fail:
            raise handle.fail[name]()
        return handle

    def emit_xid(self, index: int, code: int) -> None:
        self.pending_events.append(
            SimpleNamespace(device=self.gpus[index], eventType=0x8, eventData=code,
                            gpuInstanceId=NO_ID, computeInstanceId=NO_ID)
        )  # fmt: skip

    # library
    def nvmlInit(self) -> None:
        self._call("nvmlInit")
        if self.init_error:
            raise self.init_error()

    def nvmlShutdown(self) -> None:
        self._call("nvmlShutdown")

    def nvmlSystemGetDriverVersion(self) -> str:
        self._call("nvmlSystemGetDriverVersion")
        return "550.127.05"

    def nvmlDeviceGetCount(self) -> int:
        self._call("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        self._call("nvmlDeviceGetHandleByIndex")
        if index in self.lost_handles:
            raise GpuIsLost()
        return self.gpus[index]

    # static fields
    def nvmlDeviceGetName(self, h: FakeGpu) -> str | bytes:
        return self._call("nvmlDeviceGetName", h).name

    def nvmlDeviceGetUUID(self, h: Any) -> str:
        return self._call("nvmlDeviceGetUUID", h).uuid

    def nvmlDeviceGetMaxClockInfo(self, h: FakeGpu, kind: int) -> int:
        return self._call("nvmlDeviceGetMaxClockInfo", h).max_clocks[kind]

    # dynamic fields
    def nvmlDeviceGetUtilizationRates(self, h: FakeGpu) -> SimpleNamespace:
        gpu, memory = self._call("nvmlDeviceGetUtilizationRates", h).util
        return SimpleNamespace(gpu=gpu, memory=memory)

    def nvmlDeviceGetMemoryInfo(self, h: Any) -> SimpleNamespace:
        total, used = self._call("nvmlDeviceGetMemoryInfo", h).memory
        return SimpleNamespace(total=total, used=used, free=total - used)

    def nvmlDeviceGetTemperature(self, h: FakeGpu, sensor: int) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        return self._call("nvmlDeviceGetTemperature", h).temperature

    def nvmlDeviceGetPowerUsage(self, h: FakeGpu) -> int:
        return self._call("nvmlDeviceGetPowerUsage", h).power_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, h: FakeGpu) -> int:
        return self._call("nvmlDeviceGetEnforcedPowerLimit", h).limit_mw

    def nvmlDeviceGetClockInfo(self, h: FakeGpu, kind: int) -> int:
        return self._call("nvmlDeviceGetClockInfo", h).clocks[kind]

    def nvmlDeviceGetCurrentClocksEventReasons(self, h: FakeGpu) -> int:
        return self._call("nvmlDeviceGetCurrentClocksEventReasons", h).reasons

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, h: FakeGpu) -> int:
        return self._call("nvmlDeviceGetCurrentClocksThrottleReasons", h).reasons

    def nvmlDeviceGetTotalEccErrors(self, h: FakeGpu, error_type: int, counter: int) -> int:
        return self._call("nvmlDeviceGetTotalEccErrors", h).ecc[(error_type, counter)]

    def nvmlDeviceGetRetiredPages(self, h: FakeGpu, cause: int) -> list[int]:
        return list(self._call("nvmlDeviceGetRetiredPages", h).retired[cause])

    def nvmlDeviceGetRetiredPagesPendingStatus(self, h: FakeGpu) -> int:
        return self._call("nvmlDeviceGetRetiredPagesPendingStatus", h).retired_pending

    def nvmlDeviceGetRemappedRows(self, h: FakeGpu) -> tuple[int, int, int, int]:
        return self._call("nvmlDeviceGetRemappedRows", h).remapped

    def nvmlDeviceGetMigMode(self, h: FakeGpu) -> list[int]:
        return list(self._call("nvmlDeviceGetMigMode", h).mig)

    def nvmlDeviceGetMaxMigDeviceCount(self, h: FakeGpu) -> int:
        return self._call("nvmlDeviceGetMaxMigDeviceCount", h).mig_slots

    def nvmlDeviceGetMigDeviceHandleByIndex(self, h: FakeGpu, index: int) -> SimpleNamespace:
        gpu = self._call("nvmlDeviceGetMigDeviceHandleByIndex", h)
        if index not in gpu.mig_devices:
            raise NotFound()
        return gpu.mig_devices[index]

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, h: Any) -> FakeGpu:
        self._call("nvmlDeviceGetDeviceHandleFromMigDeviceHandle", h)
        if not hasattr(h, "parent"):
            raise NVMLError(2)  # NVML_ERROR_INVALID_ARGUMENT: not a MIG device
        return h.parent

    def nvmlDeviceGetGpuInstanceId(self, h: SimpleNamespace) -> int:
        return self._call("nvmlDeviceGetGpuInstanceId", h).gi

    def nvmlDeviceGetComputeInstanceId(self, h: SimpleNamespace) -> int:
        return self._call("nvmlDeviceGetComputeInstanceId", h).ci

    def nvmlDeviceGetComputeRunningProcesses(self, h: FakeGpu) -> list[SimpleNamespace]:
        return list(self._call("nvmlDeviceGetComputeRunningProcesses", h).compute)

    def nvmlDeviceGetGraphicsRunningProcesses(self, h: FakeGpu) -> list[SimpleNamespace]:
        return list(self._call("nvmlDeviceGetGraphicsRunningProcesses", h).graphics)

    # events
    def nvmlEventSetCreate(self) -> object:
        self._call("nvmlEventSetCreate")
        return object()

    def nvmlDeviceRegisterEvents(self, h: FakeGpu, types: int, event_set: object) -> None:
        self._call("nvmlDeviceRegisterEvents", h)
        assert types & self.nvmlEventTypeXidCriticalError

    def nvmlEventSetWait(self, event_set: object, timeout_ms: int) -> SimpleNamespace:
        self._call("nvmlEventSetWait")
        self.event_waits.append(timeout_ms)
        if not self.pending_events:
            raise NvmlTimeout()
        return self.pending_events.pop(0)

    def nvmlEventSetFree(self, event_set: object) -> None:
        self._call("nvmlEventSetFree")
        self.event_sets_freed += 1


class OldFakeNvml(FakeNvml):
    """A pynvml from before the throttle → clocks-event rename."""

    nvmlDeviceGetCurrentClocksEventReasons = None  # type: ignore[assignment]


def make_fake(n: int = 8, *, pid: int | None = None) -> FakeNvml:
    """``n`` healthy H100s; GPU 0 runs this process (so /proc lookups really happen)."""
    gpus = [FakeGpu(index=i, temperature=60 + i) for i in range(n)]
    me = os.getpid() if pid is None else pid
    gpus[0].compute = [proc_info(me, 40 * GIB)]
    return FakeNvml(gpus)


MISSING_PID = 4_194_304 + 17  # above Linux's largest pid_max: never a live process

# --- tests -----------------------------------------------------------------------------------


def _all_readings(gpu: LocalGpu) -> list[Any]:
    return [
        gpu.name, gpu.uuid, gpu.util_gpu, gpu.util_memory, gpu.memory_used, gpu.memory_total,
        gpu.temperature_c, gpu.power_w, gpu.power_limit_w, gpu.clock_reasons, gpu.remapped_rows,
        gpu.xid_supported, gpu.mig_mode, gpu.mig_instances, gpu.processes,
        *vars_of(gpu.clocks), *vars_of(gpu.ecc), *vars_of(gpu.retired_pages),
    ]  # fmt: skip


def vars_of(obj: Any) -> list[Any]:
    return [getattr(obj, name) for name in obj.__slots__]


def test_eight_healthy_gpus_with_documented_units() -> None:
    fake = make_fake(8)
    with NvmlSource(fake) as source:
        assert source.available() is True
        snap = source.snapshot()
    assert snap.available and snap.reason == ""
    assert snap.driver_version == "550.127.05"
    assert [g.index for g in snap.gpus] == list(range(8))
    g = snap.gpus[0]
    assert g.name == "NVIDIA H100 80GB HBM3" and g.uuid.startswith("GPU-00000000")
    assert (g.util_gpu, g.util_memory) == (87, 41)
    assert (g.memory_used, g.memory_total) == (60 * GIB, 80 * GIB)
    assert g.temperature_c == 60
    assert g.power_w == pytest.approx(512.345) and g.power_limit_w == 700.0
    assert (g.clocks.sm, g.clocks.mem, g.clocks.graphics) == (1755, 2619, 1755)
    assert (g.clocks.sm_max, g.clocks.mem_max, g.clocks.graphics_max) == (1980, 2619, 1980)
    assert g.clock_reasons == ["SwPowerCap"] and not throttled(g)
    assert (g.ecc.volatile_corrected, g.ecc.volatile_uncorrected) == (3, 0)
    assert (g.ecc.aggregate_corrected, g.ecc.aggregate_uncorrected) == (120, 1)
    assert (g.retired_pages.multiple_single_bit, g.retired_pages.double_bit) == (1, 0)
    assert g.retired_pages.pending is False
    assert g.remapped_rows.corrected == 2 and g.remapped_rows.failure is False
    assert g.mig_mode == (0, 0) and g.mig_instances == []
    assert g.xid_supported is True and g.xid_events == []
    [proc] = g.processes
    assert proc.pid == os.getpid() and proc.kinds == ("compute",)
    assert proc.used_memory == 40 * GIB
    assert proc.user == pwd.getpwuid(os.getuid()).pw_name
    assert "python" in proc.command.lower() or "pytest" in proc.command
    assert snap.gpus[7].processes == []
    assert snap.duration_ms > 0 and snap.taken_at > 0


def test_every_field_fails_alone_and_becomes_na() -> None:
    fake = make_fake(8)
    broken = fake.gpus[3]
    broken.fail = {
        "nvmlDeviceGetTotalEccErrors": NotSupported,
        "nvmlDeviceGetRetiredPages": NotSupported,
        "nvmlDeviceGetRetiredPagesPendingStatus": NotSupported,
        "nvmlDeviceGetRemappedRows": NotSupported,
        "nvmlDeviceGetMigMode": NotSupported,
        "nvmlDeviceGetComputeRunningProcesses": NoPermission,
        "nvmlDeviceGetGraphicsRunningProcesses": NoPermission,
        "nvmlDeviceGetTemperature": UnknownError,
        "nvmlDeviceGetEnforcedPowerLimit": NotSupported,
        "nvmlDeviceGetCurrentClocksEventReasons": NotSupported,
    }
    snap = NvmlSource(fake).snapshot()
    g = snap.gpus[3]
    # what did not fail is still there
    assert g.util_gpu == 87 and g.power_w == pytest.approx(512.345) and g.clocks.sm == 1755
    for value in (g.ecc.volatile_uncorrected, g.ecc.aggregate_corrected, g.retired_pages.double_bit,
                  g.retired_pages.pending, g.remapped_rows, g.mig_mode, g.mig_instances,
                  g.power_limit_w, g.clock_reasons):  # fmt: skip
        assert isinstance(value, NA) and value.reason == "not supported on this GPU"
        assert show(value) == NA_TEXT == str(value)
    assert isinstance(g.processes, NA) and "permission" in g.processes.reason
    assert isinstance(g.temperature_c, NA) and g.temperature_c.reason == "unknown NVML error"
    # the neighbours are untouched
    assert snap.gpus[2].temperature_c == 62 and snap.gpus[4].ecc.volatile_corrected == 3


def test_lost_gpu_and_lost_handle_are_all_na() -> None:
    fake = make_fake(8)
    fake.gpus[5].fail = {name: GpuIsLost for name in dir(FakeNvml) if name.startswith("nvmlDevice")}
    fake.lost_handles = {7}
    snap = NvmlSource(fake).snapshot()
    assert snap.available and len(snap.gpus) == 8
    for index in (5, 7):
        readings = _all_readings(snap.gpus[index])
        assert all(isinstance(r, NA) for r in readings), index
        assert {r.reason for r in readings} == {"GPU is lost (fallen off the bus?)"}
        row = local_gpu_row(snap.gpus[index])
        assert row["temp"] == row["util"] == row["mem"] == NA_TEXT
    assert snap.gpus[6].temperature_c == 66


def test_unexpected_exceptions_and_missing_functions_never_escape() -> None:
    fake = make_fake(8)
    fake.gpus[1].fail = {"nvmlDeviceGetUtilizationRates": RuntimeError, "nvmlDeviceGetClockInfo": KeyError}
    fake.nvmlDeviceGetRemappedRows = None  # type: ignore[assignment]  # not in this pynvml
    snap = NvmlSource(fake).snapshot()
    g = snap.gpus[1]
    assert isinstance(g.util_gpu, NA) and isinstance(g.clocks.sm, NA)
    assert isinstance(snap.gpus[0].remapped_rows, NA)


@pytest.mark.parametrize(
    ("error", "words"),
    [(LibraryNotFound, "not found"), (DriverNotLoaded, "driver not loaded"), (NoPermission, "permission")],
)
def test_no_driver_is_quiet_no_local_gpu(capfd: pytest.CaptureFixture[str], error: type, words: str) -> None:
    fake = FakeNvml([], init_error=error)
    source = NvmlSource(fake)
    result = source.available()
    assert isinstance(result, NoLocalGpu) and not result
    assert words in result.reason.lower() and str(result).startswith("no local GPU")
    snap = source.snapshot()
    assert not snap.available and snap.gpus == [] and snap.reason == result.reason
    source.close()
    assert fake.calls["nvmlInit"] == 1  # the failure is remembered, not retried every refresh
    assert "nvmlShutdown" not in fake.calls
    assert capfd.readouterr() == ("", "")


def test_pynvml_missing_is_quiet(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    source = NvmlSource()
    assert not source.available()
    snap = source.snapshot()
    assert not snap.available and "nvidia-ml-py" in snap.reason
    assert capfd.readouterr() == ("", "")


def test_real_pynvml_without_driver_is_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    """On a host with the library but no GPU (CI), the real module says so without output."""
    source = NvmlSource()
    snap = source.snapshot()
    source.close()
    if snap.available:
        pytest.skip("this host has a GPU")
    assert snap.reason and snap.gpus == []
    assert capfd.readouterr() == ("", "")


def test_zero_gpus_is_no_local_gpu() -> None:
    fake = FakeNvml([])
    source = NvmlSource(fake)
    assert not source.available() and "no GPU" in source.available().reason  # type: ignore[union-attr]
    source.close()
    assert fake.calls["nvmlShutdown"] == 1


def test_init_once_shutdown_on_close() -> None:
    fake = make_fake(8)
    source = NvmlSource(fake)
    for _ in range(3):
        assert source.snapshot().available
    assert fake.calls["nvmlInit"] == 1 and fake.calls["nvmlEventSetCreate"] == 1
    assert fake.calls["nvmlDeviceGetName"] == 8  # static fields are read once
    assert fake.calls["nvmlDeviceGetUtilizationRates"] == 24
    source.close()
    source.close()
    assert fake.calls["nvmlShutdown"] == 1 and fake.event_sets_freed == 1


def test_xid_events_polled_without_waiting() -> None:
    fake = make_fake(8)
    source = NvmlSource(fake)
    assert source.snapshot().gpus[2].xid_events == []
    fake.emit_xid(2, 79)
    fake.emit_xid(2, 48)
    fake.emit_xid(6, 13)
    snap = source.snapshot()
    assert [e.code for e in snap.gpus[2].xid_events] == [79, 48]
    assert snap.gpus[2].last_xid is not None and snap.gpus[2].last_xid.title == "Double-bit ECC error (DBE)"
    assert [e.code for e in snap.gpus[6].xid_events] == [13]
    assert snap.gpus[0].xid_events == []
    assert set(fake.event_waits) == {0}
    assert local_gpu_row(snap.gpus[2])["xid"].startswith("48 ")
    # events stay visible on later snapshots
    assert [e.code for e in source.snapshot().gpus[2].xid_events] == [79, 48]


def test_xid_unsupported_is_said() -> None:
    fake = make_fake(8)
    fake.gpus[4].fail = {"nvmlDeviceRegisterEvents": NotSupported}
    snap = NvmlSource(fake).snapshot()
    assert isinstance(snap.gpus[4].xid_supported, NA)
    assert snap.gpus[4].xid_supported.reason == "not supported on this GPU"
    assert local_gpu_row(snap.gpus[4])["xid"] == NA_TEXT
    assert snap.gpus[3].xid_supported is True

    fake = make_fake(2)
    fake.fail_global = {"nvmlEventSetCreate": NotSupported}
    snap = NvmlSource(fake).snapshot()
    assert all(isinstance(g.xid_supported, NA) for g in snap.gpus)
    assert snap.gpus[0].temperature_c == 60


def test_old_pynvml_throttle_reasons() -> None:
    fake = OldFakeNvml(make_fake(2).gpus)
    fake.gpus[1].reasons = 0x1 | 0x40 | 0x8000
    snap = NvmlSource(fake).snapshot()
    assert snap.gpus[1].clock_reasons == ["GpuIdle", "HwThermalSlowdown", "0x8000"]
    assert throttled(snap.gpus[1])
    assert fake.calls["nvmlDeviceGetCurrentClocksThrottleReasons"] == 2
    assert local_gpu_row(snap.gpus[1])["throttle"] == "HwThermalSlowdown,0x8000"


def test_mig_instances() -> None:
    fake = make_fake(8)
    gpu = fake.gpus[6]
    gpu.mig, gpu.mig_slots = (1, 1), 7

    def mig(slot: int, gi: int) -> SimpleNamespace:
        return SimpleNamespace(
            fail={}, uuid=f"MIG-{slot}", gi=gi, ci=0, memory=(10 * GIB, 3 * GIB), parent=gpu
        )

    gpu.mig_devices = {0: mig(0, 1), 3: mig(3, 5)}
    gpu.compute = [proc_info(MISSING_PID, 3 * GIB, gi=5)]
    source = NvmlSource(fake)
    source.snapshot()
    fake.pending_events.append(  # an XID reported against a MIG device lands on its parent
        SimpleNamespace(device=gpu.mig_devices[3], eventType=0x8, eventData=94,
                        gpuInstanceId=5, computeInstanceId=0)
    )  # fmt: skip
    snap = source.snapshot()
    [event] = snap.gpus[6].xid_events
    assert (event.code, event.gpu_instance_id, event.compute_instance_id) == (94, 5, 0)
    g = snap.gpus[6]
    assert g.mig_mode == (1, 1)
    assert [(m.index, m.uuid, m.gpu_instance_id, m.compute_instance_id) for m in g.mig_instances] == [
        (0, "MIG-0", 1, 0),
        (3, "MIG-3", 5, 0),
    ]
    assert g.mig_instances[1].memory_used == 3 * GIB and g.mig_instances[1].memory_total == 10 * GIB
    assert g.processes[0].gpu_instance_id == 5
    assert snap.gpus[0].processes[0].gpu_instance_id is None


def _fake_proc(root: Path, pid: int, *, uid: int, cmdline: bytes, comm: str = "x") -> None:
    d = root / str(pid)
    d.mkdir(parents=True)
    (d / "status").write_text(f"Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t0\t0\t0\t0\n")
    (d / "cmdline").write_bytes(cmdline)
    (d / "comm").write_text(comm + "\n")


def _self_status(root: Path, nspid: str) -> None:
    (root / "self").mkdir(parents=True, exist_ok=True)
    (root / "self" / "status").write_text(f"Name:\tpython\nNSpid:\t{nspid}\n")


def test_processes_from_proc(tmp_path: Path) -> None:
    _self_status(tmp_path, "4242")
    hostile = b"python\0-c\0print('\x1b]52;c;ZWNobyBwd25lZA==\x07')\0"
    _fake_proc(tmp_path, 100, uid=0, cmdline=b"vllm\0serve\0meta-llama/Llama-3.1-8B\0")
    _fake_proc(tmp_path, 101, uid=4_000_000, cmdline=hostile)
    _fake_proc(tmp_path, 102, uid=0, cmdline=b"", comm="kworker")
    fake = make_fake(1, pid=100)
    fake.gpus[0].compute = [proc_info(100, 70 * GIB), proc_info(101, None), proc_info(MISSING_PID, GIB)]
    fake.gpus[0].graphics = [proc_info(100, 70 * GIB), proc_info(102, 0)]
    procs = {p.pid: p for p in NvmlSource(fake, proc=tmp_path).snapshot().gpus[0].processes}
    assert sorted(procs) == [100, 101, 102, MISSING_PID]
    assert procs[100].kinds == ("compute", "graphics") and procs[100].used_memory == 70 * GIB
    assert procs[100].user == "root" and procs[100].command == "vllm serve meta-llama/Llama-3.1-8B"
    assert procs[101].user == "4000000"  # no passwd entry: the number
    assert isinstance(procs[101].used_memory, NA) and show(procs[101].used_memory) == NA_TEXT
    assert "\x1b]52" in procs[101].command  # raw in the model...
    shown = show(procs[101].command)  # ...inert on screen
    assert "\x1b" not in shown and "\\x1b]52" in shown
    assert procs[102].command == "[kworker]" and procs[102].kinds == ("graphics",)
    assert isinstance(procs[MISSING_PID].user, NA) and isinstance(procs[MISSING_PID].command, NA)
    assert "exited" in procs[MISSING_PID].command.reason


def test_processes_in_another_pid_namespace(tmp_path: Path) -> None:
    _self_status(tmp_path, "4242\t7")  # we are pid 7 inside a container
    _fake_proc(tmp_path, 100, uid=0, cmdline=b"unrelated\0")
    fake = make_fake(1, pid=100)
    [proc] = NvmlSource(fake, proc=tmp_path).snapshot().gpus[0].processes
    assert proc.used_memory == 40 * GIB
    assert isinstance(proc.command, NA) and "PID namespace" in proc.command.reason
    assert isinstance(proc.user, NA)


def test_bytes_names_and_hostile_device_name_are_sanitised_for_display() -> None:
    fake = make_fake(2)
    fake.gpus[0].name = b"NVIDIA A100-SXM4-80GB"
    fake.gpus[1].name = "NVIDIA \x1b[2J[@click=app.quit]GPU[/]"
    snap = NvmlSource(fake).snapshot()
    assert snap.gpus[0].name == "NVIDIA A100-SXM4-80GB"
    assert snap.gpus[1].name.startswith("NVIDIA \x1b[2J")
    row = local_gpu_row(snap.gpus[1])
    assert "\x1b" not in row["name"] and row["name"] == "\\x1b[2J[@click=app.quit]GPU[/]"
    assert all(isinstance(v, str) and "\x1b" not in v for v in row.values())


def test_local_gpu_row_formats() -> None:
    snap = NvmlSource(make_fake(1)).snapshot()
    row = local_gpu_row(snap.gpus[0])
    assert row == {
        "gpu": "0", "name": "H100 80GB HBM3", "util": "87%", "mem": "60.0G/80.0G", "temp": "60°C",
        "power": "512/700W", "sm_clock": "1755MHz", "throttle": "SwPowerCap", "ecc_uncorr": "0",
        "xid": "-", "procs": "1",
    }  # fmt: skip
