"""GPU logic without any UI or I/O, one module per concept:

- :mod:`.health`: what XID codes and clocks-event ("throttle") reasons mean;
- :mod:`.dcgm`: dcgm-exporter's metrics, the fleet's instant queries, the counter families
  its counters CSV may leave out;
- :mod:`.workload`: which pod and service a GPU serves;
- :mod:`.fleet`: the fleet grid (:class:`FleetGpu`, worst first), nodes, display rows;
- :mod:`.history`: range-query PromQL for one GPU's charts;
- :mod:`.serving`: LLM-serving saturation PromQL.

NVML (the local GPUs) is :mod:`oncall_tui.clients.nvml`. Code in this repository imports from
the precise module; the names below are re-exported for compatibility.
"""

from oncall_tui.core.gpu.dcgm import (
    CLOCK_EVENTS,
    CLOCK_THROTTLE,
    COUNTER_FAMILIES,
    ENABLE_COUNTERS_HOWTO,
    FLEET_QUERIES,
    METRIC_ALIASES,
    METRIC_FIELDS,
    CounterFamily,
    fleet_combined_query,
    fleet_queries,
    group_by_metric,
    missing_counters,
    missing_counters_note,
)
from oncall_tui.core.gpu.fleet import (
    FLEET_COLUMNS,
    NODE_LABELS,
    FleetGpu,
    NodeSummary,
    build_fleet,
    filter_node,
    fleet_nodes,
    fleet_row,
    gpu_badness,
    sort_worst_first,
)
from oncall_tui.core.gpu.health import (
    ALARMING_CLOCK_REASONS,
    CLOCK_REASONS,
    SEVERITY_RANK,
    XID_TABLE,
    XidInfo,
    decode_clock_reasons,
    decode_xid,
)
from oncall_tui.core.gpu.history import (
    HISTORY_METRICS,
    gpu_history_queries,
)
from oncall_tui.core.gpu.serving import (
    llm_saturation_queries,
)
from oncall_tui.core.gpu.workload import (
    ServiceRule,
    service_for,
    strip_pod_suffix,
    workload_labels,
)

__all__ = [
    "ALARMING_CLOCK_REASONS",
    "CLOCK_EVENTS",
    "CLOCK_REASONS",
    "CLOCK_THROTTLE",
    "COUNTER_FAMILIES",
    "ENABLE_COUNTERS_HOWTO",
    "FLEET_COLUMNS",
    "FLEET_QUERIES",
    "HISTORY_METRICS",
    "METRIC_ALIASES",
    "METRIC_FIELDS",
    "NODE_LABELS",
    "SEVERITY_RANK",
    "XID_TABLE",
    "CounterFamily",
    "FleetGpu",
    "NodeSummary",
    "ServiceRule",
    "XidInfo",
    "build_fleet",
    "decode_clock_reasons",
    "decode_xid",
    "filter_node",
    "fleet_combined_query",
    "fleet_nodes",
    "fleet_queries",
    "fleet_row",
    "gpu_badness",
    "gpu_history_queries",
    "group_by_metric",
    "llm_saturation_queries",
    "missing_counters",
    "missing_counters_note",
    "service_for",
    "sort_worst_first",
    "strip_pod_suffix",
    "workload_labels",
]
