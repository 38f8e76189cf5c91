"""Proofs of the audit log over HTTP, in the JSON ``tools/verify_log.py`` reads.

- ``GET /v1/audit/events/{seq}/proof``: the inclusion proof of one event
  against the newest signed tree head. Gate ``audit.read`` for the
  organisation of the event's actor; another organisation's event answers
  exactly like a missing one (404).
- ``GET /v1/audit/consistency?from=&to=``: the consistency proof between two
  signed heads (``to`` omitted: the newest). Gate ``audit.read`` for the
  caller's own organisation: heads and proofs are hashes, they name no one.
- ``GET /v1/audit/heads/latest?from=N``: for witnesses, without an account: the
  newest signed head and the consistency proof from size N. Public hashes
  (and the log's size).
- ``POST /v1/audit/heads/{size}/cosignatures``: a witness's cosignature line of
  that head. No account either: the vault stores it only if the line is by a
  witness of ``audit_witness_keys`` and verifies over that head; each new one
  is audited (``audit.head_cosigned``).

Both witness routes answer without an account, so each client address may make
at most ``audit_witness_rate_per_minute`` requests a minute to them (429 after).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy import select

from vault.access.engine import PolicyEngine
from vault.audit.cosign import cosign_head, witness_keys
from vault.audit.events import AuditEvent, Outcome
from vault.audit.log import AuditLog
from vault.audit.models import EVENTS
from vault.audit.proofs import ProofSource
from vault.config import Settings
from vault.errors import (
    AuditUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    SignatureInvalid,
)
from vault.http.auth import caller
from vault.http.gate import ASKS_NOTHING
from vault.http.problems import problem_responses
from vault.tlog.ratelimit import AddressLimiter
from vault.vocabulary import Action, AuthenticatedUser, EventAction, OperationFacts

__all__ = ["TLOG_HANDLERS"]

ERRORS = problem_responses(Forbidden, InvalidInput, AuditUnavailable, NotFound)
TAGS = ["audit"]
Policy = NamedDependency[PolicyEngine]
Log = NamedDependency[AuditLog]
Config = NamedDependency[Settings]
SeqParam = Annotated[int, PathParameter(ge=1, le=2**62)]
SizeParam = Annotated[int, QueryParameter(name="from", ge=1, le=2**62)]
ToParam = Annotated[int | None, QueryParameter(name="to", required=False, ge=1, le=2**62)]


def _gate(
    request: Request[Any, Any, Any],
    policy: PolicyEngine,
    audit: AuditLog,
    target_org: str | None,
    **details: int | None,
) -> AuthenticatedUser:
    """Ask ``audit.read`` for ``target_org`` and audit the question; 404 outside one's own."""
    user = caller(request)
    decision = policy.authorize(
        user.principal(), Action.READ_AUDIT, OperationFacts(target_org=target_org)
    )
    audit.append(
        AuditEvent.by(
            user,
            EventAction.AUDIT_PROOF,
            Outcome.ALLOW if decision.allowed else Outcome.DENY,
            policy_ids=decision.policy_ids,
            reason=None if decision.allowed else decision.reason,
            details={key: value for key, value in details.items() if value is not None},
        )
    )
    if decision.allowed:
        return user
    if target_org != user.organization:
        raise NotFound("No such audit event.")
    raise Forbidden(decision.reason)


def _source(audit: AuditLog) -> ProofSource:
    keeper = audit.heads()
    if keeper is None:
        raise AuditUnavailable("The audit log signs no tree heads.")
    return ProofSource(audit.engine, keeper)


def _event_org(audit: AuditLog, seq: int) -> str | None:
    with audit.engine.connect() as conn:
        row = conn.execute(select(EVENTS.c.actor_org).where(EVENTS.c.seq == seq)).first()
    return None if row is None else row[0]


