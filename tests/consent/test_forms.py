"""Consent forms: the lock refuses edited, unlocked or removed forms; the texts stay plain."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import make_settings
from vault.consent.forms import LOCK_FILE, load_forms, lock_new_forms
from vault.errors import ConfigurationError
from vault.services import build_services

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
FORMS = REPO_POLICIES / "consent-forms"
FORM_FILE = "rehabilitation-v1.toml"


@pytest.fixture
def forms_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "consent-forms"
    shutil.copytree(FORMS, folder)
    return folder


def test_the_shipped_forms_load_and_match_the_lock() -> None:
    """Every form in the repository is locked, valid, and in both languages."""
    library = load_forms(FORMS)
    form = library.latest("rehabilitation")
    assert form.languages == ("id", "en")
    codes = [p.code for p in form.purposes]
    for required in (
        "counseling",
        "social_reintegration",
        "health_treatment",
        "handover_kemensos",
        "statistics",
    ):
        assert required in codes
    health = form.purpose("health_treatment")
    assert [c.value for c in health.categories] == ["health_sensitive"]
    assert all(p.dpv for p in form.purposes)


def test_a_form_edited_under_the_same_version_is_refused(forms_copy: Path) -> None:
    """Changing one word of a released form without a new version stops loading."""
    path = forms_copy / FORM_FILE
    path.write_text(path.read_text().replace("Konseling", "Konsultasi", 1))
    with pytest.raises(ConfigurationError, match="changed without a new version"):
        load_forms(forms_copy)
    with pytest.raises(ConfigurationError, match="changed without a new version"):
        lock_new_forms(forms_copy)  # the lock cannot be refreshed over it either


def test_the_service_refuses_to_start_with_an_edited_form(tmp_path: Path) -> None:
    """Start-up (build_services) fails when a released form's bytes differ from forms.lock."""
    # SQLite only: the forms are what is tested, and a start-up that fails part-way
    # leaves PostgreSQL connections to the garbage collector.
    database_url = f"sqlite:///{tmp_path / 'vault.db'}"
    policies = tmp_path / "policies"
    shutil.copytree(REPO_POLICIES, policies)
    path = policies / "consent-forms" / FORM_FILE
    path.write_bytes(path.read_bytes() + b"\n")
    settings = make_settings(database_url, tmp_path, policies_dir=policies)
    with pytest.raises(ConfigurationError, match=r"forms\.lock"):
        build_services(settings, migrate=True)


def test_a_new_version_must_be_locked_then_loads(forms_copy: Path) -> None:
    """A new version is refused until locked; locking adds it and leaves version 1's line alone."""
    old_lock = (forms_copy / LOCK_FILE).read_text()
    text = (forms_copy / FORM_FILE).read_text().replace("version = 1", "version = 2")
    (forms_copy / "rehabilitation-v2.toml").write_text(text.replace("365", "180"))
    with pytest.raises(ConfigurationError, match=r"not in forms\.lock"):
        load_forms(forms_copy)
    assert lock_new_forms(forms_copy) == ["rehabilitation@2"]
    old_line = next(line for line in old_lock.splitlines() if "rehabilitation@1" in line)
    assert old_line in (forms_copy / LOCK_FILE).read_text()
    library = load_forms(forms_copy)
    assert library.latest("rehabilitation").duration_days == 180
    assert not library.is_latest(library.get("rehabilitation", 1))


def test_a_released_form_cannot_be_removed(forms_copy: Path) -> None:
    """Deleting a locked form is refused: old consents must still show what they showed."""
    (forms_copy / FORM_FILE).unlink()
    with pytest.raises(ConfigurationError, match="may never be removed"):
        load_forms(forms_copy)


def test_health_data_cannot_be_bundled(forms_copy: Path) -> None:
    """A purpose mixing health data with other categories is refused when locking."""
    text = (forms_copy / FORM_FILE).read_text().replace("version = 1", "version = 2")
    text = text.replace(
        'categories = ["health_sensitive"]', 'categories = ["health_sensitive", "program"]'
    )
    (forms_copy / "rehabilitation-v2.toml").write_text(text)
    with pytest.raises(ConfigurationError, match="bundles health data"):
        lock_new_forms(forms_copy)


def test_texts_are_short_sentences_in_both_languages() -> None:
    """Plain language: no sentence of the shown text runs longer than 20 words."""
    form = load_forms(FORMS).latest("rehabilitation")
    for lang in form.languages:
        text = form.render(lang, "Direktorat Jenderal Pemasyarakatan")
        for line in text.splitlines():
            if ":" in line and line.split(":")[0] in ("Data used", "Data yang dipakai"):
                continue  # the lists of data categories are lists, not sentences
            for sentence in re.split(r"(?<=[.!?])\s+", line):
                assert len(sentence.split()) <= 20, sentence
