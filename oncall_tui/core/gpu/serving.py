"""LLM-serving saturation PromQL beyond the triage presets (:func:`llm_saturation_queries`):
vLLM queue/running/TTFT/tokens, Triton queue and compute time, TGI queue, ``by (service)``,
batched like :mod:`oncall_tui.core.signals` (imported inside the function, so loading this module
does not pull in pydantic).
"""

from __future__ import annotations

__all__ = ["llm_saturation_queries"]


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
