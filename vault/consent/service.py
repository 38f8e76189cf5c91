"""The consent capability: forms, signing, withdrawal, expiry, receipts, FHIR.

Every operation takes the actor explicitly (a staff principal, or the subject
at the kiosk), so the HTTP controller and the kiosk call the same functions,
and every gate is a decision of the policy engine (``vault.consent.core``).
The parts live in their own modules: signing (``signing``), withdrawal and
expiry (``lifecycle``), views and receipts (``reading``), the active grants
the access engine reads (``grants``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from vault.consent.choosing import PinRefused, PinState
from vault.consent.core import FORMS_FOLDER
from vault.consent.grants import active_grants, grants_ahead
from vault.consent.guardians import GuardianIdentity, GuardianNeeded, GuardianPinWrong
from vault.consent.model import Actor, Guardian, SignedConsent, SignRequest
from vault.consent.pin_reports import PendingReset, PinBlocked, PinOrigin, PinReports
from vault.consent.reading import ConsentReading
from vault.consent.signing import ConsentSigning
from vault.cursor_reads import Ahead, Reads
from vault.vocabulary import ConsentGrant


class ConsentService(ConsentSigning, ConsentReading, PinReports):
    """Implements ``vault.vocabulary.ConsentProvider`` and the consent operations."""

    def grants_ahead(self, subject_id: uuid.UUID, now: datetime) -> Ahead:
        """The statement ``active_consents(subject_id, now, reads)`` runs, to send ahead."""
        return grants_ahead(subject_id, now)

    def active_consents(
        self, subject_id: uuid.UUID, now: datetime, session: Reads | None = None
    ) -> list[ConsentGrant]:
        """One grant per granted purpose of every consent of the subject active at ``now``.

        Refused purposes, withdrawn, superseded and expired consents never appear.
        Read in ``session`` when the caller has one open (a record read does, so the
        whole read is one transaction on one connection), else in a read-only
        transaction of its own.
        """
        if session is not None:
            return active_grants(session, subject_id, now)
        with self.db.read_session() as own:
            return active_grants(own, subject_id, now)


__all__ = [
    "FORMS_FOLDER",
    "Actor",
    "ConsentService",
    "Guardian",
    "GuardianIdentity",
    "GuardianNeeded",
    "GuardianPinWrong",
    "PendingReset",
    "PinBlocked",
    "PinOrigin",
    "PinRefused",
    "PinState",
    "SignRequest",
    "SignedConsent",
]
