"""``oncall-tui snapshot``: one view, headless, for chat (text), documents (SVG) and scripts (JSON)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONCALL_TUI_")}
    return subprocess.run(
        [sys.executable, "-m", "oncall_tui", "snapshot", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_text_snapshot_of_the_demo_at_80x24() -> None:
    result = run("--demo", "--size", "80x24", "--text")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
    assert lines[0].lstrip().startswith("demo") and "prometheus ok" in lines[0]
    assert "llm-server" in lines[2]  # the worst service first
    assert any("LLMServerHighErrorR" in line and "firing" in line for line in lines)
    assert "\x1b" not in result.stdout


def test_json_snapshot_for_scripts() -> None:
    result = run("--demo", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["context"] == "demo" and data["sources"]["prometheus"]["status"] == "fresh"
    assert data["services"][0]["service"] == "llm-server" and data["services"][0]["errors"] > 0.05
    states = {a["name"]: a["state"] for a in data["alerts"]}
    assert states["LLMServerHighLatencyP99"] == "inhibited" and states["GPUFramebufferMemoryHigh"] == "silenced"
    assert "histogram_quantile(0.99" in data["queries"]["latency_p99"]


def test_svg_snapshot_of_a_deep_link(tmp_path: Path) -> None:
    out = tmp_path / "detail.svg"
    result = run("--demo", "--goto", ":svc feature-store", "--size", "100x30", "--svg", str(out))
    assert result.returncode == 0, result.stderr
    svg = out.read_text()
    assert svg.startswith("<svg") and "feature-store&#160;·&#160;generic-http" in svg and "Traffic" in svg


def test_exit_code_is_nonzero_when_a_backend_is_down(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("contexts:\n  broken:\n    endpoints:\n      prometheus: {url: 'http://127.0.0.1:9', no_proxy: true}\n")
    cfg.chmod(0o600)
    result = run("--config", str(cfg), "--text", "--size", "100x20")
    assert result.returncode == 1
    assert "DOWN" in result.stdout and "cannot connect" in result.stdout


def test_json_snapshot_of_a_down_backend_says_so_and_exits_1(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("contexts:\n  broken:\n    endpoints:\n      prometheus: {url: 'http://127.0.0.1:9', no_proxy: true}\n")
    cfg.chmod(0o600)
    result = run("--config", str(cfg), "--json")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["context"] == "broken" and data["sources"]["prometheus"]["status"] == "down"
    assert "cannot connect" in data["sources"]["prometheus"]["error"]


def test_json_snapshot_draws_no_screen() -> None:
    """Scripts poll ``snapshot --json``: it fetches and encodes, and never loads the UI toolkit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONCALL_TUI_")}
    code = (
        "import sys; from oncall_tui.cli import main; rc = main(['snapshot', '--demo', '--json']); "
        "sys.stderr.write('TEXTUAL-LOADED' if 'textual' in sys.modules else ''); sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["alerts"] and "TEXTUAL-LOADED" not in result.stderr
