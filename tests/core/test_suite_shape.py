"""The test suite's own habits: one sentence per test, no test module leaning on another."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _test_modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(TESTS.rglob("test_*.py")):
        yield path, ast.parse(path.read_text(), str(path))


def test_every_test_says_what_it_proves() -> None:
    """Each test function has a docstring (one sentence saying what it proves)."""
    missing = [
        f"{path.relative_to(TESTS)}:{node.lineno} {node.name}"
        for path, tree in _test_modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
        and not ast.get_docstring(node)
    ]
    assert missing == []


def test_no_test_module_imports_another() -> None:
    """Shared helpers live in support modules, never in another test module."""
    offenders = []
    for path, tree in _test_modules():
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders += [
                f"{path.relative_to(TESTS)} imports {name}"
                for name in names
                if name.split(".")[-1].startswith("test_")
            ]
    assert offenders == []
