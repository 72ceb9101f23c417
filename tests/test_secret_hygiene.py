"""SECURITY.md R5.5: a canary secret configured as bearer token, basic-auth password, URL
user-info and query parameter never shows up in logs, exception text or ``check`` output —
even when a hostile or broken server echoes it back."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from oncall_tui.clients import BackendError, PrometheusClient, RetryPolicy
from oncall_tui.clients.factory import build_http_client
from oncall_tui.text.redact import install_log_redaction
from oncall_tui.settings import load_settings

CANARY = "CANARY-7f3a9"


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(body)
    path.chmod(0o600)
    return path


def echo_everything(request: httpx.Request) -> httpx.Response:
    """A server that reflects the credentials it received into its error body and headers."""
    auth = request.headers.get("authorization", "")
    decoded = ""
    if auth.startswith("Basic "):
        decoded = base64.b64decode(auth[6:]).decode()
    body = f"denied for {auth} ({decoded}) at {request.url}"
    return httpx.Response(401, text=body, headers={"WWW-Authenticate": auth})


def failing_after_echo(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"cannot reach {request.url} with {request.headers.get('authorization')}")


CONFIGS = {
    "bearer": "auth: {bearer: {env: PROM_TOKEN}}",
    "basic": "auth: {basic: {username: alice, password: {env: PROM_TOKEN}}}",
}


@pytest.mark.parametrize("handler", [echo_everything, failing_after_echo])
@pytest.mark.parametrize("auth", sorted(CONFIGS))
async def test_canary_never_reaches_logs_or_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, auth: str, handler
) -> None:  # type: ignore[no-untyped-def]
    install_log_redaction()
    cfg = _config(
        tmp_path,
        "contexts:\n  c:\n    endpoints:\n      prometheus:\n"
        f"        url: http://prom.test/?api_token={CANARY}\n        {CONFIGS[auth]}\n",
    )
    settings = load_settings(cfg, env={"PROM_TOKEN": CANARY})
    endpoint = settings.context().endpoint("prometheus")
    assert endpoint is not None
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    http = build_http_client(endpoint, kind="prometheus", transport=httpx.MockTransport(recording))
    prom = PrometheusClient(http, retry=RetryPolicy(max_retries=1))

    async def no_sleep(_: float) -> None:
        return None

    prom.sleep = no_sleep
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("httpx").setLevel(logging.DEBUG)  # even if someone turns httpx up
        try:
            with pytest.raises(BackendError) as info:
                await prom.query("up")
        finally:
            logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("oncall_tui").error("query failed: %s / %r", info.value, info.value)

    # The credential really was sent...
    sent = seen[0].headers["authorization"]
    assert CANARY in sent or CANARY in base64.b64decode(sent.split()[1]).decode()
    # ...and it appears nowhere a person or a log file could see it.
    for text in (str(info.value), repr(info.value), info.value.url or "", caplog.text, repr(http.auth)):
        assert CANARY not in text
        assert base64.b64encode(f"alice:{CANARY}".encode()).decode() not in text


def test_url_userinfo_canary_never_in_check_output(tmp_path: Path) -> None:
    cfg = _config(
        tmp_path,
        "contexts:\n  c:\n    endpoints:\n"
        f"      prometheus: {{url: 'http://alice:{CANARY}@127.0.0.1:9/'}}\n"
        f"      alertmanager: {{url: 'http://127.0.0.1:9/', auth: {{bearer: {{env: AM_TOKEN}}}}}}\n",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONCALL_TUI_")}
    result = subprocess.run(
        [sys.executable, "-m", "oncall_tui", "--verbose", "check", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "AM_TOKEN": CANARY, "COLUMNS": "200"},
    )
    assert result.returncode == 1
    assert "prometheus" in result.stdout and "DOWN" in result.stdout
    assert CANARY not in result.stdout and CANARY not in result.stderr


def test_secret_file_canary_not_in_config_errors(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text(CANARY + "\n")
    secret.chmod(0o644)  # readable by others: refused, and the message must not quote it
    cfg = _config(
        tmp_path,
        f"contexts:\n  c:\n    endpoints:\n      prometheus:\n        url: http://p\n        auth: {{bearer: {{file: {secret}}}}}\n",
    )
    endpoint = load_settings(cfg, env={}).context().endpoint("prometheus")
    assert endpoint is not None
    with pytest.raises(BackendError) as info:
        build_http_client(endpoint, kind="prometheus")
    assert "chmod 600" in str(info.value) and CANARY not in str(info.value)
