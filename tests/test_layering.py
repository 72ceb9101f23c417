"""DESIGN.md layering: clients/models/core/actions/settings never import textual; widgets
never import clients or httpx. Enforced by the import-linter contracts in pyproject.toml."""

from __future__ import annotations

import ast
from pathlib import Path

import subprocess
import sys

from .conftest import REPO


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


def test_no_screen_imports_the_app() -> None:
    """Screens reach the app through screens/shell.py only (also inside functions)."""
    offenders = []
    for path in (REPO / "oncall_tui").rglob("*.py"):
        if path.name == "app.py" or path.parts[-2] == "oncall_tui" and path.name in ("cli.py", "snapshot.py", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "oncall_tui.app":
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_no_lower_layer_imports_textual_directly() -> None:
    """Belt and braces for files import-linter cannot see (e.g. imports inside functions)."""
    offenders = []
    for layer in ("clients", "models", "core", "actions", "settings", "incident", "text"):
        for path in (REPO / "oncall_tui" / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                )
                if any(n == "textual" or n.startswith("textual.") for n in names):
                    offenders.append(str(path.relative_to(REPO)))
    assert offenders == []
