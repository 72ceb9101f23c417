"""The error budget against the real Prometheus of ../shared/realstack: every number the app
computes (remaining budget, the four burn windows, the incident's spend, the triage BURN
column) equals a PromQL written here by hand, evaluated at the same instant.

No recording rules are needed: the hand queries read the exporter's raw counters
(``model_inference_requests_total`` for fraud-scorer, ``http_requests_total`` for llm-chat and
search-embedder)."""

from __future__ import annotations

import time

import httpx
import pytest

from oncall_tui.clients.session import BackendSession
from oncall_tui.core.budget import BURN_WINDOWS, incident_start
from oncall_tui.core.timerange import TimeRange
from oncall_tui.settings import Settings

from .conftest import AM_URL, PROM_URL, wait_for

pytestmark = pytest.mark.integration
W = 30 * 86400
TOLERANCE = {"rel": 1e-9, "abs": 1e-12}


def _context(window: str = "30d"):  # type: ignore[no-untyped-def]
    endpoints = {"prometheus": {"url": PROM_URL, "no_proxy": True}, "alertmanager": {"url": AM_URL, "no_proxy": True}}
    services = [
        {"name": "fraud-scorer", "preset": "model-server", "slo": {"availability": 0.99, "window": window}},
        {"name": "llm-chat", "preset": "vllm", "slo": {"availability": 0.995}},
        {"name": "search-embedder", "preset": "generic-http", "slo": {"availability": 0.999}},
    ]
    settings = Settings.model_validate({"contexts": {"real": {"endpoints": endpoints, "services": services}}})
    for _, endpoint in settings.context().configured_endpoints():
        endpoint._env = {}
    return settings.context()


def _scalar(expr: str, at: float) -> float:
    """One value of a hand-written PromQL at ``at`` (fails when it returns no or several series)."""
    body = httpx.post(f"{PROM_URL}/api/v1/query", data={"query": expr, "time": f"{at:.3f}"}, timeout=30).json()
    assert body["status"] == "success", body
    result = body["data"]["result"]
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


def fraud_ratio(window: str, at: float) -> float:
    sel = 'service="fraud-scorer"'
    return _scalar(
        f'sum(rate(model_inference_requests_total{{{sel},status="error"}}[{window}]))'
        f" / sum(rate(model_inference_requests_total{{{sel}}}[{window}]))",
        at,
    )


async def test_budget_numbers_match_hand_written_promql(realstack: dict[str, str]) -> None:
    at = time.time() - 2.0
    context = _context()
    session = BackendSession(context, clock=lambda: at)
    try:
        # The incident's start the way the detail view finds it: fraud-scorer's first alert.
        async def alerted():  # type: ignore[no-untyped-def]
            data = await session.fetch_triage(TimeRange())
            start, source = incident_start(data.alerts, "fraud-scorer")
            return (start, source) if start is not None else None

        start, source = await wait_for(alerted, timeout=240, what="a fraud-scorer alert firing")
        assert source.startswith("first alert of fraud-scorer: ")
        service = context.service("fraud-scorer")
        budget = await session.fetch_budget(service, at=at, incident_start=start, incident_source=source)
    finally:
        await session.aclose()

    assert budget.errors == {}
    assert budget.at == at and set(budget.queries) == {"slo", *BURN_WINDOWS, "incident"}
    slo_ratio = fraud_ratio("30d", at)
    assert slo_ratio > 0.001  # the incident is on: something to compare
    assert budget.ratios["slo"] == pytest.approx(slo_ratio, **TOLERANCE)
    assert budget.remaining == pytest.approx(1 - slo_ratio / 0.01, **TOLERANCE)
    for window in BURN_WINDOWS:
        assert budget.burn(window) == pytest.approx(fraud_ratio(window, at) / 0.01, **TOLERANCE), window
    page, ticket = budget.pairs()
    assert page.fires == (fraud_ratio("5m", at) / 0.01 > 14.4 and fraud_ratio("1h", at) / 0.01 > 14.4)
    assert ticket.fires == (fraud_ratio("30m", at) / 0.01 > 6 and fraud_ratio("6h", at) / 0.01 > 6)
    duration = int(min(max(at - start, 60), W))
    assert budget.incident_seconds == duration
    spent_by_hand = fraud_ratio(f"{duration}s", at) * duration / W / 0.01
    assert budget.incident_spent == pytest.approx(spent_by_hand, **TOLERANCE)
    assert 0 < budget.incident_spent < 1


async def test_a_shorter_slo_window_is_queried_as_written(realstack: dict[str, str]) -> None:
    at = time.time() - 2.0
    context = _context(window="1d")
    session = BackendSession(context, clock=lambda: at)
    try:
        budget = await session.fetch_budget(context.service("fraud-scorer"), at=at)
    finally:
        await session.aclose()
    assert "[1d]" in budget.queries["slo"] and "incident" not in budget.queries
    assert budget.remaining == pytest.approx(1 - fraud_ratio("1d", at) / 0.01, **TOLERANCE)
    assert budget.incident_spent is None


async def test_triage_burn_column_is_the_1h_burn_rate(realstack: dict[str, str]) -> None:
    at = time.time() - 2.0
    session = BackendSession(_context(), clock=lambda: at)
    try:
        await session.refresh("prometheus", TimeRange())
        data = session.assemble(TimeRange())
    finally:
        await session.aclose()
    assert data.sources["prometheus"].status(at) == "fresh", data.sources["prometheus"].error
    burn = {r.service: r.burn_rate for r in data.rows}
    assert burn["fraud-scorer"] == pytest.approx(fraud_ratio("1h", at) / 0.01, **TOLERANCE)
    llm = _scalar(
        'sum(rate(http_requests_total{service="llm-chat",status="5xx"}[1h]))'
        ' / sum(rate(http_requests_total{service="llm-chat"}[1h]))',
        at,
    )
    assert burn["llm-chat"] == pytest.approx(llm / 0.005, **TOLERANCE)
    embedder = _scalar(
        '(sum(rate(http_requests_total{service="search-embedder",code=~"5.."}[1h])) or vector(0))'
        ' / sum(rate(http_requests_total{service="search-embedder"}[1h]))',
        at,
    )
    assert burn["search-embedder"] == pytest.approx(embedder / 0.001, **TOLERANCE)
    # Not the 1m error ratio any more: the errors column and BURN come from different windows.
    fraud = next(r for r in data.rows if r.service == "fraud-scorer")
    one_minute = fraud.values["errors"]
    assert one_minute is not None and fraud.burn_rate is not None
    assert fraud.burn_rate != pytest.approx(one_minute / 0.01, rel=1e-9)
