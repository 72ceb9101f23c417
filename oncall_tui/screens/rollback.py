"""``R``: roll the selected service back, after a confirmation that shows exactly what runs.

The flow: refuse in read-only contexts (nothing sent, nothing started); find the service (the
selected alert's or the selected row's); say why when it has no rollback or a placeholder value
is refused; otherwise fetch the versions in a worker and show :class:`RollbackConfirmScreen`:
the exact argv one element per line or the request, version now → version after, the
service's error rate and p99, Cancel focused, a Dry run button when configured, the target
typed in protected contexts. The rollback then runs in a worker through the action runner.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from oncall_tui.actions.rollback import (
    RollbackPlan,
    Versions,
    build_plan,
    execute,
    fetch_versions,
)
from oncall_tui.core import format as fmt
from oncall_tui.core.sanitize import sanitize_for_display
from oncall_tui.screens.actions import (
    SMALL_HEIGHT,
    ConfirmScreen,
    _after_write,
    notify_error,
    refuse_if_read_only,
    typed_target,
)

if TYPE_CHECKING:
    from oncall_tui.actions.core import Preview
    from oncall_tui.app import OncallApp
    from oncall_tui.settings import Service

#: How long the confirmation waits for the version query before showing "unknown".
VERSION_TIMEOUT = 10.0
DRY_RUN = "dry-run"


def _text(value: str, max_chars: int = 500) -> Text:
    return Text(sanitize_for_display(value, max_chars=max_chars))


class RollbackConfirmScreen(ConfirmScreen):
    """:class:`ConfirmScreen` plus the versions/signals block and an optional Dry run button.

    Dismisses with True (roll back), ``"dry-run"`` or False (cancelled).
    """

    DEFAULT_CSS = """
    RollbackConfirmScreen #rollback-facts { margin: 1 0 0 0; }
    """

    def __init__(
        self,
        preview: Preview,
        *,
        facts: Text,
        dry_run: bool = False,
        typed_target: str | None = None,
        title: str = "Roll back",
    ) -> None:
        super().__init__(preview, typed_target=typed_target, title=title)
        self.facts = facts
        self.offer_dry_run = dry_run

    def compose_details(self) -> ComposeResult:
        yield Static(self.facts, id="rollback-facts")

    def compose_extra_buttons(self) -> ComposeResult:
        if self.offer_dry_run:
            yield Button("Dry run", id="dry-run", variant="primary", compact=self.app.size.height < SMALL_HEIGHT)

    @on(Button.Pressed, "#dry-run")
    def _dry_run(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(DRY_RUN)  # type: ignore[arg-type]


# -------------------------------------------------------------------------- flow --
def _service(app: OncallApp, name: str) -> Service | None:
    services = list(app.last_data.services) if app.last_data else []
    services += list(app.context.services)
    return next((s for s in services if s.name == name), None)


def _selection(app: OncallApp) -> tuple[str, dict[str, str], str | None] | None:
    """(service, labels, alert fingerprint) of the selection, or None."""
    target = app.current_target()
    if target is None or not target.service:
        return None
    fingerprint = None
    screen = app.triage_screen()
    if screen is not None and app.screen is screen:
        alert = screen.selected_alert()
        fingerprint = alert.fingerprint if alert is not None else None
    return target.service, dict(target.labels), fingerprint


def plan_for_selection(app: OncallApp) -> RollbackPlan | None:
    """The rollback plan of the selected service; notifies and returns None when there is none."""
    selected = _selection(app)
    if selected is None:
        app.notify("select a service or one of its alerts first", severity="warning", markup=False)
        return None
    name, labels, _ = selected
    service = _service(app, name)
    if service is None or service.rollback is None:
        app.notify(
            sanitize_for_display(
                f"no rollback is configured for {name} (add services[].rollback to the config)", max_chars=400
            ),
            severity="warning",
            markup=False,
            timeout=10,
        )
        return None
    merged = {**service.selector, **labels}
    plan = build_plan(service.rollback, service=name, labels=merged, context=app.context.name)
    if not plan.enabled:
        app.notify(
            sanitize_for_display(plan.disabled_reason or "rollback disabled", max_chars=600),
            title="Rollback disabled",
            severity="error",
            markup=False,
            timeout=15,
        )
        return None
    return plan


def start_rollback(app: OncallApp) -> None:
    """``R``: plan → versions (worker) → confirmation → rollback (worker)."""
    if refuse_if_read_only(app):
        return
    plan = plan_for_selection(app)
    if plan is None:
        return
    selected = _selection(app)
    fingerprint = selected[2] if selected else None
    app.run_worker(_confirm(app, plan, fingerprint), group="actions", exit_on_error=False)


def signal_facts(app: OncallApp, service: str) -> tuple[str, str]:
    """The service's error rate and p99 now, formatted (``–`` when unknown)."""
    row = next((r for r in (app.last_data.rows if app.last_data else []) if r.service == service), None)
    if row is None:
        return fmt.MISSING, fmt.MISSING
    return fmt.percent(row.values.get("errors")), fmt.seconds(row.values.get("latency_p99"))


