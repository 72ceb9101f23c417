"""The ``:`` command line and ``--goto`` deep links: ``:ctx NAME``, ``:svc NAME``, ``:theme NAME``, ``:q``.

Parsing is pure so that the same text works typed in the app, pasted into chat as a deep link
(``oncall-tui --goto ':svc llm-server'``) and in ``oncall-tui snapshot --goto``. Later views add
their own verbs (``:logs``, ``:trace``, ``:gpu``, ``:silences``, ``:timeline``) to :data:`VERBS`.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Whether a verb takes an argument: True (required), False (none) or OPTIONAL.
OPTIONAL = "optional"

#: verb -> (aliases, argument: True | False | OPTIONAL, help)
VERBS: dict[str, tuple[tuple[str, ...], bool | str, str]] = {
    "ctx": (("context",), True, "switch context: :ctx NAME"),
    "svc": (("service",), True, "open a service's detail: :svc NAME"),
    "theme": ((), True, "switch theme: :theme NAME"),
    "triage": (("home",), False, "back to the triage screen"),
    "logs": (("log",), OPTIONAL, "logs: :logs {service=\"x\"} |= \"text\" (no query: the selection's logs)"),
    "trace": (("traces",), OPTIONAL, "a trace waterfall: :trace TRACE_ID (no id: the selection's traces)"),
    "gpu": (("gpus",), OPTIONAL, "GPUs: :gpu [NODE] (the fleet, or one node's GPUs)"),
    "silences": (("silence",), False, "active and pending silences (X expire, E extend)"),
    "timeline": (("tl",), False, "the incident timeline (N note, e export)"),
    "retry": ((), False, "failed writes kept for retry: retry or dismiss them"),
    "runbook": (("rb",), False, "the selected alert's runbook"),
    "handoff": ((), False, "handoff for the next responder: firing, silences, actions, open writes, links (w saves)"),
    "q": (("quit", "q!"), False, "quit"),
}


class CommandError(ValueError):
    """The command line could not be understood; the message says what is accepted."""


@dataclass(frozen=True)
class Command:
    verb: str
    arg: str = ""

    def __str__(self) -> str:
        return f":{self.verb} {self.arg}".rstrip()


def parse_command(text: str) -> Command:
    """``":svc llm-server"`` -> ``Command("svc", "llm-server")``; the leading colon is optional."""
    body = text.strip()
    if body.startswith(":"):
        body = body[1:].strip()
    if not body:
        raise CommandError("empty command; try :ctx NAME, :svc NAME, :theme NAME or :q")
    word, _, arg = body.partition(" ")
    word, arg = word.lower(), arg.strip()
    for verb, (aliases, needs_arg, usage) in VERBS.items():
        if word == verb or word in aliases:
            if needs_arg is True and not arg:
                raise CommandError(f"missing argument: {usage}")
            if needs_arg is False and arg:
                raise CommandError(f"unexpected argument {arg!r}: {usage}")
            return Command(verb, arg)
    known = ", ".join(f":{v}" for v in VERBS)
    raise CommandError(f"unknown command :{word} (known: {known})")
