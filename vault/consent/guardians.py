"""The guardian of a minor: an identity check witnessed by a second person, then a PIN.

A person under 18 cannot consent alone. Their guardian signs beside them with a
credential of their own, set up once at the kiosk (``enrol_guardian``):

1. the staff member who opened the kiosk session types the guardian's name,
   relation to the child, and the type and number of the identity document the
   guardian shows;
2. a *second* staff member, standing at the same tablet, looks at the
   document and confirms with their own login: they must be allowed to witness
   consents for the subject (``consent.witness``) and be a different person
   from the one who opened the session (``IdentityService.distinct_people``);
3. the guardian chooses their own PIN, privately, typed twice (the rules of
   the subject's PIN; never the child's PIN).

From then on a minor's consent needs both the child's PIN and the guardian's
PIN (each rate limited the same way). The guardian's identity is sealed as one
field under the *subject's* data key (like the fields of the subject's records,
``vault.crypto.fields``), so a crypto-erasure of the subject leaves it
unreadable; erasure also deletes the row. It appears nowhere in plaintext: not
in the consent row, the receipt (which names the guardian's enrolment id and
who checked it) or the audit log.

Whether the subject is a minor is read from their date of birth, which is
decrypted only after the subject's PIN was verified, and that read is audited
(``consent.age_check``, naming the staff member of the session).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from vault.audit.events import AuditEvent, Outcome
from vault.consent.choosing import PinChoosing, PinRefused, obvious
from vault.consent.core import NO_SUCH_SUBJECT
from vault.consent.model import ADULT_AGE, Actor, age_on
from vault.consent.tables import ConsentGuardian
from vault.crypto.fields import FieldBinding, FieldCipher, record_manifest_digest
from vault.crypto.keys import DataKey
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.vocabulary import EventAction, Principal

GUARDIAN_RECORD_TYPE = "guardian"
IDENTITY_FIELD = "identity"
# The identity documents a guardian may show: KTP (identity card), KK (family card),
# passport, SIM (driving licence), KIA (child identity card is not for guardians).
DOCUMENT_TYPES = ("ktp", "kk", "passport", "sim")
SYSTEM_PURPOSE = "system"


class GuardianNeeded(Forbidden):
    """The subject is under 18: a guardian must sign too (and, when ``enrolled`` is
    False, be enrolled first). Raised only after the subject's own PIN was right."""

    def __init__(self, enrolled: bool) -> None:
        super().__init__(
            "A person under 18 cannot sign alone: a guardian must sign too"
            + ("." if enrolled else "; enrol the guardian first (identity check and PIN).")
        )
        self.enrolled = enrolled


class NotSecondPerson(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "The guardian's identity is checked by a second staff member: not the one "
            "who opened this session, nor an account one of them created."
        )


class GuardianPinWrong(Forbidden):
    def __init__(self) -> None:
        super().__init__("The guardian's PIN is wrong.")


@dataclass(frozen=True)
class GuardianIdentity:
    """Who the guardian is, as checked against their identity document."""

    name: str
    relation: str
    document_type: str
    document_number: str

    def __repr__(self) -> str:  # identity never reaches a log through repr
        return "GuardianIdentity(<sealed>)"

    def checked(self) -> GuardianIdentity:
        name, relation = self.name.strip(), self.relation.strip()
        number = self.document_number.strip()
        if not 1 <= len(name) <= 200 or not 1 <= len(relation) <= 64:
            raise InvalidInput("A guardian needs a name (up to 200) and a relation (up to 64).")
        if self.document_type not in DOCUMENT_TYPES:
            raise InvalidInput(f"The identity document is one of {', '.join(DOCUMENT_TYPES)}.")
        if not 4 <= len(number) <= 32:
            raise InvalidInput("The identity document number has 4 to 32 characters.")
        return GuardianIdentity(name, relation, self.document_type, number)


@dataclass(frozen=True)
class EnrolledGuardian:
    """A subject's current guardian as the signing rules need it (no identity)."""

    id: uuid.UUID
    pin_hash: str
    checked_by: uuid.UUID


