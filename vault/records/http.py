"""HTTP API of subjects and records (``/v1/subjects``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from functools import partial
from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from vault.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    UnknownCatalogEntry,
)
from vault.http.auth import caller
from vault.http.problems import problem_responses
from vault.http.threads import run_store_work
from vault.records.models import Record
from vault.records.service import NewSubject, RecordMeta, RecordView
from vault.services import Services
from vault.subjects.models import Subject

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Purpose = Annotated[
    str,
    QueryParameter(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9_]+$",
        description="the declared purpose: a consent form purpose code, or emergency",
    ),
]
SubjectId = Annotated[uuid.UUID, PathParameter(description="the subject's id")]
RecordId = Annotated[uuid.UUID, PathParameter(description="the record's id")]
ERRORS = problem_responses(Forbidden, NotFound, InvalidInput, Conflict)
READ_ERRORS = problem_responses(Forbidden, NotFound, InvalidInput, Conflict, RateLimited)
WRITE_ERRORS = problem_responses(Forbidden, NotFound, InvalidInput, Conflict, UnknownCatalogEntry)


class SubjectIn(msgspec.Struct, forbid_unknown_fields=True):
    full_name: Text
    nik: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    register_number: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    date_of_birth: date
    organization: Code
    pin: Annotated[str, msgspec.Meta(min_length=6, max_length=12, pattern=r"^[0-9]+$")]

    def __repr__(self) -> str:  # the PIN and identifiers never reach a log through repr
        return "SubjectIn(<redacted>)"


class IdOut(msgspec.Struct):
    id: uuid.UUID


class SubjectOut(msgspec.Struct):
    id: uuid.UUID
    organization: str
    status: str
    legal_hold: bool


class StatusIn(msgspec.Struct, forbid_unknown_fields=True):
    status: Code


class RecordIn(msgspec.Struct, forbid_unknown_fields=True):
    type: Code
    fields: dict[Annotated[str, msgspec.Meta(max_length=64)], Any]


class CorrectionIn(msgspec.Struct, forbid_unknown_fields=True):
    fields: dict[Annotated[str, msgspec.Meta(max_length=64)], Any]


class RecordMetaOut(msgspec.Struct):
    id: uuid.UUID
    type: str
    version: int
    lineage_id: uuid.UUID
    supersedes_id: uuid.UUID | None
    current: bool
    created_at: datetime


class RecordOut(msgspec.Struct):
    id: uuid.UUID
    type: str
    version: int
    current: bool
    fields: dict[str, str]
    withheld: dict[str, str]
    consent_id: uuid.UUID | None
    break_glass_id: uuid.UUID | None


class LegalHoldIn(msgspec.Struct, forbid_unknown_fields=True):
    hold: bool


class ApprovalOut(msgspec.Struct):
    id: uuid.UUID
    expires_at: datetime


def _services(request: Request[Any, Any, Any]) -> Services:
    services: Services = request.app.state.services
    return services


def _meta_out(meta: RecordMeta) -> RecordMetaOut:
    return RecordMetaOut(
        id=meta.id,
        type=meta.type,
        version=meta.version,
        lineage_id=meta.lineage_id,
        supersedes_id=meta.supersedes_id,
        current=meta.current,
        created_at=meta.created_at,
    )


def _record_out(view: RecordView) -> RecordOut:
    return RecordOut(
        id=view.meta.id,
        type=view.meta.type,
        version=view.meta.version,
        current=view.meta.current,
        fields=view.fields,
        withheld=view.withheld,
        consent_id=view.consent_id,
        break_glass_id=view.break_glass_id,
    )


@post(
    "/v1/subjects",
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
    responses=ERRORS,
    tags=["subjects"],
)
def register_subject(request: Request[Any, Any, Any], data: JSONBody[SubjectIn]) -> IdOut:
    """Register a subject (officer, own organisation). Identity fields are encrypted."""
    services = _services(request)
    subject_id = services.records.register_subject(
        caller(request).principal(),
        NewSubject(
            full_name=data.full_name,
            nik=data.nik,
            register_number=data.register_number,
            date_of_birth=data.date_of_birth,
            organization=data.organization,
            pin=data.pin,
        ),
    )
    return IdOut(id=subject_id)


@get("/v1/subjects", sync_to_thread=True, responses=ERRORS, tags=["subjects"])
def find_subjects(
    request: Request[Any, Any, Any],
    nik: Annotated[str | None, QueryParameter(max_length=32, required=False)] = None,
    register_number: Annotated[str | None, QueryParameter(max_length=64, required=False)] = None,
) -> list[IdOut]:
    """Find subjects by NIK or register number (equality, through the blind index)."""
    ids = _services(request).records.find_subjects(
        caller(request).principal(), nik=nik, register_number=register_number
    )
    return [IdOut(id=i) for i in ids]


@get("/v1/subjects/{subject_id:uuid}", sync_to_thread=True, responses=ERRORS, tags=["subjects"])
def get_subject(request: Request[Any, Any, Any], subject_id: SubjectId) -> SubjectOut:
    """A subject's organisation and custody status (no identity fields)."""
    info = _services(request).records.subject_status(caller(request).principal(), subject_id)
    return SubjectOut(**info)  # type: ignore[arg-type]


