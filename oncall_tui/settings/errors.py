"""The two error types of the settings layer.

Neither ever carries a secret value: messages name keys, files, environment variables and
what was expected, never what was found.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigProblem:
    """One problem found in the configuration, with where it came from.

    ``origin`` is ``"FILE:LINE:COL"`` (or just ``"FILE"``) for the config file, or
    ``"environment ONCALL_TUI_..."`` for an environment override; ``path`` is the dotted key path
    (``contexts.prod.endpoints.prometheus.timeout``); ``message`` says what was expected.
    """

    origin: str
    path: str
    message: str

    def __str__(self) -> str:
        parts = [p for p in (self.origin, self.path) if p]
        return ": ".join([*parts, self.message])


class ConfigError(Exception):
    """The configuration cannot be used; ``str()`` lists every problem, one per line."""

    def __init__(self, message: str | list[ConfigProblem]) -> None:
        if isinstance(message, str):
            self.problems: list[ConfigProblem] = [ConfigProblem("", "", message)]
        else:
            self.problems = list(message)
        super().__init__("\n".join(str(p) for p in self.problems))


class SecretUnavailable(ConfigError):
    """A secret reference could not be resolved; the message says what to do instead."""
