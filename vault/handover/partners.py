"""Trusted partners, sealed: a partner's keys as the operator recorded them, or nothing.

A partner row (``handover_partners``) decides whose signatures a bundle or a
withdrawal notice must carry, to which key an export is encrypted, and under
which log keys an export must be proven logged. So its ``trust_seal``
(``vault.crypto.columns``, under a key the database does not hold) covers the
organisation and the digests of all three key sets, and every use reads the row
through :func:`trusted_partner`: a row changed outside the vault (a signing key
swapped for a database writer's own, an encryption key replaced, log keys
emptied), written without a seal, or moved to another organisation is refused
(``PartnerUnsealed``) and logged CRITICAL.

A whole earlier row copied back (keys the operator has since replaced) carries
a genuine seal, so each ``handover.trust`` event names the digest of what it
sealed, and a row that is not the one the latest such event for its partner
names is refused too. The legitimate path is the operator's: ``vault handover
trust`` seals the row afresh and logs the event.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from vault.audit.canonical import decode_remembered
from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.audit.models import EVENTS
from vault.crypto.columns import ColumnSealer
from vault.db import Database
from vault.errors import Conflict
from vault.handover.checks import Partner
from vault.handover.models import HandoverPartner
from vault.vocabulary import EventAction

__all__ = [
    "TRUST_DETAIL",
    "PartnerUnsealed",
    "record_partner",
    "seal_partner",
    "trust_digest",
    "trusted_partner",
]

log = logging.getLogger("vault.handover")

TABLE = "handover_partners"
TRUST_COLUMN = "trust"
# The detail of a handover.trust event naming the digest of the row it sealed.
TRUST_DETAIL = "trust"


class PartnerUnsealed(Conflict):
    """A partner row that is not as the operator last recorded it: nothing of it is used."""

    slug = "handover-partner-unsealed"
    title = "The partner's trusted keys were changed outside the vault"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _trust_value(row: HandoverPartner) -> str:
    """What a partner's ``trust_seal`` holds (newline-joined: no part contains one)."""
    return "\n".join(
        (
            row.organization,
            _digest(row.signing_jwks),
            _digest(row.encryption_jwk),
            _digest(row.log_keys),
        )
    )


def trust_digest(row: HandoverPartner) -> str:
    """The digest a ``handover.trust`` event names: of the row's sealed value."""
    return _digest(_trust_value(row))


def seal_partner(sealer: ColumnSealer, row: HandoverPartner) -> None:
    """Seal the row as it now is (the operator's ``trust``, and only it, calls this)."""
    row.trust_seal = sealer.seal(TABLE, TRUST_COLUMN, row.id, _trust_value(row))


def record_partner(
    db: Database, sealer: ColumnSealer, audit: AuditSink, given: HandoverPartner
) -> None:
    """Store the partner's keys as ``given``, sealed, replacing any it had; the
    ``handover.trust`` event naming the sealed digest is appended before the row is
    written (an event without its row leaves the partner refused: fail closed)."""
    with db.read_session() as session:
        known = session.exec(
            select(HandoverPartner.id).where(HandoverPartner.organization == given.organization)
        ).first()
    row_id = known if known is not None else given.id
    given.id = row_id
    seal_partner(sealer, given)
    details = {"partner": given.organization, TRUST_DETAIL: trust_digest(given)}
    audit.append(AuditEvent.by(None, EventAction.HANDOVER_TRUST, Outcome.INFO, details=details))
    with db.session() as session:
        row = session.get(HandoverPartner, row_id) or HandoverPartner(
            id=row_id, organization=given.organization, signing_jwks="", encryption_jwk=""
        )
        row.signing_jwks = given.signing_jwks
        row.encryption_jwk = given.encryption_jwk
        row.log_keys = given.log_keys
        row.trust_seal = given.trust_seal
        session.add(row)


def _latest_trusted(session: Session, organization: str) -> str | None:
    """The digest the latest ``handover.trust`` event for the partner names, if any."""
    query = (
        sa_select(EVENTS.c.canonical)
        .where(EVENTS.c.action == EventAction.HANDOVER_TRUST.value)
        .order_by(EVENTS.c.seq.desc())
    )
    for (canonical,) in session.execute(query):
        details: Any = decode_remembered(bytes(canonical)).get("details") or {}
        if isinstance(details, dict) and details.get("partner") == organization:
            named = details.get(TRUST_DETAIL)
            return named if isinstance(named, str) else None
    return None


def _refuse(row: HandoverPartner, problem: str) -> PartnerUnsealed:
    # The organisation code and row id only (no key material): what an investigator needs.
    log.critical(
        "handover partner %s (row %s): %s; it is not trusted. Run `vault audit verify`, "
        "then `vault handover trust` with the partner's published keys.",
        row.organization[:64],
        row.id,
        problem,
    )
    return PartnerUnsealed(
        f"The trusted keys of partner {row.organization[:64]} were changed outside the "
        "vault; nothing is sent to or taken from it until the operator trusts it again."
    )


def trusted_partner(session: Session, sealer: ColumnSealer, organization: str) -> Partner | None:
    """The partner as the operator last recorded it; None if it was never trusted.

    Raises ``PartnerUnsealed`` for a row changed, written or copied back outside the vault.
    """
    row = session.exec(
        select(HandoverPartner).where(HandoverPartner.organization == organization)
    ).first()
    if row is None:
        return None
    if not sealer.holds(TABLE, TRUST_COLUMN, row.id, row.trust_seal, _trust_value(row)):
        raise _refuse(row, "the row does not match its seal")
    if _latest_trusted(session, row.organization) != trust_digest(row):
        raise _refuse(row, "the row is not the one the latest handover.trust event names")
    try:
        return Partner(
            row.organization,
            json.loads(row.signing_jwks),
            json.loads(row.encryption_jwk),
            json.loads(row.log_keys),
        )
    except ValueError:
        raise _refuse(row, "the sealed keys do not parse") from None
