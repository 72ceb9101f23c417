"""The GPU screen driven with Textual's Pilot on the embedded demo incident (frozen clock).

The demo serves dcgm-exporter series through the real Prometheus client: llm-server's H100 at
~97 % framebuffer on gpu-h100-node-1 and an XID 79 on gpu-h100-node-2 GPU 1. Local GPUs come
from a fake pynvml (tests/test_nvml.py) injected into the context's DrillDown, so the tests do
not depend on the host having (or lacking) an NVIDIA driver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.widgets import Static

from oncall_tui.app import OncallApp
from oncall_tui.clients.drill import FleetData
from oncall_tui.clients.errors import SourceUnavailable
from oncall_tui.clients.nvml import NvmlSource
from oncall_tui.clients.prometheus import PromResult
from oncall_tui.core.gpu.dcgm import missing_counters
from oncall_tui.core.gpu.fleet import build_fleet, fleet_row
from oncall_tui.core.gpu.history import gpu_history_queries
from oncall_tui.demo import PROMETHEUS_URL, DemoIncident, DemoTransport, demo_settings
from oncall_tui.models.prometheus import MatrixResult
from oncall_tui.screens.gpu import GpuScreen
from oncall_tui.screens.triage import TriageScreen
from oncall_tui.widgets.gpu import CellTable, FleetTable, plan_fleet_columns
from oncall_tui.widgets.tables import AlertsTable

from .test_app import T0, Clock, loaded, make_app
from .test_hostile_ui import assert_inert, terminal_bytes
from .test_nvml import (
    GIB,
    FakeGpu,
    FakeNvml,
    LibraryNotFound,
    NotSupported,
    _fake_proc,
    make_fake,
    proc_info,
)

OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
XID_NODE, XID_UUID = "gpu-h100-node-2", "GPU-b1d3f5a7-9c2e-4d6f-8a0b-4c6e8f0a2b93"
FULL_NODE, FULL_UUID = "gpu-h100-node-1", "GPU-3f9a1c2e-7b4d-4e8a-9c1f-2d6b8e0a4c71"


def no_driver() -> FakeNvml:
    return FakeNvml([], init_error=LibraryNotFound)


def demo_app(nvml: Any = None, clock: Clock | None = None) -> tuple[OncallApp, DemoTransport]:
    app, transport = make_app(clock)
    app.incident.session.drill._nvml_module = nvml if nvml is not None else no_driver()
    return app, transport


async def _no_sleep(_: float) -> None:
    """Retry back-off without the wait (the retries themselves still happen)."""


def fast_retries(app: OncallApp) -> None:
    app.incident.session.prometheus.sleep = _no_sleep  # type: ignore[union-attr]


async def settle(app: OncallApp, pilot: Any, rounds: int = 4) -> None:
    """Let the screen's workers (fleet, NVML thread, debounced history) and their messages finish."""
    for _ in range(rounds):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


async def open_gpu(app: OncallApp, pilot: Any, **kw: Any) -> GpuScreen:
    await loaded(app, pilot)
    app.open_gpu(**kw)
    await settle(app, pilot)
    assert isinstance(app.screen, GpuScreen)
    return app.screen


