"""HTTP API of subjects (``/v1/subjects``): register, find, view, status, hold, erasure."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.http.auth import caller
from vault.http.problems import problem_responses
from vault.subjects.registration import NewSubject
from vault.subjects.service import SubjectsService
from vault.subjects.visibility import SubjectRef

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
SubjectId = Annotated[uuid.UUID, PathParameter(description="the subject's id")]
ERRORS = problem_responses(Forbidden, NotFound, InvalidInput, Conflict)
ERASURE_APPROVAL_VALID = timedelta(days=7)


class SubjectIn(msgspec.Struct, forbid_unknown_fields=True):
    full_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    nik: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    register_number: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    date_of_birth: date
    organization: Code
    # Refused when given: the subject chooses their PIN privately at the kiosk.
    pin: Annotated[str, msgspec.Meta(max_length=64)] | None = None

    def __repr__(self) -> str:  # identifiers never reach a log through repr
        return "SubjectIn(<redacted>)"


class IdOut(msgspec.Struct):
    id: uuid.UUID


class SubjectOut(msgspec.Struct):
    id: uuid.UUID
    organization: str
    status: str
    legal_hold: bool

    @classmethod
    def of(cls, subject: SubjectRef) -> SubjectOut:
        return cls(subject.id, subject.organization, subject.status, subject.legal_hold)


class StatusIn(msgspec.Struct, forbid_unknown_fields=True):
    status: Code


class LegalHoldIn(msgspec.Struct, forbid_unknown_fields=True):
    hold: bool


class ApprovalOut(msgspec.Struct):
    id: uuid.UUID
    expires_at: datetime


@post(
    "/v1/subjects",
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
    responses=ERRORS,
    tags=["subjects"],
)
def register_subject(
    request: Request[Any, Any, Any],
    subjects: NamedDependency[SubjectsService],
    data: JSONBody[SubjectIn],
) -> IdOut:
    """Register a subject (officer, own organisation). Identity fields are encrypted.

    No PIN: the subject chooses it privately at the kiosk; a ``pin`` field is refused.
    """
    if data.pin is not None:
        raise InvalidInput("pin: registration takes no PIN; the person chooses it at the kiosk.")
    new = NewSubject(
        full_name=data.full_name,
        nik=data.nik,
        register_number=data.register_number,
        date_of_birth=data.date_of_birth,
        organization=data.organization,
    )
    return IdOut(id=subjects.register(caller(request).principal(), new))


@get("/v1/subjects", sync_to_thread=True, responses=ERRORS, tags=["subjects"])
def find_subjects(
    request: Request[Any, Any, Any],
    subjects: NamedDependency[SubjectsService],
    nik: Annotated[str | None, QueryParameter(max_length=32, required=False)] = None,
    register_number: Annotated[str | None, QueryParameter(max_length=64, required=False)] = None,
) -> list[IdOut]:
    """Find subjects of your organisation by NIK or register number (through the blind index)."""
    ids = subjects.find(caller(request).principal(), nik=nik, register_number=register_number)
    return [IdOut(id=i) for i in ids]


@get("/v1/subjects/{subject_id:uuid}", sync_to_thread=True, responses=ERRORS, tags=["subjects"])
def get_subject(
    request: Request[Any, Any, Any],
    subjects: NamedDependency[SubjectsService],
    subject_id: SubjectId,
) -> SubjectOut:
    """A subject's organisation and custody status (no identity fields)."""
    return SubjectOut.of(subjects.view(caller(request).principal(), subject_id))


@put(
    "/v1/subjects/{subject_id:uuid}/status",
    sync_to_thread=True,
    responses=ERRORS,
    tags=["subjects"],
)
def set_subject_status(
    request: Request[Any, Any, Any],
    subjects: NamedDependency[SubjectsService],
    subject_id: SubjectId,
    data: JSONBody[StatusIn],
) -> SubjectOut:
    """Change custody status: in_custody, conditional_release, released, transferred (officer)."""
    return SubjectOut.of(subjects.set_status(caller(request).principal(), subject_id, data.status))


@put(
    "/v1/subjects/{subject_id:uuid}/legal-hold",
    sync_to_thread=True,
    responses=ERRORS,
    tags=["subjects"],
)
def set_legal_hold(
    request: Request[Any, Any, Any],
    subjects: NamedDependency[SubjectsService],
    subject_id: SubjectId,
    data: JSONBody[LegalHoldIn],
) -> SubjectOut:
    """Set or lift a legal hold (compliance officer); erasure is refused while it is set."""
    return SubjectOut.of(
        subjects.set_legal_hold(caller(request).principal(), subject_id, data.hold)
    )


@post(
    "/v1/subjects/{subject_id:uuid}/erasure-approvals",
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
    responses=ERRORS,
    tags=["subjects"],
)
def approve_erasure(
    request: Request[Any, Any, Any],
    subjects: NamedDependency[SubjectsService],
    subject_id: SubjectId,
) -> ApprovalOut:
    """A compliance officer approves a subject's erasure (valid 7 days, used once)."""
    approval_id, expires_at = subjects.approve_erasure(
        caller(request).principal(), subject_id, ERASURE_APPROVAL_VALID
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
    subjects: NamedDependency[SubjectsService],
    subject_id: SubjectId,
    approval: Annotated[
        uuid.UUID, QueryParameter(description="id of a compliance officer's approval")
    ],
) -> None:
    """Erase a subject (admin, with another person's approval): the data key is destroyed."""
    subjects.erase(caller(request).principal(), subject_id, approval)


HANDLERS = [
    register_subject,
    find_subjects,
    get_subject,
    set_subject_status,
    set_legal_hold,
    approve_erasure,
    erase_subject,
]
