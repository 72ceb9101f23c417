"""Error budget: the PromQL builders, the formulas, the settings, the section's text, and the
service detail / help overlay on the demo driven by keys (the real-Prometheus comparison is in
test_budget_realstack.py)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx
import pytest

from oncall_tui.core.budget import (
    BURN_HELP,
    BURN_WINDOWS,
    BudgetUnavailable,
    budget_queries,
    burn_ratio_query,
    compute_budget,
    error_ratio_query,
    incident_start,
    incident_window,
)
from oncall_tui.core.signals import build_signal_queries, service_query
from oncall_tui.core.triage import TriageAlert, build_rows
from oncall_tui.demo import DemoIncident, DemoTransport
from oncall_tui.demo.promql import QueryBook
from oncall_tui.screens.detail import ServiceDetailScreen
from oncall_tui.screens.overlays import HelpScreen
from oncall_tui.settings import SLO, ConfigError, Service, load_settings
from oncall_tui.widgets.budget import NO_SLO, budget_bar, budget_text

from .test_app import T0, Clock, loaded, make_app, settings, table_keys

W30 = 30 * 86400.0


def svc(**kw) -> Service:  # type: ignore[no-untyped-def]
    data = {"name": "fraud-scorer", "preset": "model-server", "slo": {"availability": 0.99}}
    data.update(kw)
    return Service.model_validate(data)


def no_color(name: str) -> str:
    return "red"


# ------------------------------------------------------------------ settings --
def test_slo_window_defaults_to_30d_and_parses_prometheus_durations() -> None:
    assert svc().slo.window == "30d" and svc().slo.window_seconds == W30
    assert svc(slo={"availability": 0.99, "window": "4w"}).slo.window_seconds == 28 * 86400
    assert svc(slo={"availability": 0.99, "window": "1d12h"}).slo.window_seconds == 36 * 3600


@pytest.mark.parametrize("bad", ["30days", "", "0d", "1h1d", "30 d", "-1d"])
def test_slo_window_rejects_what_prometheus_would(tmp_path, bad: str) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.yaml"
    config.write_text(
        "contexts:\n  x:\n    services:\n      - name: a\n        preset: model-server\n"
        f"        slo:\n          availability: 0.99\n          window: \"{bad}\"\n"
    )
    with pytest.raises(ConfigError) as info:
        load_settings(config, env={})
    message = str(info.value)
    assert f"{config}:8:" in message and "slo.window" in message and "Prometheus duration" in message


def test_errors_ratio_needs_a_window_placeholder() -> None:
    with pytest.raises(ValueError, match=r"\$window"):
        svc(slo={"availability": 0.99, "errors_ratio": "sum(rate(e[5m]))"})


# -------------------------------------------------------------------- PromQL --
def test_preset_error_ratio_is_the_errors_template_at_the_window() -> None:
    s = svc()
    expr = error_ratio_query(s, "30d")
    assert expr == service_query(s, "errors", window="30d")
    assert expr.count("[30d]") == 3 and "[1m]" not in expr
    assert 'model_inference_requests_total{status="error",service="fraud-scorer"}[30d]' in expr


def test_explicit_errors_query_has_its_ranges_widened() -> None:
    s = svc(preset=None, queries={"errors": 'sum(rate(e{job="x"}[5m])) / sum(rate(t{job="x"}[ 5m ]))'})
    assert error_ratio_query(s, "6h") == 'sum(rate(e{job="x"}[6h])) / sum(rate(t{job="x"}[6h]))'
    # A subquery's range stays as written (only plain ranges are windows of the ratio).
    sub = svc(preset=None, queries={"errors": "max_over_time(ratio[5m:1m])"})
    with pytest.raises(BudgetUnavailable):
        error_ratio_query(sub, "30d")


def test_explicit_errors_query_without_a_range_is_unavailable_unless_errors_ratio() -> None:
    s = svc(preset=None, queries={"errors": 'service:errors:ratio_rate5m{service="x"}'})
    with pytest.raises(BudgetUnavailable, match="slo.errors_ratio"):
        budget_queries(s)
    assert burn_ratio_query([s]) is None  # left out of the BURN query, never a broken one
    fixed = svc(
        preset=None,
        queries={"errors": 'service:errors:ratio_rate5m{service="x"}'},
        slo={"availability": 0.99, "errors_ratio": 'sum(rate(e[$window])) / sum(rate(t[$window]))'},
    )
    assert error_ratio_query(fixed, "30d") == "sum(rate(e[30d])) / sum(rate(t[30d]))"


def test_budget_queries_cover_the_slo_window_the_pairs_and_the_incident() -> None:
    queries = budget_queries(svc(slo={"availability": 0.99, "window": "7d"}), incident_seconds=2712.4)
    assert list(queries) == ["slo", "5m", "1h", "30m", "6h", "incident"]
    assert "[7d]" in queries["slo"] and "[2712s]" in queries["incident"]
    for window in BURN_WINDOWS:
        assert f"[{window}]" in queries[window]
    assert "incident" not in budget_queries(svc())


def test_incident_window_is_at_least_a_minute_and_at_most_the_slo_window() -> None:
    assert incident_window(None, W30) is None and incident_window(-5, W30) is None
    assert incident_window(12.0, W30) == 60
    assert incident_window(3600.7, W30) == 3600
    assert incident_window(90 * 86400, W30) == W30


def test_burn_query_is_one_batched_1h_query_for_the_slo_services() -> None:
    services = [
        svc(name="a"),
        svc(name="b"),
        svc(name="c", preset="vllm"),
        svc(name="no-slo", slo={}),
        svc(name="custom", selector={"job": "x"}),
    ]
    expr = burn_ratio_query(services)
    assert expr is not None
    assert "no-slo" not in expr and "[1m]" not in expr and expr.count("[1h]") == 9
    assert 'service=~"a|b"' in expr and 'service=~"c"' in expr
    assert 'label_replace(' in expr and '"service", "custom"' in expr
    # The same shape as the triage errors query, so the demo (and a person) can read it.
    assert burn_ratio_query(services[:2]) == build_signal_queries(services[:2], window="1h")["errors"]
    assert burn_ratio_query([svc(name="x", slo={})]) is None


# ------------------------------------------------------------------ formulas --
def test_budget_formulas() -> None:
    s = svc()
    at = 1_000_000.0
    ratios = {"slo": 0.003, "5m": 0.20, "1h": 0.15, "30m": 0.05, "6h": 0.07, "incident": 0.08}
    b = compute_budget(s, budget_queries(s, incident_seconds=1800), ratios, at=at, incident_start=at - 1800)
    assert b.remaining == pytest.approx(0.7)  # 0.3 % of 1 % spent
    assert b.burn("5m") == pytest.approx(20.0) and b.burn("1h") == pytest.approx(15.0)
    page, ticket = b.pairs()
    assert page.fires is True  # 20x and 15x, both > 14.4x
    assert ticket.fires is False  # 5x < 6x although 6h is at 7x
    assert b.incident_seconds == 1800
    assert b.incident_spent == pytest.approx(0.08 * 1800 / W30 / 0.01)


def test_budget_overspent_and_missing_data() -> None:
    s = svc()
    b = compute_budget(s, budget_queries(s), {"slo": 0.025, "5m": math.nan, "1h": None}, at=0.0)
    assert b.remaining == pytest.approx(-1.5)  # 2.5x the budget
    assert b.burn("5m") is None and b.burn("1h") is None and b.burn("6h") is None
    assert b.pairs()[0].fires is None  # no data is not "does not fire"
    assert b.incident_spent is None


def test_incident_start_is_the_services_first_alert_that_fired() -> None:
    def alert(name: str, service: str, state: str, minute: int) -> TriageAlert:
        return TriageAlert(
            name=name, severity="critical", service=service, summary="", state=state, state_detail=state,
            starts_at=datetime(2026, 1, 1, 12, minute, tzinfo=UTC), labels={}, annotations={},
        )

    alerts = [
        alert("Pending", "a", "pending", 1),
        alert("Other", "b", "firing", 2),
        alert("Latency", "a", "firing", 10),
        alert("Errors", "a", "silenced", 5),
    ]
    start, source = incident_start(alerts, "a")
    assert start == datetime(2026, 1, 1, 12, 5, tzinfo=UTC).timestamp()
    assert source == "first alert of a: Errors"
    timeline = datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    assert incident_start(alerts, "c", timeline_start=timeline) == (timeline.timestamp(), "the timeline's first alert that fired")
    assert incident_start(alerts, "c") == (None, "")


def test_build_rows_burn_comes_from_the_burn_window_ratio() -> None:
    services = [svc(name="a"), svc(name="b"), svc(name="c", slo={})]
    current = {"errors": {"a": 0.5, "b": 0.5, "c": 0.5}}
    rows = {r.service: r for r in build_rows(services, current, burn_ratio={"a": 0.02, "c": 0.9})}
    assert rows["a"].burn_rate == pytest.approx(2.0)  # 2 % over 1h vs a 1 % budget, not 50x
    assert rows["b"].burn_rate is None  # no 1h answer: unknown, never the 1m errors
    assert rows["c"].burn_rate is None  # no SLO


# -------------------------------------------------------------------- text --
def test_budget_text_sections_and_hostile_promql() -> None:
    hostile = 'sum(rate(e{x="[/] [@click=app.quit]q[/] \x1b]52;c;ZWNobw==\x07"}[$window])) / sum(rate(t[$window]))'
    s = svc(preset=None, queries={"traffic": "t"}, slo={"availability": 0.999, "errors_ratio": hostile})
    queries = budget_queries(s, incident_seconds=600)
    ratios = {"slo": 0.0005, "5m": 0.02, "1h": 0.016, "30m": 0.001, "6h": 0.001, "incident": 0.01}
    b = compute_budget(s, queries, ratios, at=T0, incident_start=T0 - 600, incident_source="first alert of x: Boom")
    text = budget_text(b, now=T0, color=no_color)
    plain = text.plain
    assert plain.startswith("Error budget  SLO 99.9% over 30d")
    assert "50.0% of the 30d budget left" in plain and budget_bar(0.5) in plain
    assert "page   5m 20x · 1h 16x   both > 14.4x: FIRES" in plain
    assert "ticket 30m 1.0x · 6h 1.0x   both > 6x: no" in plain
    assert "since " in plain and "(10m; first alert of x: Boom)" in plain
    assert "[@click=app.quit]q[/]" in plain  # literal, never markup
    assert "\x1b" not in plain and "\\x1b]52;c;ZWNobw==\\x07" in plain
    assert "[5m] [1h] [30m] [6h] [600s]" in plain
    assert not any("@click" in str(span.style) for span in text.spans)


def test_budget_text_states() -> None:
    assert budget_text(None, now=0, color=no_color, has_slo=False).plain == NO_SLO
    assert budget_text(None, now=0, color=no_color).plain == "Error budget: loading…"
    gone = budget_text(None, now=0, color=no_color, unavailable="queries.errors has no window")
    assert gone.plain == "Error budget: unavailable: queries.errors has no window"
    down = budget_text(None, now=0, color=no_color, down="cannot connect to http://p:9090")
    assert down.plain == "Error budget: Prometheus unavailable: cannot connect to http://p:9090"
    s = svc()
    b = compute_budget(s, budget_queries(s), {"slo": 0.002}, at=100.0, errors={"5m": "timeout"})
    kept = budget_text(b, now=220.0, color=no_color, down="cannot connect").plain
    assert "Prometheus unavailable: cannot connect — values from 2m ago" in kept and "80.0%" in kept
    assert "5m: query failed: timeout" in kept
    assert "no alert of this service has fired" in kept
    assert budget_bar(-0.3) == "[" + "░" * 20 + "]" and budget_bar(1.2) == "[" + "█" * 20 + "]"


# -------------------------------------------------------------------- demo --
def test_demo_answers_windowed_error_ratios_as_averages() -> None:
    incident = DemoIncident(start=T0, offset=900.0, clock=lambda: T0)
    services = [Service.model_validate({"name": "llm-server", "preset": "vllm", "slo": {"availability": 0.99}})]
    book = QueryBook(incident, services)
    s = services[0]

    def ratio(window: str) -> float:
        found = book.series(error_ratio_query(s, window))
        assert found is not None and len(found) == 1
        value = found[0].value(T0)
        assert value is not None
        return value

    now = incident.value("errors", "llm-server", T0)
    assert now is not None and now > 0.09  # the incident is at its height
    assert ratio("1m") == now  # short windows: the value now, as before
    assert ratio("5m") == pytest.approx(now, rel=0.1)  # all of it inside the incident
    assert ratio("1h") < ratio("30m") < ratio("5m")  # the healthy past dilutes longer windows
    assert 0.003 < ratio("30d") < 0.0035  # mostly the healthy 0.3 %
    burn = burn_ratio_query(services)
    assert burn is not None and book.series(burn)[0].value(T0) == pytest.approx(ratio("1h"))  # type: ignore[index]


# ---------------------------------------------------------------- the app --
async def _detail_by_keys(app, pilot, service: str) -> ServiceDetailScreen:  # type: ignore[no-untyped-def]
    screen = await loaded(app, pilot)
    from oncall_tui.widgets.tables import SignalsTable

    keys = table_keys(screen.query_one(SignalsTable))
    for _ in range(keys.index(service)):
        await pilot.press("j")
    await pilot.press("enter")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, ServiceDetailScreen) and app.screen.service == service
    return app.screen


async def test_detail_opened_by_keys_shows_the_error_budget() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await _detail_by_keys(app, pilot, "llm-server")
        text = str(detail.query_one("#budget").render())
        assert text.startswith("Error budget  SLO 99% over 30d"), text
        assert "of the 30d budget left" in text and "█" in text
        assert "page   5m " in text and "· 1h " in text and "ticket 30m " in text and "· 6h " in text
        assert "budget spent since" in text and "first alert of llm-server: LLMServerHighErrorRate" in text
        assert 'http_requests_total{status=~"5.*",service="llm-server"}[30d]' in text
        budget = detail.budget
        assert budget is not None and budget.errors == {}
        assert budget.burn("5m") is not None and budget.burn("5m") > budget.burn("1h") > 1  # type: ignore[operator]
        assert budget.remaining is not None and 0 < budget.remaining < 1
        assert budget.incident_spent is not None and budget.incident_spent > 0


async def test_detail_without_slo_says_so_in_one_line() -> None:
    config = settings()
    embedder = config.context("demo").service("embedder")
    assert embedder is not None
    embedder.slo = SLO()
    app, _ = make_app(settings=config)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await _detail_by_keys(app, pilot, "embedder")
        assert str(detail.query_one("#budget").render()) == NO_SLO
        assert detail.budget is None


class _RefuseBudget(httpx.AsyncBaseTransport):
    """The demo, except that Prometheus answers 503 to every query once ``down`` is set."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down and request.url.host == "demo-prometheus":
            return httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": "prometheus is gone"})
        return await self.inner.handle_async_request(request)


