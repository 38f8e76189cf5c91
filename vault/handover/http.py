"""HTTP API of handover bundles: the published encryption key, export, import, notices,
and the recipient's reading of what was handed over."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.handover.outbox import MAX_POLL
from vault.handover.received import WithdrawalNotices
from vault.handover.service import HandoverService
from vault.http.auth import caller
from vault.http.gate import ASKS_NOTHING
from vault.http.problems import problem_responses

__all__ = ["HANDLERS"]

ERRORS = problem_responses(Forbidden, NotFound, InvalidInput, Conflict)
TAGS = ["handover"]
OrgCode = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
SubjectId = Annotated[uuid.UUID, PathParameter(description="the subject's id")]


class ExportIn(msgspec.Struct, forbid_unknown_fields=True):
    recipient: OrgCode


class NoticeIn(msgspec.Struct, forbid_unknown_fields=True):
    notice: Annotated[str, msgspec.Meta(min_length=1, max_length=16 * 1024)]


@get(
    "/v1/keys/handover",
    opt={"exclude_from_auth": True, ASKS_NOTHING: "a public key, published for anyone"},
    tags=["keys"],
    sync_to_thread=False,
    summary="The public handover encryption key (X25519 JWK)",
)
def handover_key(handover: NamedDependency[HandoverService]) -> dict[str, str]:
    """The X25519 key other vaults seal handover bundles to (HPKE, RFC 9180). Public."""
    return handover.key.public_jwk()


@post(
    "/v1/subjects/{subject_id:uuid}/handover",
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
    responses=ERRORS,
    tags=TAGS,
)
def export_bundle(
    request: Request[Any, Any, Any],
    handover: NamedDependency[HandoverService],
    subject_id: SubjectId,
    data: JSONBody[ExportIn],
) -> dict[str, Any]:
    """A signed bundle of the subject's case, sealed to a trusted partner vault, allowed
    only under an active ``handover_kemensos`` consent naming that recipient."""
    return handover.export(caller(request).principal(), subject_id, data.recipient)


@post(
    "/v1/handover/imports",
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
    responses=ERRORS,
    tags=TAGS,
)
def import_bundle(
    request: Request[Any, Any, Any],
    handover: NamedDependency[HandoverService],
    data: JSONBody[dict[str, Any]],
) -> dict[str, str]:
    """Verify a bundle addressed to the caller's organisation and take the case in; a
    refused bundle answers 422 with the reason, and nothing of it is stored."""
    return handover.import_bundle(caller(request).principal(), json.dumps(data))


@post(
    "/v1/handover/notices",
    status_code=HTTP_200_OK,
    sync_to_thread=True,
    responses=ERRORS,
    tags=TAGS,
)
def receive_notice(
    request: Request[Any, Any, Any],
    handover_notices: NamedDependency[WithdrawalNotices],
    data: JSONBody[NoticeIn],
) -> dict[str, str]:
    """Record a sender's signed withdrawal notice: reads under its consent stop at once."""
    return handover_notices.receive(caller(request).principal(), data.notice)


@get("/v1/handover/notices", sync_to_thread=True, responses=ERRORS, tags=TAGS)
def poll_notices(
    request: Request[Any, Any, Any],
    handover_notices: NamedDependency[WithdrawalNotices],
    after: Annotated[int, QueryParameter(ge=0, le=2**62, description="the last cursor seen")] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_POLL)] = 100,
) -> dict[str, Any]:
    """The signed withdrawal notices this vault issued to the caller's own organisation,
    after the cursor ``after``, oldest first; ``next`` is the cursor to poll after next.
    Each notice is for the recipient vault to verify (``POST /v1/handover/notices`` there)."""
    return handover_notices.poll(caller(request).principal(), after, limit)


@get(
    "/v1/handover/subjects/{subject_id:uuid}/records",
    sync_to_thread=True,
    responses=ERRORS,
    tags=TAGS,
)
def read_imported(
    request: Request[Any, Any, Any],
    handover_notices: NamedDependency[WithdrawalNotices],
    subject_id: SubjectId,
) -> dict[str, Any]:
    """What was handed over for a subject, while the sender's consent stands."""
    return handover_notices.read_imported(caller(request).principal(), subject_id)


HANDLERS = [
    handover_key,
    export_bundle,
    import_bundle,
    receive_notice,
    poll_notices,
    read_imported,
]
