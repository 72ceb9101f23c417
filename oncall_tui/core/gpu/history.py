"""Range-query PromQL for the history charts of one GPU (:func:`gpu_history_queries`)."""

from __future__ import annotations

from oncall_tui.core.gpu.fleet import FleetGpu

__all__ = ["HISTORY_METRICS", "gpu_history_queries"]

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
