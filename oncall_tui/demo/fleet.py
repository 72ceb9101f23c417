"""The demo's static topology: services, pods, GPUs and their label sets (no time in here)."""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "ml-serving"
CLUSTER = "demo-prod"
DRIVER_VERSION = "550.127.05"
H100 = "NVIDIA H100 80GB HBM3"
H100_FB_MIB = 81559.0
LLM_MODEL = "llama-3.1-70b-instruct"


@dataclass(frozen=True)
class DemoService:
    """A service of the demo fleet and its pods."""

    name: str
    preset: str
    pods: tuple[str, ...]
    port: int
    version: str

    def labels(self) -> dict[str, str]:
        """Labels of its golden-signal series."""
        return {"namespace": NAMESPACE, "service": self.name}


@dataclass(frozen=True)
class DemoGpu:
    """One GPU as dcgm-exporter labels it."""

    hostname: str
    index: int
    uuid: str
    pci_bus_id: str
    node_ip: str
    pod: str | None
    container: str | None

    @property
    def key(self) -> str:
        """``gpu-h100-node-1/0``."""
        return f"{self.hostname}/{self.index}"

    def labels(self, metric: str) -> dict[str, str]:
        """dcgm-exporter labels (empty pod/container/namespace are absent, as Prometheus stores them)."""
        labels = {
            "DCGM_FI_DRIVER_VERSION": DRIVER_VERSION,
            "Hostname": self.hostname,
            "UUID": self.uuid,
            "__name__": metric,
            "device": f"nvidia{self.index}",
            "gpu": str(self.index),
            "instance": f"{self.node_ip}:9400",
            "job": "dcgm-exporter",
            "modelName": H100,
            "pci_bus_id": self.pci_bus_id,
        }
        if self.pod:
            labels.update(pod=self.pod, namespace=NAMESPACE, container=self.container or "")
        return labels


LLM_POD_A = "llm-server-7d9f8-abcde"
LLM_POD_B = "llm-server-7d9f8-fghij"

SERVICES: tuple[DemoService, ...] = (
    DemoService("llm-server", "vllm", (LLM_POD_A, LLM_POD_B), 8000, "v2.3"),
    DemoService("feature-store", "generic-http", ("feature-store-6b7c8d9f5-k2m4p", "feature-store-6b7c8d9f5-q8w3z"), 8080, "1.19.2"),
    DemoService("model-router", "generic-http", ("model-router-5f7c9d6b8-qk4zt", "model-router-5f7c9d6b8-x7n2c"), 8080, "3.4.1"),
    DemoService("embedder", "triton", ("embedder-8c5d7f9b4-r5t6y",), 8002, "24.08"),
    DemoService("reranker", "tgi", ("reranker-5d6f7a8b9-h3j4k",), 80, "2.3.1"),
)
SERVICE_BY_NAME = {s.name: s for s in SERVICES}

GPUS: tuple[DemoGpu, ...] = (
    DemoGpu("gpu-h100-node-1", 0, "GPU-3f9a1c2e-7b4d-4e8a-9c1f-2d6b8e0a4c71", "00000000:18:00.0", "10.42.1.11", LLM_POD_A, "vllm"),
    DemoGpu("gpu-h100-node-1", 1, "GPU-8d2e4f6a-1c3b-4a5d-8e7f-9b0c1d2e3f40", "00000000:2A:00.0", "10.42.1.11", LLM_POD_B, "vllm"),
    DemoGpu("gpu-h100-node-2", 0, "GPU-5a7c9e1b-3d5f-4b7d-9f1a-3c5e7a9b1d62", "00000000:18:00.0", "10.42.2.12", "reranker-5d6f7a8b9-h3j4k", "tgi"),
    DemoGpu("gpu-h100-node-2", 1, "GPU-b1d3f5a7-9c2e-4d6f-8a0b-4c6e8f0a2b93", "00000000:2A:00.0", "10.42.2.12", "embedder-8c5d7f9b4-r5t6y", "triton"),
)
GPU_BY_KEY = {g.key: g for g in GPUS}


def pod_ip(service: DemoService, index: int) -> str:
    """A stable pod IP for scrape ``instance`` labels."""
    return f"10.42.{SERVICES.index(service) + 10}.{index + 21}"