@get("/v1/audit/events/{seq:int}/proof", sync_to_thread=True, responses=ERRORS, tags=TAGS)
def audit_event_proof(
    request: Request[Any, Any, Any], policy: Policy, audit: Log, seq: SeqParam
) -> dict[str, Any]:
    """The event, the newest signed tree head and the inclusion proof that binds them."""
    organization = _event_org(audit, seq)
    # A missing event and another organisation's ask the same question: of nobody's org.
    _gate(request, policy, audit, organization or "", seq=seq)
    if organization is None:
        raise NotFound("No such audit event.")
    return _source(audit).inclusion(seq)


@get("/v1/audit/consistency", sync_to_thread=True, responses=ERRORS, tags=TAGS)
def audit_consistency(
    request: Request[Any, Any, Any],
    policy: Policy,
    audit: Log,
    from_size: SizeParam,
    to_size: ToParam = None,
) -> dict[str, Any]:
    """The proof that the signed head of size ``to`` (or the newest) extends the one of ``from``."""
    user = caller(request)
    _gate(request, policy, audit, user.organization, old_size=from_size, new_size=to_size)
    return _source(audit).consistency(from_size, to_size)


# Witnesses are partner agencies' processes, not users: they hold no token.
FOR_WITNESSES = {
    "exclude_from_auth": True,
    ASKS_NOTHING: "public hashes for witnesses; a cosignature is accepted only when it "
    "verifies under a configured witness key",
}
FromParam = Annotated[int, QueryParameter(name="from", ge=0, le=2**62)]
HeadSizeParam = Annotated[int, PathParameter(ge=1, le=2**62)]


def _limit(request: Request[Any, Any, Any], settings: Settings) -> None:
    """Count the request against its address's share of the open witness routes."""
    limiter: AddressLimiter = request.app.state.setdefault(
        "witness_limiter", AddressLimiter(settings.audit_witness_rate_per_minute, 60.0)
    )
    client = request.client
    limiter.check(client.host if client is not None else None)


class CosignatureIn(msgspec.Struct):
    cosignature: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class CosignedOut(msgspec.Struct):
    size: int
    cosignatures: int  # configured witnesses that have cosigned this head


@get(
    "/v1/audit/heads/latest",
    opt=FOR_WITNESSES,
    sync_to_thread=True,
    responses=problem_responses(NotFound, AuditUnavailable, RateLimited),
    tags=TAGS,
)
def audit_head_latest(
    request: Request[Any, Any, Any], audit: Log, settings: Config, from_size: FromParam = 0
) -> dict[str, Any]:
    """The newest signed tree head and the consistency proof from size ``from``.

    For a witness that last cosigned the head of size ``from`` (0 the first
    time): check the proof, cosign, and post the line back.
    """
    _limit(request, settings)
    return _source(audit).for_witness(from_size)


@post(
    "/v1/audit/heads/{size:int}/cosignatures",
    opt=FOR_WITNESSES,
    sync_to_thread=True,
    responses=problem_responses(
        InvalidInput, NotFound, SignatureInvalid, AuditUnavailable, RateLimited
    ),
    tags=TAGS,
    status_code=201,
)
def audit_head_cosign(
    request: Request[Any, Any, Any],
    audit: Log,
    settings: Config,
    size: HeadSizeParam,
    data: JSONBody[CosignatureIn],
) -> CosignedOut:
    """Store a witness's cosignature of the signed head of ``size``.

    Accepted only from a witness configured in ``audit_witness_keys`` whose
    signature verifies over that head (else 422); posting the same line again
    changes nothing.
    """
    _limit(request, settings)
    keeper = audit.heads()
    if keeper is None:
        raise AuditUnavailable("The audit log signs no tree heads.")
    keys = witness_keys(settings.audit_witness_keys)
    count, new = cosign_head(audit.engine, size, data.cosignature, keys, keeper.note_signer())
    if new:
        witness = data.cosignature.split(" ")[1] if " " in data.cosignature else ""
        audit.append(
            AuditEvent.by(
                None,
                EventAction.AUDIT_HEAD_COSIGNED,
                Outcome.INFO,
                actor_role="witness",
                details={"size": size, "witness": witness[:128], "cosignatures": count},
            )
        )
    return CosignedOut(size=size, cosignatures=count)


TLOG_HANDLERS = [audit_event_proof, audit_consistency, audit_head_latest, audit_head_cosign]
