"""What the kiosk needs from the consent, records, identity and audit capabilities.

The kiosk never decides anything itself: the policy engine decides who may
open (and keep) a kiosk session for which subject (``kiosk.open``), PINs are
verified (and wrong PINs rate limited) by the consent service, disclosures
come from the audit capability. This module only adapts their calls to what
the pages show, and always passes the subject the kiosk session is bound to
and the staff member who opened it (the audit log names them).

Handlers receive a :class:`Kiosk` by injection (``kiosk: KioskParts``), built
from the services they ask for by name.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar.di import NamedDependency, Provide

from vault.access.engine import PolicyEngine
from vault.audit.events import Outcome
from vault.audit.log import AuditLog
from vault.audit.proofs import proofs_of
from vault.audit.queries import AuditFilters, AuditQueries
from vault.consent.forms import SENTRA, ConsentForm, FormPurpose
from vault.consent.service import Actor, ConsentService, SignRequest
from vault.consent.service import Guardian as ConsentGuardian
from vault.errors import ConfigurationError, Forbidden, NotFound
from vault.identity.service import IdentityService
from vault.records.service import RecordsService
from vault.vocabulary import AuthenticatedUser, Category, EventAction, Principal
from vault.web.common import sessions_over
from vault.web.i18n import messages
from vault.web.sessions import ActiveSession, SessionKind, WebSessions


def verification_code(jws: str) -> str:
    """The first 8 hex characters of the SHA-256 of the receipt, grouped for reading aloud."""
    digest = hashlib.sha256(jws.encode("ascii")).hexdigest()[:8].upper()
    return f"{digest[:4]} {digest[4:]}"


@dataclass(frozen=True)
class DisclosureView:
    seq: int
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


def witness_principal(session: ActiveSession) -> Principal:
    return witness_of(session).principal()


@dataclass(frozen=True)
class Kiosk:
    """The services the kiosk pages use, injected into each handler."""

    consents: ConsentService
    records: RecordsService
    identity: IdentityService
    audit: AuditLog
    policy: PolicyEngine
    sessions: WebSessions

    def subject_actor(self, session: ActiveSession) -> Actor:
        """The subject acting in this kiosk session (events name the staff witness)."""
        return Actor.subject(bound_subject(session), witness_principal(session))


def provide_kiosk(
    consents: NamedDependency[ConsentService],
    records: NamedDependency[RecordsService],
    identity: NamedDependency[IdentityService],
    audit: NamedDependency[AuditLog],
    policy: NamedDependency[PolicyEngine],
) -> Kiosk:
    return Kiosk(consents, records, identity, audit, policy, _sessions(consents))


def _sessions(consents: ConsentService) -> WebSessions:
    if consents.sealer is None or consents.audit is None:
        raise ConfigurationError("The kiosk needs the column sealer and the audit log.")
    return sessions_over(
        consents.db, consents.clock, consents.settings, consents.sealer, consents.audit
    )


def opened_by_for(
    consents: ConsentService, token: str | None, witness: Principal, subject_id: uuid.UUID
) -> bool:
    """Whether ``token`` is a live kiosk session opened by ``witness`` for that subject.

    The API's signing route asks it: staff sign for a subject only inside the kiosk
    session they opened for that subject (header ``X-Kiosk-Session``).
    """
    session = _sessions(consents).resolve(token, SessionKind.KIOSK)
    return (
        session is not None and session.user_id == witness.id and session.subject_id == subject_id
    )


# Every kiosk handler declares ``kiosk: KioskParts`` and these dependencies.
KioskParts = NamedDependency[Kiosk]
KIOSK_DEPENDENCIES = {"kiosk": Provide(provide_kiosk, sync_to_thread=False)}


def chosen_sentra(kiosk: Kiosk, session: ActiveSession) -> tuple[str, str] | None:
    """The Kemensos organisation the staff member chose at the start: (code, name)."""
    code = session.flow.get("sentra")
    names = kiosk.consents.receiving_organizations()
    if not isinstance(code, str) or code not in names:
        return None
    return code, names[code]


def recipient_labels(
    kiosk: Kiosk, session: ActiveSession, form: ConsentForm, purpose: FormPurpose
) -> list[str]:
    """Who may see the data of ``purpose``, in the session's language, the chosen
    sentra by its name (the form promises it is named)."""
    lang = session.language
    chosen = chosen_sentra(kiosk, session) if purpose.needs_sentra else None
    labels = []
    for recipient in purpose.recipients:
        label = form.recipient_label(lang, recipient)
        if recipient == SENTRA and chosen is not None:
            label = f"{chosen[1]} ({label})"
        labels.append(label)
    return labels


def forms(kiosk: Kiosk) -> list[ConsentForm]:
    """The newest version of every form (older versions are only for past consents)."""
    newest: dict[str, ConsentForm] = {}
    for form in kiosk.consents.forms():
        if form.id not in newest or newest[form.id].version < form.version:
            newest[form.id] = form
    return sorted(newest.values(), key=lambda f: f.id)


@dataclass(frozen=True)
class Guardian:
    """The enrolled guardian's PIN and the child's own assent. Posted once, never stored."""

    pin: str
    assent: bool

    def __repr__(self) -> str:  # a PIN never reaches a log through repr
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


@dataclass(frozen=True)
class ConsentCard:
    """One active consent as the subject sees it."""

    id: uuid.UUID
    title: str
    signed_at: datetime
    expires_at: datetime
    granted: tuple[str, ...]  # purpose titles in the session's language


def active(kiosk: Kiosk, subject_id: uuid.UUID, lang: str) -> list[ConsentCard]:
    """The subject's active consents (the consent service decides what is active)."""
    return [
        ConsentCard(
            id=uuid.UUID(str(shown["id"])),
            title=str(shown["title"]),
            signed_at=shown["signed_at"],
            expires_at=shown["expires_at"],
            granted=tuple(str(p["title"]) for p in shown["purposes"] if p["granted"]),
        )
        for shown in kiosk.consents.active_for_display(subject_id, lang)
    ]


