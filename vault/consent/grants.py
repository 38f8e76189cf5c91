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

from sqlalchemy import CompoundSelect, LargeBinary, bindparam, exists, null, select
from sqlmodel import col

from vault.audit.attesting import ATTESTING, remember_events
from vault.audit.models import EVENTS
from vault.consent.attestation import attested_only
from vault.consent.tables import Consent, ConsentEnding, ConsentPurpose
from vault.consent.views import stored_grant
from vault.cursor_reads import Ahead, Reads
from vault.stamps import UtcDateTime
from vault.vocabulary import ConsentGrant


def _grants_and_events_query() -> CompoundSelect[*tuple[Any, ...]]:
    """Granted purposes of a subject's consents active at :now, and the subject's
    attesting events, in one statement (built once, Core only: this runs on every
    read of a record, and the ORM would triple its cost).

    A record read needs both (a grant counts only if its events attest it), so
    they come in one round trip: grant rows have ``canonical`` NULL, event rows
    have only ``canonical``. No ORDER BY: the grants are sorted here (by signing
    time, then purpose), and an ORDER BY over the events once made the planner
    walk every event of the subject.
    """
    now = bindparam("now", type_=UtcDateTime())
    ended = exists().where(
        col(ConsentEnding.consent_id) == col(Consent.id), col(ConsentEnding.at) <= now
    )
    grants = (
        select(
            col(Consent.id),
            col(Consent.expires_at),
            col(ConsentPurpose.purpose),
            col(ConsentPurpose.categories),
            col(ConsentPurpose.recipients),
            col(Consent.signed_at),
            null().cast(LargeBinary).label("canonical"),
        )
        .join(ConsentPurpose, col(ConsentPurpose.consent_id) == col(Consent.id))
        .where(
            col(Consent.subject_id) == bindparam("subject_id"),
            col(ConsentPurpose.granted).is_(True),
            col(Consent.signed_at) <= now,
            col(Consent.expires_at) > now,
            ~ended,
        )
    )
    events = select(null(), null(), null(), null(), null(), null(), EVENTS.c.canonical).where(
        *ATTESTING
    )
    return grants.union_all(events)


GRANTS_AND_EVENTS = _grants_and_events_query()


def _grants(rows: Sequence[Any], subject_id: uuid.UUID) -> list[ConsentGrant]:
    return [
        stored_grant(
            row.id, subject_id, row.purpose, row.categories, row.recipients, row.expires_at
        )
        for row in rows
    ]


def grants_ahead(subject_id: uuid.UUID, now: datetime) -> Ahead:
    """The statement ``active_grants`` runs, to send ahead (``vault.ahead_reads``)."""
    return (GRANTS_AND_EVENTS, {"subject_id": subject_id, "now": now})


def active_grants(session: Reads, subject_id: uuid.UUID, now: datetime) -> list[ConsentGrant]:
    """One grant per granted purpose of every consent of the subject active at ``now``,
    attested by the audit log. Refused purposes, ended and expired consents never appear."""
    rows = session.execute(*grants_ahead(subject_id, now)).all()
    documents = [bytes(row.canonical) for row in rows if row.canonical is not None]
    # The events are kept for the rest of the read transaction (the assignment check).
    events = remember_events(session, subject_id, documents)
    stored = sorted(
        (row for row in rows if row.canonical is None), key=lambda row: (row.signed_at, row.purpose)
    )
    grants = _grants(stored, subject_id)
    if grants:
        grants = attested_only(grants, events)
    return grants
