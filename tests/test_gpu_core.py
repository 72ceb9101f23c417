"""core.gpu: the dcgm-exporter fleet grid from the recorded exporters and Prometheus responses,
pod → service mapping, worst-first order, the missing-counters note, XID and clock-reason
decoding, :gpu NODE filtering, history and saturation PromQL (names checked against the vLLM
fixture expositions; syntax and semantics checked with promtool when it is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from oncall_tui.core.gpu.dcgm import (
    COUNTER_FAMILIES,
    FLEET_QUERIES,
    METRIC_FIELDS,
    fleet_combined_query,
    fleet_queries,
    group_by_metric,
    missing_counters,
    missing_counters_note,
)
from oncall_tui.core.gpu.fleet import build_fleet, filter_node, fleet_nodes, fleet_row
from oncall_tui.core.gpu.health import (
    CLOCK_REASONS,
    SEVERITY_RANK,
    decode_clock_reasons,
    decode_xid,
)
from oncall_tui.core.gpu.history import gpu_history_queries
from oncall_tui.core.gpu.serving import llm_saturation_queries
from oncall_tui.core.gpu.workload import ServiceRule, service_for
from oncall_tui.core.signals import PRESETS

from .conftest import FIXTURES

EXPOSITION = FIXTURES / "exposition"
PROMETHEUS = FIXTURES / "prometheus"
KNOWN = ("llm-chat", "fraud-scorer")

Results = dict[str, list[tuple[Mapping[str, str], float]]]


def exposition_results(*names: str) -> Results:
    """Metric family name → (labels, value), as an instant query per metric would return."""
    results: Results = {}
    for name in names:
        for family in text_string_to_metric_families((EXPOSITION / name).read_text()):
            for sample in family.samples:
                results.setdefault(family.name, []).append((sample.labels, sample.value))
    return results


def dcgm_results() -> Results:
    return exposition_results(
        "dcgm_exporter_h100_node__text_0.0.4.txt", "dcgm_exporter_l4_node__text_0.0.4.txt"
    )


def prom_vector(name: str) -> list[tuple[Mapping[str, str], float]]:
    body = json.loads((PROMETHEUS / name).read_text())
    return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]


def sample_names(path: Path) -> set[str]:
    """Sample names of an exposition file (also the OpenMetrics one the parser rejects)."""
    return {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in path.read_text().splitlines()
        if line and not line.startswith("#")
    }


# --- fleet -----------------------------------------------------------------------------------


def test_fleet_grid_from_the_recorded_exporters() -> None:
    fleet = build_fleet(dcgm_results(), known_services=KNOWN)
    assert len(fleet) == 5
    by_key = {(x.node, x.gpu): x for x in fleet}
    h0 = by_key["gpu-h100-node-0", "0"]
    assert h0.uuid == "GPU-aaf45dd2-442b-50b8-b903-ddb468695023"
    assert h0.model == "NVIDIA H100 80GB HBM3" and h0.node_label == "Hostname"
    assert (h0.pod, h0.namespace, h0.container, h0.service) == (
        "llm-chat-vllm-0", "ml-serving", "vllm", "llm-chat"
    )  # fmt: skip
    assert (h0.util, h0.temp_c, h0.fb_used_mib, h0.fb_free_mib) == (95, 73, 75014, 6023)
    assert h0.power_w == pytest.approx(612.339) and h0.gr_active == pytest.approx(0.8835)
    assert h0.mem_ratio == pytest.approx(75014 / (75014 + 6023))
    assert h0.xid == 0 and h0.last_xid is None and h0.xid_info is None
    assert h0.ecc_dbe_vol is None and h0.clock_reasons is None  # not exported
    l4 = by_key["gpu-l4-node-0", "1"]
    assert l4.service == "fraud-scorer" and l4.pod == "fraud-scorer-6d5f8b7c9-h7wzm"
    idle = by_key["gpu-l4-node-0", "2"]
    assert (idle.pod, idle.namespace, idle.service) == ("", "", "")
    assert fleet_row(idle)["pod"] == "idle"
    # worst first: the hot, full, busy H100 on top, the idle L4 last
    assert (fleet[0].node, fleet[0].gpu) == ("gpu-h100-node-0", "0")
    assert fleet[-1] is idle
    assert [x.badness for x in fleet] == sorted((x.badness for x in fleet), reverse=True)


def test_service_without_known_services_strips_the_ordinal() -> None:
    fleet = build_fleet(dcgm_results())
    assert {x.service for x in fleet} == {"llm-chat-vllm", "fraud-scorer", ""}


def test_fleet_from_recorded_prometheus_response() -> None:
    """Through Prometheus the idle GPU has no pod labels at all, and instance/job appear."""
    results = {"DCGM_FI_DEV_GPU_UTIL": prom_vector("query__vector__dcgm_gpu_util.json")}
    fleet = build_fleet(results, known_services=KNOWN)
    assert len(fleet) == 5
    assert {x.node for x in fleet} == {"gpu-h100-node-0", "gpu-l4-node-0"}
    idle = next(x for x in fleet if x.gpu == "2")
    assert idle.pod == "" and idle.service == "" and idle.util == 0
    assert fleet[0].util == 96 and fleet[0].pod == "llm-chat-vllm-0"
    assert all("__name__" not in x.labels for x in fleet)


def test_combined_query_result_splits_back_by_name() -> None:
    series = [
        ({**labels, "__name__": name}, value)
        for name, items in dcgm_results().items()
        for labels, value in items
    ]
    grouped = group_by_metric(series)
    assert build_fleet(grouped) == build_fleet(dcgm_results())
    assert "DCGM_FI_DEV_GPU_UTIL" in fleet_combined_query() and "THROTTLE" in fleet_combined_query()


def _set(results: Results, metric: str, node: str, gpu: str, value: float) -> None:
    series = results[metric]
    for i, (labels, _) in enumerate(series):
        if labels["Hostname"] == node and labels["gpu"] == gpu:
            series[i] = (labels, value)


def test_worst_first_xid_then_memory_then_heat() -> None:
    results = dcgm_results()
    base = {(x.node, x.gpu): x.badness for x in build_fleet(results)}
    _set(results, "DCGM_FI_DEV_XID_ERRORS", "gpu-l4-node-0", "2", 79)  # the idle L4 fell off the bus
    _set(results, "DCGM_FI_DEV_FB_USED", "gpu-h100-node-0", "1", 78_606)  # 97 % full, cooler
    _set(results, "DCGM_FI_DEV_FB_FREE", "gpu-h100-node-0", "1", 2_431)
    fleet = build_fleet(results)
    assert [(x.node, x.gpu) for x in fleet[:3]] == [
        ("gpu-l4-node-0", "2"),
        ("gpu-h100-node-0", "1"),
        ("gpu-h100-node-0", "0"),
    ]
    assert fleet[0].last_xid == 79 and "fallen off the bus" in fleet_row(fleet[0])["xid"]
    assert fleet[0].badness > base["gpu-l4-node-0", "2"] + 1000
    assert fleet[1].mem_ratio == pytest.approx(0.97, abs=0.001) and fleet[1].temp_c == 63
    assert fleet[2].temp_c == 73 and fleet[2].mem_ratio < 0.95


def test_memory_errors_and_thermal_clock_events_raise_badness() -> None:
    labels = {"Hostname": "n1", "gpu": "0", "UUID": "GPU-x", "modelName": "NVIDIA H100"}
    other = {**labels, "gpu": "1", "UUID": "GPU-y"}
    results: Results = {
        "DCGM_FI_DEV_GPU_TEMP": [(labels, 60.0), (other, 60.0)],
        # old field name (DCGM < 3.3) is accepted
        "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS": [(labels, float(0x40)), (other, float(0x1))],
        "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": [(labels, 0.0), (other, 2.0)],
    }
    fleet = build_fleet(results)
    assert [x.uuid for x in fleet] == ["GPU-y", "GPU-x"]
    assert fleet[0].memory_errors and fleet[1].clock_reason_names == ["HwThermalSlowdown"]
    assert fleet[1].badness > 300 and fleet[0].clock_reason_names == ["GpuIdle"]
    assert missing_counters(results)[0].name == "XID"


def test_nan_values_are_missing_not_numbers() -> None:
    labels = {"Hostname": "n1", "gpu": "0", "UUID": "GPU-x"}
    [x] = build_fleet({"DCGM_FI_DEV_GPU_UTIL": [(labels, float("nan"))]})
    assert x.util is None and fleet_row(x)["util"] == "–"


def test_honor_labels_off_uses_exported_labels() -> None:
    labels = {
        "Hostname": "dcgm-exporter-x7k2p", "node": "gpu-node-7", "gpu": "3", "UUID": "GPU-z",
        "pod": "dcgm-exporter-x7k2p", "namespace": "gpu-operator", "container": "exporter",
        "exported_pod": "llm-server-0", "exported_namespace": "ml", "exported_container": "vllm",
        "service": "dcgm-exporter", "job": "dcgm-exporter",
    }  # fmt: skip
    [x] = build_fleet({"DCGM_FI_DEV_GPU_UTIL": [(labels, 50.0)]})
    assert (x.pod, x.namespace, x.container, x.service) == ("llm-server-0", "ml", "vllm", "llm-server")
    assert (x.node, x.node_label) == ("gpu-node-7", "node")


@pytest.mark.parametrize(
    ("labels", "known", "service"),
    [
        ({"pod": "llm-server-0"}, (), "llm-server"),
        ({"pod": "fraud-scorer-7d9f8b-h7wzm"}, (), "fraud-scorer"),
        ({"pod": "fraud-scorer-6d5f8b7c9-2xkqp"}, (), "fraud-scorer"),
        ({"pod": "search-embedder"}, (), "search-embedder"),
        ({"pod": "ranker-v2-abcde"}, (), "ranker-v2-abcde"),  # vowels: not a generated suffix
        ({"pod": "llm-chat-vllm-1"}, ("llm", "llm-chat"), "llm-chat"),
        ({"pod": "llm-chat-vllm-1", "service": "chat"}, (), "chat"),
        ({"pod": "llm-chat-vllm-1", "exported_service": "chat2", "service": "x"}, (), "chat2"),
        ({"pod": "llm-chat-vllm-1", "service": "gpu-metrics", "job": "gpu-metrics"}, (), "llm-chat-vllm"),
        ({"pod": "llm-chat-vllm-1", "service": "nvidia-dcgm-exporter"}, (), "llm-chat-vllm"),
        ({"exported_pod": "batch-0", "pod": "dcgm-exporter-abcde"}, (), "batch"),
        ({}, (), ""),
    ],
)
def test_service_for(labels: dict[str, str], known: tuple[str, ...], service: str) -> None:
    assert service_for(labels, known=known) == service


def test_service_rule_overrides() -> None:
    rule = ServiceRule(label="app", overrides=((r"embed-.*", "search-embedder"),))
    assert service_for({"pod": "embed-gpu-0"}, rule) == "search-embedder"
    assert service_for({"pod": "x-0", "app": "ranker"}, rule) == "ranker"
    assert service_for({"pod": "x-0", "service": "ignored-now"}, rule) == "x"


def test_fleet_row_sanitises_hostile_labels_and_keeps_them_raw() -> None:
    hostile = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
    labels = {"Hostname": "n1\x1b[2J", "gpu": "0", "UUID": "GPU-x", "pod": hostile, "modelName": "[/]"}
    [x] = build_fleet({"DCGM_FI_DEV_GPU_UTIL": [(labels, 1.0)]})
    assert x.pod == hostile and x.node == "n1\x1b[2J"
    row = fleet_row(x)
    assert all("\x1b" not in v and "\x07" not in v for v in row.values())
    assert row["pod"] == "\\x1b]52;c;ZWNobyBwd25lZA==\\x07" and row["model"] == "[/]"


# --- missing counters ------------------------------------------------------------------------


def test_missing_counters_in_the_recorded_exporters() -> None:
    missing = missing_counters(dcgm_results())
    assert [f.name for f in missing] == ["ECC", "clock events", "row remapping", "retired pages"]
    note = missing_counters_note(missing)
    assert "default-counters.csv" in note and "-f" in note and "DCGM_EXPORTER_COLLECTORS" in note
    assert "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL, counter" in note
    assert "DCGM_FI_DEV_CLOCKS_EVENT_REASONS, gauge" in note
    assert "XID" not in note.splitlines()[0]


def test_missing_counters_edges() -> None:
    assert len(missing_counters({})) == len(COUNTER_FAMILIES)
    assert missing_counters({"DCGM_FI_DEV_XID_ERRORS": []})[0].name == "XID"
    full: Results = {m: [({"gpu": "0"}, 0.0)] for f in COUNTER_FAMILIES for m in f.metrics[:1]}
    assert missing_counters(full) == [] and missing_counters_note([]) == ""


# --- XID and clock reasons -------------------------------------------------------------------


@pytest.mark.parametrize("code", [13, 31, 43, 45, 48, 61, 62, 63, 64, 74, 79, 92, 93, 94, 95])
def test_required_xids_are_described(code: int) -> None:
    info = decode_xid(code)
    assert info is not None and info.known and info.code == code
    assert info.title and len(info.meaning) > 40 and len(info.action) > 30
    assert info.severity in SEVERITY_RANK


def test_xid_details_and_unknown_codes() -> None:
    fell_off = decode_xid(79.0)
    assert fell_off is not None and fell_off.title == "GPU has fallen off the bus"
    assert "Drain" in fell_off.action and "replace" in fell_off.action and fell_off.severity == "drain"
    assert decode_xid(13).severity == "app"  # type: ignore[union-attr]
    assert decode_xid(63).severity == "reset"  # type: ignore[union-attr]
    unknown = decode_xid(999)
    assert unknown is not None and not unknown.known and unknown.title == "XID 999"
    assert "xid" in unknown.action.lower()
    for nothing in (None, 0, 0.0, float("nan"), -1):
        assert decode_xid(nothing) is None


def test_clock_reasons() -> None:
    assert decode_clock_reasons(0) == []
    assert decode_clock_reasons(0x4 | 0x8) == ["SwPowerCap", "HwSlowdown"]
    assert decode_clock_reasons(float(0x20 | 0x1000)) == ["SwThermalSlowdown", "0x1000"]
    assert decode_clock_reasons(None) == [] and decode_clock_reasons(float("nan")) == []


def test_clock_reason_bits_match_pynvml() -> None:
    pynvml = pytest.importorskip("pynvml")
    for bit, name in CLOCK_REASONS.items():
        assert getattr(pynvml, f"nvmlClocksThrottleReason{name}") == bit
        if hasattr(pynvml, f"nvmlClocksEventReason{name}"):
            assert getattr(pynvml, f"nvmlClocksEventReason{name}") == bit


# --- nodes -----------------------------------------------------------------------------------


def test_nodes_and_gpu_node_filter() -> None:
    fleet = build_fleet(dcgm_results())
    nodes = fleet_nodes(fleet)
    assert [(n.node, n.gpus, n.models) for n in nodes] == [
        ("gpu-h100-node-0", 2, ("NVIDIA H100 80GB HBM3",)),
        ("gpu-l4-node-0", 3, ("NVIDIA L4",)),
    ]
    assert nodes[0].worst == fleet[0].badness and nodes[0].xids == 0
    assert [x.gpu for x in filter_node(fleet, "gpu-l4-node-0")] == ["1", "0", "2"]
    assert len(filter_node(fleet, "H100")) == 2  # case-insensitive substring when no exact match
    assert filter_node(fleet, "nope") == [] and len(filter_node(fleet, "")) == 5


# --- PromQL ----------------------------------------------------------------------------------


def test_fleet_queries_one_per_metric() -> None:
    assert FLEET_QUERIES["DCGM_FI_DEV_GPU_UTIL"] == "DCGM_FI_DEV_GPU_UTIL"
    assert set(FLEET_QUERIES) == set(METRIC_FIELDS)
    exported = sample_names(EXPOSITION / "dcgm_exporter_h100_node__text_0.0.4.txt")
    for name in (
        "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    ):  # fmt: skip
        assert name in exported
        assert FLEET_QUERIES[name] == name
    events = fleet_queries('job="dcgm"')["DCGM_FI_DEV_CLOCKS_EVENT_REASONS"]
    assert "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS" in events and 'job="dcgm"' in events


def test_history_queries() -> None:
    fleet = build_fleet(dcgm_results())
    q = gpu_history_queries(fleet[0])
    assert set(q) == {"util", "temp", "power", "gr_active", "sm_clock", "xid", "memory"}
    assert q["util"] == f'max by (UUID) (DCGM_FI_DEV_GPU_UTIL{{UUID="{fleet[0].uuid}"}})'
    assert "DCGM_FI_DEV_FB_FREE" in q["memory"] and " / (" in q["memory"]
    by_node = gpu_history_queries(node="gpu-h100-node-0", index="1")
    assert by_node["temp"] == (
        'max by (Hostname, gpu) (DCGM_FI_DEV_GPU_TEMP{Hostname="gpu-h100-node-0",gpu="1"})'
    )
    mig = gpu_history_queries(uuid='GPU-"q"', mig_instance="3")
    assert 'UUID="GPU-\\"q\\"",GPU_I_ID="3"' in mig["util"] and "by (UUID, GPU_I_ID)" in mig["util"]
    with pytest.raises(ValueError):
        gpu_history_queries(node="n1")


def test_saturation_queries_names_exist_in_vllm_fixtures() -> None:
    q = llm_saturation_queries()
    assert set(q) == {"kv_cache", "vllm_waiting", "vllm_running", "vllm_ttft_p95",
                      "vllm_tokens_per_s", "triton_queue_s", "triton_compute_s", "tgi_queue"}  # fmt: skip
    assert all("by (service" in expr for expr in q.values())
    colon = sample_names(EXPOSITION / "vllm_llm_chat_0__text_0.0.4.txt")
    underscore = sample_names(
        EXPOSITION / "vllm_llm_chat_0__openmetrics__prometheus_client_0.26_colon_bug.txt"
    )
    vllm_exprs = [v for k, v in q.items() if k.startswith("vllm_")]
    for expr in vllm_exprs:
        names = set(re.findall(r"\bvllm[:_][a-z_]+", expr))
        assert {n for n in names if n.startswith("vllm:")} <= colon, expr
        assert {n for n in names if n.startswith("vllm_")} <= underscore, expr
        assert len(names) == 2  # both spellings
    kv = re.search(r'__name__=~"([^"]+)"', q["kv_cache"])
    assert kv and any(re.fullmatch(kv.group(1), n) for n in colon)
    assert any(re.fullmatch(kv.group(1), n) for n in underscore)
    assert "histogram_quantile(0.95" in q["vllm_ttft_p95"] and "_bucket" in q["vllm_ttft_p95"]
    # Triton / TGI (not in the fixtures): the same families the signal presets use
    assert PRESETS["triton"].marker in q["triton_queue_s"]
    assert "nv_inference_queue_duration_us" in q["triton_queue_s"]
    assert "nv_inference_compute_infer_duration_us" in q["triton_compute_s"]
    assert "tgi_queue_size" in q["tgi_queue"] and "tgi_queue_size" in PRESETS["tgi"].saturation


# --- promtool: every PromQL parses, and the two vLLM spellings add up ------------------------

PROMTOOL = shutil.which("promtool")


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [str(PROMTOOL), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def _all_promql() -> dict[str, str]:
    fleet = build_fleet(dcgm_results())
    exprs = {f"fleet_{i}": q for i, q in enumerate(fleet_queries('job="dcgm-exporter"').values())}
    exprs["combined"] = fleet_combined_query()
    exprs.update({f"hist_{k}": v for k, v in gpu_history_queries(fleet[0]).items()})
    exprs.update({f"histn_{k}": v for k, v in gpu_history_queries(node="n", index="0").items()})
    exprs.update({f"sat_{k}": v for k, v in llm_saturation_queries("5m").items()})
    return exprs


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed")
def test_promql_parses(tmp_path: Path) -> None:
    rules = [{"record": f"check:{name}", "expr": expr} for name, expr in _all_promql().items()]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "gpu", "rules": rules}]}))
    result = _promtool("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed")
def test_promql_semantics_with_promtool(tmp_path: Path) -> None:
    q = llm_saturation_queries()
    hist = gpu_history_queries(uuid="GPU-1")
    gpu1 = '{UUID="GPU-1"}'
    series = [
        ('vllm:num_requests_waiting{service="a",pod="a-0"}', "3x10"),
        ('vllm_num_requests_waiting{service="a",pod="a-1"}', "4x10"),  # client_python#1177
        ('vllm_num_requests_waiting{service="b",pod="b-0"}', "5x10"),
        ('vllm:num_requests_waiting{pod="no-service"}', "9x10"),
        ('DCGM_FI_DEV_FB_USED{UUID="GPU-1",pod="p1"}', "90 90 _ _ _ _ _ _ _ _"),
        ('DCGM_FI_DEV_FB_FREE{UUID="GPU-1",pod="p1"}', "10 10 _ _ _ _ _ _ _ _"),
        ('DCGM_FI_DEV_FB_USED{UUID="GPU-1",pod="p2"}', "_ _ _ _ _ _ _ _ 50 50"),  # pod restarted
        ('DCGM_FI_DEV_FB_FREE{UUID="GPU-1",pod="p2"}', "_ _ _ _ _ _ _ _ 50 50"),
    ]
    tests = [
        {"expr": q["vllm_waiting"], "eval_time": "5m",
         "exp_samples": [{"labels": '{service="a"}', "value": 7}, {"labels": '{service="b"}', "value": 5}]},
        {"expr": hist["memory"], "eval_time": "1m", "exp_samples": [{"labels": gpu1, "value": 0.9}]},
        {"expr": hist["memory"], "eval_time": "9m", "exp_samples": [{"labels": gpu1, "value": 0.5}]},
    ]  # fmt: skip
    spec = {
        "rule_files": [],
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series],
                "promql_expr_test": tests,
            }
        ],
    }
    path = tmp_path / "test.yml"
    path.write_text(yaml.safe_dump(spec))
    result = _promtool("test", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
