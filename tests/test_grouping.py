"""Alert groups: by alertname + service (or the route's group_by), worst first, counts, common
labels for a group silence; and the alerts table and keys on the demo (Pilot)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from oncall_tui.core.grouping import ALL_LABELS, AlertGroup, group_alerts, route_group_by
from oncall_tui.core.triage import TriageAlert
from oncall_tui.settings import Settings
from oncall_tui.widgets.tables import AlertsTable

from .conftest import FIXTURES
from .test_app import loaded, make_app

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def alert(name: str, service: str, instance: str, *, severity: str = "warning", state: str = "firing", minutes: int = 5) -> TriageAlert:
    labels = {"alertname": name, "service": service, "severity": severity, "instance": instance}
    return TriageAlert(
        name=name,
        severity=severity,
        service=service,
        summary=f"{name} on {instance}",
        state=state,
        state_detail=state,
        starts_at=NOW - timedelta(minutes=minutes),
        labels=labels,
        annotations={},
        fingerprint=f"{name}-{service}-{instance}",
    )


def test_groups_keep_the_triage_order_and_count_their_members() -> None:
    alerts = [
        alert("HighErrors", "llm", "a", severity="critical", minutes=9),
        alert("HighErrors", "llm", "b", severity="critical", state="silenced", minutes=30),
        alert("Latency", "llm", "a"),
        alert("HighErrors", "search", "a", severity="critical"),
    ]
    groups = group_alerts(alerts)
    assert [(g.group_labels["alertname"], g.group_labels["service"], len(g)) for g in groups] == [
        ("HighErrors", "llm", 2),
        ("Latency", "llm", 1),
        ("HighErrors", "search", 1),
    ]
    first = groups[0]
    assert first.worst is alerts[0]
    assert first.counts("state") == [("firing", 1), ("silenced", 1)]
    assert first.oldest(NOW) == 30 * 60
    assert first.common_labels() == {"alertname": "HighErrors", "service": "llm", "severity": "critical"}
    grouped = first.as_alert()
    assert grouped.labels == first.common_labels() and grouped.fingerprint is None
    assert groups[1].as_alert() is alerts[2]  # a group of one is its alert


def test_route_group_by_from_a_real_alertmanager_status() -> None:
    status = json.loads((FIXTURES / "alertmanager" / "status.json").read_text())
    assert route_group_by(status["config"]["original"]) == ("alertname", "service")
    assert route_group_by("route:\n  group_by: ['...']\n") == (ALL_LABELS,)
    assert route_group_by("route: {receiver: x}") is None
    assert route_group_by("{{{ not yaml") is None
    assert route_group_by("x" * 300_000) is None  # too big to be read


def test_group_by_all_labels_is_one_alert_per_row() -> None:
    alerts = [alert("A", "s", "1"), alert("A", "s", "2")]
    assert [len(g) for g in group_alerts(alerts, (ALL_LABELS,))] == [1, 1]


def test_alert_settings_group_by_is_checked() -> None:
    assert Settings.model_validate({"alerts": {"group_by": ["alertname"]}}).alerts.group_by == ["alertname"]


async def test_group_rows_expand_collapse_and_select_by_keys() -> None:
    app, _ = make_app(settings=Settings.model_validate({**_demo_settings(), "alerts": {"group_by": ["severity"]}}))
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await loaded(app, pilot)
        table = screen.query_one(AlertsTable)
        groups = screen._groups
        assert groups, "the demo's alerts share severities: groups of more than one"
        key = next(iter(groups))
        keys = [str(r.key.value) for r in table.ordered_rows]
        await pilot.press("tab", "g", *["j"] * keys.index(key))
        assert table.selected_key == key
        group: AlertGroup = groups[key]
        assert screen.selected_alert() is not None and screen.selected_alert().labels == group.common_labels()
        rows_before = table.row_count
        await pilot.press("right")
        assert table.row_count == rows_before + len(group)
        await pilot.press("j")
        assert screen.selected_alert() in group.alerts  # a member row is that alert
        await pilot.press("left")
        assert table.row_count == rows_before and table.selected_key == key
        await pilot.press("enter")  # enter on a group opens it too
        assert table.row_count == rows_before + len(group)


def _demo_settings() -> dict:
    from .test_app import settings

    return settings().model_dump(mode="json", exclude_none=True)


async def test_a_new_row_order_moves_rows_without_rebuilding_the_table(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from textual.app import App, ComposeResult

    from oncall_tui.widgets.display import display
    from oncall_tui.widgets.tables import DiffTable

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield DiffTable(cursor_type="row")

    columns = [("NAME", 10), ("VALUE", 6)]
    app = One()
    async with app.run_test() as pilot:
        table = app.query_one(DiffTable)
        table.set_table(columns, [(k, [display(k), display("1")]) for k in "abc"])
        await pilot.press("down")
        assert table.selected_key == "b"
        cleared: list[bool] = []
        monkeypatch.setattr(table, "clear", lambda **kw: cleared.append(True))
        table.set_table(columns, [("c", [display("c"), display("9")]), ("b", [display("b"), display("1")]), ("a", [display("a"), display("1")])])
        await pilot.pause()
        assert [str(r.key.value) for r in table.ordered_rows] == ["c", "b", "a"]
        assert table.selected_key == "b" and str(table.get_cell("c", "VALUE")) == "9"
        assert cleared == []  # moved, not rebuilt
