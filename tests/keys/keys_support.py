"""Helpers of the key tests (a module of its own so tests can import it by name)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from vault.config import Settings
from vault.crypto.fields import FieldBinding, FieldCipher, record_manifest_digest
from vault.crypto.keys import DataKey
from vault.db import Database
from vault.keys.wiring import KeyServices


@dataclass
class KeyEnv:
    settings: Settings
    db: Database
    keys: KeyServices


def canary_binding(subject_id: uuid.UUID, record_id: uuid.UUID) -> FieldBinding:
    digest = record_manifest_digest(record_id, "health_napza", 1, ["hiv_status"])
    return FieldBinding(subject_id, record_id, "health_napza", "hiv_status", digest)


def encrypt_canary(dek: DataKey, subject_id: uuid.UUID, record_id: uuid.UUID, text: bytes) -> bytes:
    return FieldCipher(dek).encrypt(text, canary_binding(subject_id, record_id))
