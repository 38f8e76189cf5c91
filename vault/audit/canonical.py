"""The canonical encoding of an audit event: the exact bytes the chain hashes.

JSON with sorted keys, no whitespace, UTF-8, every field present (null when
empty), times as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``. The bytes are stored beside
the hash, so a verifier hashes what was written and never has to re-encode;
anyone can also read them with any JSON parser.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from vault.audit.events import AuditEvent

FORMAT_VERSION = 1
GENESIS_HASH = bytes(32)  # the prev_hash of event 1


def format_time(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    if utc.year >= 1000:
        # The same text as the strftime below, several times faster (every event and
        # every attested grant formats a time).
        return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _id(value: object) -> str | None:
    return None if value is None else str(value)


def event_document(seq: int, moment: datetime, event: AuditEvent) -> dict[str, Any]:
    """The event as the JSON object that is hashed, exported and returned by the API."""
    return {
        "v": FORMAT_VERSION,
        "seq": seq,
        "time": format_time(moment),
        "action": event.action,
        "outcome": event.outcome.value,
        "actor_id": _id(event.actor_id),
        "actor_role": event.actor_role,
        "actor_org": event.actor_org,
        "subject_id": _id(event.subject_id),
        "target_id": _id(event.target_id),
        "categories": list(event.categories),
        "purpose": event.purpose,
        "consent_id": _id(event.consent_id),
        "break_glass": event.break_glass,
        "break_glass_id": _id(event.break_glass_id),
        "policy_ids": list(event.policy_ids),
        "reason": event.reason,
        "request_id": event.request_id,
        "client_addr": event.client_addr,
        "details": dict(event.details),
    }


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def decode(canonical: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(canonical)
    return document


@lru_cache(maxsize=4096)
def decode_remembered(canonical: bytes) -> dict[str, Any]:
    """``decode`` for events read on every request (consent and access attestations).

    Events never change (a changed one breaks the chain), so the parse is kept;
    callers must not modify the returned document.
    """
    return decode(canonical)


def link_hash(prev_hash: bytes, canonical: bytes) -> bytes:
    """``SHA-256(prev_hash || canonical)``: the link from one event to the next."""
    return hashlib.sha256(prev_hash + canonical).digest()
