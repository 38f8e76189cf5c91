"""What the audit API answers: the response bodies of ``vault.audit.http``."""

from __future__ import annotations

import uuid
from typing import Any, Literal

import msgspec


class EventPageOut(msgspec.Struct):
    events: list[dict[str, Any]]
    next_cursor: str | None


class VerifyOut(msgspec.Struct):
    ok: bool
    events: int
    checkpoints: int
    first_bad_seq: int | None
    problem: str | None
    first_seq: int  # events first_seq..events were walked
    from_head: int  # on from the verified signed head of this size (0: from the start)
    full: bool


class ConsentMismatchOut(msgspec.Struct):
    consent_id: uuid.UUID
    seq: int  # the audit event the tables contradict; 0 when the signing's events are missing
    problem: str


class ConsentCheckOut(msgspec.Struct):
    ok: bool
    mismatches: list[ConsentMismatchOut]


class AccessMismatchOut(msgspec.Struct):
    kind: Literal["assignment", "break_glass"]
    id: uuid.UUID
    subject_id: uuid.UUID
    problem: str


class AccessCheckOut(msgspec.Struct):
    ok: bool
    mismatches: list[AccessMismatchOut]


class DisclosuresOut(msgspec.Struct):
    subject_id: uuid.UUID
    disclosures: list[dict[str, Any]]
    # The signed head and each disclosure's inclusion proof, as tools/verify_log.py
    # reads them (None when the vault's key signs no tree heads).
    proofs: dict[str, Any] | None = None
