"""The package structure as rules: no import cycle, HTTP only at the edges, declared exports."""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "vault"
# Where Litestar may be imported: the HTTP and web layers and the app that assembles them.
HTTP_LAYER_FILES = {"app.py", "health.py", "http.py"}
HTTP_LAYER_DIRS = {"http", "web"}
# A capability's controllers and commands: the edge that sits above every domain.
EDGE_MODULES = {"http", "cli"}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        relative = path.relative_to(PACKAGE_ROOT)
        if relative.parts[0] == "migrations":
            continue
        parts = ["vault", *relative.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _unit(module: str) -> str | None:
    """The unit a module belongs to: its capability package, or itself at the top level.

    A capability's ``http`` and ``cli`` modules are its edge, a unit of their own
    above every capability's domain: a controller may use the web layer's helpers and
    another capability's vocabulary, and nothing below imports a controller.
    """
    parts = module.split(".")
    if parts[0] != "vault" or len(parts) < 2:
        return None
    name = parts[1]
    if len(parts) >= 3 and parts[2] in EDGE_MODULES and (PACKAGE_ROOT / name).is_dir():
        return f"vault.{name}.{parts[2]}"
    if (PACKAGE_ROOT / name).is_dir() or (PACKAGE_ROOT / f"{name}.py").is_file():
        return f"vault.{name}"
    return None  # a name imported from the package itself (``from vault import x``)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in _modules():
        source = _unit(module)
        if source is None:
            continue
        targets = graph.setdefault(source, set())
        for imported in _imports(path):
            target = _unit(imported)
            if target is not None and target != source:
                targets.add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_packages() -> None:
    """No capability imports one that (directly or not) imports it back."""
    assert _cycles(_graph()) == []


def test_cycle_finder_sees_a_cycle() -> None:
    """The cycle check itself finds a cycle when there is one (so the test above can fail)."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_litestar_only_in_the_http_and_web_layers() -> None:
    """The domain knows no HTTP: Litestar is imported only by controllers, pages and the app."""
    offenders = []
    for module, path in _modules():
        relative = path.relative_to(PACKAGE_ROOT)
        if relative.parts[0] in HTTP_LAYER_DIRS or relative.name in HTTP_LAYER_FILES:
            continue
        if any(name.split(".")[0] == "litestar" for name in _imports(path)):
            offenders.append(module)
    assert offenders == []


def _packages() -> list[str]:
    return sorted(module for module, path in _modules() if path.name == "__init__.py")


@pytest.mark.parametrize("package", _packages())
def test_each_package_declares_what_it_exports(package: str) -> None:
    """Every package declares ``__all__``, and every name it lists exists."""
    imported = importlib.import_module(package)
    exported = getattr(imported, "__all__", None)
    assert isinstance(exported, list), f"{package} declares no __all__ list"
    missing = [name for name in exported if not hasattr(imported, name)]
    assert missing == []


def test_no_assert_in_production_code() -> None:
    """Production code raises the vault's own errors; it never relies on assert."""
    offenders = [
        f"{module}:{node.lineno}"
        for module, path in _modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assert)
    ]
    assert offenders == []


MARKERS = re.compile(r"type:\s*ignore(\[[^\]]*\])?|noqa(:\s*[A-Z]+[0-9]+(,\s*[A-Z]+[0-9]+)*)?")


def test_every_suppression_carries_a_reason() -> None:
    """Each ``type: ignore`` and ``noqa`` in production code says why beside it."""
    offenders = []
    for module, path in _modules():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if "# type: ignore" not in line and "# noqa" not in line:
                continue
            comment = line[line.find("#") :]
            # What the comment says besides the markers and their codes: the reason.
            reason = MARKERS.sub("", comment).replace("#", " ").strip(" :()")
            if len(reason) < 8:
                offenders.append(f"{module}:{number}")
    assert offenders == []


def test_modules_are_small() -> None:
    """No module of the vault (migrations aside) grows past ~400 lines."""
    large = {
        module: count
        for module, path in _modules()
        if (count := len(path.read_text().splitlines())) > 420
    }
    assert large == {}


# The one role set kept in code: it can only take content away (a second line behind the
# policies), never grant anything.
DENY_ONLY_ROLE_SETS = {"NO_CONTENT_ROLES"}


def _role_collections(tree: ast.AST) -> list[int]:
    """Lines holding a set, list or tuple of two or more ``Role.X`` (not the deny-only set)."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in DENY_ONLY_ROLE_SETS for t in node.targets
        ):
            allowed |= {n.lineno for n in ast.walk(node) if hasattr(n, "lineno")}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Set | ast.List | ast.Tuple) and node.lineno not in allowed:
            roles = [
                e
                for e in node.elts
                if isinstance(e, ast.Attribute)
                and isinstance(e.value, ast.Name)
                and e.value.id == "Role"
            ]
            if len(roles) >= 2:
                found.append(node.lineno)
    return found


def test_no_role_list_in_code_decides_access() -> None:
    """Who may do what is said by the policies: no collection of roles in production code."""
    offenders = [
        f"{module}:{line}"
        for module, path in _modules()
        if module != "vault.vocabulary"
        for line in _role_collections(ast.parse(path.read_text()))
    ]
    assert offenders == []


def test_role_list_scan_sees_a_role_list() -> None:
    """The scan finds a role set deciding access, and lets the deny-only one pass."""
    assert _role_collections(ast.parse("STAFF_ROLES = {Role.OFFICER, Role.COUNSELOR}\n")) == [1]
    assert _role_collections(ast.parse("NO_CONTENT_ROLES = {Role.ADMIN, Role.OFFICER}\n")) == []
    assert _role_collections(ast.parse("ok = user.role in (Role.ADMIN, Role.OFFICER)\n")) == [1]
