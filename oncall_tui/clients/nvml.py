"""Local GPUs through NVML (pynvml from ``nvidia-ml-py``), for a host the engineer is logged into.

:class:`NvmlSource` is synchronous: the UI calls :meth:`NvmlSource.snapshot` in a thread worker.
pynvml is imported lazily (or injected, for tests), so importing this module is cheap and a
host without the library or driver is fine: :meth:`NvmlSource.available` then returns a falsy
:class:`NoLocalGpu` with the reason, and nothing is printed.

Every field is read on its own. A field NVML cannot give (``NVMLError_NotSupported``,
``NoPermission``, ``GpuIsLost``, ``Unknown``, a function this pynvml lacks...) becomes an
:class:`NA` carrying the reason, shown as "n/a"; :meth:`~NvmlSource.snapshot` never raises.
Strings from the driver and from ``/proc`` (device names, command lines, user names) are kept
raw; :func:`show` and :func:`local_gpu_row` sanitise for display.
"""

from __future__ import annotations

import pwd
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TypeAlias, TypeVar

from oncall_tui.core import format as fmt
from oncall_tui.core.gpu.health import (
    ALARMING_CLOCK_REASONS,
    decode_clock_reasons,
    decode_xid,
)
from oncall_tui.text.sanitize import sanitize_for_display

T = TypeVar("T")

NA_TEXT = "n/a"
#: Longest command line kept per process (bytes read from /proc/<pid>/cmdline).
MAX_CMDLINE = 4096
#: XID events kept per GPU.
MAX_XID_EVENTS = 32
#: Events drained from the event set per snapshot (a storm must not stall a refresh).
MAX_EVENTS_PER_POLL = 64
#: NVML's "not available" value for 32-bit ids (e.g. gpuInstanceId outside MIG).
_NO_ID = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class NA:
    """A field NVML could not provide; ``str()`` is "n/a", ``reason`` says why."""

    reason: str

    def __str__(self) -> str:
        return NA_TEXT

    def __bool__(self) -> bool:
        return False


#: A value or the reason it is missing.
Reading: TypeAlias = T | NA


@dataclass(frozen=True, slots=True)
class NoLocalGpu:
    """Result of :meth:`NvmlSource.available` when there is nothing to show (falsy)."""

    reason: str

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return f"no local GPU: {self.reason}"


@dataclass(slots=True)
class Clocks:
    """Current and maximum clocks in MHz."""

    sm: Reading[int]
    mem: Reading[int]
    graphics: Reading[int]
    sm_max: Reading[int]
    mem_max: Reading[int]
    graphics_max: Reading[int]


@dataclass(slots=True)
class EccErrors:
    """ECC error counts: volatile (since driver load) and aggregate (lifetime)."""

    volatile_corrected: Reading[int]
    volatile_uncorrected: Reading[int]
    aggregate_corrected: Reading[int]
    aggregate_uncorrected: Reading[int]


@dataclass(slots=True)
class RetiredPages:
    """Pages retired after ECC errors (GPUs before A100)."""

    multiple_single_bit: Reading[int]
    double_bit: Reading[int]
    pending: Reading[bool]


@dataclass(frozen=True, slots=True)
class RemappedRows:
    """Row remapping (A100 and later): rows remapped, a remap pending a reset, or failed."""

    corrected: int
    uncorrected: int
    pending: bool
    failure: bool


@dataclass(frozen=True, slots=True)
class XidEvent:
    """One XID critical error event NVML delivered."""

    gpu_index: int
    code: int
    at: float
    gpu_instance_id: int | None = None
    compute_instance_id: int | None = None

    @property
    def title(self) -> str:
        info = decode_xid(self.code)
        return info.title if info else ""


@dataclass(slots=True)
class MigInstance:
    """One MIG device of a MIG-enabled GPU."""

    index: int
    uuid: Reading[str]
    gpu_instance_id: Reading[int]
    compute_instance_id: Reading[int]
    memory_used: Reading[int]
    memory_total: Reading[int]


@dataclass(slots=True)
class GpuProcess:
    """A process using a GPU. ``user``/``command`` come from ``/proc`` and are raw."""

    pid: int
    kinds: tuple[str, ...]
    used_memory: Reading[int]
    user: Reading[str]
    command: Reading[str]
    gpu_instance_id: int | None = None


