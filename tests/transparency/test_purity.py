"""The transparency package stays pure, and the offline verifier stays standalone."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_package_imports_only_the_standard_library_and_the_vaults_errors() -> None:
    """No database, HTTP or cryptographic library is imported by vault/transparency."""
    allowed_vault = {"vault.errors"}
    offenders = {
        f"{path.name}: {name}"
        for path in (ROOT / "vault" / "transparency").glob("*.py")
        for name in _imported(path)
        if not (
            name.split(".")[0] in sys.stdlib_module_names
            or name in allowed_vault
            or name.startswith("vault.transparency")
        )
    }
    assert offenders == set()


def test_the_verifier_needs_only_the_standard_library_and_cryptography() -> None:
    """tools/verify_log.py imports nothing of the vault, so a partner can run it alone."""
    names = _imported(ROOT / "tools" / "verify_log.py")
    outside = {n for n in names if n.split(".")[0] not in sys.stdlib_module_names}
    assert outside == {
        "cryptography.exceptions",
        "cryptography.hazmat.primitives.asymmetric.ed25519",
    }