def facts_text(app: OncallApp, plan: RollbackPlan, versions: Versions) -> Text:
    errors, p99 = signal_facts(app, plan.service)
    text = Text()
    text.append("version: ", style="bold")
    text.append(versions.describe())
    if versions.source:
        text.append(f"  (from {versions.source})", style="dim")
    if versions.error:
        text.append("\n")
        text.append(sanitize_for_display(f"version lookup: {versions.error}", max_chars=300), style="dim")
    text.append("\nnow: ", style="bold")
    text.append(sanitize_for_display(f"error rate {errors} · p99 {p99}"))
    return text


async def _confirm(app: OncallApp, plan: RollbackPlan, fingerprint: str | None) -> None:
    try:
        versions = await asyncio.wait_for(
            fetch_versions(
                app.session.prometheus,
                plan.config,
                labels=plan.labels,
                service=plan.service,
                context=plan.context,
                now=app.clock(),
            ),
            VERSION_TIMEOUT,
        )
    except TimeoutError:
        versions = Versions(error=f"no answer within {VERSION_TIMEOUT:g}s")
    runner = app.action_runner()
    if runner.read_only:  # the context changed meanwhile
        refuse_if_read_only(app)
        return
    try:
        preview = plan.preview()
    except Exception as exc:  # noqa: BLE001 - a disabled plan: shown, never a crash
        notify_error(app, "rollback disabled", exc)
        return

    def confirmed(choice: Any) -> None:
        if choice is True or choice == DRY_RUN:
            app.run_worker(
                _do_rollback(app, plan, versions, dry_run=choice == DRY_RUN, fingerprint=fingerprint),
                group="actions",
                exit_on_error=False,
            )

    app.push_screen(
        RollbackConfirmScreen(
            preview,
            facts=facts_text(app, plan, versions),
            dry_run=plan.has_dry_run,
            typed_target=typed_target(runner, plan.target),
            title=f"Roll back {sanitize_for_display(plan.service, max_chars=100)}",
        ),
        confirmed,
    )


async def _do_rollback(
    app: OncallApp, plan: RollbackPlan, versions: Versions, *, dry_run: bool, fingerprint: str | None
) -> None:
    errors, p99 = signal_facts(app, plan.service)
    extra: dict[str, Any] = {"versions": versions.to_record(), "error_rate": errors, "p99": p99}
    if fingerprint:
        extra["alert_fingerprint"] = fingerprint
    what = "dry run" if dry_run else "rollback"
    if not dry_run:
        app.notify(sanitize_for_display(f"rolling back {plan.service}…", max_chars=200), markup=False)
    try:
        outcome = await execute(
            app.action_runner(),
            plan,
            dry_run=dry_run,
            output_dir=app.state_path / "rollback",
            transport=app.transport,
            env=app.env,
            allow_insecure=app.allow_insecure,
            extra=extra,
        )
    except Exception as exc:  # noqa: BLE001 - read-only, audit unavailable...: shown, never a crash
        notify_error(app, f"{what} not done", exc)
        _after_write(app)
        return
    if outcome.ok:
        app.notify(sanitize_for_display(outcome.detail, max_chars=600), title=what.capitalize(), markup=False)
        if not dry_run:
            app.annotate_action("rollback", plan.service, versions.describe())
    else:
        app.notify(
            sanitize_for_display(outcome.detail, max_chars=600),
            title=f"{what.capitalize()} failed",
            severity="error",
            markup=False,
            timeout=20,
        )
    _after_write(app)
