"""Reading the YAML config file and remembering where each key was written.

The file is parsed with ``yaml.safe_load`` and composed with ``yaml.compose`` (safe loader)
into a node tree; :class:`Locator` maps a key path to ``FILE:LINE:COL`` (or to the environment
variable that set it) so every problem and warning can say exactly where to look.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from oncall_tui.text.redact import redact
from oncall_tui.text.sanitize import sanitize_for_display
from oncall_tui.settings.errors import ConfigError, ConfigProblem

MAX_CONFIG_BYTES = 1024 * 1024
MAX_NODES = 100_000  # also stops alias bombs ("billion laughs") before validation expands them

Key = str | int
KeyPath = tuple[Key, ...]
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Marks:
    """Where a key and its value start (0-based line/column, as PyYAML reports them)."""

    key: tuple[int, int] | None
    value: tuple[int, int]


def format_path(path: KeyPath) -> str:
    """``contexts.prod.services[0].preset``."""
    out = ""
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            shown = sanitize_for_display(str(key), max_chars=64)
            out += f".{shown}" if out else shown
    return out


def _mark(mark: Any) -> tuple[int, int]:
    return (mark.line, mark.column)


def _index(root: yaml.Node, filename: str) -> tuple[dict[KeyPath, Marks], list[ConfigProblem]]:
    marks: dict[KeyPath, Marks] = {(): Marks(None, _mark(root.start_mark))}
    problems: list[ConfigProblem] = []
    stack: list[tuple[KeyPath, yaml.Node]] = [((), root)]
    visited = 0
    while stack:
        path, node = stack.pop()
        visited += 1
        if visited > MAX_NODES:
            raise ConfigError(
                f"{filename}: too many YAML nodes (over {MAX_NODES}, counting alias expansions)"
            )
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                    continue
                key = key_node.value
                if key in seen:
                    line, col = _mark(key_node.start_mark)
                    problems.append(
                        ConfigProblem(
                            f"{filename}:{line + 1}:{col + 1}",
                            format_path((*path, key)),
                            f"duplicate key (first written on line {seen[key] + 1})",
                        )
                    )
                seen[key] = key_node.start_mark.line
                marks[(*path, key)] = Marks(_mark(key_node.start_mark), _mark(value_node.start_mark))
                stack.append(((*path, key), value_node))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                marks[(*path, index)] = Marks(None, _mark(item.start_mark))
                stack.append(((*path, index), item))
    return marks, problems


def parse_yaml(text: str, filename: str) -> tuple[Any, dict[KeyPath, Marks]]:
    """Parse ``text``; return the data and the key-path → position index.

    Raises :class:`ConfigError` on a syntax error (``FILE:LINE:COL: YAML syntax error: ...``,
    never quoting the offending line) or on duplicate keys.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        problem = sanitize_for_display(redact(str(exc.problem or "invalid YAML")), max_chars=200)
        raise ConfigError([ConfigProblem(where, "", f"YAML syntax error: {problem}")]) from None
    except yaml.YAMLError:
        raise ConfigError([ConfigProblem(filename, "", "YAML syntax error")]) from None
    if root is None:
        return None, {}
    marks, problems = _index(root, filename)
    if problems:
        raise ConfigError(problems)
    return data, marks


def locate(text: str, filename: str) -> Locator:
    """A :class:`Locator` for YAML ``text`` already parsed elsewhere (only to place errors)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    return Locator(filename, _index(root, filename)[0] if root is not None else {})


@dataclass
class Locator:
    """Turns key paths into ``FILE:LINE:COL`` or ``environment ONCALL_TUI_...``."""

    filename: str | None
    marks: dict[KeyPath, Marks] = field(default_factory=dict)
    env_origins: Mapping[KeyPath, str] = field(default_factory=dict)

    def _lookup(self, path: KeyPath) -> Marks | None:
        found = self.marks.get(path)
        if found is None:
            found = self.marks.get(tuple(str(k) if not isinstance(k, int) else k for k in path))
        return found

    def env_var(self, path: KeyPath) -> str | None:
        """The environment variable that set ``path`` (or one of its parents), if any."""
        best: tuple[int, str] | None = None
        for origin, name in self.env_origins.items():
            if path[: len(origin)] == origin and (best is None or len(origin) > best[0]):
                best = (len(origin), name)
        if best is not None:
            return best[1]
        if self._lookup(path) is None:  # created by the environment below this point
            for origin, name in self.env_origins.items():
                if origin[: len(path)] == path:
                    return name
        return None

    def origin(self, path: KeyPath, *, at_key: bool = False) -> str:
        """Where ``path`` was written; the value's position unless ``at_key``.

        A path that is not in the file (a missing key) points at its nearest parent.
        """
        name = self.env_var(path)
        if name is not None:
            return f"environment {name}"
        if self.filename is None:
            return "configuration"
        for depth in range(len(path), -1, -1):
            marks = self._lookup(path[:depth])
            if marks is None:
                continue
            line, col = marks.key if (at_key and depth == len(path) and marks.key) else marks.value
            return f"{self.filename}:{line + 1}:{col + 1}"
        return self.filename