def text_of(screen: GpuScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def fleet_rows(screen: GpuScreen) -> list[dict[str, str]]:
    table = screen.query_one(FleetTable)
    labels = [str(c.key.value) for c in table.ordered_columns]
    return [
        dict(zip(labels, (cell.plain for cell in table.get_row(row.key)), strict=True))
        for row in table.ordered_rows
    ]


def badge(screen: GpuScreen, name: str) -> str:
    texts = [str(label.render()) for label in screen.query("#sources Label")]
    return next(t for t in texts if t.startswith(name))


# ------------------------------------------------------------------------------- the fleet --
async def test_demo_fleet_xid_first_decoded_and_97_percent_gpu_mapped_to_llm_server() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_gpu(app, pilot)
        rows = fleet_rows(screen)
        assert len(rows) == 4
        first = rows[0]
        assert (first["NODE"], first["GPU"]) == (XID_NODE, "1")
        assert first["LAST XID"] == "79 GPU has fallen off the bus"
        full = next(r for r in rows if r["MEM"] == "97%")
        assert (full["NODE"], full["GPU"]) == (FULL_NODE, "0")
        assert full["POD"] == "llm-server-7d9f8-abcde" and full["SERVICE"] == "llm-server"
        assert full["NAMESPACE"] == "ml-serving"
        assert rows.index(full) == 1  # memory ≥ 95 % ranks right after the XID
        # The detail pane is about the worst GPU: what XID 79 means and what to do.
        assert screen.selected_gpu() is not None and screen.selected_gpu().uuid == XID_UUID
        xid = text_of(screen, "#gpu-xid")
        assert "XID 79" in xid and "fallen off the bus" in xid
        assert "What it means:" in xid and "Drain the node now" in xid
        assert f"UUID={XID_UUID}" in text_of(screen, "#gpu-labels")
        promql = text_of(screen, "#promql-util")
        assert f'DCGM_FI_DEV_GPU_UTIL{{UUID="{XID_UUID}"}}' in promql
        assert "DCGM_FI_DEV_FB_FREE" in text_of(screen, "#promql-memory")
        # The demo exports neither ECC nor clock-event counters: a dim note says so.
        missing = screen.query_one("#missing", Static)
        assert not missing.has_class("hidden")
        assert "ECC" in str(missing.render()) and "clock events" in str(missing.render())
        assert "default-counters.csv" in text_of(screen, "#missing-full")
        assert badge(screen, "dcgm") == "dcgm ok 0s"
        title = text_of(screen, "#fleet-title")
        assert "FLEET (dcgm-exporter)" in title and "all GPUs: 4 on 2 nodes" in title and "0s ago" in title
        assert screen.drill_target is None


async def test_moving_the_cursor_retargets_the_detail_and_its_history() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_gpu(app, pilot)
        await pilot.press("j")
        await settle(app, pilot)
        gpu = screen.selected_gpu()
        assert gpu is not None and gpu.uuid == FULL_UUID
        assert "last XID: none reported" in text_of(screen, "#gpu-xid")
        assert f'UUID="{FULL_UUID}"' in text_of(screen, "#promql-temp")
        assert "pod llm-server-7d9f8-abcde" in text_of(screen, "#gpu-summary")
        assert "memory 97%" in text_of(screen, "#gpu-summary")


async def test_history_charts_draw_the_range_and_keep_the_last_good_lines() -> None:
    """The demo cannot evaluate ``max by (UUID) (...)``: answer the range queries ourselves."""
    app, _ = demo_app()
    asked: list[tuple[str, float, float, float]] = []
    failing = False
    real = app.incident.session.prometheus.query_range  # type: ignore[union-attr]

    async def query_range(expr: str, *, start: float, end: float, step: float, **kw: Any) -> PromResult[MatrixResult]:
        if "DCGM_" not in expr:
            return await real(expr, start=start, end=end, step=step, **kw)  # the triage screen's
        asked.append((expr, start, end, step))
        if failing:
            raise SourceUnavailable("cannot connect: refused", source="prometheus")
        scale = 0.01 if "FB_USED" in expr else 1.0
        values = [[start + i * step, str((40 + (i % 7) * 5) * scale)] for i in range(int((end - start) / step) + 1)]
        values[3][1] = "NaN"
        data = MatrixResult.model_validate({"resultType": "matrix", "result": [{"metric": {}, "values": values}]})
        return PromResult(data=data)

    app.incident.session.prometheus.query_range = query_range  # type: ignore[method-assign, union-attr]
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_gpu(app, pilot)
        gpu = screen.selected_gpu()
        assert gpu is not None
        queries = gpu_history_queries(gpu)
        assert sorted(a[0] for a in asked) == sorted(queries[k] for k in ("util", "memory", "temp", "power"))
        assert {a[1:] for a in asked} == {app.time_range.window(app.clock(), points=120)}
        memory = text_of(screen, "#chart-memory")
        assert "Framebuffer used (%) — now 23%" in memory and "(no data" not in memory
        assert "70" in memory and "40" in memory  # the 0–1 ratio drawn as percent
        util = text_of(screen, "#chart-util")
        assert "(no data" not in util and "(loading" not in util
        await pilot.press("ctrl+r")  # a refresh asks again
        await settle(app, pilot)
        assert len(asked) == 8
        failing = True
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert len(asked) == 12
        assert text_of(screen, "#chart-util") == util  # the last good lines stay
        assert "query failed: prometheus: cannot connect: refused" in text_of(screen, "#promql-util")


async def test_open_gpu_for_a_service_narrows_and_a_toggles_all() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_gpu(app, pilot, service="llm-server")
        rows = fleet_rows(screen)
        assert [(r["NODE"], r["GPU"]) for r in rows] == [(FULL_NODE, "0"), (FULL_NODE, "1")]
        assert {r["SERVICE"] for r in rows} == {"llm-server"}
        title = text_of(screen, "#fleet-title")
        assert "GPUs of llm-server: 2 of 4" in title and "a: all GPUs" in title
        await pilot.press("a")
        await settle(app, pilot)
        assert len(fleet_rows(screen)) == 4
        assert "a: only llm-server" in text_of(screen, "#fleet-title")
        await pilot.press("a")
        await settle(app, pilot)
        assert len(fleet_rows(screen)) == 2


async def test_node_narrowing_exact_then_substring() -> None:
    """What ``:gpu NODE`` runs (``app.open_gpu(node=NODE)``)."""
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_gpu(app, pilot, node=XID_NODE)
        assert screen.node == XID_NODE
        assert {r["NODE"] for r in fleet_rows(screen)} == {XID_NODE}
        assert len(fleet_rows(screen)) == 2
        assert f"GPUs of node {XID_NODE}: 2 of 4" in text_of(screen, "#fleet-title")
        await pilot.press("escape")
        assert isinstance(app.screen, TriageScreen)
        app.open_gpu(node="node-1")  # no exact name: substring
        await settle(app, pilot)
        assert {r["NODE"] for r in fleet_rows(app.screen)} == {FULL_NODE}  # type: ignore[arg-type]
        await pilot.press("escape")
        app.open_gpu(node="nosuchnode")
        await settle(app, pilot)
        title = text_of(app.screen, "#fleet-title")  # type: ignore[arg-type]
        assert "no node matches 'nosuchnode'" in title and FULL_NODE in title
        assert fleet_rows(app.screen) == []  # type: ignore[arg-type]


async def test_gpu_command_line_shows_one_node() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        app.run_command(f":gpu {XID_NODE}")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, GpuScreen) and screen.node == XID_NODE
        assert {r["NODE"] for r in fleet_rows(screen)} == {XID_NODE}


