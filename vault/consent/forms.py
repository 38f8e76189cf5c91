"""Consent forms: versioned TOML files in ``policies/consent-forms/``, checked against a lock.

A form file is named ``<id>-v<version>.toml`` and carries every word the
person is shown, in every language it offers (see the README, section "Consent forms"). The
lock file ``forms.lock`` holds the SHA-256 of each released file; a file whose
bytes differ from its locked hash was edited under the same version and is
refused, so the service does not start with it. A released form can only be
replaced by a new version.

The text shown is :meth:`ConsentForm.render`; its SHA-256 is stored with every
consent, so a receipt proves exactly what the person read.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault.errors import ConfigurationError, NotFound
from vault.vocabulary import EMERGENCY_PURPOSE, Category

LOCK_FILE = "forms.lock"
LANGUAGES = ("id", "en")
# Recipients that are not organisation codes but stand for one, resolved at signing.
HOLDING = "{holding}"  # the organisation holding the person when they sign
SENTRA = "{sentra}"  # a Kemensos sentra the witness names at signing
PLACEHOLDERS = frozenset({HOLDING, SENTRA})
ORG_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_FILE_NAME = re.compile(r"^(?P<id>[a-z0-9][a-z0-9-]*)-v(?P<version>[1-9][0-9]*)\.toml$")
_PURPOSE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
_SECTIONS = ("title", "intro", "controller", "duration", "rights", "withdraw")
_LABELS = ("data", "recipients", "duration", "rights", "withdraw")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class FormPurpose:
    code: str
    categories: tuple[Category, ...]
    recipients: tuple[str, ...]  # organisation codes or placeholders
    dpv: str | None
    title: Mapping[str, str]
    text: Mapping[str, str]

    @property
    def needs_sentra(self) -> bool:
        return SENTRA in self.recipients


@dataclass(frozen=True)
class ConsentForm:
    id: str
    version: int
    languages: tuple[str, ...]
    duration_days: int
    purposes: tuple[FormPurpose, ...]
    dpv_categories: Mapping[Category, str]
    file_sha256: str
    _sections: Mapping[str, Mapping[str, str]]
    _labels: Mapping[str, Mapping[str, str]]
    _category_labels: Mapping[str, Mapping[str, str]]
    _recipient_labels: Mapping[str, Mapping[str, str]]

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    def purpose(self, code: str) -> FormPurpose:
        for purpose in self.purposes:
            if purpose.code == code:
                return purpose
        raise NotFound(f"The form {self.key} has no purpose '{code}'.")

    def check_language(self, lang: str) -> str:
        if lang not in self.languages:
            raise NotFound(f"The form {self.key} is not available in '{lang}'.")
        return lang

    def category_label(self, lang: str, category: Category) -> str:
        return self._category_labels[lang][category.value]

    def recipient_label(self, lang: str, recipient: str) -> str:
        return self._recipient_labels.get(lang, {}).get(recipient, recipient)

    def section(self, lang: str, name: str, controller: str) -> str:
        text = self._sections[name][lang]
        return text.replace("{controller}", controller).replace("{days}", str(self.duration_days))

    def render(self, lang: str, controller: str) -> str:
        """The exact text shown to the person in ``lang`` (what ``text_sha256`` hashes)."""
        self.check_language(lang)
        labels = self._labels[lang]
        parts = [
            self.section(lang, "title", controller),
            self.section(lang, "intro", controller),
            self.section(lang, "controller", controller),
        ]
        for number, purpose in enumerate(self.purposes, start=1):
            data = "; ".join(self.category_label(lang, c) for c in purpose.categories)
            who = "; ".join(self.recipient_label(lang, r) for r in purpose.recipients)
            parts.append(
                f"{number}. {purpose.title[lang]}\n{purpose.text[lang]}\n"
                f"{labels['data']}: {data}\n{labels['recipients']}: {who}"
            )
        for name in ("duration", "rights", "withdraw"):
            parts.append(f"{labels[name]}:\n{self.section(lang, name, controller)}")
        return "\n\n".join(parts) + "\n"

    def text_sha256(self, lang: str, controller: str) -> str:
        return sha256_hex(self.render(lang, controller).encode("utf-8"))


class FormLibrary:
    """Every form version found in the folder, verified against the lock."""

    def __init__(self, forms: Mapping[tuple[str, int], ConsentForm]) -> None:
        self._forms = dict(forms)

    def all(self) -> list[ConsentForm]:
        return [self._forms[key] for key in sorted(self._forms)]

    def get(self, form_id: str, version: int | None = None) -> ConsentForm:
        if version is None:
            return self.latest(form_id)
        form = self._forms.get((form_id, version))
        if form is None:
            raise NotFound(f"No consent form '{form_id}' version {version}.")
        return form

    def latest(self, form_id: str) -> ConsentForm:
        versions = [v for (fid, v) in self._forms if fid == form_id]
        if not versions:
            raise NotFound(f"No consent form '{form_id}'.")
        return self._forms[(form_id, max(versions))]

    def is_latest(self, form: ConsentForm) -> bool:
        return self.latest(form.id).version == form.version


def read_lock(folder: Path) -> dict[str, str]:
    path = folder / LOCK_FILE
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: not a valid lock file ({exc})") from None
    forms = data.get("forms", {})
    if not isinstance(forms, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in forms.items()
    ):
        raise ConfigurationError(f"{path}: [forms] must map 'id@version' to a SHA-256 hex string")
    return dict(forms)


def form_files(folder: Path) -> dict[str, Path]:
    """``{"id@version": path}`` for every form file in the folder."""
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.toml")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise ConfigurationError(
                f"{path}: a consent form file must be named <id>-v<version>.toml"
            )
        found[f"{match['id']}@{int(match['version'])}"] = path
    return found


def lock_new_forms(folder: Path) -> list[str]:
    """Add the hash of every form file not yet in the lock; never change an existing line.

    Returns the keys added. A file that differs from its locked hash raises, as at start-up.
    """
    lock = read_lock(folder)
    added = []
    for key, path in form_files(folder).items():
        digest = sha256_hex(path.read_bytes())
        if key in lock:
            _check_locked(key, path, digest, lock[key])
            continue
        _parse_form(path, digest)  # refuse to lock a form that would not load
        lock[key] = digest
        added.append(key)
    if added:
        lines = [
            "# SHA-256 of every released consent form file. Never edit a line here:",
            "# to change a form, add a new version and run `vault consent lock`.",
            "[forms]",
        ]
        lines += [f'"{key}" = "{lock[key]}"' for key in sorted(lock)]
        (folder / LOCK_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return added


def load_forms(folder: Path) -> FormLibrary:
    """Load and check every form; raise ConfigurationError if any is edited, unlocked or bad."""
    if not folder.is_dir():
        raise ConfigurationError(f"{folder}: the consent forms folder does not exist")
    lock = read_lock(folder)
    files = form_files(folder)
    missing = sorted(set(lock) - set(files))
    if missing:
        raise ConfigurationError(
            f"{folder}: released forms are missing ({', '.join(missing)}); "
            "a released form may never be removed"
        )
    forms: dict[tuple[str, int], ConsentForm] = {}
    for key, path in files.items():
        digest = sha256_hex(path.read_bytes())
        if key not in lock:
            raise ConfigurationError(
                f"{path.name}: not in {LOCK_FILE}; run `vault consent lock` to release it"
            )
        _check_locked(key, path, digest, lock[key])
        form = _parse_form(path, digest)
        forms[(form.id, form.version)] = form
    if not forms:
        raise ConfigurationError(f"{folder}: no consent forms found")
    return FormLibrary(forms)


def _check_locked(key: str, path: Path, digest: str, locked: str) -> None:
    if not hmac.compare_digest(digest, locked):
        raise ConfigurationError(
            f"{path.name}: the text of {key} changed without a new version "
            "(its SHA-256 differs from forms.lock); restore it and make a new version"
        )


def _parse_form(path: Path, digest: str) -> ConsentForm:
    where = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{where}: not valid TOML ({exc})") from None
    try:
        return _build_form(data, path, digest)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def _texts(data: Mapping[str, Any], name: str, languages: tuple[str, ...]) -> dict[str, str]:
    value = data.get(name)
    if not isinstance(value, dict):
        raise ValueError(f"'{name}' must be a table with one text per language")
    texts = {}
    for lang in languages:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"'{name}' has no text in '{lang}'")
        texts[lang] = text.strip("\n")
    return texts


def _build_form(data: Mapping[str, Any], path: Path, digest: str) -> ConsentForm:
    match = _FILE_NAME.match(path.name)
    if match is None:  # form_files checked the name; a caller that did not is refused
        raise ValueError("a consent form file is named <id>-v<version>.toml")
    form_id, version = data["id"], data["version"]
    if form_id != match["id"] or version != int(match["version"]):
        raise ValueError("id and version must match the file name")
    languages = tuple(data["languages"])
    if not languages or any(lang not in LANGUAGES for lang in languages):
        raise ValueError(f"languages must be among {LANGUAGES}")
    if "id" not in languages or "en" not in languages:
        raise ValueError("every form must be in Bahasa Indonesia (id) and English (en)")
    duration = data["duration_days"]
    if not isinstance(duration, int) or not 1 <= duration <= 3660:
        raise ValueError("duration_days must be a whole number of days from 1 to 3660")
    sections = {name: _texts(data, name, languages) for name in _SECTIONS}
    labels_by_lang: dict[str, dict[str, str]] = {}
    for lang in languages:
        table = data["labels"][lang]
        labels_by_lang[lang] = {name: str(table[name]) for name in _LABELS}
    category_labels = {
        lang: {str(k): str(v) for k, v in data["category_labels"][lang].items()}
        for lang in languages
    }
    recipient_labels = {
        lang: {str(k): str(v) for k, v in data.get("recipient_labels", {}).get(lang, {}).items()}
        for lang in languages
    }
    purposes = []
    seen: set[str] = set()
    for raw in data["purposes"]:
        purpose = _build_purpose(raw, languages, category_labels, recipient_labels)
        if purpose.code in seen:
            raise ValueError(f"purpose '{purpose.code}' appears twice")
        seen.add(purpose.code)
        purposes.append(purpose)
    if not purposes:
        raise ValueError("a form needs at least one purpose")
    dpv_categories = {Category(k): str(v) for k, v in data.get("dpv_categories", {}).items()}
    return ConsentForm(
        id=form_id,
        version=version,
        languages=languages,
        duration_days=duration,
        purposes=tuple(purposes),
        dpv_categories=dpv_categories,
        file_sha256=digest,
        _sections=sections,
        _labels=labels_by_lang,
        _category_labels=category_labels,
        _recipient_labels=recipient_labels,
    )


def _build_purpose(
    raw: Mapping[str, Any],
    languages: tuple[str, ...],
    category_labels: Mapping[str, Mapping[str, str]],
    recipient_labels: Mapping[str, Mapping[str, str]],
) -> FormPurpose:
    code = raw["code"]
    if not isinstance(code, str) or not _PURPOSE_CODE.match(code) or code == EMERGENCY_PURPOSE:
        raise ValueError(f"purpose code {code!r} is not allowed")
    categories = tuple(Category(c) for c in raw["categories"])
    if not categories or len(set(categories)) != len(categories):
        raise ValueError(f"purpose '{code}' needs distinct data categories")
    # UU 27/2022: health data is specific personal data; it is asked on its own.
    if Category.HEALTH_SENSITIVE in categories and len(categories) != 1:
        raise ValueError(f"purpose '{code}' bundles health data with other data")
    recipients = tuple(str(r) for r in raw["recipients"])
    if not recipients:
        raise ValueError(f"purpose '{code}' names no recipient")
    for recipient in recipients:
        if recipient not in PLACEHOLDERS and not ORG_CODE.match(recipient):
            raise ValueError(f"purpose '{code}': {recipient!r} is not an organisation code")
    for lang in languages:
        for category in categories:
            if category.value not in category_labels[lang]:
                raise ValueError(f"category '{category}' has no label in '{lang}'")
        for recipient in recipients:
            if recipient in PLACEHOLDERS and recipient not in recipient_labels[lang]:
                raise ValueError(f"recipient '{recipient}' has no label in '{lang}'")
    dpv = raw.get("dpv")
    return FormPurpose(
        code=code,
        categories=categories,
        recipients=recipients,
        dpv=str(dpv) if dpv else None,
        title=_texts(raw, "title", languages),
        text=_texts(raw, "text", languages),
    )
