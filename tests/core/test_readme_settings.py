"""The README's configuration table, or a settings table of a page under docs/, names
every setting the service reads."""

from __future__ import annotations

from pathlib import Path

from vault.config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def test_every_setting_is_in_the_readme() -> None:
    pages = [README, *sorted(DOCS.glob("*.md"))]
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages if page.exists())
    missing = [
        f"VAULT_{name.upper()}"
        for name in Settings.model_fields
        if f"| `VAULT_{name.upper()}` |" not in text
    ]
    assert missing == []