# ------------------------------------------------------------------------- the u pivot --
async def _select_alert(screen: TriageScreen, pilot, name: str) -> None:  # type: ignore[no-untyped-def]
    """``tab`` to the alerts table and ``j`` down to ``name``, as a responder does."""
    table = screen.query_one(AlertsTable)
    await pilot.press("tab")
    assert screen.focused is table
    alert = next(a for a in screen.data.alerts if a.name == name)  # type: ignore[union-attr]
    keys = [str(r.key.value) for r in table.ordered_rows]
    await pilot.press("g", *["j"] * keys.index(alert.fingerprint))


async def test_u_on_an_llm_server_alert_opens_its_gpus() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        triage = await loaded(app, pilot)
        await _select_alert(triage, pilot, "LLMServerHighErrorRate")
        await pilot.pause()
        assert triage.selected_alert() is not None and triage.selected_alert().service == "llm-server"
        await pilot.press("u")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, GpuScreen) and screen.service == "llm-server"
        assert {r["SERVICE"] for r in fleet_rows(screen)} == {"llm-server"}
        assert "GPUs of llm-server" in text_of(screen, "#fleet-title")
        await pilot.press("escape")
        assert isinstance(app.screen, TriageScreen)


async def test_u_on_the_gpu_alert_and_a_gpu_target() -> None:
    """The demo's GPU alert carries no ``service`` label, but it names its GPU: ``u`` passes
    the whole target, so the screen picks the alert's GPU and narrows to the service on it."""
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        triage = await loaded(app, pilot)
        await _select_alert(triage, pilot, "GPUFramebufferMemoryHigh")
        await pilot.pause()
        alert = triage.selected_alert()
        assert alert is not None and alert.service is None
        await pilot.press("u")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, GpuScreen) and screen.service == "llm-server"
        gpu = screen.selected_gpu()
        assert gpu is not None and gpu.uuid == FULL_UUID  # the alert's GPU, not the worst one
        assert screen.query_one(FleetTable).cursor_row == 0 and len(fleet_rows(screen)) == 2