@dataclass(slots=True)
class LocalGpu:
    """Everything read about one GPU; memory in bytes, power in W, temperature in °C."""

    index: int
    name: Reading[str]
    uuid: Reading[str]
    util_gpu: Reading[int]
    util_memory: Reading[int]
    memory_used: Reading[int]
    memory_total: Reading[int]
    temperature_c: Reading[int]
    power_w: Reading[float]
    power_limit_w: Reading[float]
    clocks: Clocks
    clock_reasons: Reading[list[str]]
    ecc: EccErrors
    retired_pages: RetiredPages
    remapped_rows: Reading[RemappedRows]
    #: Whether NVML delivers XID events for this GPU; events are those seen since NVML init.
    xid_supported: Reading[bool]
    xid_events: list[XidEvent]
    mig_mode: Reading[tuple[int, int]]
    mig_instances: Reading[list[MigInstance]]
    processes: Reading[list[GpuProcess]]

    @property
    def last_xid(self) -> XidEvent | None:
        return self.xid_events[-1] if self.xid_events else None


@dataclass(slots=True)
class LocalGpuSnapshot:
    """One poll of every local GPU. ``available`` False means "no local GPU" (see ``reason``)."""

    available: bool
    reason: str = ""
    driver_version: Reading[str] = NA("not read")
    gpus: list[LocalGpu] = field(default_factory=list)
    taken_at: float = 0.0
    duration_ms: float = 0.0


_REASONS = {
    "NVMLError_NotSupported": "not supported on this GPU",
    "NVMLError_NoPermission": "no permission (needs root or a capability)",
    "NVMLError_GpuIsLost": "GPU is lost (fallen off the bus?)",
    "NVMLError_Unknown": "unknown NVML error",
    "NVMLError_Uninitialized": "NVML not initialised",
    "NVMLError_LibraryNotFound": "NVML library (libnvidia-ml.so.1) not found: no NVIDIA driver",
    "NVMLError_DriverNotLoaded": "NVIDIA driver not loaded",
    "NVMLError_FunctionNotFound": "not in this driver's NVML",
    "NVMLError_NotFound": "not found",
    "NVMLError_InsufficientPower": "insufficient external power",
    "NVMLError_ResetRequired": "GPU needs a reset",
    "NVMLError_CorruptedInforom": "corrupted InfoROM",
    "NVMLError_LibRmVersionMismatch": "NVML/driver version mismatch (reboot after a driver upgrade?)",
    "NVMLError_Timeout": "timed out",
}


def nvml_reason(err: BaseException) -> str:
    """A short, safe description of an NVML (or other) error."""
    name = type(err).__name__
    if name in _REASONS:
        return _REASONS[name]
    if isinstance(err, AttributeError):
        return "not available in this pynvml version"
    try:
        text = str(err)
    except Exception:  # noqa: BLE001 - pynvml's __str__ calls into the library, maybe gone
        text = ""
    return sanitize_for_display(text or name, max_chars=200)


def _text(value: Any) -> str:
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)


def _int_pair(values: Any) -> tuple[int, int]:
    first, second = values
    return int(first), int(second)


def _read(fn: Callable[[], T]) -> Reading[T]:
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - one field failing must never stop the snapshot
        return NA(nvml_reason(err))