def sign(
    kiosk: Kiosk,
    session: ActiveSession,
    form: ConsentForm,
    *,
    granted: list[str],
    pin: str,
    guardian: Guardian | None,
) -> uuid.UUID:
    """Sign the choices on ``form`` for the bound subject, witnessed by the session's staff
    member; the consent service checks the PIN (rate limited), then the rules on minors
    (GuardianNeeded: a guardian must sign too, with their own PIN)."""
    sentra = session.flow.get("sentra")
    recipients = {
        p.code: [str(sentra)]
        for p in form.purposes
        if p.needs_sentra and p.code in granted and sentra
    }
    signed = kiosk.consents.sign(
        witness_principal(session),
        bound_subject(session),
        SignRequest(
            form_id=form.id,
            form_version=form.version,
            language=session.language,
            granted_purposes=frozenset(granted),
            pin=pin,
            guardian=(
                ConsentGuardian(pin=guardian.pin, assent=guardian.assent)
                if guardian is not None
                else None
            ),
            recipients=recipients,
        ),
    )
    return signed.id


def pin_origin_text(kiosk: Kiosk, session: ActiveSession) -> str | None:
    """ "Your PIN was made on ..., in the session of staff member ...", in the session's
    language (None when no PIN is set)."""
    origin = kiosk.consents.pin_origin(bound_subject(session))
    if origin is None:
        return None
    t = messages(session.language)
    when = origin.set_at.strftime("%d-%m-%Y %H:%M") + " UTC"
    if origin.opened_by is None:
        return t["pin_origin_host"].format(when=when)
    try:
        who = kiosk.identity.user(origin.opened_by).username
    except NotFound:
        who = str(origin.opened_by)[:8]
    return t["pin_origin"].format(when=when, who=who)


def check_pin(kiosk: Kiosk, session: ActiveSession, pin: str) -> None:
    """The subject's PIN, now (rate limited by the consent service): Forbidden if wrong."""
    if not pin:
        raise Forbidden("The PIN is required.")
    if not kiosk.consents.verify_pin(bound_subject(session), pin, witness_principal(session)):
        raise Forbidden("The PIN is wrong.")


def withdraw(kiosk: Kiosk, session: ActiveSession, consent_id: uuid.UUID, *, pin: str) -> None:
    """The subject takes back one of their consents; their PIN is checked again first."""
    check_pin(kiosk, session, pin)
    kiosk.consents.withdraw(kiosk.subject_actor(session), consent_id, "subject_request")


def receipt(kiosk: Kiosk, session: ActiveSession, consent_id: uuid.UUID, lang: str) -> ReceiptView:
    """The receipt of one of the subject's consents; NotFound for any other subject's."""
    actor = kiosk.subject_actor(session)
    record = kiosk.consents.get(actor, consent_id)
    jws = kiosk.consents.receipt(actor, consent_id)
    form = kiosk.consents.form(record.row.form_id, record.row.form_version)
    shown = lang if lang in form.languages else record.row.language
    names = kiosk.consents.receiving_organizations()
    titles = {p.code: form.purpose(p.code).title[shown] for p in record.purposes}
    for p in record.purposes:
        # A handover names its sentra on the receipt, as the form promises.
        named = [names[org] for org in p.recipients if org in names]
        if p.granted and named:
            titles[p.code] = f"{titles[p.code]}: {', '.join(named)}"
    return ReceiptView(
        consent_id=record.id,
        receipt_id=record.row.receipt_id,
        receipt_jws=jws,
        signed_at=record.row.signed_at,
        expires_at=record.row.expires_at,
        granted=tuple(titles[p.code] for p in record.purposes if p.granted),
        refused=tuple(titles[p.code] for p in record.purposes if not p.granted),
    )


def disclosures(kiosk: Kiosk, subject_id: uuid.UUID) -> list[DisclosureView]:
    """Who read the subject's records (the audit capability's accounting of disclosures)
    and every copy of their data made at the kiosk, newest first."""
    queries = AuditQueries(kiosk.consents.db)
    exports = AuditFilters(
        subject_id=subject_id, action=EventAction.SUBJECT_EXPORT.value, decision=Outcome.ALLOW
    )
    found = [*queries.disclosures(subject_id), *queries.iter_events(exports)]
    found.sort(key=lambda d: int(d["seq"]), reverse=True)
    return [
        DisclosureView(
            seq=int(d["seq"]),
            time=datetime.fromisoformat(d["time"]),
            actor=" · ".join(str(x) for x in (d.get("actor_role"), d.get("actor_org")) if x),
            categories=tuple(d.get("categories") or ()),
            purpose=d.get("purpose"),
            allowed=True,
            break_glass=bool(d.get("break_glass")),
        )
        for d in found
    ]


def proofs(kiosk: Kiosk, rows: list[DisclosureView]) -> dict[str, Any] | None:
    """The signed head and an inclusion proof of each row (``tools/verify_log.py`` input)."""
    return proofs_of(kiosk.audit, sorted(row.seq for row in rows))
