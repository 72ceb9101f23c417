"""What dcgm-exporter exports and how to ask Prometheus for it: its metric names
(:data:`METRIC_FIELDS`), the instant queries for the whole fleet (:data:`FLEET_QUERIES`,
:func:`fleet_combined_query`), and the counter families its counters CSV may leave out
(:func:`missing_counters`, with how to enable them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "CLOCK_EVENTS",
    "CLOCK_THROTTLE",
    "COUNTER_FAMILIES",
    "ENABLE_COUNTERS_HOWTO",
    "FLEET_QUERIES",
    "METRIC_ALIASES",
    "METRIC_FIELDS",
    "CounterFamily",
    "fleet_combined_query",
    "fleet_queries",
    "group_by_metric",
    "missing_counters",
    "missing_counters_note",
]

# ---------------------------------------------------------------------------------------------
# Metrics and fleet queries
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
#: Old metric name → the name :data:`METRIC_FIELDS` uses.
METRIC_ALIASES = {CLOCK_THROTTLE: CLOCK_EVENTS}


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


# ---------------------------------------------------------------------------------------------
# Counter families (the exporter's counters CSV)
# ---------------------------------------------------------------------------------------------


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
        METRIC_ALIASES.get(metric, metric)
        for metric, series in results.items()
        if any(True for _ in series)
    }
    present |= {m for m, alias in METRIC_ALIASES.items() if alias in present}
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
