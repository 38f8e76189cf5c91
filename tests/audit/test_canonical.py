"""``vault.audit.canonical``: the exact bytes the chain hashes, the same on every machine."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from vault.audit.canonical import (
    GENESIS_HASH,
    decode,
    encode,
    event_document,
    format_time,
    link_hash,
    parse_time,
)
from vault.audit.events import AuditEvent, Outcome

MOMENT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
EVENT = AuditEvent(
    action="record.read",
    outcome=Outcome.ALLOW,
    actor_id=uuid.UUID(int=1),
    actor_role="counselor",
    actor_org="lapas-a",
    subject_id=uuid.UUID(int=2),
    categories=("psychological",),
    purpose="counseling",
    policy_ids=("records.care-team",),
    details={"kata": "catatan ü"},
)


def test_times_are_utc_with_microseconds_and_a_z() -> None:
    """A local time is written as the same instant in UTC, always to the microsecond."""
    jakarta = MOMENT.astimezone(timezone(timedelta(hours=7)))
    assert format_time(jakarta) == "2026-03-01T09:30:15.123456Z"
    assert format_time(MOMENT.replace(microsecond=0)) == "2026-03-01T09:30:15.000000Z"
    assert parse_time(format_time(MOMENT)) == MOMENT


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1000, 1, 1, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(9999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    ],
)
def test_fast_formatting_writes_the_documented_text(moment: datetime) -> None:
    """The fast path writes exactly what the documented strftime format writes."""
    assert format_time(moment) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_every_field_is_present_and_empty_ones_are_null() -> None:
    """A verifier finds the same keys in every event, nulls where nothing was given."""
    document = event_document(7, MOMENT, AuditEvent(action="auth.login", outcome=Outcome.DENY))
    assert document["seq"] == 7
    assert document["v"] == 1
    assert document["subject_id"] is None
    assert document["categories"] == []
    assert document["details"] == {}
    assert set(document) == set(event_document(1, MOMENT, EVENT))


def test_encoding_is_sorted_compact_utf8() -> None:
    """Keys sorted, no spaces, non-ASCII kept as UTF-8: one byte string per event."""
    canonical = encode(event_document(1, MOMENT, EVENT))
    assert b" " not in canonical.replace("catatan ü".encode(), b"")
    assert "catatan ü".encode() in canonical
    keys = list(json.loads(canonical))
    assert keys == sorted(keys)
    assert decode(canonical) == event_document(1, MOMENT, EVENT)


def test_not_a_number_cannot_be_encoded() -> None:
    """NaN has no JSON form: encoding refuses it rather than writing non-JSON."""
    with pytest.raises(ValueError, match="JSON compliant"):
        encode({"x": float("nan")})


def test_link_hash_chains_from_the_genesis() -> None:
    """Event 1 links to 32 zero bytes; each link is SHA-256 of previous hash and bytes."""
    canonical = encode(event_document(1, MOMENT, EVENT))
    first = link_hash(GENESIS_HASH, canonical)
    assert first == hashlib.sha256(bytes(32) + canonical).digest()
    assert link_hash(first, canonical) != first