@put(
    "/v1/subjects/{subject_id:uuid}/status",
    sync_to_thread=True,
    responses=ERRORS,
    tags=["subjects"],
)
def set_subject_status(
    request: Request[Any, Any, Any], subject_id: SubjectId, data: JSONBody[StatusIn]
) -> SubjectOut:
    """Change custody status: in_custody, conditional_release, released, transferred (officer)."""
    services = _services(request)
    principal = caller(request).principal()
    services.records.set_status(principal, subject_id, data.status)
    return SubjectOut(**services.records.subject_status(principal, subject_id))  # type: ignore[arg-type]


@post(
    "/v1/subjects/{subject_id:uuid}/records",
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
    responses=WRITE_ERRORS,
    tags=["records"],
)
def create_record(
    request: Request[Any, Any, Any], subject_id: SubjectId, data: JSONBody[RecordIn]
) -> RecordMetaOut:
    """Write a record; every field is encrypted under the subject's data key."""
    meta = _services(request).records.create_record(
        caller(request).principal(), subject_id, data.type, data.fields
    )
    return _meta_out(meta)


@post(
    "/v1/subjects/{subject_id:uuid}/records/{record_id:uuid}/corrections",
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
    responses=WRITE_ERRORS,
    tags=["records"],
)
def correct_record(
    request: Request[Any, Any, Any],
    subject_id: SubjectId,
    record_id: RecordId,
    data: JSONBody[CorrectionIn],
) -> RecordMetaOut:
    """Rectify a record: a new version; the previous one stays readable to those allowed."""
    services = _services(request)
    principal = caller(request).principal()
    with services.db.read_session() as session:
        existing = session.get(Record, record_id)
        record_type = (
            existing.record_type if existing and existing.subject_id == subject_id else None
        )
    if record_type is None:
        raise NotFound("No such record.")
    meta = services.records.create_record(
        principal, subject_id, record_type, data.fields, corrects=record_id
    )
    return _meta_out(meta)


@get(
    "/v1/subjects/{subject_id:uuid}/records",
    sync_to_thread=True,
    responses=ERRORS,
    tags=["records"],
)
def list_records(
    request: Request[Any, Any, Any], subject_id: SubjectId, purpose: Purpose
) -> list[RecordMetaOut]:
    """Metadata of a subject's records for a declared purpose; nothing is decrypted."""
    metas = _services(request).records.list_records(
        caller(request).principal(), subject_id, purpose
    )
    return [_meta_out(m) for m in metas]


@get(
    "/v1/subjects/{subject_id:uuid}/records/{record_id:uuid}",
    responses=READ_ERRORS,
    tags=["records"],
)
async def read_record(
    request: Request[Any, Any, Any], subject_id: SubjectId, record_id: RecordId, purpose: Purpose
) -> RecordOut:
    """Read a record for a declared purpose.

    Permitted fields come back decrypted, the rest in ``withheld`` with the reason.
    """
    # The hot path of the vault, so a coroutine: the decision runs without a thread
    # hop on an embedded store, and the wait for the audit event's group commit
    # holds no thread at all. The order is the service's: decide, make the event
    # durable, only then decrypt.
    services = _services(request)
    principal = caller(request).principal()
    records = services.records
    with services.audit.expecting() as slot:
        plan = await run_store_work(
            services.inline_store_work,
            partial(records.plan_read, principal, subject_id, record_id, purpose),
        )
        await services.audit.append_async(plan.event, slot)
    # Unwrap (from the key cache, or the provider) and decrypt: no store access.
    view = await run_store_work(services.inline_key_work, partial(records.disclose, plan))
    return _record_out(view)


@put(
    "/v1/subjects/{subject_id:uuid}/legal-hold",
    sync_to_thread=True,
    responses=ERRORS,
    tags=["subjects"],
)
def set_legal_hold(
    request: Request[Any, Any, Any], subject_id: SubjectId, data: JSONBody[LegalHoldIn]
) -> SubjectOut:
    """Set or lift a legal hold (compliance officer); erasure is refused while it is set."""
    services = _services(request)
    principal = caller(request).principal()
    services.records.set_legal_hold(principal, subject_id, data.hold)
    with services.db.read_session() as session:
        subject = session.get(Subject, subject_id)
        assert subject is not None
        return SubjectOut(subject.id, subject.organization, subject.status, subject.legal_hold)


@post(
    "/v1/subjects/{subject_id:uuid}/erasure-approvals",
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
    responses=ERRORS,
    tags=["subjects"],
)
def approve_erasure(request: Request[Any, Any, Any], subject_id: SubjectId) -> ApprovalOut:
    """A compliance officer approves a subject's erasure (valid 7 days, used once)."""
    approval_id, expires_at = _services(request).records.approve_erasure(
        caller(request).principal(), subject_id, timedelta(days=7)
    )
    return ApprovalOut(id=approval_id, expires_at=expires_at)


@delete(
    "/v1/subjects/{subject_id:uuid}",
    status_code=HTTP_204_NO_CONTENT,
    sync_to_thread=True,
    responses=ERRORS,
    tags=["subjects"],
)
def erase_subject(
    request: Request[Any, Any, Any],
    subject_id: SubjectId,
    approval: Annotated[
        uuid.UUID, QueryParameter(description="id of a compliance officer's approval")
    ],
) -> None:
    """Erase a subject (admin, with another person's approval): the data key is destroyed."""
    _services(request).records.erase_with_approval(
        caller(request).principal(), subject_id, approval
    )


ROUTES = [
    register_subject,
    find_subjects,
    get_subject,
    set_subject_status,
    create_record,
    correct_record,
    list_records,
    read_record,
    set_legal_hold,
    approve_erasure,
    erase_subject,
]
