"""The active grants of a subject, as the access engine and the consent gates see them.

Read from the database on every call (no cache): withdrawal and expiry take
effect on the very next request. Only grants the audit log attests reach a
decision (``vault.consent.attestation``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, exists, select
from sqlmodel import col

from vault.audit.attesting import subject_events
from vault.consent.attestation import attested_only
from vault.consent.tables import Consent, ConsentEnding, ConsentPurpose
from vault.consent.views import stored_grant
from vault.cursor_reads import Reads
from vault.stamps import UtcDateTime
from vault.vocabulary import ConsentGrant


def _active_grants_query() -> Select[uuid.UUID, datetime, str, str, str]:
    """Granted purposes of a subject's consents active at :now (built once, Core only:
    this runs on every read of a record, and the ORM would triple its cost)."""
    now = bindparam("now", type_=UtcDateTime())
    ended = exists().where(
        col(ConsentEnding.consent_id) == col(Consent.id), col(ConsentEnding.at) <= now
    )
    return (
        select(
            col(Consent.id),
            col(Consent.expires_at),
            col(ConsentPurpose.purpose),
            col(ConsentPurpose.categories),
            col(ConsentPurpose.recipients),
        )
        .join(ConsentPurpose, col(ConsentPurpose.consent_id) == col(Consent.id))
        .where(
            col(Consent.subject_id) == bindparam("subject_id"),
            col(ConsentPurpose.granted).is_(True),
            col(Consent.signed_at) <= now,
            col(Consent.expires_at) > now,
            ~ended,
        )
        .order_by(col(Consent.signed_at), col(ConsentPurpose.purpose))
    )


_ACTIVE_GRANTS = _active_grants_query()


def _grants(rows: Sequence[Any], subject_id: uuid.UUID) -> list[ConsentGrant]:
    return [
        stored_grant(
            row.id, subject_id, row.purpose, row.categories, row.recipients, row.expires_at
        )
        for row in rows
    ]


def active_grants(session: Reads, subject_id: uuid.UUID, now: datetime) -> list[ConsentGrant]:
    """One grant per granted purpose of every consent of the subject active at ``now``,
    attested by the audit log. Refused purposes, ended and expired consents never appear."""
    params = {"subject_id": subject_id, "now": now}
    grants = _grants(session.execute(_ACTIVE_GRANTS, params).all(), subject_id)
    if grants:
        grants = attested_only(grants, subject_events(session, subject_id))
    return grants
