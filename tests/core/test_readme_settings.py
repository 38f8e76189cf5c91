"""The README's configuration table names every setting the service reads."""

from __future__ import annotations

from pathlib import Path

from vault.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [
        f"VAULT_{name.upper()}"
        for name in Settings.model_fields
        if f"| `VAULT_{name.upper()}` |" not in text
    ]
    assert missing == []