# --------------------------------------------------------------------------- failures --
async def test_prometheus_down_marks_the_fleet_stale_and_keeps_the_rows() -> None:
    clock = Clock()
    app, transport = demo_app(clock=clock)
    fast_retries(app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_gpu(app, pilot)
        before = fleet_rows(screen)
        transport.set_down(PROMETHEUS_URL, True)
        clock.now += 45
        await screen.load_fleet().wait()
        await settle(app, pilot)
        assert fleet_rows(screen) == before  # the last good grid stays
        assert screen.query_one(FleetTable).has_class("stale")
        assert badge(screen, "dcgm").startswith("dcgm DOWN since ") and badge(screen, "dcgm").endswith(", data 45s old")
        problems = screen.query_one("#problems", Static)
        assert not problems.has_class("hidden")
        text = str(problems.render())
        assert text.startswith("STALE: ") and "cannot connect" in text and "45s ago" in text
        assert "Connection refused" in text
        transport.set_down(PROMETHEUS_URL, False)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert badge(screen, "dcgm") == "dcgm ok 0s" and problems.has_class("hidden")
        assert not screen.query_one(FleetTable).has_class("stale")


async def test_prometheus_down_from_the_start_says_down() -> None:
    app, transport = demo_app()
    fast_retries(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        transport.set_down(PROMETHEUS_URL, True)
        app.open_gpu()
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, GpuScreen)
        assert badge(screen, "dcgm") .startswith("dcgm DOWN since ")
        assert str(screen.query_one("#problems", Static).render()).startswith("DOWN: prometheus: cannot connect")
        assert "Prometheus unreachable" in text_of(screen, "#fleet-title")
        assert fleet_rows(screen) == []


# ------------------------------------------------------------------------- local NVML --
async def test_local_gpus_from_nvml_with_na_fields_and_processes(tmp_path: Path) -> None:
    _fake_proc(tmp_path, 4242, uid=0, cmdline=b"vllm\0serve\0meta-llama/Llama-3.1-70B\0")
    unsupported = {
        "nvmlDeviceGetPowerUsage": NotSupported,
        "nvmlDeviceGetTotalEccErrors": NotSupported,
        "nvmlDeviceGetRemappedRows": NotSupported,
        "nvmlDeviceGetRetiredPages": NotSupported,
        "nvmlDeviceGetCurrentClocksEventReasons": NotSupported,
    }
    fake = FakeNvml([FakeGpu(index=0), FakeGpu(index=1, name="Tesla T4", fail=unsupported, temperature=88)])
    fake.gpus[0].compute = [proc_info(4242, 70 * GIB)]
    fake.emit_xid(0, 48)
    app, _ = demo_app()
    app.incident.session.drill._nvml = NvmlSource(fake, proc=tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_gpu(app, pilot)
        assert screen.query_one("#local-none").has_class("hidden")
        assert "LOCAL GPUs (NVML) · driver 550.127.05 · 2 GPUs" in text_of(screen, "#local-title")
        table = screen.query_one("#local", CellTable)
        labels = [str(c.key.value) for c in table.ordered_columns]
        rows = [dict(zip(labels, (c.plain for c in table.get_row(r.key)), strict=True)) for r in table.ordered_rows]
        healthy, t4 = rows
        assert healthy["NAME"] == "H100 80GB HBM3" and healthy["UTIL SM/MEM"] == "87%/41%"
        assert healthy["MEMORY"] == "60.0G/80.0G" and healthy["POWER"] == "512/700W"
        assert healthy["CLOCK SM/MEM"] == "1755/2619MHz" and healthy["THROTTLE"] == "SwPowerCap"
        assert healthy["ECC VOL c/u"] == "3/0" and healthy["ECC AGG c/u"] == "120/1"
        assert healthy["RETIRED/REMAP"] == "rows 2c/0u"
        assert healthy["LAST XID"] == "48 Double-bit ECC error (DBE)"
        assert t4["NAME"] == "Tesla T4" and t4["TEMP"] == "88°C"
        assert t4["POWER"] == "n/a/700W"
        assert (t4["ECC VOL c/u"], t4["ECC AGG c/u"], t4["RETIRED/REMAP"], t4["THROTTLE"]) == ("n/a",) * 4
        dim = table.get_row("1")[labels.index("ECC VOL c/u")]
        assert isinstance(dim, Text) and dim.style == "dim"
        # Processes of the selected local GPU (GPU 0): PID, user, GPU memory, command.
        assert "processes on GPU 0: 1" in text_of(screen, "#procs-title")
        procs = screen.query_one("#procs", CellTable)
        assert [c.plain for c in procs.get_row("4242")] == ["4242", "root", "70.0G", "vllm serve meta-llama/Llama-3.1-70B"]
        assert badge(screen, "nvml") == "nvml ok 2 GPU"
        # tab goes fleet → local → processes; moving to GPU 1 shows its (empty) process list.
        await pilot.press("tab")
        assert app.focused is table
        await pilot.press("j")
        await settle(app, pilot)
        assert "processes on GPU 1: none" in text_of(screen, "#procs-title")
        assert screen.query_one("#procs").has_class("hidden")
        await pilot.press("tab")
        assert app.focused is screen.query_one(FleetTable)


async def test_without_a_driver_one_dim_line_says_no_local_gpu() -> None:
    app, _ = demo_app(no_driver())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_gpu(app, pilot)
        line = screen.query_one("#local-none", Static)
        assert not line.has_class("hidden")
        assert str(line.render()) == "no local GPU: NVML library (libnvidia-ml.so.1) not found: no NVIDIA driver"
        assert line.size.height == 1
        for hidden in ("#local-title", "#local", "#procs-title", "#procs"):
            assert screen.query_one(hidden).has_class("hidden")
        assert badge(screen, "nvml") == "nvml n/a"
        assert len(fleet_rows(screen)) == 4  # the fleet does not care


# ------------------------------------------------------------------------- keys, sizes --
async def test_keys_enter_focuses_detail_escape_goes_back() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_gpu(app, pilot)
        assert app.focused is screen.query_one(FleetTable)
        await pilot.press("enter")
        assert app.focused is screen.query_one("#detail")
        await pilot.press("escape")  # first back to the table...
        assert app.focused is screen.query_one(FleetTable) and app.screen is screen
        await pilot.press("4")  # the GPU screen's own key does not stack another one
        assert app.screen is screen and len(app.screen_stack) == 2
        await pilot.press("escape")  # ...then off the screen
        assert isinstance(app.screen, TriageScreen)


async def test_bindings_have_ids_and_can_be_remapped() -> None:
    ids = {b.id for b in GpuScreen.BINDINGS}  # type: ignore[union-attr]
    assert {"back", "refresh", "gpu-detail", "gpu-all", "next-pane"} <= ids
    clock = Clock()
    transport = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    from .test_app import settings

    app = OncallApp(settings(keymap={"gpu-all": "A"}), transport=transport, clock=clock, periodic_refresh=False)
    app.incident.session.drill._nvml_module = no_driver()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_gpu(app, pilot, service="llm-server")
        await pilot.press("a")
        await settle(app, pilot)
        assert len(fleet_rows(screen)) == 2  # old key does nothing
        await pilot.press("A")
        await settle(app, pilot)
        assert len(fleet_rows(screen)) == 4


async def test_usable_at_80x24_worst_rows_visible() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_gpu(app, pilot)
        table = screen.query_one(FleetTable)
        assert table.region.height >= 5  # header + the four GPUs
        assert table.region.bottom <= 24 - 4  # room left for the notes, local line and detail
        columns = [str(c.key.value) for c in table.ordered_columns]
        assert {"NODE", "GPU", "MEM", "LAST XID", "SERVICE"} <= set(columns)
        assert sum(c.get_render_width(table) for c in table.ordered_columns) <= 80
        assert screen.query_one("#detail").region.height >= 3
        assert screen.query_one("#local-none").region.bottom < 24
        await pilot.press("j")
        await settle(app, pilot)
        await pilot.resize_terminal(200, 50)
        await settle(app, pilot)
        wide = [str(c.key.value) for c in table.ordered_columns]
        assert {"POD", "NAMESPACE", "MODEL", "POWER"} <= set(wide)
        assert table.ordered_columns[wide.index("LAST XID")].width > 24  # widths follow the size
        assert screen.selected_gpu() is not None and screen.selected_gpu().uuid == FULL_UUID  # type: ignore[union-attr]
        assert table.cursor_row == 1


def test_fleet_columns_fit_the_width() -> None:
    rows = [fleet_row(g) for g in _hostile_fleet().gpus]
    for width in (80, 100, 120, 160, 220):
        planned = plan_fleet_columns(rows, width)
        assert sum(w + 2 for _, _, w in planned) <= width - 2
        labels = [label for label, _, _ in planned]
        assert {"NODE", "GPU", "MEM", "LAST XID", "SERVICE"} <= set(labels)
    narrow = [label for label, _, _ in plan_fleet_columns(rows, 40)]  # too narrow: scrolls
    assert narrow == ["NODE", "GPU", "MEM", "LAST XID", "SERVICE"]
    wide = [label for label, _, _ in plan_fleet_columns(rows, 220)]
    assert wide == ["NODE", "GPU", "MODEL", "UTIL", "MEM", "TEMP", "POWER", "LAST XID", "POD", "NAMESPACE", "SERVICE"]


# --------------------------------------------------------------------------- hostile --
HOSTILE_POD = "[bold red]x[/]" + OSC52
HOSTILE_NS = "[@click=app.quit]ns[/]"
HOSTILE_MODEL = "\x1b[2J\x1b[HAll GPUs healthy"


def _hostile_fleet() -> FleetData:
    base = {"gpu": "0", "UUID": "GPU-hostile-0", "Hostname": "node-x [/] y", "modelName": HOSTILE_MODEL}
    labels = [
        {**base, "pod": HOSTILE_POD, "namespace": HOSTILE_NS, "service": "svc\x1b]8;;https://evil.example/\x1b\\"},
        {**base, "gpu": "1", "UUID": "GPU-hostile-1", "pod": "rm -rf /var/data\rstatus ok", "namespace": "[$error]FAKE[/]"},
    ]
    results = {
        "DCGM_FI_DEV_GPU_UTIL": [(l, 50.0) for l in labels],
        "DCGM_FI_DEV_XID_ERRORS": [(labels[0], 79.0), (labels[1], 0.0)],
    }
    gpus = build_fleet(results)
    return FleetData(gpus=gpus, missing=missing_counters(results), fetched_at=T0)


async def test_hostile_labels_device_names_and_commands_render_inert(tmp_path: Path) -> None:
    _fake_proc(tmp_path, 777, uid=0, cmdline=b"python\0-c\0" + OSC52.encode() + b"\0[bold]boom[/]\0")
    fake = make_fake(1, pid=777)
    fake.gpus[0].name = "[@click=app.quit]H100[/]" + OSC52
    app, _ = demo_app()
    app.incident.session.drill._nvml = NvmlSource(fake, proc=tmp_path)

    async def hostile_fleet(**_: Any) -> FleetData:
        return _hostile_fleet()

    app.incident.session.drill.fleet = hostile_fleet  # type: ignore[method-assign]
    async with app.run_test(size=(200, 60)) as pilot:
        screen = await open_gpu(app, pilot)
        rows = fleet_rows(screen)
        pods = {r["POD"] for r in rows}
        assert "[bold red]x[/]\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in pods  # literal, visible
        assert "rm -rf /var/data\\rstatus ok" in pods
        assert {r["NAMESPACE"] for r in rows} == {HOSTILE_NS, "[$error]FAKE[/]"}
        assert rows[0]["NODE"] == "node-x [/] y"
        assert "\\x1b[2J" in rows[0]["MODEL"]
        assert "[bold red]x[/]\\x1b]52" in text_of(screen, "#gpu-labels")
        assert "\\x1b[2J" in text_of(screen, "#gpu-title")
        local = screen.query_one("#local", CellTable)
        assert local.get_row("0")[1].plain == "[@click=app.quit]H100[/]\\x1b]52;c;ZWNobyBwd25lZA==\\x07"
        command = screen.query_one("#procs", CellTable).get_row("777")[3].plain
        assert command == "python -c \\x1b]52;c;ZWNobyBwd25lZA==\\x07 [bold]boom[/]"
        out = terminal_bytes(app)
        assert_inert(out)
        assert "ZWNobyBwd25lZA" in out  # it is on screen, as text
        await pilot.click(FleetTable, offset=(60, 1))  # clicking a "[@click=…]" cell does nothing
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, GpuScreen)


# -------------------------------------------------------------------------- snapshots --
def _snapshot_app(nvml: Any = None, proc: Path | None = None) -> OncallApp:
    clock = lambda: T0
    transport = DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock))
    app = OncallApp(demo_settings(), transport=transport, clock=clock, periodic_refresh=False)
    if proc is not None:
        app.incident.session.drill._nvml = NvmlSource(nvml, proc=proc)
    else:
        app.incident.session.drill._nvml_module = nvml or no_driver()
    return app


async def _open_gpu_screen(pilot: Any) -> None:
    app = pilot.app
    await app.first_load.wait()
    await pilot.pause()
    app.open_gpu()
    await settle(app, pilot)
    await pilot.wait_for_scheduled_animations()


def test_gpu_screen_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    _fake_proc(tmp_path, 4242, uid=0, cmdline=b"\0".join([b"vllm", b"serve", b"meta-llama/Llama-3.1-70B-Instruct", b"-tp", b"2"]))
    fake = FakeNvml([FakeGpu(index=0), FakeGpu(index=1, util=(12, 3), memory=(80 * GIB, 2 * GIB), reasons=0x1)])
    fake.gpus[0].compute = [proc_info(4242, 70 * GIB)]
    app = _snapshot_app(fake, tmp_path)
    assert snap_compare(app, terminal_size=(120, 40), run_before=_open_gpu_screen)


def test_gpu_screen_snapshot_80x24_no_driver(snap_compare: Any) -> None:
    assert snap_compare(_snapshot_app(), terminal_size=(80, 24), run_before=_open_gpu_screen)