def _nested_pid_namespace(proc: Path) -> bool:
    """True when we run in a child PID namespace (a container), where NVML's host PIDs don't
    name our /proc entries."""
    try:
        for line in (proc / "self" / "status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return len(line.split()) > 2
    except OSError:
        pass
    return False


class NvmlSource:
    """Local GPUs via NVML: init once, :meth:`snapshot` per refresh, :meth:`close` at exit.

    ``nvml`` is the pynvml module (default: imported on first use); ``proc`` the procfs root.
    Thread-safe: calls are serialised.
    """

    def __init__(self, nvml: Any = None, *, proc: Path | str = "/proc") -> None:
        self._nvml = nvml
        self._proc = Path(proc)
        self._lock = threading.Lock()
        self._ready = False
        self._failure: str | None = None
        self._handles: list[Reading[Any]] = []
        self._static: list[dict[str, Any]] = []
        self._driver: Reading[str] = NA("not read")
        self._events: Any = None
        self._xid_supported: list[Reading[bool]] = []
        self._xid_log: list[deque[XidEvent]] = []
        self._uuid_index: dict[str, int] = {}
        self._users: dict[int, str] = {}
        self._pids: dict[int, tuple[Reading[str], Reading[str]]] = {}  # this snapshot's
        self._nested_ns: bool | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def available(self) -> bool | NoLocalGpu:
        """``True`` when NVML is up with at least one GPU, else a falsy :class:`NoLocalGpu`."""
        with self._lock:
            self._ensure()
            return True if self._failure is None else NoLocalGpu(self._failure)

    def close(self) -> None:
        """Free the event set and shut NVML down (safe to call twice)."""
        with self._lock:
            if not self._ready:
                self._failure = None
                return
            nvml = self._nvml
            if self._events is not None:
                _read(lambda: nvml.nvmlEventSetFree(self._events))
                self._events = None
            _read(nvml.nvmlShutdown)
            self._ready = False
            self._failure = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure(self) -> None:
        if self._ready or self._failure is not None:
            return
        if self._nvml is None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    import pynvml  # type: ignore[import-not-found]
            except Exception as err:  # noqa: BLE001 - ImportError, or a broken install
                self._failure = f"pynvml not importable ({type(err).__name__}); install nvidia-ml-py"
                return
            self._nvml = pynvml
        nvml = self._nvml
        try:
            nvml.nvmlInit()
        except Exception as err:  # noqa: BLE001 - LibraryNotFound, DriverNotLoaded...
            self._failure = nvml_reason(err)
            return
        self._ready = True
        try:
            count = int(nvml.nvmlDeviceGetCount())
        except Exception as err:  # noqa: BLE001 - reported as the reason
            self._failure = f"cannot count GPUs: {nvml_reason(err)}"
            return
        if count == 0:
            self._failure = "driver loaded but no GPU visible"
            return
        self._driver = _read(lambda: _text(nvml.nvmlSystemGetDriverVersion()))
        self._handles = [_read(lambda i=i: nvml.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]
        self._static = [self._read_static(h) for h in self._handles]
        self._xid_log = [deque(maxlen=MAX_XID_EVENTS) for _ in range(count)]
        self._register_xid_events()

    def _read_static(self, handle: Reading[Any]) -> dict[str, Any]:
        """Fields that do not change while the driver is loaded (read once)."""
        if isinstance(handle, NA):
            return dict.fromkeys(("name", "uuid", "sm_max", "mem_max", "graphics_max"), handle)
        nvml = self._nvml
        return {
            "name": _read(lambda: _text(nvml.nvmlDeviceGetName(handle))),
            "uuid": _read(lambda: _text(nvml.nvmlDeviceGetUUID(handle))),
            "sm_max": _read(lambda: nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_SM)),
            "mem_max": _read(lambda: nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_MEM)),
            "graphics_max": _read(
                lambda: nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_GRAPHICS)
            ),
        }

    def _register_xid_events(self) -> None:
        nvml = self._nvml
        events = _read(nvml.nvmlEventSetCreate)
        if isinstance(events, NA):
            self._xid_supported = [NA(f"event set: {events.reason}")] * len(self._handles)
            return
        self._events = events
        xid_type = getattr(nvml, "nvmlEventTypeXidCriticalError", 0x8)
        self._xid_supported = []
        for index, handle in enumerate(self._handles):
            if isinstance(handle, NA):
                self._xid_supported.append(handle)
                continue
            registered = _read(lambda h=handle: nvml.nvmlDeviceRegisterEvents(h, xid_type, events))
            self._xid_supported.append(registered if isinstance(registered, NA) else True)
            uuid = self._static[index]["uuid"]
            if not isinstance(uuid, NA):
                self._uuid_index[uuid] = index

    # -- polling ------------------------------------------------------------------------------

    def snapshot(self) -> LocalGpuSnapshot:
        """Read every GPU now. Never raises; costs one NVML call per field."""
        start = time.perf_counter()
        with self._lock:
            try:
                self._ensure()
                if self._failure is not None:
                    snap = LocalGpuSnapshot(available=False, reason=self._failure)
                else:
                    self._poll_xids()
                    self._pids.clear()
                    gpus = [self._read_gpu(i, h) for i, h in enumerate(self._handles)]
                    snap = LocalGpuSnapshot(available=True, driver_version=self._driver, gpus=gpus)
            except Exception as err:  # noqa: BLE001 - a bug here must not kill the UI worker
                snap = LocalGpuSnapshot(available=False, reason=f"NVML poll failed: {nvml_reason(err)}")
        snap.taken_at = time.time()
        snap.duration_ms = (time.perf_counter() - start) * 1000
        return snap

    def _poll_xids(self) -> None:
        if self._events is None:
            return
        nvml = self._nvml
        xid_type = getattr(nvml, "nvmlEventTypeXidCriticalError", 0x8)
        for _ in range(MAX_EVENTS_PER_POLL):
            try:
                data = nvml.nvmlEventSetWait(self._events, 0)
            except Exception:  # noqa: BLE001 - NVMLError_Timeout: nothing pending
                return
            if not int(getattr(data, "eventType", 0)) & xid_type:
                continue
            index = self._event_gpu(data.device)
            if index is None:
                continue
            gi, ci = getattr(data, "gpuInstanceId", _NO_ID), getattr(data, "computeInstanceId", _NO_ID)
            self._xid_log[index].append(
                XidEvent(
                    gpu_index=index,
                    code=int(data.eventData),
                    at=time.time(),
                    gpu_instance_id=None if gi in (None, _NO_ID) else int(gi),
                    compute_instance_id=None if ci in (None, _NO_ID) else int(ci),
                )
            )

    def _event_gpu(self, device: Any) -> int | None:
        """Index of the GPU an event came from (a MIG device maps to its parent)."""
        nvml = self._nvml
        uuid = _read(lambda: _text(nvml.nvmlDeviceGetUUID(device)))
        if isinstance(uuid, str) and uuid in self._uuid_index:
            return self._uuid_index[uuid]
        parent = _read(lambda: nvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(device))
        if isinstance(parent, NA):
            return None
        uuid = _read(lambda: _text(nvml.nvmlDeviceGetUUID(parent)))
        return self._uuid_index.get(uuid) if isinstance(uuid, str) else None

    def _read_gpu(self, index: int, handle: Reading[Any]) -> LocalGpu:
        static = self._static[index]
        if isinstance(handle, NA):
            return self._lost_gpu(index, handle, static)
        nvml = self._nvml
        util = _read(lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
        memory = _read(lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        mig_mode: Reading[tuple[int, int]] = _read(lambda: _int_pair(nvml.nvmlDeviceGetMigMode(handle)))

        def clock(kind: str) -> Reading[int]:
            return _read(lambda: int(nvml.nvmlDeviceGetClockInfo(handle, getattr(nvml, kind))))

        def ecc(error_type: str, counter: str) -> Reading[int]:
            return _read(
                lambda: int(
                    nvml.nvmlDeviceGetTotalEccErrors(
                        handle, getattr(nvml, error_type), getattr(nvml, counter)
                    )
                )
            )

        def retired(cause: str) -> Reading[int]:
            return _read(lambda: len(nvml.nvmlDeviceGetRetiredPages(handle, getattr(nvml, cause))))

        return LocalGpu(
            index=index,
            name=static["name"],
            uuid=static["uuid"],
            util_gpu=util if isinstance(util, NA) else int(util.gpu),
            util_memory=util if isinstance(util, NA) else int(util.memory),
            memory_used=memory if isinstance(memory, NA) else int(memory.used),
            memory_total=memory if isinstance(memory, NA) else int(memory.total),
            temperature_c=_read(
                lambda: int(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
            ),
            power_w=_read(lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0),
            power_limit_w=_read(lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0),
            clocks=Clocks(
                sm=clock("NVML_CLOCK_SM"),
                mem=clock("NVML_CLOCK_MEM"),
                graphics=clock("NVML_CLOCK_GRAPHICS"),
                sm_max=static["sm_max"],
                mem_max=static["mem_max"],
                graphics_max=static["graphics_max"],
            ),
            clock_reasons=_read(lambda: decode_clock_reasons(self._clock_mask(handle))),
            ecc=EccErrors(
                volatile_corrected=ecc("NVML_MEMORY_ERROR_TYPE_CORRECTED", "NVML_VOLATILE_ECC"),
                volatile_uncorrected=ecc("NVML_MEMORY_ERROR_TYPE_UNCORRECTED", "NVML_VOLATILE_ECC"),
                aggregate_corrected=ecc("NVML_MEMORY_ERROR_TYPE_CORRECTED", "NVML_AGGREGATE_ECC"),
                aggregate_uncorrected=ecc("NVML_MEMORY_ERROR_TYPE_UNCORRECTED", "NVML_AGGREGATE_ECC"),
            ),
            retired_pages=RetiredPages(
                multiple_single_bit=retired("NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS"),
                double_bit=retired("NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR"),
                pending=_read(lambda: bool(nvml.nvmlDeviceGetRetiredPagesPendingStatus(handle))),
            ),
            remapped_rows=_read(lambda: self._remapped_rows(handle)),
            xid_supported=self._xid_supported[index] if self._xid_supported else NA("not registered"),
            xid_events=list(self._xid_log[index]),
            mig_mode=mig_mode,
            mig_instances=mig_mode if isinstance(mig_mode, NA) else _read(
                lambda: self._mig_instances(handle, mig_mode[0])  # type: ignore[index]
            ),
            processes=self._processes(handle),
        )

    def _lost_gpu(self, index: int, na: NA, static: dict[str, Any]) -> LocalGpu:
        """A GPU whose handle could not be obtained: every field carries the handle's reason."""
        return LocalGpu(
            index=index,
            name=static["name"],
            uuid=static["uuid"],
            util_gpu=na,
            util_memory=na,
            memory_used=na,
            memory_total=na,
            temperature_c=na,
            power_w=na,
            power_limit_w=na,
            clocks=Clocks(na, na, na, na, na, na),
            clock_reasons=na,
            ecc=EccErrors(na, na, na, na),
            retired_pages=RetiredPages(na, na, na),
            remapped_rows=na,
            xid_supported=na,
            xid_events=[],
            mig_mode=na,
            mig_instances=na,
            processes=na,
        )

    def _clock_mask(self, handle: Any) -> int:
        nvml = self._nvml
        getter = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
        if getter is None:  # pynvml before the throttle → clocks-event rename
            getter = nvml.nvmlDeviceGetCurrentClocksThrottleReasons
        return int(getter(handle))

    def _remapped_rows(self, handle: Any) -> RemappedRows:
        corrected, uncorrected, pending, failure = self._nvml.nvmlDeviceGetRemappedRows(handle)
        return RemappedRows(int(corrected), int(uncorrected), bool(pending), bool(failure))

    def _mig_instances(self, handle: Any, current: int) -> list[MigInstance]:
        nvml = self._nvml
        if current != getattr(nvml, "NVML_DEVICE_MIG_ENABLE", 1):
            return []
        instances = []
        for slot in range(int(nvml.nvmlDeviceGetMaxMigDeviceCount(handle))):
            try:
                mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot)
            except Exception:  # noqa: BLE001, S112 - NotFound: an empty slot
                continue
            memory = _read(lambda m=mig: nvml.nvmlDeviceGetMemoryInfo(m))
            instances.append(
                MigInstance(
                    index=slot,
                    uuid=_read(lambda m=mig: _text(nvml.nvmlDeviceGetUUID(m))),
                    gpu_instance_id=_read(lambda m=mig: int(nvml.nvmlDeviceGetGpuInstanceId(m))),
                    compute_instance_id=_read(lambda m=mig: int(nvml.nvmlDeviceGetComputeInstanceId(m))),
                    memory_used=memory if isinstance(memory, NA) else int(memory.used),
                    memory_total=memory if isinstance(memory, NA) else int(memory.total),
                )
            )
        return instances

    # -- processes ----------------------------------------------------------------------------

    def _processes(self, handle: Any) -> Reading[list[GpuProcess]]:
        nvml = self._nvml
        lists = {
            "compute": _read(lambda: nvml.nvmlDeviceGetComputeRunningProcesses(handle)),
            "graphics": _read(lambda: nvml.nvmlDeviceGetGraphicsRunningProcesses(handle)),
        }
        if all(isinstance(v, NA) for v in lists.values()):
            return lists["compute"]
        merged: dict[int, GpuProcess] = {}
        for kind, infos in lists.items():
            if isinstance(infos, NA):
                continue
            for info in infos:
                pid = int(info.pid)
                used = getattr(info, "usedGpuMemory", None)
                if pid in merged:
                    merged[pid].kinds += (kind,)
                    continue
                gi = getattr(info, "gpuInstanceId", None)
                user, command = self._describe_pid(pid)
                merged[pid] = GpuProcess(
                    pid=pid,
                    kinds=(kind,),
                    used_memory=NA("not reported by the driver") if used is None else int(used),
                    user=user,
                    command=command,
                    gpu_instance_id=None if gi in (None, _NO_ID) else int(gi),
                )
        return sorted(merged.values(), key=lambda p: p.pid)

    def _describe_pid(self, pid: int) -> tuple[Reading[str], Reading[str]]:
        """(user, command line) from ``/proc/<pid>``; ``NA`` when gone, hidden or foreign."""
        if self._nested_ns is None:
            self._nested_ns = _nested_pid_namespace(self._proc)
        if self._nested_ns:
            na = NA("host PID: this app runs in another PID namespace")
            return na, na
        if pid not in self._pids:  # one process may use several GPUs
            base = f"{self._proc}/{pid}"
            self._pids[pid] = _read_or_na(lambda: self._user(base)), _read_or_na(lambda: _cmdline(base))
        return self._pids[pid]

    def _user(self, base: str) -> str:
        with open(f"{base}/status", encoding="utf-8", errors="replace") as fh:
            status = fh.read()
        for line in status.splitlines():
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
                if uid not in self._users:
                    try:
                        self._users[uid] = pwd.getpwuid(uid).pw_name
                    except KeyError:
                        self._users[uid] = str(uid)
                return self._users[uid]
        raise ValueError("no Uid line")


def _cmdline(base: str) -> str:
    with open(f"{base}/cmdline", "rb") as fh:
        raw = fh.read(MAX_CMDLINE)
    parts = [p for p in raw.split(b"\0") if p]
    if parts:
        return " ".join(p.decode("utf-8", "backslashreplace") for p in parts)
    with open(f"{base}/comm", "rb") as fh:
        comm = fh.read(256).strip().decode("utf-8", "backslashreplace")
    return f"[{comm}]"


def _read_or_na(fn: Callable[[], str]) -> Reading[str]:
    try:
        return fn()
    except (FileNotFoundError, ProcessLookupError):
        return NA("process exited or not visible here")
    except PermissionError:
        return NA("no permission to read /proc")
    except (OSError, ValueError) as err:
        return NA(sanitize_for_display(str(err), max_chars=200))


# -- display ----------------------------------------------------------------------------------


def show(value: Reading[Any], render: Callable[[Any], str] = str) -> str:
    """Display text for a reading: "n/a" for :class:`NA`, else ``render(value)`` sanitised."""
    if isinstance(value, NA):
        return NA_TEXT
    return sanitize_for_display(render(value), max_chars=1024)


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f}G"


def local_gpu_row(gpu: LocalGpu) -> dict[str, str]:
    """Display strings for one local GPU (sanitised)."""
    mem = NA_TEXT
    if not isinstance(gpu.memory_used, NA) and not isinstance(gpu.memory_total, NA):
        mem = f"{_gib(gpu.memory_used)}/{_gib(gpu.memory_total)}"
    power = show(gpu.power_w, lambda w: f"{w:.0f}")
    if not isinstance(gpu.power_limit_w, NA):
        power += f"/{gpu.power_limit_w:.0f}W"
    reasons = gpu.clock_reasons
    last = gpu.last_xid
    return {
        "gpu": str(gpu.index),
        "name": show(gpu.name, lambda s: s.removeprefix("NVIDIA ")),
        "util": show(gpu.util_gpu, lambda v: fmt.percent(v / 100)),
        "mem": mem,
        "temp": show(gpu.temperature_c, lambda v: f"{v}°C"),
        "power": power,
        "sm_clock": show(gpu.clocks.sm, lambda v: f"{v}MHz"),
        "throttle": show(
            reasons,
            lambda r: ",".join(n for n in r if n != "GpuIdle") or "-",
        ),
        "ecc_uncorr": show(gpu.ecc.volatile_uncorrected),
        "xid": f"{last.code} {last.title}" if last else show(gpu.xid_supported, lambda _: "-"),
        "procs": show(gpu.processes, lambda p: str(len(p))),
    }


def throttled(gpu: LocalGpu) -> bool:
    """True when the clocks are held back for thermal/power-brake/slowdown reasons."""
    return not isinstance(gpu.clock_reasons, NA) and bool(
        ALARMING_CLOCK_REASONS.intersection(gpu.clock_reasons)
    )