def _binding(subject_id: uuid.UUID, guardian_id: uuid.UUID) -> FieldBinding:
    digest = record_manifest_digest(guardian_id, GUARDIAN_RECORD_TYPE, 1, [IDENTITY_FIELD])
    return FieldBinding(subject_id, guardian_id, GUARDIAN_RECORD_TYPE, IDENTITY_FIELD, digest)


def seal_identity(
    dek: DataKey, subject_id: uuid.UUID, guardian_id: uuid.UUID, identity: GuardianIdentity
) -> bytes:
    plain = json.dumps(
        [identity.name, identity.relation, identity.document_type, identity.document_number]
    )
    return FieldCipher(dek).encrypt(plain.encode("utf-8"), _binding(subject_id, guardian_id))


def open_identity(
    dek: DataKey, subject_id: uuid.UUID, guardian_id: uuid.UUID, sealed: bytes
) -> GuardianIdentity:
    plain = FieldCipher(dek).decrypt(sealed, _binding(subject_id, guardian_id))
    name, relation, document_type, number = json.loads(plain.decode("utf-8"))
    return GuardianIdentity(str(name), str(relation), str(document_type), str(number))


class Guardians(PinChoosing):
    """Enrolling a guardian, checking their PIN, and the audited minor-status check."""

    def _current_guardian(self, session: Session, subject_id: uuid.UUID) -> ConsentGuardian | None:
        return session.exec(
            select(ConsentGuardian).where(
                col(ConsentGuardian.subject_id) == subject_id,
                col(ConsentGuardian.ended_at).is_(None),
            )
        ).first()

    def enrolled_guardian(self, subject_id: uuid.UUID) -> EnrolledGuardian | None:
        with self.db.read_session() as session:
            row = self._current_guardian(session, subject_id)
            return None if row is None else EnrolledGuardian(row.id, row.pin_hash, row.checked_by)

    def is_minor(self, witness: Principal | None, subject_id: uuid.UUID) -> tuple[bool, date]:
        """Whether the subject is under 18 today, and their date of birth.

        Call only after the subject's PIN was verified. The date of birth is
        decrypted after an audit event (``consent.age_check``, purpose ``system``,
        naming the staff member of the session) is written: no event, no read.
        """
        audit = self._need(self.audit, "audit log")
        facts = self._need(self.facts, "subject records (date of birth)")
        audit.append(
            AuditEvent.by(
                witness,
                EventAction.AGE_CHECK,
                Outcome.INFO,
                subject_id=subject_id,
                categories=("identity",),
                purpose=SYSTEM_PURPOSE,
                details={"field": "date_of_birth"},
            )
        )
        try:
            with self.db.read_session() as session:
                born = facts.date_of_birth(session, subject_id)
        except NotFound:
            raise Conflict(
                "This person's date of birth is not recorded, so it is unknown whether a "
                "guardian must sign."
            ) from None
        return age_on(born, self.clock().date()) < ADULT_AGE, born

    def enrol_guardian(
        self,
        opener: Principal,
        subject_id: uuid.UUID,
        identity: GuardianIdentity,
        *,
        checked_by: Principal,
        pin: str,
        again: str,
        kiosk_session: uuid.UUID | None,
    ) -> uuid.UUID:
        """Enrol the guardian of a minor (see the module text); returns the enrolment id.

        ``opener`` opened the kiosk session; ``checked_by`` is the second staff member
        who saw the identity document. A newer enrolment ends the older one.
        """
        audit = self._need(self.audit, "audit log")
        keys = self._need(self.keys, "subject data keys")
        hasher = self._need(self.hasher, "PIN hasher")
        people = self._need(self.people, "two-person rule")
        self.open_kiosk(opener, subject_id)
        checked = identity.checked()
        actor = Actor.staff(opener)
        with self.db.read_session() as session:
            subject = self._live_subject(session, subject_id)
            if subject is None:
                raise NotFound(NO_SUCH_SUBJECT)
            self._witness_gate(checked_by, subject)
        if not people.distinct_people(opener.id, checked_by.id):
            audit.append(
                actor.event(
                    EventAction.GUARDIAN_ENROL,
                    Outcome.DENY,
                    subject_id=subject_id,
                    reason="the identity check needs a second staff member",
                    details={"checked_by": str(checked_by.id)},
                )
            )
            raise NotSecondPerson()
        minor, born = self.is_minor(opener, subject_id)
        if not minor:
            raise InvalidInput("An adult signs for themselves; a guardian signs only for a minor.")
        if pin != again:
            raise PinRefused("pin_mismatch", "The two PINs are not the same.")
        reason = obvious(pin, born)
        if reason is None and subject.pin_hash is not None:
            # Comparing with the child's PIN is a guess at it: counted against the child's
            # limit like any other, so enrolments cannot be used to probe the child's PIN.
            with self.db.session() as session:
                self.pins.reserve(session, subject_id, self.clock())
            if hasher.verify(subject.pin_hash, pin):
                reason = "pin_same_as_child"
        if reason is not None:
            raise PinRefused(reason, "This PIN may not be chosen; choose another.")
        guardian_id = uuid.uuid4()
        now = self.clock()
        audit.append(
            actor.event(
                EventAction.GUARDIAN_ENROL,
                Outcome.ALLOW,
                subject_id=subject_id,
                target_id=guardian_id,
                categories=("identity",),
                details={"checked_by": str(checked_by.id)},
            )
        )
        with self.db.session() as session:
            sealed = seal_identity(
                keys.data_key(session, subject_id), subject_id, guardian_id, checked
            )
            previous = self._current_guardian(session, subject_id)
            if previous is not None:
                previous.ended_at = now
                session.add(previous)
            session.add(
                ConsentGuardian(
                    id=guardian_id,
                    subject_id=subject_id,
                    organization=subject.organization,
                    sealed_identity=sealed,
                    pin_hash=hasher.hash(pin),
                    opened_by=opener.id,
                    checked_by=checked_by.id,
                    kiosk_session_id=kiosk_session,
                    enrolled_at=now,
                )
            )
        return guardian_id

    def guardian_identity(self, subject_id: uuid.UUID, guardian_id: uuid.UUID) -> GuardianIdentity:
        """The guardian's identity, opened under the subject's data key (NotFound once the
        subject is erased). For the vault's own use; never returned over the API."""
        keys = self._need(self.keys, "subject data keys")
        with self.db.read_session() as session:
            row = session.get(ConsentGuardian, guardian_id)
            if row is None or row.subject_id != subject_id:
                raise NotFound("No such guardian.")
            dek = keys.data_key(session, subject_id)
            return open_identity(dek, subject_id, guardian_id, row.sealed_identity)

    def check_guardian_pin(
        self, witness: Principal | None, subject_id: uuid.UUID, pin: str | None, now: datetime
    ) -> EnrolledGuardian:
        """The guardian's PIN, rate limited like the subject's (failures counted per
        enrolment); Forbidden when wrong, GuardianNeeded when none is enrolled."""
        audit = self._need(self.audit, "audit log")
        hasher = self._need(self.hasher, "PIN hasher")
        guardian = self.enrolled_guardian(subject_id)
        if guardian is None:
            raise GuardianNeeded(enrolled=False)
        if not pin:
            raise GuardianNeeded(enrolled=True)
        with self.db.session() as session:
            self.pins.reserve(session, guardian.id, now, lock=subject_id)
        if hasher.verify(guardian.pin_hash, pin):
            with self.db.session() as session:
                self.pins.clear(session, guardian.id)
            return guardian
        audit.append(
            AuditEvent.by(
                witness,
                EventAction.GUARDIAN_PIN_FAILED,
                Outcome.DENY,
                subject_id=subject_id,
                target_id=guardian.id,
            )
        )
        raise GuardianPinWrong()

    def reseal_guardians(
        self, session: Session, subject_id: uuid.UUID, old: DataKey, new: DataKey
    ) -> int:
        """At a rotation of the subject's data key: every guardian identity under ``new``."""
        rows = session.exec(
            select(ConsentGuardian).where(col(ConsentGuardian.subject_id) == subject_id)
        ).all()
        for row in rows:
            identity = open_identity(old, subject_id, row.id, row.sealed_identity)
            row.sealed_identity = seal_identity(new, subject_id, row.id, identity)
            session.add(row)
        return len(rows)
