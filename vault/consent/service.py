"""The consent capability: forms, signing, withdrawal, expiry, receipts, FHIR.

Every operation takes the actor explicitly (a staff principal, or the subject
at the kiosk), so the HTTP controller and the kiosk call the same functions.
Nothing about consents is cached beyond one call: withdrawal and expiry take
effect on the very next request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import exists, select
from sqlmodel import col

from vault.access.model import Category, ConsentGrant
from vault.audit.events import AuditSink
from vault.config import Settings
from vault.consent.forms import ConsentForm, FormLibrary, load_forms
from vault.consent.ports import PinVerifier, ReceiptSigner, SubjectFacts
from vault.consent.tables import Consent, ConsentEnding, ConsentPurpose
from vault.db import Database

FORMS_FOLDER = "consent-forms"


def split_codes(joined: str) -> list[str]:
    return [part for part in joined.split(",") if part]


class ConsentService:
    """Implements ``vault.access.model.ConsentProvider`` and the consent operations."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Callable[[], datetime],
        *,
        forms: FormLibrary | None = None,
        hasher: PinVerifier | None = None,
        signer: ReceiptSigner | None = None,
        audit: AuditSink | None = None,
        facts: SubjectFacts | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.library = forms or load_forms(settings.policies_dir / FORMS_FOLDER)
        # Collaborators from other capabilities; build_services sets them once they exist.
        self.hasher = hasher
        self.signer = signer
        self.audit = audit
        self.facts = facts

    # -- the access engine's view ---------------------------------------------------------

    def active_consents(self, subject_id: uuid.UUID, now: datetime) -> list[ConsentGrant]:
        """One grant per granted purpose of every consent of the subject active at ``now``.

        Refused purposes, withdrawn, superseded and expired consents never appear.
        Read from the database on every call (no cache), in a read-only session.
        """
        ended = exists().where(
            col(ConsentEnding.consent_id) == col(Consent.id), col(ConsentEnding.at) <= now
        )
        query = (
            select(
                col(Consent.id),
                col(Consent.expires_at),
                col(ConsentPurpose.purpose),
                col(ConsentPurpose.categories),
                col(ConsentPurpose.recipients),
            )
            .join(ConsentPurpose, col(ConsentPurpose.consent_id) == col(Consent.id))
            .where(
                col(Consent.subject_id) == subject_id,
                col(ConsentPurpose.granted).is_(True),
                col(Consent.signed_at) <= now,
                col(Consent.expires_at) > now,
                ~ended,
            )
            .order_by(col(Consent.signed_at), col(ConsentPurpose.purpose))
        )
        with self.db.read_session() as session:
            rows = session.execute(query).all()
        return [
            ConsentGrant(
                consent_id=row.id,
                subject_id=subject_id,
                purpose=row.purpose,
                categories=frozenset(Category(c) for c in split_codes(row.categories)),
                recipients=frozenset(split_codes(row.recipients)),
                expires_at=row.expires_at,
            )
            for row in rows
        ]

    # -- forms ----------------------------------------------------------------------------

    def forms(self) -> Sequence[ConsentForm]:
        return self.library.all()

    def form(self, form_id: str, version: int | None = None) -> ConsentForm:
        return self.library.get(form_id, version)
