"""HTTP API of consent: forms, signing, listing, withdrawal, receipts, FHIR export.

Handlers only translate: the rules live in :class:`vault.consent.service.ConsentService`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from vault.consent.service import Actor, ConsentService, Guardian, SignRequest
from vault.consent.views import ConsentRecord
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from vault.http.auth import caller
from vault.http.problems import problem_responses
from vault.web.kiosk_port import opened_by_for

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Pin = Annotated[str, msgspec.Meta(min_length=4, max_length=12, pattern=r"^[0-9]+$")]
Lang = Annotated[str, msgspec.Meta(pattern=r"^(id|en)$")]


class SignatureIn(msgspec.Struct, forbid_unknown_fields=True):
    method: Literal["pin"]
    pin: Pin

    def __repr__(self) -> str:  # the PIN never reaches a log through repr
        return "SignatureIn(method='pin', pin=<redacted>)"


class GuardianIn(msgspec.Struct, forbid_unknown_fields=True):
    """The enrolled guardian's own PIN (enrolled at the kiosk after a witnessed identity
    check); the guardian's name and relation are not sent: they were checked then."""

    pin: Pin
    # Whether the child agrees (assent). Without it nothing is granted.
    assent: bool = True

    def __repr__(self) -> str:  # the PIN never reaches a log through repr
        return f"GuardianIn(pin=<redacted>, assent={self.assent})"


class SignIn(msgspec.Struct, forbid_unknown_fields=True):
    form_id: Code
    form_version: Annotated[int, msgspec.Meta(ge=1)]
    language: Lang
    granted_purposes: Annotated[list[Code], msgspec.Meta(max_length=32)]
    signature: SignatureIn
    guardian: GuardianIn | None = None
    # For a purpose whose recipient is chosen at signing (handover_kemensos): the sentra code.
    recipients: dict[Code, Annotated[list[Code], msgspec.Meta(max_length=4)]] = {}


class SignedOut(msgspec.Struct):
    id: uuid.UUID
    status: str
    receipt: str
    expires_at: datetime


class WithdrawIn(msgspec.Struct, forbid_unknown_fields=True):
    # A reason code (subject_request, guardian_request, turned_18, transfer, other).
    # Anything else is stored as "other": free text could carry health data.
    reason: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class StatusOut(msgspec.Struct):
    id: uuid.UUID
    status: str


class PurposeOut(msgspec.Struct):
    code: str
    granted: bool
    categories: list[str]
    recipients: list[str]


class ConsentOut(msgspec.Struct):
    id: uuid.UUID
    subject_id: uuid.UUID
    status: str
    form_id: str
    form_version: int
    language: str
    text_sha256: str
    signed_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    witness_id: uuid.UUID
    signed_by: str
    # The guardian's enrolment (their identity stays sealed under the subject's data key).
    guardian_id: uuid.UUID | None
    assent: bool | None
    purposes: list[PurposeOut]


class ReceiptOut(msgspec.Struct):
    receipt: str


class FormPurposeOut(msgspec.Struct):
    code: str
    categories: list[str]
    recipients: list[str]
    dpv: str | None


class FormSummaryOut(msgspec.Struct):
    id: str
    version: int
    current: bool
    languages: list[str]
    duration_days: int
    purposes: list[FormPurposeOut]


def _staff(request: Request[Any, Any, Any]) -> Actor:
    return Actor.staff(caller(request).principal())


def consent_out(record: ConsentRecord, now: datetime) -> ConsentOut:
    row = record.row
    return ConsentOut(
        id=row.id,
        subject_id=row.subject_id,
        status=record.status(now).value,
        form_id=row.form_id,
        form_version=row.form_version,
        language=row.language,
        text_sha256=row.text_sha256,
        signed_at=row.signed_at,
        expires_at=row.expires_at,
        ended_at=record.ended_at(now),
        witness_id=row.witness_id,
        signed_by=row.signed_by,
        guardian_id=row.guardian_id,
        assent=row.assent,
        purposes=[
            PurposeOut(
                code=p.code,
                granted=p.granted,
                categories=[c.value for c in p.categories],
                recipients=list(p.recipients),
            )
            for p in record.purposes
        ],
    )


