"""Command line: ``oncall-tui [options] [check]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from oncall_tui import __version__
from oncall_tui.text.redact import install_log_redaction

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
#: How a handoff's deep links start the demo.
DEMO_LAUNCH = "oncall-tui --demo"


def _add_common(parser: argparse.ArgumentParser) -> None:
    """Options accepted both before and after the subcommand."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $ONCALL_TUI_CONFIG, then ~/.config/oncall-tui/config.yaml)",
    )
    parser.add_argument("--context", metavar="NAME", help="context to use (default: current_context)")
    parser.add_argument("--readonly", action="store_true", help="force read-only: no write actions")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow endpoints whose config sets tls.insecure_skip_verify",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log requests to stderr")
    parser.add_argument("--demo", action="store_true", help="the embedded demo incident; no config needed")
    parser.add_argument(
        "--demo-speed", type=float, default=1.0, metavar="X", help="demo story time runs X times faster"
    )
    parser.add_argument(
        "--demo-at", type=float, default=900.0, metavar="SECONDS",
        help="start the demo this many story seconds in (deploy at 60, alerts fire ~130)",
    )
    parser.add_argument("--goto", metavar="CMD", help="deep link, e.g. ':svc llm-server'")
    parser.add_argument("--refresh", type=float, metavar="SECONDS", help="refresh interval (default 10)")
    parser.add_argument("--theme", metavar="NAME", help="colour theme")
    parser.add_argument("--mouse", action="store_true", help="enable the mouse (off: terminal selection works)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oncall-tui",
        description="Triage model-serving incidents from the terminal.",
    )
    parser.add_argument("--version", action="version", version=f"oncall-tui {__version__}")
    _add_common(parser)
    # Subcommands repeat the common options; SUPPRESS keeps values given before the subcommand.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    _add_common(common)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("check", parents=[common], help="validate the config and probe every endpoint")
    snap = sub.add_parser("snapshot", parents=[common], help="render one view once, headless, and exit")
    snap.add_argument("--size", default="120x40", metavar="WxH", help="terminal size (default 120x40)")
    out = snap.add_mutually_exclusive_group()
    out.add_argument("--text", action="store_const", dest="format", const="text", help="plain text (default)")
    out.add_argument("--svg", metavar="FILE", help="write an SVG screenshot to FILE")
    out.add_argument("--json", action="store_const", dest="format", const="json", help="signals and alerts as JSON")
    serve = sub.add_parser("serve", parents=[common], help="the read-only app in a browser (for incident commanders)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; others print a warning)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--token-file", metavar="PATH", help="read the access token from PATH (0600) instead of generating one")
    serve.add_argument("--max-sessions", type=int, default=4, metavar="N", help="at most N browser sessions, one process each (default 4)")
    serve.add_argument("--public-url", metavar="URL", help="the URL browsers reach it at (behind a proxy)")
    incident = sub.add_parser("incident", parents=[common], help="the incident timeline")
    isub = incident.add_subparsers(dest="incident_command", metavar="ACTION", required=True)
    export = isub.add_parser("export", parents=[common], help="print or write the postmortem draft from the timeline")
    export.add_argument("--format", choices=("md", "json"), default="md", dest="export_format", help="md (default) or json")
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE (default: stdout)")
    export.add_argument("--title", metavar="TEXT", help="postmortem title (default: 'incident in CONTEXT')")
    handoff = isub.add_parser(
        "handoff", parents=[common], help="what fires now, silences, actions, open writes and deep links, for the next responder"
    )
    handoff.add_argument("--format", choices=("md", "json"), default="md", dest="export_format", help="md (default) or json")
    handoff.add_argument("--output", "-o", metavar="FILE", help="write to FILE (default: stdout)")
    return parser


