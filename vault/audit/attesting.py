"""The audit events that attest a subject's authorisation rows, read on every decision.

Consent grants (``vault.consent.attestation``), assignments and break-glass grants
(``vault.access.facts``) are plain rows; a decision uses one only if the event
that created it is in the audit log. Both read the subject's events through
``subject_events``: one indexed query per read transaction, shared by both.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, literal_column, select

from vault.audit.canonical import decode_remembered
from vault.audit.models import EVENTS
from vault.cursor_reads import CursorReads, Reads
from vault.vocabulary import EventAction

CONSENT_SIGN = EventAction.CONSENT_SIGN.value
CONSENT_GRANT = EventAction.CONSENT_GRANT.value
CONSENT_ENDINGS = (EventAction.CONSENT_WITHDRAW.value, EventAction.CONSENT_SUPERSEDE.value)
ASSIGNMENT_CREATE = EventAction.ASSIGNMENT_CREATE.value
ASSIGNMENT_END = EventAction.ASSIGNMENT_END.value
BREAK_GLASS_OPEN = EventAction.BREAK_GLASS_OPEN.value
# An unjustified review ends a grant at once: a shortened expiry written back opens nothing.
BREAK_GLASS_REVIEW = EventAction.BREAK_GLASS_REVIEW.value
CONSENT_ACTIONS = (CONSENT_SIGN, CONSENT_GRANT, *CONSENT_ENDINGS)
ACCESS_ACTIONS = (ASSIGNMENT_CREATE, ASSIGNMENT_END, BREAK_GLASS_OPEN, BREAK_GLASS_REVIEW)

# By the index (subject_id, action, seq). The actions are literals in the SQL (no
# expanding parameter), so the statement is the same text on every call and on
# the bare cursor. No ORDER BY: the attestation rules do not depend on order, and
# with one the planner chose the (subject_id, seq) index and walked every event
# of the subject (one per read of its records).
ATTESTING = (
    EVENTS.c.subject_id == bindparam("subject_id"),
    EVENTS.c.action.in_(
        [literal_column(f"'{action}'") for action in (*CONSENT_ACTIONS, *ACCESS_ACTIONS)]
    ),
)
SUBJECT_ATTESTING_EVENTS = select(EVENTS.c.canonical).where(*ATTESTING)


def subject_events(reads: Reads, subject_id: uuid.UUID) -> list[dict[str, Any]]:
    """The subject's attesting events (decoded; do not modify), once per transaction."""
    memo = reads.memo if isinstance(reads, CursorReads) else None
    key = ("attesting-events", subject_id)
    if memo is not None and key in memo:
        found: list[dict[str, Any]] = memo[key]
        return found
    rows = reads.execute(SUBJECT_ATTESTING_EVENTS, {"subject_id": subject_id})
    return remember_events(reads, subject_id, [bytes(row[0]) for row in rows])


def remember_events(
    reads: Reads, subject_id: uuid.UUID, documents: list[bytes]
) -> list[dict[str, Any]]:
    """The subject's attesting events read by another statement of this transaction
    (every row ``SUBJECT_ATTESTING_EVENTS`` gives), decoded and kept for its rest."""
    found = [decode_remembered(document) for document in documents]
    if isinstance(reads, CursorReads):
        reads.memo[("attesting-events", subject_id)] = found
    return found