# The consent service, injected by name (a field of vault.services.Services).
Consents = NamedDependency[ConsentService]
# The kiosk session (its cookie value) the witness opened for the subject.
KIOSK_SESSION_HEADER = "X-Kiosk-Session"
KioskSession = Annotated[
    str | None,
    HeaderParameter(
        name=KIOSK_SESSION_HEADER,
        required=False,
        max_length=256,
        description="the kiosk session the caller opened for this subject",
    ),
]
SubjectId = Annotated[uuid.UUID, Parameter(description="subject id")]
ConsentId = Annotated[uuid.UUID, Parameter(description="consent id")]


@get(
    "/v1/consent-forms",
    opt={"asks_nothing": "the consent forms are public text, the same for every reader"},
    sync_to_thread=False,
    tags=["consent"],
    responses=problem_responses(),
)
def list_forms(request: Request[Any, Any, Any], consents: Consents) -> list[FormSummaryOut]:
    """Every consent form version, with its purposes (any authenticated caller)."""
    caller(request)
    service = consents
    return [
        FormSummaryOut(
            id=form.id,
            version=form.version,
            current=service.library.is_latest(form),
            languages=list(form.languages),
            duration_days=form.duration_days,
            purposes=[
                FormPurposeOut(
                    code=p.code,
                    categories=[c.value for c in p.categories],
                    recipients=list(p.recipients),
                    dpv=p.dpv,
                )
                for p in form.purposes
            ],
        )
        for form in service.forms()
    ]


@get(
    "/v1/consent-forms/{form_id:str}",
    opt={"asks_nothing": "the consent forms are public text, the same for every reader"},
    sync_to_thread=False,
    tags=["consent"],
    responses=problem_responses(NotFound),
)
def show_form(
    request: Request[Any, Any, Any],
    consents: Consents,
    form_id: Annotated[str, Parameter(description="form id", max_length=64)],
    lang: Annotated[str, Parameter(description="language: id or en", pattern=r"^(id|en)$")] = "id",
    version: Annotated[
        int | None, Parameter(description="version (default: current)", ge=1)
    ] = None,
) -> dict[str, Any]:
    """The form's exact text in one language, its SHA-256, and its purposes."""
    caller(request)
    return consents.form_text(form_id, lang, version)


@post(
    "/v1/subjects/{subject_id:uuid}/consents",
    sync_to_thread=True,
    status_code=HTTP_201_CREATED,
    tags=["consent"],
    responses=problem_responses(Forbidden, NotFound, InvalidInput, Conflict, RateLimited),
)
def sign_consent(
    request: Request[Any, Any, Any],
    consents: Consents,
    subject_id: SubjectId,
    data: JSONBody[SignIn],
    kiosk_session: KioskSession = None,
) -> SignedOut:
    """Record a consent signed with the subject's PIN, witnessed by the caller, inside the
    kiosk session the caller opened for that subject (header X-Kiosk-Session)."""
    witness = caller(request).principal()
    consents.check_witness(witness, subject_id)
    if not opened_by_for(consents, kiosk_session, witness, subject_id):
        raise Forbidden(
            "A consent is signed by the person at the kiosk: send the X-Kiosk-Session of "
            "the kiosk session you opened for this person."
        )
    guardian = Guardian(data.guardian.pin, data.guardian.assent) if data.guardian else None
    signed = consents.sign(
        witness,
        subject_id,
        SignRequest(
            form_id=data.form_id,
            form_version=data.form_version,
            language=data.language,
            granted_purposes=frozenset(data.granted_purposes),
            pin=data.signature.pin,
            guardian=guardian,
            recipients={k: tuple(v) for k, v in data.recipients.items()},
        ),
    )
    return SignedOut(
        id=signed.id,
        status=signed.status.value,
        receipt=signed.receipt,
        expires_at=signed.expires_at,
    )