def _setup_logging(verbose: bool) -> None:
    install_log_redaction()
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _cmd_check(args: argparse.Namespace, out: Console, err: Console) -> int:
    from oncall_tui.check import check_exit_code, render_report, run_checks
    from oncall_tui.settings import ConfigError, load_settings

    try:
        settings = load_settings(args.config)
        context = settings.context(args.context)
    except ConfigError as exc:
        err.print(Text(f"oncall-tui: config error\n{exc}"))
        return EXIT_CONFIG
    results = asyncio.run(run_checks(context, allow_insecure=args.insecure))
    render_report(settings, context, results, out)
    return check_exit_code(results)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    out = Console(highlight=False, soft_wrap=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if args.readonly:
        os.environ["ONCALL_TUI_READ_ONLY"] = "1"
    if args.command == "check":
        return _cmd_check(args, out, err)
    if args.command == "incident" and args.incident_command == "handoff":
        return _cmd_incident_handoff(args, err)
    if args.command == "incident":
        return _cmd_incident_export(args, err)
    if args.command == "serve":
        return _cmd_serve(args, err)
    if args.command == "snapshot" and args.format == "json" and not getattr(args, "svg", None):
        return _cmd_snapshot_json(args, err)
    app = _build_app(args, err)
    if app is None:
        return EXIT_CONFIG
    if args.command == "snapshot":
        return _cmd_snapshot(args, app, out, err)
    app.run(mouse=args.mouse)
    return app.return_code or 0


def _build_app(args: argparse.Namespace, err: Console):  # type: ignore[no-untyped-def]
    from oncall_tui.app import OncallApp
    from oncall_tui.settings import ConfigError

    try:
        settings = _settings(args)
        transport = _demo_transport(args)
        if not settings.contexts:
            raise ConfigError("no contexts configured; see config/example.yaml, or try --demo")
        app = OncallApp(
            settings,
            context=args.context,
            transport=transport,
            refresh_seconds=args.refresh,
            read_only=args.readonly,
            goto=args.goto,
            theme=args.theme,
            allow_insecure=args.insecure,
        )
    except ConfigError as exc:
        err.print(Text(f"oncall-tui: config error\n{exc}"))
        return None
    if args.demo:
        app.deep_link_prefix = DEMO_LAUNCH
    return app


def _cmd_snapshot(args: argparse.Namespace, app, out: Console, err: Console) -> int:  # type: ignore[no-untyped-def]
    from oncall_tui.snapshot import take_snapshot

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        err.print(Text(f"oncall-tui: --size expects WIDTHxHEIGHT, e.g. 120x40, not {args.size!r}"))
        return EXIT_CONFIG
    fmt = "svg" if args.svg else (args.format or "text")
    text, code = asyncio.run(take_snapshot(app, size=(width, height), fmt=fmt))
    if args.svg:
        with open(args.svg, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return code


def _serve_app_args(args: argparse.Namespace) -> list[str]:
    """The options each browser session's app runs with (it always adds ``--readonly``)."""
    out: list[str] = []
    if args.demo:
        out += ["--demo", "--demo-speed", str(args.demo_speed), "--demo-at", str(args.demo_at)]
    elif args.config:
        out += ["--config", os.path.abspath(args.config)]
    for flag, value in (("--context", args.context), ("--refresh", args.refresh), ("--theme", args.theme), ("--goto", args.goto)):
        if value is not None:
            out += [flag, str(value)]
    if args.insecure:
        out.append("--insecure")
    return out


def _cmd_serve(args: argparse.Namespace, err: Console) -> int:
    """``oncall-tui serve``: the read-only app in a browser, behind a token."""
    from oncall_tui.settings import ConfigError

    try:
        from oncall_tui.serve import (
            ServeError,
            ServeOptions,
            new_token,
            read_token_file,
            run,
        )
    except ImportError as exc:  # pragma: no cover - textual-serve is a dependency
        err.print(Text(f"oncall-tui serve needs textual-serve: {exc}"))
        return EXIT_CONFIG
    try:  # a wrong config is told here, not in every browser tab
        _settings(args).context(args.context)
    except ConfigError as exc:
        err.print(Text(f"oncall-tui: config error\n{exc}"))
        return EXIT_CONFIG
    try:
        token = read_token_file(args.token_file) if args.token_file else new_token()
        options = ServeOptions(
            host=args.host, port=args.port, token=token, max_sessions=args.max_sessions, public_url=args.public_url
        )
        run(_serve_app_args(args), options, say=lambda line: print(line, flush=True))
    except ServeError as exc:
        err.print(Text(f"oncall-tui serve: {exc}"))
        return EXIT_CONFIG
    except OSError as exc:
        err.print(Text(f"oncall-tui serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"))
        return EXIT_FAILED
    return EXIT_OK


def _cmd_incident_export(args: argparse.Namespace, err: Console) -> int:
    """``oncall-tui incident export``: the context's timeline as a Markdown/JSON postmortem draft."""
    from oncall_tui.actions.audit import state_dir
    from oncall_tui.actions.timeline import Timeline, export_json, export_markdown
    from oncall_tui.incident import timeline_path
    from oncall_tui.settings import ConfigError

    name = args.context
    if name is None:
        try:
            name = _settings(args).context().name
        except ConfigError as exc:
            err.print(Text(f"oncall-tui: config error (or pass --context NAME)\n{exc}"))
            return EXIT_CONFIG
    path = timeline_path(state_dir(), name)
    events = Timeline(path).events()
    title = args.title or f"incident in {name}"
    render = export_json if args.export_format == "json" else export_markdown
    text = render(events, context=name, title=title)
    if not events:
        err.print(Text(f"oncall-tui: no timeline events for context {name!r} in {path}"))
    return _emit(text, args.output, err, f"{len(events)} events")


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The demo's settings with ``--demo``, else the config's (raises ``ConfigError``)."""
    if args.demo:
        from oncall_tui.demo import demo_settings

        return demo_settings()
    from oncall_tui.settings import load_settings

    return load_settings(args.config)


def _demo_transport(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The demo incident's servers with ``--demo`` (None: the real ones)."""
    if not args.demo:
        return None
    from oncall_tui.demo import DemoIncident, demo_transport

    return demo_transport(DemoIncident(offset=args.demo_at, speed=args.demo_speed))


def _emit(text: str, output: str | None, err: Console, what: str) -> int:
    """``text`` to ``output`` (or stdout), ending in one newline."""
    text = text if text.endswith("\n") else text + "\n"
    if not output:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        err.print(Text(f"oncall-tui: cannot write {output}: {exc.strerror or exc}"))
        return EXIT_FAILED
    err.print(Text(f"wrote {output} ({what})"))
    return EXIT_OK


def _headless_incident(args: argparse.Namespace, err: Console):  # type: ignore[no-untyped-def]
    """The context's incident, read-only and without a UI (None after a config error)."""
    from oncall_tui.actions.audit import AuditLog, state_dir
    from oncall_tui.incident import Incident
    from oncall_tui.settings import ConfigError

    try:
        settings = _settings(args)
        context = settings.context(args.context)
    except ConfigError as exc:
        err.print(Text(f"oncall-tui: config error\n{exc}"))
        return None
    state = state_dir()
    return Incident(
        settings, context, audit=AuditLog(state / "audit.jsonl"), state_path=state,
        refresh_seconds=args.refresh or settings.refresh_seconds, force_read_only=True,
        transport=_demo_transport(args), allow_insecure=args.insecure,
    )  # fmt: skip


def _cmd_snapshot_json(args: argparse.Namespace, err: Console) -> int:
    """``oncall-tui snapshot --json``: one refresh, headless, no screen drawn."""
    from oncall_tui.snapshot import fetch_json

    incident = _headless_incident(args, err)
    if incident is None:
        return EXIT_CONFIG
    text, code = asyncio.run(fetch_json(incident))
    sys.stdout.write(text)
    return code


def _cmd_incident_handoff(args: argparse.Namespace, err: Console) -> int:
    """``oncall-tui incident handoff``: one refresh of the context's backends, headless, then
    the handoff for the next responder (exit 1 when a backend did not answer)."""
    from oncall_tui.incident.handoff import fetch_handoff

    incident = _headless_incident(args, err)
    if incident is None:
        return EXIT_CONFIG
    state = incident.state_path
    try:
        text, code = asyncio.run(fetch_handoff(incident, args.export_format, launch=DEMO_LAUNCH if args.demo else None))
    except OSError as exc:  # the timeline or audit log cannot be read
        err.print(Text(f"oncall-tui: cannot read the incident state in {state}: {exc.strerror or exc}"))
        return EXIT_FAILED
    if code:
        err.print(Text("oncall-tui: a backend did not answer; the handoff says which"))
    return _emit(text, args.output, err, "handoff") or code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