async def test_detail_keeps_the_last_budget_when_prometheus_stops_answering() -> None:
    clock = Clock()
    transport = _RefuseBudget(DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock)))
    from oncall_tui.app import OncallApp

    app = OncallApp(settings(), transport=transport, clock=clock, periodic_refresh=False)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await _detail_by_keys(app, pilot, "llm-server")
        first = detail.budget
        assert first is not None
        transport.down = True
        clock.now += 90
        await detail.load_budget().wait()
        await pilot.pause()
        text = str(detail.query_one("#budget").render())
        assert "Prometheus unavailable: " in text and "prometheus is gone" in text and "values from 1m ago" in text
        assert detail.budget is first and "of the 30d budget left" in text  # the rest stays
        assert str(detail.query_one("#title").render()).startswith("llm-server · vllm")


async def test_help_on_triage_explains_the_burn_column() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert BURN_HELP in app.screen.notes
        assert BURN_HELP == "BURN: error-budget burn rate over 1h (error ratio ÷ (1 − SLO))"
        shown = "".join(str(w.render()) for w in app.screen.query("Static"))
        assert BURN_HELP in shown


class _RefuseBurn(httpx.AsyncBaseTransport):
    """The demo, except that Prometheus refuses any query with a 1h range (the BURN query)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "demo-prometheus" and b"%5B1h%5D" in request.content:
            return httpx.Response(422, json={"status": "error", "errorType": "execution", "error": "too many samples"})
        return await self.inner.handle_async_request(request)


async def test_a_refused_burn_query_leaves_the_golden_signals_and_says_why() -> None:
    from oncall_tui.clients.session import BackendSession
    from oncall_tui.core.timerange import TimeRange

    clock = Clock()
    transport = _RefuseBurn(DemoTransport(DemoIncident(start=T0, offset=900.0, clock=clock)))
    session = BackendSession(settings().context("demo"), transport=transport, clock=clock)
    try:
        data = await session.fetch_triage(TimeRange())
    finally:
        await session.aclose()
    assert data.sources["prometheus"].status(clock()) == "fresh"
    rows = {r.service: r for r in data.rows}
    assert rows["llm-server"].values["errors"] is not None and rows["llm-server"].values["errors"] > 0.05
    assert all(r.burn_rate is None for r in data.rows)  # unknown, not the 1m errors
    assert any(w.startswith("BURN (1h error ratio) query failed: ") and "too many samples" in w for w in data.warnings)