@get(
    "/v1/subjects/{subject_id:uuid}/consents",
    sync_to_thread=True,
    tags=["consent"],
    responses=problem_responses(Forbidden, NotFound),
)
def list_consents(
    request: Request[Any, Any, Any], consents: Consents, subject_id: SubjectId
) -> list[ConsentOut]:
    """The subject's consents, newest first, active and past (the holding organisation's
    staff); a recipient organisation sees only the active consents and purposes naming it."""
    records = consents.list_for_subject(_staff(request), subject_id)
    now = consents.clock()
    return [consent_out(record, now) for record in records]


@post(
    "/v1/consents/{consent_id:uuid}/withdraw",
    sync_to_thread=True,
    status_code=HTTP_200_OK,
    tags=["consent"],
    responses=problem_responses(Forbidden, NotFound, Conflict),
)
def withdraw_consent(
    request: Request[Any, Any, Any],
    consents: Consents,
    consent_id: ConsentId,
    data: JSONBody[WithdrawIn | None] = None,
) -> StatusOut:
    """Withdraw an active consent (officer or counselor of the subject's organisation)."""
    reason = data.reason if data is not None else None
    record = consents.withdraw(_staff(request), consent_id, reason)
    return StatusOut(id=record.id, status="withdrawn")


@get(
    "/v1/consents/{consent_id:uuid}/receipt",
    sync_to_thread=True,
    tags=["consent"],
    responses=problem_responses(Forbidden, NotFound),
)
def consent_receipt(
    request: Request[Any, Any, Any], consents: Consents, consent_id: ConsentId
) -> ReceiptOut:
    """The signed receipt (compact JWS, EdDSA); verify it with GET /v1/keys/signing."""
    return ReceiptOut(receipt=consents.receipt(_staff(request), consent_id))


@get(
    "/v1/consents/{consent_id:uuid}/fhir",
    sync_to_thread=True,
    tags=["consent"],
    responses=problem_responses(Forbidden, NotFound),
    media_type="application/fhir+json",
)
def consent_fhir(
    request: Request[Any, Any, Any], consents: Consents, consent_id: ConsentId
) -> dict[str, Any]:
    """The consent as an HL7 FHIR R5 Consent resource."""
    return consents.fhir(_staff(request), consent_id)


@post(
    "/v1/pin-resets/{reset_id:uuid}/approve",
    sync_to_thread=True,
    status_code=HTTP_200_OK,
    tags=["consent"],
    responses=problem_responses(Forbidden, NotFound, Conflict),
)
def approve_pin_reset(
    request: Request[Any, Any, Any],
    consents: Consents,
    reset_id: Annotated[uuid.UUID, Parameter(description="the number the kiosk shows")],
) -> StatusOut:
    """Approve a PIN reset asked for at the kiosk: a second person (officer or compliance
    officer of the organisation, neither the one who asked nor an account of theirs)."""
    consents.approve_reset(caller(request).principal(), reset_id)
    return StatusOut(id=reset_id, status="approved")


class PendingResetOut(msgspec.Struct):
    id: uuid.UUID
    subject_id: uuid.UUID
    requested_by: uuid.UUID
    requested_at: datetime
    expires_at: datetime
    # Asked for because the person said they did not choose their PIN: check with them.
    disowned: bool


@get(
    "/v1/pin-resets",
    sync_to_thread=True,
    tags=["consent"],
    responses=problem_responses(Forbidden, InvalidInput),
)
def list_pin_resets(
    request: Request[Any, Any, Any],
    consents: Consents,
    wanted: Annotated[
        Literal["pending"],
        QueryParameter(name="state", description="only `pending` (awaiting a second person)"),
    ] = "pending",
) -> list[PendingResetOut]:
    """The PIN resets of the caller's organisation waiting for a second person that the
    caller may approve (never one the caller asked for); approve one with
    POST /v1/pin-resets/{id}/approve."""
    return [
        PendingResetOut(
            id=r.id,
            subject_id=r.subject_id,
            requested_by=r.requested_by,
            requested_at=r.requested_at,
            expires_at=r.expires_at,
            disowned=r.disowned,
        )
        for r in consents.pending_resets(caller(request).principal())
    ]


CONSENT_HANDLERS = [
    list_forms,
    show_form,
    sign_consent,
    list_consents,
    withdraw_consent,
    consent_receipt,
    consent_fhir,
    approve_pin_reset,
    list_pin_resets,
]
