"""The words of the kiosk and the dashboard, in Bahasa Indonesia and English.

Consent forms carry their own text (``policies/consent-forms``); these are the
words around them. Every language has the same keys (a test checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from vault.web.messages_en import EN
from vault.web.messages_id import ID
from vault.web.messages_workbench import WORKBENCH_EN, WORKBENCH_ID

DEFAULT_LANGUAGE = "id"
LANGUAGES = ("id", "en")
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


MESSAGES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "id": MappingProxyType({**ID, **WORKBENCH_ID}),
        "en": MappingProxyType({**EN, **WORKBENCH_EN}),
    }
)


def language_or_default(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def messages(lang: str | None) -> Mapping[str, str]:
    return MESSAGES[language_or_default(lang)]
