"""Private, real Prometheus and Alertmanager processes for one test (or module), on free ports.

Unlike the shared realstack (fixed ports, one simulated incident), these are started by the
test that needs them, fed what the test needs (alerts posted through Alertmanager's API,
series scraped from a small exporter served here), and can be killed, SIGSTOPped, SIGCONTed
and restarted while the app runs against them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import realstack_required


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need_binary(*names: str) -> str:
    """The first of ``names`` on PATH; skip (fail under CI) when none is installed."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    reason = f"{names[0]} is not installed (apt-get install -y prometheus prometheus-alertmanager)"
    if realstack_required():
        pytest.fail(f"{reason}; CI requires the real servers", pytrace=False)
    pytest.skip(reason)


class Server:
    """One server process in its own session; ``argv`` is kept so it can be restarted."""

    def __init__(self, name: str, argv: Sequence[str], url: str, log: Path) -> None:
        self.name, self.argv, self.url, self.log = name, list(argv), url, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, ready_timeout: float = 30.0) -> Server:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=out, start_new_session=True)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {ready_timeout}s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: connections are refused from now on."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop_signal(self) -> None:
        """SIGSTOP: connections are accepted by the kernel and never answered."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def cont(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def restart(self) -> Server:
        self.kill()
        return self.start()


def start_alertmanager(tmp: Path, *, port: int | None = None, config: str | None = None) -> Server:
    binary = need_binary("prometheus-alertmanager", "alertmanager")
    port = port or free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = tmp / "alertmanager.yml"
    cfg.write_text(
        config
        or "route:\n  receiver: 'null'\n  group_by: [alertname, service]\n  group_wait: 1s\nreceivers:\n  - name: 'null'\n"
    )
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={cfg}",
        f"--storage.path={tmp / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url={url}/",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    return Server("alertmanager", argv, url, tmp / "alertmanager.log").start()


def start_prometheus(tmp: Path, targets: Iterable[str], *, port: int | None = None, interval: str = "1s") -> Server:
    binary = need_binary("prometheus")
    port = port or free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = tmp / "prometheus.yml"
    cfg.write_text(
        f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"
        "scrape_configs:\n  - job_name: private\n    honor_labels: true\n    static_configs:\n"
        f"      - targets: {json.dumps(list(targets))}\n"
    )
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={cfg}",
        f"--storage.tsdb.path={tmp / 'prom-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url={url}/",
        "--log.level=warn",
    ]
    return Server("prometheus", argv, url, tmp / "prometheus.log").start()


# ------------------------------------------------------------------- exporter --
def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition(series: Iterable[tuple[str, Mapping[str, str], float]]) -> bytes:
    """Prometheus text format 0.0.4 for ``(name, labels, value)`` samples."""
    lines = []
    for name, labels, value in series:
        inner = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{inner}}} {value}")
    return ("\n".join(lines) + "\n").encode("utf-8")


class Exporter:
    """A scrape target served from a thread: ``/metrics`` answers whatever :attr:`body` holds."""

    def __init__(self, body: bytes = b"") -> None:
        self.body = body
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                payload = exporter.body
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------ Alertmanager API --
def post_alerts(am_url: str, alerts: Sequence[Mapping[str, Mapping[str, str]]], *, started_ago: float = 600) -> None:
    """POST alerts (``{"labels": ..., "annotations": ...}``) to Alertmanager's v2 API, firing."""
    now = datetime.now(UTC)
    body = [
        {
            "labels": dict(a["labels"]),
            "annotations": dict(a.get("annotations", {})),
            "startsAt": (now - timedelta(seconds=started_ago)).isoformat(),
            "endsAt": (now + timedelta(hours=2)).isoformat(),
            "generatorURL": "http://prometheus.example/graph",
        }
        for a in alerts
    ]
    r = httpx.post(f"{am_url}/api/v2/alerts", json=body, timeout=30)
    r.raise_for_status()


def silences(am_url: str) -> list[dict]:
    return httpx.get(f"{am_url}/api/v2/silences", timeout=10).json()


def wait_for_silences(am_url: str, comment: str, timeout: float = 15.0) -> list[dict]:
    """The silences with ``comment`` once the server has one (empty after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        made = [s for s in silences(am_url) if s["comment"] == comment]
        if made or time.monotonic() > deadline:
            return made
        time.sleep(0.3)


def write_config(path: Path, *, prometheus: str | None, alertmanager: str | None, extra: str = "") -> Path:
    """A one-context config file pointing at private servers (no services: discovery)."""
    endpoints = ""
    if prometheus:
        endpoints += f"      prometheus:\n        url: {prometheus}\n        timeout: 5\n"
    if alertmanager:
        endpoints += f"      alertmanager:\n        url: {alertmanager}\n        timeout: 5\n"
    path.write_text(
        f"current_context: private\ncontexts:\n  private:\n    color: green\n    endpoints:\n{endpoints}{extra}"
    )
    os.chmod(path, 0o600)
    return path
