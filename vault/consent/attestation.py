"""Every consent grant a decision uses must be attested by the audit log.

Consents, their purposes and their endings are plain rows: someone with write
access to the database could undo a withdrawal (delete its ending), turn a
refused purpose into a granted one, add a recipient organisation, push an
expiry back, or insert a consent nobody signed, and reads would follow.

The audit log is hash-chained and checkpoints are signed. When a consent is
signed the vault records, besides ``consent.sign`` (with the expiry), one
``consent.grant`` event per granted purpose naming its categories and
recipients; withdrawal and supersession record their own events. Before the
grants of a subject reach a decision they are compared with those events, in
the same read transaction, on every request: a grant the log does not attest
exactly, or whose consent the log says has ended, is left out (the read is
then refused like any read without consent) and logged as critical. To pass,
a tamperer would have to forge audit rows too, which breaks the chain that
``vault audit verify`` checks against the signed checkpoints.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vault.audit.canonical import decode_remembered, format_time
from vault.audit.events import DETAIL_MAX_STR
from vault.vocabulary import ConsentGrant, EventAction

log = logging.getLogger("vault.consent")
SIGN = EventAction.CONSENT_SIGN.value
GRANT = EventAction.CONSENT_GRANT.value
ENDING_ACTIONS = (EventAction.CONSENT_WITHDRAW.value, EventAction.CONSENT_SUPERSEDE.value)


def recipients_detail(recipients: Iterable[str]) -> str:
    """The recipients as one audit detail: the sorted codes, or their digest if too long."""
    joined = ",".join(sorted(recipients))
    if len(joined) <= DETAIL_MAX_STR:
        return joined
    return "sha256:" + hashlib.sha256(joined.encode()).hexdigest()


def expiry_detail(expires_at: datetime | None) -> str | None:
    return None if expires_at is None else format_time(expires_at)


@dataclass
class Attestations:
    """What a subject's audit events say about its consents."""

    # (consent id, purpose) -> (categories, recipients detail) of a recorded grant
    grants: dict[tuple[str, str], tuple[tuple[str, ...], str]] = field(default_factory=dict)
    expiry: dict[str, str | None] = field(default_factory=dict)  # consent id -> expires_at
    ended: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)  # signings whose write failed

    @classmethod
    def from_canonical(cls, documents: Iterable[bytes]) -> Attestations:
        return cls.from_events(decode_remembered(bytes(canonical)) for canonical in documents)

    @classmethod
    def from_events(cls, events: Iterable[Mapping[str, Any]]) -> Attestations:
        found = cls()
        for event in events:
            consent = event.get("consent_id") or event.get("target_id")
            if not consent:
                continue
            action, details = event.get("action"), event.get("details") or {}
            if action == SIGN:
                if event.get("outcome") == "allow":
                    found.expiry[consent] = details.get("expires_at")
                else:
                    found.failed.add(consent)
            elif action == GRANT:
                found.grants[(consent, str(event.get("purpose")))] = (
                    tuple(event.get("categories") or ()),
                    str(details.get("recipients", "")),
                )
            elif action in ENDING_ACTIONS:
                found.ended.add(consent)
        return found

    def problem(self, grant: ConsentGrant) -> str | None:
        """Why the log does not attest ``grant`` exactly, or None if it does."""
        consent = str(grant.consent_id)
        if consent in self.failed:
            return "its signing failed and was never written"
        if consent not in self.expiry:
            return "no signing of it is in the audit log"
        if consent in self.ended:
            return "the audit log says it was withdrawn or superseded"
        if self.expiry[consent] != expiry_detail(grant.expires_at):
            return "its expiry differs from the one signed"
        recorded = self.grants.get((consent, grant.purpose))
        if recorded is None:
            return f"purpose {grant.purpose} was not granted when it was signed"
        categories = tuple(sorted(c.value for c in grant.categories))
        if recorded != (categories, recipients_detail(grant.recipients)):
            return f"purpose {grant.purpose}: categories or recipients differ from those signed"
        return None


def attested_only(
    grants: Sequence[ConsentGrant], events: Iterable[Mapping[str, Any]]
) -> list[ConsentGrant]:
    """The grants the audit events attest; each other one is logged and left out."""
    attestations = Attestations.from_events(events)
    kept = []
    for grant in grants:
        problem = attestations.problem(grant)
        if problem is None:
            kept.append(grant)
        else:
            # The consent id only: opaque, and what an investigator needs.
            log.critical(
                "consent %s contradicts the audit log (%s); it is not used. "
                "Run `vault consent check` and `vault audit verify`.",
                uuid.UUID(str(grant.consent_id)),
                problem,
            )
    return kept
