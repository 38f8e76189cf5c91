"""The word catalogue: both languages have the same keys, every word the dashboard's
templates use exists in both, and every alert rule has a name in both."""

from __future__ import annotations

import re
from pathlib import Path

from vault.audit.alerts import RULES
from vault.web.i18n import MESSAGES

TEMPLATES = Path(__file__).resolve().parents[2] / "vault" / "web" / "templates"
USED = re.compile(r"\bt\.([a-z_][a-z0-9_]*)|\bt\[\"([a-z_][a-z0-9_]*)\"\]")


def test_both_languages_have_the_same_non_empty_words() -> None:
    """Bahasa Indonesia and English name the same keys, none of them empty."""
    assert set(MESSAGES["id"]) == set(MESSAGES["en"])
    assert all(text.strip() for words in MESSAGES.values() for text in words.values())


def test_every_word_a_dashboard_template_uses_exists() -> None:
    """A key used by a dashboard template but missing from the catalogue fails here."""
    used = set()
    for page in (TEMPLATES / "dashboard").glob("*.html"):
        for plain, indexed in USED.findall(page.read_text(encoding="utf-8")):
            used.add(plain or indexed)
    assert used, "no word found in the templates"
    assert used - set(MESSAGES["id"]) == set()


def test_every_alert_rule_has_a_name_in_both_languages() -> None:
    """The dashboard names each alert rule in words, in both languages."""
    for rule in RULES:
        assert MESSAGES["id"][f"alert_rule_{rule}"] != MESSAGES["en"][f"alert_rule_{rule}"]
