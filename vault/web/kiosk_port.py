"""What the kiosk needs from the consent, records and audit capabilities, in one place.

The kiosk never decides anything itself: PINs are verified (and wrong PINs
rate limited) by the consent service, disclosures come from the audit
capability. This module only adapts their calls to what the pages show, and
always passes the subject the kiosk session is bound to.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from vault.consent.forms import ConsentForm
from vault.consent.service import Actor, SignRequest
from vault.consent.service import Guardian as ConsentGuardian
from vault.errors import Forbidden, NotFound
from vault.services import Services
from vault.subjects.models import Subject
from vault.vocabulary import AuthenticatedUser, Category
from vault.web.sessions import ActiveSession

ADULT_AGE = 18


def verification_code(jws: str) -> str:
    """The first 8 hex characters of the SHA-256 of the receipt, grouped for reading aloud."""
    digest = hashlib.sha256(jws.encode("ascii")).hexdigest()[:8].upper()
    return f"{digest[:4]} {digest[4:]}"


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@dataclass(frozen=True)
class DisclosureView:
    time: datetime
    actor: str
    categories: tuple[Category | str, ...]
    purpose: str | None
    allowed: bool
    break_glass: bool


def witness_of(session: ActiveSession) -> AuthenticatedUser:
    """The staff member who opened the kiosk session: the witness of what is signed."""
    return AuthenticatedUser(
        id=session.user_id,
        username=session.username,
        role=session.role,
        organization=session.organization,
        token_id=session.id,
    )


def bound_subject(session: ActiveSession) -> uuid.UUID:
    if session.subject_id is None:
        raise NotFound("No subject is bound to this session.")
    return session.subject_id


def live_subject(services: Services, subject_id: uuid.UUID, organization: str) -> bool:
    """Whether the subject exists, is not erased, and is held by that organisation."""
    with services.db.read_session() as session:
        subject = session.get(Subject, subject_id)
        return (
            subject is not None
            and subject.erased_at is None
            and subject.organization == organization
        )


def forms(services: Services) -> list[ConsentForm]:
    """The newest version of every form (older versions are only for past consents)."""
    newest: dict[str, ConsentForm] = {}
    for form in services.consents.forms():
        if form.id not in newest or newest[form.id].version < form.version:
            newest[form.id] = form
    return sorted(newest.values(), key=lambda f: f.id)


@dataclass(frozen=True)
class Guardian:
    """Who signs for a minor, and the child's own assent. Posted once, never stored here."""

    name: str
    relation: str
    assent: bool

    def __repr__(self) -> str:  # a name and a PIN never reach a log through repr
        return f"Guardian(assent={self.assent})"


@dataclass(frozen=True)
class ReceiptView:
    consent_id: uuid.UUID
    receipt_id: uuid.UUID
    receipt_jws: str
    signed_at: datetime
    expires_at: datetime
    granted: tuple[str, ...]  # purpose titles in the session's language
    refused: tuple[str, ...]


def is_minor(services: Services, subject_id: uuid.UUID) -> bool:
    """Under 18 today by the date of birth the consent service itself reads (so the page
    asks for a guardian exactly when the service will require one). Unknown: not a minor;
    the consent service then refuses to sign and says why."""
    facts = services.consents.facts
    if facts is None:
        return False
    try:
        with services.db.read_session() as session:
            born = facts.date_of_birth(session, subject_id)
    except NotFound:
        return False
    return age_on(born, services.clock().date()) < ADULT_AGE


@dataclass(frozen=True)
class ConsentCard:
    """One active consent as the subject sees it."""

    id: uuid.UUID
    title: str
    signed_at: datetime
    expires_at: datetime
    granted: tuple[str, ...]  # purpose titles in the session's language


def active(services: Services, subject_id: uuid.UUID, lang: str) -> list[ConsentCard]:
    """The subject's active consents (the consent service decides what is active)."""
    return [
        ConsentCard(
            id=uuid.UUID(str(shown["id"])),
            title=str(shown["title"]),
            signed_at=shown["signed_at"],
            expires_at=shown["expires_at"],
            granted=tuple(str(p["title"]) for p in shown["purposes"] if p["granted"]),
        )
        for shown in services.consents.active_for_display(subject_id, lang)
    ]


def sign(
    services: Services,
    session: ActiveSession,
    form: ConsentForm,
    *,
    granted: list[str],
    pin: str,
    guardian: Guardian | None,
) -> uuid.UUID:
    """Sign the choices on ``form`` for the bound subject, witnessed by the session's staff
    member; the consent service checks the PIN (rate limited) and the rules on minors."""
    sentra = session.flow.get("sentra")
    recipients = {
        p.code: [str(sentra)]
        for p in form.purposes
        if p.needs_sentra and p.code in granted and sentra
    }
    signed = services.consents.sign(
        witness_of(session).principal(),
        bound_subject(session),
        SignRequest(
            form_id=form.id,
            form_version=form.version,
            language=session.language,
            granted_purposes=frozenset(granted),
            pin=pin,
            guardian=(
                ConsentGuardian(
                    name=guardian.name, relation=guardian.relation, assent=guardian.assent
                )
                if guardian is not None
                else None
            ),
            recipients=recipients,
        ),
    )
    return signed.id


def withdraw(
    services: Services, session: ActiveSession, consent_id: uuid.UUID, *, pin: str
) -> None:
    """The subject takes back one of their consents; their PIN is checked again first."""
    subject_id = bound_subject(session)
    if not pin:
        raise Forbidden("The PIN is required.")
    if not services.consents.verify_pin(subject_id, pin):
        raise Forbidden("The PIN is wrong.")
    services.consents.withdraw(Actor.subject(subject_id), consent_id, "subject_request")


def receipt(
    services: Services, subject_id: uuid.UUID, consent_id: uuid.UUID, lang: str
) -> ReceiptView:
    """The receipt of one of the subject's consents; NotFound for any other subject's."""
    actor = Actor.subject(subject_id)
    record = services.consents.get(actor, consent_id)
    jws = services.consents.receipt(actor, consent_id)
    form = services.consents.form(record.row.form_id, record.row.form_version)
    shown = lang if lang in form.languages else record.row.language
    titles = {p.code: form.purpose(p.code).title[shown] for p in record.purposes}
    return ReceiptView(
        consent_id=record.id,
        receipt_id=record.row.receipt_id,
        receipt_jws=jws,
        signed_at=record.row.signed_at,
        expires_at=record.row.expires_at,
        granted=tuple(titles[p.code] for p in record.purposes if p.granted),
        refused=tuple(titles[p.code] for p in record.purposes if not p.granted),
    )


def disclosures(services: Services, subject_id: uuid.UUID) -> list[DisclosureView]:
    """Who read the subject's records (the audit capability's accounting of disclosures),
    newest first."""
    from vault.audit.queries import AuditQueries

    return [
        DisclosureView(
            time=datetime.fromisoformat(d["time"]),
            actor=" · ".join(str(x) for x in (d.get("actor_role"), d.get("actor_org")) if x),
            categories=tuple(d.get("categories") or ()),
            purpose=d.get("purpose"),
            allowed=True,
            break_glass=bool(d.get("break_glass")),
        )
        for d in reversed(AuditQueries(services.db).disclosures(subject_id))
    ]
