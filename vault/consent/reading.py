"""Showing consents: the forms, a subject's consents, one consent, its receipt, its FHIR view.

Staff of the holding organisation see every consent of its subjects
(``consent.view``). A recipient organisation (a sentra named by a consent) sees
only the active consents naming it, and of each only the granted purposes
naming it: nothing about refusals, other purposes or other recipients. The
signed receipt and the FHIR view state the whole consent, so they are for the
holding organisation and the subject only.
"""

from __future__ import annotations

import uuid
from typing import Any

from vault.audit.events import Outcome
from vault.consent.core import NO_SUCH_CONSENT, NO_SUCH_SUBJECT
from vault.consent.forms import ConsentForm
from vault.consent.lifecycle import ConsentLifecycle, one_consent
from vault.consent.model import Actor
from vault.consent.views import ConsentRecord, ConsentStatus, load_consents
from vault.errors import Forbidden, NotFound
from vault.vocabulary import Action, ConsentGrant, EventAction


def only_named(records: list[ConsentRecord], grants: list[ConsentGrant]) -> list[ConsentRecord]:
    """The consents and purposes the recipient's grants name, nothing else."""
    named = {(g.consent_id, g.purpose) for g in grants}
    shown = []
    for record in records:
        purposes = tuple(p for p in record.purposes if (record.id, p.code) in named)
        if purposes:
            shown.append(ConsentRecord(record.row, purposes, record.ending))
    return shown


class ConsentReading(ConsentLifecycle):
    """Forms, listings, receipts and the FHIR view."""

    # -- forms ----------------------------------------------------------------------------

    def forms(self) -> list[ConsentForm]:
        return list(self.library.all())

    def form(self, form_id: str, version: int | None = None) -> ConsentForm:
        return self.library.get(form_id, version)

    def form_text(self, form_id: str, lang: str, version: int | None = None) -> dict[str, Any]:
        """The form as shown in ``lang``: its exact text, its hash, and its purposes."""
        form = self.library.get(form_id, version)
        form.check_language(lang)
        controller = self.settings.controller_name
        return {
            "id": form.id,
            "version": form.version,
            "language": lang,
            "current": self.library.is_latest(form),
            "title": form.section(lang, "title", controller),
            "text": form.render(lang, controller),
            "text_sha256": form.text_sha256(lang, controller),
            "duration_days": form.duration_days,
            "controller": controller,
            "purposes": [
                {
                    "code": p.code,
                    "title": p.title[lang],
                    "text": p.text[lang],
                    "categories": [c.value for c in p.categories],
                    "recipients": list(p.recipients),
                    "dpv": p.dpv,
                    "needs_sentra": p.needs_sentra,
                }
                for p in form.purposes
            ],
        }

    # -- consents -------------------------------------------------------------------------

    def list_for_subject(self, actor: Actor, subject_id: uuid.UUID) -> list[ConsentRecord]:
        """The subject's consents the actor may see, newest first (``consent.view``).

        Decided before anything is written: expiries are recorded only for a caller
        the policies let see the list.
        """
        named: list[ConsentGrant] | None = None
        if actor.is_subject:
            if actor.subject_id != subject_id:
                raise NotFound(NO_SUCH_SUBJECT)
        else:
            principal = actor.staff_principal()
            with self.db.read_session() as session:
                subject = self._live_subject(session, subject_id)
                if subject is None:
                    raise NotFound(NO_SUCH_SUBJECT)
                grants = self._recipient_grants(session, principal, subject)
                self._gate(
                    principal,
                    Action.VIEW_CONSENTS,
                    subject,
                    missing=NO_SUCH_SUBJECT,
                    recipient=bool(grants),
                )
            if principal.organization != subject.organization:
                named = grants
        self.record_expiries(subject_id)
        with self.db.read_session() as session:
            records = load_consents(session, subject_id=subject_id)
        return records if named is None else only_named(records, named)

    def get(self, actor: Actor, consent_id: uuid.UUID) -> ConsentRecord:
        """One consent, for its subject or the holding organisation's staff (else NotFound,
        the same whether the consent is missing or not the caller's to see)."""
        with self.db.read_session() as session:
            record = one_consent(session, consent_id)
            if actor.is_subject:
                if actor.subject_id != record.row.subject_id:
                    raise NotFound(NO_SUCH_CONSENT)
            else:
                self._record_gate(session, actor.staff_principal(), Action.VIEW_CONSENTS, record)
        return record

    def receipt(self, actor: Actor, consent_id: uuid.UUID) -> str:
        """The signed receipt (compact JWS) of the consent; the fetch is audited."""
        audit = self._need(self.audit, "audit log")
        record = self.get(actor, consent_id)
        audit.append(
            actor.event(
                EventAction.CONSENT_RECEIPT,
                Outcome.INFO,
                subject_id=record.row.subject_id,
                target_id=consent_id,
                consent_id=consent_id,
            )
        )
        return self._open_receipt(record)

    def fhir(self, actor: Actor, consent_id: uuid.UUID) -> dict[str, Any]:
        """The consent as an HL7 FHIR R5 Consent resource (validated)."""
        # fhir.resources is large: loaded on the first export, not at start-up.
        from vault.consent.fhir import consent_resource

        if actor.is_subject:
            raise Forbidden("The FHIR export is for staff.")
        record = self.get(actor, consent_id)
        form = self.library.get(record.row.form_id, record.row.form_version)
        return consent_resource(
            record,
            form,
            self.settings.controller_name,
            self.clock(),
        )

    def active_for_display(self, subject_id: uuid.UUID, lang: str) -> list[dict[str, Any]]:
        """The subject's active consents with purpose titles in ``lang`` (for the kiosk,
        which shows them only after the subject's PIN)."""
        now = self.clock()
        with self.db.read_session() as session:
            records = load_consents(session, subject_id=subject_id)
        shown = []
        for record in records:
            if record.status(now) is not ConsentStatus.ACTIVE:
                continue
            form = self.library.get(record.row.form_id, record.row.form_version)
            shown_lang = lang if lang in form.languages else record.row.language
            shown.append(
                {
                    "id": str(record.id),
                    "form_id": form.id,
                    "form_version": form.version,
                    "title": form.section(shown_lang, "title", self.settings.controller_name),
                    "signed_at": record.row.signed_at,
                    "expires_at": record.row.expires_at,
                    "purposes": [
                        {
                            "code": p.code,
                            "title": form.purpose(p.code).title[shown_lang],
                            "granted": p.granted,
                        }
                        for p in record.purposes
                    ],
                }
            )
        return shown
