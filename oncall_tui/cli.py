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
from oncall_tui.core.redact import install_log_redaction

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


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
    err.print(
        Text(
            "oncall-tui: the interactive screens are not built yet; "
            "`oncall-tui check` validates the config and probes every endpoint."
        )
    )
    return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
