"""Which workload a GPU serves: the pod/namespace/container on dcgm-exporter's series
(:func:`workload_labels`) and the service name they map to (:func:`service_for`, :class:`ServiceRule`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["ServiceRule", "service_for", "strip_pod_suffix", "workload_labels"]


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
