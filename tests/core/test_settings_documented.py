"""The configuration page's table names every setting the service reads."""

from __future__ import annotations

from pathlib import Path

from vault.config import Settings

CONFIGURATION_PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_is_on_the_configuration_page() -> None:
    """Each field of Settings has its own row in the table of docs/configuration.md."""
    text = CONFIGURATION_PAGE.read_text(encoding="utf-8")
    missing = [
        f"VAULT_{name.upper()}"
        for name in Settings.model_fields
        if f"| `VAULT_{name.upper()}` |" not in text
    ]
    assert missing == []
